/* test_ops: the operators (ops.c) and the convolution (conv.c) on small tensors whose results
 * were worked out by hand, and the halo geometry: a window op run on a crop of its input gives
 * the same rows as on the whole input. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "config.h"
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

/* ---- helpers ---- */

static struct adcnn_tensor *tf(int rank, const int64_t *dims, const float *v)
{
	struct adcnn_tensor *t = adcnn_tensor_new(rank, dims);

	assert_non_null(t);
	if (v != NULL)
		memcpy(t->d.f, v, sizeof(float) * t->n);
	return t;
}

static struct adcnn_tensor *ti(int rank, const int64_t *dims, const int64_t *v)
{
	struct adcnn_tensor *t = adcnn_tensor_new_typed(ADCNN_I64, rank, dims);

	assert_non_null(t);
	memcpy(t->d.i, v, sizeof(int64_t) * t->n);
	return t;
}

/* 0, 1, 2, ... */
static struct adcnn_tensor *iota(int rank, const int64_t *dims, float start)
{
	struct adcnn_tensor *t = tf(rank, dims, NULL);

	for (size_t i = 0; i < t->n; i++)
		t->d.f[i] = start + (float)i;
	return t;
}

/* small integers, so that every sum is exact in float32 whatever the order */
static struct adcnn_tensor *ints(int rank, const int64_t *dims, unsigned seed, int lo, int hi)
{
	struct adcnn_tensor *t = tf(rank, dims, NULL);
	uint32_t s = seed * 2654435761u + 12345;

	for (size_t i = 0; i < t->n; i++) {
		s = s * 1103515245u + 12345u;
		t->d.f[i] = (float)(lo + (int)((s >> 16) % (uint32_t)(hi - lo + 1)));
	}
	return t;
}

static struct adcnn_node node(enum adcnn_op op, int nin)
{
	struct adcnn_node n;

	memset(&n, 0, sizeof(n));
	n.name = "n";
	n.op = op;
	n.nin = nin;
	n.nout = 1;
	n.stride[0] = n.stride[1] = 1;
	n.dil[0] = n.dil[1] = 1;
	n.group = 1;
	return n;
}

static void window(struct adcnn_node *n, int kh, int kw, int s, int pt, int pl, int pb, int pr)
{
	n->kernel[0] = kh;
	n->kernel[1] = kw;
	n->stride[0] = n->stride[1] = s;
	n->pad[0] = pt;
	n->pad[1] = pl;
	n->pad[2] = pb;
	n->pad[3] = pr;
}

static void expect_shape(const struct adcnn_tensor *t, int rank, const int64_t *dims)
{
	assert_non_null(t);
	assert_int_equal(t->rank, rank);
	for (int i = 0; i < rank; i++)
		if (t->dims[i] != dims[i])
			fail_msg("dimension %d is %lld, expected %lld", i, (long long)t->dims[i], (long long)dims[i]);
}

static void expect_values(const struct adcnn_tensor *t, const float *want, size_t n, double eps)
{
	assert_int_equal(t->dtype, ADCNN_F32);
	assert_int_equal(t->n, n);
	for (size_t i = 0; i < n; i++)
		if (!(fabs((double)t->d.f[i] - (double)want[i]) <= eps))
			fail_msg("value %zu is %.9g, expected %.9g", i, t->d.f[i], want[i]);
}

/* run one op on inputs, expect OK, return its output */
static struct adcnn_tensor *run(const struct adcnn_node *n, struct adcnn_tensor **in)
{
	struct adcnn_tensor *out[8] = {0};
	enum adcnn_status st = adcnn_op_run(ctx, n, in, out, NULL);

	if (st != ADCNN_OK)
		fail_msg("%s: %s", adcnn_op_name(n->op), adcnn_ctx_error(ctx));
	return out[0];
}

static enum adcnn_status run_st(const struct adcnn_node *n, struct adcnn_tensor **in)
{
	struct adcnn_tensor *out[8] = {0};
	enum adcnn_status st = adcnn_op_run(ctx, n, in, out, NULL);

	if (st != ADCNN_OK)
		assert_null(out[0]);
	adcnn_tensor_free(out[0]);
	return st;
}

static struct adcnn_tensor *conv(const struct adcnn_node *n, const struct adcnn_tensor *x,
                                 const struct adcnn_tensor *w, const struct adcnn_tensor *b)
{
	struct adcnn_tensor *y = NULL;
	enum adcnn_status st = adcnn_conv_run(ctx, n, x, w, b, &y, NULL);

	if (st != ADCNN_OK)
		fail_msg("conv: %s", adcnn_ctx_error(ctx));
	return y;
}

/* a plain reference convolution with explicit pads */
static struct adcnn_tensor *ref_conv(const struct adcnn_node *n, const struct adcnn_tensor *x,
                                     const struct adcnn_tensor *w, const struct adcnn_tensor *b)
{
	int N = (int)x->dims[0], C = (int)x->dims[1], H = (int)x->dims[2], W = (int)x->dims[3];
	int M = (int)w->dims[0], Cg = (int)w->dims[1], kh = (int)w->dims[2], kw = (int)w->dims[3];
	int G = n->group, Mg = M / G;
	int sh = n->stride[0], sw = n->stride[1], dh = n->dil[0], dw = n->dil[1];
	int oh = (H + n->pad[0] + n->pad[2] - ((kh - 1) * dh + 1)) / sh + 1;
	int ow = (W + n->pad[1] + n->pad[3] - ((kw - 1) * dw + 1)) / sw + 1;
	struct adcnn_tensor *y = tf(4, (int64_t[]){N, M, oh, ow}, NULL);

	assert_int_equal(C, Cg * G);
	for (int bn = 0; bn < N; bn++)
		for (int m = 0; m < M; m++)
			for (int oy = 0; oy < oh; oy++)
				for (int ox = 0; ox < ow; ox++) {
					double acc = b ? b->d.f[m] : 0.0;
					int g = m / Mg;
					for (int c = 0; c < Cg; c++)
						for (int i = 0; i < kh; i++)
							for (int j = 0; j < kw; j++) {
								int iy = oy * sh - n->pad[0] + i * dh, ix = ox * sw - n->pad[1] + j * dw;
								if (iy < 0 || iy >= H || ix < 0 || ix >= W)
									continue;
								acc += (double)w->d.f[((m * Cg + c) * kh + i) * kw + j] *
								       x->d.f[(((size_t)bn * C + (size_t)(g * Cg + c)) * H + iy) * W + ix];
							}
					y->d.f[(((size_t)bn * M + m) * oh + oy) * ow + ox] = (float)acc;
				}
	return y;
}

static void expect_same(const struct adcnn_tensor *a, const struct adcnn_tensor *b)
{
	assert_true(adcnn_tensor_same_shape(a, b));
	for (size_t i = 0; i < a->n; i++)
		if (a->d.f[i] != b->d.f[i])
			fail_msg("value %zu is %.9g, expected %.9g", i, a->d.f[i], b->d.f[i]);
}

/* ---- Conv ---- */

static void test_conv_pad_stride(void **state)
{
	struct adcnn_tensor *x = iota(4, (int64_t[]){1, 1, 3, 3}, 1);
	struct adcnn_tensor *w = tf(4, (int64_t[]){1, 1, 3, 3}, (float[]){1, 1, 1, 1, 1, 1, 1, 1, 1});
	struct adcnn_tensor *b = tf(1, (int64_t[]){1}, (float[]){1});
	struct adcnn_node n = node(OP_CONV, 3);
	struct adcnn_tensor *y, *in[3] = {x, w, b};
	(void)state;

	/* 3x3 sums of neighbourhoods of 1..9, plus one */
	window(&n, 3, 3, 1, 1, 1, 1, 1);
	y = run(&n, in);
	expect_shape(y, 4, (int64_t[]){1, 1, 3, 3});
	expect_values(y, (float[]){13, 22, 17, 28, 46, 34, 25, 40, 29}, 9, 0);
	adcnn_tensor_free(y);
	/* stride 2: the corners */
	n.stride[0] = n.stride[1] = 2;
	y = run(&n, in);
	expect_shape(y, 4, (int64_t[]){1, 1, 2, 2});
	expect_values(y, (float[]){13, 17, 25, 29}, 4, 0);
	adcnn_tensor_free(y);
	/* no bias, no padding */
	n.nin = 2;
	window(&n, 3, 3, 1, 0, 0, 0, 0);
	y = run(&n, in);
	expect_shape(y, 4, (int64_t[]){1, 1, 1, 1});
	expect_values(y, (float[]){45}, 1, 0);
	adcnn_tensor_free(y);

	/* two output channels, two input channels, a batch of two against the reference */
	{
		struct adcnn_tensor *x2 = ints(4, (int64_t[]){2, 2, 5, 6}, 1, -3, 3);
		struct adcnn_tensor *w2 = ints(4, (int64_t[]){3, 2, 3, 3}, 2, -2, 2);
		struct adcnn_tensor *b2 = ints(1, (int64_t[]){3}, 3, -5, 5), *r;
		struct adcnn_node n2 = node(OP_CONV, 3);
		window(&n2, 3, 3, 2, 1, 1, 1, 1);
		y = conv(&n2, x2, w2, b2);
		r = ref_conv(&n2, x2, w2, b2);
		expect_shape(y, 4, (int64_t[]){2, 3, 3, 3});
		expect_same(y, r);
		adcnn_tensor_free(y);
		adcnn_tensor_free(r);
		adcnn_tensor_free(x2);
		adcnn_tensor_free(w2);
		adcnn_tensor_free(b2);
	}
	adcnn_tensor_free(x);
	adcnn_tensor_free(w);
	adcnn_tensor_free(b);
}

static void test_conv_groups(void **state)
{
	struct adcnn_tensor *x = tf(4, (int64_t[]){1, 4, 2, 2},
	                            (float[]){1, 2, 3, 4, 5, 6, 7, 8, 1, 0, -1, 0, 2, 2, 2, 2});
	struct adcnn_tensor *w = tf(4, (int64_t[]){2, 2, 1, 1}, (float[]){2, 1, 3, -1});
	struct adcnn_tensor *b = tf(1, (int64_t[]){2}, (float[]){0, 0.5f});
	struct adcnn_node n = node(OP_CONV, 3);
	struct adcnn_tensor *y, *x3;
	(void)state;

	/* channel 0 = 2 x0 + x1, channel 1 = 3 x2 - x3 + 0.5 */
	window(&n, 1, 1, 1, 0, 0, 0, 0);
	n.group = 2;
	y = conv(&n, x, w, b);
	expect_shape(y, 4, (int64_t[]){1, 2, 2, 2});
	expect_values(y, (float[]){7, 10, 13, 16, 1.5f, -1.5f, -4.5f, -1.5f}, 8, 0);
	adcnn_tensor_free(y);

	/* three channels cannot feed weights of 2 channels x 2 groups */
	x3 = tf(4, (int64_t[]){1, 3, 2, 2}, NULL);
	assert_int_equal(adcnn_conv_run(ctx, &n, x3, w, b, &y, NULL), ADCNN_ERR_MISMATCH);
	adcnn_tensor_free(x3);
	/* a bias of the wrong length */
	{
		struct adcnn_tensor *b3 = tf(1, (int64_t[]){3}, NULL);
		assert_int_equal(adcnn_conv_run(ctx, &n, x, w, b3, &y, NULL), ADCNN_ERR_FORMAT);
		adcnn_tensor_free(b3);
	}
	adcnn_tensor_free(x);
	adcnn_tensor_free(w);
	adcnn_tensor_free(b);

	/* 3x3, two groups of two output channels each, against the reference */
	x = ints(4, (int64_t[]){1, 4, 6, 5}, 4, -3, 3);
	w = ints(4, (int64_t[]){4, 2, 3, 3}, 5, -2, 2);
	b = ints(1, (int64_t[]){4}, 6, -4, 4);
	{
		struct adcnn_tensor *r;
		window(&n, 3, 3, 1, 1, 1, 1, 1);
		n.group = 2;
		y = conv(&n, x, w, b);
		r = ref_conv(&n, x, w, b);
		expect_same(y, r);
		adcnn_tensor_free(y);
		adcnn_tensor_free(r);
	}
	adcnn_tensor_free(x);
	adcnn_tensor_free(w);
	adcnn_tensor_free(b);
}

static void test_conv_depthwise(void **state)
{
	struct adcnn_tensor *x = tf(4, (int64_t[]){1, 2, 3, 3},
	                            (float[]){1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 1, 1, 1, 1, 1, 1, 1, 1});
	struct adcnn_tensor *w = tf(4, (int64_t[]){2, 1, 2, 2}, (float[]){1, 0, 0, -1, 1, 1, 1, 1});
	struct adcnn_tensor *b = tf(1, (int64_t[]){2}, (float[]){0.5f, -1});
	struct adcnn_node n = node(OP_CONV, 3);
	struct adcnn_tensor *y, *r;
	(void)state;

	/* channel 0: x[i][j] - x[i+1][j+1] + 0.5; channel 1: 4 ones - 1 */
	window(&n, 2, 2, 1, 0, 0, 0, 0);
	n.group = 2;
	y = conv(&n, x, w, b);
	expect_shape(y, 4, (int64_t[]){1, 2, 2, 2});
	expect_values(y, (float[]){-3.5f, -3.5f, -3.5f, -3.5f, 3, 3, 3, 3}, 8, 0);
	adcnn_tensor_free(y);
	/* with padding: the border windows see fewer ones */
	window(&n, 2, 2, 1, 1, 1, 0, 0);
	y = conv(&n, x, w, b);
	expect_shape(y, 4, (int64_t[]){1, 2, 3, 3});
	expect_values(y, (float[]){-0.5f, -1.5f, -2.5f, -3.5f, -3.5f, -3.5f, -6.5f, -3.5f, -3.5f,
	                           0, 1, 1, 1, 3, 3, 1, 3, 3}, 18, 0);
	adcnn_tensor_free(y);
	adcnn_tensor_free(x);
	adcnn_tensor_free(w);
	adcnn_tensor_free(b);

	/* 3x3 stride 2 on 5 channels against the reference */
	x = ints(4, (int64_t[]){2, 5, 7, 6}, 7, -3, 3);
	w = ints(4, (int64_t[]){5, 1, 3, 3}, 8, -2, 2);
	b = ints(1, (int64_t[]){5}, 9, -3, 3);
	n = node(OP_CONV, 3);
	window(&n, 3, 3, 2, 1, 1, 1, 1);
	n.group = 5;
	y = conv(&n, x, w, b);
	r = ref_conv(&n, x, w, b);
	expect_shape(y, 4, (int64_t[]){2, 5, 4, 3});
	expect_same(y, r);
	adcnn_tensor_free(y);
	adcnn_tensor_free(r);
	adcnn_tensor_free(x);
	adcnn_tensor_free(w);
	adcnn_tensor_free(b);
}

static void test_conv_dilation(void **state)
{
	struct adcnn_tensor *x = iota(4, (int64_t[]){1, 1, 4, 4}, 0);
	struct adcnn_tensor *w = tf(4, (int64_t[]){1, 1, 2, 2}, (float[]){1, 1, 1, 1});
	struct adcnn_tensor *y, *r;
	struct adcnn_node n = node(OP_CONV, 2);
	(void)state;

	/* x[i][j] + x[i][j+2] + x[i+2][j] + x[i+2][j+2] */
	window(&n, 2, 2, 1, 0, 0, 0, 0);
	n.dil[0] = n.dil[1] = 2;
	y = conv(&n, x, w, NULL);
	expect_shape(y, 4, (int64_t[]){1, 1, 2, 2});
	expect_values(y, (float[]){20, 24, 36, 40}, 4, 0);
	adcnn_tensor_free(y);
	adcnn_tensor_free(x);
	adcnn_tensor_free(w);

	/* dilation 2 and 3 with padding, several channels, against the reference */
	x = ints(4, (int64_t[]){1, 3, 9, 8}, 10, -3, 3);
	w = ints(4, (int64_t[]){2, 3, 3, 3}, 11, -2, 2);
	n = node(OP_CONV, 2);
	window(&n, 3, 3, 1, 2, 3, 2, 3);
	n.dil[0] = 2;
	n.dil[1] = 3;
	y = conv(&n, x, w, NULL);
	r = ref_conv(&n, x, w, NULL);
	expect_shape(y, 4, (int64_t[]){1, 2, 9, 8});
	expect_same(y, r);
	adcnn_tensor_free(y);
	/* the same on the panel GEMM (its input read through the dilated taps), one and two
	 * threads */
	adcnn_conv_algo_set(3);
	double min_was = adcnn_threads_min_set(0.0);
	for (int t = 1; t <= 2; t++) {
		adcnn_threads_set(t);
		y = conv(&n, x, w, NULL);
		expect_same(y, r);
		adcnn_tensor_free(y);
	}
	adcnn_threads_set(1);
	adcnn_threads_min_set(min_was);
	adcnn_conv_algo_set(0);
	adcnn_tensor_free(r);
	adcnn_tensor_free(x);
	adcnn_tensor_free(w);
}

static void test_conv_asymmetric_pads(void **state)
{
	struct adcnn_tensor *x = iota(4, (int64_t[]){1, 1, 3, 3}, 1);
	struct adcnn_tensor *w = tf(4, (int64_t[]){1, 1, 2, 2}, (float[]){1, 1, 1, 1});
	struct adcnn_tensor *y, *r;
	struct adcnn_node n = node(OP_CONV, 2);
	(void)state;

	/* pads top 1, left 0, bottom 0, right 1 */
	window(&n, 2, 2, 1, 1, 0, 0, 1);
	y = conv(&n, x, w, NULL);
	expect_shape(y, 4, (int64_t[]){1, 1, 3, 3});
	expect_values(y, (float[]){3, 5, 3, 12, 16, 9, 24, 28, 15}, 9, 0);
	adcnn_tensor_free(y);
	adcnn_tensor_free(x);
	adcnn_tensor_free(w);

	x = ints(4, (int64_t[]){1, 2, 7, 9}, 12, -3, 3);
	w = ints(4, (int64_t[]){3, 2, 3, 2}, 13, -2, 2);
	n = node(OP_CONV, 2);
	window(&n, 3, 2, 2, 0, 2, 1, 0);
	n.stride[1] = 3;
	y = conv(&n, x, w, NULL);
	r = ref_conv(&n, x, w, NULL);
	expect_shape(y, 4, (int64_t[]){1, 3, 3, 4});
	expect_same(y, r);
	adcnn_tensor_free(y);
	adcnn_tensor_free(r);
	adcnn_tensor_free(x);
	adcnn_tensor_free(w);
}

static void test_conv_auto_pad(void **state)
{
	struct adcnn_tensor *x = iota(4, (int64_t[]){1, 1, 4, 4}, 0);
	struct adcnn_tensor *w = tf(4, (int64_t[]){1, 1, 2, 2}, (float[]){1, 1, 1, 1});
	struct adcnn_tensor *y;
	struct adcnn_node n = node(OP_CONV, 2);
	int pb, pe;
	(void)state;

	/* SAME_UPPER: the one row and column of padding go at the end */
	window(&n, 2, 2, 1, 0, 0, 0, 0);
	n.auto_pad = 1;
	y = conv(&n, x, w, NULL);
	expect_shape(y, 4, (int64_t[]){1, 1, 4, 4});
	expect_values(y, (float[]){10, 14, 18, 10, 26, 30, 34, 18, 42, 46, 50, 26, 25, 27, 29, 15}, 16, 0);
	adcnn_tensor_free(y);
	/* SAME_LOWER: at the beginning */
	n.auto_pad = 2;
	y = conv(&n, x, w, NULL);
	expect_shape(y, 4, (int64_t[]){1, 1, 4, 4});
	expect_values(y, (float[]){0, 1, 3, 5, 4, 10, 14, 18, 12, 26, 30, 34, 20, 42, 46, 50}, 16, 0);
	adcnn_tensor_free(y);
	/* VALID: none, whatever pads say */
	n.auto_pad = 3;
	n.pad[0] = n.pad[2] = 5;
	y = conv(&n, x, w, NULL);
	expect_shape(y, 4, (int64_t[]){1, 1, 3, 3});
	expect_values(y, (float[]){10, 14, 18, 26, 30, 34, 42, 46, 50}, 9, 0);
	adcnn_tensor_free(y);

	/* the geometry: output ceil(in / stride), the odd pad at the end (UPPER) or start (LOWER) */
	window(&n, 3, 3, 2, 0, 0, 0, 0);
	n.auto_pad = 1;
	assert_int_equal(adcnn_window_out(&n, 0, 5, &pb, &pe), 3);
	assert_int_equal(pb, 1);
	assert_int_equal(pe, 1);
	assert_int_equal(adcnn_window_out(&n, 0, 6, &pb, &pe), 3);
	assert_int_equal(pb, 0);
	assert_int_equal(pe, 1);
	assert_int_equal(adcnn_window_out(&n, 1, 7, &pb, &pe), 4);
	assert_int_equal(pb, 1);
	assert_int_equal(pe, 1);
	n.auto_pad = 2;
	assert_int_equal(adcnn_window_out(&n, 0, 6, &pb, &pe), 3);
	assert_int_equal(pb, 1);
	assert_int_equal(pe, 0);
	/* SAME_UPPER with stride 2 on 6x6, against explicit pads 0 0 1 1 */
	{
		struct adcnn_tensor *x6 = ints(4, (int64_t[]){1, 2, 6, 6}, 14, -3, 3);
		struct adcnn_tensor *w6 = ints(4, (int64_t[]){2, 2, 3, 3}, 15, -2, 2), *r;
		struct adcnn_node e = node(OP_CONV, 2);
		n.auto_pad = 1;
		window(&e, 3, 3, 2, 0, 0, 1, 1);
		y = conv(&n, x6, w6, NULL);
		r = ref_conv(&e, x6, w6, NULL);
		expect_shape(y, 4, (int64_t[]){1, 2, 3, 3});
		expect_same(y, r);
		adcnn_tensor_free(y);
		adcnn_tensor_free(r);
		adcnn_tensor_free(x6);
		adcnn_tensor_free(w6);
	}
	adcnn_tensor_free(x);
	adcnn_tensor_free(w);
}

static void test_conv_refusals(void **state)
{
	struct adcnn_tensor *x = iota(4, (int64_t[]){1, 1, 2, 2}, 0);
	struct adcnn_tensor *w = tf(4, (int64_t[]){1, 1, 3, 3}, NULL);
	struct adcnn_tensor *x3 = iota(3, (int64_t[]){1, 2, 2}, 0), *y = NULL;
	struct adcnn_node n = node(OP_CONV, 2);
	(void)state;

	window(&n, 3, 3, 1, 0, 0, 0, 0);
	assert_int_equal(adcnn_conv_run(ctx, &n, x, w, NULL, &y, NULL), ADCNN_ERR_MISMATCH);
	assert_null(y);
	assert_int_equal(adcnn_conv_run(ctx, &n, x3, w, NULL, &y, NULL), ADCNN_ERR_UNSUPPORTED);
	assert_null(y);
	adcnn_tensor_free(x);
	adcnn_tensor_free(x3);
	adcnn_tensor_free(w);
}

/* ---- pools ---- */

/* Max and average pools against a plain loop over their windows: kernels 2 to 5 (the rows
 * pooled three at a time and the rest), strides 1 to 3 (2 reads even and odd columns),
 * every pad, ceil mode, the padding counted or not. The inputs are small integers, so that
 * the sums are exact in any order. */
static void test_pool_ref(void **state)
{
	static const int sizes[][2] = {{3, 3}, {7, 7}, {8, 9}, {5, 40}, {33, 18}, {4, 75}};
	char what[128];
	(void)state;

	for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++)
		for (int k = 2; k <= 5; k++)
			for (int st = 1; st <= 3; st++)
				for (int pad = 0; pad < 4; pad++)
					for (int mode = 0; mode < 6; mode++) {
						int H = sizes[si][0], W = sizes[si][1], pb = pad & 1, pe = pad >> 1;
						int ceil = mode & 1, avg = mode >> 1, cip = avg == 2;
						struct adcnn_node n = node(avg ? OP_AVGPOOL : OP_MAXPOOL, 1);
						struct adcnn_tensor *x, *y, *in[1];
						if (H + pb + pe < k || W + pb + pe < k || pb >= k || pe >= k)
							continue;
						x = ints(4, (int64_t[]){1, 3, H, W}, (unsigned)(si * 64 + (size_t)pad * 4 + (size_t)k), -50, 50);
						in[0] = x;
						window(&n, k, k, st, pb, pb, pe, pe);
						n.ceil_mode = ceil;
						n.count_include_pad = cip;
						y = run(&n, in);
						int OH = (int)y->dims[2], OW = (int)y->dims[3];
						snprintf(what, sizeof(what), "%s %dx%d, %dx%d stride %d, pads %d,%d, ceil %d, pads counted %d",
						         avg ? "avg" : "max", H, W, k, k, st, pb, pe, ceil, cip);
						for (int c = 0; c < 3; c++)
							for (int oy = 0; oy < OH; oy++)
								for (int ox = 0; ox < OW; ox++) {
									float m = 0.0f;
									int cnt = 0, padded = 0;
									for (int ky = 0; ky < k; ky++)
										for (int kx = 0; kx < k; kx++) {
											int iy = oy * st - pb + ky, ix = ox * st - pb + kx;
											padded += iy >= -pb && iy < H + pe && ix >= -pb && ix < W + pe;
											if (iy < 0 || iy >= H || ix < 0 || ix >= W)
												continue;
											float v = x->d.f[((size_t)c * H + (size_t)iy) * W + (size_t)ix];
											m = avg ? m + v : cnt == 0 || v > m ? v : m;
											cnt++;
										}
									if (avg)
										m = (cip ? padded : cnt) ? m / (float)(cip ? padded : cnt) : 0.0f;
									float got = y->d.f[((size_t)c * OH + (size_t)oy) * OW + (size_t)ox];
									if (got != m)
										fail_msg("%s: [%d][%d][%d] is %g, expected %g", what, c, oy, ox, got, m);
								}
						adcnn_tensor_free(x);
						adcnn_tensor_free(y);
					}
}

/* A tile whose output reaches past its input (as FDSP's can at a tile's edge): windows with
 * no tap inside the tile come out 0, max and average, rows and columns */
static void test_pool_empty_windows(void **state)
{
	struct adcnn_tensor *x = ints(4, (int64_t[]){1, 2, 4, 4}, 5, 1, 9), *in[1] = {x};
	/* the tile is rows and columns 0-3 of a 20x20 tensor; its outputs, 0-4 of 10 */
	struct adcnn_geom g = {0, 0, 20, 20, 0, 5, 0, 5};
	(void)state;

	for (int op = 0; op < 2; op++) {
		struct adcnn_node n = node(op ? OP_AVGPOOL : OP_MAXPOOL, 1);
		struct adcnn_tensor *out[8] = {0}, *y;
		window(&n, 2, 2, 2, 0, 0, 0, 0);
		assert_int_equal(adcnn_op_run(ctx, &n, in, out, &g), ADCNN_OK);
		y = out[0];
		expect_shape(y, 4, (int64_t[]){1, 2, 5, 5});
		for (int c = 0; c < 2; c++)
			for (int oy = 0; oy < 5; oy++)
				for (int ox = 0; ox < 5; ox++) {
					float v = y->d.f[((size_t)c * 5 + (size_t)oy) * 5 + (size_t)ox], m = 0.0f;
					if (oy < 2 && ox < 2)
						for (int k = 0; k < 4; k++) {
							float t = x->d.f[((size_t)c * 4 + (size_t)(2 * oy + k / 2)) * 4 + (size_t)(2 * ox + k % 2)];
							m = op ? m + t / 4.0f : k == 0 || t > m ? t : m;
						}
					assert_float_equal(v, m, 1e-6);
				}
		adcnn_tensor_free(y);
	}
	adcnn_tensor_free(x);
}

/* Max pools of stride 2 across (3x3 and 2x2, padded or not) on tiles of a wider tensor's
 * columns, starting at even and odd columns, their outputs some of the tensor's, reaching
 * past the tile (as FDSP's do): against a plain loop over the taps inside both the tile and
 * the tensor (0 where there are none). Rows of 75 and more: a vector's outputs a step of
 * max_row_s2 (4, 8 or 16, the machine's build), the last step overlapping, and the outputs
 * at the edges one at a time. */
static void test_maxpool_tile_columns(void **state)
{
	static const int cuts[][2] = {{0, 90}, {17, 90}, {0, 75}, {30, 87}, {1, 89}};
	const int H = 7, W = 90;
	struct adcnn_tensor *full = ints(4, (int64_t[]){1, 2, H, W}, 91, -50, 50);
	(void)state;

	for (size_t ci = 0; ci < sizeof(cuts) / sizeof(cuts[0]); ci++)
		for (int k = 2; k <= 3; k++)
			for (int pad = 0; pad <= k - 2; pad++) {
				int c0 = cuts[ci][0], c1 = cuts[ci][1], w = c1 - c0;
				int fw = (W + 2 * pad - k) / 2 + 1, fh = (H + 2 * pad - k) / 2 + 1;
				int o0 = c0 / 2 > 2 ? c0 / 2 - 2 : 0, o1 = (c1 + 1) / 2 + 2 < fw ? (c1 + 1) / 2 + 2 : fw;
				struct adcnn_geom g = {0, c0, H, W, 0, fh, o0, o1};
				struct adcnn_node n = node(OP_MAXPOOL, 1);
				struct adcnn_tensor *x = adcnn_tensor_new(4, (int64_t[]){1, 2, H, w}), *in[1] = {x}, *out[8] = {0};
				assert_non_null(x);
				for (int c = 0; c < 2; c++)
					for (int y = 0; y < H; y++)
						memcpy(x->d.f + ((size_t)c * H + (size_t)y) * (size_t)w,
						       full->d.f + ((size_t)c * H + (size_t)y) * W + (size_t)c0, sizeof(float) * (size_t)w);
				window(&n, k, k, 2, pad, pad, pad, pad);
				assert_int_equal(adcnn_op_run(ctx, &n, in, out, &g), ADCNN_OK);
				expect_shape(out[0], 4, (int64_t[]){1, 2, fh, o1 - o0});
				for (int c = 0; c < 2; c++)
					for (int oy = 0; oy < fh; oy++)
						for (int ox = o0; ox < o1; ox++) {
							float m = 0.0f;
							int cnt = 0;
							for (int ky = 0; ky < k; ky++)
								for (int kx = 0; kx < k; kx++) {
									int iy = oy * 2 - pad + ky, ix = ox * 2 - pad + kx;
									if (iy < 0 || iy >= H || ix < c0 || ix >= c1)
										continue;
									float v = full->d.f[((size_t)c * H + (size_t)iy) * W + (size_t)ix];
									m = cnt++ == 0 || v > m ? v : m;
								}
							float got = out[0]->d.f[((size_t)c * fh + (size_t)oy) * (size_t)(o1 - o0) + (size_t)(ox - o0)];
							if (got != m)
								fail_msg("%dx%d pad %d, tile columns %d-%d: [%d][%d][%d] is %g, expected %g",
								         k, k, pad, c0, c1, c, oy, ox, got, m);
						}
				adcnn_tensor_free(out[0]);
				adcnn_tensor_free(x);
			}
	adcnn_tensor_free(full);
}

static void test_maxpool(void **state)
{
	struct adcnn_tensor *x = tf(4, (int64_t[]){1, 1, 4, 4},
	                            (float[]){3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 2, 3});
	struct adcnn_node n = node(OP_MAXPOOL, 1);
	struct adcnn_tensor *y, *in[1] = {x};
	int pb, pe;
	(void)state;

	/* 3x3 stride 2 on 4x4: one window, two with ceil_mode (the second hangs over the edge) */
	window(&n, 3, 3, 2, 0, 0, 0, 0);
	y = run(&n, in);
	expect_shape(y, 4, (int64_t[]){1, 1, 1, 1});
	expect_values(y, (float[]){9}, 1, 0);
	adcnn_tensor_free(y);
	n.ceil_mode = 1;
	y = run(&n, in);
	expect_shape(y, 4, (int64_t[]){1, 1, 2, 2});
	expect_values(y, (float[]){9, 8, 9, 8}, 4, 0);
	adcnn_tensor_free(y);
	/* ceil_mode drops a last window that would start in the end padding */
	window(&n, 2, 2, 2, 1, 1, 1, 1);
	assert_int_equal(adcnn_window_out(&n, 0, 3, &pb, &pe), 2);
	assert_int_equal(adcnn_window_out(&n, 0, 4, &pb, &pe), 3);
	/* and keeps one that starts inside: 3x3 stride 2 pad 1 on 6, floor 3, ceil 4 */
	window(&n, 3, 3, 2, 1, 1, 1, 1);
	assert_int_equal(adcnn_window_out(&n, 0, 6, &pb, &pe), 4);
	assert_int_equal(pb, 1);
	assert_int_equal(pe, 1);
	n.ceil_mode = 0;
	assert_int_equal(adcnn_window_out(&n, 0, 6, &pb, &pe), 3);
	adcnn_tensor_free(x);

	/* padding is not a zero: all-negative input keeps its maximum */
	x = iota(4, (int64_t[]){1, 1, 3, 3}, -9);
	in[0] = x;
	window(&n, 3, 3, 1, 1, 1, 1, 1);
	n.ceil_mode = 0;
	y = run(&n, in);
	expect_shape(y, 4, (int64_t[]){1, 1, 3, 3});
	expect_values(y, (float[]){-5, -4, -4, -2, -1, -1, -2, -1, -1}, 9, 0);
	adcnn_tensor_free(y);
	adcnn_tensor_free(x);
}

static void test_avgpool(void **state)
{
	struct adcnn_tensor *x = iota(4, (int64_t[]){1, 1, 3, 3}, 1);
	struct adcnn_node n = node(OP_AVGPOOL, 1);
	struct adcnn_tensor *y, *in[1] = {x};
	(void)state;

	/* 3x3 stride 1 pad 1: the sums 12 21 16 / 27 45 33 / 24 39 28 ... */
	window(&n, 3, 3, 1, 1, 1, 1, 1);
	n.count_include_pad = 0; /* ... over the values inside: 4, 6 or 9 */
	y = run(&n, in);
	expect_shape(y, 4, (int64_t[]){1, 1, 3, 3});
	expect_values(y, (float[]){3, 3.5f, 4, 4.5f, 5, 5.5f, 6, 6.5f, 7}, 9, 1e-6);
	adcnn_tensor_free(y);
	n.count_include_pad = 1; /* ... always over 9 */
	y = run(&n, in);
	expect_values(y, (float[]){12.0f / 9, 21.0f / 9, 16.0f / 9, 3, 5, 33.0f / 9, 24.0f / 9, 39.0f / 9, 28.0f / 9}, 9, 1e-6);
	adcnn_tensor_free(y);
	adcnn_tensor_free(x);

	/* 2x2 stride 2 pad 1 on 3x3 with count_include_pad: corners average one value over 4 */
	x = iota(4, (int64_t[]){1, 1, 3, 3}, 1);
	in[0] = x;
	window(&n, 2, 2, 2, 1, 1, 1, 1);
	y = run(&n, in);
	expect_shape(y, 4, (int64_t[]){1, 1, 2, 2});
	expect_values(y, (float[]){0.25f, 1.25f, 2.75f, 7}, 4, 1e-6);
	adcnn_tensor_free(y);
	n.count_include_pad = 0;
	y = run(&n, in);
	expect_values(y, (float[]){1, 2.5f, 5.5f, 7}, 4, 1e-6);
	adcnn_tensor_free(y);
	adcnn_tensor_free(x);

	/* ceil_mode: the overhanging windows average what they cover */
	x = iota(4, (int64_t[]){1, 1, 4, 4}, 0);
	in[0] = x;
	window(&n, 3, 3, 2, 0, 0, 0, 0);
	n.ceil_mode = 1;
	for (int cip = 0; cip < 2; cip++) {
		n.count_include_pad = cip;
		y = run(&n, in);
		expect_shape(y, 4, (int64_t[]){1, 1, 2, 2});
		expect_values(y, (float[]){5, 6.5f, 11, 12.5f}, 4, 1e-6);
		adcnn_tensor_free(y);
	}
	adcnn_tensor_free(x);

	/* GlobalAveragePool */
	x = iota(4, (int64_t[]){1, 2, 2, 3}, 0);
	in[0] = x;
	n = node(OP_GAP, 1);
	y = run(&n, in);
	expect_shape(y, 4, (int64_t[]){1, 2, 1, 1});
	expect_values(y, (float[]){2.5f, 8.5f}, 2, 1e-6);
	adcnn_tensor_free(y);
	adcnn_tensor_free(x);

	/* planes of 1 to 72 values: the vector steps of sixteen and the tail; integers, so the
	 * sums are exact and the means are the reference's rounded once */
	for (int64_t h = 1; h <= 9; h += 2)
		for (int64_t w = 1; w <= 8; w += 7) {
			int64_t dims[4] = {1, 3, h, w};
			float want[3];
			x = ints(4, dims, (unsigned)(h * 10 + w), -50, 900);
			in[0] = x;
			for (int p = 0; p < 3; p++) {
				double acc = 0.0;
				for (int64_t i = 0; i < h * w; i++)
					acc += x->d.f[p * h * w + i];
				want[p] = (float)(acc / (double)(h * w));
			}
			y = run(&n, in);
			expect_shape(y, 4, (int64_t[]){1, 3, 1, 1});
			expect_values(y, want, 3, 0.0);
			adcnn_tensor_free(y);
			adcnn_tensor_free(x);
		}
}

/* ---- elementwise ---- */

static void test_activations(void **state)
{
	static const float xs[] = {-4, -3, -2, -1, -0.5f, 0, 0.5f, 1, 2, 3, 4};
	struct adcnn_tensor *x = tf(2, (int64_t[]){1, 11}, xs);
	struct adcnn_tensor *y, *in[1] = {x};
	struct adcnn_node n;
	(void)state;

	n = node(OP_RELU, 1);
	y = run(&n, in);
	expect_shape(y, 2, (int64_t[]){1, 11});
	expect_values(y, (float[]){0, 0, 0, 0, 0, 0, 0.5f, 1, 2, 3, 4}, 11, 0);
	adcnn_tensor_free(y);

	n = node(OP_LEAKYRELU, 1);
	n.alpha = 0.1f;
	y = run(&n, in);
	expect_values(y, (float[]){-0.4f, -0.3f, -0.2f, -0.1f, -0.05f, 0, 0.5f, 1, 2, 3, 4}, 11, 1e-7);
	adcnn_tensor_free(y);

	n = node(OP_CLIP, 1);
	n.fmin = -1;
	n.fmax = 2.5f;
	y = run(&n, in);
	expect_values(y, (float[]){-1, -1, -1, -1, -0.5f, 0, 0.5f, 1, 2, 2.5f, 2.5f}, 11, 0);
	adcnn_tensor_free(y);

	n = node(OP_SIGMOID, 1);
	y = run(&n, in);
	expect_values(y, (float[]){0.0179862100f, 0.0474258732f, 0.119202922f, 0.268941421f, 0.377540669f, 0.5f,
	                           0.622459331f, 0.731058579f, 0.880797078f, 0.952574127f, 0.982013790f}, 11, 1e-6);
	adcnn_tensor_free(y);

	/* max(0, min(1, alpha x + beta)) */
	n = node(OP_HARDSIGMOID, 1);
	n.alpha = 0.2f;
	n.beta = 0.5f;
	y = run(&n, in);
	expect_values(y, (float[]){0, 0, 0.1f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f, 0.9f, 1, 1}, 11, 1e-6);
	adcnn_tensor_free(y);

	/* x max(0, min(1, x / 6 + 1/2)) */
	n = node(OP_HARDSWISH, 1);
	y = run(&n, in);
	expect_values(y, (float[]){0, 0, -1.0f / 3, -1.0f / 3, -5.0f / 24, 0, 7.0f / 24, 2.0f / 3, 5.0f / 3, 3, 4}, 11, 1e-6);
	adcnn_tensor_free(y);

	/* Identity copies; int64 input to Relu is refused */
	n = node(OP_IDENTITY, 1);
	y = run(&n, in);
	assert_ptr_not_equal(y->d.p, x->d.p);
	expect_values(y, xs, 11, 0);
	adcnn_tensor_free(y);
	{
		struct adcnn_tensor *iv = ti(1, (int64_t[]){2}, (int64_t[]){1, -1}), *iin[1] = {iv};
		n = node(OP_RELU, 1);
		assert_int_equal(run_st(&n, iin), ADCNN_ERR_UNSUPPORTED);
		adcnn_tensor_free(iv);
	}
	adcnn_tensor_free(x);
}

static void test_add_broadcast(void **state)
{
	struct adcnn_tensor *a = iota(3, (int64_t[]){2, 3, 4}, 0);
	struct adcnn_tensor *b = tf(2, (int64_t[]){3, 1}, (float[]){100, 200, 300});
	struct adcnn_tensor *y, *in[2] = {a, b};
	struct adcnn_node n = node(OP_ADD, 2);
	float want[24];
	(void)state;

	for (int i = 0; i < 2; i++)
		for (int j = 0; j < 3; j++)
			for (int k = 0; k < 4; k++)
				want[(i * 3 + j) * 4 + k] = (float)((i * 3 + j) * 4 + k) + 100.0f * (float)(j + 1);
	y = run(&n, in);
	expect_shape(y, 3, (int64_t[]){2, 3, 4});
	expect_values(y, want, 24, 0);
	adcnn_tensor_free(y);
	/* either order */
	in[0] = b;
	in[1] = a;
	y = run(&n, in);
	expect_shape(y, 3, (int64_t[]){2, 3, 4});
	expect_values(y, want, 24, 0);
	adcnn_tensor_free(y);
	adcnn_tensor_free(b);

	/* [2,3,4] - [4], [2,1,4] * [3,1], scalar / */
	b = tf(1, (int64_t[]){4}, (float[]){1, 2, 3, 4});
	in[0] = a;
	in[1] = b;
	n = node(OP_SUB, 2);
	y = run(&n, in);
	for (int i = 0; i < 24; i++)
		want[i] = (float)i - (float)(i % 4 + 1);
	expect_values(y, want, 24, 0);
	adcnn_tensor_free(y);
	adcnn_tensor_free(b);
	{
		struct adcnn_tensor *p = tf(3, (int64_t[]){2, 1, 2}, (float[]){1, 2, 3, 4});
		struct adcnn_tensor *q = tf(2, (int64_t[]){3, 1}, (float[]){1, 10, 100});
		in[0] = p;
		in[1] = q;
		n = node(OP_MUL, 2);
		y = run(&n, in);
		expect_shape(y, 3, (int64_t[]){2, 3, 2});
		expect_values(y, (float[]){1, 2, 10, 20, 100, 200, 3, 4, 30, 40, 300, 400}, 12, 0);
		adcnn_tensor_free(y);
		adcnn_tensor_free(p);
		adcnn_tensor_free(q);
	}
	b = tf(0, NULL, (float[]){4});
	in[0] = a;
	in[1] = b;
	n = node(OP_DIV, 2);
	y = run(&n, in);
	expect_shape(y, 3, (int64_t[]){2, 3, 4});
	for (int i = 0; i < 24; i++)
		want[i] = (float)i / 4;
	expect_values(y, want, 24, 0);
	adcnn_tensor_free(y);
	adcnn_tensor_free(b);

	/* shapes that do not broadcast; types that differ */
	b = tf(1, (int64_t[]){3}, NULL);
	in[1] = b;
	n = node(OP_ADD, 2);
	assert_int_equal(run_st(&n, in), ADCNN_ERR_MISMATCH);
	assert_non_null(strstr(adcnn_ctx_error(ctx), "2x3x4 and 3"));
	adcnn_tensor_free(b);
	b = ti(1, (int64_t[]){1}, (int64_t[]){1});
	in[1] = b;
	assert_int_equal(run_st(&n, in), ADCNN_ERR_UNSUPPORTED);
	adcnn_tensor_free(b);
	adcnn_tensor_free(a);

	/* int64, as shapes are computed */
	{
		struct adcnn_tensor *p = ti(1, (int64_t[]){3}, (int64_t[]){1, 3, 224});
		struct adcnn_tensor *q = ti(0, NULL, (int64_t[]){2});
		in[0] = p;
		in[1] = q;
		n = node(OP_MUL, 2);
		y = run(&n, in);
		assert_int_equal(y->dtype, ADCNN_I64);
		assert_true(y->d.i[0] == 2 && y->d.i[1] == 6 && y->d.i[2] == 448);
		adcnn_tensor_free(y);
		n = node(OP_DIV, 2);
		y = run(&n, in);
		assert_true(y->d.i[0] == 0 && y->d.i[1] == 1 && y->d.i[2] == 112);
		adcnn_tensor_free(y);
		adcnn_tensor_free(p);
		adcnn_tensor_free(q);
	}
}

/* ---- shapes ---- */

static void test_concat(void **state)
{
	struct adcnn_tensor *a = tf(3, (int64_t[]){2, 2, 2}, (float[]){1, 2, 3, 4, 5, 6, 7, 8});
	struct adcnn_tensor *b = tf(3, (int64_t[]){2, 1, 2}, (float[]){10, 20, 30, 40});
	struct adcnn_tensor *y, *in[3] = {a, b, a};
	struct adcnn_node n = node(OP_CONCAT, 3);
	(void)state;

	n.axis = 1;
	y = run(&n, in);
	expect_shape(y, 3, (int64_t[]){2, 5, 2});
	expect_values(y, (float[]){1, 2, 3, 4, 10, 20, 1, 2, 3, 4, 5, 6, 7, 8, 30, 40, 5, 6, 7, 8}, 20, 0);
	adcnn_tensor_free(y);
	n.axis = -2;
	y = run(&n, in);
	expect_shape(y, 3, (int64_t[]){2, 5, 2});
	adcnn_tensor_free(y);
	/* axis 0 of two */
	n.axis = 0;
	n.nin = 2;
	in[1] = a;
	y = run(&n, in);
	expect_shape(y, 3, (int64_t[]){4, 2, 2});
	expect_values(y, (float[]){1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8}, 16, 0);
	adcnn_tensor_free(y);
	/* other dimensions must agree; the axis must exist */
	in[1] = b;
	assert_int_equal(run_st(&n, in), ADCNN_ERR_MISMATCH);
	n.axis = 3;
	assert_int_equal(run_st(&n, in), ADCNN_ERR_FORMAT);
	adcnn_tensor_free(a);
	adcnn_tensor_free(b);
}

static void test_flatten_reshape(void **state)
{
	struct adcnn_tensor *x = iota(3, (int64_t[]){2, 3, 4}, 0), *s, *y, *in[2] = {x, NULL};
	struct adcnn_node n = node(OP_FLATTEN, 1);
	static const struct { int axis; int64_t d0, d1; } fl[] = {{1, 2, 12}, {0, 1, 24}, {-1, 6, 4}, {3, 24, 1}, {2, 6, 4}};
	(void)state;

	for (size_t i = 0; i < sizeof(fl) / sizeof(fl[0]); i++) {
		n.axis = fl[i].axis;
		y = run(&n, in);
		expect_shape(y, 2, (int64_t[]){fl[i].d0, fl[i].d1});
		assert_memory_equal(y->d.f, x->d.f, 24 * sizeof(float));
		adcnn_tensor_free(y);
	}
	n.axis = 4;
	assert_int_equal(run_st(&n, in), ADCNN_ERR_FORMAT);

	n = node(OP_RESHAPE, 2);
	/* 0 copies the input's dimension, -1 takes the rest */
	s = ti(1, (int64_t[]){2}, (int64_t[]){0, -1});
	in[1] = s;
	y = run(&n, in);
	expect_shape(y, 2, (int64_t[]){2, 12});
	assert_memory_equal(y->d.f, x->d.f, 24 * sizeof(float));
	adcnn_tensor_free(y);
	adcnn_tensor_free(s);
	s = ti(1, (int64_t[]){3}, (int64_t[]){-1, 0, 2});
	in[1] = s;
	y = run(&n, in);
	expect_shape(y, 3, (int64_t[]){4, 3, 2});
	adcnn_tensor_free(y);
	adcnn_tensor_free(s);
	s = ti(1, (int64_t[]){4}, (int64_t[]){0, 0, 2, 2});
	in[1] = s;
	y = run(&n, in);
	expect_shape(y, 4, (int64_t[]){2, 3, 2, 2}); /* 0 copies by position: dims 0 and 1 */
	adcnn_tensor_free(y);
	adcnn_tensor_free(s);
	/* refusals: two -1, a count that does not match, -1 that does not divide, -2 */
	s = ti(1, (int64_t[]){2}, (int64_t[]){-1, -1});
	in[1] = s;
	assert_int_equal(run_st(&n, in), ADCNN_ERR_FORMAT);
	adcnn_tensor_free(s);
	s = ti(1, (int64_t[]){2}, (int64_t[]){5, 5});
	in[1] = s;
	assert_int_equal(run_st(&n, in), ADCNN_ERR_MISMATCH);
	adcnn_tensor_free(s);
	s = ti(1, (int64_t[]){2}, (int64_t[]){-1, 5});
	in[1] = s;
	assert_int_equal(run_st(&n, in), ADCNN_ERR_MISMATCH);
	adcnn_tensor_free(s);
	s = ti(1, (int64_t[]){2}, (int64_t[]){-2, -12});
	in[1] = s;
	assert_int_equal(run_st(&n, in), ADCNN_ERR_FORMAT);
	adcnn_tensor_free(s);
	/* allowzero: 0 is a zero */
	s = ti(1, (int64_t[]){2}, (int64_t[]){0, -1});
	in[1] = s;
	n.allowzero = 1;
	assert_int_equal(run_st(&n, in), ADCNN_ERR_MISMATCH);
	adcnn_tensor_free(s);
	adcnn_tensor_free(x);
}

static void test_gemm(void **state)
{
	/* A [2,3], B stored as [4,3] with transB, C [4] broadcast over rows */
	struct adcnn_tensor *a = tf(2, (int64_t[]){2, 3}, (float[]){1, 2, 3, 4, 5, 6});
	struct adcnn_tensor *b = tf(2, (int64_t[]){4, 3}, (float[]){1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1});
	struct adcnn_tensor *c = tf(1, (int64_t[]){4}, (float[]){10, 20, 30, 40});
	struct adcnn_tensor *y, *in[3] = {a, b, c};
	struct adcnn_node n = node(OP_GEMM, 3);
	(void)state;

	n.alpha = 1;
	n.beta = 1;
	n.trans_b = 1;
	y = run(&n, in);
	expect_shape(y, 2, (int64_t[]){2, 4});
	expect_values(y, (float[]){11, 22, 33, 46, 14, 25, 36, 55}, 8, 0);
	adcnn_tensor_free(y);
	/* alpha and beta */
	n.alpha = 0.5f;
	n.beta = 2;
	y = run(&n, in);
	expect_values(y, (float[]){20.5f, 41, 61.5f, 83, 22, 42.5f, 63, 87.5f}, 8, 0);
	adcnn_tensor_free(y);
	/* C as a column [2,1]; no C */
	adcnn_tensor_free(c);
	c = tf(2, (int64_t[]){2, 1}, (float[]){-1, 1});
	in[2] = c;
	n.alpha = 1;
	n.beta = 1;
	y = run(&n, in);
	expect_values(y, (float[]){0, 1, 2, 5, 5, 6, 7, 16}, 8, 0);
	adcnn_tensor_free(y);
	n.nin = 2;
	y = run(&n, in);
	expect_values(y, (float[]){1, 2, 3, 6, 4, 5, 6, 15}, 8, 0);
	adcnn_tensor_free(y);
	/* transA: A stored [3,2] */
	{
		struct adcnn_tensor *at = tf(2, (int64_t[]){3, 2}, (float[]){1, 4, 2, 5, 3, 6});
		in[0] = at;
		n.trans_a = 1;
		y = run(&n, in);
		expect_shape(y, 2, (int64_t[]){2, 4});
		expect_values(y, (float[]){1, 2, 3, 6, 4, 5, 6, 15}, 8, 0);
		adcnn_tensor_free(y);
		adcnn_tensor_free(at);
		in[0] = a;
		n.trans_a = 0;
	}
	/* inner dimensions that differ; a C that does not broadcast */
	n.trans_b = 0;
	assert_int_equal(run_st(&n, in), ADCNN_ERR_MISMATCH);
	n.trans_b = 1;
	n.nin = 3;
	adcnn_tensor_free(c);
	c = tf(1, (int64_t[]){3}, NULL);
	in[2] = c;
	assert_int_equal(run_st(&n, in), ADCNN_ERR_MISMATCH);
	adcnn_tensor_free(a);
	adcnn_tensor_free(b);
	adcnn_tensor_free(c);
}

/* A large Gemm's columns are shared out among the threads (a classifier's matrix-vector
 * product): every column once, whatever the split, against a plain loop; integers, so the
 * sums are exact */
static void test_gemm_threads(void **state)
{
	static const struct {
		int64_t M, N, K;
	} cfg[] = {{1, 1000, 2000}, {3, 4096, 500}, {1, 37, 70000}, {2, 100, 20}, {1, 301, 13339}, {1, 7, 3}};
	(void)state;

	for (size_t i = 0; i < sizeof(cfg) / sizeof(cfg[0]); i++)
		for (int tb = 0; tb < 2; tb++) {
			int64_t M = cfg[i].M, N = cfg[i].N, K = cfg[i].K;
			struct adcnn_tensor *a = ints(2, (int64_t[]){M, K}, 40 + (unsigned)i, -3, 3);
			struct adcnn_tensor *b = ints(2, tb ? (int64_t[]){N, K} : (int64_t[]){K, N}, 50 + (unsigned)i, -3, 3);
			struct adcnn_tensor *c = ints(1, (int64_t[]){N}, 60 + (unsigned)i, -9, 9);
			struct adcnn_tensor *in[3] = {a, b, c}, *y;
			struct adcnn_node n = node(OP_GEMM, 3);
			n.alpha = 1;
			n.beta = 1;
			n.trans_b = tb;
			for (int threads = 1; threads <= 3; threads += 2) {
				adcnn_threads_set(threads);
				y = run(&n, in);
				adcnn_threads_set(1);
				for (int64_t r = 0; r < M; r++)
					for (int64_t col = 0; col < N; col++) {
						double want = c->d.f[col];
						for (int64_t k = 0; k < K; k++)
							want += (double)a->d.f[r * K + k] * b->d.f[tb ? col * K + k : k * N + col];
						if (y->d.f[r * N + col] != (float)want)
							fail_msg("Gemm %lldx%lldx%lld, transB %d, %d threads: [%lld][%lld] is %g, expected %g",
							         (long long)M, (long long)N, (long long)K, tb, threads, (long long)r,
							         (long long)col, y->d.f[r * N + col], want);
					}
				adcnn_tensor_free(y);
			}
			adcnn_tensor_free(a);
			adcnn_tensor_free(b);
			adcnn_tensor_free(c);
		}
}

static void test_matmul(void **state)
{
	struct adcnn_tensor *a = tf(2, (int64_t[]){2, 3}, (float[]){1, 2, 3, 4, 5, 6});
	struct adcnn_tensor *b = tf(2, (int64_t[]){3, 2}, (float[]){1, -1, 0, 2, 1, 0});
	struct adcnn_tensor *y, *in[2] = {a, b};
	struct adcnn_node n = node(OP_MATMUL, 2);
	(void)state;

	y = run(&n, in);
	expect_shape(y, 2, (int64_t[]){2, 2});
	expect_values(y, (float[]){4, 3, 10, 6}, 4, 0);
	adcnn_tensor_free(y);
	adcnn_tensor_free(a);

	/* batched [2,2,3] x [3,2]: B broadcast over the batch */
	a = tf(3, (int64_t[]){2, 2, 3}, (float[]){1, 2, 3, 4, 5, 6, 0, 1, 0, 1, 1, 1});
	in[0] = a;
	y = run(&n, in);
	expect_shape(y, 3, (int64_t[]){2, 2, 2});
	expect_values(y, (float[]){4, 3, 10, 6, 0, 2, 2, 1}, 8, 0);
	adcnn_tensor_free(y);
	/* [2,2,3] x [2,3,2]: one B per batch */
	{
		struct adcnn_tensor *bb = tf(3, (int64_t[]){2, 3, 2}, (float[]){1, -1, 0, 2, 1, 0, 1, 0, 0, 1, 0, 0});
		in[1] = bb;
		y = run(&n, in);
		expect_shape(y, 3, (int64_t[]){2, 2, 2});
		expect_values(y, (float[]){4, 3, 10, 6, 0, 1, 1, 1}, 8, 0);
		adcnn_tensor_free(y);
		/* [2,1,2,3] x [3,3,2]? batch dims 2x1 and 3 broadcast to 2x3 */
		adcnn_tensor_free(bb);
		bb = tf(3, (int64_t[]){3, 3, 2}, NULL);
		for (int k = 0; k < 3; k++)
			for (int i = 0; i < 3; i++)
				for (int j = 0; j < 2; j++)
					bb->d.f[(k * 3 + i) * 2 + j] = i == j ? (float)(k + 1) : 0;
		{
			struct adcnn_tensor *a4 = tf(4, (int64_t[]){2, 1, 2, 3}, a->d.f);
			in[0] = a4;
			in[1] = bb;
			y = run(&n, in);
			expect_shape(y, 4, (int64_t[]){2, 3, 2, 2});
			/* batch (i, k): k+1 times the first two columns of a[i] */
			for (int i = 0; i < 2; i++)
				for (int k = 0; k < 3; k++)
					for (int r = 0; r < 2; r++)
						for (int c = 0; c < 2; c++)
							assert_float_equal(y->d.f[((i * 3 + k) * 2 + r) * 2 + c],
							                   (float)(k + 1) * a->d.f[(i * 2 + r) * 3 + c], 0.0);
			adcnn_tensor_free(y);
			adcnn_tensor_free(a4);
		}
		adcnn_tensor_free(bb);
		in[0] = a;
		in[1] = b;
	}
	/* a vector on the right: [2,2,3] x [3] -> [2,2] */
	{
		struct adcnn_tensor *v = tf(1, (int64_t[]){3}, (float[]){1, 0, -1});
		in[1] = v;
		y = run(&n, in);
		expect_shape(y, 2, (int64_t[]){2, 2});
		expect_values(y, (float[]){-2, -2, 0, 0}, 4, 0);
		adcnn_tensor_free(y);
		/* on the left: [3] x [3,2] -> [2] */
		in[0] = v;
		in[1] = b;
		y = run(&n, in);
		expect_shape(y, 1, (int64_t[]){2});
		expect_values(y, (float[]){0, -1}, 2, 0);
		adcnn_tensor_free(y);
		adcnn_tensor_free(v);
	}
	/* inner dimensions that differ */
	in[0] = a;
	in[1] = a;
	assert_int_equal(run_st(&n, in), ADCNN_ERR_MISMATCH);
	adcnn_tensor_free(a);
	adcnn_tensor_free(b);
}

static void test_softmax(void **state)
{
	struct adcnn_tensor *x = tf(2, (int64_t[]){2, 3}, (float[]){1, 2, 3, 0, 0, 0});
	struct adcnn_tensor *y, *in[1] = {x};
	struct adcnn_node n = node(OP_SOFTMAX, 1);
	float third = 1.0f / 3;
	(void)state;

	n.axis = -1; /* opset 13's default */
	y = run(&n, in);
	expect_shape(y, 2, (int64_t[]){2, 3});
	expect_values(y, (float[]){0.0900305732f, 0.244728471f, 0.665240956f, third, third, third}, 6, 1e-6);
	adcnn_tensor_free(y);
	n.axis = 0;
	y = run(&n, in);
	expect_values(y, (float[]){0.731058579f, 0.880797078f, 0.952574127f, 0.268941421f, 0.119202922f, 0.0474258732f}, 6, 1e-6);
	adcnn_tensor_free(y);
	adcnn_tensor_free(x);

	/* [2,2,2], axis 1: opset 13 normalizes over dimension 1 alone ... */
	x = tf(3, (int64_t[]){2, 2, 2}, (float[]){0, 1, 2, 3, 0, 0, 0, 0});
	in[0] = x;
	n.axis = 1;
	y = run(&n, in);
	expect_values(y, (float[]){0.119202922f, 0.119202922f, 0.880797078f, 0.880797078f, 0.5f, 0.5f, 0.5f, 0.5f}, 8, 1e-6);
	adcnn_tensor_free(y);
	/* ... before 13 the input is coerced to [2, 4] at axis 1 */
	n.legacy_softmax = true;
	y = run(&n, in);
	expect_shape(y, 3, (int64_t[]){2, 2, 2});
	expect_values(y, (float[]){0.0320586033f, 0.0871443187f, 0.236882818f, 0.643914260f, 0.25f, 0.25f, 0.25f, 0.25f}, 8, 1e-6);
	adcnn_tensor_free(y);
	/* large values do not overflow */
	x->d.f[0] = 1000;
	x->d.f[1] = 1000;
	x->d.f[2] = 1000;
	x->d.f[3] = 1000;
	y = run(&n, in);
	expect_values(y, (float[]){0.25f, 0.25f, 0.25f, 0.25f, 0.25f, 0.25f, 0.25f, 0.25f}, 8, 1e-6);
	adcnn_tensor_free(y);
	n.axis = 3;
	assert_int_equal(run_st(&n, in), ADCNN_ERR_FORMAT);
	adcnn_tensor_free(x);
}

static void test_gather_unsqueeze(void **state)
{
	struct adcnn_tensor *x = tf(2, (int64_t[]){3, 2}, (float[]){1, 2, 3, 4, 5, 6});
	struct adcnn_tensor *ix = ti(1, (int64_t[]){3}, (int64_t[]){2, 0, -1});
	struct adcnn_tensor *y, *in[2] = {x, ix};
	struct adcnn_node n = node(OP_GATHER, 2);
	(void)state;

	n.axis = 0;
	y = run(&n, in);
	expect_shape(y, 2, (int64_t[]){3, 2});
	expect_values(y, (float[]){5, 6, 1, 2, 5, 6}, 6, 0);
	adcnn_tensor_free(y);
	adcnn_tensor_free(ix);
	/* a scalar index drops the axis */
	ix = ti(0, NULL, (int64_t[]){1});
	in[1] = ix;
	n.axis = 1;
	y = run(&n, in);
	expect_shape(y, 1, (int64_t[]){3});
	expect_values(y, (float[]){2, 4, 6}, 3, 0);
	adcnn_tensor_free(y);
	/* of int64 data, as after Shape */
	{
		struct adcnn_tensor *sh = ti(1, (int64_t[]){4}, (int64_t[]){1, 3, 224, 224}), *sin[2] = {sh, ix};
		n.axis = 0;
		y = run(&n, sin);
		assert_int_equal(y->dtype, ADCNN_I64);
		assert_int_equal(y->rank, 0);
		assert_int_equal(y->d.i[0], 3);
		adcnn_tensor_free(y);
		adcnn_tensor_free(sh);
	}
	adcnn_tensor_free(ix);
	/* out of range, either side; float indices */
	ix = ti(1, (int64_t[]){1}, (int64_t[]){3});
	in[1] = ix;
	n.axis = 0;
	assert_int_equal(run_st(&n, in), ADCNN_ERR_FORMAT);
	ix->d.i[0] = -4;
	assert_int_equal(run_st(&n, in), ADCNN_ERR_FORMAT);
	adcnn_tensor_free(ix);
	in[1] = x;
	assert_int_equal(run_st(&n, in), ADCNN_ERR_UNSUPPORTED);

	/* Unsqueeze: axes as an attribute (before opset 13) */
	n = node(OP_UNSQUEEZE, 1);
	n.axes = (int64_t[]){0, 3};
	n.naxes = 2;
	in[0] = x;
	y = run(&n, in);
	expect_shape(y, 4, (int64_t[]){1, 3, 2, 1});
	assert_memory_equal(y->d.f, x->d.f, 6 * sizeof(float));
	adcnn_tensor_free(y);
	/* axes as an input (13 on), negative counted from the output's end */
	ix = ti(1, (int64_t[]){2}, (int64_t[]){-1, 1});
	in[1] = ix;
	n = node(OP_UNSQUEEZE, 2);
	y = run(&n, in);
	expect_shape(y, 4, (int64_t[]){3, 1, 2, 1});
	adcnn_tensor_free(y);
	ix->d.i[0] = 1; /* twice the same axis */
	assert_int_equal(run_st(&n, in), ADCNN_ERR_FORMAT);
	ix->d.i[0] = 4; /* beyond the output's rank */
	assert_int_equal(run_st(&n, in), ADCNN_ERR_FORMAT);
	adcnn_tensor_free(ix);

	/* Squeeze undoes it */
	{
		struct adcnn_tensor *u = tf(4, (int64_t[]){1, 3, 2, 1}, x->d.f), *uin[1] = {u};
		n = node(OP_SQUEEZE, 1);
		y = run(&n, uin);
		expect_shape(y, 2, (int64_t[]){3, 2});
		adcnn_tensor_free(y);
		n.axes = (int64_t[]){-1};
		n.naxes = 1;
		y = run(&n, uin);
		expect_shape(y, 3, (int64_t[]){1, 3, 2});
		adcnn_tensor_free(y);
		n.axes = (int64_t[]){1};
		assert_int_equal(run_st(&n, uin), ADCNN_ERR_FORMAT);
		adcnn_tensor_free(u);
	}
	adcnn_tensor_free(x);
}

static void test_batchnorm_op(void **state)
{
	struct adcnn_tensor *x = iota(4, (int64_t[]){1, 2, 1, 2}, 1);
	struct adcnn_tensor *sc = tf(1, (int64_t[]){2}, (float[]){3, 0.5f});
	struct adcnn_tensor *bi = tf(1, (int64_t[]){2}, (float[]){1, 2});
	struct adcnn_tensor *mean = tf(1, (int64_t[]){2}, (float[]){0.5f, -1});
	struct adcnn_tensor *var = tf(1, (int64_t[]){2}, (float[]){3, 0});
	struct adcnn_tensor *y, *in[5] = {x, sc, bi, mean, var};
	struct adcnn_node n = node(OP_BATCHNORM, 5);
	(void)state;

	/* (x - mean) scale / sqrt(var + eps) + bias with eps 1 */
	n.eps = 1;
	y = run(&n, in);
	expect_values(y, (float[]){1.75f, 3.25f, 4, 4.5f}, 4, 1e-6);
	adcnn_tensor_free(y);
	n.nin = 4;
	assert_int_equal(run_st(&n, in), ADCNN_ERR_UNSUPPORTED);
	adcnn_tensor_free(x);
	adcnn_tensor_free(sc);
	adcnn_tensor_free(bi);
	adcnn_tensor_free(mean);
	adcnn_tensor_free(var);
}

/* ---- the halo geometry ---- */

/* Output rows [o0,o1) and columns [p0,p1) of a window op: the input rows and columns they
 * read, clipped to the tensor. */
static void needed(const struct adcnn_node *n, int axis, int in, int o0, int o1, int *i0, int *i1)
{
	int pb, k = n->kernel[axis], s = n->stride[axis], d = n->dil[axis];

	adcnn_window_out(n, axis, in, &pb, NULL);
	*i0 = o0 * s - pb;
	*i1 = (o1 - 1) * s - pb + (k - 1) * d + 1;
	if (*i0 < 0)
		*i0 = 0;
	if (*i1 > in)
		*i1 = in;
}

static struct adcnn_tensor *crop(const struct adcnn_tensor *t, int r0, int r1, int c0, int c1)
{
	return adcnn_tensor_crop(t, (int[]){r0, r1, c0, c1});
}

/* every split of the output into row bands and column bands, run on just the input it needs
 * (and on a crop with a margin beyond that), must give the rows of the whole run */
static void check_geometry(const struct adcnn_node *n, const struct adcnn_tensor *x,
                           const struct adcnn_tensor *w, const struct adcnn_tensor *b)
{
	int H = (int)x->dims[2], W = (int)x->dims[3];
	int OH = adcnn_window_out(n, 0, H, NULL, NULL), OW = adcnn_window_out(n, 1, W, NULL, NULL);
	struct adcnn_tensor *full = NULL, *in[3] = {(struct adcnn_tensor *)x, (struct adcnn_tensor *)w, (struct adcnn_tensor *)b};
	struct adcnn_tensor *out[8] = {0};
	int checked = 0;

	assert_int_equal(adcnn_op_run(ctx, n, in, out, NULL), ADCNN_OK);
	full = out[0];
	assert_int_equal(full->dims[2], OH);
	assert_int_equal(full->dims[3], OW);
	for (int parts = 1; parts <= 3; parts++) {
		int rb[4], cb[4];
		adcnn_split_sizes(OH, parts, rb);
		adcnn_split_sizes(OW, parts, cb);
		for (int r = 0; r < parts; r++)
			for (int c = 0; c < parts; c++)
				for (int margin = 0; margin < 2; margin++) {
					int i0, i1, j0, j1;
					struct adcnn_tensor *xc, *tile, *want;
					struct adcnn_geom g;
					needed(n, 0, H, rb[r], rb[r + 1], &i0, &i1);
					needed(n, 1, W, cb[c], cb[c + 1], &j0, &j1);
					if (margin) { /* one more row and column each side, where there are some */
						i0 = i0 > 0 ? i0 - 1 : 0;
						j0 = j0 > 0 ? j0 - 1 : 0;
						i1 = i1 < H ? i1 + 1 : H;
						j1 = j1 < W ? j1 + 1 : W;
					}
					xc = crop(x, i0, i1, j0, j1);
					g = (struct adcnn_geom){i0, j0, H, W, rb[r], rb[r + 1], cb[c], cb[c + 1]};
					in[0] = xc;
					memset(out, 0, sizeof(out));
					if (adcnn_op_run(ctx, n, in, out, &g) != ADCNN_OK)
						fail_msg("tile rows %d-%d columns %d-%d: %s", rb[r], rb[r + 1], cb[c], cb[c + 1], adcnn_ctx_error(ctx));
					tile = out[0];
					want = crop(full, rb[r], rb[r + 1], cb[c], cb[c + 1]);
					expect_same(tile, want);
					adcnn_tensor_free(tile);
					adcnn_tensor_free(want);
					adcnn_tensor_free(xc);
					checked++;
				}
	}
	assert_int_equal(checked, 2 * (1 + 4 + 9));
	adcnn_tensor_free(full);
}

static void test_halo_geometry(void **state)
{
	static const struct {
		int kh, kw, s, pt, pl, pb, pr, dil, group, auto_pad;
	} cfg[] = {
		{3, 3, 1, 1, 1, 1, 1, 1, 1, 0},  /* the usual 3x3 */
		{3, 3, 2, 1, 1, 1, 1, 1, 1, 0},  /* stride 2 */
		{1, 1, 1, 0, 0, 0, 0, 1, 1, 0},  /* 1x1: the direct path */
		{1, 1, 2, 0, 0, 0, 0, 1, 1, 0},  /* 1x1 stride 2 (a shortcut) */
		{3, 3, 1, 2, 2, 2, 2, 2, 1, 0},  /* dilated */
		{3, 2, 2, 1, 0, 0, 1, 1, 1, 0},  /* asymmetric */
		{3, 3, 2, 0, 0, 0, 0, 1, 1, 1},  /* SAME_UPPER */
		{3, 3, 1, 1, 1, 1, 1, 1, 3, 0},  /* depthwise */
		{3, 3, 2, 1, 1, 1, 1, 1, 3, 0},  /* depthwise stride 2 */
		{3, 3, 2, 0, 0, 1, 1, 1, 3, 0},  /* depthwise stride 2, padded at the end only */
		{5, 5, 2, 2, 2, 2, 2, 1, 3, 0},  /* depthwise 5x5 stride 2 */
	};
	struct adcnn_tensor *x = ints(4, (int64_t[]){1, 3, 11, 9}, 20, -3, 3);
	(void)state;

	for (size_t i = 0; i < sizeof(cfg) / sizeof(cfg[0]); i++) {
		struct adcnn_node n = node(OP_CONV, 3);
		int M = cfg[i].group == 3 ? 3 : 4;
		struct adcnn_tensor *w = ints(4, (int64_t[]){M, 3 / cfg[i].group, cfg[i].kh, cfg[i].kw}, 21 + (unsigned)i, -2, 2);
		struct adcnn_tensor *b = ints(1, (int64_t[]){M}, 40 + (unsigned)i, -3, 3);
		window(&n, cfg[i].kh, cfg[i].kw, cfg[i].s, cfg[i].pt, cfg[i].pl, cfg[i].pb, cfg[i].pr);
		n.dil[0] = n.dil[1] = cfg[i].dil;
		n.group = cfg[i].group;
		n.auto_pad = cfg[i].auto_pad;
		check_geometry(&n, x, w, b);
		adcnn_tensor_free(w);
		adcnn_tensor_free(b);
	}
	/* the pools */
	for (int op = 0; op < 2; op++)
		for (int cip = 0; cip < 2; cip++) {
			struct adcnn_node n = node(op ? OP_AVGPOOL : OP_MAXPOOL, 1);
			window(&n, 3, 3, 2, 1, 1, 1, 1);
			n.count_include_pad = cip;
			check_geometry(&n, x, NULL, NULL);
			n.ceil_mode = 1;
			window(&n, 2, 2, 2, 0, 0, 0, 0);
			check_geometry(&n, x, NULL, NULL);
		}
	adcnn_tensor_free(x);
}

/* ---- Winograd F(4x4, 3x3) (winograd.c), forced on every 3x3 stride-1 layer ---- */

static void expect_near(const struct adcnn_tensor *a, const struct adcnn_tensor *b, const char *what)
{
	double top = 0;

	assert_true(adcnn_tensor_same_shape(a, b));
	for (size_t i = 0; i < b->n; i++)
		top = fabs(b->d.f[i]) > top ? fabs(b->d.f[i]) : top;
	for (size_t i = 0; i < a->n; i++)
		if (fabs((double)a->d.f[i] - b->d.f[i]) > 1e-5 * (top > 1 ? top : 1))
			fail_msg("%s: value %zu is %.9g, expected %.9g", what, i, a->d.f[i], b->d.f[i]);
}

static void conv_tiles_run(int algo);

/* Winograd (algo 2) and the panel GEMM (algo 3): sizes around the 4x4 blocks (partial
 * blocks, inputs smaller than a block) and the panel's 7-column tiles, channel counts around
 * the transform's 16-channel steps and the panels' 32 output channels, pads 0 and 1, and halo
 * tiles: each output band run on a crop of its input (plus a margin), in the full tensor's
 * coordinates; the panel GEMM on one thread and on two (its rows path, each thread reading
 * its rows of the tile padded, where the machine has 512-bit vectors) */
static void conv_tiles_check(int algo)
{
	double min_was = adcnn_threads_min_set(0.0);
	int was = adcnn_threads_get();
	/* the panels on one thread and on two; the others on the caller's threads */
	for (int t = algo == 3 ? 1 : was; t <= (algo == 3 ? 2 : was); t++) {
		adcnn_threads_set(t);
		conv_tiles_run(algo);
	}
	adcnn_threads_set(was);
	adcnn_threads_min_set(min_was);
}

static void conv_tiles_run(int algo)
{
	/* 72 x 70: more than the 256 tiles Winograd's input transform takes at once */
	static const int sizes[][2] = {{1, 1}, {3, 2}, {4, 4}, {5, 9}, {8, 7}, {13, 17}, {20, 12}, {72, 70}};
	static const int chans[][2] = {{1, 2}, {3, 5}, {17, 4}, {33, 19}, {40, 33}, {9, 70}};
	char what[128];

	adcnn_conv_algo_set(algo);
	for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++)
		for (size_t ci = 0; ci < sizeof(chans) / sizeof(chans[0]); ci++)
			for (int pad = 0; pad < 2; pad++) {
				int H = sizes[si][0], W = sizes[si][1], C = chans[ci][0], M = chans[ci][1];
				int N = si == 3 ? 2 : 1, OH = H + 2 * pad - 2, OW = W + 2 * pad - 2;
				unsigned seed = (unsigned)(si * 100 + ci * 10 + (size_t)pad);
				struct adcnn_node n = node(OP_CONV, 3);
				struct adcnn_tensor *x, *w, *b, *y, *r;

				if (OH < 1 || OW < 1)
					continue;
				x = ints(4, (int64_t[]){N, C, H, W}, seed, -3, 3);
				w = ints(4, (int64_t[]){M, C, 3, 3}, seed + 1, -2, 2);
				b = ints(1, (int64_t[]){M}, seed + 2, -3, 3);
				window(&n, 3, 3, 1, pad, pad, pad, pad);
				y = conv(&n, x, w, b);
				r = ref_conv(&n, x, w, b);
				snprintf(what, sizeof(what), "algo %d, %d threads, %dx%dx%d -> %d, pad %d", algo,
				         adcnn_threads_get(), C, H, W, M, pad);
				expect_near(y, r, what);
				for (int parts = 2; parts <= 3 && N == 1; parts++) {
					int rb[4], cb[4];
					adcnn_split_sizes(OH, parts, rb);
					adcnn_split_sizes(OW, parts, cb);
					for (int tr = 0; tr < parts; tr++)
						for (int tc = 0; tc < parts; tc++) {
							int i0 = rb[tr] - pad - 1, i1 = rb[tr + 1] - pad + 3;
							int j0 = cb[tc] - pad, j1 = cb[tc + 1] - pad + 2;
							struct adcnn_tensor *xc, *tile, *want;
							struct adcnn_geom g;
							if (rb[tr] == rb[tr + 1] || cb[tc] == cb[tc + 1])
								continue;
							i0 = i0 < 0 ? 0 : i0; /* a margin row above, none left */
							j0 = j0 < 0 ? 0 : j0;
							i1 = i1 > H ? H : i1;
							j1 = j1 > W ? W : j1;
							xc = crop(x, i0, i1, j0, j1);
							g = (struct adcnn_geom){i0, j0, H, W, rb[tr], rb[tr + 1], cb[tc], cb[tc + 1]};
							assert_int_equal(adcnn_conv_run(ctx, &n, xc, w, b, &tile, &g), ADCNN_OK);
							want = crop(r, rb[tr], rb[tr + 1], cb[tc], cb[tc + 1]);
							snprintf(what, sizeof(what), "algo %d, %d threads, %dx%dx%d -> %d, pad %d, tile %d,%d of %d",
							         algo, adcnn_threads_get(), C, H, W, M, pad, tr, tc, parts);
							expect_near(tile, want, what);
							adcnn_tensor_free(tile);
							adcnn_tensor_free(want);
							adcnn_tensor_free(xc);
						}
				}
				adcnn_tensor_free(x);
				adcnn_tensor_free(w);
				adcnn_tensor_free(b);
				adcnn_tensor_free(y);
				adcnn_tensor_free(r);
			}
	adcnn_conv_algo_set(0);
}

/* The automatic choice on layers of few input channels (rowgemm.c on the im2col columns,
 * K = 9 C <= 64, where the machine has AVX2), against the plain loop: strides 1 and 2, pads
 * 0 to 2, 1 to 7 input channels, 5 to 37 output channels (the 6-channel tiles' tail), planes
 * whose positions end inside a 16-position tile, a batch of two; and (stride 1) the halo
 * tiles of conv_tiles_check */
static void test_conv_few_channels(void **state)
{
	static const int sizes[][2] = {{5, 9}, {20, 12}, {33, 18}, {40, 41}};
	static const int chans[][2] = {{1, 5}, {3, 32}, {7, 37}};
	char what[128];
	(void)state;

	for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++)
		for (size_t ci = 0; ci < sizeof(chans) / sizeof(chans[0]); ci++)
			for (int st = 1; st <= 2; st++)
				for (int pad = 0; pad <= 2; pad++) {
					int H = sizes[si][0], W = sizes[si][1], C = chans[ci][0], M = chans[ci][1];
					unsigned seed = (unsigned)(si * 100 + ci * 10 + (size_t)pad * 3 + (size_t)st);
					struct adcnn_node n = node(OP_CONV, 3);
					struct adcnn_tensor *x = ints(4, (int64_t[]){2, C, H, W}, seed, -3, 3);
					struct adcnn_tensor *w = ints(4, (int64_t[]){M, C, 3, 3}, seed + 1, -2, 2);
					struct adcnn_tensor *b = ints(1, (int64_t[]){M}, seed + 2, -3, 3), *y, *r;
					window(&n, 3, 3, st, pad, pad, pad, pad);
					y = conv(&n, x, w, b);
					r = ref_conv(&n, x, w, b);
					snprintf(what, sizeof(what), "%dx%dx%d -> %d, stride %d, pad %d", C, H, W, M, st, pad);
					expect_near(y, r, what);
					adcnn_tensor_free(x);
					adcnn_tensor_free(w);
					adcnn_tensor_free(b);
					adcnn_tensor_free(y);
					adcnn_tensor_free(r);
				}
	conv_tiles_check(0);
}

static void test_conv_winograd(void **state)
{
	(void)state;
	/* on two and three threads both ways: each step shared out among the threads (cores
	 * that share a cache), and the tile rows in one part a thread, each through every step
	 * (cores that do not; where there are as many tile rows as threads) */
	for (int threads = 1; threads <= 3; threads++)
		for (int share = 0; share <= (threads > 1); share++) {
			adcnn_cpus_share_cache_set(share);
			adcnn_threads_set(threads);
			conv_tiles_check(2);
		}
	adcnn_cpus_share_cache_set(-1);
	adcnn_threads_set(1);
}

/* CPU lists in sysfs's form (topology.c), and what is not one */
static void test_cpu_lists(void **state)
{
	static const char *const bad[] = {"", "\n", "-1", "a", "3-1", "0-", "1,", "1,,2", "0-1024", "1024", "2 3",
	                                  "0-1x"};
	struct adcnn_cpuset s;
	(void)state;

	assert_true(adcnn_cpu_list_parse("0-1\n", &s));
	assert_true(s.w[0] == 3 && s.w[1] == 0);
	assert_true(adcnn_cpu_list_parse("0-3,8,10-11,64,1023", &s));
	assert_true(s.w[0] == 0xd0f && s.w[1] == 1 && s.w[15] == (uint64_t)1 << 63);
	for (int k = 2; k < 15; k++)
		assert_true(s.w[k] == 0);
	assert_true(adcnn_cpu_list_parse("5", &s));
	assert_true(s.w[0] == 32);
	assert_true(adcnn_cpu_list_parse("0-1023", &s));
	for (int k = 0; k < 16; k++)
		assert_true(s.w[k] == UINT64_MAX);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (adcnn_cpu_list_parse(bad[i], &s))
			fail_msg("'%s' taken for a list of CPUs", bad[i]);
}

/* root/rel, its folders made, holding text */
static void put_file(const char *root, const char *rel, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	for (char *q = path + strlen(root) + 1; (q = strchr(q, '/')) != NULL; q++) {
		*q = '\0';
		mkdir(path, 0700);
		*q = '/';
	}
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* cpu0's cache of the highest level shared by every online CPU (topology.c), on trees laid
 * out as sysfs's: this machine's form (L1 and L2 its own, L3 both cores'), cores on two L3
 * caches, a board whose last cache is its L2 (the levels not in index order), and trees
 * without the online list or the caches */
static void test_cpus_share_cache(void **state)
{
	static const struct {
		const char *online, *levels[4], *shared[4];
		bool want;
	} cases[] = {
		{"0-1\n", {"1", "1", "2", "3"}, {"0", "0", "0", "0-1"}, true},
		{"0-3\n", {"1", "1", "2", "3"}, {"0", "0", "0", "0-1"}, false},
		{"0-3\n", {"2", "1", "1", NULL}, {"0-3", "0", "0", NULL}, true},
		{"0-3\n", {"2", "1", "1", NULL}, {"0-1", "0", "0", NULL}, false},
		{"0-1\n", {NULL}, {NULL}, false},
		{NULL, {"1", "3", NULL}, {"0", "0-1", NULL}, false},
		{"0-1\n", {"1", "3", NULL}, {"0", "0-x", NULL}, false},
	};
	(void)state;

	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		char root[] = "/tmp/adcnn-topology-XXXXXX", rel[128], cmd[64];
		assert_non_null(mkdtemp(root));
		if (cases[c].online != NULL)
			put_file(root, "online", cases[c].online);
		for (int i = 0; i < 4 && cases[c].levels[i] != NULL; i++) {
			snprintf(rel, sizeof(rel), "cpu0/cache/index%d/level", i);
			put_file(root, rel, cases[c].levels[i]);
			snprintf(rel, sizeof(rel), "cpu0/cache/index%d/shared_cpu_list", i);
			put_file(root, rel, cases[c].shared[i]);
		}
		if (adcnn_cpus_share_cache_at(root) != cases[c].want)
			fail_msg("case %zu: %s", c, cases[c].want ? "not shared" : "shared");
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
		assert_int_equal(system(cmd), 0);
	}
	/* the process's answer is its sysfs tree's */
	assert_true(adcnn_cpus_share_cache() == adcnn_cpus_share_cache_at("/sys/devices/system/cpu"));
}

/* the library's defaults again, after a test that changed them (and may have failed) */
static int defaults(void **state)
{
	(void)state;
	adcnn_cache_sharers_set(1);
	adcnn_conv_algo_set(0);
	adcnn_cpus_share_cache_set(-1);
	return 0;
}

/* Winograd with the workspace of one of eight tiles run at once: output channels in
 * blocks (56, then 24) and tile rows in chunks (6, then 4), where one tile alone takes them
 * all at once; the same values either way, and the reference's */
static void test_conv_winograd_shared(void **state)
{
	struct adcnn_node n = node(OP_CONV, 3);
	struct adcnn_tensor *x, *w, *b, *y1, *y8, *r;
	size_t ws1, ws8;
	(void)state;

	x = ints(4, (int64_t[]){1, 128, 42, 26}, 7, -3, 3);
	w = ints(4, (int64_t[]){80, 128, 3, 3}, 8, -2, 2);
	b = ints(1, (int64_t[]){80}, 9, -3, 3);
	window(&n, 3, 3, 1, 0, 0, 0, 0);
	adcnn_conv_algo_set(2);
	y1 = conv(&n, x, w, b);
	ws1 = adcnn_winograd_workspace(128, 80, 40, 24);
	adcnn_cache_sharers_set(8);
	y8 = conv(&n, x, w, b);
	ws8 = adcnn_winograd_workspace(128, 80, 40, 24);
	adcnn_cache_sharers_set(1);
	adcnn_conv_algo_set(0);
	/* 56 output channels' weights and 6 tile rows against all 80 and 10 */
	assert_true(ws8 * 3 < ws1 * 2);
	r = ref_conv(&n, x, w, b);
	expect_near(y8, r, "Winograd, an eighth of the workspace");
	assert_memory_equal(y8->d.f, y1->d.f, y1->n * sizeof(float));
	adcnn_tensor_free(x);
	adcnn_tensor_free(w);
	adcnn_tensor_free(b);
	adcnn_tensor_free(y1);
	adcnn_tensor_free(y8);
	adcnn_tensor_free(r);
}

static void test_conv_panels(void **state)
{
	(void)state;
	conv_tiles_check(3);
}

/* which weights get panels: many, or a long K (MobileNetV2's projections); not a short K's
 * few (its expansions), nor fewer than 32 output channels */
static void test_panels_worth(void **state)
{
	(void)state;
	assert_true(adcnn_panels_worth(512, 4608));
	assert_true(adcnn_panels_worth(960, 160));
	assert_true(adcnn_panels_worth(160, 576));
	assert_true(adcnn_panels_worth(64, 384));
	assert_true(adcnn_panels_worth(32, 256));
	assert_false(adcnn_panels_worth(576, 96));
	assert_false(adcnn_panels_worth(384, 64));
	assert_false(adcnn_panels_worth(31, 4608));
	assert_false(adcnn_panels_worth(4096, 32));
}

/* a tile of a 3x3 depthwise layer's output (rows r0..r1, columns c0..c1 of the reference r)
 * from the input rows and columns it reads, and one more above and to the left where there
 * are any (the kernel's padded plane then starts inside the tile) */
static void dw3_tile_check(const struct adcnn_node *n, const struct adcnn_tensor *x,
                           const struct adcnn_tensor *w, const struct adcnn_tensor *b,
                           const struct adcnn_tensor *r, int r0, int r1, int c0, int c1,
                           const char *what)
{
	int s = n->stride[0], H = (int)x->dims[2], W = (int)x->dims[3];
	int i0 = r0 * s - n->pad[0] - 1, i1 = (r1 - 1) * s - n->pad[0] + 3;
	int j0 = c0 * s - n->pad[1] - 1, j1 = (c1 - 1) * s - n->pad[1] + 3;
	struct adcnn_tensor *xc, *tile, *want;
	struct adcnn_geom g;

	i0 = i0 < 0 ? 0 : i0;
	j0 = j0 < 0 ? 0 : j0;
	i1 = i1 > H ? H : i1;
	j1 = j1 > W ? W : j1;
	xc = crop(x, i0, i1, j0, j1);
	g = (struct adcnn_geom){i0, j0, H, W, r0, r1, c0, c1};
	assert_int_equal(adcnn_conv_run(ctx, n, xc, w, b, &tile, &g), ADCNN_OK);
	want = crop(r, r0, r1, c0, c1);
	expect_near(tile, want, what);
	adcnn_tensor_free(tile);
	adcnn_tensor_free(want);
	adcnn_tensor_free(xc);
}

/* the 3x3 depthwise kernel (dwblock.c: eight channels at a time) against the reference:
 * 3 channels and 43 (five whole blocks and a part), stride 1 and 2, every pad, rows
 * narrower than a vector and wider, planes of several bands (250 wide), the tiles of a 2x2
 * grid, and each activation */
static void test_conv_depthwise_3x3(void **state)
{
	static const int sizes[][2] = {{1, 1}, {2, 3}, {5, 4}, {7, 7}, {9, 33}, {16, 21}, {11, 250}};
	struct adcnn_act relu = {OP_RELU, 0.0f, 0.0f}, clip = {OP_CLIP, -2.0f, 6.0f};
	char what[128];
	(void)state;

	for (int C = 3; C <= 43; C += 40)
	for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++)
		for (int stride = 1; stride <= 2; stride++)
			for (int pad = 0; pad < 4; pad++) {
				int H = sizes[si][0], W = sizes[si][1], pb = pad & 1, pe = pad >> 1;
				struct adcnn_node n = node(OP_CONV, 3);
				struct adcnn_tensor *x, *w, *b, *y, *r;
				if (H + pb + pe < 3 || W + pb + pe < 3)
					continue;
				x = ints(4, (int64_t[]){2, C, H, W}, (unsigned)(si * 8 + (size_t)pad + 1), -3, 3);
				w = ints(4, (int64_t[]){C, 1, 3, 3}, (unsigned)(si + 100), -2, 2);
				b = ints(1, (int64_t[]){C}, (unsigned)(si + 200), -3, 3);
				window(&n, 3, 3, stride, pb, pb, pe, pe);
				n.group = C;
				y = conv(&n, x, w, b);
				r = ref_conv(&n, x, w, b);
				snprintf(what, sizeof(what), "%d channels, %dx%d stride %d pads %d,%d", C, H, W, stride, pb, pe);
				expect_near(y, r, what);
				/* each activation, in the kernel's output pass */
				for (int ai = 0; ai < 2; ai++) {
					const struct adcnn_act *act = ai ? &clip : &relu;
					struct adcnn_tensor *fused;
					assert_int_equal(adcnn_conv_run_act(ctx, &n, x, w, b, &fused, NULL, act), ADCNN_OK);
					for (size_t k = 0; k < r->n; k++) {
						float v = r->d.f[k];
						v = ai ? (v < -2.0f ? -2.0f : v > 6.0f ? 6.0f : v) : (v > 0.0f ? v : 0.0f);
						assert_true(fused->d.f[k] == v);
					}
					adcnn_tensor_free(fused);
				}
				/* the first image's tiles */
				int OH = (int)r->dims[2], OW = (int)r->dims[3], rb[3], cb[3];
				struct adcnn_tensor *x1 = adcnn_tensor_new_uninit(4, (int64_t[]){1, C, H, W});
				struct adcnn_tensor *r1 = adcnn_tensor_new_uninit(4, (int64_t[]){1, C, OH, OW});
				assert_non_null(x1);
				assert_non_null(r1);
				memcpy(x1->d.f, x->d.f, x1->n * sizeof(float));
				memcpy(r1->d.f, r->d.f, r1->n * sizeof(float));
				adcnn_split_sizes(OH, 2, rb);
				adcnn_split_sizes(OW, 2, cb);
				for (int tr = 0; tr < 2; tr++)
					for (int tc = 0; tc < 2; tc++) {
						if (rb[tr] == rb[tr + 1] || cb[tc] == cb[tc + 1])
							continue;
						snprintf(what, sizeof(what), "%d channels, %dx%d stride %d pads %d,%d, tile %d,%d",
						         C, H, W, stride, pb, pe, tr, tc);
						dw3_tile_check(&n, x1, w, b, r1, rb[tr], rb[tr + 1], cb[tc], cb[tc + 1], what);
					}
				adcnn_tensor_free(x1);
				adcnn_tensor_free(r1);
				adcnn_tensor_free(x);
				adcnn_tensor_free(w);
				adcnn_tensor_free(b);
				adcnn_tensor_free(y);
				adcnn_tensor_free(r);
			}
}

/* t after the activation act (NULL: none; Clip to [-2, 6]) */
static void act_ref(struct adcnn_tensor *t, const struct adcnn_act *act)
{
	for (size_t i = 0; act != NULL && i < t->n; i++) {
		float v = t->d.f[i];
		t->d.f[i] = act->op == OP_RELU ? (v > 0.0f ? v : 0.0f) : v < -2.0f ? -2.0f : v > 6.0f ? 6.0f : v;
	}
}

/* fuse.c's expanding 1x1 layer and 3x3 depthwise layer in bands of rows against the two
 * layers of the reference one after the other, exact sums of small integers: bands of 1, 2,
 * 3 and 5 output rows and the automatic size (a band a plane here), stride 1 and 2, pads at
 * both ends, at the end only (stride 2) and none, channels around the kernels' blocks (6 and
 * 8), planes down to 1x1, two images, each image's rows in two parts on two threads, each
 * activation before and after the depthwise layer, and no bias */
static void test_fuse(void **state)
{
	static const int shapes[][8] = {
		/* N, C, M, H, W, stride, pad before, pad after */
		{1, 16, 43, 37, 25, 1, 1, 1}, {1, 16, 43, 37, 25, 2, 1, 1}, {2, 5, 8, 20, 9, 2, 0, 1},
		{1, 3, 12, 2, 5, 1, 1, 1},    {1, 7, 9, 1, 1, 1, 1, 1},     {1, 64, 16, 12, 33, 2, 0, 0},
		{1, 32, 48, 41, 40, 1, 1, 1}, {1, 32, 48, 41, 40, 2, 1, 1}, {2, 4, 20, 9, 250, 1, 1, 1},
	};
	static const int bands[] = {1, 2, 3, 5, 0};
	struct adcnn_act relu = {OP_RELU, 0.0f, 0.0f}, clip = {OP_CLIP, -2.0f, 6.0f};
	const struct adcnn_act *acts[] = {NULL, &relu, &clip};
	char what[160];
	(void)state;

	for (size_t si = 0; si < sizeof(shapes) / sizeof(shapes[0]); si++) {
		const int *sh = shapes[si];
		int N = sh[0], C = sh[1], M = sh[2], H = sh[3], W = sh[4];
		struct adcnn_node e = node(OP_CONV, 3), d = node(OP_CONV, 3);
		struct adcnn_tensor *x = ints(4, (int64_t[]){N, C, H, W}, (unsigned)si + 1, -3, 3);
		struct adcnn_tensor *we = ints(4, (int64_t[]){M, C, 1, 1}, (unsigned)si + 20, -2, 2);
		struct adcnn_tensor *be = ints(1, (int64_t[]){M}, (unsigned)si + 40, -3, 3);
		struct adcnn_tensor *wd = ints(4, (int64_t[]){M, 1, 3, 3}, (unsigned)si + 60, -2, 2);
		struct adcnn_tensor *bd = ints(1, (int64_t[]){M}, (unsigned)si + 80, -3, 3);
		window(&e, 1, 1, 1, 0, 0, 0, 0);
		window(&d, 3, 3, sh[5], sh[6], sh[6], sh[7], sh[7]);
		d.group = M;
		for (int ai = 0; ai < 3; ai++)
			for (int bi = 0; bi < 2; bi++) {
				const struct adcnn_act *ae = acts[ai], *ad = acts[(ai + 1) % 3];
				struct adcnn_tensor *mid = ref_conv(&e, x, we, bi ? be : NULL), *want;
				act_ref(mid, ae);
				want = ref_conv(&d, mid, wd, bi ? bd : NULL);
				act_ref(want, ad);
				for (size_t ri = 0; ri < sizeof(bands) / sizeof(bands[0]); ri++)
					for (int threads = 1; threads <= 2; threads++) {
						struct adcnn_tensor *y = NULL;
						snprintf(what, sizeof(what), "shape %zu, activations %d, bias %d, bands of %d, %d threads",
						         si, ai, bi, bands[ri], threads);
						/* the output's memory, most likely, filled with NaN first: a row left
						 * unwritten must not pass for the last run's */
						struct adcnn_tensor *junk = tf(4, want->dims, NULL);
						for (size_t k = 0; k < junk->n; k++)
							junk->d.f[k] = NAN;
						adcnn_tensor_free(junk);
						adcnn_threads_set(threads);
						if (adcnn_fuse_run(ctx, &e, x, we, bi ? be : NULL, ae, &d, wd, bi ? bd : NULL, ad, bands[ri],
						                   &y) != ADCNN_OK)
							fail_msg("%s: %s", what, adcnn_ctx_error(ctx));
						adcnn_threads_set(1);
						assert_true(adcnn_tensor_same_shape(y, want));
						for (size_t k = 0; k < want->n; k++)
							if (y->d.f[k] != want->d.f[k])
								fail_msg("%s: value %zu is %g, expected %g", what, k, y->d.f[k], want->d.f[k]);
						adcnn_tensor_free(y);
					}
				adcnn_tensor_free(mid);
				adcnn_tensor_free(want);
			}
		adcnn_tensor_free(x);
		adcnn_tensor_free(we);
		adcnn_tensor_free(be);
		adcnn_tensor_free(wd);
		adcnn_tensor_free(bd);
	}
}

/* where the pair is fused: an expanded tensor of 1 MiB or more, a 1x1 stride-1 unpadded
 * layer of at most 64 input channels on rowgemm.c's path, a 3x3 depthwise layer of stride 1
 * or 2 both ways */
static void test_fuse_fits(void **state)
{
	struct adcnn_node e = node(OP_CONV, 3), d = node(OP_CONV, 3);
	struct adcnn_tensor *x = tf(4, (int64_t[]){1, 16, 64, 64}, NULL);
	struct adcnn_tensor *x63 = tf(4, (int64_t[]){1, 16, 64, 63}, NULL);
	struct adcnn_tensor *x65 = tf(4, (int64_t[]){1, 65, 64, 64}, NULL);
	struct adcnn_tensor *we = tf(4, (int64_t[]){64, 16, 1, 1}, NULL);
	struct adcnn_tensor *we65 = tf(4, (int64_t[]){64, 65, 1, 1}, NULL);
	struct adcnn_tensor *wd = tf(4, (int64_t[]){64, 1, 3, 3}, NULL);
	struct adcnn_tensor *wd5 = tf(4, (int64_t[]){64, 1, 5, 5}, NULL);
	bool rows = adcnn_conv_rowgemm(16, 64);
	(void)state;

	window(&e, 1, 1, 1, 0, 0, 0, 0);
	window(&d, 3, 3, 2, 1, 1, 1, 1);
	d.group = 64;
	assert_true(adcnn_fuse_fits(&e, x, we, &d, wd) == rows);
	/* 64 x 64 x 63 floats: under 1 MiB */
	assert_false(adcnn_fuse_fits(&e, x63, we, &d, wd));
	assert_false(adcnn_fuse_fits(&e, x65, we65, &d, wd));
	d.stride[1] = 1;
	assert_false(adcnn_fuse_fits(&e, x, we, &d, wd));
	window(&d, 5, 5, 1, 2, 2, 2, 2);
	assert_false(adcnn_fuse_fits(&e, x, we, &d, wd5));
	window(&d, 3, 3, 3, 1, 1, 1, 1);
	assert_false(adcnn_fuse_fits(&e, x, we, &d, wd));
	window(&d, 3, 3, 1, 1, 1, 1, 1);
	d.group = 32;
	assert_false(adcnn_fuse_fits(&e, x, we, &d, wd));
	d.group = 64;
	assert_true(adcnn_fuse_fits(&e, x, we, &d, wd) == rows);
	window(&e, 1, 1, 1, 1, 1, 1, 1);
	assert_false(adcnn_fuse_fits(&e, x, we, &d, wd));
	window(&e, 1, 1, 2, 0, 0, 0, 0);
	assert_false(adcnn_fuse_fits(&e, x, we, &d, wd));
	/* im2col forced: no rowgemm.c, no fusing */
	window(&e, 1, 1, 1, 0, 0, 0, 0);
	adcnn_conv_algo_set(1);
	assert_false(adcnn_fuse_fits(&e, x, we, &d, wd));
	adcnn_conv_algo_set(0);
	adcnn_tensor_free(x);
	adcnn_tensor_free(x63);
	adcnn_tensor_free(x65);
	adcnn_tensor_free(we);
	adcnn_tensor_free(we65);
	adcnn_tensor_free(wd);
	adcnn_tensor_free(wd5);
}

/* y (rows ldy apart) against act(b[m] + sum over k of w[m][k] x[k][c]) (b NULL: 0; act NULL,
 * Relu, or Clip to [-2, 6]), exact sums of small integers, in columns c0..c1; 100 (as
 * filled) in the others */
static void expect_gemm_rows(const struct adcnn_tensor *y, size_t ldy, const struct adcnn_tensor *w,
                             const struct adcnn_tensor *x, size_t ldx, const struct adcnn_tensor *b,
                             const struct adcnn_act *act, size_t c0, size_t c1)
{
	int64_t M = w->dims[0], K = w->dims[1];

	for (int64_t m = 0; m < M; m++)
		for (size_t c = 0; c < ldy; c++) {
			float want = 100.0f;
			if (c >= c0 && c < c1) {
				want = b ? b->d.f[m] : 0.0f;
				for (int64_t k = 0; k < K; k++)
					want += w->d.f[m * K + k] * x->d.f[(size_t)k * ldx + c];
				if (act != NULL && act->op == OP_RELU)
					want = want > 0.0f ? want : 0.0f;
				else if (act != NULL)
					want = want < -2.0f ? -2.0f : want > 6.0f ? 6.0f : want;
			}
			assert_true(y->d.f[(size_t)m * ldy + c] == want);
		}
}

/* rowgemm.c's GEMM of a 1x1 layer (on any machine, whether or not conv.c picks it there)
 * against sums of small integers, exact in any order: channel counts around its tiles of 6,
 * positions around its 16 and its chunks of 256, rows of x and y wider than the columns
 * taken, each activation */
static void test_rowgemm(void **state)
{
	static const int shapes[][3] = {{1, 1, 1}, {6, 16, 16}, {7, 17, 3}, {13, 40, 33}, {24, 49, 64}, {7, 300, 5}};
	struct adcnn_act relu = {OP_RELU, 0.0f, 0.0f}, clip = {OP_CLIP, -2.0f, 6.0f};
	const struct adcnn_act *acts[] = {NULL, &relu, &clip};
	(void)state;

	for (size_t si = 0; si < sizeof(shapes) / sizeof(shapes[0]); si++)
		for (int ai = 0; ai < 3; ai++)
			for (int withb = 0; withb < 2; withb++) {
				int M = shapes[si][0], ncol = shapes[si][1], K = shapes[si][2];
				size_t ldx = (size_t)ncol + 5, ldy = (size_t)ncol + 3;
				struct adcnn_tensor *w = ints(2, (int64_t[]){M, K}, (unsigned)si + 1, -2, 2);
				struct adcnn_tensor *x = ints(2, (int64_t[]){K, (int64_t)ldx}, (unsigned)si + 50, -3, 3);
				struct adcnn_tensor *b = ints(1, (int64_t[]){M}, (unsigned)si + 90, -4, 4);
				struct adcnn_tensor *y = ints(2, (int64_t[]){M, (int64_t)ldy}, 7, 100, 100);
				assert_true(adcnn_rowgemm(w->d.f, M, (size_t)K, x->d.f, ldx, (size_t)ncol, y->d.f, ldy,
				                          withb ? b->d.f : NULL, acts[ai]));
				expect_gemm_rows(y, ldy, w, x, ldx, withb ? b : NULL, acts[ai], 0, (size_t)ncol);
				adcnn_tensor_free(w);
				adcnn_tensor_free(x);
				adcnn_tensor_free(b);
				adcnn_tensor_free(y);
			}
}

/* pgemm8.c's GEMM (on any machine, whether or not conv.c picks it there) against sums of
 * small integers, exact in any order: channels around its halves of 16 and panels of 32,
 * columns making tiles of every width (1 to 6), K across its chunks of 512, a part of the tiles
 * only, each activation; the rows of y past the columns taken untouched */
static void test_pgemm8(void **state)
{
	static const int shapes[][3] = {{1, 1, 1}, {3, 2, 9}, {16, 6, 7}, {17, 7, 64}, {40, 13, 513}, {70, 49, 1100}, {32, 64, 3}};
	struct adcnn_act relu = {OP_RELU, 0.0f, 0.0f}, clip = {OP_CLIP, -2.0f, 6.0f};
	const struct adcnn_act *acts[] = {NULL, &relu, &clip};
	(void)state;

	for (size_t si = 0; si < sizeof(shapes) / sizeof(shapes[0]); si++)
		for (int ai = 0; ai < 3; ai++)
			for (int part = 0; part < 2; part++) {
				int M = shapes[si][0], ncol = shapes[si][1], K = shapes[si][2], np = (M + 31) / 32;
				size_t ldx = (size_t)ncol + 5, ldy = (size_t)ncol + 3, nt = adcnn_pgemm8_tiles((size_t)ncol);
				/* all the tiles, or the second half of them */
				size_t t0 = part ? nt / 2 : 0, c0 = part ? t0 * (size_t)ncol / nt : 0;
				struct adcnn_tensor *w = ints(2, (int64_t[]){M, K}, (unsigned)si + 1, -2, 2);
				struct adcnn_tensor *x = ints(2, (int64_t[]){K, (int64_t)ldx}, (unsigned)si + 50, -3, 3);
				struct adcnn_tensor *b = ints(1, (int64_t[]){M}, (unsigned)si + 90, -4, 4);
				struct adcnn_tensor *y = ints(2, (int64_t[]){M, (int64_t)ldy}, 7, 100, 100);
				float *panels = malloc((size_t)np * 32 * (size_t)K * sizeof(float));
				float *xp = malloc((size_t)K * (size_t)ncol * sizeof(float));
				assert_non_null(panels);
				assert_non_null(xp);
				adcnn_panels_fill(w->d.f, M, (size_t)K, panels);
				/* the rows in two shares, as the threads pack them */
				adcnn_pgemm8_pack(x->d.f, ldx, (size_t)K, (size_t)ncol, t0, nt, 0, (size_t)K / 3, xp);
				adcnn_pgemm8_pack(x->d.f, ldx, (size_t)K, (size_t)ncol, t0, nt, (size_t)K / 3, (size_t)K, xp);
				for (int p = 0; p < np; p++)
					adcnn_pgemm8(panels, M, p, (size_t)K, xp, (size_t)ncol, t0, nt, y->d.f, ldy,
					             ai ? b->d.f : NULL, acts[ai]);
				expect_gemm_rows(y, ldy, w, x, ldx, ai ? b : NULL, acts[ai], c0, (size_t)ncol);
				free(panels);
				free(xp);
				adcnn_tensor_free(w);
				adcnn_tensor_free(x);
				adcnn_tensor_free(b);
				adcnn_tensor_free(y);
			}
}

/* sgemm.c's GEMM, every kernel this machine runs, through adcnn_sgemm: integer values, so that
 * the sums are exact whatever their order; op(A) and op(B) each plain and transposed, leading
 * dimensions past the rows, alpha and beta, C not read where beta is 0 (NaN there), the
 * columns past n untouched; shapes across the blocks (k 256, n 512, m 960) and the kernels'
 * tiles (12 x 32 and, where it covers C with fewer products, 8 x 48; 6 x 16, 6 x 8) */
static void test_sgemm(void **state)
{
	static const int shapes[][3] = {{1, 1, 1}, {5, 3, 7}, {13, 37, 300}, {12, 32, 256}, {25, 70, 257},
	                                {7, 1030, 20}, {970, 9, 5}, {2, 600, 513}, {16, 96, 300}};
	static const int widths[] = {128, 256, 512};
	int was = adcnn_gemm_bits(), ran = 0;
	(void)state;

	for (int wi = 0; wi < 3; wi++) {
		if (!adcnn_gemm_set(widths[wi]))
			continue; /* not on this machine */
		assert_int_equal(adcnn_gemm_bits(), widths[wi]);
		ran++;
		for (size_t si = 0; si < sizeof(shapes) / sizeof(shapes[0]); si++)
			for (int tr = 0; tr < 4; tr++)
				for (int ab = 0; ab < 2; ab++) {
					int m = shapes[si][0], n = shapes[si][1], k = shapes[si][2];
					bool ta = tr & 1, tb = tr & 2;
					float alpha = ab ? 0.5f : 1.0f, beta = ab ? -2.0f : 0.0f;
					int64_t lda = ta ? m + 2 : k + 3, ldb = tb ? k + 4 : n + 1, ldc = n + 5;
					struct adcnn_tensor *a = ints(2, (int64_t[]){ta ? k : m, lda}, (unsigned)si + 3, -2, 2);
					struct adcnn_tensor *b = ints(2, (int64_t[]){tb ? n : k, ldb}, (unsigned)si + 40, -3, 3);
					struct adcnn_tensor *c = ints(2, (int64_t[]){m, ldc}, (unsigned)si + 80, -5, 5);
					float *c0 = malloc(c->n * sizeof(float));
					assert_non_null(c0);
					for (int i = 0; i < m; i++)
						for (int j = 0; j < n; j++)
							if (!ab)
								c->d.f[i * ldc + j] = NAN;
					memcpy(c0, c->d.f, c->n * sizeof(float));
					adcnn_sgemm(ta, tb, m, n, k, alpha, a->d.f, lda, b->d.f, ldb, beta, c->d.f, ldc);
					for (int i = 0; i < m; i++) {
						for (int j = 0; j < n; j++) {
							double sum = 0.0;
							for (int q = 0; q < k; q++)
								sum += (double)(ta ? a->d.f[q * lda + i] : a->d.f[i * lda + q]) *
								       (tb ? b->d.f[j * ldb + q] : b->d.f[q * ldb + j]);
							sum = alpha * sum + (ab ? beta * (double)c0[i * ldc + j] : 0.0);
							if ((double)c->d.f[i * ldc + j] != sum)
								fail_msg("%d bits, %dx%dx%d, ta %d tb %d ab %d: c[%d][%d] = %g, expected %g",
								         widths[wi], m, n, k, ta, tb, ab, i, j, c->d.f[i * ldc + j], sum);
						}
						for (int j = n; j < ldc; j++)
							assert_memory_equal(&c->d.f[i * ldc + j], &c0[i * ldc + j], sizeof(float));
					}
					free(c0);
					adcnn_tensor_free(a);
					adcnn_tensor_free(b);
					adcnn_tensor_free(c);
				}
	}
	assert_true(ran >= 1); /* the 128-bit kernel runs everywhere */
	assert_true(adcnn_gemm_set(was));
}

/* a pool's planes shared among threads: the same values as on one thread, max and average,
 * with and without the padding counted, planes enough to be shared (80 of 60x60); and an
 * output plane large enough to be cut by rows (60x59: adcnn_row_parts) */
static void test_pool_threads(void **state)
{
	static const int64_t shapes[2][4] = {{2, 40, 60, 60}, {2, 10, 120, 118}};
	(void)state;

	for (int sh = 0; sh < 2; sh++) {
		struct adcnn_tensor *x = ints(4, shapes[sh], 77, -50, 50), *in[1] = {x};
		for (int op = 0; op < 2; op++)
			for (int cip = 0; cip < 2; cip++) {
				struct adcnn_node n = node(op ? OP_AVGPOOL : OP_MAXPOOL, 1);
				struct adcnn_tensor *y1, *y3;
				window(&n, 3, 3, 2, 1, 1, 1, 1);
				n.count_include_pad = cip;
				y1 = run(&n, in);
				adcnn_threads_set(3);
				y3 = run(&n, in);
				adcnn_threads_set(1);
				assert_true(adcnn_tensor_same_shape(y1, y3));
				assert_memory_equal(y1->d.f, y3->d.f, y1->n * sizeof(float));
				adcnn_tensor_free(y1);
				adcnn_tensor_free(y3);
			}
		adcnn_tensor_free(x);
	}
}

/* an Add in place (a residual block's), with the activation of the Relu or Clip after it,
 * on one thread and shared out among three (parts of whole cache lines and a last one that
 * is not: 81,613 values); a shape that would broadcast is left to the op */
static void test_add_inplace(void **state)
{
	struct adcnn_act relu = {OP_RELU, 0.0f, 0.0f}, clip = {OP_CLIP, -2.0f, 3.0f};
	const struct adcnn_act *acts[3] = {NULL, &relu, &clip};
	struct adcnn_node n = node(OP_ADD, 2);
	int64_t dims[4] = {1, 7, 131, 89};
	struct adcnn_tensor *a = ints(4, dims, 5, -6, 6), *b = ints(4, dims, 6, -6, 6);
	(void)state;

	for (int t = 1; t <= 3; t += 2)
		for (int ai = 0; ai < 3; ai++) {
			struct adcnn_tensor *x = adcnn_tensor_clone(a), *in[2] = {x, b};
			assert_non_null(x);
			adcnn_threads_set(t);
			assert_true(adcnn_op_inplace(&n, in, acts[ai]));
			adcnn_threads_set(1);
			for (size_t i = 0; i < a->n; i++) {
				float v = a->d.f[i] + b->d.f[i];
				if (ai == 1)
					v = v > 0.0f ? v : 0.0f;
				else if (ai == 2)
					v = v < -2.0f ? -2.0f : v > 3.0f ? 3.0f : v;
				if (x->d.f[i] != v)
					fail_msg("%d threads, activation %d: value %zu is %g, expected %g", t, ai, i, x->d.f[i], v);
			}
			adcnn_tensor_free(x);
		}
	{
		struct adcnn_tensor *c = ints(4, (int64_t[]){1, 7, 1, 1}, 7, -6, 6), *in[2] = {a, c};
		assert_false(adcnn_op_inplace(&n, in, NULL));
		adcnn_tensor_free(c);
	}
	adcnn_tensor_free(a);
	adcnn_tensor_free(b);
}

/* threads inside an operator (parallel.c): the same values as one thread, for every path
 * (each operator shared out, however small) */
static void test_conv_threads(void **state)
{
	static const struct {
		int C, H, W, M, k, s, pad, group, algo;
	} cfg[] = {
		{17, 30, 29, 20, 3, 1, 1, 1, 2}, /* Winograd */
		{17, 30, 29, 20, 3, 1, 1, 1, 1}, /* im2col, stride 1 */
		{8, 13, 11, 6, 3, 2, 1, 1, 1},   /* im2col, stride 2 */
		{3, 81, 79, 32, 3, 1, 1, 1, 0},  /* few input channels: rowgemm on im2col's columns */
		{16, 9, 9, 24, 1, 1, 0, 1, 0},   /* 1x1, no im2col */
		{12, 10, 7, 12, 3, 1, 1, 12, 0}, /* depthwise */
		/* depthwise on many narrow planes: a plane's copy must not spill into the next
		 * (another thread's) */
		{256, 24, 5, 256, 3, 1, 1, 256, 0},
		{12, 10, 7, 12, 5, 2, 2, 12, 0}, /* depthwise 5x5 */
		{12, 10, 7, 8, 3, 1, 1, 4, 0},   /* groups */
		{40, 7, 7, 70, 3, 1, 1, 1, 3},   /* panels, 3x3 */
		{33, 9, 8, 40, 3, 2, 1, 1, 3},   /* panels, stride 2 */
		{64, 7, 5, 96, 1, 1, 0, 1, 3},   /* panels, 1x1, no im2col */
		{48, 13, 11, 40, 1, 2, 0, 1, 3}, /* panels, 1x1, stride 2 (through the taps on AVX2) */
		/* panels in runs of one and two (10 panels, 6 runs), the last one part full */
		{64, 7, 7, 300, 1, 1, 0, 1, 3},
		/* in runs of two and three (on 2 threads, 4 runs) */
		{64, 7, 7, 320, 1, 1, 0, 1, 3},
		{256, 5, 5, 64, 3, 1, 1, 1, 0},  /* where the automatic choice is panels (AVX-512) */
		{256, 9, 10, 40, 3, 1, 1, 1, 0}, /* and on AVX2: K 2304 on 90 positions */
		{400, 5, 4, 40, 3, 1, 1, 1, 3},  /* panels of K 3600, in blocks of K */
		/* panels on 512-bit vectors, 12 output rows or more: each thread a share of the
		 * rows through every panel (3x3, stride 2, 1x1 in parts of whole tiles) */
		{40, 14, 13, 70, 3, 1, 1, 1, 3},
		{33, 27, 25, 40, 3, 2, 1, 1, 3},
		{64, 14, 14, 96, 1, 1, 0, 1, 3},
		/* the automatic choice: Winograd on one thread, on several (AVX-512) the rows path;
		 * and at stride 2, panels on one thread from 28x28 down */
		{32, 24, 22, 40, 3, 1, 1, 1, 0},
		{32, 47, 45, 40, 3, 2, 1, 1, 0},
		/* planes of 56x56 and more, cut by rows into a part a thread (adcnn_row_parts):
		 * im2col's chunks, a depthwise layer, 1x1 layers by rowgemm.c and by BLIS */
		{8, 56, 57, 12, 3, 1, 1, 1, 1},
		{16, 57, 56, 16, 3, 1, 1, 16, 0},
		{16, 115, 113, 16, 3, 2, 1, 16, 0},
		{16, 56, 58, 24, 1, 1, 0, 1, 0},
		{80, 59, 56, 24, 1, 1, 0, 1, 1},
		/* rowgemm.c on K up to 160 for at most 32 outputs (AVX-512) */
		{144, 57, 56, 20, 1, 1, 0, 1, 0},
		{96, 20, 21, 24, 1, 1, 0, 1, 0},
		/* and on im2col's columns of a wider window up to K 160 whatever the outputs: a
		 * first layer's 7x7 stride 2 (K 147) */
		{3, 61, 60, 64, 7, 2, 3, 1, 0},
		/* 1x1 on at most 64 positions with K >= 256: the output's GEMM transposed (BLIS) */
		{300, 7, 7, 40, 1, 1, 0, 1, 1},
		{256, 3, 5, 37, 1, 1, 0, 1, 0},
	};
	(void)state;

	double min_was = adcnn_threads_min_set(0.0);
	for (size_t i = 0; i < sizeof(cfg) / sizeof(cfg[0]); i++) {
		struct adcnn_node n = node(OP_CONV, 3);
		struct adcnn_tensor *x = ints(4, (int64_t[]){2, cfg[i].C, cfg[i].H, cfg[i].W}, 300 + (unsigned)i, -3, 3);
		struct adcnn_tensor *w = ints(4, (int64_t[]){cfg[i].M, cfg[i].C / cfg[i].group, cfg[i].k, cfg[i].k}, 310 + (unsigned)i, -2, 2);
		struct adcnn_tensor *b = ints(1, (int64_t[]){cfg[i].M}, 320 + (unsigned)i, -3, 3);
		struct adcnn_tensor *one, *many, *r;
		char what[64];

		window(&n, cfg[i].k, cfg[i].k, cfg[i].s, cfg[i].pad, cfg[i].pad, cfg[i].pad, cfg[i].pad);
		n.group = cfg[i].group;
		adcnn_conv_algo_set(cfg[i].algo);
		adcnn_threads_set(1);
		one = conv(&n, x, w, b);
		adcnn_threads_set(3);
		many = conv(&n, x, w, b);
		adcnn_threads_set(1);
		r = ref_conv(&n, x, w, b);
		snprintf(what, sizeof(what), "config %zu, 3 threads", i);
		expect_near(many, one, what);
		expect_near(many, r, what);
		/* the activation in the output pass: the values of the Conv, then Relu or Clip (on
		 * as many threads as the values it is checked against: the automatic choice may
		 * take another way on several threads than on one) */
		for (int a = 0; a < 2; a++) {
			struct adcnn_act act = {a ? OP_CLIP : OP_RELU, -1.5f, 2.5f};
			struct adcnn_tensor *fused = NULL, *want = adcnn_tensor_clone(a ? many : one);
			adcnn_threads_set(a ? 3 : 1);
			assert_int_equal(adcnn_conv_run_act(ctx, &n, x, w, b, &fused, NULL, &act), ADCNN_OK);
			adcnn_threads_set(1);
			for (size_t k = 0; k < want->n; k++) {
				float v = want->d.f[k];
				want->d.f[k] = a ? (v < -1.5f ? -1.5f : v > 2.5f ? 2.5f : v) : (v > 0.0f ? v : 0.0f);
			}
			snprintf(what, sizeof(what), "config %zu, %s fused", i, a ? "Clip" : "Relu");
			expect_near(fused, want, what);
			adcnn_tensor_free(fused);
			adcnn_tensor_free(want);
		}
		adcnn_tensor_free(x);
		adcnn_tensor_free(w);
		adcnn_tensor_free(b);
		adcnn_tensor_free(one);
		adcnn_tensor_free(many);
		adcnn_tensor_free(r);
	}
	adcnn_conv_algo_set(0);
	adcnn_threads_min_set(min_was);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conv_pad_stride),
		cmocka_unit_test(test_conv_groups),
		cmocka_unit_test(test_conv_depthwise),
		cmocka_unit_test(test_conv_dilation),
		cmocka_unit_test(test_conv_asymmetric_pads),
		cmocka_unit_test(test_conv_auto_pad),
		cmocka_unit_test(test_conv_refusals),
		cmocka_unit_test(test_maxpool),
		cmocka_unit_test(test_pool_ref),
		cmocka_unit_test(test_maxpool_tile_columns),
		cmocka_unit_test(test_pool_empty_windows),
		cmocka_unit_test(test_avgpool),
		cmocka_unit_test(test_activations),
		cmocka_unit_test(test_add_broadcast),
		cmocka_unit_test(test_concat),
		cmocka_unit_test(test_flatten_reshape),
		cmocka_unit_test(test_gemm),
		cmocka_unit_test(test_gemm_threads),
		cmocka_unit_test(test_matmul),
		cmocka_unit_test(test_softmax),
		cmocka_unit_test(test_gather_unsqueeze),
		cmocka_unit_test(test_batchnorm_op),
		cmocka_unit_test(test_halo_geometry),
		cmocka_unit_test_teardown(test_conv_winograd, defaults),
		cmocka_unit_test(test_cpu_lists),
		cmocka_unit_test(test_cpus_share_cache),
		cmocka_unit_test(test_conv_few_channels),
		cmocka_unit_test_teardown(test_conv_winograd_shared, defaults),
		cmocka_unit_test(test_conv_panels),
		cmocka_unit_test(test_panels_worth),
		cmocka_unit_test(test_conv_depthwise_3x3),
		cmocka_unit_test(test_conv_threads),
		cmocka_unit_test(test_rowgemm),
		cmocka_unit_test(test_fuse),
		cmocka_unit_test(test_fuse_fits),
		cmocka_unit_test(test_pgemm8),
		cmocka_unit_test(test_sgemm),
		cmocka_unit_test(test_pool_threads),
		cmocka_unit_test(test_add_inplace),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
