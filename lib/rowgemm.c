/* rowgemm.c: the GEMM of a convolution of few input channels (K <= 64: a 1x1 stride-1 layer
 * on its input, another on its im2col columns) on 256-bit vectors (AVX2; NEON takes them in
 * pairs) or 512-bit ones (AVX-512): y[m][n] = act(bias[m] + sum over k of w[m][k] x[k][n]),
 * the output positions n in vectors, read from x's rows and written to y's where they lie. BLIS packs
 * x first (all of it: K x positions), and a pass of its own then adds the bias and applies
 * the activation over an output that has left the cache by then; here both are done on a
 * tile of the output while it is in registers. A tile: 6 output channels by 16 positions
 * (32 on 512-bit vectors, AVX-512), 12 accumulators, two vectors of a row of x and a weight
 * broadcast. */
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
typedef float v16 __attribute__((vector_size(64)));
#define UNROLL _Pragma("GCC unroll 8")

/* mr (<= MR) channels of w (rows ldw apart) by NC positions of x (rows ldx apart) into y
 * (rows ldy apart): a short tile's spare rows repeat its last, and are not stored. VT: the
 * vector type, two to a row of the tile. */
#define TILE(name, VT, NC)                                                                           \
	ADCNN_VECTORIZE                                                                              \
	static void name(const float *restrict w, size_t ldw, int mr, size_t K, const float *restrict x, \
	                 size_t ldx, float *restrict y, size_t ldy, const float *bias,               \
	                 const struct adcnn_act *act)                                                \
	{                                                                                            \
		VT lo[MR], hi[MR];                                                                   \
		const float *wr[MR];                                                                 \
		UNROLL                                                                               \
		for (int i = 0; i < MR; i++) {                                                       \
			lo[i] = (VT){0};                                                             \
			hi[i] = (VT){0};                                                             \
			wr[i] = w + (size_t)(i < mr ? i : mr - 1) * ldw;                             \
		}                                                                                    \
		for (size_t k = 0; k < K; k++) {                                                     \
			VT x0, x1;                                                                   \
			memcpy(&x0, x + k * ldx, sizeof(x0));                                        \
			memcpy(&x1, x + k * ldx + NC / 2, sizeof(x1));                               \
			UNROLL                                                                       \
			for (int i = 0; i < MR; i++) {                                               \
				float v = wr[i][k];                                                  \
				lo[i] += v * x0;                                                     \
				hi[i] += v * x1;                                                     \
			}                                                                            \
		}                                                                                    \
		UNROLL                                                                               \
		for (int i = 0; i < MR; i++)                                                         \
			if (i < mr) {                                                                \
				float bv = bias ? bias[i] : 0.0f;                                    \
				lo[i] += bv;                                                         \
				hi[i] += bv;                                                         \
				memcpy(y + (size_t)i * ldy, &lo[i], sizeof(lo[i]));                  \
				memcpy(y + (size_t)i * ldy + NC / 2, &hi[i], sizeof(hi[i]));         \
				adcnn_act_loop(act, y + (size_t)i * ldy, NC);                        \
			}                                                                            \
	}

TILE(tile8, v8, 16)
TILE(tile16, v16, 32)

typedef void tile_fn(const float *restrict, size_t, int, size_t, const float *restrict, size_t,
                     float *restrict, size_t, const float *, const struct adcnn_act *);

bool adcnn_rowgemm(const float *w, int M, size_t K, const float *x, size_t ldx, size_t ncol,
                   float *y, size_t ldy, const float *bias, const struct adcnn_act *act)
{
	/* 512-bit vectors: tiles of twice the positions */
	bool wv = adcnn_wide_vectors();
	size_t nc = wv ? 2 * NC : NC, full = ncol / nc * nc;
	tile_fn *tile = wv ? tile16 : tile8;

	for (size_t c0 = 0; c0 < full; c0 += CHUNK) {
		size_t c1 = full - c0 < CHUNK ? full : c0 + CHUNK;
		for (int m0 = 0; m0 < M; m0 += MR)
			for (size_t n0 = c0; n0 < c1; n0 += nc)
				tile(w + (size_t)m0 * K, K, M - m0 < MR ? M - m0 : MR, K, x + n0, ldx, y + (size_t)m0 * ldy + n0,
				     ldy, bias ? bias + m0 : NULL, act);
	}
	if (full < ncol) {
		/* the last positions: x's copied into a tile's width, zeros after */
		size_t left = ncol - full;
		float *t = adcnn_scratch(K * nc + (size_t)MR * nc);
		float *o = t + K * nc;
		if (t == NULL)
			return false;
		for (size_t k = 0; k < K; k++) {
			memcpy(t + k * nc, x + k * ldx + full, left * sizeof(float));
			memset(t + k * nc + left, 0, (nc - left) * sizeof(float));
		}
		for (int m0 = 0; m0 < M; m0 += MR) {
			int mr = M - m0 < MR ? M - m0 : MR;
			tile(w + (size_t)m0 * K, K, mr, K, t, nc, o, nc, bias ? bias + m0 : NULL, act);
			for (int i = 0; i < mr; i++)
				memcpy(y + (size_t)(m0 + i) * ldy + full, o + (size_t)i * nc, left * sizeof(float));
		}
	}
	return true;
}
