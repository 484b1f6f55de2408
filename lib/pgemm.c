/* pgemm.c: the GEMM of convolutions with few output positions (the deep layers: 14x14, 7x7
 * and their tiles), where BLIS spends its time packing weights that each serve a few dozen
 * columns. The weights are repacked once, into panels of 32 output channels (k-major inside
 * a panel), and kept with the weight tensor; a kernel then runs down K with the 32 channels
 * in two vectors and 7 output columns broadcast from the input rows: 14 accumulators, no
 * packing of the input, nothing but the weights streamed. */
#include "config.h"
#include "internal.h"
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

ADCNN_FMA_ON /* the kernel is multiply-adds */

#define PM 32 /* output channels a panel */
#define NR 7  /* output columns a tile */

typedef float vf __attribute__((vector_size(64)));

const float *adcnn_conv_panels(const struct adcnn_tensor *w, int M, size_t K)
{
	/* a cache on the weight tensor (which its model owns), not part of its value */
	_Atomic(void *) *slot = &((struct adcnn_tensor *)w)->packed;
	void *have = atomic_load_explicit(slot, memory_order_acquire), *want = NULL;
	size_t np = ((size_t)M + PM - 1) / PM;
	float *p;

	if (have != NULL)
		return have;
	if (posix_memalign(&want, 64, np * K * PM * sizeof(float) + ADCNN_SLACK) != 0)
		return NULL;
	p = want;
	for (size_t b = 0; b < np; b++) {
		float *q = p + b * K * PM;
		int rows = M - (int)(b * PM) < PM ? M - (int)(b * PM) : PM;
		for (int i = 0; i < rows; i++) {
			const float *src = w->d.f + (b * PM + (size_t)i) * K;
			for (size_t k = 0; k < K; k++)
				q[k * PM + (size_t)i] = src[k];
		}
		for (size_t k = 0; k < K; k++)
			for (int i = rows; i < PM; i++)
				q[k * PM + (size_t)i] = 0.0f;
	}
	if (!atomic_compare_exchange_strong_explicit(slot, &have, want, memory_order_acq_rel,
	                                             memory_order_acquire)) {
		free(want); /* another thread made them first */
		return have;
	}
#ifdef MADV_DONTNEED
	/* Weights mapped from the ready form: give their pages back, as the panels serve from
	 * now on. Should a larger tile need them in the other layout, they come back from the
	 * file (a private mapping never written). */
	if (w->borrowed) {
		uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE), a = (uintptr_t)w->d.f, e = a + w->n * sizeof(float);
		a = (a + pg - 1) / pg * pg;
		e = e / pg * pg;
		if (e > a)
			madvise((void *)a, e - a, MADV_DONTNEED);
	}
#endif
	return want;
}

void adcnn_conv_panels_free(struct adcnn_tensor *w)
{
	free(atomic_load_explicit(&w->packed, memory_order_relaxed));
}

/* acc[i][j] = sum over k of panel[k][i] * x[k][col j], for i < 32, j < NR; col j is column
 * j, or off[j] when off is given (the last, short tile: its spare columns repeat one) */
ADCNN_VECTORIZE
static void tile(const float *restrict p, size_t K, const float *restrict x, size_t ldx,
                 const int *restrict off, float acc[PM][NR])
{
	vf lo[NR], hi[NR];
	int o[NR];

	for (int j = 0; j < NR; j++) {
		lo[j] = (vf){0};
		hi[j] = (vf){0};
		o[j] = off ? off[j] : j;
	}
	if (off == NULL) {
		for (size_t k = 0; k < K; k++) {
			vf w0 = *(const vf *)(p + k * PM), w1 = *(const vf *)(p + k * PM + 16);
			const float *xr = x + k * ldx;
			for (int j = 0; j < NR; j++) {
				vf b = (vf){0} + xr[j];
				lo[j] += w0 * b;
				hi[j] += w1 * b;
			}
		}
	} else {
		for (size_t k = 0; k < K; k++) {
			vf w0 = *(const vf *)(p + k * PM), w1 = *(const vf *)(p + k * PM + 16);
			const float *xr = x + k * ldx;
			for (int j = 0; j < NR; j++) {
				vf b = (vf){0} + xr[o[j]];
				lo[j] += w0 * b;
				hi[j] += w1 * b;
			}
		}
	}
	for (int j = 0; j < NR; j++)
		for (int i = 0; i < 16; i++) {
			acc[i][j] = lo[j][i];
			acc[i + 16][j] = hi[j][i];
		}
}

void adcnn_pgemm(const float *panels, int M, int p, size_t K, const float *x, size_t ldx,
                 int ncol, float *y, size_t ldy, const float *bias, const struct adcnn_act *act)
{
	const float *pp = panels + (size_t)p * K * PM;
	int m0 = p * PM, rows = M - m0 < PM ? M - m0 : PM;
	float acc[PM][NR];

	for (int n0 = 0; n0 < ncol; n0 += NR) {
		int nc = ncol - n0 < NR ? ncol - n0 : NR, off[NR];
		if (nc < NR)
			for (int j = 0; j < NR; j++)
				off[j] = j < nc ? j : nc - 1;
		tile(pp, K, x + n0, ldx, nc < NR ? off : NULL, acc);
		for (int i = 0; i < rows; i++)
			for (int j = 0; j < nc; j++)
				y[(size_t)(m0 + i) * ldy + (size_t)(n0 + j)] = acc[i][j];
	}
	if (bias != NULL || act != NULL)
		for (int i = 0; i < rows; i++)
			adcnn_bias_act(act, bias ? bias[m0 + i] : 0.0f, y + (size_t)(m0 + i) * ldy, (size_t)ncol);
}
