/* exec.c: runs a graph, whole or on a halo tile, freeing each activation after its last use. */
#include "config.h"
#include "internal.h"
#include <stdlib.h>
#include <string.h>

/* rows and columns of a region-held tensor cut down to a smaller region */
static struct adcnn_tensor *crop(const struct adcnn_tensor *t, const struct adcnn_region *from,
                                 const struct adcnn_region *to)
{
	int64_t dims[4] = {t->dims[0], t->dims[1], to->r1 - to->r0, to->c1 - to->c0};
	struct adcnn_tensor *y = adcnn_tensor_new(4, dims);
	size_t h = (size_t)t->dims[2], w = (size_t)t->dims[3];

	if (y == NULL)
		return NULL;
	for (size_t p = 0; p < (size_t)(dims[0] * dims[1]); p++)
		for (int64_t r = 0; r < dims[2]; r++)
			memcpy(y->d.f + (p * (size_t)dims[2] + (size_t)r) * (size_t)dims[3],
			       t->d.f + (p * h + (size_t)(to->r0 - from->r0 + r)) * w + (size_t)(to->c0 - from->c0),
			       sizeof(float) * (size_t)dims[3]);
	return y;
}

static bool same_region(const struct adcnn_region *a, const struct adcnn_region *b)
{
	return a->r0 == b->r0 && a->r1 == b->r1 && a->c0 == b->c0 && a->c1 == b->c1;
}

/* whether value v's only reader is a Relu or Clip on it (its activation to *act), v not the
 * graph's output */
static bool act_reads(const struct adcnn_graph *g, int v, const int *uses, const int *reader, int out_value,
                      struct adcnn_act *act)
{
	return v >= 0 && uses[v] == 1 && v != out_value && g->nodes[reader[v]].in[0] == v &&
	       adcnn_act_fusable(&g->nodes[reader[v]], act);
}

/* the Conv and its activation, if any, that read node i's output through at most an
 * activation node (MobileNet's expand, Clip, depthwise), with nothing else reading what lies
 * between: the Conv's index and *actn the activation node's (-1: none, ae unset); -1 if none */
static int conv_after(const struct adcnn_graph *g, int i, const int *uses, const int *reader,
                      const bool *run, int out_value, int *actn, struct adcnn_act *ae)
{
	const struct adcnn_node *n = &g->nodes[i], *d;
	int v = n->out[0], j;

	*actn = -1;
	if (n->op != OP_CONV || n->nout != 1 || v < 0 || uses[v] != 1 || v == out_value)
		return -1;
	j = reader[v];
	if (act_reads(g, v, uses, reader, out_value, ae)) {
		int v2 = g->nodes[j].out[0];
		if (g->nodes[j].nout != 1 || v2 < 0 || uses[v2] != 1 || v2 == out_value)
			return -1;
		*actn = j;
		v = v2;
		j = reader[v];
	}
	d = &g->nodes[j];
	if (j <= i || (run != NULL && !run[j]) || d->op != OP_CONV || d->nin < 2 || d->in[0] != v ||
	    d->in[1] < 0 || d->nout != 1 || d->out[0] < 0)
		return -1;
	for (int k = 1; k < d->nin; k++)
		if (d->in[k] >= 0 && g->values[d->in[k]].init == NULL)
			return -1;
	return j;
}

enum adcnn_status adcnn_graph_run(struct adcnn_ctx *ctx, const struct adcnn_graph *g,
                                  int in_value, struct adcnn_tensor *input, int out_value,
                                  const struct adcnn_exec_opts *opts, struct adcnn_tensor **out)
{
	struct adcnn_tensor **val = calloc((size_t)g->nvalues + 1, sizeof(*val));
	int *uses = calloc((size_t)g->nvalues + 1, sizeof(int));
	/* per value: the node reading it (the last one; the only one where uses is 1), and
	 * whether a Conv applied that node's activation already (see below) */
	int *reader = malloc(sizeof(int) * ((size_t)g->nvalues + 1));
	bool *activated = calloc((size_t)g->nvalues + 1, sizeof(bool));
	/* per node: computed already, by a fused step (fuse.c) of an earlier node */
	bool *done_by = calloc((size_t)g->nnodes + 1, sizeof(bool));
	const bool *run = opts ? opts->run_node : NULL;
	const struct adcnn_region *reg = opts ? opts->region : NULL;
	enum adcnn_status st = ADCNN_OK;

	if (val == NULL || uses == NULL || reader == NULL || activated == NULL || done_by == NULL) {
		st = adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory");
		goto done;
	}
	for (int i = 0; i < g->nnodes; i++)
		if (run == NULL || run[i])
			for (int k = 0; k < g->nodes[i].nin; k++)
				if (g->nodes[i].in[k] >= 0) {
					uses[g->nodes[i].in[k]]++;
					reader[g->nodes[i].in[k]] = i;
				}
	uses[out_value]++;
	val[in_value] = input;
	for (int i = 0; i < g->nnodes; i++) {
		const struct adcnn_node *n = &g->nodes[i];
		struct adcnn_tensor *in[64] = {0}, *res[8] = {0}, *tmp[64] = {0};
		struct adcnn_geom geom, *gp = NULL;

		if ((run != NULL && !run[i]) || done_by[i])
			continue;
		for (int k = 0; k < n->nin; k++) {
			int v = n->in[k];
			if (v < 0)
				continue;
			in[k] = g->values[v].init ? g->values[v].init : val[v];
			if (in[k] == NULL) {
				st = adcnn_set_error(ctx, ADCNN_ERR_INTERNAL, "node '%s': input '%s' not computed", n->name, g->values[v].name);
				goto done;
			}
		}
		if (reg != NULL && n->out[0] >= 0 && n->nin > 0 && n->in[0] >= 0 && in[0]->rank == 4) {
			const struct adcnn_region *ro = &reg[n->out[0]];
			if (n->op == OP_CONV || n->op == OP_MAXPOOL || n->op == OP_AVGPOOL) {
				const struct adcnn_region *ri = &reg[n->in[0]];
				geom = (struct adcnn_geom){ri->r0, ri->c0, ri->H, ri->W, ro->r0, ro->r1, ro->c0, ro->c1};
				gp = &geom;
			} else {
				for (int k = 0; k < n->nin; k++) {
					int v = n->in[k];
					if (v < 0 || g->values[v].init != NULL || in[k]->rank != 4 || same_region(&reg[v], ro))
						continue;
					tmp[k] = crop(in[k], &reg[v], ro);
					if (tmp[k] == NULL) {
						st = adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory");
						goto done;
					}
					in[k] = tmp[k];
				}
			}
		}
		/* a Conv whose output only a Relu or Clip reads applies it in its output pass; the
		 * activation node then passes its input on (or, where it cannot take it over,
		 * applies itself again: both are idempotent) */
		struct adcnn_act act;
		bool acts = n->nout == 1 && n->nin >= 2 && in[0]->dtype == ADCNN_F32 &&
		            act_reads(g, n->out[0], uses, reader, out_value, &act);
		bool fuse = acts && n->op == OP_CONV;
		/* an expanding 1x1 Conv and the depthwise one reading it, in bands (fuse.c): on the
		 * whole tensors only */
		int dn = -1, an = -1;
		struct adcnn_act ae, ad;
		const struct adcnn_tensor *wd = NULL, *bd = NULL;
		bool dacts = false;
		if (reg == NULL && n->nin >= 2 && in[1] != NULL && in[0]->rank == 4 &&
		    (dn = conv_after(g, i, uses, reader, run, out_value, &an, &ae)) >= 0) {
			const struct adcnn_node *d = &g->nodes[dn];
			wd = g->values[d->in[1]].init;
			bd = d->nin > 2 && d->in[2] >= 0 ? g->values[d->in[2]].init : NULL;
			dacts = act_reads(g, d->out[0], uses, reader, out_value, &ad);
			if (!adcnn_fuse_fits(n, in[0], in[1], d, wd))
				dn = -1;
		}
		/* an elementwise op in place: on a value nobody reads after it */
		bool inplace = gp == NULL && n->nout == 1 && n->nin >= 1 && n->in[0] >= 0 && n->in[0] != in_value &&
		               g->values[n->in[0]].init == NULL && tmp[0] == NULL && uses[n->in[0]] == 1 &&
		               (n->nin == 1 || n->in[1] != n->in[0]);
		if (dn >= 0) {
			const struct adcnn_node *d = &g->nodes[dn];
			struct adcnn_tensor *y = NULL;
			st = adcnn_fuse_run(ctx, n, in[0], in[1], n->nin > 2 ? in[2] : NULL, an >= 0 ? &ae : NULL, d, wd,
			                    bd, dacts ? &ad : NULL, 0, &y);
			if (st == ADCNN_OK) {
				/* e's output (and its activation's) never made: d's in their place */
				done_by[dn] = true;
				if (an >= 0)
					done_by[an] = true;
				if (uses[d->out[0]] > 0) {
					val[d->out[0]] = y;
					activated[d->out[0]] = dacts;
				} else {
					adcnn_tensor_free(y);
				}
			}
		} else if (fuse) {
			st = adcnn_conv_run_act(ctx, n, in[0], in[1], n->nin > 2 ? in[2] : NULL, res, gp, &act);
			if (st == ADCNN_OK)
				activated[n->out[0]] = true;
		} else if (n->nout == 1 && n->nin >= 1 && n->in[0] >= 0 && activated[n->in[0]] &&
		           tmp[0] == NULL && uses[n->in[0]] == 1 && n->in[0] != in_value) {
			res[0] = val[n->in[0]];
			val[n->in[0]] = NULL;
			st = ADCNN_OK;
		} else if (inplace && adcnn_op_inplace(n, in, acts && n->op == OP_ADD ? &act : NULL)) {
			res[0] = val[n->in[0]];
			val[n->in[0]] = NULL;
			if (acts && n->op == OP_ADD)
				activated[n->out[0]] = true;
			st = ADCNN_OK;
		} else {
			st = adcnn_op_run(ctx, n, in, res, gp);
		}
		for (int k = 0; k < n->nin; k++)
			adcnn_tensor_free(tmp[k]);
		if (st != ADCNN_OK)
			goto done;
		for (int k = 0; k < n->nout; k++) {
			if (n->out[k] >= 0 && uses[n->out[k]] > 0)
				val[n->out[k]] = res[k];
			else
				adcnn_tensor_free(res[k]);
		}
		for (int k = 0; k < n->nin; k++) {
			int v = n->in[k];
			if (v < 0 || g->values[v].init != NULL)
				continue;
			if (--uses[v] == 0 && v != in_value) {
				adcnn_tensor_free(val[v]);
				val[v] = NULL;
			}
		}
	}
	if (g->values[out_value].init != NULL || out_value == in_value) {
		const struct adcnn_tensor *src = out_value == in_value ? input : g->values[out_value].init;
		*out = adcnn_tensor_clone(src);
		if (*out == NULL)
			st = adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory");
	} else if (val[out_value] == NULL) {
		st = adcnn_set_error(ctx, ADCNN_ERR_INTERNAL, "output '%s' not computed", g->values[out_value].name);
	} else {
		*out = val[out_value];
		val[out_value] = NULL;
	}
done:
	if (val != NULL)
		for (int v = 0; v < g->nvalues; v++)
			if (v != in_value && g->values[v].init == NULL)
				adcnn_tensor_free(val[v]);
	free(val);
	free(uses);
	free(reader);
	free(activated);
	free(done_by);
	return st;
}
