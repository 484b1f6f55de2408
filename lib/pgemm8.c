/* pgemm8.c: pgemm.c's GEMM on 256-bit vectors (AVX2), from the same panels of 32 output
 * channels: each panel in two halves of 16 channels (two vectors), against tiles of at most
 * 6 output columns broadcast: 12 accumulators. pgemm.c's kernel reads the input in place
 * and holds 14 accumulators of 512 bits; here the input is first packed into its tiles (a
 * tile's columns at k, then at k + 1, ...), so that a tile's reads run in a line, and the
 * columns are cut into tiles as even as can be (49 columns: 4 tiles of 6 and 5 of 5), so
 * that no tile runs for one column. While it computes a chunk of a panel, the kernel asks
 * the cache for the next chunk: the deep layers' weights are read once a run, from memory,
 * and BLIS, which packs them first, waits for them. */
#include "config.h"
#include "internal.h"
#include <string.h>

ADCNN_FMA_ON /* the kernel is multiply-adds */

#define PM 32 /* output channels a panel (pgemm.c) */
#define HM 16 /* a half */
#define NW 6  /* columns a tile, at most */
/* K in chunks of about this many rows: a chunk of a panel (64 KiB) stays in the cache for all
 * the tiles, where a whole panel of ResNet-18's 7x7 layers (K 4608: 576 KiB) left it */
#define KC 512

typedef float v8 __attribute__((vector_size(32)));
#define UNROLL _Pragma("GCC unroll 8")

size_t adcnn_pgemm8_tiles(size_t ncol)
{
	return (ncol + NW - 1) / NW;
}

/* tile t of nt over ncol columns starts at column t * ncol / nt */
static size_t tile_start(size_t t, size_t nt, size_t ncol)
{
	return t * ncol / nt;
}

/* rows k0..k1 of a tile of w columns, w a constant in each copy: with w a variable, the
 * compiler made each row's few floats a call to memcpy (a ninth of a 14x14 layer's time on
 * the panels, on Zen 3) */
static inline __attribute__((always_inline)) void pack_rows(const float *restrict x, size_t ldx, size_t k0,
                                                            size_t k1, int w, float *restrict d)
{
	for (size_t k = k0; k < k1; k++)
		for (int j = 0; j < w; j++)
			d[k * (size_t)w + (size_t)j] = x[k * ldx + (size_t)j];
}

ADCNN_VECTORIZE
void adcnn_pgemm8_pack(const float *restrict x, size_t ldx, size_t K, size_t ncol, size_t t0,
                       size_t t1, size_t k0, size_t k1, float *restrict xp)
{
	size_t nt = adcnn_pgemm8_tiles(ncol);

	for (size_t t = t0; t < t1; t++) {
		size_t c0 = tile_start(t, nt, ncol), w = tile_start(t + 1, nt, ncol) - c0;
		float *d = xp + c0 * K;
		switch (w) {
		case 6: pack_rows(x + c0, ldx, k0, k1, 6, d); break;
		case 5: pack_rows(x + c0, ldx, k0, k1, 5, d); break;
		case 4: pack_rows(x + c0, ldx, k0, k1, 4, d); break;
		case 3: pack_rows(x + c0, ldx, k0, k1, 3, d); break;
		case 2: pack_rows(x + c0, ldx, k0, k1, 2, d); break;
		default: pack_rows(x + c0, ldx, k0, k1, 1, d); break;
		}
	}
}

/* rows k0..k0 + nk of a tile of w columns (a constant in each copy) read through the taps:
 * row k's value of column j at xs[koff[k] + coff[j]] */
static inline __attribute__((always_inline)) void taps_rows(const float *restrict xs, const int *restrict koff,
                                                            const int *restrict coff, size_t nk, int w,
                                                            float *restrict d)
{
	int o[NW];

	for (int j = 0; j < w; j++)
		o[j] = coff[j];
	for (size_t k = 0; k < nk; k++) {
		const float *s = xs + koff[k];
		for (int j = 0; j < w; j++)
			d[k * (size_t)w + (size_t)j] = s[o[j]];
	}
}

void adcnn_pgemm8_pack_taps(const float *restrict xs, const int *restrict koff, const int *restrict coff,
                            size_t K, size_t ncol, size_t k0, size_t k1, float *restrict xp)
{
	size_t nt = adcnn_pgemm8_tiles(ncol), nk = k1 - k0;

	for (size_t t = 0; t < nt; t++) {
		size_t c0 = tile_start(t, nt, ncol), w = tile_start(t + 1, nt, ncol) - c0;
		float *d = xp + c0 * K + k0 * w;
		switch (w) {
		case 6: taps_rows(xs, koff, coff + c0, nk, 6, d); break;
		case 5: taps_rows(xs, koff, coff + c0, nk, 5, d); break;
		case 4: taps_rows(xs, koff, coff + c0, nk, 4, d); break;
		case 3: taps_rows(xs, koff, coff + c0, nk, 3, d); break;
		case 2: taps_rows(xs, koff, coff + c0, nk, 2, d); break;
		default: taps_rows(xs, koff, coff + c0, nk, 1, d); break;
		}
	}
}

/* y[i][j] (+)= sum over k of p[k][i] * x[k][j] for i < rows (<= 16), j < w (x: a packed tile,
 * w columns a row; p: a half panel, rows PM apart; add: onto y); the rows pf[k], k < npf,
 * asked for meanwhile */
static inline __attribute__((always_inline)) void tile(const float *restrict p, size_t K,
                                                       const float *restrict x, int w,
                                                       float *restrict y, size_t ldy, int rows,
                                                       bool add, const float *pf, size_t npf)
{
	v8 lo[NW], hi[NW];
	float acc[HM][NW];

	UNROLL
	for (int j = 0; j < NW; j++) {
		lo[j] = (v8){0};
		hi[j] = (v8){0};
	}
	/* the npf rows spread over the K steps: one whenever the count passes K */
	size_t due = 0;
	/* four steps a loop: fewer instructions a step for the pointers and the count. On the
	 * Zen 3 machine it was measured on, whose speed swung twofold from minute to minute, a
	 * 256 x 256 layer at 14x14 and a 512 x 512 at 7x7 on one core, 16 rounds of both one
	 * after the other: 0.73 and 0.71 of the time (medians of the rounds' ratios); the
	 * fastest runs moved either way (2.88 -> 3.52 ms, 2.87 -> 2.72). By 2, 1.05 of by 4's
	 * time; by 8, 1.02 */
#pragma GCC unroll 4
	for (size_t k = 0; k < K; k++) {
		v8 w0, w1;
		const float *xr = x + k * (size_t)w;
		memcpy(&w0, p + k * PM, sizeof(v8));
		memcpy(&w1, p + k * PM + 8, sizeof(v8));
		due += npf;
		if (due >= K) {
			due -= K;
			__builtin_prefetch(pf, 0, 3);
			__builtin_prefetch(pf + HM, 0, 3);
			pf += PM;
		}
		UNROLL
		for (int j = 0; j < NW; j++)
			if (j < w) {
				float v = xr[j];
				v8 b = {v, v, v, v, v, v, v, v};
				lo[j] += w0 * b;
				hi[j] += w1 * b;
			}
	}
	UNROLL
	for (int j = 0; j < NW; j++)
		if (j < w)
			for (int i = 0; i < 8; i++) {
				acc[i][j] = lo[j][i];
				acc[i + 8][j] = hi[j][i];
			}
	if (add) {
		for (int i = 0; i < rows; i++)
			for (int j = 0; j < w; j++)
				y[(size_t)i * ldy + (size_t)j] += acc[i][j];
	} else {
		for (int i = 0; i < rows; i++)
			for (int j = 0; j < w; j++)
				y[(size_t)i * ldy + (size_t)j] = acc[i][j];
	}
}

/* a tile of each width, the width a constant in each */
ADCNN_VECTORIZE
static void tile_w(int w, const float *p, size_t K, const float *x, float *y, size_t ldy, int rows,
                   bool add, const float *pf, size_t npf)
{
	switch (w) {
	case 6: tile(p, K, x, 6, y, ldy, rows, add, pf, npf); break;
	case 5: tile(p, K, x, 5, y, ldy, rows, add, pf, npf); break;
	case 4: tile(p, K, x, 4, y, ldy, rows, add, pf, npf); break;
	case 3: tile(p, K, x, 3, y, ldy, rows, add, pf, npf); break;
	case 2: tile(p, K, x, 2, y, ldy, rows, add, pf, npf); break;
	default: tile(p, K, x, 1, y, ldy, rows, add, pf, npf); break;
	}
}

void adcnn_pgemm8(const float *panels, int M, int p, size_t K, const float *xp, size_t ncol,
                  size_t t0, size_t t1, float *y, size_t ldy, const float *bias,
                  const struct adcnn_act *act)
{
	const float *pp = panels + (size_t)p * K * PM;
	size_t nt = adcnn_pgemm8_tiles(ncol), c0 = tile_start(t0, nt, ncol), c1 = tile_start(t1, nt, ncol);
	size_t steps = 2 * (t1 - t0), nk = (K + KC - 1) / KC;
	int rows[2];

	for (int h = 0; h < 2; h++) {
		int m0 = p * PM + h * HM;
		rows[h] = M - m0 < 0 ? 0 : M - m0 < HM ? M - m0 : HM;
	}
	for (size_t kc = 0; kc < nk; kc++) {
		size_t k0 = kc * K / nk, k1 = (kc + 1) * K / nk;
		/* the rows asked for during this chunk: the next chunk's, or the next panel's first */
		const float *next = kc + 1 < nk ? pp + k1 * PM : pp + K * PM;
		size_t nn = kc + 1 < nk ? (kc + 2) * K / nk - k1 : (size_t)(p + 1) * PM < (size_t)M ? K / nk : 0;
		for (int h = 0; h < 2; h++) {
			if (rows[h] == 0)
				break;
			for (size_t t = t0; t < t1; t++) {
				size_t a = tile_start(t, nt, ncol), b = tile_start(t + 1, nt, ncol);
				/* this step's share of them */
				size_t s = (size_t)h * (t1 - t0) + (t - t0), r0 = s * nn / steps, r1 = (s + 1) * nn / steps;
				tile_w((int)(b - a), pp + k0 * PM + h * HM, k1 - k0, xp + a * K + k0 * (b - a),
				       y + (size_t)(p * PM + h * HM) * ldy + a, ldy, rows[h], kc > 0,
				       nn ? next + r0 * PM : pp, r1 - r0);
			}
		}
	}
	/* the panel's rows (the second half's follow the first's) */
	if (bias != NULL || act != NULL)
		for (int m = p * PM; m < p * PM + rows[0] + rows[1]; m++)
			adcnn_bias_act(act, bias ? bias[m] : 0.0f, y + (size_t)m * ldy + c0, c1 - c0);
}
