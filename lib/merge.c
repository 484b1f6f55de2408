/* merge.c: stitching tile results into the split tensor, running the model's tail, top-k. */
#include "config.h"
#include "internal.h"
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void paste(struct adcnn_tensor *dst, const struct adcnn_tensor *src, const int *out)
{
	size_t H = (size_t)dst->dims[2], W = (size_t)dst->dims[3];
	size_t h = (size_t)src->dims[2], w = (size_t)src->dims[3];

	for (size_t p = 0; p < (size_t)(dst->dims[0] * dst->dims[1]); p++)
		for (size_t r = 0; r < h; r++)
			memcpy(dst->d.f + (p * H + (size_t)out[0] + r) * W + (size_t)out[2],
			       src->d.f + (p * h + r) * w, sizeof(float) * w);
}

enum adcnn_status adcnn_merge(struct adcnn_ctx *ctx, const struct adcnn_model *m,
                              const struct adcnn_bundle *rb, struct adcnn_merge_opts *opts,
                              struct adcnn_tensor **stitched, struct adcnn_tensor **output,
                              int *ends_in_softmax)
{
	const struct adcnn_manifest *man = &rb->man;
	const struct adcnn_graph *g = &m->g;
	struct adcnn_tensor *st_t = NULL, *out = NULL;
	bool *prefix = NULL, *tail = NULL;
	int split;
	enum adcnn_status st;
	struct adcnn_exec_opts eo = {0};

	opts->nmissing = 0;
	opts->missing[0] = '\0';
	if (man->kind == ADCNN_KIND_TILES)
		return adcnn_set_error(ctx, ADCNN_ERR_MISMATCH, "a tile bundle holds no results: run it first");
	if (strcmp(man->model, m->hash) != 0)
		return adcnn_set_error(ctx, ADCNN_ERR_MISMATCH, "the results were made with model %.12s, not with this one (%.12s)", man->model, m->hash);
	prefix = calloc((size_t)g->nnodes + 1, sizeof(bool));
	tail = calloc((size_t)g->nnodes + 1, sizeof(bool));
	if (prefix == NULL || tail == NULL) {
		st = adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory");
		goto fail;
	}
	st = adcnn_split_find(ctx, g, man->in_dims, man->in_rank, man->split_name, &split, prefix);
	if (st != ADCNN_OK)
		goto fail;
	/* the MANIFEST's shapes must be the model's: they decide what is allocated and pasted */
	{
		bool ok = man->split_rank == (man->in_rank == 4 ? 4 : man->in_rank) && man->split_dims[0] == man->in_dims[0];
		if (ok && man->in_rank == 4 && man->in_dims[2] <= INT32_MAX && man->in_dims[3] <= INT32_MAX) {
			int *chw = malloc(sizeof(int) * 3 * ((size_t)g->nvalues + 1));
			if (chw == NULL) {
				st = adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory");
				goto fail;
			}
			st = adcnn_value_dims(ctx, g, prefix, (int)man->in_dims[1], (int)man->in_dims[2], (int)man->in_dims[3], chw);
			ok = st == ADCNN_OK && chw[3 * split] == man->split_dims[1] &&
			     chw[3 * split + 1] == man->split_dims[2] && chw[3 * split + 2] == man->split_dims[3];
			free(chw);
		} else if (ok) {
			for (int i = 0; i < man->in_rank; i++)
				ok = ok && man->split_dims[i] == man->in_dims[i];
		}
		if (!ok) {
			st = adcnn_set_error(ctx, ADCNN_ERR_MISMATCH, "the MANIFEST's shapes are not those of the model");
			goto fail;
		}
	}
	st_t = adcnn_tensor_new(man->split_rank, man->split_dims);
	if (st_t == NULL) {
		st = adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory");
		goto fail;
	}
	for (int k = 1; k < rb->nbundles; k++) {
		const struct adcnn_bundle_id *id = &rb->ids[k];
		if (id->kind == ADCNN_KIND_TILES) {
			st = adcnn_set_error(ctx, ADCNN_ERR_MISMATCH, "bundle %d of the input is a tile bundle, not results: run it first", k + 1);
			goto fail;
		}
		if (strcmp(id->model, m->hash) != 0) {
			st = adcnn_set_error(ctx, ADCNN_ERR_MISMATCH, "bundle %d of the input was made with model %.12s, not with this one (%.12s)", k + 1, id->model, m->hash);
			goto fail;
		}
	}
	for (int i = 0; i < rb->nmembers; i++) {
		const struct adcnn_member *mem = &rb->members[i];
		if (strncmp(mem->path, "results/", 8) == 0 && strcmp(rb->ids[mem->bundle].job, man->job) != 0) {
			int l = (int)strcspn(mem->path + 8, ".");
			st = adcnn_set_error(ctx, ADCNN_ERR_MISMATCH, "tile '%.*s' is from another job (%.12s, not %.12s)",
			                     l, mem->path + 8, rb->ids[mem->bundle].job, man->job);
			goto fail;
		}
	}
	for (int t = 0; t < man->ntiles; t++) {
		const struct adcnn_tile *tile = &man->tiles[t];
		const struct adcnn_member *mem;
		struct adcnn_tensor *x;
		char path[64];
		bool ok;

		snprintf(path, sizeof(path), "results/%s.t", tile->id);
		mem = adcnn_bundle_find(rb, path);
		if (mem == NULL) {
			size_t l = strlen(opts->missing);
			if (l + strlen(tile->id) + 3 < sizeof(opts->missing))
				snprintf(opts->missing + l, sizeof(opts->missing) - l, "%s%s", l ? ", " : "", tile->id);
			opts->nmissing++;
			continue;
		}
		st = adcnn_tensor_decode(ctx, mem->data, mem->len, &x, NULL);
		if (st != ADCNN_OK) {
			char msg[sizeof(ctx->msg)];
			snprintf(msg, sizeof(msg), "%s", ctx->msg);
			adcnn_set_error(ctx, st, "cannot read tile '%s': %s", tile->id, msg);
			goto fail;
		}
		if (man->split_rank == 4) {
			ok = x->rank == 4 && x->dims[0] == man->split_dims[0] && x->dims[1] == man->split_dims[1] &&
			     x->dims[2] == tile->out[1] - tile->out[0] && x->dims[3] == tile->out[3] - tile->out[2];
			if (ok)
				paste(st_t, x, tile->out);
		} else {
			ok = man->ntiles == 1 && adcnn_tensor_same_shape(x, st_t);
			if (ok)
				memcpy(st_t->d.f, x->d.f, 4 * x->n);
		}
		adcnn_tensor_free(x);
		if (!ok) {
			st = adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "tile '%s' has the wrong shape for its region", tile->id);
			goto fail;
		}
	}
	if (opts->nmissing > 0 && !opts->allow_missing) {
		st = adcnn_set_error(ctx, ADCNN_ERR_PARTIAL, "%s '%s' missing", opts->nmissing > 1 ? "tiles" : "tile", opts->missing);
		goto fail;
	}
	for (int i = 0; i < g->nnodes; i++)
		tail[i] = !prefix[i];
	eo.run_node = tail;
	st = adcnn_graph_run(ctx, g, split, st_t, g->outputs[0], &eo, &out);
	if (st != ADCNN_OK)
		goto fail;
	*ends_in_softmax = g->values[g->outputs[0]].producer >= 0 &&
	                   g->nodes[g->values[g->outputs[0]].producer].op == OP_SOFTMAX;
	*stitched = st_t;
	*output = out;
	free(prefix);
	free(tail);
	return ADCNN_OK;
fail:
	adcnn_tensor_free(st_t);
	free(prefix);
	free(tail);
	return st;
}

enum adcnn_status adcnn_topk(struct adcnn_ctx *ctx, const struct adcnn_tensor *out, int softmax,
                             int k, int *idx, float *prob, int *nout)
{
	size_t n = out->n;
	float *p;
	double sum = 0.0;
	float mx = -INFINITY;
	bool vec = true;

	for (int i = 0; i < out->rank; i++)
		if (out->dims[i] != 1 && out->dims[i] != (int64_t)n)
			vec = false;
	if (!vec || n == 0 || (out->rank >= 1 && out->dims[0] != 1 && n != (size_t)out->dims[0]))
		return adcnn_set_error(ctx, ADCNN_ERR_MISMATCH, "the model's output is not a class vector");
	if (out->dtype != ADCNN_F32)
		return adcnn_set_error(ctx, ADCNN_ERR_MISMATCH, "the model's output is not float32");
	p = malloc(sizeof(float) * n);
	if (p == NULL)
		return adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		mx = fmaxf(mx, out->d.f[i]);
	for (size_t i = 0; i < n; i++) {
		p[i] = softmax ? expf(out->d.f[i] - mx) : out->d.f[i];
		sum += p[i];
	}
	if (softmax)
		for (size_t i = 0; i < n; i++)
			p[i] = (float)(p[i] / sum);
	if ((size_t)k > n)
		k = (int)n;
	for (int j = 0; j < k; j++) {
		size_t best = 0;
		bool found = false;
		for (size_t i = 0; i < n; i++) {
			bool taken = false;
			for (int q = 0; q < j; q++)
				if ((size_t)idx[q] == i)
					taken = true;
			if (taken)
				continue;
			if (!found || p[i] > p[best]) {
				best = i;
				found = true;
			}
		}
		idx[j] = (int)best;
		prob[j] = p[best];
	}
	*nout = k;
	free(p);
	return ADCNN_OK;
}
