/* flops.c: the floating-point operations of running a graph's convolutions and matrix
 * products, whole or on a tile, so that plans and nodes can be compared by work done. */
#include "config.h"
#include "internal.h"
#include <stdlib.h>

/* chw: channels, height, width of every value (adcnn_value_dims); reg: the rows and columns
 * each value holds on a halo tile, or NULL for a plain run; batch: the input's first dim */
uint64_t adcnn_graph_flops(const struct adcnn_graph *g, const bool *run_node, const int *chw,
                           const struct adcnn_region *reg, int64_t batch)
{
	uint64_t f = 0;

	for (int i = 0; i < g->nnodes; i++) {
		const struct adcnn_node *n = &g->nodes[i];
		const struct adcnn_tensor *w;
		uint64_t hw;
		int v = n->out[0];

		if ((run_node && !run_node[i]) || v < 0)
			continue;
		if (n->op == OP_CONV) {
			w = g->values[n->in[1]].init;
			hw = reg ? (uint64_t)(reg[v].r1 - reg[v].r0) * (uint64_t)(reg[v].c1 - reg[v].c0)
			         : (uint64_t)chw[3 * v + 1] * (uint64_t)chw[3 * v + 2];
			f += 2 * (uint64_t)w->dims[0] * hw * (uint64_t)(w->dims[1] * w->dims[2] * w->dims[3]);
		} else if (n->op == OP_GEMM && n->nin > 1 && n->in[1] >= 0 && g->values[n->in[1]].init) {
			w = g->values[n->in[1]].init;
			f += 2 * (uint64_t)w->dims[0] * (uint64_t)w->dims[1];
		}
	}
	return f * (uint64_t)(batch > 0 ? batch : 1);
}
