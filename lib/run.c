/* run.c: a node's work: find the prefix model (bundle, -m or cache), run it on every tile of a
 * tile bundle, tiles in parallel, and make the result bundle. */
#include "config.h"
#include "internal.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static enum adcnn_status prefix_bytes(struct adcnn_ctx *ctx, const struct adcnn_bundle *b,
                                      const struct adcnn_run_opts *opts, uint8_t **buf, size_t *len)
{
	const struct adcnn_manifest *man = &b->man;
	char path[128], hex[ADCNN_HASH_HEX], *cpath = NULL;
	const struct adcnn_member *mem;
	enum adcnn_status st;

	snprintf(path, sizeof(path), "model/%s.onnx", man->prefix);
	if ((mem = adcnn_bundle_find(b, path)) != NULL) {
		*buf = malloc(mem->len ? mem->len : 1);
		if (*buf == NULL)
			return adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory");
		memcpy(*buf, mem->data, mem->len);
		*len = mem->len;
		adcnn_hash_hex(*buf, *len, hex);
		if (strcmp(hex, man->prefix) != 0) {
			free(*buf);
			*buf = NULL;
			return adcnn_set_error(ctx, ADCNN_ERR_HASH, "embedded model '%s' does not match its hash", path);
		}
		/* a node that cannot cache still runs the bundle it was given */
		adcnn_cache_store(ctx, man->prefix, *buf, *len);
		return ADCNN_OK;
	}
	if (opts->model_path != NULL) {
		st = adcnn_file_read(ctx, opts->model_path, buf, len);
		if (st != ADCNN_OK)
			return st;
		adcnn_hash_hex(*buf, *len, hex);
		if (strcmp(hex, man->prefix) == 0)
			return ADCNN_OK;
		if (strcmp(hex, man->model) == 0) {
			struct adcnn_model *full;
			st = adcnn_model_load_mem(ctx, *buf, *len, &full);
			free(*buf);
			*buf = NULL;
			if (st != ADCNN_OK)
				return st;
			st = adcnn_onnx_submodel(ctx, full, man->split_name, buf, len);
			adcnn_model_free(full);
			if (st != ADCNN_OK)
				return st;
			adcnn_hash_hex(*buf, *len, hex);
			if (strcmp(hex, man->prefix) != 0) {
				free(*buf);
				*buf = NULL;
				return adcnn_set_error(ctx, ADCNN_ERR_MISMATCH, "the prefix of '%s' is not the one the bundle was made for", opts->model_path);
			}
			return ADCNN_OK;
		}
		free(*buf);
		*buf = NULL;
		return adcnn_set_error(ctx, ADCNN_ERR_MISMATCH, "model '%s' is not the one the bundle was made with", opts->model_path);
	}
	st = adcnn_cache_path(ctx, man->prefix, &cpath);
	if (st != ADCNN_OK)
		return st;
	st = adcnn_file_read(ctx, cpath, buf, len);
	if (st == ADCNN_ERR_MISSING) {
		st = adcnn_set_error(ctx, ADCNN_ERR_MISSING, "model %.12s is not in this node's cache (%s): make the bundle with --embed-model or give -m MODEL",
		                     man->prefix, cpath);
	} else if (st == ADCNN_OK) {
		adcnn_hash_hex(*buf, *len, hex);
		if (strcmp(hex, man->prefix) != 0) {
			free(*buf);
			*buf = NULL;
			st = adcnn_set_error(ctx, ADCNN_ERR_HASH, "cached model '%s' is corrupt: delete it", cpath);
		}
	}
	free(cpath);
	return st;
}

struct job {
	const struct adcnn_manifest *man;
	const struct adcnn_model *pm;
	int split;
	int ntodo;
	const struct adcnn_member **members;
	const struct adcnn_tile **tiles;
	int op_threads;   /* threads inside each tile's operators */
	int tile_threads; /* threads running tiles at once */
	uint8_t **out;
	size_t *outlen;
	double *secs;
	uint64_t *flops;
	int next;
	pthread_mutex_t lock;
	enum adcnn_status st;
	struct adcnn_ctx err;
};

static enum adcnn_status run_tile(struct adcnn_ctx *ctx, struct job *j, int i)
{
	const struct adcnn_manifest *man = j->man;
	const struct adcnn_tile *t = j->tiles[i];
	const struct adcnn_graph *g = &j->pm->g;
	struct adcnn_tensor *x = NULL, *y = NULL;
	struct adcnn_region *reg = NULL;
	struct adcnn_exec_opts eo = {0};
	enum adcnn_status st;
	int *chw = NULL;

	st = adcnn_tensor_decode(ctx, j->members[i]->data, j->members[i]->len, &x, NULL);
	if (st != ADCNN_OK) {
		char msg[sizeof(ctx->msg)];
		snprintf(msg, sizeof(msg), "%s", ctx->msg);
		adcnn_set_error(ctx, st, "cannot read tile '%s': %s", t->id, msg);
		goto fail;
	}
	if (x->rank != man->in_rank)
		goto shape;
	for (int d = 0; d < x->rank; d++) {
		int64_t want = man->in_dims[d];
		if (x->rank == 4 && d == 2)
			want = t->in[1] - t->in[0];
		if (x->rank == 4 && d == 3)
			want = t->in[3] - t->in[2];
		if (x->dims[d] != want)
			goto shape;
	}
	if (man->mode == ADCNN_MODE_HALO && x->rank == 4 && j->split != g->input) {
		reg = calloc((size_t)g->nvalues + 1, sizeof(*reg));
		if (reg == NULL) {
			st = adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory");
			goto fail;
		}
		st = adcnn_halo_regions(ctx, g, NULL, (int)man->in_dims[1], (int)man->in_dims[2],
		                        (int)man->in_dims[3], j->split, t->out, reg);
		if (st != ADCNN_OK)
			goto fail;
		if (reg[g->input].r0 != t->in[0] || reg[g->input].r1 != t->in[1] ||
		    reg[g->input].c0 != t->in[2] || reg[g->input].c1 != t->in[3]) {
			st = adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "the halo of tile '%s' does not match its model", t->id);
			goto fail;
		}
		eo.region = reg;
	}
	if (x->rank == 4 && j->split != g->input) {
		chw = malloc(sizeof(int) * 3 * ((size_t)g->nvalues + 1));
		if (chw == NULL) {
			st = adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory");
			goto fail;
		}
		st = reg ? adcnn_value_dims(ctx, g, NULL, (int)man->in_dims[1], (int)man->in_dims[2], (int)man->in_dims[3], chw)
		         : adcnn_value_dims(ctx, g, NULL, (int)x->dims[1], (int)x->dims[2], (int)x->dims[3], chw);
		if (st != ADCNN_OK)
			goto fail;
		j->flops[i] = adcnn_graph_flops(g, NULL, chw, reg, x->dims[0]);
	}
	st = adcnn_graph_run(ctx, g, g->input, x, j->split, &eo, &y);
	if (st != ADCNN_OK)
		goto fail;
	if (y->rank == 4 && man->split_rank == 4 &&
	    (y->dims[2] != t->out[1] - t->out[0] || y->dims[3] != t->out[3] - t->out[2] || y->dims[1] != man->split_dims[1])) {
		st = adcnn_set_error(ctx, ADCNN_ERR_MISMATCH, "tile '%s' gave %lldx%lldx%lld, not its %dx%d output region",
		                     t->id, (long long)y->dims[1], (long long)y->dims[2], (long long)y->dims[3],
		                     t->out[1] - t->out[0], t->out[3] - t->out[2]);
		goto fail;
	}
	st = adcnn_tensor_encode(ctx, y, ADCNN_ENC_F32, 0, &j->out[i], &j->outlen[i]);
	goto done;
shape:
	st = adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "tile '%s' has the wrong shape for its region", t->id);
fail:
done:
	adcnn_tensor_free(x);
	adcnn_tensor_free(y);
	free(reg);
	free(chw);
	return st;
}

static void *worker(void *arg)
{
	struct job *j = arg;
	struct adcnn_ctx ctx = {0};

	adcnn_threads_set(j->op_threads);
	adcnn_cache_sharers_set(j->tile_threads);
	for (;;) {
		int i;
		struct timespec a, b;
		enum adcnn_status st;

		pthread_mutex_lock(&j->lock);
		i = j->st == ADCNN_OK && j->next < j->ntodo ? j->next++ : -1;
		pthread_mutex_unlock(&j->lock);
		if (i < 0)
			break;
		clock_gettime(CLOCK_MONOTONIC, &a);
		st = run_tile(&ctx, j, i);
		clock_gettime(CLOCK_MONOTONIC, &b);
		j->secs[i] = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) * 1e-9;
		if (st != ADCNN_OK) {
			pthread_mutex_lock(&j->lock);
			if (j->st == ADCNN_OK) {
				j->st = st;
				j->err = ctx;
			}
			pthread_mutex_unlock(&j->lock);
		}
	}
	return NULL;
}

/* a thread of adcnn_run's own: it leaves its scratch memory to the next such thread
 * (adcnn_thread_release). The calling thread keeps its own for the next run (what --bench
 * measures is then a run, not page faults). */
static void *helper_thread(void *arg)
{
	worker(arg);
	adcnn_thread_release();
	return NULL;
}

enum adcnn_status adcnn_run(struct adcnn_ctx *ctx, const struct adcnn_bundle *tb,
                            struct adcnn_run_opts *opts, struct adcnn_bundle **out)
{
	struct timespec t0, t1;
	const struct adcnn_manifest *man = &tb->man;
	struct adcnn_model *pm = NULL;
	struct adcnn_bundle *rb = NULL;
	uint8_t *mbuf = NULL;
	size_t mlen = 0;
	struct job j;
	pthread_t *th = NULL;
	int nthreads, started = 0;
	enum adcnn_status st;

	memset(&j, 0, sizeof(j));
	pthread_mutex_init(&j.lock, NULL);
	if (man->kind != ADCNN_KIND_TILES) {
		st = adcnn_set_error(ctx, ADCNN_ERR_MISMATCH, "not a tile bundle (kind %s)", man->kind == ADCNN_KIND_RESULTS ? "results" : "packed");
		goto done;
	}
	for (int k = 1; k < tb->nbundles; k++)
		if (tb->ids[k].kind != ADCNN_KIND_TILES || strcmp(tb->ids[k].job, man->job) != 0) {
			st = adcnn_set_error(ctx, ADCNN_ERR_MISMATCH, "bundle %d of the input is %s", k + 1,
			                     tb->ids[k].kind != ADCNN_KIND_TILES ? "not a tile bundle" : "of another job");
			goto done;
		}
	/* the model an earlier run kept, if it is this prefix; else the ready form in the cache,
	 * mapped; else the ONNX, parsed, and its ready form stored */
	if (opts->model != NULL && strcmp(opts->model->hash, man->prefix) == 0) {
		pm = opts->model;
		st = ADCNN_OK;
	} else {
		st = adcnn_ready_load(ctx, man->prefix, &pm);
	}
	if (st != ADCNN_OK && st != ADCNN_ERR_MISSING && st != ADCNN_ERR_FORMAT)
		goto done;
	if (st != ADCNN_OK) {
		st = prefix_bytes(ctx, tb, opts, &mbuf, &mlen);
		if (st != ADCNN_OK)
			goto done;
		/* prefix_bytes() checked the bytes against the MANIFEST's prefix hash */
		st = adcnn_model_load_owned(ctx, mbuf, mlen, man->prefix, &pm);
		mbuf = NULL;
		if (st != ADCNN_OK)
			goto done;
		adcnn_ready_store(ctx, pm); /* a node that cannot cache still runs */
	}
	j.man = man;
	j.pm = pm;
	j.split = adcnn_graph_value(&pm->g, man->split_name, false);
	if (j.split < 0 || pm->g.noutputs != 1 || pm->g.outputs[0] != j.split) {
		st = adcnn_set_error(ctx, ADCNN_ERR_MISMATCH, "the prefix model does not end at '%s'", man->split_name);
		goto done;
	}
	j.members = calloc((size_t)tb->nmembers + 1, sizeof(*j.members));
	j.tiles = calloc((size_t)tb->nmembers + 1, sizeof(*j.tiles));
	j.out = calloc((size_t)tb->nmembers + 1, sizeof(*j.out));
	j.outlen = calloc((size_t)tb->nmembers + 1, sizeof(*j.outlen));
	j.secs = calloc((size_t)tb->nmembers + 1, sizeof(*j.secs));
	j.flops = calloc((size_t)tb->nmembers + 1, sizeof(*j.flops));
	if (j.members == NULL || j.tiles == NULL || j.out == NULL || j.outlen == NULL || j.secs == NULL || j.flops == NULL) {
		st = adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory");
		goto done;
	}
	/* in the order of the plan, so the result bundle's bytes do not depend on timing */
	for (int t = 0; t < man->ntiles; t++) {
		char path[64];
		const struct adcnn_member *mem;
		snprintf(path, sizeof(path), "tiles/%s.t", man->tiles[t].id);
		mem = adcnn_bundle_find(tb, path);
		if (mem == NULL)
			continue;
		j.members[j.ntodo] = mem;
		j.tiles[j.ntodo++] = &man->tiles[t];
	}
	if (j.ntodo == 0) {
		st = adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "the bundle holds no tiles");
		goto done;
	}
	nthreads = opts->threads > 0 ? opts->threads : 1;
	/* tiles in parallel; threads left over go inside the tiles' operators (parallel.c) */
	j.op_threads = nthreads > j.ntodo ? nthreads / j.ntodo : 1;
	if (nthreads > j.ntodo)
		nthreads = j.ntodo;
	j.tile_threads = nthreads;
	th = calloc((size_t)nthreads, sizeof(*th));
	if (th == NULL) {
		st = adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory");
		goto done;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 1; i < nthreads; i++)
		if (pthread_create(&th[i], NULL, helper_thread, &j) == 0)
			started = i;
		else
			break;
	{
		/* the calling thread is a tile thread too, then as it was */
		int op = adcnn_threads_get(), sharers = adcnn_cache_sharers();
		worker(&j);
		adcnn_threads_set(op);
		adcnn_cache_sharers_set(sharers);
	}
	for (int i = 1; i <= started; i++)
		pthread_join(th[i], NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	opts->seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
	opts->flops = 0;
	for (int i = 0; i < j.ntodo; i++)
		opts->flops += j.flops[i];
	if (j.st != ADCNN_OK) {
		*ctx = j.err;
		st = j.st;
		goto done;
	}
	if (opts->verbose)
		for (int i = 0; i < j.ntodo; i++)
			fprintf(stderr, "tile %s: %.3f s, %.3f GFLOP/s\n", j.tiles[i]->id, j.secs[i],
			        j.secs[i] > 0 ? (double)j.flops[i] / j.secs[i] * 1e-9 : 0.0);
	rb = adcnn_bundle_new();
	if (rb == NULL || (st = adcnn_manifest_copy(ctx, &rb->man, man)) != ADCNN_OK) {
		st = rb == NULL ? adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory") : st;
		goto done;
	}
	rb->man.kind = ADCNN_KIND_RESULTS;
	rb->nbundles = 1;
	for (int i = 0; i < j.ntodo; i++) {
		char path[64];
		snprintf(path, sizeof(path), "results/%s.t", j.tiles[i]->id);
		st = adcnn_bundle_add(ctx, rb, path, j.out[i], j.outlen[i]);
		j.out[i] = NULL;
		if (st != ADCNN_OK)
			goto done;
	}
	*out = rb;
	rb = NULL;
done:
	if (j.out != NULL)
		for (int i = 0; i < j.ntodo; i++)
			free(j.out[i]);
	free(j.members);
	free(j.tiles);
	free(j.out);
	free(j.outlen);
	free(j.secs);
	free(j.flops);
	free(th);
	free(mbuf);
	/* kept for the next run: mapping the ready form again and faulting its pages in cost
	 * --bench 3.4 ms of ResNet-18's 32 ms a run */
	if (pm != NULL && pm != opts->model && opts->keep_model) {
		adcnn_model_free(opts->model);
		opts->model = pm;
	} else if (pm != opts->model) {
		adcnn_model_free(pm);
	}
	adcnn_bundle_free(rb);
	pthread_mutex_destroy(&j.lock);
	return st;
}
