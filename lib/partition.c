/* partition.c: the split point, the tiling rule of DESIGN.md, and the halo of each tile. */
#include "config.h"
#include "internal.h"
#include <limits.h>
#include <stdlib.h>
#include <string.h>

static int find_node(const struct adcnn_graph *g, const char *name)
{
	for (int i = 0; i < g->nnodes; i++)
		if (strcmp(g->nodes[i].name, name) == 0)
			return i;
	return -1;
}

/* the nodes the split tensor depends on */
static void ancestors(const struct adcnn_graph *g, int split, bool *prefix)
{
	bool *need = calloc((size_t)g->nvalues + 1, 1);

	memset(prefix, 0, sizeof(bool) * (size_t)g->nnodes);
	if (need == NULL)
		return;
	need[split] = true;
	for (int i = g->nnodes - 1; i >= 0; i--) {
		const struct adcnn_node *n = &g->nodes[i];
		bool hit = false;
		for (int k = 0; k < n->nout; k++)
			if (n->out[k] >= 0 && need[n->out[k]])
				hit = true;
		if (!hit)
			continue;
		prefix[i] = true;
		for (int k = 0; k < n->nin; k++)
			if (n->in[k] >= 0)
				need[n->in[k]] = true;
	}
	free(need);
}

enum adcnn_status adcnn_split_find(struct adcnn_ctx *ctx, const struct adcnn_graph *g,
                                   const int64_t *in_dims, int in_rank, const char *split,
                                   int *split_value, bool *prefix)
{
	bool auto_split = split == NULL || strcmp(split, "auto") == 0;
	int sv = -1;

	if (auto_split) {
		int first = g->nnodes;
		if (in_rank != 4) {
			first = 0;
		} else {
			for (int i = 0; i < g->nnodes; i++)
				if (!adcnn_op_spatial(g, &g->nodes[i])) {
					first = i;
					break;
				}
		}
		if (first == 0) {
			sv = g->input;
		} else if (first == g->nnodes) {
			if (g->noutputs != 1)
				return adcnn_set_error(ctx, ADCNN_ERR_UNSUPPORTED, "the model is all spatial but has %d outputs: choose one with --split", g->noutputs);
			sv = g->outputs[0];
		} else {
			sv = g->nodes[first - 1].out[0];
		}
	} else {
		int nd = find_node(g, split);
		sv = nd >= 0 ? g->nodes[nd].out[0] : adcnn_graph_value((struct adcnn_graph *)g, split, false);
		if (sv < 0)
			return adcnn_set_error(ctx, ADCNN_ERR_MISMATCH, "split '%s': no such node or tensor", split);
		if (g->values[sv].init != NULL)
			return adcnn_set_error(ctx, ADCNN_ERR_MISMATCH, "split '%s': a constant cannot be the split tensor", split);
		if (in_rank != 4 && sv != g->input)
			return adcnn_set_error(ctx, ADCNN_ERR_UNSUPPORTED, "split '%s': the input is not a 4-D image", split);
	}
	ancestors(g, sv, prefix);
	for (int i = 0; i < g->nnodes; i++)
		if (prefix[i] && !adcnn_op_spatial(g, &g->nodes[i]))
			return adcnn_set_error(ctx, ADCNN_ERR_UNSUPPORTED, "split '%s': node '%s' (%s) before it is not spatial",
			                       g->values[sv].name, g->nodes[i].name, adcnn_op_name(g->nodes[i].op));
	/* the cut must be the one tensor: nothing else crosses from the prefix to the tail */
	for (int i = 0; i < g->nnodes; i++) {
		const struct adcnn_node *n = &g->nodes[i];
		if (prefix[i])
			continue;
		for (int k = 0; k < n->nin; k++) {
			int v = n->in[k];
			if (v < 0 || v == sv || g->values[v].init != NULL)
				continue;
			if (v == g->input || (g->values[v].producer >= 0 && prefix[g->values[v].producer]))
				return adcnn_set_error(ctx, ADCNN_ERR_MISMATCH, "split '%s': the cut there is not a single tensor ('%s' crosses it too)",
				                       g->values[sv].name, g->values[v].name);
		}
	}
	for (int k = 0; k < g->noutputs; k++) {
		int v = g->outputs[k];
		if (v != sv && (v == g->input || (g->values[v].producer >= 0 && prefix[g->values[v].producer])))
			return adcnn_set_error(ctx, ADCNN_ERR_MISMATCH, "split '%s': the cut there is not a single tensor (output '%s' is before it)",
			                       g->values[sv].name, g->values[v].name);
	}
	*split_value = sv;
	return ADCNN_OK;
}

/* channels, height and width of every activation for an input of C x H x W:
 * chw[3v], chw[3v+1], chw[3v+2] */
enum adcnn_status adcnn_value_dims(struct adcnn_ctx *ctx, const struct adcnn_graph *g,
                                   const bool *run_node, int C, int H, int W, int *chw)
{
	for (int v = 0; v < g->nvalues; v++)
		chw[3 * v] = chw[3 * v + 1] = chw[3 * v + 2] = -1;
	chw[3 * g->input] = C;
	chw[3 * g->input + 1] = H;
	chw[3 * g->input + 2] = W;
	for (int i = 0; i < g->nnodes; i++) {
		const struct adcnn_node *n = &g->nodes[i];
		int c = -1, h = -1, w = -1, csum = 0;

		if (run_node && !run_node[i])
			continue;
		for (int k = 0; k < n->nin; k++) {
			int v = n->in[k];
			if (v < 0 || g->values[v].init != NULL)
				continue;
			if (chw[3 * v + 1] < 0)
				return adcnn_set_error(ctx, ADCNN_ERR_INTERNAL, "node '%s': input size unknown", n->name);
			if (h >= 0 && (chw[3 * v + 1] != h || chw[3 * v + 2] != w))
				return adcnn_set_error(ctx, ADCNN_ERR_MISMATCH, "node '%s' (%s): inputs of %dx%d and %dx%d for an input of %dx%d",
				                       n->name, adcnn_op_name(n->op), h, w, chw[3 * v + 1], chw[3 * v + 2], H, W);
			c = c > chw[3 * v] ? c : chw[3 * v];
			csum += chw[3 * v];
			h = chw[3 * v + 1];
			w = chw[3 * v + 2];
		}
		if (n->op == OP_CONCAT)
			c = csum;
		if (n->op == OP_CONV)
			c = (int)g->values[n->in[1]].init->dims[0];
		if (n->op == OP_CONV || n->op == OP_MAXPOOL || n->op == OP_AVGPOOL) {
			h = adcnn_window_out(n, 0, h, NULL, NULL);
			w = adcnn_window_out(n, 1, w, NULL, NULL);
			if (h <= 0 || w <= 0)
				return adcnn_set_error(ctx, ADCNN_ERR_MISMATCH, "node '%s' (%s): input too small for the window",
				                       n->name, adcnn_op_name(n->op));
		}
		for (int k = 0; k < n->nout; k++)
			if (n->out[k] >= 0) {
				chw[3 * n->out[k]] = c;
				chw[3 * n->out[k] + 1] = h;
				chw[3 * n->out[k] + 2] = w;
			}
	}
	return ADCNN_OK;
}

/* n rows in parts as even as possible, larger parts first: bounds[0..parts] */
void adcnn_split_sizes(int n, int parts, int *bounds)
{
	bounds[0] = 0;
	for (int i = 0; i < parts; i++)
		bounds[i + 1] = bounds[i] + n / parts + (i < n % parts ? 1 : 0);
}

static void grow(int *lo, int *hi, int a, int b)
{
	if (a < *lo) *lo = a;
	if (b > *hi) *hi = b;
}

enum adcnn_status adcnn_halo_regions(struct adcnn_ctx *ctx, const struct adcnn_graph *g,
                                     const bool *run_node, int C, int H, int W, int split,
                                     const int *out_region, struct adcnn_region *reg)
{
	int *hw = malloc(sizeof(int) * 3 * ((size_t)g->nvalues + 1));
	enum adcnn_status st;

	if (hw == NULL)
		return adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory");
	st = adcnn_value_dims(ctx, g, run_node, C, H, W, hw);
	if (st != ADCNN_OK)
		goto done;
	for (int v = 0; v < g->nvalues; v++)
		reg[v] = (struct adcnn_region){INT_MAX, INT_MIN, INT_MAX, INT_MIN, hw[3 * v + 1], hw[3 * v + 2]};
	reg[split].r0 = out_region[0]; reg[split].r1 = out_region[1];
	reg[split].c0 = out_region[2]; reg[split].c1 = out_region[3];
	for (int i = g->nnodes - 1; i >= 0; i--) {
		const struct adcnn_node *n = &g->nodes[i];
		const struct adcnn_region *ro;

		if ((run_node && !run_node[i]) || n->out[0] < 0)
			continue;
		ro = &reg[n->out[0]];
		if (ro->r0 >= ro->r1)
			continue;
		for (int k = 0; k < n->nin; k++) {
			int v = n->in[k];
			struct adcnn_region *ri;
			if (v < 0 || g->values[v].init != NULL)
				continue;
			ri = &reg[v];
			if (n->op == OP_CONV || n->op == OP_MAXPOOL || n->op == OP_AVGPOOL) {
				int pt, pl, a, b, c, d;
				adcnn_window_out(n, 0, ri->H, &pt, NULL);
				adcnn_window_out(n, 1, ri->W, &pl, NULL);
				a = ro->r0 * n->stride[0] - pt;
				b = (ro->r1 - 1) * n->stride[0] - pt + (n->kernel[0] - 1) * n->dil[0] + 1;
				c = ro->c0 * n->stride[1] - pl;
				d = (ro->c1 - 1) * n->stride[1] - pl + (n->kernel[1] - 1) * n->dil[1] + 1;
				/* clip to the tensor, keeping at least one row where a window is all padding */
				a = a < 0 ? 0 : a > ri->H - 1 ? ri->H - 1 : a;
				b = b > ri->H ? ri->H : b < a + 1 ? a + 1 : b;
				c = c < 0 ? 0 : c > ri->W - 1 ? ri->W - 1 : c;
				d = d > ri->W ? ri->W : d < c + 1 ? c + 1 : d;
				grow(&ri->r0, &ri->r1, a, b);
				grow(&ri->c0, &ri->c1, c, d);
			} else {
				grow(&ri->r0, &ri->r1, ro->r0, ro->r1);
				grow(&ri->c0, &ri->c1, ro->c0, ro->c1);
			}
		}
	}
	if (reg[g->input].r0 >= reg[g->input].r1)
		st = adcnn_set_error(ctx, ADCNN_ERR_INTERNAL, "halo: the input region is empty");
done:
	free(hw);
	return st;
}

/* output size of the prefix for an input tile of h x w */
static enum adcnn_status tile_out(struct adcnn_ctx *ctx, const struct adcnn_graph *g,
                                  const bool *prefix, int split, int h, int w, int *oh, int *ow,
                                  int *hw)
{
	enum adcnn_status st = adcnn_value_dims(ctx, g, prefix, 1, h, w, hw);

	if (st != ADCNN_OK)
		return st;
	*oh = hw[3 * split + 1];
	*ow = hw[3 * split + 2];
	return ADCNN_OK;
}

/* Map output boundaries to input boundaries (DESIGN.md's rule), then, in fdsp mode, move each
 * boundary minimally until the tile run alone gives exactly its output rows. */
static enum adcnn_status map_bounds(struct adcnn_ctx *ctx, const struct adcnn_graph *g,
                                    const bool *prefix, int split, int axis, int in, int out,
                                    int parts, int other, bool fdsp, const int *ob, int *ib, int *hw)
{
	for (int i = 0; i <= parts; i++)
		ib[i] = in % out == 0 ? ob[i] * (in / out) : (int)(((long long)ob[i] * in * 2 + out) / (2LL * out));
	if (!fdsp || split == g->input)
		return ADCNN_OK;
	for (int i = 0; i < parts; i++) {
		int want = ob[i + 1] - ob[i], best = -1;
		for (int delta = 0; delta <= in && best < 0; delta++) {
			for (int sgn = 0; sgn < 2 && best < 0; sgn++) {
				int e = ib[i + 1] + (sgn ? -delta : delta), oh, ow;
				if ((delta == 0 && sgn) || e <= ib[i] || e > in)
					continue;
				if (i == parts - 1 && e != in)
					continue;
				if (tile_out(ctx, g, prefix, split, axis ? other : e - ib[i], axis ? e - ib[i] : other, &oh, &ow, hw) != ADCNN_OK)
					continue;
				if ((axis ? ow : oh) == want)
					best = e;
			}
		}
		if (best < 0)
			return adcnn_set_error(ctx, ADCNN_ERR_UNSUPPORTED, "no %s boundary gives tile %d its %d output %s when run alone",
			                       axis ? "column" : "row", i, want, axis ? "columns" : "rows");
		ib[i + 1] = best;
	}
	return ADCNN_OK;
}

enum adcnn_status adcnn_plan_new(struct adcnn_ctx *ctx, const struct adcnn_model *m,
                                 const struct adcnn_tensor *input,
                                 const struct adcnn_plan_opts *opts, struct adcnn_plan **out)
{
	const struct adcnn_graph *g = &m->g;
	struct adcnn_plan *p = calloc(1, sizeof(*p));
	int *hw = NULL, *rb = NULL, *cb = NULL, *irb = NULL, *icb = NULL;
	struct adcnn_region *reg = NULL;
	enum adcnn_status st;
	int H = 1, W = 1, Ho = 1, Wo = 1;
	bool spatial;

	if (p == NULL)
		return adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory");
	p->mode = opts->mode;
	p->rows = opts->rows;
	p->cols = opts->cols;
	if (p->rows < 1 || p->cols < 1 || p->rows > 256 || p->cols > 256) {
		st = adcnn_set_error(ctx, ADCNN_ERR_INVALID, "grid %dx%d: rows and columns must be 1 to 256", p->rows, p->cols);
		goto fail;
	}
	if (input->rank != m->in_rank && m->in_rank > 0) {
		char a[64], b[64];
		adcnn_shape_str(input->rank, input->dims, a, sizeof(a));
		adcnn_shape_str(m->in_rank, m->in_dims, b, sizeof(b));
		st = adcnn_set_error(ctx, ADCNN_ERR_MISMATCH, "input shape %s does not match the model's %s", a, b);
		goto fail;
	}
	for (int i = 0; i < m->in_rank; i++)
		if (m->in_dims[i] > 0 && m->in_dims[i] != input->dims[i]) {
			char a[64], b[64];
			adcnn_shape_str(input->rank, input->dims, a, sizeof(a));
			adcnn_shape_str(m->in_rank, m->in_dims, b, sizeof(b));
			st = adcnn_set_error(ctx, ADCNN_ERR_MISMATCH, "input shape %s does not match the model's %s", a, b);
			goto fail;
		}
	p->in_rank = input->rank;
	memcpy(p->in_dims, input->dims, sizeof(p->in_dims));
	p->prefix = calloc((size_t)g->nnodes + 1, sizeof(bool));
	hw = malloc(sizeof(int) * 3 * ((size_t)g->nvalues + 1));
	rb = calloc((size_t)p->rows + 1, sizeof(int));
	cb = calloc((size_t)p->cols + 1, sizeof(int));
	irb = calloc((size_t)p->rows + 1, sizeof(int));
	icb = calloc((size_t)p->cols + 1, sizeof(int));
	p->tiles = calloc((size_t)p->rows * (size_t)p->cols, sizeof(*p->tiles));
	if (p->prefix == NULL || hw == NULL || rb == NULL || cb == NULL || irb == NULL || icb == NULL || p->tiles == NULL) {
		st = adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory");
		goto fail;
	}
	st = adcnn_split_find(ctx, g, input->dims, input->rank, opts->split, &p->split, p->prefix);
	if (st != ADCNN_OK)
		goto fail;
	p->split_name = strdup(g->values[p->split].name);
	p->input_name = strdup(g->values[g->input].name);
	if (p->split_name == NULL || p->input_name == NULL) {
		st = adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory");
		goto fail;
	}
	spatial = input->rank == 4;
	if (spatial) {
		H = (int)input->dims[2];
		W = (int)input->dims[3];
		st = adcnn_value_dims(ctx, g, p->prefix, (int)input->dims[1], H, W, hw);
		if (st != ADCNN_OK)
			goto fail;
		Ho = hw[3 * p->split + 1];
		Wo = hw[3 * p->split + 2];
		p->whole_flops = adcnn_graph_flops(g, p->prefix, hw, NULL, input->dims[0]);
	} else if (p->rows != 1 || p->cols != 1) {
		st = adcnn_set_error(ctx, ADCNN_ERR_UNSUPPORTED, "the input is not a 4-D image: only a 1x1 grid is possible");
		goto fail;
	}
	if (p->rows < 1 || p->cols < 1 || p->rows > Ho || p->cols > Wo) {
		st = adcnn_set_error(ctx, ADCNN_ERR_INVALID, "grid %dx%d does not fit the %dx%d split tensor", p->rows, p->cols, Ho, Wo);
		goto fail;
	}
	p->split_rank = spatial ? 4 : input->rank;
	memcpy(p->split_dims, input->dims, sizeof(p->split_dims));
	if (spatial) {
		p->split_dims[1] = hw[3 * p->split];
		p->split_dims[2] = Ho;
		p->split_dims[3] = Wo;
	}
	adcnn_split_sizes(Ho, p->rows, rb);
	adcnn_split_sizes(Wo, p->cols, cb);
	if (spatial) {
		bool fdsp = p->mode == ADCNN_MODE_FDSP;
		st = map_bounds(ctx, g, p->prefix, p->split, 0, H, Ho, p->rows, W, fdsp, rb, irb, hw);
		if (st == ADCNN_OK)
			st = map_bounds(ctx, g, p->prefix, p->split, 1, W, Wo, p->cols, H, fdsp, cb, icb, hw);
		if (st != ADCNN_OK)
			goto fail;
	}
	if (p->mode == ADCNN_MODE_HALO && spatial) {
		reg = calloc((size_t)g->nvalues + 1, sizeof(*reg));
		if (reg == NULL) {
			st = adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory");
			goto fail;
		}
	}
	for (int r = 0; r < p->rows; r++)
		for (int c = 0; c < p->cols; c++) {
			struct adcnn_tile *t = &p->tiles[p->ntiles++];
			snprintf(t->id, sizeof(t->id), "r%dc%d", r, c);
			t->row = r;
			t->col = c;
			t->out[0] = rb[r]; t->out[1] = rb[r + 1]; t->out[2] = cb[c]; t->out[3] = cb[c + 1];
			if (!spatial) {
				t->in[1] = t->out[1] = 1;
				t->in[3] = t->out[3] = 1;
				continue;
			}
			t->in[0] = irb[r]; t->in[1] = irb[r + 1]; t->in[2] = icb[c]; t->in[3] = icb[c + 1];
			if (reg == NULL) {
				st = adcnn_value_dims(ctx, g, p->prefix, (int)input->dims[1], t->in[1] - t->in[0], t->in[3] - t->in[2], hw);
				if (st != ADCNN_OK)
					goto fail;
				t->flops = adcnn_graph_flops(g, p->prefix, hw, NULL, input->dims[0]);
			} else {
				int core[4] = {t->in[0], t->in[1], t->in[2], t->in[3]};
				st = adcnn_halo_regions(ctx, g, p->prefix, (int)input->dims[1], H, W, p->split, t->out, reg);
				if (st != ADCNN_OK)
					goto fail;
				t->in[0] = reg[g->input].r0; t->in[1] = reg[g->input].r1;
				t->in[2] = reg[g->input].c0; t->in[3] = reg[g->input].c1;
				t->halo[0] = core[0] - t->in[0] > 0 ? core[0] - t->in[0] : 0;
				t->halo[1] = t->in[1] - core[1] > 0 ? t->in[1] - core[1] : 0;
				t->halo[2] = core[2] - t->in[2] > 0 ? core[2] - t->in[2] : 0;
				t->halo[3] = t->in[3] - core[3] > 0 ? t->in[3] - core[3] : 0;
				st = adcnn_value_dims(ctx, g, p->prefix, (int)input->dims[1], H, W, hw);
				if (st != ADCNN_OK)
					goto fail;
				t->flops = adcnn_graph_flops(g, p->prefix, hw, reg, input->dims[0]);
			}
		}
	st = adcnn_onnx_submodel(ctx, m, p->split_name, &p->prefix_bytes, &p->prefix_len);
	if (st != ADCNN_OK)
		goto fail;
	adcnn_hash_hex(p->prefix_bytes, p->prefix_len, p->prefix_hash);
	*out = p;
	p = NULL;
fail:
	adcnn_plan_free(p);
	free(hw); free(rb); free(cb); free(irb); free(icb); free(reg);
	return st;
}

void adcnn_plan_free(struct adcnn_plan *p)
{
	if (p == NULL)
		return;
	free(p->prefix);
	free(p->tiles);
	free(p->split_name);
	free(p->input_name);
	free(p->prefix_bytes);
	free(p);
}

int adcnn_plan_tiles(const struct adcnn_plan *p) { return p->ntiles; }
const char *adcnn_plan_tile_id(const struct adcnn_plan *p, int i) { return p->tiles[i].id; }

void adcnn_plan_flops_print(const struct adcnn_plan *p, FILE *fp)
{
	uint64_t sum = 0;

	for (int i = 0; i < p->ntiles; i++) {
		fprintf(fp, "flops %s %llu\n", p->tiles[i].id, (unsigned long long)p->tiles[i].flops);
		sum += p->tiles[i].flops;
	}
	fprintf(fp, "flops tiles %llu whole %llu overhead %.2f%%\n", (unsigned long long)sum,
	        (unsigned long long)p->whole_flops,
	        p->whole_flops ? 100.0 * ((double)sum - (double)p->whole_flops) / (double)p->whole_flops : 0.0);
}

void adcnn_plan_print(const struct adcnn_plan *p, FILE *fp)
{
	fprintf(fp, "plan %s grid %d %d split %s", p->mode == ADCNN_MODE_HALO ? "halo" : "fdsp",
	        p->rows, p->cols, p->split_name);
	for (int i = 0; i < p->split_rank; i++)
		fprintf(fp, " %lld", (long long)p->split_dims[i]);
	fputc('\n', fp);
	for (int i = 0; i < p->ntiles; i++) {
		const struct adcnn_tile *t = &p->tiles[i];
		fprintf(fp, "tile %s in %d %d %d %d out %d %d %d %d halo %d %d %d %d\n", t->id,
		        t->in[0], t->in[1], t->in[2], t->in[3], t->out[0], t->out[1], t->out[2], t->out[3],
		        t->halo[0], t->halo[1], t->halo[2], t->halo[3]);
	}
}
