/* rowgemm.c: the GEMM of a convolution of few input channels (K <= 64: a 1x1 stride-1 layer
 * on its input, another on its im2col columns) on 256-bit vectors (AVX2; NEON takes them in
 * pairs): y[m][n] = act(bias[m] + sum over k of w[m][k] x[k][n]), the output positions n in
 * vectors, read from x's rows and written to y's where they lie. BLIS packs
 * x first (all of it: K x positions), and a pass of its own then adds the bias and applies
 * the activation over an output that has left the cache by then; here both are done on a
 * tile of the output while it is in registers. A tile: 6 output channels by 16 positions,
 * 12 accumulators, two vectors of a row of x and a weight broadcast. */
#include "config.h"
#include "internal.h"
#include <string.h>

ADCNN_FMA_ON /* the kernel is multiply-adds */

#define MR 6  /* output channels a tile */
#define NC 16 /* positions a tile: two vectors */
/* positions a pass over the channels: the tiles go channel tile by channel tile inside a
 * chunk, so that the output is written 6 rows at a time, a kilobyte along each, where a
 * position tile at a time wrote 16 floats to each of the layer's rows (MobileNetV2's 16 ->
 * 96 layer at 112x112, in a whole run on one core: 1.12-1.16 -> 0.69-0.72 ms; its expanding
 * layers from 112x112 to 14x14, 2.75-2.79 -> 2.25-2.27 ms) */
#define CHUNK 256
typedef float v8 __attribute__((vector_size(32)));
#define UNROLL _Pragma("GCC unroll 8")

/* mr (<= MR) channels of w (rows ldw apart) by NC positions of x (rows ldx apart) into y
 * (rows ldy apart): a short tile's spare rows repeat its last, and are not stored */
ADCNN_VECTORIZE
static void tile(const float *restrict w, size_t ldw, int mr, size_t K, const float *restrict x,
                 size_t ldx, float *restrict y, size_t ldy, const float *bias,
                 const struct adcnn_act *act)
{
	v8 lo[MR], hi[MR];
	const float *wr[MR];

	UNROLL
	for (int i = 0; i < MR; i++) {
		lo[i] = (v8){0};
		hi[i] = (v8){0};
		wr[i] = w + (size_t)(i < mr ? i : mr - 1) * ldw;
	}
	for (size_t k = 0; k < K; k++) {
		v8 x0, x1;
		memcpy(&x0, x + k * ldx, sizeof(x0));
		memcpy(&x1, x + k * ldx + 8, sizeof(x1));
		UNROLL
		for (int i = 0; i < MR; i++) {
			float v = wr[i][k];
			v8 b = {v, v, v, v, v, v, v, v};
			lo[i] += b * x0;
			hi[i] += b * x1;
		}
	}
	UNROLL
	for (int i = 0; i < MR; i++)
		if (i < mr) {
			float bv = bias ? bias[i] : 0.0f;
			v8 b = {bv, bv, bv, bv, bv, bv, bv, bv};
			lo[i] += b;
			hi[i] += b;
			memcpy(y + (size_t)i * ldy, &lo[i], sizeof(lo[i]));
			memcpy(y + (size_t)i * ldy + 8, &hi[i], sizeof(hi[i]));
			adcnn_act_loop(act, y + (size_t)i * ldy, NC);
		}
}

bool adcnn_rowgemm(const float *w, int M, size_t K, const float *x, size_t ldx, size_t ncol,
                   float *y, size_t ldy, const float *bias, const struct adcnn_act *act)
{
	size_t full = ncol / NC * NC;

	for (size_t c0 = 0; c0 < full; c0 += CHUNK) {
		size_t c1 = full - c0 < CHUNK ? full : c0 + CHUNK;
		for (int m0 = 0; m0 < M; m0 += MR)
			for (size_t n0 = c0; n0 < c1; n0 += NC)
				tile(w + (size_t)m0 * K, K, M - m0 < MR ? M - m0 : MR, K, x + n0, ldx, y + (size_t)m0 * ldy + n0,
				     ldy, bias ? bias + m0 : NULL, act);
	}
	if (full < ncol) {
		/* the last positions: x's copied into a tile's width, zeros after */
		size_t nc = ncol - full;
		float *t = adcnn_scratch(K * NC + (size_t)MR * NC);
		float *o = t + K * NC;
		if (t == NULL)
			return false;
		for (size_t k = 0; k < K; k++) {
			memcpy(t + k * NC, x + k * ldx + full, nc * sizeof(float));
			memset(t + k * NC + nc, 0, (NC - nc) * sizeof(float));
		}
		for (int m0 = 0; m0 < M; m0 += MR) {
			int mr = M - m0 < MR ? M - m0 : MR;
			tile(w + (size_t)m0 * K, K, mr, K, t, NC, o, NC, bias ? bias + m0 : NULL, act);
			for (int i = 0; i < mr; i++)
				memcpy(y + (size_t)(m0 + i) * ldy + full, o + (size_t)i * NC, nc * sizeof(float));
		}
	}
	return true;
}
