/* test_tensor: shapes and their overflow checks, tensors, .npy files (tensor.c), and the
 * tensor members of bundles, raw and lossless (pack.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "config.h"
#include "internal.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static struct adcnn_ctx *ctx;

static int setup(void **state)
{
	(void)state;
	ctx = adcnn_ctx_new();
	return ctx == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	adcnn_ctx_free(ctx);
	return 0;
}

static const char *data_dir(void)
{
	const char *s = getenv("top_srcdir");
	return s != NULL && s[0] != '\0' ? s : ".";
}

static float f_of(uint32_t u)
{
	float f;
	memcpy(&f, &u, 4);
	return f;
}

static uint32_t u_of(float f)
{
	uint32_t u;
	memcpy(&u, &f, 4);
	return u;
}

/* An address-space limit of 1 GiB beyond what the process maps now: an allocation of
 * gigabytes then fails (and shows up as ADCNN_ERR_NOMEM) instead of eating the machine. */
static struct rlimit old_limit;

static void limit_memory(void)
{
	FILE *fp = fopen("/proc/self/statm", "r");
	unsigned long pages = 0;
	struct rlimit r;

	assert_non_null(fp);
	assert_int_equal(fscanf(fp, "%lu", &pages), 1);
	fclose(fp);
	assert_int_equal(getrlimit(RLIMIT_AS, &old_limit), 0);
	r = old_limit;
	r.rlim_cur = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + ((rlim_t)1 << 30);
	if (old_limit.rlim_cur != RLIM_INFINITY && old_limit.rlim_cur < r.rlim_cur)
		r.rlim_cur = old_limit.rlim_cur;
	assert_int_equal(setrlimit(RLIMIT_AS, &r), 0);
}

static void unlimit_memory(void)
{
	assert_int_equal(setrlimit(RLIMIT_AS, &old_limit), 0);
}

/* ---- shapes ---- */

static void test_dims_count(void **state)
{
	size_t n = 12345;
	(void)state;

	assert_true(adcnn_dims_count(0, NULL, &n));
	assert_int_equal(n, 1);
	assert_true(adcnn_dims_count(3, (int64_t[]){2, 3, 4}, &n));
	assert_int_equal(n, 24);
	assert_true(adcnn_dims_count(2, (int64_t[]){0, 5}, &n));
	assert_int_equal(n, 0);
	assert_true(adcnn_dims_count(8, (int64_t[]){1, 2, 1, 2, 1, 2, 1, 2}, &n));
	assert_int_equal(n, 16);
	/* the limit itself is allowed, one more is not */
	assert_true(adcnn_dims_count(2, (int64_t[]){32768, 65536}, &n));
	assert_int_equal(n, (size_t)1 << 31);
	assert_true(adcnn_dims_count(1, (int64_t[]){(int64_t)1 << 31}, &n));
	assert_int_equal(n, (size_t)1 << 31);
	assert_false(adcnn_dims_count(2, (int64_t[]){32769, 65536}, &n));
	assert_false(adcnn_dims_count(1, (int64_t[]){((int64_t)1 << 31) + 1}, &n));
	/* products that wrap around 64 bits */
	assert_false(adcnn_dims_count(3, (int64_t[]){(int64_t)1 << 31, (int64_t)1 << 31, (int64_t)1 << 31}, &n));
	assert_false(adcnn_dims_count(2, (int64_t[]){(int64_t)1 << 32, (int64_t)1 << 32}, &n));
	assert_false(adcnn_dims_count(1, (int64_t[]){INT64_MAX}, &n));
	assert_false(adcnn_dims_count(4, (int64_t[]){65536, 65536, 65536, 65536}, &n));
	/* a zero does not excuse a huge or negative dimension elsewhere */
	assert_false(adcnn_dims_count(2, (int64_t[]){0, INT64_MAX}, &n));
	assert_false(adcnn_dims_count(2, (int64_t[]){-1, 4}, &n));
	assert_false(adcnn_dims_count(2, (int64_t[]){4, -1}, &n));
	assert_false(adcnn_dims_count(1, (int64_t[]){INT64_MIN}, &n));
	assert_false(adcnn_dims_count(2, (int64_t[]){0, -3}, &n));
	/* rank */
	assert_false(adcnn_dims_count(9, (int64_t[]){1, 1, 1, 1, 1, 1, 1, 1, 1}, &n));
	assert_false(adcnn_dims_count(-1, (int64_t[]){1}, &n));
}

static void test_shape_str(void **state)
{
	char buf[64];
	(void)state;

	adcnn_shape_str(3, (int64_t[]){1, 3, 224}, buf, sizeof(buf));
	assert_string_equal(buf, "1x3x224");
	adcnn_shape_str(0, NULL, buf, sizeof(buf));
	assert_string_equal(buf, "scalar");
	adcnn_shape_str(1, (int64_t[]){7}, buf, sizeof(buf));
	assert_string_equal(buf, "7");
}

/* ---- tensors ---- */

static void test_tensor_new(void **state)
{
	struct adcnn_tensor *t;
	(void)state;

	t = adcnn_tensor_new(3, (int64_t[]){2, 3, 4});
	assert_non_null(t);
	assert_int_equal(t->dtype, ADCNN_F32);
	assert_int_equal(adcnn_tensor_rank(t), 3);
	assert_int_equal(adcnn_tensor_dim(t, 0), 2);
	assert_int_equal(adcnn_tensor_dim(t, 1), 3);
	assert_int_equal(adcnn_tensor_dim(t, 2), 4);
	assert_int_equal(adcnn_tensor_count(t), 24);
	assert_ptr_equal(adcnn_tensor_data(t), t->d.f);
	for (size_t i = 0; i < 24; i++)
		assert_int_equal(u_of(t->d.f[i]), 0);
	adcnn_tensor_free(t);

	t = adcnn_tensor_new(0, NULL);
	assert_non_null(t);
	assert_int_equal(t->rank, 0);
	assert_int_equal(t->n, 1);
	assert_non_null(t->d.p);
	adcnn_tensor_free(t);

	t = adcnn_tensor_new(2, (int64_t[]){0, 3});
	assert_non_null(t);
	assert_int_equal(t->n, 0);
	assert_non_null(t->d.p);
	adcnn_tensor_free(t);

	t = adcnn_tensor_new_typed(ADCNN_I64, 1, (int64_t[]){5});
	assert_non_null(t);
	assert_int_equal(t->dtype, ADCNN_I64);
	for (int i = 0; i < 5; i++)
		assert_int_equal(t->d.i[i], 0);
	adcnn_tensor_free(t);

	/* shapes refused without allocating */
	assert_null(adcnn_tensor_new(2, (int64_t[]){-2, 3}));
	assert_null(adcnn_tensor_new(2, (int64_t[]){(int64_t)1 << 32, (int64_t)1 << 32}));
	assert_null(adcnn_tensor_new(9, (int64_t[]){1, 1, 1, 1, 1, 1, 1, 1, 1}));

	adcnn_tensor_free(NULL);
}

/* pool.c: a freed tensor's buffer serves the next one (the smallest that holds it, cleared
 * where a cleared tensor is asked for); no more buffers than were in use at once; bounded */
static void test_pool(void **state)
{
	struct adcnn_tensor *a, *b, *c, *many[40];
	unsigned long made0, made;
	size_t bytes, cap;
	void *pa, *pc, *huge;
	int kept;
	(void)state;

	adcnn_pool_trim();
	assert_int_equal(adcnn_pool_stats(&bytes, &made0), 0);
	assert_int_equal(bytes, 0);
	a = adcnn_tensor_new_uninit(2, (int64_t[]){256, 256});
	assert_non_null(a);
	assert_int_equal((uintptr_t)a->d.p % 64, 0);
	for (size_t i = 0; i < a->n; i++)
		a->d.f[i] = 1.0f;
	pa = a->d.p;
	adcnn_tensor_free(a);
	assert_int_equal(adcnn_pool_stats(&bytes, NULL), 1);
	assert_true(bytes >= 256 * 256 * sizeof(float));
	/* the same buffer, cleared */
	b = adcnn_tensor_new(2, (int64_t[]){256, 256});
	assert_non_null(b);
	assert_ptr_equal(b->d.p, pa);
	for (size_t i = 0; i < b->n; i++)
		if (b->d.f[i] != 0.0f)
			fail_msg("value %zu of a cleared tensor is %g", i, b->d.f[i]);
	assert_int_equal(adcnn_pool_stats(NULL, &made), 0);
	assert_int_equal(made, made0 + 1);
	/* nothing kept: a new one */
	c = adcnn_tensor_new_uninit(2, (int64_t[]){128, 256});
	assert_non_null(c);
	pc = c->d.p;
	adcnn_pool_stats(NULL, &made);
	assert_int_equal(made, made0 + 2);
	adcnn_tensor_free(b);
	adcnn_tensor_free(c);
	assert_int_equal(adcnn_pool_stats(NULL, NULL), 2);
	/* the smaller of the two that hold it */
	c = adcnn_tensor_new_uninit(2, (int64_t[]){100, 256});
	assert_ptr_equal(c->d.p, pc);
	adcnn_tensor_free(c);
	/* larger than both: the larger one goes, a new one in its place */
	a = adcnn_tensor_new_uninit(2, (int64_t[]){512, 256});
	assert_non_null(a);
	assert_int_equal(adcnn_pool_stats(NULL, &made), 1);
	assert_int_equal(made, made0 + 3);
	adcnn_tensor_free(a);
	assert_int_equal(adcnn_pool_stats(NULL, NULL), 2);
	/* small ones are malloc's to keep, on a cache line too */
	a = adcnn_tensor_new(1, (int64_t[]){17});
	assert_int_equal((uintptr_t)a->d.p % 64, 0);
	assert_int_equal(a->cap, 0);
	adcnn_tensor_free(a);
	assert_int_equal(adcnn_pool_stats(NULL, &made), 2);
	assert_int_equal(made, made0 + 3);
	/* at most so many kept */
	for (int i = 0; i < 40; i++)
		assert_non_null(many[i] = adcnn_tensor_new_uninit(1, (int64_t[]){20000 + i}));
	for (int i = 0; i < 40; i++)
		adcnn_tensor_free(many[i]);
	kept = adcnn_pool_stats(&bytes, NULL);
	assert_true(kept >= 16 && kept < 40);
	/* the largest are the ones kept: the larger one above among them */
	assert_true(bytes >= (size_t)(kept - 1) * 20000 * sizeof(float) + 512 * 256 * sizeof(float));
	/* nor a buffer past the bytes kept (a mapping never touched; made in place of the
	 * largest kept one) */
	huge = adcnn_pool_get((size_t)300 << 20, false, &cap);
	assert_non_null(huge);
	assert_int_equal((uintptr_t)huge % 64, 0);
	assert_int_equal(adcnn_pool_stats(NULL, NULL), kept - 1);
	adcnn_pool_put(huge, cap);
	assert_int_equal(adcnn_pool_stats(NULL, NULL), kept - 1);
	/* a thread's workspace, given back, serves the next thread's */
	adcnn_pool_trim();
	pa = adcnn_workspace(100000);
	assert_non_null(pa);
	adcnn_thread_release();
	assert_int_equal(adcnn_pool_stats(NULL, &made0), 1);
	assert_ptr_equal(adcnn_workspace(90000), pa);
	assert_ptr_equal(adcnn_workspace(100000), pa);
	assert_int_equal(adcnn_pool_stats(NULL, &made), 0);
	assert_int_equal(made, made0);
	adcnn_thread_release();
	adcnn_pool_trim();
	assert_int_equal(adcnn_pool_stats(&bytes, NULL), 0);
	assert_int_equal(bytes, 0);
}

static void test_tensor_clone(void **state)
{
	struct adcnn_tensor *t, *c;
	(void)state;

	t = adcnn_tensor_new(2, (int64_t[]){2, 3});
	assert_non_null(t);
	for (int i = 0; i < 6; i++)
		t->d.f[i] = (float)i * 1.5f - 2.0f;
	c = adcnn_tensor_clone(t);
	assert_non_null(c);
	assert_ptr_not_equal(c->d.p, t->d.p);
	assert_true(adcnn_tensor_same_shape(t, c));
	assert_int_equal(c->n, 6);
	assert_memory_equal(c->d.f, t->d.f, 6 * sizeof(float));
	c->d.f[0] = 99.0f; /* a deep copy */
	assert_float_equal(t->d.f[0], -2.0f, 0.0);
	adcnn_tensor_free(c);
	adcnn_tensor_free(t);

	t = adcnn_tensor_new_typed(ADCNN_I64, 1, (int64_t[]){3});
	t->d.i[0] = INT64_MIN;
	t->d.i[1] = -1;
	t->d.i[2] = INT64_MAX;
	c = adcnn_tensor_clone(t);
	assert_non_null(c);
	assert_int_equal(c->dtype, ADCNN_I64);
	assert_true(c->d.i[0] == INT64_MIN && c->d.i[1] == -1 && c->d.i[2] == INT64_MAX);
	adcnn_tensor_free(c);
	adcnn_tensor_free(t);

	t = adcnn_tensor_new(1, (int64_t[]){3});
	c = adcnn_tensor_new(2, (int64_t[]){3, 1});
	assert_false(adcnn_tensor_same_shape(t, c));
	adcnn_tensor_free(c);
	c = adcnn_tensor_new(1, (int64_t[]){4});
	assert_false(adcnn_tensor_same_shape(t, c));
	adcnn_tensor_free(c);
	adcnn_tensor_free(t);
}

/* ---- .npy ---- */

static uint8_t *npy_write_mem(const struct adcnn_tensor *t, size_t *len)
{
	char *buf = NULL;
	size_t sz = 0;
	FILE *fp = open_memstream(&buf, &sz);

	assert_non_null(fp);
	assert_int_equal(adcnn_npy_write(ctx, t, fp), ADCNN_OK);
	assert_int_equal(fclose(fp), 0);
	*len = sz;
	return (uint8_t *)buf;
}

/* a .npy file version 1.0 with this header text (padded as numpy pads it) and payload */
static uint8_t *npy_make(const char *dict, const void *payload, size_t plen, size_t *len)
{
	size_t hl = strlen(dict) + 1;
	uint8_t *b;

	while ((10 + hl) % 64 != 0)
		hl++;
	b = malloc(10 + hl + plen + 1);
	assert_non_null(b);
	memcpy(b, "\x93NUMPY\x01\x00", 8);
	b[8] = hl & 0xff;
	b[9] = (uint8_t)(hl >> 8);
	memset(b + 10, ' ', hl);
	memcpy(b + 10, dict, strlen(dict));
	b[10 + hl - 1] = '\n';
	if (plen)
		memcpy(b + 10 + hl, payload, plen);
	*len = 10 + hl + plen;
	return b;
}

static void test_npy_roundtrip(void **state)
{
	static const int64_t shapes[5][4] = {{0}, {5}, {2, 3}, {2, 1, 3}, {1, 2, 3, 2}};
	static const char *shape_text[5] = {"()", "(5,)", "(2, 3)", "(2, 1, 3)", "(1, 2, 3, 2)"};
	(void)state;

	for (int dt = 0; dt < 2; dt++)
		for (int rank = 0; rank <= 4; rank++) {
			enum adcnn_dtype type = dt ? ADCNN_I64 : ADCNN_F32;
			struct adcnn_tensor *t = adcnn_tensor_new_typed(type, rank, shapes[rank]), *r = NULL;
			char want[128];
			uint8_t *buf;
			size_t len, hl;

			assert_non_null(t);
			for (size_t i = 0; i < t->n; i++) {
				if (type == ADCNN_I64)
					t->d.i[i] = (int64_t)(i * 0x0101010101LL) * (i % 2 ? -1 : 1) + (i == 1 ? INT64_MIN / 2 : 0);
				else
					t->d.f[i] = (float)i * -0.375f + 1e-30f * (float)i;
			}
			buf = npy_write_mem(t, &len);
			/* numpy's own layout: header padded to 64 bytes, ending in a newline */
			assert_memory_equal(buf, "\x93NUMPY\x01\x00", 8);
			hl = buf[8] | (size_t)buf[9] << 8;
			assert_int_equal((10 + hl) % 64, 0);
			assert_int_equal(buf[10 + hl - 1], '\n');
			snprintf(want, sizeof(want), "{'descr': '%s', 'fortran_order': False, 'shape': %s, }",
			         dt ? "<i8" : "<f4", shape_text[rank]);
			assert_memory_equal(buf + 10, want, strlen(want));
			assert_int_equal(len, 10 + hl + t->n * (dt ? 8 : 4));

			assert_int_equal(adcnn_npy_parse(ctx, buf, len, &r), ADCNN_OK);
			assert_non_null(r);
			assert_int_equal(r->dtype, type);
			assert_int_equal(r->rank, rank);
			assert_true(adcnn_tensor_same_shape(t, r));
			assert_int_equal(r->n, t->n);
			assert_memory_equal(r->d.p, t->d.p, t->n * (dt ? 8 : 4));
			adcnn_tensor_free(r);
			free(buf);
			adcnn_tensor_free(t);
		}
}

/* little-endian on disk whatever the host */
static void test_npy_byte_order(void **state)
{
	struct adcnn_tensor *t = adcnn_tensor_new(1, (int64_t[]){2});
	uint8_t *buf;
	size_t len;
	(void)state;

	t->d.f[0] = 1.0f;       /* 0x3f800000 */
	t->d.f[1] = -2.5f;      /* 0xc0200000 */
	buf = npy_write_mem(t, &len);
	assert_int_equal(len, 128 + 8);
	assert_memory_equal(buf + 128, "\x00\x00\x80\x3f\x00\x00\x20\xc0", 8);
	free(buf);
	adcnn_tensor_free(t);

	t = adcnn_tensor_new_typed(ADCNN_I64, 1, (int64_t[]){1});
	t->d.i[0] = -2; /* 0xfffffffffffffffe */
	buf = npy_write_mem(t, &len);
	assert_int_equal(len, 128 + 8);
	assert_memory_equal(buf + 128, "\xfe\xff\xff\xff\xff\xff\xff\xff", 8);
	free(buf);
	adcnn_tensor_free(t);
}

/* the test input was written by numpy: reading and writing it back gives its bytes */
static void test_npy_numpy_file(void **state)
{
	char path[4096];
	struct adcnn_tensor *t = NULL;
	uint8_t *file, *mine;
	size_t flen, mlen;
	(void)state;

	snprintf(path, sizeof(path), "%s/tests/data/models/resnet/input.npy", data_dir());
	assert_int_equal(adcnn_npy_read(ctx, path, &t), ADCNN_OK);
	assert_int_equal(t->rank, 4);
	assert_true(t->dims[0] == 1 && t->dims[1] == 3 && t->dims[2] == 128 && t->dims[3] == 128);
	assert_int_equal(adcnn_file_read(ctx, path, &file, &flen), ADCNN_OK);
	mine = npy_write_mem(t, &mlen);
	assert_int_equal(mlen, flen);
	assert_memory_equal(mine, file, flen);
	free(mine);
	free(file);
	adcnn_tensor_free(t);

	assert_int_equal(adcnn_npy_read(ctx, "/nonexistent/adcnn/x.npy", &t), ADCNN_ERR_MISSING);
}

static void test_npy_write_error(void **state)
{
	char small[16];
	struct adcnn_tensor *t = adcnn_tensor_new(1, (int64_t[]){4});
	FILE *fp = fmemopen(small, sizeof(small), "w");
	(void)state;

	assert_non_null(fp);
	setvbuf(fp, NULL, _IONBF, 0);
	assert_int_equal(adcnn_npy_write(ctx, t, fp), ADCNN_ERR_IO);
	fclose(fp);
	adcnn_tensor_free(t);
}

static void expect_npy_error(const uint8_t *buf, size_t len, enum adcnn_status want, const char *msg)
{
	struct adcnn_tensor *t = NULL;

	assert_int_equal(adcnn_npy_parse(ctx, buf, len, &t), want);
	assert_null(t);
	if (msg != NULL && strstr(adcnn_ctx_error(ctx), msg) == NULL)
		fail_msg("message '%s' lacks '%s'", adcnn_ctx_error(ctx), msg);
}

static void test_npy_refusals(void **state)
{
	float v[6] = {1, 2, 3, 4, 5, 6};
	uint8_t *good, *b;
	size_t len, l2;
	char *p;
	(void)state;

	good = npy_make("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", v, sizeof(v), &len);
	{
		struct adcnn_tensor *t = NULL;
		assert_int_equal(adcnn_npy_parse(ctx, good, len, &t), ADCNN_OK);
		assert_float_equal(t->d.f[5], 6.0f, 0.0);
		adcnn_tensor_free(t);
	}
	/* truncated data, header, prefix */
	expect_npy_error(good, len - 1, ADCNN_ERR_FORMAT, "truncated .npy data (expected 24 bytes, got 23)");
	expect_npy_error(good, 64, ADCNN_ERR_FORMAT, NULL);
	expect_npy_error(good, 40, ADCNN_ERR_FORMAT, "truncated .npy header");
	expect_npy_error(good, 9, ADCNN_ERR_FORMAT, NULL);
	expect_npy_error(good, 0, ADCNN_ERR_FORMAT, NULL);

	b = malloc(len);
	/* bad magic */
	memcpy(b, good, len);
	b[1] = 'X';
	expect_npy_error(b, len, ADCNN_ERR_FORMAT, "not a .npy file");
	memcpy(b, good, len);
	b[0] = 0x92;
	expect_npy_error(b, len, ADCNN_ERR_FORMAT, "not a .npy file");
	/* unknown version */
	memcpy(b, good, len);
	b[6] = 4;
	expect_npy_error(b, len, ADCNN_ERR_VERSION, NULL);
	/* Fortran order */
	memcpy(b, good, len);
	p = strstr((char *)b + 10, "False");
	assert_non_null(p);
	memcpy(p, "True ", 5);
	expect_npy_error(b, len, ADCNN_ERR_UNSUPPORTED, "Fortran");
	/* float64 and big-endian float32 */
	memcpy(b, good, len);
	p = strstr((char *)b + 10, "<f4");
	memcpy(p, "<f8", 3);
	expect_npy_error(b, len, ADCNN_ERR_UNSUPPORTED, NULL);
	memcpy(b, good, len);
	p = strstr((char *)b + 10, "<f4");
	memcpy(p, ">f4", 3);
	expect_npy_error(b, len, ADCNN_ERR_UNSUPPORTED, NULL);
	free(b);
	free(good);

	/* shapes: negative, too large (refused before allocating), too many dimensions */
	b = npy_make("{'descr': '<f4', 'fortran_order': False, 'shape': (-1, 3), }", v, sizeof(v), &l2);
	expect_npy_error(b, l2, ADCNN_ERR_FORMAT, NULL);
	free(b);
	b = npy_make("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", v, sizeof(v), &l2);
	expect_npy_error(b, l2, ADCNN_ERR_FORMAT, NULL);
	free(b);
	b = npy_make("{'descr': '<f4', 'fortran_order': False, 'shape': (65536, 32768), }", v, sizeof(v), &l2);
	expect_npy_error(b, l2, ADCNN_ERR_FORMAT, "truncated .npy data");
	free(b);
	b = npy_make("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 1, 1, 1, 1, 1, 1, 1), }", v, sizeof(v), &l2);
	expect_npy_error(b, l2, ADCNN_ERR_FORMAT, NULL);
	free(b);
	b = npy_make("{'descr': '<f4', 'fortran_order': False, }", v, sizeof(v), &l2);
	expect_npy_error(b, l2, ADCNN_ERR_FORMAT, "no shape");
	free(b);
	/* int64 truncated by one byte */
	{
		int64_t iv[2] = {1, 2};
		b = npy_make("{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", iv, sizeof(iv), &l2);
		expect_npy_error(b, l2 - 1, ADCNN_ERR_FORMAT, "expected 16 bytes, got 15");
		free(b);
	}
}

/* ---- tensor members: encode and decode ---- */

/* float32 values whose bits must survive: NaNs with payloads, signed zeros, denormals */
static const uint32_t special[] = {
	0x7fc00000, 0xffc00000, 0x7fc00001, 0x7f800001, 0x7fbfffff, /* NaNs, quiet and signalling */
	0x80000000, 0x00000000,                                     /* -0.0, +0.0 */
	0x00000001, 0x80000001, 0x007fffff, 0x807fffff, 0x00400000, /* denormals */
	0x7f800000, 0xff800000,                                     /* infinities */
	0x7f7fffff, 0xff7fffff, 0x00800000,                         /* FLT_MAX, -FLT_MAX, FLT_MIN */
	0x3f800000, 0xbf800000, 0x3eaaaaab, 0x12345678, 0xdeadbeef,
	0x3dcccccd, 0xc2f6e979, 0x00000002, 0x80000000, 0x7fc00000, 0x41200000, 0x3f000000, 0xbe000000,
};
#define NSPECIAL (sizeof(special) / sizeof(special[0]))

static struct adcnn_tensor *special_tensor(void)
{
	struct adcnn_tensor *t = adcnn_tensor_new(3, (int64_t[]){2, 3, 5});

	assert_non_null(t);
	assert_int_equal(t->n, NSPECIAL);
	for (size_t i = 0; i < t->n; i++)
		t->d.f[i] = f_of(special[i]);
	return t;
}

static void roundtrip(const struct adcnn_tensor *t, enum adcnn_enc enc, int level)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	struct adcnn_tensor *r = NULL;
	enum adcnn_enc got = 0;

	assert_int_equal(adcnn_tensor_encode(ctx, t, enc, level, &buf, &len), ADCNN_OK);
	assert_memory_equal(buf, "ADCT\x01", 5);
	assert_int_equal(buf[5], enc);
	assert_int_equal(buf[6], t->rank);
	assert_int_equal(buf[7], 0);
	for (int i = 0; i < t->rank; i++)
		assert_int_equal(adcnn_le32dec(buf + 8 + 4 * i), t->dims[i]);
	if (enc == ADCNN_ENC_F32)
		assert_int_equal(len, 8 + 4 * (size_t)t->rank + 4 * t->n);
	assert_int_equal(adcnn_tensor_decode(ctx, buf, len, &r, &got), ADCNN_OK);
	assert_int_equal(got, enc);
	assert_int_equal(r->dtype, ADCNN_F32);
	assert_true(adcnn_tensor_same_shape(r, t));
	assert_int_equal(r->n, t->n);
	for (size_t i = 0; i < t->n; i++)
		if (u_of(r->d.f[i]) != u_of(t->d.f[i]))
			fail_msg("value %zu: bits %08x, expected %08x", i, u_of(r->d.f[i]), u_of(t->d.f[i]));
	adcnn_tensor_free(r);
	free(buf);
}

static void test_encode_f32_layout(void **state)
{
	struct adcnn_tensor *t = adcnn_tensor_new(2, (int64_t[]){2, 3});
	uint8_t *buf;
	size_t len;
	static const uint8_t want[] = {
		'A', 'D', 'C', 'T', 1, 1, 2, 0, 2, 0, 0, 0, 3, 0, 0, 0,
		0x00, 0x00, 0x80, 0x3f, /* 1.0 */
		0x00, 0x00, 0x00, 0x80, /* -0.0 */
		0x01, 0x00, 0x00, 0x00, /* smallest denormal */
		0x01, 0x00, 0xc0, 0x7f, /* a NaN with a payload */
		0x00, 0x00, 0x80, 0xff, /* -inf */
		0x78, 0x56, 0x34, 0x12,
	};
	(void)state;

	t->d.f[0] = 1.0f;
	t->d.f[1] = f_of(0x80000000);
	t->d.f[2] = f_of(0x00000001);
	t->d.f[3] = f_of(0x7fc00001);
	t->d.f[4] = -INFINITY;
	t->d.f[5] = f_of(0x12345678);
	assert_int_equal(adcnn_tensor_encode(ctx, t, ADCNN_ENC_F32, 0, &buf, &len), ADCNN_OK);
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
	free(buf);
	adcnn_tensor_free(t);
}

static void test_encode_roundtrip(void **state)
{
	struct adcnn_tensor *t = special_tensor(), *big, *s;
	(void)state;

	roundtrip(t, ADCNN_ENC_F32, 0);
	roundtrip(t, ADCNN_ENC_LOSSLESS, 1);
	roundtrip(t, ADCNN_ENC_LOSSLESS, 19);
	adcnn_tensor_free(t);

	/* rank 0, an empty tensor, rank 8 */
	s = adcnn_tensor_new(0, NULL);
	s->d.f[0] = f_of(0x80000001);
	roundtrip(s, ADCNN_ENC_F32, 0);
	roundtrip(s, ADCNN_ENC_LOSSLESS, 3);
	adcnn_tensor_free(s);
	s = adcnn_tensor_new(2, (int64_t[]){0, 7});
	roundtrip(s, ADCNN_ENC_F32, 0);
	roundtrip(s, ADCNN_ENC_LOSSLESS, 3);
	adcnn_tensor_free(s);
	s = adcnn_tensor_new(8, (int64_t[]){1, 2, 1, 2, 1, 2, 1, 3});
	for (size_t i = 0; i < s->n; i++)
		s->d.f[i] = (float)i - 11.5f;
	roundtrip(s, ADCNN_ENC_F32, 0);
	roundtrip(s, ADCNN_ENC_LOSSLESS, 3);
	adcnn_tensor_free(s);

	/* more than one zstd block (128 KiB) per plane, all the special values mixed in */
	big = adcnn_tensor_new(4, (int64_t[]){1, 5, 200, 160});
	for (size_t i = 0; i < big->n; i++)
		big->d.f[i] = i % 7 == 0 ? f_of(special[i % NSPECIAL]) : (float)((i * 2654435761u) % 1000) / 64.0f;
	roundtrip(big, ADCNN_ENC_LOSSLESS, 3);
	roundtrip(big, ADCNN_ENC_F32, 0);
	adcnn_tensor_free(big);

	/* lossless is smaller than raw on data that compresses */
	{
		uint8_t *a, *b;
		size_t la, lb;
		big = adcnn_tensor_new(2, (int64_t[]){256, 256});
		for (size_t i = 0; i < big->n; i++)
			big->d.f[i] = (float)(i % 16);
		assert_int_equal(adcnn_tensor_encode(ctx, big, ADCNN_ENC_F32, 0, &a, &la), ADCNN_OK);
		assert_int_equal(adcnn_tensor_encode(ctx, big, ADCNN_ENC_LOSSLESS, 3, &b, &lb), ADCNN_OK);
		assert_int_equal(la, 16 + 4 * 65536);
		assert_true(lb < la / 10);
		free(a);
		free(b);
		adcnn_tensor_free(big);
	}
}

static void test_encode_refusals(void **state)
{
	struct adcnn_tensor *t = adcnn_tensor_new_typed(ADCNN_I64, 1, (int64_t[]){2});
	uint8_t *buf = NULL;
	size_t len;
	(void)state;

	assert_int_equal(adcnn_tensor_encode(ctx, t, ADCNN_ENC_F32, 0, &buf, &len), ADCNN_ERR_INTERNAL);
	assert_null(buf);
	adcnn_tensor_free(t);
	t = adcnn_tensor_new(1, (int64_t[]){2});
	assert_int_equal(adcnn_tensor_encode(ctx, t, (enum adcnn_enc)3, 0, &buf, &len), ADCNN_ERR_INVALID);
	assert_null(buf);
	adcnn_tensor_free(t);
}

static void expect_decode_error(const uint8_t *buf, size_t len, enum adcnn_status want, const char *msg)
{
	struct adcnn_tensor *t = NULL;

	assert_int_equal(adcnn_tensor_decode(ctx, buf, len, &t, NULL), want);
	assert_null(t);
	if (msg != NULL && strstr(adcnn_ctx_error(ctx), msg) == NULL)
		fail_msg("message '%s' lacks '%s'", adcnn_ctx_error(ctx), msg);
}

static void test_decode_refusals(void **state)
{
	struct adcnn_tensor *t = special_tensor();
	uint8_t *raw, *b;
	size_t len;
	(void)state;

	assert_int_equal(adcnn_tensor_encode(ctx, t, ADCNN_ENC_F32, 0, &raw, &len), ADCNN_OK);
	b = malloc(len + 64);

	memcpy(b, raw, len);
	b[0] = 'X';
	expect_decode_error(b, len, ADCNN_ERR_FORMAT, "bad magic");
	expect_decode_error(raw, 7, ADCNN_ERR_FORMAT, "bad magic");
	expect_decode_error(raw, 0, ADCNN_ERR_FORMAT, NULL);

	memcpy(b, raw, len);
	b[4] = 2;
	expect_decode_error(b, len, ADCNN_ERR_VERSION, "version 2");
	b[4] = 0;
	expect_decode_error(b, len, ADCNN_ERR_VERSION, NULL);

	/* rank 9, with bytes enough for nine dimensions of 1 */
	memset(b, 0, len + 64);
	memcpy(b, "ADCT\x01\x01\x09\x00", 8);
	for (int i = 0; i < 9; i++)
		adcnn_le32enc(b + 8 + 4 * i, 1);
	expect_decode_error(b, 8 + 36 + 4, ADCNN_ERR_FORMAT, "rank 9");
	b[6] = 255;
	expect_decode_error(b, len, ADCNN_ERR_FORMAT, NULL);

	/* header cut inside the dimensions */
	expect_decode_error(raw, 8 + 4, ADCNN_ERR_FORMAT, "truncated tensor header");
	/* payload one byte short, one byte long, empty */
	expect_decode_error(raw, len - 1, ADCNN_ERR_FORMAT, "truncated tensor");
	memcpy(b, raw, len);
	b[len] = 0;
	expect_decode_error(b, len + 1, ADCNN_ERR_FORMAT, NULL);
	expect_decode_error(raw, 8 + 12, ADCNN_ERR_FORMAT, "expected 120 bytes, got 0");

	/* unknown encoding */
	memcpy(b, raw, len);
	b[5] = 9;
	expect_decode_error(b, len, ADCNN_ERR_UNSUPPORTED, NULL);

	free(b);
	free(raw);
	adcnn_tensor_free(t);
}

/* a packed member (len bytes, the payload from hl) cut anywhere in its payload, and with a
 * byte more (made in b, len + 1 bytes): refused, the latter with msg */
static void expect_cuts_refused(const uint8_t *pk, size_t len, size_t hl, uint8_t *b, const char *msg)
{
	for (size_t cut = hl; cut < len; cut++)
		expect_decode_error(pk, cut, ADCNN_ERR_FORMAT, NULL);
	memcpy(b, pk, len);
	b[len] = 0;
	expect_decode_error(b, len + 1, ADCNN_ERR_FORMAT, msg);
}

/* offset of the first block header in a zstd frame */
static size_t zstd_block_offset(const uint8_t *f)
{
	static const size_t fcs_len[4] = {0, 2, 4, 8}, did_len[4] = {0, 1, 2, 4};
	uint8_t fhd = f[4];
	bool single = (fhd >> 5) & 1;
	size_t fcs = fcs_len[fhd >> 6];

	if (fcs == 0 && single)
		fcs = 1;
	return 4 + 1 + (single ? 0 : 1) + did_len[fhd & 3] + fcs;
}

static void test_decode_lossless_corrupt(void **state)
{
	struct adcnn_tensor *t = special_tensor();
	uint8_t *pk, *b;
	size_t len, hl = 8 + 4 * 3, f0, z0, f1;
	(void)state;

	assert_int_equal(adcnn_tensor_encode(ctx, t, ADCNN_ENC_LOSSLESS, 3, &pk, &len), ADCNN_OK);
	z0 = adcnn_le32dec(pk + hl);
	f0 = hl + 4;                   /* the first frame */
	f1 = f0 + z0 + 4;              /* the second */
	assert_true(f1 < len);
	assert_memory_equal(pk + f0, "\x28\xb5\x2f\xfd", 4);
	assert_memory_equal(pk + f1, "\x28\xb5\x2f\xfd", 4);
	b = malloc(len + 1);

	/* cut anywhere in the planes, or a byte more */
	expect_cuts_refused(pk, len, hl, b, "corrupt packed tensor");
	/* a frame's magic */
	memcpy(b, pk, len);
	b[f1 + 1] ^= 0xff;
	expect_decode_error(b, len, ADCNN_ERR_FORMAT, "corrupt packed tensor");
	/* a frame length that runs past the end */
	memcpy(b, pk, len);
	adcnn_le32enc(b + hl, (uint32_t)len);
	expect_decode_error(b, len, ADCNN_ERR_FORMAT, "corrupt packed tensor");
	/* a block of the reserved type: the header checks pass, decompression fails */
	memcpy(b, pk, len);
	{
		size_t bo = f0 + zstd_block_offset(b + f0);
		assert_true(bo + 3 <= f0 + z0);
		b[bo] |= 0x06; /* Block_Type 3 */
		expect_decode_error(b, len, ADCNN_ERR_FORMAT, "corrupt packed tensor");
	}
	/* a frame content size that disagrees with the shape */
	memcpy(b, pk, len);
	{
		uint8_t fhd = b[f0 + 4];
		assert_true((fhd >> 5) & 1); /* single segment: the size follows the descriptor */
		b[f0 + 5 + ((fhd & 3) ? 1 << ((fhd & 3) - 1) : 0)] ^= 0x01;
		expect_decode_error(b, len, ADCNN_ERR_FORMAT, "corrupt packed tensor");
	}
	free(b);
	free(pk);
	adcnn_tensor_free(t);
}

/* ---- encoding 4: exponents by rANS, signs and mantissas raw ---- */

/* t through encoding 4 (both paths, plain and by vectors, where the machine has them: the
 * same bytes) and back, bit for bit; returns the member's length */
static size_t roundtrip4(const struct adcnn_tensor *t, enum adcnn_enc want)
{
	uint8_t *a = NULL, *b = NULL;
	size_t la = 0, lb = 0;
	bool vec = adcnn_lossless_vector(true);
	struct adcnn_tensor *r = NULL;
	enum adcnn_enc got = 0;

	assert_int_equal(adcnn_tensor_encode(ctx, t, ADCNN_ENC_LOSSLESS_RANS, 3, &a, &la), ADCNN_OK);
	assert_int_equal(a[5], want);
	assert_false(adcnn_lossless_vector(false));
	assert_int_equal(adcnn_tensor_encode(ctx, t, ADCNN_ENC_LOSSLESS_RANS, 3, &b, &lb), ADCNN_OK);
	assert_int_equal(lb, la);
	assert_memory_equal(a, b, la);
	for (int pass = 0; pass < 2; pass++) {
		adcnn_lossless_vector(pass == 0 ? false : vec);
		if (adcnn_tensor_decode(ctx, a, la, &r, &got) != ADCNN_OK)
			fail_msg("%zu values, %s: %s", t->n, pass ? "by vectors" : "plain", adcnn_ctx_error(ctx));
		assert_int_equal(got, want);
		assert_true(adcnn_tensor_same_shape(r, t));
		for (size_t i = 0; i < t->n; i++)
			if (u_of(r->d.f[i]) != u_of(t->d.f[i]))
				fail_msg("value %zu of %zu: bits %08x, expected %08x", i, t->n, u_of(r->d.f[i]), u_of(t->d.f[i]));
		adcnn_tensor_free(r);
	}
	adcnn_lossless_vector(true);
	free(a);
	free(b);
	return la;
}

/* ReLU-like values: zeros, then magnitudes over nine octaves; where mix, every special
 * value at some positions (NaNs, infinities, -0.0, denormals: the exceptions, in vector steps
 * and in the tails) */
static struct adcnn_tensor *relu_like(int rank, const int64_t *dims, unsigned seed, bool mix)
{
	struct adcnn_tensor *t = adcnn_tensor_new(rank, dims);
	uint32_t s = seed * 2654435761u + 1;

	assert_non_null(t);
	for (size_t i = 0; i < t->n; i++) {
		s = s * 1103515245u + 12345u;
		if ((s >> 8) % 3 == 0)
			t->d.f[i] = 0.0f;
		else /* full mantissas, as activations have: 2^-5 to 2^4 */
			t->d.f[i] = f_of((uint32_t)(122 + (s >> 24) % 9) << 23 | ((s ^ s >> 15) * 2246822519u) >> 9);
		if (mix && (s >> 4) % 11 == 0)
			t->d.f[i] = f_of(special[(s >> 16) % NSPECIAL]);
	}
	return t;
}

static void test_encode_exponents(void **state)
{
	struct adcnn_tensor *t = special_tensor(), *s;
	(void)state;

	roundtrip4(t, ADCNN_ENC_LOSSLESS_RANS);
	adcnn_tensor_free(t);
	/* every length to past two vector steps, planes of 16 values and more (channels) */
	for (int n = 1; n <= 40; n++) {
		t = relu_like(1, (int64_t[]){n}, (unsigned)n, n % 2 == 0);
		roundtrip4(t, ADCNN_ENC_LOSSLESS_RANS);
		adcnn_tensor_free(t);
	}
	t = relu_like(4, (int64_t[]){1, 12, 5, 7}, 3, true);
	roundtrip4(t, ADCNN_ENC_LOSSLESS_RANS);
	adcnn_tensor_free(t);
	/* every exponent, 8-bit codes; and one exponent only */
	t = adcnn_tensor_new(2, (int64_t[]){16, 64});
	for (size_t i = 0; i < t->n; i++)
		t->d.f[i] = f_of((uint32_t)(i % 256) << 23 | (uint32_t)(i * 40503u) % 0x7fffff | (i % 3 == 0 ? 0x80000000u : 0));
	roundtrip4(t, ADCNN_ENC_LOSSLESS_RANS);
	for (size_t i = 0; i < t->n; i++)
		t->d.f[i] = 1.0f + (float)i / 2048.0f;
	roundtrip4(t, ADCNN_ENC_LOSSLESS_RANS);
	adcnn_tensor_free(t);
	/* rank 0; an empty tensor; 2^21 zeros, too few bytes for the exponents' coder to be
	 * read back (a reader takes at most 32768 values a byte): byte planes (encoding 2) */
	s = adcnn_tensor_new(0, NULL);
	s->d.f[0] = f_of(0x80000001);
	roundtrip4(s, ADCNN_ENC_LOSSLESS_RANS);
	adcnn_tensor_free(s);
	s = adcnn_tensor_new(2, (int64_t[]){0, 7});
	roundtrip4(s, ADCNN_ENC_LOSSLESS_RANS);
	adcnn_tensor_free(s);
	s = adcnn_tensor_new(4, (int64_t[]){1, 32, 256, 256});
	roundtrip4(s, ADCNN_ENC_LOSSLESS);
	/* a value in 7 not zero: exponents to code */
	for (size_t i = 0; i < s->n; i += 7)
		s->d.f[i] = 1.0f + (float)i / (float)s->n;
	roundtrip4(s, ADCNN_ENC_LOSSLESS_RANS);
	adcnn_tensor_free(s);
	/* exponents over 9 octaves and a few far below: the 16 codes that hold the most, the few
	 * outside them exceptions (one value in 256 at most: 16 of 4096; 17 are too many) */
	for (int few = 16; few <= 17; few++) {
		uint8_t *b;
		size_t len, hl = 8 + 4 * 4;
		t = relu_like(4, (int64_t[]){1, 4, 32, 32}, 11, false);
		for (int k = 0; k < few; k++)
			t->d.f[(size_t)k * 241 + 5] = f_of((uint32_t)(60 + k) << 23 | 0x1234u * (uint32_t)k);
		roundtrip4(t, ADCNN_ENC_LOSSLESS_RANS);
		assert_int_equal(adcnn_tensor_encode(ctx, t, ADCNN_ENC_LOSSLESS_RANS, 3, &b, &len), ADCNN_OK);
		if (few == 16) {
			assert_int_equal(b[hl + 1], 4);
			assert_int_equal(adcnn_le32dec(b + hl + 4), 16);
		} else {
			assert_true(b[hl + 1] > 4);
			assert_int_equal(adcnn_le32dec(b + hl + 4), 0);
		}
		free(b);
		adcnn_tensor_free(t);
	}
	/* smaller than the byte planes with zstd -19 on ReLU-like values, and under 0.6 of the
	 * floats (a third are zeros, the exponents span 9 octaves) */
	{
		uint8_t *b;
		size_t l4, l2;
		t = relu_like(4, (int64_t[]){1, 16, 64, 64}, 7, false);
		l4 = roundtrip4(t, ADCNN_ENC_LOSSLESS_RANS);
		assert_int_equal(adcnn_tensor_encode(ctx, t, ADCNN_ENC_LOSSLESS, 19, &b, &l2), ADCNN_OK);
		if (!(l4 < l2 && l4 < 4 * t->n * 6 / 10))
			fail_msg("encoding 4: %zu bytes, encoding 2 at zstd -19 %zu, float32 %zu", l4, l2, 4 * t->n);
		free(b);
		adcnn_tensor_free(t);
	}
}

/* every cut and every byte changed of an encoding-4 member: refused, or decoded without harm
 * (ASan and valgrind watch); and each check of the payload by name */
static void test_decode_exponents_corrupt(void **state)
{
	struct adcnn_tensor *t = relu_like(3, (int64_t[]){3, 4, 9}, 5, true), *r;
	uint8_t *pk, *b;
	size_t len, hl = 8 + 4 * 3, ne, L;
	(void)state;

	assert_int_equal(adcnn_tensor_encode(ctx, t, ADCNN_ENC_LOSSLESS_RANS, 3, &pk, &len), ADCNN_OK);
	assert_int_equal(pk[5], ADCNN_ENC_LOSSLESS_RANS);
	ne = adcnn_le32dec(pk + hl + 4);
	L = adcnn_le32dec(pk + hl + 8);
	assert_true(ne >= 2); /* the mix has exceptions: -0.0 and denormals */
	b = malloc(len + 1);
	expect_cuts_refused(pk, len, hl, b, "corrupt lossless tensor");
	for (size_t i = hl; i < len; i++)
		for (int bit = 0; bit < 8; bit += 3) {
			memcpy(b, pk, len);
			b[i] ^= (uint8_t)(1 << bit);
			if (adcnn_tensor_decode(ctx, b, len, &r, NULL) == ADCNN_OK)
				adcnn_tensor_free(r);
		}
	/* by name: m 0; a width of 0 and of 9; the zero point's code beyond the width; a base
	 * whose codes pass 255; the reserved byte; more exceptions than values; a stream longer
	 * than the member; raw bytes not whole values; exceptions out of order; an exception at
	 * a value with an exponent */
	static const struct {
		size_t at;
		uint8_t v;
	} bad[] = {{0, 0}, {1, 0}, {1, 9}, {2, 0}, {3, 1}};
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		memcpy(b, pk, len);
		b[hl + bad[k].at] = bad[k].v;
		if (bad[k].at == 2)
			b[hl + 1] = 1, b[hl + 2] = 0, b[hl] = 200; /* m - 1 = 199 from base 0 in 1 bit */
		expect_decode_error(b, len, ADCNN_ERR_FORMAT, "corrupt lossless tensor");
	}
	memcpy(b, pk, len);
	b[hl + 1] = 8;
	b[hl + 2] = 1; /* 1 + 255 > 255 */
	expect_decode_error(b, len, ADCNN_ERR_FORMAT, "corrupt lossless tensor");
	memcpy(b, pk, len);
	adcnn_le32enc(b + hl + 4, 200);
	expect_decode_error(b, len, ADCNN_ERR_FORMAT, "corrupt lossless tensor");
	memcpy(b, pk, len);
	adcnn_le32enc(b + hl + 8, (uint32_t)len);
	expect_decode_error(b, len, ADCNN_ERR_FORMAT, "corrupt lossless tensor");
	memcpy(b, pk, len);
	expect_decode_error(b, len - 1, ADCNN_ERR_FORMAT, "corrupt lossless tensor");
	memcpy(b, pk, len);
	{
		uint32_t e0 = adcnn_le32dec(pk + hl + 12), e1 = adcnn_le32dec(pk + hl + 16);
		adcnn_le32enc(b + hl + 12, e1);
		adcnn_le32enc(b + hl + 16, e0);
		expect_decode_error(b, len, ADCNN_ERR_FORMAT, "corrupt lossless tensor");
	}
	memcpy(b, pk, len);
	for (size_t i = 0; i < t->n; i++) {
		uint32_t u = u_of(t->d.f[i]);
		if (u >> 23 & 255) {
			adcnn_le32enc(b + hl + 12, (uint32_t)i);
			break;
		}
	}
	expect_decode_error(b, len, ADCNN_ERR_FORMAT, "corrupt lossless tensor");
	(void)L;
	free(b);
	free(pk);
	adcnn_tensor_free(t);
}

/* A header that claims 2^31 values: refused before 8 GiB are allocated. */
static void test_decode_huge_claim(void **state)
{
	uint8_t b[8 + 8 + 4 * (4 + 9) + 64];
	size_t o;
	(void)state;

	memset(b, 0, sizeof(b));
	memcpy(b, "ADCT\x01\x01\x02\x00", 8);
	adcnn_le32enc(b + 8, 32768);
	adcnn_le32enc(b + 12, 65536);
	limit_memory();
	/* raw float32 with a 64-byte payload */
	expect_decode_error(b, 16 + 64, ADCNN_ERR_FORMAT, NULL);
	/* lossless, four frames that each claim 2^31 bytes */
	b[5] = ADCNN_ENC_LOSSLESS;
	o = 16;
	for (int k = 0; k < 4; k++) {
		adcnn_le32enc(b + o, 9);
		memcpy(b + o + 4, "\x28\xb5\x2f\xfd\xa0\x00\x00\x00\x80", 9);
		o += 13;
	}
	expect_decode_error(b, o, ADCNN_ERR_FORMAT, NULL);
	/* and dimensions beyond the limit */
	adcnn_le32enc(b + 8, 65536);
	expect_decode_error(b, o, ADCNN_ERR_FORMAT, "too large");
	b[5] = ADCNN_ENC_F32;
	expect_decode_error(b, o, ADCNN_ERR_FORMAT, "too large");
	unlimit_memory();
}

/* The same claim with a payload of 64 KiB + 1: more than n / 32768 bytes, but its first three
 * frames are 9 bytes long, far too short to hold 2^31 bytes each. The decoder must refuse it
 * before allocating (the comment in pack.c says so); under the 1 GiB limit an attempt to
 * allocate shows up as ADCNN_ERR_NOMEM. */
static void test_decode_huge_claim_64k(void **state)
{
	size_t payload = 65537, len = 16 + payload, o = 16;
	uint8_t *b = calloc(1, len);
	(void)state;

	memcpy(b, "ADCT\x01\x02\x02\x00", 8);
	adcnn_le32enc(b + 8, 32768);
	adcnn_le32enc(b + 12, 65536);
	for (int k = 0; k < 4; k++) {
		size_t z = k < 3 ? 9 : len - o - 4;
		adcnn_le32enc(b + o, (uint32_t)z);
		memcpy(b + o + 4, "\x28\xb5\x2f\xfd\xa0\x00\x00\x00\x80", 9);
		o += 4 + z;
	}
	assert_int_equal(o, len);
	limit_memory();
	expect_decode_error(b, len, ADCNN_ERR_FORMAT, NULL);
	unlimit_memory();
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dims_count),
		cmocka_unit_test(test_shape_str),
		cmocka_unit_test(test_tensor_new),
		cmocka_unit_test(test_pool),
		cmocka_unit_test(test_tensor_clone),
		cmocka_unit_test(test_npy_roundtrip),
		cmocka_unit_test(test_npy_byte_order),
		cmocka_unit_test(test_npy_numpy_file),
		cmocka_unit_test(test_npy_write_error),
		cmocka_unit_test(test_npy_refusals),
		cmocka_unit_test(test_encode_f32_layout),
		cmocka_unit_test(test_encode_roundtrip),
		cmocka_unit_test(test_encode_refusals),
		cmocka_unit_test(test_decode_refusals),
		cmocka_unit_test(test_decode_lossless_corrupt),
		cmocka_unit_test(test_encode_exponents),
		cmocka_unit_test(test_decode_exponents_corrupt),
		cmocka_unit_test(test_decode_huge_claim),
		cmocka_unit_test(test_decode_huge_claim_64k),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
