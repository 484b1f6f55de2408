/* sgemm.c: a single-precision GEMM of our own, for the machines BLIS does not know.
 *
 * BLIS chooses its kernels by the CPU it finds: Debian 12's BLIS (0.9.0) knows AMD's families
 * up to Zen 3 (family 25) and falls back to its generic configuration, kernels in plain C, on
 * a later one. On a Zen 5 (family 26, AVX-512) that sgemm ran at 35 GFLOP/s on one core, where
 * the machine's vector unit does several times that. There, adcnn_sgemm (conv.c) comes here;
 * elsewhere it stays with BLIS. ADCNN_GEMM=blis|own overrides the choice (adcnn-run(1)).
 *
 * Goto's blocking: k in blocks of KC; op(B)'s columns in blocks of NB, packed into
 * micro-panels of NR columns (k-major: a micro-panel's row k is NR floats in a line) that stay
 * in the L2 cache while every micro-panel of A passes by; op(A)'s rows packed into
 * micro-panels of MR rows (k-major too), one of which stays in the L1 cache while it meets
 * every micro-panel of the B block. The kernel holds an MR x NR tile of C in registers, B's
 * columns in vectors and A's values broadcast: MR x NR = 12 x 32 on 512-bit vectors
 * (AVX-512: 24 accumulators of the 32 registers), or 8 x 48 (24 too) where its tiles cover
 * C with fewer products (m of 16 or 64: 24 and 72 rows made in 12s), 6 x 16 on 256-bit ones
 * (AVX2 and FMA: 12 of 16), 6 x 8 on 128-bit ones (the portable one: SSE, NEON). C is
 * written once a k block: the first writes alpha AB + beta C (C not read where beta is 0),
 * the others add to it. */
#include "internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <blis.h>

ADCNN_FMA_ON /* the kernels are multiply-adds */

#define KC 256 /* k a block */
#define NB 512 /* columns of B a block: KC x NB floats, 512 KiB, in the L2 cache */
#define MB 960 /* rows of A a block: a multiple of every MR */
#define MR_MAX 12
#define NR_MAX 48
#define UNROLL _Pragma("GCC unroll 16")

typedef void kernel_fn(size_t kc, const float *restrict a, const float *restrict b, float *restrict c,
                       size_t ldc, float alpha, float beta);

struct kern {
	int mr, nr, bits;
	kernel_fn *run;
};

/* An MR x (NV vectors of VW floats) tile: acc[i] += a[k][i] * b[k][...] down k, then
 * c = alpha acc + beta c, row by row. VT: the vector type; VU: the same unaligned, for C,
 * whose rows lie where the caller's matrix puts them. */
#define KERNEL(NAME, ATTR, VT, VU, VW, MR, NV)                                                     \
	ATTR static void NAME(size_t kc, const float *restrict a, const float *restrict b,         \
	                      float *restrict c, size_t ldc, float alpha, float beta)              \
	{                                                                                          \
		VT acc[MR][NV];                                                                    \
		UNROLL for (int i = 0; i < MR; i++)                                                \
			UNROLL for (int v = 0; v < NV; v++)                                        \
				acc[i][v] = (VT){0};                                               \
		for (size_t k = 0; k < kc; k++) {                                                  \
			VT bv[NV];                                                                 \
			UNROLL for (int v = 0; v < NV; v++)                                        \
				bv[v] = *(const VT *)(b + k * (NV * VW) + v * VW);                 \
			UNROLL for (int i = 0; i < MR; i++) {                                      \
				float ai = a[k * MR + i];                                          \
				UNROLL for (int v = 0; v < NV; v++)                                \
					acc[i][v] += bv[v] * ai;                                   \
			}                                                                          \
		}                                                                                  \
		UNROLL for (int i = 0; i < MR; i++)                                                \
			UNROLL for (int v = 0; v < NV; v++) {                                      \
				VU *p = (VU *)(c + (size_t)i * ldc + v * VW);                      \
				*p = beta == 0.0f ? alpha * acc[i][v] : alpha * acc[i][v] + beta * *p; \
			}                                                                          \
	}

typedef float v4 __attribute__((vector_size(16)));
typedef float v4u __attribute__((vector_size(16), aligned(4)));
KERNEL(kernel_128, , v4, v4u, 4, 6, 2)

#if defined(__x86_64__) && defined(__GNUC__)
typedef float v8 __attribute__((vector_size(32)));
typedef float v8u __attribute__((vector_size(32), aligned(4)));
typedef float v16 __attribute__((vector_size(64)));
typedef float v16u __attribute__((vector_size(64), aligned(4)));
KERNEL(kernel_256, __attribute__((target("avx2,fma"))), v8, v8u, 8, 6, 2)
KERNEL(kernel_512, __attribute__((target("avx512f,fma"))), v16, v16u, 16, 12, 2)
KERNEL(kernel_512n, __attribute__((target("avx512f,fma"))), v16, v16u, 16, 8, 3)
#endif

/* a width's first kernel is the one it is chosen by (widest, adcnn_gemm_set); a GEMM then
 * takes whichever of that width covers its C with the fewest products */
static const struct kern kerns[] = {
	{6, 8, 128, kernel_128},
#if defined(__x86_64__) && defined(__GNUC__)
	{6, 16, 256, kernel_256},
	{12, 32, 512, kernel_512},
	{8, 48, 512, kernel_512n},
#endif
};

static const struct kern *chosen; /* NULL: BLIS */
static pthread_once_t chosen_once = PTHREAD_ONCE_INIT;

/* the widest kernel this machine runs */
static const struct kern *widest(void)
{
	const struct kern *k = &kerns[0];

#if defined(__x86_64__) && defined(__GNUC__)
	if (__builtin_cpu_supports("avx512f"))
		k = &kerns[2];
	else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
		k = &kerns[1];
#endif
	return k;
}

/* ADCNN_GEMM's values, by what they choose; any other is taken for unset */
static const char *const gemm_names[] = {"blis", "own"};

static int gemm_of(const char *e)
{
	for (int g = 0; e != NULL && g < (int)(sizeof(gemm_names) / sizeof(gemm_names[0])); g++)
		if (strcmp(e, gemm_names[g]) == 0)
			return g;
	return -1;
}

bool adcnn_gemm_known(const char *e)
{
	return gemm_of(e) >= 0;
}

static void choose(void)
{
	switch (gemm_of(getenv("ADCNN_GEMM"))) {
	case 0: chosen = NULL; break;
	case 1: chosen = widest(); break;
	default: chosen = bli_arch_query_id() == BLIS_ARCH_GENERIC ? widest() : NULL; break;
	}
}

int adcnn_gemm_bits(void)
{
	pthread_once(&chosen_once, choose);
	return chosen ? chosen->bits : 0;
}

bool adcnn_gemm_set(int bits)
{
	pthread_once(&chosen_once, choose);
	if (bits == 0) {
		chosen = NULL;
		return true;
	}
	for (size_t i = 0; i < sizeof(kerns) / sizeof(kerns[0]); i++)
		if (kerns[i].bits == bits && kerns[i].bits <= widest()->bits) {
			chosen = &kerns[i];
			return true;
		}
	return false;
}

/* lines [l0, l0 + n) of a matrix, k in [k0, k0 + kc), into micro-panels of w lines
 * (k-major: a micro-panel's row k is its w lines' values at k), lines past the last zero
 * (their products are never stored: zeros keep the kernel off whatever the buffer held,
 * denormals and NaNs that would slow it).
 * A line: a row of op(A), or a column of op(B); it lies along a row of the matrix as
 * stored (x[line * ld + k]: op(A) plain, op(B) transposed) or down a column of it
 * (x[k * ld + line]: op(A) transposed, op(B) plain). */
static void pack(bool along, const float *x, size_t ld, size_t l0, int n, size_t k0, int kc, int w,
                 float *xp)
{
	for (int p = 0; p < n; p += w) {
		float *q = xp + (size_t)p * kc;
		int h = n - p < w ? n - p : w;
		if (along) {
			for (int i = 0; i < h; i++) {
				const float *src = x + (l0 + (size_t)(p + i)) * ld + k0;
				for (int k = 0; k < kc; k++)
					q[(size_t)k * w + i] = src[k];
			}
		} else {
			for (int k = 0; k < kc; k++)
				memcpy(q + (size_t)k * w, x + (k0 + (size_t)k) * ld + l0 + (size_t)p, sizeof(float) * (size_t)h);
		}
		if (h < w)
			for (int k = 0; k < kc; k++)
				for (int i = h; i < w; i++)
					q[(size_t)k * w + i] = 0.0f;
	}
}

/* a packed block's product into C: every micro-panel of A against every one of B */
static void block(const struct kern *kn, int rows, int cols, int kc, const float *ap, const float *bp,
                  float *c, size_t ldc, float alpha, float beta)
{
	int mr = kn->mr, nr = kn->nr;

	for (int i = 0; i < rows; i += mr) {
		int h = rows - i < mr ? rows - i : mr;
		for (int j = 0; j < cols; j += nr) {
			int w = cols - j < nr ? cols - j : nr;
			float *cij = c + (size_t)i * ldc + (size_t)j;
			if (h == mr && w == nr) {
				kn->run((size_t)kc, ap + (size_t)i * kc, bp + (size_t)j * kc, cij, ldc, alpha, beta);
				continue;
			}
			/* an edge tile: whole into t, then its part into C */
			float t[MR_MAX * NR_MAX] __attribute__((aligned(64)));
			kn->run((size_t)kc, ap + (size_t)i * kc, bp + (size_t)j * kc, t, (size_t)nr, 1.0f, 0.0f);
			for (int r = 0; r < h; r++)
				for (int s = 0; s < w; s++) {
					float *p = cij + (size_t)r * ldc + s;
					*p = beta == 0.0f ? alpha * t[r * nr + s] : alpha * t[r * nr + s] + beta * *p;
				}
		}
	}
}

/* the products a kernel's tiles make to cover an m x n C */
static double covered(int64_t m, int64_t n, const struct kern *kn)
{
	return (double)((m + kn->mr - 1) / kn->mr * kn->mr) * (double)((n + kn->nr - 1) / kn->nr * kn->nr);
}

bool adcnn_own_sgemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float *a,
                     int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc)
{
	const struct kern *kn;
	size_t bcols, arows;
	float *ap, *bp;
	bool one_a;

	pthread_once(&chosen_once, choose);
	kn = chosen ? chosen : widest();
	for (size_t i = 0; i < sizeof(kerns) / sizeof(kerns[0]); i++)
		if (kerns[i].bits == kn->bits && covered(m, n, &kerns[i]) < covered(m, n, kn))
			kn = &kerns[i];
	if (m <= 0 || n <= 0)
		return true;
	if (k <= 0) { /* C = beta C */
		for (int64_t i = 0; i < m; i++)
			for (int64_t j = 0; j < n; j++)
				c[i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
		return true;
	}
	bcols = (size_t)((n < NB ? n : NB) + kn->nr - 1) / (size_t)kn->nr * (size_t)kn->nr;
	arows = (size_t)((m < MB ? m : MB) + kn->mr - 1) / (size_t)kn->mr * (size_t)kn->mr;
	/* kept by the thread for its next GEMM, as conv.c's other buffers are (from the pool at
	 * every call, a lock and a search each time) */
	bp = adcnn_gemm_space((bcols + arows) * KC);
	if (bp == NULL)
		return false;
	ap = bp + bcols * KC; /* both on a cache line: bcols is a multiple of 8 */
	/* one block of A (k and m within a block, a convolution's weights mostly): packed once,
	 * not again for every block of B's columns */
	one_a = k <= KC && m <= MB;
	if (one_a)
		pack(!ta, a, (size_t)lda, 0, (int)m, 0, (int)k, kn->mr, ap);
	for (int64_t n0 = 0; n0 < n; n0 += NB) {
		int cols = n - n0 < NB ? (int)(n - n0) : NB;
		for (int64_t k0 = 0; k0 < k; k0 += KC) {
			int kc = k - k0 < KC ? (int)(k - k0) : KC;
			float be = k0 == 0 ? beta : 1.0f;
			pack(tb, b, (size_t)ldb, (size_t)n0, cols, (size_t)k0, kc, kn->nr, bp);
			for (int64_t m0 = 0; m0 < m; m0 += MB) {
				int rows = m - m0 < MB ? (int)(m - m0) : MB;
				if (!one_a)
					pack(!ta, a, (size_t)lda, (size_t)m0, rows, (size_t)k0, kc, kn->mr, ap);
				block(kn, rows, cols, kc, ap, bp, c + m0 * ldc + n0, (size_t)ldc, alpha, be);
			}
		}
	}
	return true;
}
