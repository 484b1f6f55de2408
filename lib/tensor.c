/* tensor.c: float32/int64 tensors with overflow-checked shapes, and NumPy .npy files. */
#include "config.h"
#include "internal.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

bool adcnn_dims_count(int rank, const int64_t *dims, size_t *n)
{
	size_t c = 1;

	if (rank < 0 || rank > ADCNN_MAX_RANK)
		return false;
	for (int i = 0; i < rank; i++) {
		if (dims[i] < 0 || (uint64_t)dims[i] > ADCNN_MAX_ELEMS)
			return false;
		if (dims[i] != 0 && c > ADCNN_MAX_ELEMS / (size_t)dims[i])
			return false;
		c *= (size_t)dims[i];
	}
	*n = c;
	return true;
}

static struct adcnn_tensor *tensor_alloc(enum adcnn_dtype dt, int rank, const int64_t *dims,
                                         bool zero)
{
	struct adcnn_tensor *t;
	size_t n;

	if (!adcnn_dims_count(rank, dims, &n))
		return NULL;
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return NULL;
	t->dtype = dt;
	t->rank = rank;
	if (rank > 0)
		memcpy(t->dims, dims, sizeof(*dims) * (size_t)rank);
	t->n = n;
	/* SLACK bytes more than the data: BLIS's sgemm was seen (valgrind) reading one float past
	 * the end of a matrix; where the end of an allocation is the end of a mapping, that
	 * read would be a crash. Large buffers from pool.c, kept for the next tensor */
	t->d.p = adcnn_pool_get((n ? n : 1) * (dt == ADCNN_I64 ? sizeof(int64_t) : sizeof(float)) + ADCNN_SLACK, zero,
	                        &t->cap);
	if (t->d.p == NULL) {
		free(t);
		return NULL;
	}
	return t;
}

struct adcnn_tensor *adcnn_tensor_new_typed(enum adcnn_dtype dt, int rank, const int64_t *dims)
{
	return tensor_alloc(dt, rank, dims, true);
}

/* for an op that writes every value: clearing is a pass over memory for nothing where the
 * buffer is one used before */
struct adcnn_tensor *adcnn_tensor_new_uninit(int rank, const int64_t *dims)
{
	return tensor_alloc(ADCNN_F32, rank, dims, false);
}

struct adcnn_tensor *adcnn_tensor_new(int rank, const int64_t *dims)
{
	return adcnn_tensor_new_typed(ADCNN_F32, rank, dims);
}

void adcnn_tensor_free(struct adcnn_tensor *t)
{
	if (t == NULL)
		return;
	if (!t->borrowed)
		adcnn_pool_put(t->d.p, t->cap);
	adcnn_conv_panels_free(t);
	free(t);
}

struct adcnn_tensor *adcnn_tensor_clone(const struct adcnn_tensor *t)
{
	/* not cleared: every value is copied over (a kept buffer's clearing is a pass of its own) */
	struct adcnn_tensor *c = tensor_alloc(t->dtype, t->rank, t->dims, false);

	if (c != NULL)
		memcpy(c->d.p, t->d.p, t->n * (t->dtype == ADCNN_I64 ? 8 : 4));
	return c;
}

int adcnn_tensor_rank(const struct adcnn_tensor *t) { return t->rank; }
int64_t adcnn_tensor_dim(const struct adcnn_tensor *t, int i) { return t->dims[i]; }
size_t adcnn_tensor_count(const struct adcnn_tensor *t) { return t->n; }
float *adcnn_tensor_data(struct adcnn_tensor *t) { return t->d.f; }

bool adcnn_tensor_same_shape(const struct adcnn_tensor *a, const struct adcnn_tensor *b)
{
	if (a->rank != b->rank)
		return false;
	for (int i = 0; i < a->rank; i++)
		if (a->dims[i] != b->dims[i])
			return false;
	return true;
}

void adcnn_shape_str(int rank, const int64_t *dims, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (int i = 0; i < rank && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%lld", i ? "x" : "", (long long)dims[i]);
	if (rank == 0)
		snprintf(buf, len, "scalar");
}

/* .npy: only little-endian float32 in C order, the form every tool and numpy writes by default */
enum adcnn_status adcnn_npy_parse(struct adcnn_ctx *ctx, const uint8_t *buf, size_t len,
                                  struct adcnn_tensor **out)
{
	size_t hlen, off, n;
	char hdr[1024];
	const char *p;
	int64_t dims[ADCNN_MAX_RANK];
	int rank = 0;
	struct adcnn_tensor *t;

	if (len < 10 || memcmp(buf, "\x93NUMPY", 6) != 0)
		return adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "not a .npy file");
	if (buf[6] == 1) {
		hlen = buf[8] | (size_t)buf[9] << 8;
		off = 10;
	} else if (buf[6] == 2 || buf[6] == 3) {
		if (len < 12)
			return adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "truncated .npy header");
		hlen = adcnn_le32dec(buf + 8);
		off = 12;
	} else {
		return adcnn_set_error(ctx, ADCNN_ERR_VERSION, "unsupported .npy version %d", buf[6]);
	}
	if (hlen >= sizeof(hdr) || hlen > len - off)
		return adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "truncated .npy header");
	memcpy(hdr, buf + off, hlen);
	hdr[hlen] = '\0';
	off += hlen;
	bool i64 = strstr(hdr, "'descr': '<i8'") != NULL;
	if (strstr(hdr, "'descr': '<f4'") == NULL && !i64)
		return adcnn_set_error(ctx, ADCNN_ERR_UNSUPPORTED, ".npy data type is not little-endian float32 ('<f4') or int64 ('<i8')");
	if (strstr(hdr, "'fortran_order': False") == NULL)
		return adcnn_set_error(ctx, ADCNN_ERR_UNSUPPORTED, ".npy array is in Fortran order");
	p = strstr(hdr, "'shape': (");
	if (p == NULL)
		return adcnn_set_error(ctx, ADCNN_ERR_FORMAT, ".npy header has no shape");
	p += 10;
	while (*p != ')') {
		char *end;
		long long v;

		while (*p == ' ' || *p == ',')
			p++;
		if (*p == ')')
			break;
		errno = 0;
		v = strtoll(p, &end, 10);
		if (end == p || errno != 0 || v < 0 || rank == ADCNN_MAX_RANK)
			return adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "bad .npy shape");
		dims[rank++] = v;
		p = end;
	}
	if (!adcnn_dims_count(rank, dims, &n))
		return adcnn_set_error(ctx, ADCNN_ERR_FORMAT, ".npy shape too large");
	size_t esz = i64 ? 8 : 4;
	if (len - off < n * esz)
		return adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "truncated .npy data (expected %zu bytes, got %zu)", n * esz, len - off);
	t = adcnn_tensor_new_typed(i64 ? ADCNN_I64 : ADCNN_F32, rank, dims);
	if (t == NULL)
		return adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		uint32_t u = adcnn_le32dec(buf + off + esz * i);
		if (i64)
			t->d.i[i] = (int64_t)((uint64_t)u | (uint64_t)adcnn_le32dec(buf + off + 8 * i + 4) << 32);
		else
			memcpy(&t->d.f[i], &u, 4);
	}
	*out = t;
	return ADCNN_OK;
}

enum adcnn_status adcnn_npy_read(struct adcnn_ctx *ctx, const char *path, struct adcnn_tensor **out)
{
	uint8_t *buf;
	size_t len;
	enum adcnn_status st = adcnn_file_read(ctx, path, &buf, &len);

	if (st != ADCNN_OK)
		return st;
	st = adcnn_npy_parse(ctx, buf, len, out);
	free(buf);
	return st;
}

enum adcnn_status adcnn_npy_write(struct adcnn_ctx *ctx, const struct adcnn_tensor *t, FILE *fp)
{
	char hdr[256], shape[200];
	size_t o = 0, hl;
	uint8_t pre[10];

	shape[0] = '\0';
	for (int i = 0; i < t->rank; i++)
		o += (size_t)snprintf(shape + o, sizeof(shape) - o, "%lld,%s", (long long)t->dims[i],
		                      (t->rank > 1 && i < t->rank - 1) ? " " : "");
	if (t->rank > 1)
		shape[o - 1] = '\0';
	hl = (size_t)snprintf(hdr, sizeof(hdr), "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", t->dtype == ADCNN_I64 ? "<i8" : "<f4", shape);
	while ((10 + hl + 1) % 64 != 0)
		hdr[hl++] = ' ';
	hdr[hl++] = '\n';
	memcpy(pre, "\x93NUMPY\x01\x00", 8);
	pre[8] = hl & 0xff;
	pre[9] = (uint8_t)(hl >> 8);
	if (fwrite(pre, 1, 10, fp) != 10 || fwrite(hdr, 1, hl, fp) != hl)
		goto fail;
	for (size_t i = 0; i < t->n; i++) {
		uint8_t b[8];
		uint32_t u;

		if (t->dtype == ADCNN_I64) {
			uint64_t v = (uint64_t)t->d.i[i];
			adcnn_le32enc(b, (uint32_t)v);
			adcnn_le32enc(b + 4, (uint32_t)(v >> 32));
		} else {
			memcpy(&u, &t->d.f[i], 4);
			adcnn_le32enc(b, u);
		}
		if (fwrite(b, 1, t->dtype == ADCNN_I64 ? 8 : 4, fp) != (t->dtype == ADCNN_I64 ? 8u : 4u))
			goto fail;
	}
	return ADCNN_OK;
fail:
	return adcnn_set_error(ctx, ADCNN_ERR_IO, "write failed: %s", strerror(errno));
}
