/* conv.c: 2-D convolution through BLIS sgemm (im2col; none for 1x1; Winograd for large 3x3
 * stride-1 layers, winograd.c), a direct loop for depthwise, and the window geometry that
 * Conv and the pools share. */
#include "config.h"
#include "internal.h"
#include <blis.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

ADCNN_FMA_ON /* twice the arithmetic per instruction in the kernels below */

int adcnn_window_out(const struct adcnn_node *n, int axis, int in, int *pad_begin, int *pad_end)
{
	int k = n->kernel[axis], s = n->stride[axis], d = n->dil[axis];
	int eff = (k - 1) * d + 1, out, pb, pe;

	switch (n->auto_pad) {
	case 1: case 2: {
		int total;
		out = (in + s - 1) / s;
		total = (out - 1) * s + eff - in;
		if (total < 0)
			total = 0;
		pb = n->auto_pad == 1 ? total / 2 : total - total / 2;
		pe = total - pb;
		break;
	}
	case 3:
		pb = pe = 0;
		out = in >= eff ? (in - eff) / s + 1 : 0;
		break;
	default:
		pb = n->pad[axis];
		pe = n->pad[axis + 2];
		if (in + pb + pe < eff)
			return 0;
		if (n->ceil_mode) {
			out = (in + pb + pe - eff + s - 1) / s + 1;
			if ((out - 1) * s >= in + pb) /* the last window must start inside the input */
				out--;
		} else {
			out = (in + pb + pe - eff) / s + 1;
		}
	}
	if (pad_begin)
		*pad_begin = pb;
	if (pad_end)
		*pad_end = pe;
	return out;
}

/* The output columns [lo, hi) whose input column ox*stride + base falls inside a tile row of
 * width w; outside it the input is zero: the image's padding, or (halo tiles) columns the
 * planner made sure no kept output reads. */
void adcnn_valid_cols(int base, int stride, int w, int ow, int *lo, int *hi)
{
	int a = base >= 0 ? 0 : (-base + stride - 1) / stride;
	int b = w - 1 - base < 0 ? 0 : (w - 1 - base) / stride + 1;

	*lo = a < ow ? a : ow;
	*hi = b < *lo ? *lo : b > ow ? ow : b;
}

/* d[i] = s[i * stride]: stride 2 (the common case) spelled out so that it vectorizes */
ADCNN_VECTORIZE
static void copy_strided(float *restrict d, const float *restrict s, int stride, int n)
{
	if (stride == 2)
		for (int i = 0; i < n; i++)
			d[i] = s[2 * i];
	else
		for (int i = 0; i < n; i++)
			d[i] = s[(ptrdiff_t)i * stride];
}

/* Columns for output rows [y0, y1) of one group: col[(c*kh+i)*kw+j][(y-y0)*ow+x]. */
static void im2col(const float *x, int C, int h, int w, const struct adcnn_node *n,
                   const struct adcnn_geom *g, int pt, int pl, int y0, int y1, int ow, float *col)
{
	int kh = n->kernel[0], kw = n->kernel[1];
	int sh = n->stride[0], sw = n->stride[1], dh = n->dil[0], dw = n->dil[1];
	size_t ncol = (size_t)(y1 - y0) * (size_t)ow;

	for (int c = 0; c < C; c++)
		for (int i = 0; i < kh; i++)
			for (int j = 0; j < kw; j++) {
				float *dst = col + ((size_t)(c * kh + i) * kw + j) * ncol;
				int base = g->out_c0 * sw - pl + j * dw - g->in_c0, lo, hi;
				adcnn_valid_cols(base, sw, w, ow, &lo, &hi);
				if (sw == 1 && sh == 1 && w == ow && hi > lo) {
					/* input and column rows have one width: the rows inside the tile are one
					 * copy; what it puts in the columns outside [lo, hi) (the neighbouring
					 * row's ends) is zeroed after */
					int ya = y0, yb = y1;
					int t0 = (g->out_r0 + y0) - pt + i * dh - g->in_r0;
					if (t0 < 0)
						ya = y0 - t0 > y1 ? y1 : y0 - t0;
					if (t0 + (yb - y0) > h)
						yb = y0 + h - t0 < ya ? ya : y0 + h - t0;
					if (ya > y0)
						memset(dst, 0, sizeof(float) * (size_t)(ya - y0) * ow);
					if (yb < y1)
						memset(dst + (size_t)(yb - y0) * ow, 0, sizeof(float) * (size_t)(y1 - yb) * ow);
					if (yb > ya) {
						/* the first tap inside the tile: base + lo >= 0, so no pointer before x */
						const float *src = x + ((size_t)c * h + (size_t)(t0 + ya - y0)) * w + (base + lo);
						float *d = dst + (size_t)(ya - y0) * ow;
						memcpy(d + lo, src, sizeof(float) * ((size_t)(yb - ya - 1) * ow + (size_t)(hi - lo)));
						for (int y = 0; y < yb - ya; y++) {
							for (int k = 0; k < lo; k++)
								d[(size_t)y * ow + k] = 0.0f;
							for (int k = hi; k < ow; k++)
								d[(size_t)y * ow + k] = 0.0f;
						}
					}
					continue;
				}
				for (int y = y0; y < y1; y++) {
					int ty = (g->out_r0 + y) * sh - pt + i * dh - g->in_r0;
					float *d = dst + (size_t)(y - y0) * ow;
					if (ty < 0 || ty >= h) {
						memset(d, 0, sizeof(float) * (size_t)ow);
						continue;
					}
					/* the first tap inside the tile (base + lo * sw >= 0) */
					const float *src = x + ((size_t)c * h + ty) * w + (base + lo * sw);
					if (lo > 0)
						memset(d, 0, sizeof(float) * (size_t)lo);
					if (sw == 1)
						memcpy(d + lo, src, sizeof(float) * (size_t)(hi - lo));
					else
						copy_strided(d + lo, src, sw, hi - lo);
					if (hi < ow)
						memset(d + hi, 0, sizeof(float) * (size_t)(ow - hi));
				}
			}
}

/* depthwise: one channel, a row of accumulators at a time; the inner loop runs over the
 * output columns whose taps are inside the tile, without a test, so it vectorizes */
ADCNN_VECTORIZE
static void depthwise(const float *x, int h, int w, const float *k, float bias,
                      const struct adcnn_node *n, const struct adcnn_geom *g, int pt, int pl,
                      int oh, int ow, float *y)
{
	int kh = n->kernel[0], kw = n->kernel[1], sw = n->stride[1];

	for (int oy = 0; oy < oh; oy++) {
		float *acc = y + (size_t)oy * ow;
		for (int ox = 0; ox < ow; ox++)
			acc[ox] = bias;
		for (int i = 0; i < kh; i++) {
			int ty = (g->out_r0 + oy) * n->stride[0] - pt + i * n->dil[0] - g->in_r0;
			if (ty < 0 || ty >= h)
				continue;
			for (int j = 0; j < kw; j++) {
				int base = g->out_c0 * sw - pl + j * n->dil[1] - g->in_c0, lo, hi;
				const float *src = x + (size_t)ty * w + base;
				float kv = k[i * kw + j];
				adcnn_valid_cols(base, sw, w, ow, &lo, &hi);
				if (sw == 1)
					for (int ox = lo; ox < hi; ox++)
						acc[ox] += kv * src[ox];
				else
					for (int ox = lo; ox < hi; ox++)
						acc[ox] += kv * src[ox * sw];
			}
		}
	}
}

bool adcnn_conv_depthwise3(const struct adcnn_node *n)
{
	return n->kernel[0] == 3 && n->kernel[1] == 3 && n->dil[0] == 1 && n->dil[1] == 1 &&
	       n->stride[0] == n->stride[1] && (n->stride[0] == 1 || n->stride[0] == 2);
}

/* the tile row and column of the padded plane a 3x3 depthwise layer's outputs read (its
 * first row and column): adcnn_dw3_block's r0 and c0 */
struct dw_pad {
	int r0, c0;
};

static struct dw_pad dw_pad_plan(const struct adcnn_node *n, const struct adcnn_geom *g, int pt, int pl)
{
	int s = n->stride[0];

	return (struct dw_pad){g->out_r0 * s - pt - g->in_r0, g->out_c0 * s - pl - g->in_c0};
}

/* BLIS, or sgemm.c's GEMM where BLIS has no kernels for the machine (or out of memory for
 * its packing, BLIS); single-threaded: threads inside an operator are ours (parallel.c) */
void adcnn_sgemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float *a,
                 int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc)
{
	rntm_t rntm = BLIS_RNTM_INITIALIZER;

	if (adcnn_gemm_bits() != 0 && adcnn_own_sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc))
		return;
	bli_rntm_set_num_threads(1, &rntm);
	bli_sgemm_ex(ta ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE, tb ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE,
	             (dim_t)m, (dim_t)n, (dim_t)k, &alpha, (float *)a, (inc_t)lda, 1, (float *)b,
	             (inc_t)ldb, 1, &beta, c, (inc_t)ldc, 1, NULL, &rntm);
}

/* im2col workspace, kept per thread between layers: growing it once beats mapping and
 * faulting in megabytes for every convolution; a second per-thread buffer, for small
 * scratch beside a workspace already in use; a third for sgemm.c's packed blocks; a fourth
 * for what the threads of one layer all write or read (its shared columns), so that the
 * others stay each one thread's: on a Zen 5, a core's stores to lines the other core had
 * written cost several times its stores to its own (Winograd's transformed weights, made
 * by the calling thread in a workspace the other thread had filled with a layer's shared
 * columns, 626-631 us against 172-276 in the helper's own). All from
 * pool.c, and back to it when they grow or their thread ends (adcnn_run's tile threads end
 * with each run: freeing their buffers and faulting them in again cost about 1000 page
 * faults a run, 4 MiB, of --bench on ResNet-18's 2x2 bundle); there they serve tensors too. */
struct tbuf {
	float *p;
	size_t len; /* floats */
	size_t cap; /* pool.c's capacity */
};
static _Thread_local struct tbuf work, scratch, pack, shared;

void adcnn_thread_release(void)
{
	adcnn_pool_put(work.p, work.cap);
	adcnn_pool_put(scratch.p, scratch.cap);
	adcnn_pool_put(pack.p, pack.cap);
	adcnn_pool_put(shared.p, shared.cap);
	memset(&shared, 0, sizeof(shared));
	memset(&work, 0, sizeof(work));
	memset(&scratch, 0, sizeof(scratch));
	memset(&pack, 0, sizeof(pack));
}

/* a buffer of at least n floats, grown (its contents lost) when too small; on a cache line,
 * as the kernels' vectors are */
static float *grow(struct tbuf *b, size_t n)
{
	if (b->p == NULL || n > b->len) {
		size_t bytes = sizeof(float) * n + ADCNN_SLACK, cap;
		void *p;
		adcnn_pool_put(b->p, b->cap);
		b->p = NULL;
		p = adcnn_pool_get(bytes, false, &cap);
		if (p == NULL)
			return NULL;
		b->p = p;
		b->cap = cap;
		b->len = ((cap > bytes ? cap : bytes) - ADCNN_SLACK) / sizeof(float);
	}
	return b->p;
}

float *adcnn_workspace(size_t n)
{
	return grow(&work, n);
}

float *adcnn_scratch(size_t n)
{
	return grow(&scratch, n);
}

float *adcnn_gemm_space(size_t n)
{
	return grow(&pack, n);
}

float *adcnn_shared_space(size_t n)
{
	return grow(&shared, n);
}

static int conv_algo = -1;
static pthread_once_t conv_algo_once = PTHREAD_ONCE_INIT;
static bool wide_vectors; /* 512-bit: pgemm.c's kernel, and where it is the automatic choice */
static bool avx2;         /* and FMA: where pgemm8.c's kernel is */

/* ADCNN_CONV's values, by conv_algo; an unknown one is taken for auto */
static const char *const algo_names[] = {"auto", "im2col", "winograd", "panels"};

static int algo_of(const char *e)
{
	for (int a = 0; e != NULL && a < (int)(sizeof(algo_names) / sizeof(algo_names[0])); a++)
		if (strcmp(e, algo_names[a]) == 0)
			return a;
	return -1;
}

static void conv_algo_env(void)
{
	int a = algo_of(getenv("ADCNN_CONV"));

#if defined(__x86_64__) && defined(__GNUC__)
	wide_vectors = __builtin_cpu_supports("avx512f");
	avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
	if (conv_algo < 0)
		conv_algo = a < 0 ? 0 : a;
}

const char *adcnn_env_error(void)
{
	static _Thread_local char msg[256];
	const char *e = getenv("ADCNN_CONV"), *g = getenv("ADCNN_GEMM");
	int n = 0;

	msg[0] = '\0';
	if (e != NULL && *e != '\0' && algo_of(e) < 0)
		n = snprintf(msg, sizeof(msg), "ADCNN_CONV=%.40s: not auto, im2col, winograd or panels; taking auto", e);
	if (g != NULL && *g != '\0' && !adcnn_gemm_known(g))
		snprintf(msg + n, sizeof(msg) - (size_t)n, "%sADCNN_GEMM=%.40s: not blis or own; taking the automatic choice",
		         n > 0 ? "; " : "", g);
	return msg[0] != '\0' ? msg : NULL;
}

void adcnn_conv_algo_set(int algo)
{
	pthread_once(&conv_algo_once, conv_algo_env);
	conv_algo = algo;
}

bool adcnn_wide_vectors(void)
{
	pthread_once(&conv_algo_once, conv_algo_env);
	return wide_vectors;
}

int adcnn_vector_floats(void)
{
	pthread_once(&conv_algo_once, conv_algo_env);
	return wide_vectors ? 16 : avx2 ? 8 : 4;
}

/* the threads worth sharing a layer by its arithmetic among */
static int work_threads(int N, int M, size_t K, int oh, int ow)
{
	return adcnn_threads_for(2.0 * N * M * (double)K * oh * ow);
}

/* Where the panel GEMM takes its rows path (each thread a share of the output rows through
 * every panel, its own im2col columns: conv.c below): 512-bit vectors, several threads, 4
 * output rows a thread or more */
static bool rows_path(int threads, int oh)
{
	return threads > 1 && wide_vectors && oh >= 4 * threads;
}

/* On several threads, planes of 28x28 and less that the rows path takes go to it, not to
 * Winograd: split by tile rows, each of Winograd's threads transforms all the weights
 * itself, and at 28x28 that is a large share of the layer. Measured in whole runs on two
 * threads (AVX-512, per node, three interleaved rounds): ResNet-18's 28x28 layers 0.81-0.91
 * -> 0.77-0.80 ms, VGG-16's 8.0, 13.6 and 13.4 -> 6.0, 12.1 and 11.8 ms; at 56x56 Winograd
 * stays far ahead (ResNet-18's 0.55-0.70 ms against 0.97-1.02). */
static bool use_winograd(const struct adcnn_node *n, int G, int C, int M, int oh, int ow, int threads)
{
	pthread_once(&conv_algo_once, conv_algo_env);
	if (conv_algo == 1 || conv_algo == 3 || G != 1 || n->kernel[0] != 3 || n->kernel[1] != 3 ||
	    n->stride[0] != 1 || n->stride[1] != 1 || n->dil[0] != 1 || n->dil[1] != 1)
		return false;
	if (conv_algo == 0 && rows_path(threads, oh) && (size_t)oh * ow <= 784 &&
	    adcnn_panels_worth(M, (size_t)C * 9))
		return false;
	return conv_algo == 2 || adcnn_winograd_fits(C, M, oh, ow);
}

/* Where pgemm.c beats BLIS: few output positions (at most 28x28; a 3x3 stride-1 layer from
 * 13x13 up goes to Winograd, which is asked first, on one thread) and many weights
 * (adcnn_panels_worth). From 20x20 to 28x28 on one thread, ResNet-18's stride-2 layer to
 * 28x28 (K 576) in whole runs, three interleaved rounds: 0.88-1.0 -> 0.82-0.86 ms; on two
 * threads (the rows path) 0.67 -> 0.50.
 * Measured on one core (AVX-512): ResNet-18's 7x7 layers, e.g. M 512, N 49, K 4608: 94-101
 * GFLOP/s against BLIS's 74-77. On AVX2, pgemm8.c's kernel, on planes of at most 64
 * positions (7x7 and the tiles of it), measured on one core (Zen 3) against BLIS with the
 * weights out of the cache, as a model's run finds them: MobileNetV2's 7x7 1x1 layers 0.63
 * to 0.92 of BLIS's time, 512 x 49 x 256 0.66; with the weights in the cache, 0.86-1.03;
 * at 14x14, slower. In a whole run of MobileNetV2, its 7x7 1x1 layers 2.9-3.7 -> 2.2 ms
 * (four interleaved runs). Its gain is in the weights: it asks for them while it computes,
 * where BLIS packs them first. Above K 1024 that holds for weights that come from memory
 * on enough positions: ResNet-18's 7x7 3x3 layers (512 outputs, K 2304 and 4608, 9.4 MB of
 * weights, 49 positions) 0.82-0.93 of BLIS's time alone, the whole model 48-50 -> 44-47 ms
 * in its fastest runs; but 1.24-1.37 on 16 positions (BLIS's own tile width), and a 2x2
 * bundle's tiles, whose layer3 has 49 positions and 2.4 MB of weights, ran 8% slower on two
 * cores (36.5 -> 39.5 ms; with the input packed through the taps, 3-4% on one core, as fast
 * on two; with pgemm8.c's loop of four steps, 0.97-0.99 of the time, inside the noise).
 * Since the input is packed through the taps rather than from im2col's columns, also
 * windows wider than 1x1 on 65 to 196 positions (14x14) with K of 2048 or more, where
 * BLIS had been faster: alone, a layer run again and again on one core and on two, each
 * round both ways one after the other (the median of ten rounds' ratios), ResNet-18's 256 x
 * 256 at 14x14 0.83-0.92 and 0.93-0.94 of BLIS's time, 256 x 256 at 10x10 0.93 and 0.87;
 * ResNet-18 whole, ten rounds, 0.955 and 0.986 (its fastest runs 37.3 -> 36.0 ms, 20.2 ->
 * 19.5). Not below K 2048: 128 -> 256 at stride 2 to 14x14 (K 1152) 0.97-1.0, 160 -> 320
 * at 14x14 (K 1440) 0.98-0.99. */
static bool use_pgemm(int G, int Cg, int Mg, size_t K, int oh, int ow)
{
	pthread_once(&conv_algo_once, conv_algo_env);
	if (G != 1 || conv_algo == 1 || conv_algo == 2 || (Cg == 1 && Mg == 1))
		return false;
	/* forced: wherever there are panels or they can be made (a mapped model has them for
	 * the weights adcnn_panels_wanted chose, and runs the others with BLIS) */
	if (conv_algo == 3)
		return true;
	/* the weights the ready form keeps panels of, so that a parsed model and a mapped one take
	 * the same path (and give the same bytes) */
	if (!adcnn_panels_worth(Mg, K))
		return false;
	if (wide_vectors)
		return (size_t)oh * ow <= 784;
	/* above K 1024, only weights that come from memory (4 MiB or more) and 36 positions or
	 * more; or a window's K of 2048 or more on up to 196 positions */
	return avx2 && (((size_t)oh * ow <= 64 &&
	                 (K <= 1024 || ((size_t)Mg * K >= ((size_t)1 << 20) && (size_t)oh * ow >= 36))) ||
	                (K > (size_t)Cg && K >= 2048 && (size_t)oh * ow > 64 && (size_t)oh * ow <= 196));
}

/* Where rowgemm.c beats BLIS: layers of few input channels (K <= 64) on 256-bit vectors
 * (AVX2), where packing x and the pass of the bias cost BLIS most for the arithmetic: 1x1
 * stride-1 layers, reading x itself, and the others' im2col columns. Measured on one core
 * (AVX2, Zen 3), the fastest of interleaved runs: MobileNetV2's expanding layers, K 16 to
 * 32 from 56x56 down, 0.84-0.87 of BLIS's time (112x112 by 32 to 16: 0.98); K 64,
 * 0.97-0.98; from K 96 up, 1.02-1.19 in a first run of six (x's rows of a tile leave the L1
 * cache). The first layers (RGB, 3x3, K 27), each alone: MobileNetV2's (stride 2, 32
 * channels) 0.50-0.57 -> 0.39-0.47 ms, VGG-16's (stride 1, 64) 4.1-5.9 -> 3.0-3.7. With
 * 512-bit vectors (tiles of 32 positions), on one core (Zen 5), against BLIS: VGG-16's
 * first layer alone 1.28-1.60 -> 0.99-1.27 ms (two threads 0.97-1.10 -> 0.51-0.71);
 * MobileNetV2's 32 -> 16 at 112x112 in a whole run 142 -> 105 us, its 32 -> 192 layers at
 * 28x28 58 -> 51, K 64 the same; with fuse.c, which takes this path, the whole model
 * 5.17-6.04 -> 5.03-5.63 ms (six interleaved rounds). There, up to K 160 for few outputs
 * (M <= 32: a tile of x serves few channel tiles): MobileNetV2's projections 96 -> 24 at
 * 56x56 111-114 -> 78-81 us, 144 -> 24 159-164 -> 121-127, 144 -> 32 at 28x28 53-56 ->
 * 47; its 96 -> 576 expansions at 14x14 lost (151-162 -> 180-186 us). Layers of a wider
 * window (im2col's columns, not x) up to K 160 whatever M: ResNet-18's first (7x7, stride
 * 2, K 147, 64 channels) alone, six interleaved rounds, 1.56-1.59 -> 1.43-1.47 ms on one
 * thread, 0.81-0.82 -> 0.73-0.75 on two; in whole runs, three rounds, 1.70-1.77 ->
 * 1.61-1.74 and 0.91-0.96 -> 0.87-0.97, inside the machine's noise. */
static bool use_rowgemm(size_t K, int M, bool window)
{
	pthread_once(&conv_algo_once, conv_algo_env);
	return conv_algo == 0 && (K <= 64 || (wide_vectors && (M <= 32 || window) && K <= 160));
}

bool adcnn_conv_rowgemm(size_t K, int M)
{
	return use_rowgemm(K, M, false);
}

/* a run of neighbouring panels of one image, for adcnn_parallel. A thread takes its panels in
 * runs, not one at a time, so that the kernel's reads ahead (pgemm8.c asks for the next panel
 * while it computes one) are for its own next panel: taken one at a time, panels went to the
 * threads in turn, and each thread asked for the panel the other was on and waited on its own
 * (layers alone, caches cold, two threads, the fastest of 12 interleaved rounds: MobileNetV2's
 * 320 -> 1280 and 960 -> 320 at 7x7 0.71 -> 0.66 and 0.59 -> 0.55 ms, a 512 x 512 3x3 layer
 * at 7x7 2.98 -> 2.66 ms) */
struct pgemm_job {
	const float *panels, *x, *b;
	float *y;
	int M, np, runs;
	size_t K, ldx, xstride, plane;
	const struct adcnn_act *act;
	int cparts; /* each panel's columns in this many parts, whole tiles each */
	float *xp;  /* pgemm8.c's kernel (NULL: pgemm.c's): x packed, K * plane floats an image */
	int kparts; /* the packing of each part of the columns, in this many shares of the rows */
};

/* panel p of image bn, the columns of part cp */
static void pgemm_panel(const struct pgemm_job *j, int bn, int p, int cp)
{
	if (j->xp != NULL) {
		size_t nt = adcnn_pgemm8_tiles(j->plane), t0 = nt * (size_t)cp / (size_t)j->cparts;
		size_t t1 = nt * (size_t)(cp + 1) / (size_t)j->cparts;
		if (t1 > t0)
			adcnn_pgemm8(j->panels, j->M, p, j->K, j->xp + (size_t)bn * j->K * j->plane, j->plane, t0, t1,
			             j->y + (size_t)bn * j->M * j->plane, j->plane, j->b, j->act);
		return;
	}
	size_t tiles = (j->plane + ADCNN_PGEMM_NR - 1) / ADCNN_PGEMM_NR;
	size_t c0 = tiles * (size_t)cp / (size_t)j->cparts * ADCNN_PGEMM_NR;
	size_t c1 = cp + 1 == j->cparts ? j->plane : tiles * (size_t)(cp + 1) / (size_t)j->cparts * ADCNN_PGEMM_NR;

	if (c1 > c0)
		adcnn_pgemm(j->panels, j->M, p, j->K, j->x + (size_t)bn * j->xstride + c0, j->ldx, (int)(c1 - c0),
		            j->y + (size_t)bn * j->M * j->plane + c0, j->plane, j->b, j->act);
}

/* run r of the panels starts at panel run_start(r): the longer runs (by one panel) first, as
 * the threads take them in turn (10 panels in runs of 2, 3, 2, 3 gave one of two threads 6) */
static int run_start(const struct pgemm_job *j, int r)
{
	int q = j->np / j->runs, rem = j->np % j->runs;

	return r * q + (r < rem ? r : rem);
}

static void pgemm_piece(void *arg, int i)
{
	struct pgemm_job *j = arg;
	int cp = i % j->cparts, r = i / j->cparts % j->runs, bn = i / j->cparts / j->runs;

	for (int p = run_start(j, r); p < run_start(j, r + 1); p++)
		pgemm_panel(j, bn, p, cp);
}

/* x (or its columns) into pgemm8.c's tiles: a piece is an image's part of them, a share of
 * their rows (with the columns in one part, as on a 7x7 plane, one thread packed them all
 * while the others waited) */
static void pgemm_pack_piece(void *arg, int i)
{
	struct pgemm_job *j = arg;
	int kp = i % j->kparts, cp = i / j->kparts % j->cparts, bn = i / j->kparts / j->cparts;
	size_t nt = adcnn_pgemm8_tiles(j->plane);

	adcnn_pgemm8_pack(j->x + (size_t)bn * j->xstride, j->ldx, j->K, j->plane, nt * (size_t)cp / (size_t)j->cparts,
	                  nt * (size_t)(cp + 1) / (size_t)j->cparts, j->K * (size_t)kp / (size_t)j->kparts,
	                  j->K * (size_t)(kp + 1) / (size_t)j->kparts, j->xp + (size_t)bn * j->K * j->plane);
}

#define COL_BUDGET ((size_t)1 << 21) /* floats of im2col workspace per chunk: 8 MiB */
#define COL_WIDTH ((size_t)2048)

/* one image's channel of a depthwise convolution, for adcnn_parallel */
struct dw_job {
	const struct adcnn_node *n;
	const struct adcnn_geom *g;
	const float *x, *w, *b;
	float *y;
	int C, h, w_, pt, pl, oh, ow;
	struct dw_pad pad;
	const struct adcnn_act *act;
	atomic_int nomem;
	int parts; /* dw_planes: the planes in this many runs of neighbours */
	int nplanes;
};

/* output rows [oy0, oy1) of the block of 8 channels from c0 of image bn (adcnn_dw3_block) */
static void dw3_part(const struct dw_job *j, int bn, int c0, int oy0, int oy1, float *work)
{
	int nl = j->C - c0 < ADCNN_DW_LANES ? j->C - c0 : ADCNN_DW_LANES;
	size_t in_plane = (size_t)j->h * j->w_, plane = (size_t)j->oh * j->ow;

	adcnn_dw3_block(j->x + ((size_t)bn * j->C + (size_t)c0) * in_plane, in_plane, nl, j->h, j->w_,
	                j->w + (size_t)c0 * 9, j->b ? j->b + c0 : NULL, j->n->stride[0],
	                j->pad.r0 + oy0 * j->n->stride[0], j->pad.c0, oy1 - oy0, j->ow,
	                j->y + ((size_t)bn * j->C + (size_t)c0) * plane + (size_t)oy0 * j->ow, plane,
	                j->act, work);
}

/* a block of 8 channels of one image, every row, for adcnn_parallel */
static void dw_block(void *arg, int i)
{
	struct dw_job *j = arg;
	int nb = (j->C + ADCNN_DW_LANES - 1) / ADCNN_DW_LANES;
	float *work = adcnn_workspace(adcnn_dw3_block_work(j->n->stride[0], j->ow));

	if (work == NULL) {
		atomic_store(&j->nomem, 1);
		return;
	}
	dw3_part(j, i / nb, i % nb * ADCNN_DW_LANES, 0, j->oh, work);
}

/* part i % parts of the output rows of image i / parts, every channel, 8 at a time
 * (adcnn_row_parts) */
static void dw_rows(void *arg, int i)
{
	struct dw_job *j = arg;
	int bn = i / j->parts, part = i % j->parts;
	int oy0 = (int)((long)j->oh * part / j->parts), oy1 = (int)((long)j->oh * (part + 1) / j->parts);
	float *work = adcnn_workspace(adcnn_dw3_block_work(j->n->stride[0], j->ow));

	if (work == NULL) {
		atomic_store(&j->nomem, 1);
		return;
	}
	for (int c0 = 0; c0 < j->C && oy1 > oy0; c0 += ADCNN_DW_LANES)
		dw3_part(j, bn, c0, oy0, oy1, work);
}

/* a channel of any other depthwise layer */
static void dw_plane(void *arg, int i)
{
	struct dw_job *j = arg;
	int c = i % j->C;
	const float *x = j->x + (size_t)i * j->h * j->w_;
	float *y = j->y + (size_t)i * j->oh * j->ow;
	float bias = j->b ? j->b[c] : 0.0f;

	depthwise(x, j->h, j->w_, j->w + (size_t)c * j->n->kernel[0] * j->n->kernel[1], bias, j->n, j->g,
	          j->pt, j->pl, j->oh, j->ow, y);
	adcnn_act_apply(j->act, y, (size_t)j->oh * j->ow);
}

/* a run of neighbouring planes: a plane of 14x14 is some 100 ns of work, about what taking
 * a piece from the shared counter costs when two cores take turns at it (MobileNetV2's
 * 14x14 layers gained 1.05-1.2x from a second thread a plane at a time) */
static void dw_planes(void *arg, int part)
{
	struct dw_job *j = arg;
	int nc = j->nplanes, i0 = (int)((long)nc * part / j->parts), i1 = (int)((long)nc * (part + 1) / j->parts);

	for (int i = i0; i < i1; i++)
		dw_plane(arg, i);
}

/* the GEMM path: a piece is (image, group, chunk of output rows, part of the group's output
 * channels): im2col of the chunk into the running thread's workspace, one GEMM, then the bias
 * and the activation */
struct gemm_job {
	const struct adcnn_node *n;
	const struct adcnn_geom *g;
	const float *x, *w, *b;
	float *y;
	int C, h, w_, M, G, Cg, Mg, pt, pl, oh, ow;
	size_t K, rows_per;
	bool direct;
	int chunks, mparts;
	const struct adcnn_act *act;
	atomic_int nomem;
	float *shared;  /* NULL, or every chunk's columns, made once for all the threads */
	int cparts;     /* the pieces of each chunk's im2col into shared */
	bool rows;      /* by rowgemm.c rather than BLIS (x itself where direct, else the columns) */
	bool flip;      /* direct, few positions: the GEMM of the output transposed (below) */
	int rparts;     /* gemm_rows: each image's chunks in this many runs (adcnn_row_parts) */
};

/* the output rows of a chunk */
static void chunk_rows(const struct gemm_job *j, int chunk, int *y0, int *y1)
{
	*y0 = chunk * (int)j->rows_per;
	*y1 = *y0 + (int)j->rows_per > j->oh ? j->oh : *y0 + (int)j->rows_per;
}

/* chunk c (of image bn, group grp, numbered (bn * G + grp) * chunks + chunk) in shared */
static float *shared_cols(const struct gemm_job *j, int c)
{
	return j->shared + (size_t)c * j->K * j->rows_per * (size_t)j->ow;
}

/* a share of one chunk's im2col into shared: input channels [c0, c1) */
static void im2col_piece(void *arg, int i)
{
	struct gemm_job *j = arg;
	int cp = i % j->cparts, c = i / j->cparts, chunk = c % j->chunks, grp = c / j->chunks % j->G;
	int bn = c / j->chunks / j->G, y0, y1;
	int c0 = (int)((long)j->Cg * cp / j->cparts), c1 = (int)((long)j->Cg * (cp + 1) / j->cparts);
	size_t ncol, kk = (size_t)j->n->kernel[0] * j->n->kernel[1];
	const float *xg = j->x + ((size_t)bn * j->C + (size_t)grp * j->Cg) * j->h * j->w_;

	if (c1 <= c0)
		return;
	chunk_rows(j, chunk, &y0, &y1);
	ncol = (size_t)(y1 - y0) * j->ow;
	im2col(xg + (size_t)c0 * j->h * j->w_, c1 - c0, j->h, j->w_, j->n, j->g, j->pt, j->pl, y0, y1,
	       j->ow, shared_cols(j, c) + (size_t)c0 * kk * ncol);
}

static void gemm_piece(void *arg, int i)
{
	struct gemm_job *j = arg;
	int mp = i % j->mparts, chunk = i / j->mparts % j->chunks, grp = i / j->mparts / j->chunks % j->G;
	int bn = i / j->mparts / j->chunks / j->G;
	int y0, y1;
	int m0 = (int)((long)j->Mg * mp / j->mparts), m1 = (int)((long)j->Mg * (mp + 1) / j->mparts);
	size_t plane = (size_t)j->oh * j->ow, ncol;
	const float *xg = j->x + ((size_t)bn * j->C + (size_t)grp * j->Cg) * j->h * j->w_;
	float *yg = j->y + ((size_t)bn * j->M + (size_t)grp * j->Mg) * plane;
	const float *bm;
	int64_t ldb;

	if (m1 <= m0)
		return;
	chunk_rows(j, chunk, &y0, &y1);
	ncol = (size_t)(y1 - y0) * j->ow;
	if (j->direct) {
		bm = xg + (size_t)y0 * j->ow;
		ldb = (int64_t)plane;
	} else if (j->shared != NULL) {
		bm = shared_cols(j, (bn * j->G + grp) * j->chunks + chunk);
		ldb = (int64_t)ncol;
	} else {
		float *col = adcnn_workspace(j->K * ncol);
		if (col == NULL) {
			atomic_store(&j->nomem, 1);
			return;
		}
		im2col(xg, j->Cg, j->h, j->w_, j->n, j->g, j->pt, j->pl, y0, y1, j->ow, col);
		bm = col;
		ldb = (int64_t)ncol;
	}
	if (j->rows) {
		if (!adcnn_rowgemm(j->w + ((size_t)grp * j->Mg + m0) * j->K, m1 - m0, j->K, bm, (size_t)ldb,
		                   ncol, yg + (size_t)m0 * plane + (size_t)y0 * j->ow, plane,
		                   j->b ? j->b + grp * j->Mg + m0 : NULL, j->act))
			atomic_store(&j->nomem, 1);
		return;
	}
	if (j->flip) {
		/* positions x channels = x^T w^T, then transposed into place: BLIS's 6x16 tiles put
		 * the channels, not 49 positions (a 7x7 plane: 3 tiles and a 16th of one), across
		 * its 16 */
		size_t mm = (size_t)(m1 - m0);
		float *t = adcnn_workspace(ncol * mm);
		if (t == NULL) {
			atomic_store(&j->nomem, 1);
			return;
		}
		adcnn_sgemm(true, true, (int64_t)ncol, (int64_t)mm, (int64_t)j->K, 1.0f, bm, ldb,
		            j->w + ((size_t)grp * j->Mg + m0) * j->K, (int64_t)j->K, 0.0f, t, (int64_t)mm);
		for (size_t m = 0; m < mm; m++) {
			float *row = yg + (m0 + m) * plane + (size_t)y0 * j->ow;
			for (size_t p = 0; p < ncol; p++)
				row[p] = t[p * mm + m];
		}
	} else {
		adcnn_sgemm(false, false, m1 - m0, (int64_t)ncol, (int64_t)j->K, 1.0f,
		            j->w + ((size_t)grp * j->Mg + m0) * j->K, (int64_t)j->K, bm, ldb, 0.0f,
		            yg + (size_t)m0 * plane + (size_t)y0 * j->ow, (int64_t)plane);
	}
	/* the bias and activation in one pass over the piece, while it is in the cache */
	if (j->b != NULL || j->act != NULL)
		for (int m = m0; m < m1; m++)
			adcnn_bias_act(j->act, j->b ? j->b[grp * j->Mg + m] : 0.0f,
			               yg + (size_t)m * plane + (size_t)y0 * j->ow, ncol);
}

/* run i % rparts of image i / rparts's chunks, in order (one group, one part of the channels) */
static void gemm_rows(void *arg, int i)
{
	struct gemm_job *j = arg;
	int bn = i / j->rparts, part = i % j->rparts;
	int c0 = (int)((long)j->chunks * part / j->rparts), c1 = (int)((long)j->chunks * (part + 1) / j->rparts);

	for (int c = c0; c < c1; c++)
		gemm_piece(arg, bn * j->chunks + c);
}

/* the rows (R) and columns (W) of the input that `rows` output rows of ow read through n's
 * window */
static void taps_span(const struct adcnn_node *n, int rows, int ow, int *R, int *W)
{
	*R = (rows - 1) * n->stride[0] + (n->kernel[0] - 1) * n->dil[0] + 1;
	*W = (ow - 1) * n->stride[1] + (n->kernel[1] - 1) * n->dil[1] + 1;
}

/* rows [r0, r0 + R) and columns [c0, c0 + W) of each of x's C planes (h x w), zero outside
 * them, into s: C x R x W */
static void pad_slice(const float *x, int C, int h, int w, int r0, int R, int c0, int W, float *s)
{
	int a = c0 < 0 ? (-c0 < W ? -c0 : W) : 0, b = w - c0 < W ? w - c0 : W;

	if (b < a)
		b = a;
	for (int c = 0; c < C; c++)
		for (int r = 0; r < R; r++) {
			float *d = s + ((size_t)c * R + (size_t)r) * W;
			int ty = r0 + r;
			if (ty < 0 || ty >= h) {
				memset(d, 0, sizeof(float) * (size_t)W);
				continue;
			}
			memset(d, 0, sizeof(float) * (size_t)a);
			if (b > a)
				memcpy(d + a, x + ((size_t)c * h + (size_t)ty) * w + (c0 + a), sizeof(float) * (size_t)(b - a));
			memset(d + b, 0, sizeof(float) * (size_t)(W - b));
		}
}

/* the input channels [ch0, ch0 + nc) of image bn that output rows [y0, y0 + rows) read
 * through the taps, padded (pad_slice), in the running thread's workspace; after them the
 * taps' offsets into it (nc kh kw ints, in *koff) and room for `extra` ints more; the slice's
 * rows and columns in *R and *W. NULL: out of memory */
static float *taps_slice(const struct gemm_job *cj, int bn, int ch0, int nc, int y0, int rows, size_t extra,
                         int **koff, int *R, int *W)
{
	const struct adcnn_node *n = cj->n;
	int kh = n->kernel[0], kw = n->kernel[1], dh = n->dil[0], dw = n->dil[1];
	/* from row r0 and column c0 of the tile (either may be before it) */
	int r0 = (cj->g->out_r0 + y0) * n->stride[0] - cj->pt - cj->g->in_r0;
	int c0 = cj->g->out_c0 * n->stride[1] - cj->pl - cj->g->in_c0;
	int sr, sc, *ko;
	size_t slice;
	float *xs;

	taps_span(n, rows, cj->ow, &sr, &sc);
	slice = (size_t)nc * sr * sc;
	if ((xs = adcnn_workspace(slice + (size_t)nc * kh * kw + extra)) == NULL)
		return NULL;
	ko = (int *)(xs + slice);
	pad_slice(cj->x + ((size_t)bn * cj->C + (size_t)ch0) * cj->h * cj->w_, nc, cj->h, cj->w_, r0, sr, c0, sc, xs);
	for (int c = 0, k = 0; c < nc; c++)
		for (int a = 0; a < kh; a++)
			for (int b = 0; b < kw; b++)
				ko[k++] = (c * sr + a * dh) * sc + b * dw;
	*koff = ko;
	*R = sr;
	*W = sc;
	return xs;
}

/* the pieces a layer's input channels are shared out in among its threads */
static int channel_parts(int threads, int C)
{
	return threads > 1 ? (C < 2 * threads ? C : 2 * threads) : 1;
}

/* a share of an image's output rows through every panel, in the running thread's own
 * workspace: the input's rows and columns it reads, padded, each panel reading them through
 * the taps' offsets (adcnn_pgemm_taps; im2col's columns, nine times the input at 3x3, had
 * been a tenth of the layer); or, 1x1, x's own columns, part `part` of them as pgemm_panel
 * cuts them (pj->cparts parts) */
struct prows_job {
	const struct pgemm_job *pj;
	const struct gemm_job *cj; /* im2col's geometry; NULL where x is read as it is */
	int parts;
	atomic_int nomem;
};

static void prows_piece(void *arg, int i)
{
	struct prows_job *r = arg;
	const struct pgemm_job *j = r->pj;
	const struct gemm_job *cj = r->cj;
	int part = i % r->parts, bn = i / r->parts;

	if (cj == NULL) {
		for (int p = 0; p < j->np; p++)
			pgemm_panel(j, bn, p, part);
		return;
	}
	const struct adcnn_node *n = cj->n;
	int y0 = (int)((long)cj->oh * part / r->parts), y1 = (int)((long)cj->oh * (part + 1) / r->parts);
	int sh = n->stride[0], sw = n->stride[1], R, W;
	float *xs;
	int *koff;

	if (y1 <= y0)
		return;
	/* the tile's rows and columns the part reads, every channel */
	if ((xs = taps_slice(cj, bn, 0, cj->C, y0, y1 - y0, 0, &koff, &R, &W)) == NULL) {
		atomic_store(&r->nomem, 1);
		return;
	}
	for (int p = 0; p < j->np; p++)
		adcnn_pgemm_taps(j->panels, j->M, p, j->K, xs, koff, y1 - y0, cj->ow, (size_t)sh * W, sw,
		                 j->y + (size_t)bn * j->M * j->plane + (size_t)y0 * cj->ow, j->plane, j->b, j->act);
}

/* pgemm8.c's packing of a share of an image's input channels (the rows of K they make),
 * read through the taps from a padded copy of those channels in the running thread's own
 * workspace, where im2col's columns were made, then packed: the two passes took 7-8% of a
 * 512 x 512 7x7 layer's time on one thread (perf), this one 2.4% */
static void pack_taps_piece(void *arg, int i)
{
	struct prows_job *r = arg;
	const struct pgemm_job *j = r->pj;
	const struct gemm_job *cj = r->cj;
	const struct adcnn_node *n = cj->n;
	int part = i % r->parts, bn = i / r->parts;
	int ch0 = (int)((long)cj->C * part / r->parts), ch1 = (int)((long)cj->C * (part + 1) / r->parts);
	int kh = n->kernel[0], kw = n->kernel[1], sh = n->stride[0], sw = n->stride[1], nc = ch1 - ch0, R, W;
	float *xs;
	int *koff, *coff;

	if (nc <= 0)
		return;
	/* the channels' slice and taps, then the output positions' offsets (plane ints) */
	if ((xs = taps_slice(cj, bn, ch0, nc, 0, cj->oh, j->plane, &koff, &R, &W)) == NULL) {
		atomic_store(&r->nomem, 1);
		return;
	}
	coff = koff + (size_t)nc * kh * kw;
	for (int oy = 0, o = 0; oy < cj->oh; oy++)
		for (int ox = 0; ox < cj->ow; ox++)
			coff[o++] = oy * sh * W + ox * sw;
	adcnn_pgemm8_pack_taps(xs, koff, coff, j->K, j->plane, (size_t)ch0 * kh * kw, (size_t)ch1 * kh * kw,
	                       j->xp + (size_t)bn * j->K * j->plane);
}

enum adcnn_status adcnn_conv_run(struct adcnn_ctx *ctx, const struct adcnn_node *n,
                                 const struct adcnn_tensor *x, const struct adcnn_tensor *wt,
                                 const struct adcnn_tensor *b, struct adcnn_tensor **out,
                                 const struct adcnn_geom *geom)
{
	return adcnn_conv_run_act(ctx, n, x, wt, b, out, geom, NULL);
}

enum adcnn_status adcnn_conv_run_act(struct adcnn_ctx *ctx, const struct adcnn_node *n,
                                     const struct adcnn_tensor *x, const struct adcnn_tensor *wt,
                                     const struct adcnn_tensor *b, struct adcnn_tensor **out,
                                     const struct adcnn_geom *geom, const struct adcnn_act *act)
{
	struct adcnn_geom plain;
	const struct adcnn_geom *g = geom;
	int N, C, h, w, M, G, Cg, Mg, kh, kw, pt, pl, oh, ow, fh, fw;
	struct adcnn_tensor *y = NULL;
	size_t K, rows_per;

	if (x->rank != 4 || x->dtype != ADCNN_F32)
		return adcnn_set_error(ctx, ADCNN_ERR_UNSUPPORTED, "node '%s' (Conv): input must be 4-D float32", n->name);
	N = (int)x->dims[0]; C = (int)x->dims[1]; h = (int)x->dims[2]; w = (int)x->dims[3];
	M = (int)wt->dims[0]; G = n->group; Cg = (int)wt->dims[1]; Mg = M / G;
	kh = n->kernel[0]; kw = n->kernel[1];
	if (Cg * G != C)
		return adcnn_set_error(ctx, ADCNN_ERR_MISMATCH, "node '%s' (Conv): input has %d channels, weights expect %d", n->name, C, Cg * G);
	if (b != NULL && b->n != (size_t)M)
		return adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "node '%s' (Conv): bias has %zu values, expected %d", n->name, b->n, M);
	if (g == NULL) {
		plain = (struct adcnn_geom){0, 0, h, w, 0, 0, 0, 0};
		plain.out_r1 = adcnn_window_out(n, 0, h, NULL, NULL);
		plain.out_c1 = adcnn_window_out(n, 1, w, NULL, NULL);
		g = &plain;
	}
	fh = adcnn_window_out(n, 0, g->in_H, &pt, NULL);
	fw = adcnn_window_out(n, 1, g->in_W, &pl, NULL);
	oh = g->out_r1 - g->out_r0;
	ow = g->out_c1 - g->out_c0;
	if (fh <= 0 || fw <= 0 || oh <= 0 || ow <= 0 || g->out_r1 > fh || g->out_c1 > fw)
		return adcnn_set_error(ctx, ADCNN_ERR_MISMATCH, "node '%s' (Conv): input %dx%d too small for the kernel", n->name, h, w);
	y = adcnn_tensor_new_uninit(4, (int64_t[]){N, M, oh, ow});
	if (y == NULL)
		return adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory in node '%s'", n->name);
	if (Cg == 1 && Mg == 1) {
		struct dw_job dj = {n, g, x->d.f, wt->d.f, b ? b->d.f : NULL, y->d.f, C, h, w, pt, pl, oh, ow,
		                    dw_pad_plan(n, g, pt, pl), act, 0};
		/* depthwise runs at a fraction of a GEMM's FLOP rate: counted 8 times over, so that
		 * a layer shares out from about half a MFLOP */
		int threads = work_threads(N, C, (size_t)kh * kw * 8, oh, ow);
		int rp = adcnn_row_parts(threads, oh, ow);
		if (adcnn_conv_depthwise3(n) && rp > 1) {
			dj.parts = rp;
			adcnn_parallel_n(rp, N * rp, dw_rows, &dj);
		} else if (adcnn_conv_depthwise3(n)) {
			adcnn_parallel_n(threads, N * ((C + ADCNN_DW_LANES - 1) / ADCNN_DW_LANES), dw_block, &dj);
		} else {
			dj.nplanes = N * C;
			dj.parts = threads > 1 && N * C > 8 * threads ? 8 * threads : N * C;
			adcnn_parallel_n(threads, dj.parts, dw_planes, &dj);
		}
		if (dj.nomem) {
			adcnn_tensor_free(y);
			return adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory in node '%s'", n->name);
		}
		*out = y;
		return ADCNN_OK;
	}
	if (use_winograd(n, G, C, M, oh, ow, work_threads(N, M, (size_t)C * 9, oh, ow))) {
		size_t nw = adcnn_winograd_workspace(C, M, oh, ow);
		/* the calling thread's own where each thread takes its tile rows through every step */
		float *work = adcnn_winograd_splits(C, M, oh, ow) ? adcnn_workspace(nw) : adcnn_shared_space(nw);
		bool ok = work != NULL;
		for (int bn = 0; ok && bn < N; bn++)
			ok = adcnn_winograd_conv(x->d.f + (size_t)bn * C * h * w, C, h, w, wt->d.f,
			                         b ? b->d.f : NULL, M, g->out_r0 - pt - g->in_r0,
			                         g->out_c0 - pl - g->in_c0, oh, ow,
			                         y->d.f + (size_t)bn * M * oh * ow, work, act);
		if (!ok) {
			adcnn_tensor_free(y);
			return adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory in node '%s'", n->name);
		}
		*out = y;
		return ADCNN_OK;
	}
	K = (size_t)Cg * kh * kw;
	bool direct = kh == 1 && kw == 1 && n->stride[0] == 1 && n->stride[1] == 1 && pt == 0 && pl == 0 &&
	              g->in_r0 == g->out_r0 && g->in_c0 == g->out_c0 && oh == h && ow == w;
	/* the weights' panels: mapped from the ready form, or made once for a parsed model; with
	 * none (mapped weights the ready form has no panels for), BLIS */
	const float *panels = use_pgemm(G, Cg, Mg, K, oh, ow) ? adcnn_conv_panels(wt, M, K) : NULL;
	if (panels != NULL) {
		size_t plane = (size_t)oh * ow;
		float *cols = NULL;
		int threads = work_threads(N, M, K, oh, ow);
		struct pgemm_job pj = {panels, x->d.f, b ? b->d.f : NULL, y->d.f, M, (M + 31) / 32, 1, K,
		                       plane, (size_t)C * h * w, plane, act, 1};
		/* few panels (96 or 160 output channels: 3 or 5) leave a thread idle at the end:
		 * their columns too are shared out, a panel's weights read once a part */
		/* the im2col geometry of the GEMM path's, each image one chunk of all the rows */
		struct gemm_job cj = {n, g, x->d.f, wt->d.f, NULL, NULL, C, h, w, M, 1, C, M, pt, pl, oh, ow,
		                      K, (size_t)oh, false, 1, 1, act, 0, NULL, 1};
		while (threads > 1 && N * pj.np * pj.cparts < 4 * threads &&
		       (size_t)(pj.cparts + 1) * ADCNN_PGEMM_NR * 2 <= plane)
			pj.cparts++;
		/* on 512-bit vectors and planes of 4 rows a thread or more, each thread takes a share
		 * of the output rows through every panel, making its own im2col columns: made once,
		 * by all the threads (a share of the channels each) and read by all, they crossed
		 * from core to core in both ways, and ResNet-18's 14x14 layers ran 1.3x faster on
		 * two threads than on one in a whole run (2.0x alone). There, two threads, five
		 * interleaved rounds: its 14x14 3x3 layers 0.97-1.0 -> 0.67-0.68 ms, the whole model
		 * 14.0-14.4 -> 13.1-13.4 ms. Each thread reads every panel; on 7x7 planes (7 rows,
		 * 49 columns in tiles of 14 and 7) the shares would be uneven, so they keep runs of
		 * panels. On one thread the same, rows of 14 outputs or more (each a 14-column tile
		 * or more, as the columns of a plane make): the input padded and read through the
		 * taps, not im2col's columns. */
		/* the taps' offsets are ints: a slice of the input they can reach (all of it, the
		 * most a part reads) */
		int sr, sc;
		taps_span(n, oh, ow, &sr, &sc);
		bool taps = !direct && (size_t)C * (size_t)sr * (size_t)sc + K < INT_MAX;
		if ((rows_path(threads, oh) && (direct || taps)) ||
		    (threads == 1 && wide_vectors && taps && ow >= 2 * ADCNN_PGEMM_NR)) {
			struct prows_job rj = {&pj, direct ? NULL : &cj, threads, 0};
			pj.cparts = threads;
			adcnn_parallel_n(threads, N * threads, prows_piece, &rj);
			if (rj.nomem) {
				adcnn_tensor_free(y);
				return adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory in node '%s'", n->name);
			}
			*out = y;
			return ADCNN_OK;
		}
		/* every image's columns, made by the threads (a share of the channels each) before
		 * they share out the panels: for pgemm.c's kernel on 512-bit vectors, which reads
		 * them in place, and on AVX2 where the taps' offsets would not fit in an int */
		if (!direct && (wide_vectors || !taps)) {
			if ((cols = adcnn_shared_space((size_t)N * K * plane)) == NULL) {
				adcnn_tensor_free(y);
				return adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory in node '%s'", n->name);
			}
			cj.shared = cols;
			cj.cparts = channel_parts(threads, C);
			adcnn_parallel_n(threads, N * cj.cparts, im2col_piece, &cj);
			pj.x = cols;
			pj.xstride = K * plane;
		}
		if (!wide_vectors) {
			/* pgemm8.c's kernel: x packed into its tiles first, by the threads: through the
			 * taps, a share of the channels each; or x itself (1x1) or its columns, a share
			 * of the rows each */
			if ((pj.xp = adcnn_scratch((size_t)N * K * plane)) == NULL) {
				adcnn_tensor_free(y);
				return adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory in node '%s'", n->name);
			}
			if (taps) {
				struct prows_job tj = {&pj, &cj, channel_parts(threads, C), 0};
				adcnn_parallel_n(threads, N * tj.parts, pack_taps_piece, &tj);
				if (tj.nomem) {
					adcnn_tensor_free(y);
					return adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory in node '%s'", n->name);
				}
			} else {
				pj.kparts = threads > 1 && N * pj.cparts < 2 * threads ? 2 * threads : 1;
				adcnn_parallel_n(threads, N * pj.cparts * pj.kparts, pgemm_pack_piece, &pj);
			}
		}
		/* two runs of panels a thread, for the threads to even out */
		pj.runs = threads > 1 ? (pj.np < 2 * threads ? pj.np : 2 * threads) : 1;
		adcnn_parallel_n(threads, N * pj.runs * pj.cparts, pgemm_piece, &pj);
		*out = y;
		return ADCNN_OK;
	}
	/* a chunk of at most COL_BUDGET floats and about COL_WIDTH columns: wider chunks gained
	 * nothing in BLIS and lost the workspace from the cache (measured in CPU time) */
	rows_per = direct ? (size_t)oh : COL_BUDGET / (K * (size_t)ow);
	if (!direct && rows_per > COL_WIDTH / (size_t)ow)
		rows_per = COL_WIDTH / (size_t)ow;
	if (rows_per < 1)
		rows_per = 1;
	if (rows_per > (size_t)oh)
		rows_per = (size_t)oh;
	{
		int threads = work_threads(N, M, K, oh, ow), chunks;
		int rp = G == 1 ? adcnn_row_parts(threads, oh, ow) : 1;
		/* a large 1x1 layer's columns shared out; a small one's output channels (below) */
		if (direct && threads > 1 && (size_t)oh * ow >= 4096)
			rows_per = ((size_t)oh + 2 * (size_t)threads - 1) / (2 * (size_t)threads);
		/* a large plane's chunks, in a run of neighbours a thread: as many chunks a thread */
		if (rp > 1) {
			size_t n = ((size_t)oh + rows_per - 1) / rows_per;
			n = (n + (size_t)rp - 1) / (size_t)rp * (size_t)rp;
			rows_per = ((size_t)oh + n - 1) / n;
		}
		chunks = (int)(((size_t)oh + rows_per - 1) / rows_per);
		struct gemm_job gj = {n, g, x->d.f, wt->d.f, b ? b->d.f : NULL, y->d.f, C, h, w, M, G, Cg,
		                      Mg, pt, pl, oh, ow, K, rows_per, direct, chunks, 1, act, 0, NULL, 1};
		int ncombo = chunks * G * N;
		gj.rows = use_rowgemm(K, Mg, kh * kw > 1);
		gj.rparts = rp > 1 && chunks >= rp ? rp : 1;
		/* measured with BLIS alone: faster for K 256 to 2048 and M up to 512 (on 49
		 * positions, 512 x 4608 was slower) */
		gj.flip = direct && !gj.rows && (size_t)oh * ow <= 64 && K >= 256 && K <= 2048 && Mg <= 512;
		/* with more threads than chunks, the output channels are shared out too */
		if (threads > 1 && ncombo < 2 * threads && gj.rparts == 1)
			gj.mparts = (2 * threads + ncombo - 1) / ncombo;
		if (gj.mparts > Mg)
			gj.mparts = Mg;
		/* and then the chunks' columns are made once, by all the threads, for every part to
		 * read, rather than by each part for itself */
		if (gj.mparts > 1 && !direct &&
		    (size_t)ncombo * K * rows_per * (size_t)ow <= 2 * COL_BUDGET &&
		    (gj.shared = adcnn_shared_space((size_t)ncombo * K * rows_per * (size_t)ow)) != NULL) {
			gj.cparts = Cg < 2 * threads ? Cg : 2 * threads;
			adcnn_parallel_n(threads, ncombo * gj.cparts, im2col_piece, &gj);
		}
		if (gj.rparts > 1)
			adcnn_parallel_n(gj.rparts, N * gj.rparts, gemm_rows, &gj);
		else
			adcnn_parallel_n(threads, N * G * chunks * gj.mparts, gemm_piece, &gj);
		if (gj.nomem) {
			adcnn_tensor_free(y);
			return adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory in node '%s'", n->name);
		}
	}
	*out = y;
	return ADCNN_OK;
}
