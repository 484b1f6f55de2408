/* ready.c: the ready-to-run form of a model in a node's cache: the graph after loading (BN
 * folded, constants folded, nodes in order) with its weights aligned in one file, mapped
 * with mmap instead of parsed from protobuf at every run. Cache-local, host-endian-checked,
 * written by the library; read like any other input: every size checked. */
#include "config.h"
#include "internal.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define READY_MAGIC "ADCNNRDY"
#define READY_VERSION 3 /* 3: panels also for weights of K >= 256 (adcnn_panels_worth) */
#define ALIGN 64

struct wbuf {
	uint8_t *p;
	size_t len, cap;
	bool bad;
};

static void put(struct wbuf *b, const void *src, size_t n)
{
	if (b->bad)
		return;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		uint8_t *np;
		while (cap < b->len + n)
			cap *= 2;
		np = realloc(b->p, cap);
		if (np == NULL) {
			b->bad = true;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, src, n);
	b->len += n;
}

static void put32(struct wbuf *b, uint32_t v)
{
	uint8_t x[4];
	adcnn_le32enc(x, v);
	put(b, x, 4);
}

static void put64(struct wbuf *b, uint64_t v)
{
	put32(b, (uint32_t)v);
	put32(b, (uint32_t)(v >> 32));
}

static void putf(struct wbuf *b, float f)
{
	uint32_t u;
	memcpy(&u, &f, 4);
	put32(b, u);
}

static void putstr(struct wbuf *b, const char *s)
{
	size_t l = strlen(s);
	put32(b, (uint32_t)l);
	put(b, s, l);
}

static bool little_endian(void)
{
	uint32_t one = 1;
	return *(uint8_t *)&one == 1;
}

static enum adcnn_status ready_path(struct adcnn_ctx *ctx, const char *hash, char **path)
{
	char name[ADCNN_HASH_HEX + 8];

	snprintf(name, sizeof(name), "%s.ready", hash);
	return adcnn_cache_path(ctx, name, path);
}

/* The weights are stored as the host holds them: the form is local to one node's cache. */
enum adcnn_status adcnn_ready_store(struct adcnn_ctx *ctx, const struct adcnn_model *m)
{
	const struct adcnn_graph *g = &m->g;
	struct wbuf meta = {0};
	enum adcnn_status st = ADCNN_OK;
	struct adcnn_cache_file f;
	char name[ADCNN_HASH_HEX + 8];
	static const uint8_t zeros[ALIGN > ADCNN_SLACK ? ALIGN : ADCNN_SLACK];
	size_t head, dlen = 0, at, pstart = 0;
	uint8_t tail[8];

	if (!little_endian())
		return ADCNN_OK;
	put(&meta, READY_MAGIC, 8);
	put32(&meta, READY_VERSION);
	putstr(&meta, PACKAGE_VERSION);
	put32(&meta, (uint32_t)g->nvalues);
	put32(&meta, (uint32_t)g->nnodes);
	put32(&meta, (uint32_t)g->input);
	put32(&meta, (uint32_t)g->opset);
	put32(&meta, (uint32_t)g->noutputs);
	for (int k = 0; k < g->noutputs; k++)
		put32(&meta, (uint32_t)g->outputs[k]);
	/* the panels of the deep Convs' weights (pgemm.c) follow all the weights */
	for (int v = 0; v < g->nvalues; v++) {
		const struct adcnn_tensor *t = g->values[v].init;
		if (t != NULL)
			pstart = (pstart + ALIGN - 1) / ALIGN * ALIGN + t->n * (t->dtype == ADCNN_I64 ? 8 : 4);
	}
	for (int v = 0; v < g->nvalues; v++) {
		const struct adcnn_tensor *t = g->values[v].init;
		putstr(&meta, g->values[v].name);
		put32(&meta, t ? (uint32_t)t->dtype : 0);
		if (t == NULL)
			continue;
		put32(&meta, (uint32_t)t->rank);
		for (int i = 0; i < t->rank; i++)
			put64(&meta, (uint64_t)t->dims[i]);
		dlen = (dlen + ALIGN - 1) / ALIGN * ALIGN;
		put64(&meta, dlen);
		dlen += t->n * (t->dtype == ADCNN_I64 ? 8 : 4);
	}
	/* then, for each value with panels, its offset (the panels' size follows from its dims) */
	for (int v = 0; v < g->nvalues; v++) {
		size_t pf = adcnn_panels_wanted(g, v);
		if (pf == 0)
			continue;
		pstart = (pstart + ALIGN - 1) / ALIGN * ALIGN;
		put32(&meta, (uint32_t)v);
		put64(&meta, pstart);
		pstart += pf * 4;
	}
	put32(&meta, UINT32_MAX);
	for (int i = 0; i < g->nnodes; i++) {
		const struct adcnn_node *n = &g->nodes[i];
		const int *ints[] = {n->kernel, n->stride, n->dil, n->pad};
		const int counts[] = {2, 2, 2, 4};
		putstr(&meta, n->name);
		put32(&meta, (uint32_t)n->op);
		put32(&meta, (uint32_t)n->nin);
		put32(&meta, (uint32_t)n->nout);
		for (int k = 0; k < n->nin; k++)
			put32(&meta, (uint32_t)n->in[k]);
		for (int k = 0; k < n->nout; k++)
			put32(&meta, (uint32_t)n->out[k]);
		for (int a = 0; a < 4; a++)
			for (int k = 0; k < counts[a]; k++)
				put32(&meta, (uint32_t)ints[a][k]);
		put32(&meta, (uint32_t)n->auto_pad);
		put32(&meta, (uint32_t)n->group);
		put32(&meta, (uint32_t)n->ceil_mode);
		put32(&meta, (uint32_t)n->count_include_pad);
		put32(&meta, (uint32_t)n->axis);
		put32(&meta, (uint32_t)n->trans_a);
		put32(&meta, (uint32_t)n->trans_b);
		put32(&meta, (uint32_t)n->allowzero);
		put32(&meta, (uint32_t)n->to);
		putf(&meta, n->alpha);
		putf(&meta, n->beta);
		putf(&meta, n->fmin);
		putf(&meta, n->fmax);
		putf(&meta, n->eps);
		put32(&meta, n->legacy_softmax ? 1 : 0);
		put32(&meta, (uint32_t)n->naxes);
		for (int k = 0; k < n->naxes; k++)
			put64(&meta, (uint64_t)n->axes[k]);
	}
	if (meta.bad) {
		st = adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory");
		goto done;
	}
	/* the header's last field: where the weights start; then the weights, written one
	 * tensor at a time (a model's worth of memory is not needed twice to cache it) */
	head = meta.len + 8;
	head = (head + ALIGN - 1) / ALIGN * ALIGN;
	snprintf(name, sizeof(name), "%s.ready", m->hash);
	if (adcnn_cache_begin(ctx, name, &f) != ADCNN_OK) {
		st = f.st;
		goto done;
	}
	adcnn_cache_write(ctx, &f, meta.p, meta.len);
	adcnn_le32enc(tail, (uint32_t)head);
	adcnn_le32enc(tail + 4, (uint32_t)((uint64_t)head >> 32));
	adcnn_cache_write(ctx, &f, tail, 8);
	adcnn_cache_write(ctx, &f, zeros, head - meta.len - 8);
	at = 0;
	for (int v = 0; v < g->nvalues; v++) {
		const struct adcnn_tensor *t = g->values[v].init;
		size_t pad = (ALIGN - at % ALIGN) % ALIGN, len;
		if (t == NULL)
			continue;
		len = t->n * (t->dtype == ADCNN_I64 ? 8 : 4);
		adcnn_cache_write(ctx, &f, zeros, pad);
		adcnn_cache_write(ctx, &f, t->d.p, len);
		at += pad + len;
	}
	if (at != dlen && f.st == ADCNN_OK)
		f.st = adcnn_set_error(ctx, ADCNN_ERR_INTERNAL, "ready form: %zu bytes of weights, not %zu", at, dlen);
	for (int v = 0; v < g->nvalues && f.st == ADCNN_OK; v++) {
		const struct adcnn_tensor *t = g->values[v].init;
		size_t pf = adcnn_panels_wanted(g, v), pad = (ALIGN - at % ALIGN) % ALIGN;
		float *p;
		if (pf == 0)
			continue;
		p = malloc(pf * 4);
		if (p == NULL) {
			f.st = adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory");
			break;
		}
		adcnn_panels_fill(t->d.f, (int)t->dims[0], pf / (((size_t)t->dims[0] + 31) / 32 * 32), p);
		adcnn_cache_write(ctx, &f, zeros, pad);
		adcnn_cache_write(ctx, &f, p, pf * 4);
		free(p);
		at += pad + pf * 4;
	}
	adcnn_cache_write(ctx, &f, zeros, ADCNN_SLACK); /* the slack BLIS may read past the last */
	st = adcnn_cache_end(ctx, &f);
done:
	free(meta.p);
	return st;
}

struct rbuf {
	const uint8_t *p;
	size_t len, off;
	bool bad;
};

static uint32_t get32(struct rbuf *b)
{
	uint32_t v;
	if (b->bad || b->len - b->off < 4) {
		b->bad = true;
		return 0;
	}
	v = adcnn_le32dec(b->p + b->off);
	b->off += 4;
	return v;
}

static uint64_t get64(struct rbuf *b)
{
	uint64_t lo = get32(b);
	return lo | (uint64_t)get32(b) << 32;
}

static float getf(struct rbuf *b)
{
	uint32_t u = get32(b);
	float f;
	memcpy(&f, &u, 4);
	return f;
}

static char *getstr(struct rbuf *b)
{
	uint32_t l = get32(b);
	char *s;
	if (b->bad || l > 65536 || b->len - b->off < l) {
		b->bad = true;
		return NULL;
	}
	s = malloc(l + 1);
	if (s == NULL) {
		b->bad = true;
		return NULL;
	}
	memcpy(s, b->p + b->off, l);
	s[l] = '\0';
	b->off += l;
	return s;
}

static bool id_ok(int32_t v, int nvalues, bool optional)
{
	return (optional && v == -1) || (v >= 0 && v < nvalues);
}

/* ADCNN_ERR_MISSING where the cache has no ready form (or one of another version) */
enum adcnn_status adcnn_ready_load(struct adcnn_ctx *ctx, const char *hash, struct adcnn_model **out)
{
	char *path = NULL, *ver = NULL;
	int fd = -1;
	struct stat sb;
	void *map = MAP_FAILED;
	struct rbuf b = {0};
	struct adcnn_model *m = NULL;
	struct adcnn_graph *g;
	enum adcnn_status st;
	uint64_t data_off;
	int nvalues, nnodes;
	size_t data_len;

	if (!little_endian())
		return adcnn_set_error(ctx, ADCNN_ERR_MISSING, "no ready form on a big-endian host");
	st = ready_path(ctx, hash, &path);
	if (st != ADCNN_OK)
		return st;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size < 64) {
		st = adcnn_set_error(ctx, ADCNN_ERR_MISSING, "no ready form of %.12s", hash);
		goto fail;
	}
	map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED) {
		st = adcnn_set_error(ctx, ADCNN_ERR_MISSING, "cannot map '%s': %s", path, strerror(errno));
		goto fail;
	}
	b.p = map;
	b.len = (size_t)sb.st_size;
	if (memcmp(b.p, READY_MAGIC, 8) != 0) {
		st = adcnn_set_error(ctx, ADCNN_ERR_MISSING, "'%s' is not a ready form", path);
		goto fail;
	}
	b.off = 8;
	ver = (get32(&b) == READY_VERSION) ? getstr(&b) : NULL;
	if (ver == NULL || strcmp(ver, PACKAGE_VERSION) != 0) {
		unlink(path); /* made by another version: made anew */
		st = adcnn_set_error(ctx, ADCNN_ERR_MISSING, "'%s' is of another version", path);
		goto fail;
	}
	m = calloc(1, sizeof(*m));
	if (m == NULL)
		goto nomem;
	memcpy(m->hash, hash, ADCNN_HASH_HEX);
	g = &m->g;
	nvalues = (int)get32(&b);
	nnodes = (int)get32(&b);
	g->input = (int)get32(&b);
	g->opset = (int)get32(&b);
	g->noutputs = (int)get32(&b);
	if (b.bad || nvalues < 1 || nvalues > 1 << 20 || nnodes < 0 || nnodes > 1 << 20 ||
	    g->noutputs < 1 || g->noutputs > 1024 || !id_ok(g->input, nvalues, false))
		goto bad;
	g->outputs = calloc((size_t)g->noutputs, sizeof(int));
	g->values = calloc((size_t)nvalues, sizeof(*g->values));
	g->nodes = calloc((size_t)nnodes + 1, sizeof(*g->nodes));
	if (g->outputs == NULL || g->values == NULL || g->nodes == NULL)
		goto nomem;
	g->cap_values = nvalues;
	for (int k = 0; k < g->noutputs; k++) {
		g->outputs[k] = (int)get32(&b);
		if (!id_ok(g->outputs[k], nvalues, false))
			goto bad;
	}
	/* values; their data offsets are checked once the data section is known */
	uint64_t *offs = calloc((size_t)nvalues, sizeof(uint64_t));
	if (offs == NULL)
		goto nomem;
	for (int v = 0; v < nvalues; v++) {
		struct adcnn_value *val = &g->values[v];
		uint32_t dt;
		val->producer = -1;
		val->name = getstr(&b);
		g->nvalues++;
		dt = get32(&b);
		if (b.bad)
			break;
		if (dt == 0)
			continue;
		int rank = (int)get32(&b);
		int64_t dims[ADCNN_MAX_RANK];
		size_t n;
		if ((dt != ADCNN_F32 && dt != ADCNN_I64) || rank < 0 || rank > ADCNN_MAX_RANK) {
			b.bad = true;
			break;
		}
		for (int i = 0; i < rank; i++)
			dims[i] = (int64_t)get64(&b);
		offs[v] = get64(&b);
		if (b.bad || !adcnn_dims_count(rank, dims, &n)) {
			b.bad = true;
			break;
		}
		val->init = calloc(1, sizeof(*val->init));
		if (val->init == NULL) {
			b.bad = true;
			break;
		}
		val->init->dtype = (enum adcnn_dtype)dt;
		val->init->rank = rank;
		memcpy(val->init->dims, dims, sizeof(int64_t) * (size_t)rank);
		val->init->n = n;
		val->init->borrowed = true;
	}
	/* the values with panels (pgemm.c), and where */
	uint64_t *poffs = calloc((size_t)nvalues, sizeof(uint64_t));
	if (poffs == NULL) {
		free(offs);
		goto nomem;
	}
	for (int k = 0; k <= nvalues && !b.bad; k++) {
		uint32_t v = get32(&b);
		if (v == UINT32_MAX)
			break;
		if (v >= (uint32_t)g->nvalues || g->values[v].init == NULL || poffs[v] != 0 || k == nvalues) {
			b.bad = true;
			break;
		}
		poffs[v] = get64(&b) + 1; /* 0: none */
	}
	for (int i = 0; i < nnodes && !b.bad; i++) {
		struct adcnn_node *n = &g->nodes[i];
		int *ints[] = {n->kernel, n->stride, n->dil, n->pad};
		const int counts[] = {2, 2, 2, 4};
		g->nnodes++;
		n->name = getstr(&b);
		n->op = (enum adcnn_op)get32(&b);
		n->nin = (int)get32(&b);
		n->nout = (int)get32(&b);
		if (b.bad || (unsigned)n->op >= OP__COUNT || n->nin < 0 || n->nin > 64 || n->nout < 1 || n->nout > 8) {
			b.bad = true;
			break;
		}
		n->in = calloc((size_t)n->nin + 1, sizeof(int));
		n->out = calloc((size_t)n->nout, sizeof(int));
		if (n->in == NULL || n->out == NULL) {
			b.bad = true;
			break;
		}
		for (int k = 0; k < n->nin; k++)
			if (!id_ok(n->in[k] = (int)get32(&b), nvalues, true))
				b.bad = true;
		for (int k = 0; k < n->nout; k++)
			if (!id_ok(n->out[k] = (int)get32(&b), nvalues, true))
				b.bad = true;
		bool window = n->op == OP_CONV || n->op == OP_MAXPOOL || n->op == OP_AVGPOOL;
		for (int a = 0; a < 4; a++)
			for (int k = 0; k < counts[a]; k++) {
				ints[a][k] = (int)get32(&b);
				/* kernel, stride and dilation of a window are 1 to 4096, pads 0 to 4096 */
				if (ints[a][k] < 0 || ints[a][k] > 4096 || (window && a < 3 && ints[a][k] == 0))
					b.bad = true;
			}
		n->auto_pad = (int)get32(&b);
		n->group = (int)get32(&b);
		n->ceil_mode = (int)get32(&b);
		n->count_include_pad = (int)get32(&b);
		n->axis = (int)get32(&b);
		n->trans_a = (int)get32(&b);
		n->trans_b = (int)get32(&b);
		n->allowzero = (int)get32(&b);
		n->to = (int)get32(&b);
		n->alpha = getf(&b);
		n->beta = getf(&b);
		n->fmin = getf(&b);
		n->fmax = getf(&b);
		n->eps = getf(&b);
		n->legacy_softmax = get32(&b) != 0;
		n->naxes = (int)get32(&b);
		if (n->auto_pad < 0 || n->auto_pad > 3 || n->naxes < 0 || n->naxes > ADCNN_MAX_RANK) {
			b.bad = true;
			break;
		}
		if (n->naxes > 0) {
			n->axes = calloc((size_t)n->naxes, sizeof(int64_t));
			if (n->axes == NULL) {
				b.bad = true;
				break;
			}
			for (int k = 0; k < n->naxes; k++)
				n->axes[k] = (int64_t)get64(&b);
		}
	}
	data_off = get64(&b);
	if (b.bad || data_off < b.off || data_off > b.len || data_off % ALIGN) {
		free(offs);
		free(poffs);
		goto bad;
	}
	data_len = b.len - (size_t)data_off;
	for (int v = 0; v < nvalues; v++) {
		struct adcnn_tensor *t = g->values[v].init;
		size_t bytes;
		if (t == NULL)
			continue;
		bytes = t->n * (t->dtype == ADCNN_I64 ? 8 : 4);
		if (offs[v] % ALIGN || offs[v] > data_len || bytes > data_len - offs[v]) {
			free(offs);
			free(poffs);
			goto bad;
		}
		t->d.p = (void *)(b.p + data_off + offs[v]);
		if (poffs[v] != 0) {
			/* panels of 32 output channels, K floats each (the rows past M zero) */
			uint64_t po = poffs[v] - 1, pbytes;
			if (t->dtype != ADCNN_F32 || t->rank != 4 || t->dims[0] < 1 || po % ALIGN || po > data_len) {
				free(offs);
				free(poffs);
				goto bad;
			}
			pbytes = ((uint64_t)t->dims[0] + 31) / 32 * 32 * (t->n / (uint64_t)t->dims[0]) * 4;
			if (pbytes > data_len - po) {
				free(offs);
				free(poffs);
				goto bad;
			}
			t->packed = (void *)(b.p + data_off + po);
			t->packed_borrowed = true;
		}
	}
	free(offs);
	free(poffs);
	adcnn_graph_reindex(g);
	st = adcnn_graph_check(ctx, g);
	if (st != ADCNN_OK)
		goto fail;
	m->map = map;
	m->map_len = b.len;
	close(fd);
	free(path);
	free(ver);
	*out = m;
	return ADCNN_OK;
bad:
	/* a cache: what is corrupt goes, and the ONNX makes it anew */
	unlink(path);
	st = adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "'%s': corrupt ready form, deleted", path);
	goto fail;
nomem:
	st = adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory");
fail:
	adcnn_model_free(m);
	if (map != MAP_FAILED)
		munmap(map, b.len ? b.len : (size_t)sb.st_size);
	if (fd >= 0)
		close(fd);
	free(path);
	free(ver);
	return st;
}

enum adcnn_status adcnn_model_load_cached(struct adcnn_ctx *ctx, const char *path,
                                          struct adcnn_model **out)
{
	char hash[ADCNN_HASH_HEX];
	struct stat sb;
	enum adcnn_status st;

	if (strcmp(path, "-") == 0 || stat(path, &sb) != 0 || !S_ISREG(sb.st_mode) ||
	    adcnn_hash_file(ctx, path, hash) != ADCNN_OK)
		return adcnn_model_load_ex(ctx, path, ADCNN_LOAD_RUN_ONLY, out);
	st = adcnn_ready_load(ctx, hash, out);
	if (st == ADCNN_OK || st == ADCNN_ERR_NOMEM)
		return st;
	st = adcnn_model_load_ex(ctx, path, ADCNN_LOAD_RUN_ONLY, out);
	/* stored only if the file did not change while it was read twice */
	if (st == ADCNN_OK && strcmp((*out)->hash, hash) == 0) {
		struct adcnn_ctx quiet = {0};
		adcnn_ready_store(&quiet, *out); /* a node that cannot cache still merges */
	}
	return st;
}
