/* pgemm.c: the GEMM of convolutions with few output positions (the deep layers: 7x7, the
 * 14x14 ones but 3x3 stride-1 layers, and their tiles), where BLIS spends its time packing
 * weights that each serve a few dozen columns. The weights are repacked once, into panels of
 * 32 output channels (k-major inside a panel), and kept with the weight tensor; a kernel then
 * runs down K with the 32 channels in two vectors and 14 output columns (7 at a row's end)
 * broadcast from the input rows: 28 accumulators, no packing of the input, nothing but the
 * weights streamed.
 * The ready form keeps the panels beside the weights (adcnn_panels_wanted), so that a run
 * maps them rather than makes them. */
#include "config.h"
#include "internal.h"
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

ADCNN_FMA_ON /* the kernel is multiply-adds */

#define PM 32 /* output channels a panel */
#define NR ADCNN_PGEMM_NR
/* A panel of more than KPANEL bytes (K > 3072: ResNet-18's layer4 3x3, K 4608) runs in
 * blocks of K of about KBLOCK bytes of it, each served to every column tile from the L1 and
 * L2 caches, the sums carried in y. Measured on layer4's 3x3 convolutions (engine-bench
 * --conv, one thread, interleaved): unblocked 1.71-1.94 ms, blocks of 64 KiB 1.58-1.66, of
 * 128 KiB 1.43-1.49, of 192 KiB 1.39-1.52; the 14x14 layers (K 2304) lost 15% in blocks, so
 * smaller panels stay whole. */
#define KPANEL ((size_t)384 * 1024)
#define KBLOCK ((size_t)128 * 1024)

typedef float vf __attribute__((vector_size(64)));
#define UNROLL _Pragma("GCC unroll 8")

/* Panels are worth keeping for the weights of an ungrouped Conv with 32 output channels or
 * more and K >= 64, where they are many (2^17 floats or more: ResNet-18's layer3 and layer4,
 * MobileNetV2's last 1x1 layers) or K is long (256 or more: MobileNetV2's projections of 384
 * to 960 channels down to 64 to 160, whose GEMM, by the output transposed, packed a few
 * thousand weights for 49 or 196 columns). Measured on one core (AVX-512, engine-bench's
 * runs, per node, interleaved): those projections at 14x14 87-97 -> 59-75 us, 576 -> 96
 * 180-197 -> 125-142, at 7x7 576 -> 160 146-165 -> 77-82, the whole model 5.89-5.92 ->
 * 5.53-5.79 ms at its fastest; the expansions (K 64 and 96) with panels were slower (70 ->
 * 107 us), so short K with fewer weights stays with the GEMM. Which layers use the panels is
 * decided at run time by the output's size (conv.c); the others leave their pages untouched. */
bool adcnn_panels_worth(int M, size_t K)
{
	return M >= 32 && K >= 64 && ((size_t)M * K >= ((size_t)1 << 17) || K >= 256);
}

size_t adcnn_panels_wanted(const struct adcnn_graph *g, int v)
{
	const struct adcnn_tensor *w = g->values[v].init;
	size_t K;

	if (w == NULL || w->dtype != ADCNN_F32 || w->rank != 4 || w->dims[0] < 32 || w->dims[0] > INT32_MAX)
		return 0;
	K = w->n / (size_t)w->dims[0]; /* the product of the others, without overflow */
	if (!adcnn_panels_worth((int)w->dims[0], K))
		return 0;
	for (int i = 0; i < g->nnodes; i++) {
		const struct adcnn_node *n = &g->nodes[i];
		if (n->op == OP_CONV && n->nin >= 2 && n->in[1] == v && n->group == 1)
			return ((size_t)w->dims[0] + PM - 1) / PM * PM * K;
	}
	return 0;
}

/* panel b: p[b][k][i] = w[b * 32 + i][k], rows past M zero */
void adcnn_panels_fill(const float *w, int M, size_t K, float *p)
{
	size_t np = ((size_t)M + PM - 1) / PM;

	for (size_t b = 0; b < np; b++) {
		float *q = p + b * K * PM;
		int rows = M - (int)(b * PM) < PM ? M - (int)(b * PM) : PM;
		for (int i = 0; i < rows; i++) {
			const float *src = w + (b * PM + (size_t)i) * K;
			for (size_t k = 0; k < K; k++)
				q[k * PM + (size_t)i] = src[k];
		}
		for (size_t k = 0; k < K; k++)
			for (int i = rows; i < PM; i++)
				q[k * PM + (size_t)i] = 0.0f;
	}
}

/* The weights' panels: those of the ready form, or, for a model parsed from ONNX (a process
 * that runs it many times, or the one run that makes the ready form), made on first use and
 * kept; NULL for mapped weights without panels, or out of memory. */
const float *adcnn_conv_panels(const struct adcnn_tensor *w, int M, size_t K)
{
	/* a cache on the weight tensor (which its model owns), not part of its value */
	_Atomic(void *) *slot = &((struct adcnn_tensor *)w)->packed;
	void *have = atomic_load_explicit(slot, memory_order_acquire), *want = NULL;
	size_t np = ((size_t)M + PM - 1) / PM;

	if (have != NULL || w->borrowed)
		return have;
	if (posix_memalign(&want, 64, np * K * PM * sizeof(float) + ADCNN_SLACK) != 0)
		return NULL;
	adcnn_panels_fill(w->d.f, M, K, want);
	if (!atomic_compare_exchange_strong_explicit(slot, &have, want, memory_order_acq_rel,
	                                             memory_order_acquire)) {
		free(want); /* another thread made them first */
		return have;
	}
	return want;
}

void adcnn_conv_panels_free(struct adcnn_tensor *w)
{
	if (!w->packed_borrowed)
		free(atomic_load_explicit(&w->packed, memory_order_relaxed));
}

/* the next of npf rows of pf, asked for whenever the count passes K (npf rows spread over
 * K steps) */
static inline __attribute__((always_inline)) void ask_ahead(size_t *due, size_t npf, size_t K, const float **pf)
{
	*due += npf;
	if (*due >= K) {
		*due -= K;
		__builtin_prefetch(*pf, 0, 3);
		__builtin_prefetch(*pf + 16, 0, 3);
		*pf += PM;
	}
}

/* acc[i][j] (rows ld apart) = lane i of lo[j], lane i - 16 of hi[j], for j < n */
static inline __attribute__((always_inline)) void sums_out(const vf *lo, const vf *hi, int n, float *acc, int ld)
{
	_Pragma("GCC unroll 14")
	for (int j = 0; j < n; j++)
		for (int i = 0; i < 16; i++) {
			acc[i * ld + j] = lo[j][i];
			acc[(i + 16) * ld + j] = hi[j][i];
		}
}

/* acc[i][j] = sum over k of panel[k][i] * x[k][off[j]], for i < 32, j < NR (the offsets stay
 * in registers: checked in the assembly); row k of x at x + k ldx, or at x + koff[k] where
 * koff is not NULL (a constant in each caller, so each is built for one of the two) */
static inline __attribute__((always_inline)) void tile_body(const float *restrict p, size_t K,
                                                            const float *restrict x, size_t ldx,
                                                            const int *restrict koff, const int *restrict off,
                                                            float acc[PM][NR], const float *pf, size_t npf)
{
	size_t due = 0;
	vf lo[NR], hi[NR];
	int o[NR];

	/* unrolled, so that the accumulators live in registers (-O2 does not unroll) */
	UNROLL
	for (int j = 0; j < NR; j++) {
		lo[j] = (vf){0};
		hi[j] = (vf){0};
		o[j] = off[j];
	}
	for (size_t k = 0; k < K; k++) {
		vf w0 = *(const vf *)(p + k * PM), w1 = *(const vf *)(p + k * PM + 16);
		const float *xr = koff != NULL ? x + koff[k] : x + k * ldx;
		ask_ahead(&due, npf, K, &pf);
		/* a scalar operand, so that it is broadcast from memory: (vf){0} + x, as it was,
		 * cost an addition on the FMA pipes and a shuffle a column */
		UNROLL
		for (int j = 0; j < NR; j++) {
			float b = xr[o[j]];
			lo[j] += w0 * b;
			hi[j] += w1 * b;
		}
	}
	sums_out(lo, hi, NR, &acc[0][0], NR);
}

ADCNN_VECTORIZE
static void tile(const float *restrict p, size_t K, const float *restrict x, size_t ldx,
                 const int *restrict off, float acc[PM][NR], const float *pf, size_t npf)
{
	tile_body(p, K, x, ldx, NULL, off, acc, pf, npf);
}

ADCNN_VECTORIZE
static void tile_ind(const float *restrict p, size_t K, const float *restrict x, const int *restrict koff,
                     const int *restrict off, float acc[PM][NR], const float *pf, size_t npf)
{
	tile_body(p, K, x, 0, koff, off, acc, pf, npf);
}

/* the same on 2 NR whole columns, at x[k][j sw]: 28 accumulators, each weight vector loaded
 * once for twice the columns. Measured on one thread (engine-bench --conv, ResNet-18, four
 * interleaved rounds): its 7x7 3x3 layers (49 columns: 14, 14, 14 and 7) 1.47-1.67 ->
 * 1.33-1.49 ms, the stride-2 layer to 28x28 0.80-0.83 -> 0.76-0.79; the 14x14 layers
 * (14 columns a row) the same, 1.26-1.35 ms either way. Rows of x as tile's; sw a constant
 * in each caller. */
static inline __attribute__((always_inline)) void tile2_body(const float *restrict p, size_t K,
                                                             const float *restrict x, size_t ldx,
                                                             const int *restrict koff, int sw,
                                                             float acc[PM][2 * NR], const float *pf, size_t npf)
{
	vf lo[2 * NR], hi[2 * NR];
	size_t due = 0;

	UNROLL
	for (int j = 0; j < 2 * NR; j++) {
		lo[j] = (vf){0};
		hi[j] = (vf){0};
	}
	for (size_t k = 0; k < K; k++) {
		vf w0 = *(const vf *)(p + k * PM), w1 = *(const vf *)(p + k * PM + 16);
		const float *xr = koff != NULL ? x + koff[k] : x + k * ldx;
		ask_ahead(&due, npf, K, &pf);
		_Pragma("GCC unroll 14")
		for (int j = 0; j < 2 * NR; j++) {
			float b = xr[j * sw];
			lo[j] += w0 * b;
			hi[j] += w1 * b;
		}
	}
	sums_out(lo, hi, 2 * NR, &acc[0][0], 2 * NR);
}

ADCNN_VECTORIZE
static void tile2(const float *restrict p, size_t K, const float *restrict x, size_t ldx,
                  float acc[PM][2 * NR], const float *pf, size_t npf)
{
	tile2_body(p, K, x, ldx, NULL, 1, acc, pf, npf);
}

ADCNN_VECTORIZE
static void tile2_ind(const float *restrict p, size_t K, const float *restrict x, const int *restrict koff,
                      float acc[PM][2 * NR], const float *pf, size_t npf)
{
	tile2_body(p, K, x, 0, koff, 1, acc, pf, npf);
}

ADCNN_VECTORIZE
static void tile2_ind2(const float *restrict p, size_t K, const float *restrict x, const int *restrict koff,
                       float acc[PM][2 * NR], const float *pf, size_t npf)
{
	tile2_body(p, K, x, 0, koff, 2, acc, pf, npf);
}

/* the sum of a tile's row and what is there (add) or not, plus the row's bias b, through
 * the activation: the arithmetic of adcnn_bias_act after the store or the addition */
#define OUT_ROW(add, expr)                                                                  \
	do {                                                                                \
		if (add)                                                                    \
			for (int j = 0; j < n; j++) {                                       \
				float v = (d[j] + a[j]) + b;                                \
				d[j] = expr;                                                \
			}                                                                   \
		else                                                                        \
			for (int j = 0; j < n; j++) {                                       \
				float v = a[j] + b;                                         \
				d[j] = expr;                                                \
			}                                                                   \
	} while (0)

static inline float clip1(float v, float lo, float hi)
{
	v = v < lo ? lo : v;
	return v > hi ? hi : v;
}

/* a tile's sums (rows ld apart) into y's rows (ldy apart): rows x n, stored or added; in
 * the last block of K (fin), plus the bias (NULL: none) and through the activation (NULL:
 * none), where a pass over the panel's rows after every tile did that: 2% of ResNet-18's
 * 28x28 layers on two threads. A function of its own, built for each vector unit: in
 * adcnn_pgemm (built for the baseline) the copy took a quarter of MobileNetV2's 7x7
 * expansions (K 160), skipped outright. Alone on one thread, four paired rounds: those
 * layers 0.103-0.139 -> 0.092-0.118 ms, its 320 -> 1280 layer 0.226-0.283 -> 0.221-0.256 */
ADCNN_VECTORIZE
static void tile_out(const float *restrict acc, int ld, int rows, int n, float *restrict y, size_t ldy,
                     bool add, bool fin, const float *bias, const struct adcnn_act *act)
{
	for (int i = 0; i < rows; i++) {
		const float *a = acc + (size_t)i * ld;
		float *d = y + (size_t)i * ldy, b = bias != NULL ? bias[i] : 0.0f;
		if (!fin || (bias == NULL && act == NULL)) {
			if (add)
				for (int j = 0; j < n; j++)
					d[j] += a[j];
			else
				for (int j = 0; j < n; j++)
					d[j] = a[j];
		} else if (act == NULL) {
			OUT_ROW(add, v);
		} else if (act->op == OP_RELU) {
			OUT_ROW(add, v > 0.0f ? v : 0.0f);
		} else {
			float lo = act->lo, hi = act->hi;
			OUT_ROW(add, clip1(v, lo, hi));
		}
	}
}

/* where the tiles read their columns: row k of x at x + k ldx and column n at n (koff NULL:
 * one row of ow, all the columns, sw 1); or row k at x + koff[k], and output row r's column
 * ox at r rstep + ox sw, ncol being whole output rows of ow, each row's tiles inside it */
struct src {
	const float *x;
	size_t ldx;
	const int *koff;
	int ow, sw;
	size_t rstep;
};

static void run(const float *panels, int M, int p, size_t K, const struct src *s, int ncol, float *y,
                size_t ldy, const float *bias, const struct adcnn_act *act)
{
	const float *pp = panels + (size_t)p * K * PM;
	int m0 = p * PM, rows = M - m0 < PM ? M - m0 : PM;
	float acc[PM][NR];
	int rowlen = s->ow, nrow = ncol > 0 ? ncol / rowlen : 0;
	/* the two-tile kernels read columns 1 or 2 apart */
	bool wide = s->sw <= 2;

	/* K in blocks where the panel is large (KPANEL), the first block's sums stored, the
	 * others' added */
	size_t pbytes = PM * K * sizeof(float), nblk = pbytes > KPANEL ? (pbytes + KBLOCK - 1) / KBLOCK : 1;
	size_t kblock = (K + nblk - 1) / nblk;

	/* tiles a pass over a block */
	size_t ntiles = (size_t)nrow * (wide ? (size_t)rowlen / (2 * NR) + ((size_t)rowlen % (2 * NR) + NR - 1) / NR
	                                     : ((size_t)rowlen + NR - 1) / NR);

	for (size_t k0 = 0; k0 < K; k0 += kblock) {
		size_t kb = K - k0 < kblock ? K - k0 : kblock, t = 0;
		/* the block the thread most likely takes next (this panel's next, or the next panel's
		 * first), asked for a share a tile meanwhile: a panel's first tile waited on its
		 * weights from memory where the layer's few columns make few tiles. Whole runs, eight
		 * interleaved rounds: MobileNetV2 (7x7 layers of K 160 and 320, 4 tiles a panel) on
		 * one thread 7.41-7.59 -> 7.00-7.12 ms, on two 6.43-6.98 -> 6.21-6.79; ResNet-18 on
		 * two threads 16.1-16.9 -> 15.7-16.6 (in a slow hour) */
		const float *next = k0 + kb < K ? pp + (k0 + kb) * PM : m0 + PM < M ? pp + K * PM : NULL;
		size_t nrows = next == NULL ? 0 : k0 + kb < K && K - k0 - kb < kblock ? K - k0 - kb : kblock;
		const int *kf = s->koff != NULL ? s->koff + k0 : NULL;
		for (int r = 0; r < nrow; r++)
			for (int c0 = 0; c0 < rowlen; c0 += NR, t++) {
				int n0 = r * rowlen + c0, nc = rowlen - c0 < NR ? rowlen - c0 : NR, off[NR];
				size_t r0 = nrows * t / ntiles, r1 = nrows * (t + 1) / ntiles;
				const float *pf = next != NULL ? next + r0 * PM : NULL;
				const float *xb = kf != NULL ? s->x + (size_t)r * s->rstep + (size_t)c0 * (size_t)s->sw
				                             : s->x + k0 * s->ldx + (size_t)n0;
				float *yt = y + (size_t)m0 * ldy + (size_t)n0;
				if (wide && rowlen - c0 >= 2 * NR) {
					float acc2[PM][2 * NR];
					if (kf == NULL)
						tile2(pp + k0 * PM, kb, xb, s->ldx, acc2, pf, r1 - r0);
					else if (s->sw == 1)
						tile2_ind(pp + k0 * PM, kb, xb, kf, acc2, pf, r1 - r0);
					else
						tile2_ind2(pp + k0 * PM, kb, xb, kf, acc2, pf, r1 - r0);
					tile_out(&acc2[0][0], 2 * NR, rows, 2 * NR, yt, ldy, k0 > 0, k0 + kb == K,
					         bias != NULL ? bias + m0 : NULL, act);
					c0 += NR;
					continue;
				}
				/* the last, short tile's spare columns repeat its last one */
				for (int j = 0; j < NR; j++)
					off[j] = (j < nc ? j : nc - 1) * s->sw;
				if (kf == NULL)
					tile(pp + k0 * PM, kb, xb, s->ldx, off, acc, pf, r1 - r0);
				else
					tile_ind(pp + k0 * PM, kb, xb, kf, off, acc, pf, r1 - r0);
				tile_out(&acc[0][0], NR, rows, nc, yt, ldy, k0 > 0, k0 + kb == K,
				         bias != NULL ? bias + m0 : NULL, act);
			}
	}
}

void adcnn_pgemm(const float *panels, int M, int p, size_t K, const float *x, size_t ldx,
                 int ncol, float *y, size_t ldy, const float *bias, const struct adcnn_act *act)
{
	struct src s = {x, ldx, NULL, ncol, 1, 0};

	run(panels, M, p, K, &s, ncol, y, ldy, bias, act);
}

void adcnn_pgemm_taps(const float *panels, int M, int p, size_t K, const float *x, const int *koff,
                      int nrow, int ow, size_t rstep, int sw, float *y, size_t ldy, const float *bias,
                      const struct adcnn_act *act)
{
	struct src s = {x, 0, koff, ow, sw, rstep};

	run(panels, M, p, K, &s, nrow * ow, y, ldy, bias, act);
}
