/* graph.c: the model after loading: values, nodes in topological order, constants folded,
 * BatchNormalization folded into the Conv before it. */
#include "config.h"
#include "internal.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

int adcnn_graph_value(struct adcnn_graph *g, const char *name, bool create)
{
	for (int i = 0; i < g->nvalues; i++)
		if (strcmp(g->values[i].name, name) == 0)
			return i;
	if (!create)
		return -1;
	if (g->nvalues == g->cap_values) {
		int cap = g->cap_values ? g->cap_values * 2 : 64;
		struct adcnn_value *v = realloc(g->values, sizeof(*v) * (size_t)cap);
		if (v == NULL)
			return -1;
		g->values = v;
		g->cap_values = cap;
	}
	memset(&g->values[g->nvalues], 0, sizeof(g->values[0]));
	g->values[g->nvalues].name = strdup(name);
	if (g->values[g->nvalues].name == NULL)
		return -1;
	g->values[g->nvalues].producer = -1;
	return g->nvalues++;
}

static void node_release(struct adcnn_node *n)
{
	free(n->name);
	free(n->in);
	free(n->out);
	free(n->axes);
	memset(n, 0, sizeof(*n));
}

void adcnn_graph_release(struct adcnn_graph *g)
{
	for (int i = 0; i < g->nnodes; i++)
		node_release(&g->nodes[i]);
	for (int i = 0; i < g->nvalues; i++) {
		free(g->values[i].name);
		adcnn_tensor_free(g->values[i].init);
	}
	free(g->nodes);
	free(g->values);
	free(g->outputs);
	memset(g, 0, sizeof(*g));
}

static bool is_const(const struct adcnn_graph *g, int v)
{
	return v < 0 || g->values[v].init != NULL;
}

/* Kahn's algorithm, stable: among ready nodes the one listed first in the file goes first. */
static enum adcnn_status topo_sort(struct adcnn_ctx *ctx, struct adcnn_graph *g)
{
	int n = g->nnodes;
	bool *done = calloc((size_t)n + 1, 1);
	bool *ready = calloc((size_t)g->nvalues + 1, 1);
	struct adcnn_node *sorted = calloc((size_t)n + 1, sizeof(*sorted));
	int ns = 0;
	enum adcnn_status st = ADCNN_OK;

	if (done == NULL || ready == NULL || sorted == NULL) {
		st = adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (int v = 0; v < g->nvalues; v++)
		ready[v] = g->values[v].init != NULL || v == g->input;
	while (ns < n) {
		int progress = 0;
		for (int i = 0; i < n; i++) {
			struct adcnn_node *nd = &g->nodes[i];
			bool ok = !done[i];
			for (int k = 0; ok && k < nd->nin; k++)
				if (nd->in[k] >= 0 && !ready[nd->in[k]])
					ok = false;
			if (!ok)
				continue;
			done[i] = true;
			for (int k = 0; k < nd->nout; k++)
				if (nd->out[k] >= 0)
					ready[nd->out[k]] = true;
			sorted[ns++] = *nd;
			progress = 1;
		}
		if (!progress) {
			for (int i = 0; i < n; i++)
				if (!done[i]) {
					st = adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "node '%s': an input is never produced, or the graph has a cycle", g->nodes[i].name);
					goto out;
				}
		}
	}
	memcpy(g->nodes, sorted, sizeof(*sorted) * (size_t)n);
out:
	free(done);
	free(ready);
	free(sorted);
	return st;
}

void adcnn_graph_reindex(struct adcnn_graph *g)
{
	int j = 0;

	for (int i = 0; i < g->nnodes; i++) {
		if (g->nodes[i].nout == 0) {
			node_release(&g->nodes[i]);
			continue;
		}
		g->nodes[j++] = g->nodes[i];
	}
	g->nnodes = j;
	for (int v = 0; v < g->nvalues; v++) {
		g->values[v].producer = -1;
		g->values[v].nuse = 0;
	}
	for (int i = 0; i < g->nnodes; i++) {
		struct adcnn_node *n = &g->nodes[i];
		for (int k = 0; k < n->nin; k++)
			if (n->in[k] >= 0)
				g->values[n->in[k]].nuse++;
		for (int k = 0; k < n->nout; k++)
			if (n->out[k] >= 0)
				g->values[n->out[k]].producer = i;
	}
	for (int k = 0; k < g->noutputs; k++)
		g->values[g->outputs[k]].nuse++;
}

static void drop_node(struct adcnn_node *n)
{
	node_release(n); /* nout == 0 marks it for reindex() */
}

/* Nodes whose inputs are all constant run once, at load. */
static enum adcnn_status check_node(struct adcnn_ctx *ctx, struct adcnn_graph *g, struct adcnn_node *n);

static enum adcnn_status fold_constants(struct adcnn_ctx *ctx, struct adcnn_graph *g)
{
	for (int i = 0; i < g->nnodes; i++) {
		struct adcnn_node *n = &g->nodes[i];
		struct adcnn_tensor *in[64] = {0}, *out[8] = {0};
		enum adcnn_status st;
		bool all = n->nout > 0;

		if (n->op == OP_CONSTANT) {
			drop_node(n);
			continue;
		}
		for (int k = 0; all && k < n->nin; k++)
			all = is_const(g, n->in[k]);
		if (!all || n->nin == 0)
			continue;
		for (int k = 0; k < n->nin; k++)
			in[k] = n->in[k] >= 0 ? g->values[n->in[k]].init : NULL;
		/* a Conv's kernel_shape against its weights, before it runs on them */
		if ((st = check_node(ctx, g, n)) != ADCNN_OK)
			return st;
		st = adcnn_op_run(ctx, n, in, out, NULL);
		if (st != ADCNN_OK)
			return st;
		for (int k = 0; k < n->nout; k++) {
			if (n->out[k] >= 0)
				g->values[n->out[k]].init = out[k];
			else
				adcnn_tensor_free(out[k]);
		}
		drop_node(n);
	}
	adcnn_graph_reindex(g);
	return ADCNN_OK;
}

static enum adcnn_status scalar_input(struct adcnn_ctx *ctx, struct adcnn_graph *g,
                                      struct adcnn_node *n, int k, float *out)
{
	const struct adcnn_tensor *t;

	if (k >= n->nin || n->in[k] < 0)
		return ADCNN_OK;
	t = g->values[n->in[k]].init;
	if (t == NULL || t->n != 1)
		return adcnn_set_error(ctx, ADCNN_ERR_UNSUPPORTED, "node '%s' (%s): input %d must be a constant scalar",
		                       n->name, adcnn_op_name(n->op), k);
	*out = t->dtype == ADCNN_F32 ? t->d.f[0] : (float)t->d.i[0];
	return ADCNN_OK;
}

/* Conv -> BatchNormalization becomes one Conv with scaled weights and a shifted bias. */
static enum adcnn_status fold_batchnorm(struct adcnn_ctx *ctx, struct adcnn_graph *g)
{
	int *replaced = malloc(sizeof(int) * (6 * (size_t)g->nnodes + 1)), nreplaced = 0;

	if (replaced == NULL)
		return adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory");
	for (int i = 0; i < g->nnodes; i++) {
		struct adcnn_node *bn = &g->nodes[i], *cv;
		struct adcnn_tensor *w, *b, *sc, *bi, *mean, *var, *nb;
		int p, cout;
		size_t per;

		if (bn->op != OP_BATCHNORM || bn->nin != 5 || bn->in[0] < 0)
			continue;
		p = g->values[bn->in[0]].producer;
		if (p < 0 || g->nodes[p].op != OP_CONV || g->values[bn->in[0]].nuse != 1)
			continue;
		cv = &g->nodes[p];
		if (cv->nin < 2 || !is_const(g, cv->in[1]) || (cv->nin > 2 && !is_const(g, cv->in[2])))
			continue;
		for (int k = 1; k < 5; k++)
			if (!is_const(g, bn->in[k]) || bn->in[k] < 0)
				goto next;
		w = g->values[cv->in[1]].init;
		if (w->rank != 4 || w->dtype != ADCNN_F32)
			continue;
		cout = (int)w->dims[0];
		sc = g->values[bn->in[1]].init;
		bi = g->values[bn->in[2]].init;
		mean = g->values[bn->in[3]].init;
		var = g->values[bn->in[4]].init;
		if (sc->n != (size_t)cout || bi->n != (size_t)cout || mean->n != (size_t)cout || var->n != (size_t)cout)
			continue;
		/* weights may be shared with another Conv: fold into private copies */
		w = adcnn_tensor_clone(w);
		nb = adcnn_tensor_new(1, (int64_t[]){cout});
		if (w == NULL || nb == NULL) {
			adcnn_tensor_free(w);
			adcnn_tensor_free(nb);
			free(replaced);
			return adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory");
		}
		b = cv->nin > 2 && cv->in[2] >= 0 ? g->values[cv->in[2]].init : NULL;
		per = w->n / (size_t)cout;
		for (int c = 0; c < cout; c++) {
			float s = sc->d.f[c] / sqrtf(var->d.f[c] + bn->eps);
			for (size_t k = 0; k < per; k++)
				w->d.f[(size_t)c * per + k] *= s;
			nb->d.f[c] = ((b ? b->d.f[c] : 0.0f) - mean->d.f[c]) * s + bi->d.f[c];
		}
		{
			char name[300];
			int wv, bv;
			int *nin;

			snprintf(name, sizeof(name), "%s/folded_weight", cv->name);
			wv = adcnn_graph_value(g, name, true);
			snprintf(name, sizeof(name), "%s/folded_bias", cv->name);
			bv = adcnn_graph_value(g, name, true);
			nin = realloc(cv->in, sizeof(int) * 3);
			if (wv < 0 || bv < 0 || nin == NULL) {
				adcnn_tensor_free(w);
				adcnn_tensor_free(nb);
				free(replaced);
				return adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory");
			}
			cv = &g->nodes[p];
			bn = &g->nodes[i];
			adcnn_tensor_free(g->values[wv].init);
			adcnn_tensor_free(g->values[bv].init);
			g->values[wv].init = w;
			g->values[bv].init = nb;
			cv->in = nin;
			for (int k = 1; k < cv->nin; k++)
				if (cv->in[k] >= 0)
					replaced[nreplaced++] = cv->in[k];
			for (int k = 1; k < 5; k++)
				replaced[nreplaced++] = bn->in[k];
			cv->in[1] = wv;
			cv->in[2] = bv;
			cv->nin = 3;
			cv->out[0] = bn->out[0];
			g->values[bn->out[0]].producer = p;
			drop_node(bn);
		}
next:;
	}
	adcnn_graph_reindex(g);
	/* the weights folding replaced, where nothing else reads them */
	for (int k = 0; k < nreplaced; k++) {
		struct adcnn_value *v = &g->values[replaced[k]];
		if (v->init != NULL && v->nuse == 0 && v->producer < 0) {
			adcnn_tensor_free(v->init);
			v->init = NULL;
		}
	}
	free(replaced);
	return ADCNN_OK;
}

enum adcnn_status adcnn_graph_finish(struct adcnn_ctx *ctx, struct adcnn_graph *g)
{
	enum adcnn_status st = topo_sort(ctx, g);

	if (st != ADCNN_OK)
		return st;
	adcnn_graph_reindex(g);
	st = fold_constants(ctx, g);
	if (st != ADCNN_OK)
		return st;
	for (int i = 0; i < g->nnodes; i++) {
		struct adcnn_node *n = &g->nodes[i];
		if (n->op == OP_CLIP && g->opset >= 11) {
			if ((st = scalar_input(ctx, g, n, 1, &n->fmin)) != ADCNN_OK ||
			    (st = scalar_input(ctx, g, n, 2, &n->fmax)) != ADCNN_OK)
				return st;
		}
	}
	st = adcnn_graph_check(ctx, g);
	if (st != ADCNN_OK)
		return st;
	return fold_batchnorm(ctx, g);
}

/* What an operator takes for granted about its weights */
static enum adcnn_status check_node(struct adcnn_ctx *ctx, struct adcnn_graph *g, struct adcnn_node *n)
{
	if ((n->op == OP_CONV || n->op == OP_GEMM || n->op == OP_BATCHNORM)) {
		for (int k = 1; k < n->nin; k++)
			if (!is_const(g, n->in[k]))
				return adcnn_set_error(ctx, ADCNN_ERR_UNSUPPORTED, "node '%s' (%s): weights must be constant",
				                       n->name, adcnn_op_name(n->op));
	}
	if (n->op == OP_CONV) {
		const struct adcnn_tensor *w;
		if (n->nin < 2 || n->in[1] < 0 || g->values[n->in[1]].init->rank != 4)
			return adcnn_set_error(ctx, ADCNN_ERR_UNSUPPORTED, "node '%s' (Conv): only 2-D convolutions are supported", n->name);
		w = g->values[n->in[1]].init;
		if (w->dtype != ADCNN_F32 || (n->kernel[0] && (n->kernel[0] != w->dims[2] || n->kernel[1] != w->dims[3])))
			return adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "node '%s' (Conv): kernel_shape does not match the weights", n->name);
		if (w->dims[2] > 4096 || w->dims[3] > 4096 || w->dims[2] < 1 || w->dims[3] < 1)
			return adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "node '%s' (Conv): bad kernel size", n->name);
		n->kernel[0] = (int)w->dims[2];
		n->kernel[1] = (int)w->dims[3];
		if (n->group < 1 || w->dims[0] % n->group != 0)
			return adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "node '%s' (Conv): output channels not divisible by group", n->name);
	}
	return ADCNN_OK;
}

/* ... checked once for the graph (and, before it runs, for a node that fold_constants runs) */
enum adcnn_status adcnn_graph_check(struct adcnn_ctx *ctx, struct adcnn_graph *g)
{
	for (int i = 0; i < g->nnodes; i++) {
		enum adcnn_status st = check_node(ctx, g, &g->nodes[i]);
		if (st != ADCNN_OK)
			return st;
	}
	return ADCNN_OK;
}

/* Spatial operators commute with cutting the image into tiles: each output pixel depends on
 * a window of input pixels. Elementwise ops qualify when their constants do not vary over
 * height and width. */
bool adcnn_op_spatial(const struct adcnn_graph *g, const struct adcnn_node *n)
{
	switch (n->op) {
	case OP_CONV: case OP_BATCHNORM: case OP_RELU: case OP_LEAKYRELU: case OP_CLIP:
	case OP_SIGMOID: case OP_HARDSIGMOID: case OP_HARDSWISH: case OP_MAXPOOL: case OP_AVGPOOL:
	case OP_IDENTITY:
		return true;
	case OP_CONCAT:
		return n->axis == 1 || n->axis == -3;
	case OP_ADD: case OP_SUB: case OP_MUL: case OP_DIV:
		for (int k = 0; k < n->nin; k++) {
			const struct adcnn_tensor *t;
			if (n->in[k] < 0 || g->values[n->in[k]].init == NULL)
				continue;
			t = g->values[n->in[k]].init;
			if (t->rank > 4)
				return false;
			if (t->rank >= 1 && t->dims[t->rank - 1] != 1)
				return false;
			if (t->rank >= 2 && t->dims[t->rank - 2] != 1)
				return false;
		}
		return true;
	default:
		return false;
	}
}
