/* dwblock.c: 3x3 depthwise convolution, stride 1 or 2, eight channels at a time, one in each
 * lane of a 256-bit vector (AVX2; NEON takes them in pairs). The channels' planes are
 * transposed, eight columns at a time, into a band of padded rows of eight-lane pixels; every
 * output pixel is then nine vector multiply-adds, with no ends of rows to finish one at a
 * time; the band's outputs, eight-lane pixels laid flat, are transposed back into the planes.
 * A channel at a time (the kernels this file replaced), a plane's short rows spent more on
 * their ends than on their sums: at stride 2, MobileNetV2's layers ran 3 to 5 times slower
 * than onnxruntime, whose layout keeps channels in blocks. Measured on one core (AVX2, Zen
 * 3), each layer alone, the channel-at-a-time kernels against these: stride 2, 96x112x112
 * 0.66 -> 0.34 ms, 144x56x56 0.19-0.34 -> 0.13, 192x28x28 0.18 -> 0.05, 576x14x14 0.12-0.27
 * -> 0.06; stride 1, 144x56x56 0.41 -> 0.29, 384x14x14 0.07-0.09 -> 0.065, 960x7x7 0.09 ->
 * 0.07; all of the model's 3x3 layers 3.5-3.8 -> 2.6 ms. A pixel's sum is each row's taps
 * in order, then the rows' sums. */
#include "config.h"
#include "internal.h"
#include <string.h>

ADCNN_FMA_ON /* the kernel is multiply-adds */

#define L ADCNN_DW_LANES
typedef float v8 __attribute__((vector_size(32)));

typedef int v8i __attribute__((vector_size(32)));

/* m ? a : b, lane by lane (m: all ones or all zeros) */
#define PICK(m, a, b) ((v8)(((v8i)(m) & (v8i)(a)) | (~(v8i)(m) & (v8i)(b))))

#define UNROLL _Pragma("GCC unroll 8")

/* the padded rows a band holds at most: 12288 floats (48 KiB) of them */
#define BAND_FLOATS 12288

/* r[i][j] <- r[j][i]: unpack pairs, then pairs of pairs, then halves */
static inline __attribute__((always_inline)) void transpose8(v8 r[8])
{
	v8 t[8], u[8];

	UNROLL
	for (int i = 0; i < 8; i += 2) {
		t[i] = ADCNN_SHUFFLE(v8i, r[i], r[i + 1], 0, 8, 1, 9, 4, 12, 5, 13);
		t[i + 1] = ADCNN_SHUFFLE(v8i, r[i], r[i + 1], 2, 10, 3, 11, 6, 14, 7, 15);
	}
	UNROLL
	for (int i = 0; i < 8; i += 4) {
		u[i] = ADCNN_SHUFFLE(v8i, t[i], t[i + 2], 0, 1, 8, 9, 4, 5, 12, 13);
		u[i + 1] = ADCNN_SHUFFLE(v8i, t[i], t[i + 2], 2, 3, 10, 11, 6, 7, 14, 15);
		u[i + 2] = ADCNN_SHUFFLE(v8i, t[i + 1], t[i + 3], 0, 1, 8, 9, 4, 5, 12, 13);
		u[i + 3] = ADCNN_SHUFFLE(v8i, t[i + 1], t[i + 3], 2, 3, 10, 11, 6, 7, 14, 15);
	}
	UNROLL
	for (int i = 0; i < 4; i++) {
		r[i] = ADCNN_SHUFFLE(v8i, u[i], u[i + 4], 0, 1, 2, 3, 8, 9, 10, 11);
		r[i + 4] = ADCNN_SHUFFLE(v8i, u[i], u[i + 4], 4, 5, 6, 7, 12, 13, 14, 15);
	}
}

/* eight pixels of the channels' row from column c: d[i][l] = src[l][c + i] */
static inline __attribute__((always_inline)) void pixels_in(const float *const src[L], int c,
                                                            float *restrict d)
{
	v8 v[L];

	UNROLL
	for (int l = 0; l < L; l++)
		memcpy(&v[l], src[l] + c, sizeof(v8));
	transpose8(v);
	UNROLL
	for (int i = 0; i < L; i++)
		memcpy(d + (size_t)i * L, &v[i], sizeof(v8));
}

/* eight pixels of the channels' planes laid flat from position f, rows w long, each to its
 * row of the padded rows d (pw pixels long) from column lo */
static inline __attribute__((always_inline)) void pixels_spread(const float *const src[L], size_t f,
                                                                int w, int pw, int lo,
                                                                float *restrict d)
{
	v8 v[L];
	size_t row = f / (size_t)w;
	int col = (int)(f % (size_t)w);

	UNROLL
	for (int l = 0; l < L; l++)
		memcpy(&v[l], src[l] + f, sizeof(v8));
	transpose8(v);
	UNROLL
	for (int i = 0; i < L; i++) {
		memcpy(d + (row * (size_t)pw + (size_t)(lo + col)) * L, &v[i], sizeof(v8));
		if (++col == w) {
			col = 0;
			row++;
		}
	}
}

/* eight pixels back to the channels' planes from position q: dst[l][q + i] = o[i][l], l < nl */
static inline __attribute__((always_inline)) void pixels_out(const float *restrict o, int nl,
                                                             float *const dst[L], size_t q)
{
	v8 v[L];

	UNROLL
	for (int i = 0; i < L; i++)
		memcpy(&v[i], o + (size_t)i * L, sizeof(v8));
	transpose8(v);
	UNROLL
	for (int l = 0; l < L; l++)
		if (l < nl)
			memcpy(dst[l] + q, &v[l], sizeof(v8));
}

/* the output rows of a band: as many as BAND_FLOATS of padded rows pw pixels long feed, at
 * least one */
static int band_of(int s, int pw)
{
	size_t rows = BAND_FLOATS / ((size_t)pw * L);

	return rows < 3 ? 1 : (int)((rows - 3) / (size_t)s + 1);
}

size_t adcnn_dw3_block_work(int s, int ow)
{
	size_t pw = (size_t)(ow - 1) * s + 3, band = (size_t)band_of(s, (int)pw);

	return (((band - 1) * (size_t)s + 3) * pw + band * (size_t)ow) * L;
}

ADCNN_VECTORIZE ADCNN_PLAIN_LOOPS
void adcnn_dw3_block(const float *x, size_t xstride, int nl, int h, int w, const float *k,
                     const float *bias, int s, int r0, int c0, int oh, int ow, float *y,
                     size_t ystride, const struct adcnn_act *act, float *work)
{
	int pw = (ow - 1) * s + 3, lo = c0 < 0 ? -c0 : 0, hi = w - c0 < pw ? w - c0 : pw;
	int band = band_of(s, pw);
	float *t = work, *o;
	const float *src[L];
	float *dst[L];
	v8 kv[9], bv, vlo = {0}, vhi = {0};

	if (hi < lo)
		hi = lo;
	/* rows narrower than a vector, whole in the tile */
	bool narrow = hi - lo < L && c0 + lo == 0 && c0 + hi == w;
	if (band > oh)
		band = oh;
	o = t + ((size_t)(band - 1) * s + 3) * pw * L;
	for (int i = 0; i < 9; i++)
		for (int l = 0; l < L; l++)
			kv[i][l] = l < nl ? k[(size_t)l * 9 + (size_t)i] : 0.0f;
	for (int l = 0; l < L; l++) {
		bv[l] = l < nl && bias != NULL ? bias[l] : 0.0f;
		dst[l] = y + (size_t)(l < nl ? l : 0) * ystride;
	}
	if (act != NULL) {
		float a = act->op == OP_RELU ? 0.0f : act->lo, b = act->op == OP_RELU ? 0.0f : act->hi;
		vlo = vlo + a;
		vhi = vhi + b;
	}
	for (int oy0 = 0; oy0 < oh; oy0 += band) {
		int nb = oh - oy0 < band ? oh - oy0 : band, nr = (nb - 1) * s + 3;
		size_t n = (size_t)nb * ow;

		/* the band's padded rows: zero outside the tile */
		int ra = nr, rb = 0; /* the rows inside it */
		for (int r = 0; r < nr; r++) {
			int ty = r0 + oy0 * s + r;
			float *d = t + (size_t)r * pw * L;
			if (ty < 0 || ty >= h) {
				memset(d, 0, (size_t)pw * L * sizeof(float));
				continue;
			}
			ra = r < ra ? r : ra;
			rb = r + 1;
			memset(d, 0, (size_t)lo * L * sizeof(float));
			memset(d + (size_t)hi * L, 0, (size_t)(pw - hi) * L * sizeof(float));
			if (narrow)
				continue;
			/* src[l][c]: the tile's row ty of channel l at padded column c (the spare lanes
			 * read channel 0) */
			for (int l = 0; l < L; l++)
				src[l] = x + (size_t)(l < nl ? l : 0) * xstride + (size_t)ty * w + c0;
			int c = lo;
			for (; c + L <= hi; c += L)
				pixels_in(src, c, d + (size_t)c * L);
			if (c < hi && hi - lo >= L) {
				/* the last eight columns again, overlapping */
				pixels_in(src, hi - L, d + (size_t)(hi - L) * L);
			} else {
				for (; c < hi; c++)
					for (int l = 0; l < L; l++)
						d[(size_t)c * L + (size_t)l] = src[l][c];
			}
		}
		if (narrow && rb > ra) {
			/* rows of fewer than eight columns, whole: the band's rows are one run of each
			 * plane, transposed eight pixels at a time, each pixel put in its row */
			size_t nf = (size_t)(rb - ra) * w, f = 0;
			float *d = t + (size_t)ra * pw * L;
			for (int l = 0; l < L; l++)
				src[l] = x + (size_t)(l < nl ? l : 0) * xstride + (size_t)(r0 + oy0 * s + ra) * w;
			for (; f + L <= nf; f += L)
				pixels_spread(src, f, w, pw, lo, d);
			if (f < nf && nf >= L) {
				pixels_spread(src, nf - L, w, pw, lo, d);
			} else {
				for (; f < nf; f++)
					for (int l = 0; l < L; l++)
						d[(f / (size_t)w * (size_t)pw + (size_t)lo + f % (size_t)w) * L + (size_t)l] = src[l][f];
			}
		}
		/* every output pixel: each row's three taps in order, then the rows' sums: three
		 * chains of multiply-adds where one of nine made each pixel wait on its own sum
		 * (MobileNetV2's depthwise layers, fused or not, in whole runs on one thread, four
		 * interleaved rounds: 2.90-2.95 -> 2.79-2.87 ms in all) */
		for (int oy = 0; oy < nb; oy++) {
			const float *p0 = t + (size_t)oy * s * pw * L;
			float *q = o + (size_t)oy * ow * L;
			for (int ox = 0; ox < ow; ox++) {
				const float *a = p0 + (size_t)ox * s * L, *b = a + (size_t)pw * L, *c = b + (size_t)pw * L;
				v8 a0, a1, a2, b0, b1, b2, c0_, c1, c2, v, va, vb, vc;
				memcpy(&a0, a, sizeof(v8));
				memcpy(&a1, a + L, sizeof(v8));
				memcpy(&a2, a + 2 * L, sizeof(v8));
				memcpy(&b0, b, sizeof(v8));
				memcpy(&b1, b + L, sizeof(v8));
				memcpy(&b2, b + 2 * L, sizeof(v8));
				memcpy(&c0_, c, sizeof(v8));
				memcpy(&c1, c + L, sizeof(v8));
				memcpy(&c2, c + 2 * L, sizeof(v8));
				va = bv + kv[0] * a0 + kv[1] * a1 + kv[2] * a2;
				vb = kv[3] * b0 + kv[4] * b1 + kv[5] * b2;
				vc = kv[6] * c0_ + kv[7] * c1 + kv[8] * c2;
				v = va + (vb + vc);
				if (act != NULL) {
					/* as adcnn_act_loop: Relu sends NaN to 0, Clip keeps it */
					if (act->op == OP_RELU) {
						v = PICK(v > vlo, v, vlo);
					} else {
						v = PICK(v < vlo, vlo, v);
						v = PICK(v > vhi, vhi, v);
					}
				}
				memcpy(q + (size_t)ox * L, &v, sizeof(v8));
			}
		}
		/* back to the planes: the band's outputs are n positions of each, from oy0 * ow */
		size_t base = (size_t)oy0 * ow, q = 0;
		for (; q + L <= n; q += L)
			pixels_out(o + q * L, nl, dst, base + q);
		if (q < n && n >= L) {
			pixels_out(o + (n - L) * L, nl, dst, base + n - L);
		} else {
			for (; q < n; q++)
				for (int l = 0; l < nl; l++)
					dst[l][base + q] = o[q * L + (size_t)l];
		}
	}
}
