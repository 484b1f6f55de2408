/* ops.c: every operator but Conv, on float32 (and int64 where shapes are computed). */
#include "config.h"
#include "internal.h"
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#endif

ADCNN_FMA_ON /* twice the arithmetic per instruction in the kernels below */

#define NOMEM() adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory in node '%s'", n->name)

static enum adcnn_status need_f32(struct adcnn_ctx *ctx, const struct adcnn_node *n,
                                  const struct adcnn_tensor *t)
{
	if (t == NULL)
		return adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "node '%s' (%s): missing input", n->name, adcnn_op_name(n->op));
	if (t->dtype != ADCNN_F32)
		return adcnn_set_error(ctx, ADCNN_ERR_UNSUPPORTED, "node '%s' (%s): input is not float32", n->name, adcnn_op_name(n->op));
	return ADCNN_OK;
}

static int norm_axis(int axis, int rank)
{
	return axis < 0 ? axis + rank : axis;
}

static enum adcnn_status unary(struct adcnn_ctx *ctx, const struct adcnn_node *n,
                               const struct adcnn_tensor *x, struct adcnn_tensor **out)
{
	struct adcnn_tensor *y;
	enum adcnn_status st;

	if (n->op == OP_IDENTITY) {
		if (x == NULL)
			return need_f32(ctx, n, x);
		if ((*out = adcnn_tensor_clone(x)) == NULL)
			return NOMEM();
		return ADCNN_OK;
	}
	if ((st = need_f32(ctx, n, x)) != ADCNN_OK)
		return st;
	y = adcnn_tensor_new_uninit(x->rank, x->dims);
	if (y == NULL)
		return NOMEM();
	const float *a = x->d.f;
	float *r = y->d.f;
	size_t cnt = x->n;
	switch (n->op) {
	case OP_RELU:
		for (size_t i = 0; i < cnt; i++) r[i] = a[i] > 0.0f ? a[i] : 0.0f;
		break;
	case OP_LEAKYRELU:
		for (size_t i = 0; i < cnt; i++) r[i] = a[i] >= 0.0f ? a[i] : a[i] * n->alpha;
		break;
	case OP_CLIP:
		for (size_t i = 0; i < cnt; i++) {
			float v = a[i] < n->fmin ? n->fmin : a[i];
			r[i] = v > n->fmax ? n->fmax : v;
		}
		break;
	case OP_SIGMOID:
		for (size_t i = 0; i < cnt; i++) r[i] = 1.0f / (1.0f + expf(-a[i]));
		break;
	case OP_HARDSIGMOID:
		for (size_t i = 0; i < cnt; i++) r[i] = fmaxf(0.0f, fminf(1.0f, n->alpha * a[i] + n->beta));
		break;
	case OP_HARDSWISH:
		for (size_t i = 0; i < cnt; i++) r[i] = a[i] * fmaxf(0.0f, fminf(1.0f, a[i] / 6.0f + 0.5f));
		break;
	default:
		break;
	}
	*out = y;
	return ADCNN_OK;
}

/* Relu and Clip as an activation a Conv can apply in its output pass, or in place */
bool adcnn_act_fusable(const struct adcnn_node *n, struct adcnn_act *act)
{
	if (n->op == OP_RELU) {
		*act = (struct adcnn_act){OP_RELU, 0.0f, 0.0f};
		return true;
	}
	if (n->op == OP_CLIP) {
		*act = (struct adcnn_act){OP_CLIP, n->fmin, n->fmax};
		return true;
	}
	return false;
}

ADCNN_VECTORIZE
void adcnn_act_apply(const struct adcnn_act *act, float *restrict p, size_t n)
{
	adcnn_act_loop(act, p, n);
}

/* p[i] + bias, then the activation (act may be NULL): a convolution's output pass */
ADCNN_VECTORIZE
void adcnn_bias_act(const struct adcnn_act *act, float bias, float *restrict p, size_t n)
{
	if (act == NULL) {
		for (size_t i = 0; i < n; i++)
			p[i] += bias;
	} else if (act->op == OP_RELU) {
		for (size_t i = 0; i < n; i++) {
			float v = p[i] + bias;
			p[i] = v > 0.0f ? v : 0.0f;
		}
	} else {
		float lo = act->lo, hi = act->hi;
		for (size_t i = 0; i < n; i++) {
			float v = p[i] + bias;
			v = v < lo ? lo : v;
			p[i] = v > hi ? hi : v;
		}
	}
}

/* a[i] += b[i], then the activation (act may be NULL) */
ADCNN_VECTORIZE
static void add_act(const struct adcnn_act *act, float *restrict a, const float *restrict b, size_t n)
{
	if (act == NULL) {
		for (size_t i = 0; i < n; i++)
			a[i] += b[i];
	} else if (act->op == OP_RELU) {
		for (size_t i = 0; i < n; i++) {
			float v = a[i] + b[i];
			a[i] = v > 0.0f ? v : 0.0f;
		}
	} else {
		float lo = act->lo, hi = act->hi;
		for (size_t i = 0; i < n; i++) {
			float v = a[i] + b[i];
			v = v < lo ? lo : v;
			a[i] = v > hi ? hi : v;
		}
	}
}

struct add_job {
	const struct adcnn_act *act;
	float *a;
	const float *b;
	size_t n;
	int parts;
};

static void add_part(void *arg, int i)
{
	const struct add_job *j = arg;
	/* whole cache lines but the last part's */
	size_t i0 = j->n * (size_t)i / (size_t)j->parts / 16 * 16;
	size_t i1 = i + 1 == j->parts ? j->n : j->n * (size_t)(i + 1) / (size_t)j->parts / 16 * 16;

	if (i1 > i0)
		add_act(j->act, j->a + i0, j->b + i0, i1 - i0);
}

/* An elementwise op on a tensor nobody reads after it: done in place, saving a buffer, its
 * page faults and a pass of cold writes. An Add takes the activation of the Relu or Clip
 * that alone reads it (a residual block's), in the same pass, and shares a large tensor out
 * among the threads. True if done. */
bool adcnn_op_inplace(const struct adcnn_node *n, struct adcnn_tensor **in, const struct adcnn_act *act)
{
	struct adcnn_tensor *x = in[0];
	float *a;
	size_t cnt;

	if (x == NULL || x->dtype != ADCNN_F32)
		return false;
	a = x->d.f;
	cnt = x->n;
	switch (n->op) {
	case OP_RELU: case OP_CLIP: {
		struct adcnn_act act;
		adcnn_act_fusable(n, &act);
		adcnn_act_apply(&act, a, cnt);
		return true;
	}
	case OP_LEAKYRELU:
		for (size_t i = 0; i < cnt; i++) a[i] = a[i] >= 0.0f ? a[i] : a[i] * n->alpha;
		return true;
	case OP_HARDSWISH:
		for (size_t i = 0; i < cnt; i++) a[i] = a[i] * fmaxf(0.0f, fminf(1.0f, a[i] / 6.0f + 0.5f));
		return true;
	case OP_IDENTITY:
		return true;
	case OP_ADD: {
		const struct adcnn_tensor *y = in[1];
		if (y == NULL || y->dtype != ADCNN_F32 || !adcnn_tensor_same_shape(x, y))
			return false;
		/* a pass over memory, not arithmetic: shared out from about 64 K values (ResNet-18's
		 * 64x56x56: 65 us on one core, with its Relu's pass 17 more) */
		int threads = adcnn_threads_for((double)cnt * 64.0);
		struct add_job j = {act, a, y->d.f, cnt, threads > 1 ? 2 * threads : 1};
		adcnn_parallel_n(threads, j.parts, add_part, &j);
		return true;
	}
	default:
		return false;
	}
}

static enum adcnn_status batchnorm(struct adcnn_ctx *ctx, const struct adcnn_node *n,
                                   struct adcnn_tensor **in, struct adcnn_tensor **out)
{
	const struct adcnn_tensor *x = in[0];
	struct adcnn_tensor *y;
	size_t C, inner;
	enum adcnn_status st;

	if ((st = need_f32(ctx, n, x)) != ADCNN_OK)
		return st;
	if (n->nin != 5 || x->rank < 2)
		return adcnn_set_error(ctx, ADCNN_ERR_UNSUPPORTED, "node '%s' (BatchNormalization): needs 5 inputs and rank >= 2", n->name);
	C = (size_t)x->dims[1];
	for (int k = 1; k < 5; k++) {
		if ((st = need_f32(ctx, n, in[k])) != ADCNN_OK)
			return st;
		if (in[k]->n != C)
			return adcnn_set_error(ctx, ADCNN_ERR_MISMATCH, "node '%s' (BatchNormalization): parameter %d has %zu values, expected %zu", n->name, k, in[k]->n, C);
	}
	y = adcnn_tensor_new(x->rank, x->dims);
	if (y == NULL)
		return NOMEM();
	inner = C ? x->n / ((size_t)x->dims[0] * C) : 0;
	for (size_t b = 0; b < (size_t)x->dims[0]; b++)
		for (size_t c = 0; c < C; c++) {
			float s = in[1]->d.f[c] / sqrtf(in[4]->d.f[c] + n->eps);
			float t = in[2]->d.f[c] - in[3]->d.f[c] * s;
			const float *a = x->d.f + (b * C + c) * inner;
			float *r = y->d.f + (b * C + c) * inner;
			for (size_t i = 0; i < inner; i++)
				r[i] = a[i] * s + t;
		}
	*out = y;
	return ADCNN_OK;
}

ADCNN_VECTORIZE
static void row_max(float *restrict acc, const float *restrict src, int stride, int n)
{
	if (stride == 1)
		for (int i = 0; i < n; i++)
			acc[i] = src[i] > acc[i] ? src[i] : acc[i];
	else if (stride == 2)
		for (int i = 0; i < n; i++)
			acc[i] = src[2 * i] > acc[i] ? src[2 * i] : acc[i];
	else
		for (int i = 0; i < n; i++)
			acc[i] = src[(ptrdiff_t)i * stride] > acc[i] ? src[(ptrdiff_t)i * stride] : acc[i];
}

ADCNN_VECTORIZE
static void row_add(float *restrict acc, const float *restrict src, int stride, int n)
{
	if (stride == 1)
		for (int i = 0; i < n; i++)
			acc[i] += src[i];
	else if (stride == 2)
		for (int i = 0; i < n; i++)
			acc[i] += src[2 * i];
	else
		for (int i = 0; i < n; i++)
			acc[i] += src[(ptrdiff_t)i * stride];
}

/* A max pool's output row of stride 2 across and kw (2 or 3) taps, from three input rows
 * (a, b, c; a row repeated where the window has fewer inside the tile), down and across in
 * one pass: out[i] for i in [lo, hi), every tap inside the row, tap j reading column
 * 2 i + off + j. A vector's lanes of outputs a step (16 on AVX-512): their columns' maxima
 * down the rows in two vectors, split into the even and the odd columns by two shuffles,
 * and the third tap the even ones a lane on (the last from the column past both vectors, by
 * itself); the last step ends at hi, overlapping the one before. Down the rows into a
 * buffer, then across it tap by tap into the output row, each tap's pass read the last
 * one's stores a lane off, which the store buffer cannot forward. ResNet-18's pool (3x3,
 * 64x112x112) alone, one thread 186-231 -> 119-129 us, two 171 -> 105-117; in whole runs,
 * one thread 262-291 -> 196-199, two 396-413 -> 169-173 (each thread's half had taken
 * longer than the whole on one). VGG-16's first (2x2, 64x224x224) in whole runs 1.37-1.44
 * -> 0.85-0.89 ms on one thread, 0.99-1.27 -> 0.54-0.56 on two. At least 16 outputs. The
 * maxima in the order of row_max's folds (down: a, b, c; across: the taps in order), so the
 * same values as the passes. */
/* the larger of x and acc as row_max takes it, lane by lane (macros: a function returning
 * a 64-byte vector has an ABI of its own on x86) */
#define MAXV(V, VI, x, acc) ({ V x_ = (x), a_ = (acc); VI m_ = x_ > a_; (V)((m_ & (VI)x_) | (~m_ & (VI)a_)); })
#define UNPAREN(...) __VA_ARGS__
#define LOADV(V, p) ({ V v_; memcpy(&v_, (p), sizeof(v_)); v_; })

static inline float max1(float x, float acc)
{
	return x > acc ? x : acc;
}

/* max_row_s2 for vectors of NL lanes (V, VI: its float and int vectors; MAXF(x, acc) the
 * larger lane by lane as row_max takes it, x where x > acc else acc): EVEN, ODD the
 * shuffles of two vectors' even and odd lanes, NEXT the even ones a lane on (the second
 * vector's first lane last) */
#define MAX_ROW_S2(NAME, ATTR, V, VI, MAXF, NL, EVEN, ODD, NEXT)                                    \
	ATTR static void NAME(float *restrict ro, const float *restrict a, const float *restrict b, \
	                      const float *restrict c, int kw, int off, int lo, int hi)             \
	{                                                                                           \
		for (int i = lo;; i += NL) {                                                        \
			int x;                                                                      \
			V v0, v1, e, o, acc = (V){0} - FLT_MAX;                                     \
			if (i + NL > hi)                                                            \
				i = hi - NL;                                                        \
			x = 2 * i + off;                                                            \
			v0 = MAXF(LOADV(V, c + x), MAXF(LOADV(V, b + x), LOADV(V, a + x)));         \
			v1 = MAXF(LOADV(V, c + x + NL),                                             \
			          MAXF(LOADV(V, b + x + NL), LOADV(V, a + x + NL)));                \
			e = ADCNN_SHUFFLE(VI, v0, v1, UNPAREN EVEN);                                \
			o = ADCNN_SHUFFLE(VI, v0, v1, UNPAREN ODD);                                 \
			acc = MAXF(o, MAXF(e, acc));                                                \
			if (kw == 3) {                                                              \
				V t = {max1(c[x + 2 * NL], max1(b[x + 2 * NL], a[x + 2 * NL]))};    \
				acc = MAXF(ADCNN_SHUFFLE(VI, e, t, UNPAREN NEXT), acc);             \
			}                                                                           \
			memcpy(ro + i, &acc, sizeof(acc));                                          \
			if (i + NL >= hi)                                                           \
				break;                                                              \
		}                                                                                   \
	}

/* Each vector unit its own width: built for a wider one than the machine's, the compiler
 * split a shuffle of 64-byte vectors into single lanes (on an AVX2 machine, ResNet-18's pool
 * took 1.37 ms on one thread against onnxruntime's 0.20). Four lanes everywhere (SSE2, NEON:
 * even and odd lanes by one instruction each), eight on AVX2, sixteen on AVX-512. */
typedef float v4f __attribute__((vector_size(16)));
typedef int v4fi __attribute__((vector_size(16)));
#define MAX4(x, acc) MAXV(v4f, v4fi, x, acc)
MAX_ROW_S2(max_row_s2_4, , v4f, v4fi, MAX4, 4, (0, 2, 4, 6), (1, 3, 5, 7), (1, 2, 3, 4))
#if defined(__GNUC__) && defined(__x86_64__)
#define MAX_ROW_WIDE 1
typedef float v8f __attribute__((vector_size(32)));
typedef int v8fi __attribute__((vector_size(32)));
typedef float v16 __attribute__((vector_size(64)));
typedef int v16i __attribute__((vector_size(64)));
/* the instructions' own maximum: x where x > acc, else acc (the compare and select above,
 * which the compiler leaves as two instructions) */
#define MAX8(x, acc) _mm256_max_ps(x, acc)
#define MAX16(x, acc) _mm512_max_ps(x, acc)
MAX_ROW_S2(max_row_s2_8, __attribute__((target("arch=x86-64-v3"))), v8f, v8fi, MAX8, 8,
           (0, 2, 4, 6, 8, 10, 12, 14), (1, 3, 5, 7, 9, 11, 13, 15), (1, 2, 3, 4, 5, 6, 7, 8))
MAX_ROW_S2(max_row_s2_16, __attribute__((target("arch=x86-64-v4"))), v16, v16i, MAX16, 16,
           (0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30),
           (1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31),
           (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16))
#endif

/* by the build for `lanes` floats a vector (adcnn_vector_floats) */
static void max_row_s2(int lanes, float *restrict ro, const float *restrict a, const float *restrict b,
                       const float *restrict c, int kw, int off, int lo, int hi)
{
#ifdef MAX_ROW_WIDE
	if (lanes == 16)
		max_row_s2_16(ro, a, b, c, kw, off, lo, hi);
	else if (lanes == 8)
		max_row_s2_8(ro, a, b, c, kw, off, lo, hi);
	else
#else
	(void)lanes;
#endif
		max_row_s2_4(ro, a, b, c, kw, off, lo, hi);
}

/* a run of a pool's planes, for adcnn_parallel; each piece pools a row in buffers of its own */
struct pool_job {
	const struct adcnn_node *n;
	const struct adcnn_geom *g;
	const float *x;
	float *y;
	int h, w, oh, ow, pt, parts, planes;
	const int *nvy, *npy, *nvx, *npx;
	/* each column tap's output columns [lo, hi) inside the tile and the tensor, and where
	 * the first of them reads in the row pooled down the window */
	const int *lo, *hi, *at;
	/* max_row_s2 takes outputs [in0, in1) (in1 > in0 where it applies), tap j reading
	 * column 2 i + off + j, by the build for `lanes` floats a vector */
	int in0, in1, off, lanes;
	atomic_int nomem;
	bool by_rows; /* part i: every plane's output rows of part i (adcnn_row_parts) */
};

/* x[0, n) into its even (e) and odd (o) elements */
ADCNN_VECTORIZE
static void split_even_odd(const float *restrict x, int n, float *restrict e, float *restrict o)
{
	for (int i = 0; i < n / 2; i++) {
		e[i] = x[2 * i];
		o[i] = x[2 * i + 1];
	}
	if (n & 1)
		e[n / 2] = x[n - 1];
}

/* the max or sum of three rows (the sum in their order, as row_add's one at a time) */
ADCNN_VECTORIZE
static void rows3(float *restrict r, const float *restrict a, const float *restrict b,
                  const float *restrict c, int n, bool is_max)
{
	if (is_max)
		for (int i = 0; i < n; i++) {
			float m = a[i] > b[i] ? a[i] : b[i];
			r[i] = c[i] > m ? c[i] : m;
		}
	else
		for (int i = 0; i < n; i++)
			r[i] = (a[i] + b[i]) + c[i];
}

ADCNN_VECTORIZE
static void row_fill(float *restrict r, float v, int n)
{
	for (int i = 0; i < n; i++)
		r[i] = v;
}

/* an average pool's output row: sums over their divisors (0 where there are none) */
ADCNN_VECTORIZE
static void row_div(float *restrict r, int dy, const int *restrict dx, int n)
{
	for (int i = 0; i < n; i++) {
		int d = dy * dx[i];
		r[i] = d ? r[i] / (float)d : 0.0f;
	}
}

/* a max pool's output row by max_row_s2, and the outputs outside [in0, in1) one at a
 * time, each from the taps inside the row */
static void max_row(const struct pool_job *pj, float *ro, const float *a, const float *b, const float *c)
{
	int kw = pj->n->kernel[1];

	max_row_s2(pj->lanes, ro, a, b, c, kw, pj->off, pj->in0, pj->in1);
	for (int i = pj->in0 > 0 ? 0 : pj->in1; i < pj->ow; i = i + 1 == pj->in0 ? pj->in1 : i + 1) {
		float acc = -FLT_MAX;
		for (int j = 0; j < kw; j++)
			if (i >= pj->lo[j] && i < pj->hi[j]) {
				int x = 2 * i + pj->off + j;
				acc = max1(max1(c[x], max1(b[x], a[x])), acc);
			}
		ro[i] = acc;
	}
}

/* An output row is pooled down the window's rows first, over the tile's width (the max or sum
 * of whole input rows, three in a pass: no stride to gather), then across its columns into
 * the output row: a tap a pass, from the even or the odd columns of the row pooled so far
 * where the stride is 2 (each tap then reads a contiguous run). Tap by tap over the input
 * rows, a 3x3 window of stride 2 took nine passes of gathers: ResNet-18's max pool,
 * 64x112x112, alone on one core, 0.75-0.78 -> 0.26-0.44 ms (a process runs in one of two
 * modes; onnxruntime's profile gives 0.23). */
static void pool_planes(void *arg, int part)
{
	struct pool_job *pj = arg;
	const struct adcnn_node *n = pj->n;
	const struct adcnn_geom *g = pj->g;
	int h = pj->h, w = pj->w, oh = pj->oh, ow = pj->ow, pt = pj->pt;
	int p0 = (int)((long)pj->planes * part / pj->parts), p1 = (int)((long)pj->planes * (part + 1) / pj->parts);
	int oy0 = 0, oy1 = oh;
	const int *nvy = pj->nvy, *npy = pj->npy, *nvx = pj->nvx, *npx = pj->npx;
	bool is_max = n->op == OP_MAXPOOL, split = n->stride[1] == 2, holes = false;
	void (*fold)(float *, const float *, int, int) = is_max ? row_max : row_add;
	/* the input rows pooled; their even and odd columns */
	float *vm = malloc(sizeof(float) * (2 * (size_t)w + 1)), *ev = vm + w, *od = ev + (w + 1) / 2;

	if (vm == NULL) {
		atomic_store(&pj->nomem, 1);
		return;
	}
	for (int ox = 0; ox < ow; ox++)
		holes |= nvx[ox] == 0;
	if (pj->by_rows) {
		p0 = 0;
		p1 = pj->planes;
		oy0 = (int)((long)oh * part / pj->parts);
		oy1 = (int)((long)oh * (part + 1) / pj->parts);
	}
	for (int p = p0; p < p1; p++) {
		const float *a = pj->x + (size_t)p * h * w;
		float *r = pj->y + (size_t)p * oh * ow;
		for (int oy = oy0; oy < oy1; oy++) {
			int fy0 = (g->out_r0 + oy) * n->stride[0] - pt, rows = 0;
			float *ro = r + (size_t)oy * ow;
			const float *src[3];
			for (int i = 0; i < n->kernel[0]; i++) {
				int fy = fy0 + i * n->dil[0], ty = fy - g->in_r0;
				if (fy < 0 || fy >= g->in_H || ty < 0 || ty >= h)
					continue;
				/* three rows at a time (a 3x3 window's, in one pass) */
				src[rows % 3] = a + (size_t)ty * w;
				if (++rows % 3 != 0 || pj->in1 > pj->in0)
					continue;
				if (rows == 3)
					rows3(vm, src[0], src[1], src[2], w, is_max);
				else
					for (int k = 0; k < 3; k++)
						fold(vm, src[k], 1, w);
			}
			for (int k = rows / 3 * 3; k < rows; k++)
				if (k == 0)
					memcpy(vm, src[0], sizeof(float) * (size_t)w);
				else
					fold(vm, src[k % 3], 1, w);
			if (rows == 0) {
				row_fill(ro, 0.0f, ow);
				continue;
			}
			if (pj->in1 > pj->in0) {
				max_row(pj, ro, src[0], src[rows > 1], src[rows - 1]);
			} else {
				if (split)
					split_even_odd(vm, w, ev, od);
				row_fill(ro, is_max ? -FLT_MAX : 0.0f, ow);
				for (int j = 0; j < n->kernel[1]; j++) {
					int lo = pj->lo[j], hi = pj->hi[j], t = pj->at[j];
					const float *src = split ? (t & 1 ? od : ev) + t / 2 : vm + t;
					if (lo < hi)
						fold(ro + lo, src, split ? 1 : n->stride[1], hi - lo);
				}
			}
			if (!is_max)
				row_div(ro, n->count_include_pad ? npy[oy] : nvy[oy], n->count_include_pad ? npx : nvx, ow);
			else if (holes)
				for (int ox = 0; ox < ow; ox++)
					ro[ox] = nvx[ox] ? ro[ox] : 0.0f;
		}
	}
	free(vm);
}

static enum adcnn_status pool(struct adcnn_ctx *ctx, const struct adcnn_node *n,
                              const struct adcnn_tensor *x, struct adcnn_tensor **out,
                              const struct adcnn_geom *geom)
{
	struct adcnn_geom plain;
	const struct adcnn_geom *g = geom;
	int N, C, h, w, oh, ow, fh, fw, pt, pl, pb, pr;
	struct adcnn_tensor *y;
	enum adcnn_status st;

	if ((st = need_f32(ctx, n, x)) != ADCNN_OK)
		return st;
	if (x->rank != 4)
		return adcnn_set_error(ctx, ADCNN_ERR_UNSUPPORTED, "node '%s' (%s): only 2-D pooling is supported", n->name, adcnn_op_name(n->op));
	N = (int)x->dims[0]; C = (int)x->dims[1]; h = (int)x->dims[2]; w = (int)x->dims[3];
	if (g == NULL) {
		plain = (struct adcnn_geom){0, 0, h, w, 0, 0, 0, 0};
		plain.out_r1 = adcnn_window_out(n, 0, h, NULL, NULL);
		plain.out_c1 = adcnn_window_out(n, 1, w, NULL, NULL);
		g = &plain;
	}
	fh = adcnn_window_out(n, 0, g->in_H, &pt, &pb);
	fw = adcnn_window_out(n, 1, g->in_W, &pl, &pr);
	oh = g->out_r1 - g->out_r0;
	ow = g->out_c1 - g->out_c0;
	if (fh <= 0 || fw <= 0 || oh <= 0 || ow <= 0 || g->out_r1 > fh || g->out_c1 > fw)
		return adcnn_set_error(ctx, ADCNN_ERR_MISMATCH, "node '%s' (%s): input %dx%d too small for the window", n->name, adcnn_op_name(n->op), h, w);
	y = adcnn_tensor_new_uninit(4, (int64_t[]){N, C, oh, ow});
	if (y == NULL)
		return NOMEM();
	/* taps inside the tile (nv) and inside the padded input (np) per output row and column:
	 * the window's validity is separable, so a window's counts are products */
	int *cnt = malloc(sizeof(int) * (2 * ((size_t)oh + ow) + 3 * (size_t)n->kernel[1]));
	if (cnt == NULL) {
		adcnn_tensor_free(y);
		return NOMEM();
	}
	int *nvy = cnt, *npy = cnt + oh, *nvx = cnt + 2 * oh, *npx = cnt + 2 * oh + ow;
	for (int axis = 0; axis < 2; axis++) {
		int o = axis ? ow : oh, o0 = axis ? g->out_c0 : g->out_r0, s = n->stride[axis];
		int pbeg = axis ? pl : pt, pend = axis ? pr : pb, full = axis ? g->in_W : g->in_H;
		int t0 = axis ? g->in_c0 : g->in_r0, len = axis ? w : h;
		int *nv = axis ? nvx : nvy, *np = axis ? npx : npy;
		for (int k = 0; k < o; k++) {
			nv[k] = np[k] = 0;
			for (int i = 0; i < n->kernel[axis]; i++) {
				int f = (o0 + k) * s - pbeg + i * n->dil[axis];
				nv[k] += f >= 0 && f < full && f - t0 >= 0 && f - t0 < len;
				np[k] += f >= -pbeg && f < full + pend;
			}
		}
	}
	{
		/* a tap a comparison, counted as depthwise's multiply-adds are (8 times over) */
		int threads = adcnn_threads_for(8.0 * N * C * (double)oh * ow * n->kernel[0] * n->kernel[1]);
		int kw = n->kernel[1], *taps = cnt + 2 * (oh + ow);
		struct pool_job pj = {n, g, x->d.f, y->d.f, h, w, oh, ow, pt, 1, N * C, nvy, npy, nvx, npx,
		                      taps, taps + kw, taps + 2 * kw, 0};
		for (int j = 0; j < n->kernel[1]; j++) {
			/* the output columns whose tap j is inside the tile and the tensor */
			int base = g->out_c0 * n->stride[1] - pl + j * n->dil[1];
			int lo, hi, lo2, hi2;
			adcnn_valid_cols(base - g->in_c0, n->stride[1], w, ow, &lo, &hi);
			adcnn_valid_cols(base, n->stride[1], g->in_W, ow, &lo2, &hi2);
			lo = lo2 > lo ? lo2 : lo;
			hi = hi2 < hi ? hi2 : hi;
			taps[j] = lo;
			taps[kw + j] = hi;
			taps[2 * kw + j] = lo < hi ? base - g->in_c0 + lo * n->stride[1] : 0;
		}
		/* a max pool of stride 2 across, of 2 or 3 taps each way: max_row_s2 on the
		 * outputs every tap reads inside the row, if 16 or more */
		pj.in0 = 0;
		pj.in1 = ow;
		for (int j = 0; j < kw; j++) {
			pj.in0 = taps[j] > pj.in0 ? taps[j] : pj.in0;
			pj.in1 = taps[kw + j] < pj.in1 ? taps[kw + j] : pj.in1;
		}
		pj.off = g->out_c0 * 2 - pl - g->in_c0;
		pj.lanes = adcnn_vector_floats();
		if (n->op != OP_MAXPOOL || n->stride[1] != 2 || n->dil[1] != 1 || kw < 2 || kw > 3 ||
		    n->kernel[0] > 3 || pj.in1 - pj.in0 < 16)
			pj.in1 = pj.in0;
		int rp = adcnn_row_parts(threads, oh, ow);
		pj.parts = threads > 1 && N * C > 8 * threads ? 8 * threads : 1;
		if (rp > 1) {
			pj.parts = rp;
			pj.by_rows = true;
			threads = rp;
		}
		adcnn_parallel_n(threads, pj.parts, pool_planes, &pj);
		if (pj.nomem) {
			free(cnt);
			adcnn_tensor_free(y);
			return NOMEM();
		}
	}
	free(cnt);
	*out = y;
	return ADCNN_OK;
}

typedef double v4d __attribute__((vector_size(32)));

/* y[p] = the mean of x's p-th plane of n values, summed in doubles: sixteen values a step in
 * four chains of four lanes. One chain of one double (the loop this replaced) waited on each
 * add: MobileNetV2's 1280x7x7 took 41 us, against onnxruntime's 15 */
ADCNN_VECTORIZE
static void plane_means(const float *restrict x, size_t planes, size_t n, float *restrict y)
{
	for (size_t p = 0; p < planes; p++) {
		const float *s = x + p * n;
		v4d a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
		double acc;
		size_t i = 0;
		for (; i + 16 <= n; i += 16) {
			v4f f0, f1, f2, f3;
			memcpy(&f0, s + i, sizeof f0);
			memcpy(&f1, s + i + 4, sizeof f1);
			memcpy(&f2, s + i + 8, sizeof f2);
			memcpy(&f3, s + i + 12, sizeof f3);
			a0 += __builtin_convertvector(f0, v4d);
			a1 += __builtin_convertvector(f1, v4d);
			a2 += __builtin_convertvector(f2, v4d);
			a3 += __builtin_convertvector(f3, v4d);
		}
		a0 = (a0 + a1) + (a2 + a3);
		acc = (a0[0] + a0[1]) + (a0[2] + a0[3]);
		for (; i < n; i++)
			acc += s[i];
		y[p] = n ? (float)(acc / (double)n) : 0.0f;
	}
}

static enum adcnn_status global_avg(struct adcnn_ctx *ctx, const struct adcnn_node *n,
                                    const struct adcnn_tensor *x, struct adcnn_tensor **out)
{
	int64_t dims[ADCNN_MAX_RANK];
	struct adcnn_tensor *y;
	size_t inner;
	enum adcnn_status st;

	if ((st = need_f32(ctx, n, x)) != ADCNN_OK)
		return st;
	if (x->rank < 3)
		return adcnn_set_error(ctx, ADCNN_ERR_UNSUPPORTED, "node '%s' (GlobalAveragePool): input rank %d < 3", n->name, x->rank);
	dims[0] = x->dims[0];
	dims[1] = x->dims[1];
	for (int i = 2; i < x->rank; i++)
		dims[i] = 1;
	y = adcnn_tensor_new(x->rank, dims);
	if (y == NULL)
		return NOMEM();
	inner = y->n ? x->n / y->n : 0;
	plane_means(x->d.f, y->n, inner, y->d.f);
	*out = y;
	return ADCNN_OK;
}

/* numpy broadcasting of two shapes */
static bool broadcast(const struct adcnn_tensor *a, const struct adcnn_tensor *b, int *rank,
                      int64_t *dims)
{
	int r = a->rank > b->rank ? a->rank : b->rank;

	for (int i = 0; i < r; i++) {
		int ia = i - (r - a->rank), ib = i - (r - b->rank);
		int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
		if (da != db && da != 1 && db != 1)
			return false;
		dims[i] = da == 1 ? db : da;
	}
	*rank = r;
	return true;
}

/* strides of t as seen in a broadcast shape of rank r: 0 along broadcast dimensions */
static void bstrides(const struct adcnn_tensor *t, int r, size_t *st)
{
	size_t s = 1;

	for (int i = r - 1; i >= 0; i--) {
		int it = i - (r - t->rank);
		if (it < 0 || t->dims[it] == 1) {
			st[i] = 0;
		} else {
			st[i] = s;
		}
		if (it >= 0)
			s *= (size_t)t->dims[it];
	}
}

static enum adcnn_status binary(struct adcnn_ctx *ctx, const struct adcnn_node *n,
                                const struct adcnn_tensor *a, const struct adcnn_tensor *b,
                                struct adcnn_tensor **out)
{
	int64_t dims[ADCNN_MAX_RANK];
	size_t sa[ADCNN_MAX_RANK], sb[ADCNN_MAX_RANK], idx[ADCNN_MAX_RANK] = {0};
	int r;
	struct adcnn_tensor *y;

	if (a == NULL || b == NULL)
		return adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "node '%s': missing input", n->name);
	if (a->dtype != b->dtype)
		return adcnn_set_error(ctx, ADCNN_ERR_UNSUPPORTED, "node '%s' (%s): inputs of different types", n->name, adcnn_op_name(n->op));
	if (!broadcast(a, b, &r, dims)) {
		char sa_[64], sb_[64];
		adcnn_shape_str(a->rank, a->dims, sa_, sizeof(sa_));
		adcnn_shape_str(b->rank, b->dims, sb_, sizeof(sb_));
		return adcnn_set_error(ctx, ADCNN_ERR_MISMATCH, "node '%s' (%s): shapes %s and %s do not broadcast", n->name, adcnn_op_name(n->op), sa_, sb_);
	}
	y = adcnn_tensor_new_typed(a->dtype, r, dims);
	if (y == NULL)
		return NOMEM();
	bstrides(a, r, sa);
	bstrides(b, r, sb);
	if (y->n == 0)
		goto done;
	/* the innermost dimension in a tight loop; the rest by an odometer */
	size_t inner = r ? (size_t)dims[r - 1] : 1, ia = r ? sa[r - 1] : 0, ib = r ? sb[r - 1] : 0;
	for (size_t o = 0; o < y->n; o += inner) {
		size_t offa = 0, offb = 0;
		for (int i = 0; i < r - 1; i++) {
			offa += idx[i] * sa[i];
			offb += idx[i] * sb[i];
		}
		if (a->dtype == ADCNN_F32) {
			const float *pa = a->d.f + offa, *pb = b->d.f + offb;
			float *py = y->d.f + o;
			switch (n->op) {
			case OP_ADD: for (size_t i = 0; i < inner; i++) py[i] = pa[i * ia] + pb[i * ib]; break;
			case OP_SUB: for (size_t i = 0; i < inner; i++) py[i] = pa[i * ia] - pb[i * ib]; break;
			case OP_MUL: for (size_t i = 0; i < inner; i++) py[i] = pa[i * ia] * pb[i * ib]; break;
			default: for (size_t i = 0; i < inner; i++) py[i] = pa[i * ia] / pb[i * ib]; break;
			}
		} else {
			const int64_t *pa = a->d.i + offa, *pb = b->d.i + offb;
			int64_t *py = y->d.i + o;
			for (size_t i = 0; i < inner; i++) {
				int64_t u = pa[i * ia], v = pb[i * ib];
				py[i] = n->op == OP_ADD ? u + v : n->op == OP_SUB ? u - v : n->op == OP_MUL ? u * v : (v ? u / v : 0);
			}
		}
		for (int i = r - 2; i >= 0; i--) {
			if (++idx[i] < (size_t)dims[i])
				break;
			idx[i] = 0;
		}
	}
done:
	*out = y;
	return ADCNN_OK;
}

static enum adcnn_status concat(struct adcnn_ctx *ctx, const struct adcnn_node *n,
                                struct adcnn_tensor **in, struct adcnn_tensor **out)
{
	const struct adcnn_tensor *f = in[0];
	int64_t dims[ADCNN_MAX_RANK];
	int axis;
	size_t outer = 1, esz, off = 0;
	struct adcnn_tensor *y;

	if (f == NULL)
		return adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "node '%s' (Concat): missing input", n->name);
	axis = norm_axis(n->axis, f->rank);
	if (axis < 0 || axis >= f->rank)
		return adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "node '%s' (Concat): axis %d out of range", n->name, n->axis);
	memcpy(dims, f->dims, sizeof(dims));
	dims[axis] = 0;
	for (int k = 0; k < n->nin; k++) {
		const struct adcnn_tensor *t = in[k];
		if (t == NULL || t->rank != f->rank || t->dtype != f->dtype)
			return adcnn_set_error(ctx, ADCNN_ERR_MISMATCH, "node '%s' (Concat): inputs differ in rank or type", n->name);
		for (int i = 0; i < f->rank; i++)
			if (i != axis && t->dims[i] != f->dims[i])
				return adcnn_set_error(ctx, ADCNN_ERR_MISMATCH, "node '%s' (Concat): inputs differ in dimension %d", n->name, i);
		dims[axis] += t->dims[axis];
	}
	y = adcnn_tensor_new_typed(f->dtype, f->rank, dims);
	if (y == NULL)
		return NOMEM();
	esz = f->dtype == ADCNN_I64 ? 8 : 4;
	for (int i = 0; i < axis; i++)
		outer *= (size_t)dims[i];
	size_t ystride = outer ? y->n / outer : 0;
	for (int k = 0; k < n->nin; k++) {
		size_t chunk = outer ? in[k]->n / outer : 0;
		for (size_t o = 0; o < outer; o++)
			memcpy((char *)y->d.p + (o * ystride + off) * esz, (char *)in[k]->d.p + o * chunk * esz, chunk * esz);
		off += chunk;
	}
	*out = y;
	return ADCNN_OK;
}

static enum adcnn_status reshaped(struct adcnn_ctx *ctx, const struct adcnn_node *n,
                                  const struct adcnn_tensor *x, int rank, const int64_t *dims,
                                  struct adcnn_tensor **out)
{
	size_t cnt;
	struct adcnn_tensor *y;

	if (!adcnn_dims_count(rank, dims, &cnt) || cnt != x->n)
		return adcnn_set_error(ctx, ADCNN_ERR_MISMATCH, "node '%s' (%s): cannot reshape %zu elements", n->name, adcnn_op_name(n->op), x->n);
	y = adcnn_tensor_clone(x);
	if (y == NULL)
		return NOMEM();
	y->rank = rank;
	memcpy(y->dims, dims, sizeof(int64_t) * (size_t)rank);
	*out = y;
	return ADCNN_OK;
}

static enum adcnn_status flatten(struct adcnn_ctx *ctx, const struct adcnn_node *n,
                                 const struct adcnn_tensor *x, struct adcnn_tensor **out)
{
	int axis;
	int64_t d[2] = {1, 1};

	if (x == NULL)
		return need_f32(ctx, n, x);
	axis = norm_axis(n->axis, x->rank);
	if (axis < 0 || axis > x->rank)
		return adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "node '%s' (Flatten): axis %d out of range", n->name, n->axis);
	for (int i = 0; i < x->rank; i++)
		d[i < axis ? 0 : 1] *= x->dims[i];
	return reshaped(ctx, n, x, 2, d, out);
}

static enum adcnn_status reshape(struct adcnn_ctx *ctx, const struct adcnn_node *n,
                                 struct adcnn_tensor **in, struct adcnn_tensor **out)
{
	const struct adcnn_tensor *x = in[0], *s = n->nin > 1 ? in[1] : NULL;
	int64_t dims[ADCNN_MAX_RANK];
	int infer = -1;
	size_t known = 1;

	if (x == NULL || s == NULL || s->dtype != ADCNN_I64 || s->rank != 1 || s->n > ADCNN_MAX_RANK)
		return adcnn_set_error(ctx, ADCNN_ERR_UNSUPPORTED, "node '%s' (Reshape): needs an int64 shape of rank <= %d", n->name, ADCNN_MAX_RANK);
	for (size_t i = 0; i < s->n; i++) {
		int64_t v = s->d.i[i];
		if (v == 0 && !n->allowzero) {
			if (i >= (size_t)x->rank)
				return adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "node '%s' (Reshape): 0 beyond the input rank", n->name);
			v = x->dims[i];
		}
		if (v == -1) {
			if (infer >= 0)
				return adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "node '%s' (Reshape): two -1 dimensions", n->name);
			infer = (int)i;
			v = 1;
		} else if (v < 0) {
			return adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "node '%s' (Reshape): bad dimension %lld", n->name, (long long)v);
		}
		dims[i] = v;
		if (v != 0 && known > ADCNN_MAX_ELEMS / (size_t)v)
			return adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "node '%s' (Reshape): shape too large", n->name);
		known *= (size_t)v;
	}
	if (infer >= 0) {
		if (known == 0 || x->n % known != 0)
			return adcnn_set_error(ctx, ADCNN_ERR_MISMATCH, "node '%s' (Reshape): cannot infer the -1 dimension", n->name);
		dims[infer] = (int64_t)(x->n / known);
	}
	return reshaped(ctx, n, x, (int)s->n, dims, out);
}

/* y[n] = alpha (a . b[n]) + beta y[n] for n0 <= n < n1 (beta 0: y unread), b's rows of K:
 * a classifier's matrix-vector product, which streams every weight once. Four rows at a
 * time, 16 sums each: 27 GB/s on one core here, where BLIS's sgemm with M = 1 read 13. The
 * next four rows are asked for as these are read: in a whole run, where the weights come
 * from memory, MobileNetV2's classifier (5 MB) took 440-620 us without, 370-500 with, on
 * one core, and 340-400 against 300-340 on two (the fastest of ten runs, rounds
 * interleaved). */
ADCNN_VECTORIZE
static void gemv_rows(const float *restrict a, const float *restrict b, int64_t K, int64_t n0,
                      int64_t n1, float alpha, float beta, float *restrict y)
{
	for (int64_t n = n0; n < n1; n += 4) {
		int nr = n1 - n < 4 ? (int)(n1 - n) : 4;
		const float *r[4];
		float s[4][16] = {{0}};
		int64_t k = 0;
		for (int i = 0; i < 4; i++)
			r[i] = b + (n + (i < nr ? i : 0)) * K; /* past the end: row n again, unused */
		for (; k + 16 <= K; k += 16) {
			/* the next four rows, as far along: they come from memory while these are summed */
			if (n + 8 <= n1)
				for (int i = 0; i < 4; i++)
					__builtin_prefetch(r[i] + 4 * K + k, 0, 3);
			for (int l = 0; l < 16; l++) {
				float av = a[k + l];
				s[0][l] += av * r[0][k + l];
				s[1][l] += av * r[1][k + l];
				s[2][l] += av * r[2][k + l];
				s[3][l] += av * r[3][k + l];
			}
		}
		for (; k < K; k++)
			for (int i = 0; i < 4; i++)
				s[i][0] += a[k] * r[i][k];
		for (int i = 0; i < nr; i++) {
			float t = 0.0f;
			for (int l = 0; l < 16; l++)
				t += s[i][l];
			y[n + i] = alpha * t + (beta != 0.0f ? beta * y[n + i] : 0.0f);
		}
	}
}

/* a Gemm's output columns in parts, one BLIS call (or matrix-vector product) each: BLIS
 * runs single-threaded */
struct gemm_cols {
	bool ta, tb;
	int64_t M, N, K, lda, ldb;
	int parts;
	float alpha, beta;
	const float *a, *b;
	float *y;
};

static void gemm_part(void *arg, int i)
{
	const struct gemm_cols *j = arg;
	/* whole vectors of columns but the last part's */
	int64_t n0 = j->N * i / j->parts / 16 * 16, n1 = i + 1 == j->parts ? j->N : j->N * (i + 1) / j->parts / 16 * 16;

	if (n1 <= n0)
		return;
	if (j->M == 1 && j->tb && !j->ta)
		gemv_rows(j->a, j->b, j->K, n0, n1, j->alpha, j->beta, j->y);
	else
		adcnn_sgemm(j->ta, j->tb, j->M, n1 - n0, j->K, j->alpha, j->a, j->lda,
		            j->tb ? j->b + n0 * j->ldb : j->b + n0, j->ldb, j->beta, j->y + n0, j->N);
}

static enum adcnn_status gemm(struct adcnn_ctx *ctx, const struct adcnn_node *n,
                              struct adcnn_tensor **in, struct adcnn_tensor **out)
{
	const struct adcnn_tensor *a = in[0], *b = in[1], *c = n->nin > 2 ? in[2] : NULL;
	int64_t M, K, K2, N;
	struct adcnn_tensor *y;
	enum adcnn_status st;
	float alpha = n->alpha, beta = 1.0f;

	if ((st = need_f32(ctx, n, a)) != ADCNN_OK || (st = need_f32(ctx, n, b)) != ADCNN_OK)
		return st;
	if (a->rank != 2 || b->rank != 2)
		return adcnn_set_error(ctx, ADCNN_ERR_MISMATCH, "node '%s' (Gemm): inputs must be 2-D", n->name);
	M = n->trans_a ? a->dims[1] : a->dims[0];
	K = n->trans_a ? a->dims[0] : a->dims[1];
	K2 = n->trans_b ? b->dims[1] : b->dims[0];
	N = n->trans_b ? b->dims[0] : b->dims[1];
	if (K != K2)
		return adcnn_set_error(ctx, ADCNN_ERR_MISMATCH, "node '%s' (Gemm): inner dimensions %lld and %lld differ", n->name, (long long)K, (long long)K2);
	y = adcnn_tensor_new(2, (int64_t[]){M, N});
	if (y == NULL)
		return NOMEM();
	if (c != NULL) {
		int64_t dims[ADCNN_MAX_RANK];
		int r;
		size_t sc[ADCNN_MAX_RANK];
		if (c->dtype != ADCNN_F32 || !broadcast(y, c, &r, dims) || r != 2 || dims[0] != M || dims[1] != N) {
			adcnn_tensor_free(y);
			return adcnn_set_error(ctx, ADCNN_ERR_MISMATCH, "node '%s' (Gemm): C does not broadcast to %lldx%lld", n->name, (long long)M, (long long)N);
		}
		bstrides(c, 2, sc);
		for (int64_t i = 0; i < M; i++)
			for (int64_t j = 0; j < N; j++)
				y->d.f[i * N + j] = n->beta * c->d.f[(size_t)i * sc[0] + (size_t)j * sc[1]];
	} else {
		beta = 0.0f;
	}
	if (M > 0 && N > 0) {
		if (K == 0) {
			/* nothing to add */
		} else {
			/* a classifier's Gemm is a matrix-vector product (M = 1, the batch) that reads
			 * every weight once: the memory of all the threads, not one, where it is large.
			 * Reading a weight from memory takes the time of some 20 multiply-adds of a GEMM,
			 * so it is counted 16 times over */
			double work = 2.0 * (double)M * (double)N * (double)K * (M == 1 ? 16.0 : 1.0);
			int threads = adcnn_threads_for(work);
			struct gemm_cols j = {n->trans_a, n->trans_b, M, N, K, a->dims[1], b->dims[1],
			                      threads > 1 ? 2 * threads : 1, alpha, beta, a->d.f, b->d.f, y->d.f};
			adcnn_parallel_n(threads, j.parts, gemm_part, &j);
		}
	}
	*out = y;
	return ADCNN_OK;
}

static enum adcnn_status matmul(struct adcnn_ctx *ctx, const struct adcnn_node *n,
                                const struct adcnn_tensor *a0, const struct adcnn_tensor *b0,
                                struct adcnn_tensor **out)
{
	struct adcnn_tensor a = *a0, b = *b0, ab, bb;
	int64_t dims[ADCNN_MAX_RANK];
	size_t sa[ADCNN_MAX_RANK], sb[ADCNN_MAX_RANK], idx[ADCNN_MAX_RANK] = {0};
	int r, rank;
	int64_t M, K, N;
	struct adcnn_tensor *y;
	enum adcnn_status st;
	bool va = false, vb = false;

	if ((st = need_f32(ctx, n, a0)) != ADCNN_OK || (st = need_f32(ctx, n, b0)) != ADCNN_OK)
		return st;
	if (a.rank == 0 || b.rank == 0 || a.rank >= ADCNN_MAX_RANK || b.rank >= ADCNN_MAX_RANK)
		return adcnn_set_error(ctx, ADCNN_ERR_MISMATCH, "node '%s' (MatMul): bad ranks", n->name);
	if (a.rank == 1) { a.dims[1] = a.dims[0]; a.dims[0] = 1; a.rank = 2; va = true; }
	if (b.rank == 1) { b.dims[1] = 1; b.rank = 2; vb = true; }
	M = a.dims[a.rank - 2]; K = a.dims[a.rank - 1]; N = b.dims[b.rank - 1];
	if (b.dims[b.rank - 2] != K)
		return adcnn_set_error(ctx, ADCNN_ERR_MISMATCH, "node '%s' (MatMul): inner dimensions %lld and %lld differ", n->name, (long long)K, (long long)b.dims[b.rank - 2]);
	ab = a; ab.rank -= 2;
	bb = b; bb.rank -= 2;
	if (!broadcast(&ab, &bb, &r, dims))
		return adcnn_set_error(ctx, ADCNN_ERR_MISMATCH, "node '%s' (MatMul): batch dimensions do not broadcast", n->name);
	bstrides(&ab, r, sa);
	bstrides(&bb, r, sb);
	rank = r;
	if (!va) dims[rank++] = M;
	if (!vb) dims[rank++] = N;
	y = adcnn_tensor_new(rank, dims);
	if (y == NULL)
		return NOMEM();
	size_t nb = 1;
	for (int i = 0; i < r; i++)
		nb *= (size_t)dims[i];
	for (size_t o = 0; o < nb; o++) {
		size_t offa = 0, offb = 0;
		for (int i = 0; i < r; i++) {
			offa += idx[i] * sa[i];
			offb += idx[i] * sb[i];
		}
		if (M > 0 && N > 0 && K > 0)
			adcnn_sgemm(false, false, M, N, K, 1.0f, a.d.f + offa * (size_t)(M * K), K,
			            b.d.f + offb * (size_t)(K * N), N, 0.0f, y->d.f + o * (size_t)(M * N), N);
		for (int i = r - 1; i >= 0; i--) {
			if (++idx[i] < (size_t)dims[i])
				break;
			idx[i] = 0;
		}
	}
	*out = y;
	return ADCNN_OK;
}

static enum adcnn_status softmax(struct adcnn_ctx *ctx, const struct adcnn_node *n,
                                 const struct adcnn_tensor *x, struct adcnn_tensor **out)
{
	int axis;
	size_t outer = 1, len = 1, inner = 1;
	struct adcnn_tensor *y;
	enum adcnn_status st;

	if ((st = need_f32(ctx, n, x)) != ADCNN_OK)
		return st;
	axis = norm_axis(n->axis, x->rank);
	if (axis < 0 || axis >= (x->rank ? x->rank : 1))
		return adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "node '%s' (Softmax): axis %d out of range", n->name, n->axis);
	for (int i = 0; i < x->rank; i++) {
		if (i < axis)
			outer *= (size_t)x->dims[i];
		else if (i == axis || n->legacy_softmax)
			len *= (size_t)x->dims[i];
		else
			inner *= (size_t)x->dims[i];
	}
	y = adcnn_tensor_new(x->rank, x->dims);
	if (y == NULL)
		return NOMEM();
	for (size_t o = 0; o < outer; o++)
		for (size_t in = 0; in < inner; in++) {
			const float *a = x->d.f + o * len * inner + in;
			float *r = y->d.f + o * len * inner + in;
			float mx = -INFINITY;
			double sum = 0.0;
			for (size_t i = 0; i < len; i++)
				mx = fmaxf(mx, a[i * inner]);
			for (size_t i = 0; i < len; i++) {
				r[i * inner] = expf(a[i * inner] - mx);
				sum += r[i * inner];
			}
			for (size_t i = 0; i < len; i++)
				r[i * inner] = (float)(r[i * inner] / sum);
		}
	*out = y;
	return ADCNN_OK;
}

static enum adcnn_status shape_of(struct adcnn_ctx *ctx, const struct adcnn_node *n,
                                  const struct adcnn_tensor *x, struct adcnn_tensor **out)
{
	struct adcnn_tensor *y;

	int a, b;

	if (x == NULL)
		return need_f32(ctx, n, x);
	/* opset 15's start and end: negative counts from the back, both clamped */
	a = n->axis < 0 ? n->axis + x->rank : n->axis;
	b = n->group < 0 ? n->group + x->rank : n->group;
	a = a < 0 ? 0 : a > x->rank ? x->rank : a;
	b = b < 0 ? 0 : b > x->rank ? x->rank : b;
	if (b < a)
		b = a;
	y = adcnn_tensor_new_typed(ADCNN_I64, 1, (int64_t[]){b - a});
	if (y == NULL)
		return NOMEM();
	for (int i = a; i < b; i++)
		y->d.i[i - a] = x->dims[i];
	*out = y;
	return ADCNN_OK;
}

static enum adcnn_status gather(struct adcnn_ctx *ctx, const struct adcnn_node *n,
                                const struct adcnn_tensor *x, const struct adcnn_tensor *ix,
                                struct adcnn_tensor **out)
{
	int64_t dims[ADCNN_MAX_RANK];
	int axis, rank = 0;
	size_t outer = 1, inner = 1, esz;
	struct adcnn_tensor *y;

	if (x == NULL || ix == NULL || ix->dtype != ADCNN_I64)
		return adcnn_set_error(ctx, ADCNN_ERR_UNSUPPORTED, "node '%s' (Gather): needs int64 indices", n->name);
	axis = norm_axis(n->axis, x->rank);
	if (axis < 0 || axis >= x->rank || x->rank - 1 + ix->rank > ADCNN_MAX_RANK)
		return adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "node '%s' (Gather): bad axis or rank", n->name);
	for (int i = 0; i < axis; i++) { dims[rank++] = x->dims[i]; outer *= (size_t)x->dims[i]; }
	for (int i = 0; i < ix->rank; i++) dims[rank++] = ix->dims[i];
	for (int i = axis + 1; i < x->rank; i++) { dims[rank++] = x->dims[i]; inner *= (size_t)x->dims[i]; }
	y = adcnn_tensor_new_typed(x->dtype, rank, dims);
	if (y == NULL)
		return NOMEM();
	esz = x->dtype == ADCNN_I64 ? 8 : 4;
	for (size_t o = 0; o < outer; o++)
		for (size_t k = 0; k < ix->n; k++) {
			int64_t j = ix->d.i[k];
			if (j < 0)
				j += x->dims[axis];
			if (j < 0 || j >= x->dims[axis]) {
				adcnn_tensor_free(y);
				return adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "node '%s' (Gather): index %lld out of range", n->name, (long long)ix->d.i[k]);
			}
			memcpy((char *)y->d.p + ((o * ix->n + k) * inner) * esz,
			       (char *)x->d.p + ((o * (size_t)x->dims[axis] + (size_t)j) * inner) * esz, inner * esz);
		}
	*out = y;
	return ADCNN_OK;
}

static enum adcnn_status squeeze(struct adcnn_ctx *ctx, const struct adcnn_node *n,
                                 struct adcnn_tensor **in, struct adcnn_tensor **out)
{
	const struct adcnn_tensor *x = in[0];
	const int64_t *axes = n->axes;
	int naxes = n->naxes, rank, orank;
	int64_t dims[ADCNN_MAX_RANK];
	bool mark[ADCNN_MAX_RANK + 1] = {false};

	if (x == NULL)
		return need_f32(ctx, n, x);
	if (n->nin > 1 && in[1] != NULL) {
		if (in[1]->dtype != ADCNN_I64 || in[1]->n > ADCNN_MAX_RANK)
			return adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "node '%s': bad axes", n->name);
		axes = in[1]->d.i;
		naxes = (int)in[1]->n;
	}
	if (n->op == OP_UNSQUEEZE) {
		orank = x->rank + naxes;
		if (orank > ADCNN_MAX_RANK)
			return adcnn_set_error(ctx, ADCNN_ERR_UNSUPPORTED, "node '%s' (Unsqueeze): rank too large", n->name);
		for (int i = 0; i < naxes; i++) {
			int a = norm_axis((int)axes[i], orank);
			if (a < 0 || a >= orank || mark[a])
				return adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "node '%s' (Unsqueeze): bad axis", n->name);
			mark[a] = true;
		}
		for (int i = 0, j = 0; i < orank; i++)
			dims[i] = mark[i] ? 1 : x->dims[j++];
		return reshaped(ctx, n, x, orank, dims, out);
	}
	for (int i = 0; i < naxes; i++) {
		int a = norm_axis((int)axes[i], x->rank);
		if (a < 0 || a >= x->rank || x->dims[a] != 1)
			return adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "node '%s' (Squeeze): bad axis", n->name);
		mark[a] = true;
	}
	rank = 0;
	for (int i = 0; i < x->rank; i++)
		if (!(naxes ? mark[i] : x->dims[i] == 1))
			dims[rank++] = x->dims[i];
	return reshaped(ctx, n, x, rank, dims, out);
}

static enum adcnn_status cast(struct adcnn_ctx *ctx, const struct adcnn_node *n,
                              const struct adcnn_tensor *x, struct adcnn_tensor **out)
{
	enum adcnn_dtype to;
	struct adcnn_tensor *y;

	if (x == NULL)
		return need_f32(ctx, n, x);
	if (n->to == 1)
		to = ADCNN_F32;
	else if (n->to == 7 || n->to == 6)
		to = ADCNN_I64;
	else
		return adcnn_set_error(ctx, ADCNN_ERR_UNSUPPORTED, "node '%s' (Cast): target type %d is not supported", n->name, n->to);
	y = adcnn_tensor_new_typed(to, x->rank, x->dims);
	if (y == NULL)
		return NOMEM();
	for (size_t i = 0; i < x->n; i++) {
		if (to == ADCNN_F32)
			y->d.f[i] = x->dtype == ADCNN_F32 ? x->d.f[i] : (float)x->d.i[i];
		else
			y->d.i[i] = x->dtype == ADCNN_I64 ? x->d.i[i] : (int64_t)x->d.f[i];
	}
	*out = y;
	return ADCNN_OK;
}

enum adcnn_status adcnn_op_run(struct adcnn_ctx *ctx, const struct adcnn_node *n,
                               struct adcnn_tensor **in, struct adcnn_tensor **out,
                               const struct adcnn_geom *geom)
{
	struct adcnn_tensor *x = n->nin > 0 ? in[0] : NULL;

	switch (n->op) {
	case OP_CONV: {
		enum adcnn_status st = need_f32(ctx, n, x);
		if (st != ADCNN_OK)
			return st;
		return adcnn_conv_run(ctx, n, x, in[1], n->nin > 2 ? in[2] : NULL, out, geom);
	}
	case OP_RELU: case OP_LEAKYRELU: case OP_CLIP: case OP_SIGMOID: case OP_HARDSIGMOID:
	case OP_HARDSWISH: case OP_IDENTITY:
		return unary(ctx, n, x, out);
	case OP_BATCHNORM: return batchnorm(ctx, n, in, out);
	case OP_MAXPOOL: case OP_AVGPOOL: return pool(ctx, n, x, out, geom);
	case OP_GAP: return global_avg(ctx, n, x, out);
	case OP_ADD: case OP_SUB: case OP_MUL: case OP_DIV:
		if (n->nin != 2)
			return adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "node '%s': needs two inputs", n->name);
		return binary(ctx, n, x, in[1], out);
	case OP_CONCAT: return concat(ctx, n, in, out);
	case OP_FLATTEN: return flatten(ctx, n, x, out);
	case OP_RESHAPE: return reshape(ctx, n, in, out);
	case OP_GEMM:
		if (n->nin < 2)
			return adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "node '%s' (Gemm): needs two inputs", n->name);
		return gemm(ctx, n, in, out);
	case OP_MATMUL:
		if (n->nin != 2)
			return adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "node '%s' (MatMul): needs two inputs", n->name);
		return matmul(ctx, n, x, in[1], out);
	case OP_SOFTMAX: return softmax(ctx, n, x, out);
	case OP_SHAPE: return shape_of(ctx, n, x, out);
	case OP_GATHER:
		if (n->nin != 2)
			return adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "node '%s' (Gather): needs two inputs", n->name);
		return gather(ctx, n, x, in[1], out);
	case OP_UNSQUEEZE: case OP_SQUEEZE: return squeeze(ctx, n, in, out);
	case OP_CAST: return cast(ctx, n, x, out);
	default:
		return adcnn_set_error(ctx, ADCNN_ERR_UNSUPPORTED, "node '%s': operator '%s' cannot run", n->name, adcnn_op_name(n->op));
	}
}
