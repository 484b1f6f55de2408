/* quant.c: ADCNN's compression of tile outputs: clip, uniform quantization to 1-8 bits
 * (unsigned where the tensor is non-negative, so that ReLU's zeros stay exact zeros), and
 * entropy coding of the codes: rANS with a table per group of channels (rans.c), or zstd on
 * one byte a code or on bit planes. */
#include "config.h"
#include "internal.h"
#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

/* the same tensor packs to the same bytes on every host: no fused multiply-add here */
ADCNN_FMA_OFF

/* payload after the tensor header: bits, coder, zero point, reserved, scale, clip, size */
#define QHDR 16
#define SAMPLE_MAX 65536

/* One zstd context per thread, made once: a tile's tensors are small, and making a context
 * per call cost more than coding them. */
static _Thread_local ZSTD_CCtx *cctx;
static _Thread_local ZSTD_DCtx *dctx;

ZSTD_CCtx *adcnn_zstd_cctx(void)
{
	if (cctx == NULL)
		cctx = ZSTD_createCCtx();
	return cctx;
}

ZSTD_DCtx *adcnn_zstd_dctx(void)
{
	if (dctx == NULL)
		dctx = ZSTD_createDCtx();
	return dctx;
}

void adcnn_pack_opts_init(struct adcnn_pack_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->bits = 4;
	o->clip = ADCNN_CLIP_AUTO;
	o->coder = ADCNN_CODER_RANS;
	o->level = 0; /* the default of the mode: 1 quantized, 3 lossless */
}

struct qparams {
	int bits, zp;
	float scale, lo, hi, clip;
};

static void params_for(float lo, float hi, int bits, struct qparams *q)
{
	int levels = (1 << bits) - 1;

	q->bits = bits;
	q->scale = hi > lo ? (hi - lo) / (float)levels : 1.0f;
	/* zero must be a code, so that zeros come back as zeros */
	q->zp = (int)lrintf(-lo / q->scale);
	if (q->zp < 0)
		q->zp = 0;
	if (q->zp > levels)
		q->zp = levels;
	q->lo = -(float)q->zp * q->scale;
	q->hi = q->lo + (float)levels * q->scale;
}

static inline uint8_t quantize1(float x, float inv, float zp, float levels)
{
	float v = x * inv + zp;
	v = v > 0.0f ? v : 0.0f; /* NaN goes to 0 here */
	v = v < levels ? v : levels;
	return (uint8_t)(int)(v + 0.5f);
}

ADCNN_VECTORIZE
static void quantize(const float *restrict x, size_t n, float inv, float zp, float levels,
                     uint8_t *restrict codes)
{
	for (size_t i = 0; i < n; i++)
		codes[i] = quantize1(x[i], inv, zp, levels);
}

ADCNN_VECTORIZE
static void dequantize(const uint8_t *restrict codes, size_t n, float zp, float scale,
                       float *restrict out)
{
	for (size_t i = 0; i < n; i++)
		out[i] = ((float)codes[i] - zp) * scale;
}

/* the least and greatest value and 0 (NaN ignored), in two vectors of eight lanes each way
 * (arrays of lanes were written back to memory at every step: a quarter of the time of
 * packing a small tensor went here) */
typedef float qv8 __attribute__((vector_size(32)));
typedef int qv8i __attribute__((vector_size(32)));

ADCNN_VECTORIZE
static void min_max(const float *restrict x, size_t n, float *mn, float *mx)
{
	qv8 lo[2] = {{0}}, hi[2] = {{0}};
	float l[16], h[16];
	size_t i = 0;

	for (; i + 16 <= n; i += 16)
		for (int k = 0; k < 2; k++) {
			qv8 v;
			qv8i a, b;
			memcpy(&v, x + i + 8 * k, sizeof(v));
			a = v < lo[k];
			b = v > hi[k];
			lo[k] = (qv8)((a & (qv8i)v) | (~a & (qv8i)lo[k]));
			hi[k] = (qv8)((b & (qv8i)v) | (~b & (qv8i)hi[k]));
		}
	memcpy(l, lo, sizeof(l));
	memcpy(h, hi, sizeof(h));
	for (; i < n; i++) {
		l[0] = x[i] < l[0] ? x[i] : l[0];
		h[0] = x[i] > h[0] ? x[i] : h[0];
	}
	for (int v = 0; v < 16; v++) {
		*mn = l[v] < *mn ? l[v] : *mn;
		*mx = h[v] > *mx ? h[v] : *mx;
	}
}

#define BINS 1024
#define CHUNK 512

/* the bins of a chunk of values: min(|x| * hs, top), vectorized (NaN and inf go to top);
 * exact zeros (-0.0 too) to bin nb, past those of the histogram */
ADCNN_VECTORIZE
static void bin_index(const float *restrict x, int n, float hs, float top, int nb,
                      uint16_t *restrict bin)
{
	for (int i = 0; i < n; i++) {
		float a = fabsf(x[i]) * hs;
		int b = (int)(a < top ? a : top);
		bin[i] = (uint16_t)(x[i] == 0.0f ? nb : b);
	}
}

/* counts of |x| * hs in nb bins (the last one open-ended), of the first of every stride
 * chunks of CHUNK values (a strided gather of single values cost twice what it saved); the
 * bins of a chunk are computed first (vectorized), then counted into four partial
 * histograms, so that runs of equal values do not wait on each other's increments. Exact
 * zeros (ReLU's) are counted apart, in a bin past the others (a pass of its own to count
 * them cost more). Returns how many values were counted, and in *zeros how many of them are
 * exactly zero. */
static size_t histogram(const float *x, size_t n, size_t stride, float hs, int nb, uint32_t *hist,
                        size_t *zeros)
{
	uint32_t part[4][BINS + 1];
	uint16_t bin[CHUNK];
	size_t ns = 0;

	for (int k = 0; k < 4; k++)
		memset(part[k], 0, sizeof(part[k][0]) * (size_t)(nb + 1));
	for (size_t i = 0; i < n; i += CHUNK * stride) {
		size_t m = n - i < CHUNK ? n - i : CHUNK, j = 0;
		bin_index(x + i, (int)m, hs, (float)(nb - 1), nb, bin);
		for (; j + 4 <= m; j += 4) {
			part[0][bin[j]]++;
			part[1][bin[j + 1]]++;
			part[2][bin[j + 2]]++;
			part[3][bin[j + 3]]++;
		}
		for (; j < m; j++)
			part[0][bin[j]]++;
		ns += m;
	}
	for (int b = 0; b < nb; b++)
		hist[b] = part[0][b] + part[1][b] + part[2][b] + part[3][b];
	*zeros = part[0][nb] + part[1][nb] + part[2][nb] + part[3][nb];
	hist[0] += (uint32_t)*zeros;
	return ns;
}

/* The clip: none keeps the whole range; a value or a percentile of |x| cuts it; auto picks,
 * among 16 candidates from the maximum down, the one with the least squared error, estimated
 * from a histogram of |x| (one pass over the tensor, or over a sample of a large one). The
 * benchmark compares auto with percentiles. */
static void choose(const float *x, size_t n, const struct adcnn_pack_opts *o, struct qparams *q)
{
	float mn = 0.0f, mx = 0.0f, amax, c;
	size_t stride = n / SAMPLE_MAX + 1, ns = 0, zeros = 0;
	uint32_t hist[BINS];
	/* fewer bins for a small tensor: scoring the candidates must not cost more than the data */
	int nb = n / 16 < 64 ? 64 : n / 16 > BINS ? BINS : (int)(n / 16);

	min_max(x, n, &mn, &mx);
	if (!isfinite(mn))
		mn = -FLT_MAX;
	if (!isfinite(mx))
		mx = FLT_MAX;
	amax = fmaxf(-mn, mx);
	c = amax;
	if (o->clip == ADCNN_CLIP_VALUE) {
		c = fminf(amax, (float)o->clip_value);
	} else if ((o->clip == ADCNN_CLIP_PERCENTILE || o->clip == ADCNN_CLIP_AUTO) && amax > 0.0f) {
		float hs = (float)nb / amax;
		ns = histogram(x, n, stride, hs, nb, hist, &zeros);
		if (o->clip == ADCNN_CLIP_PERCENTILE) {
			double want = (double)ns * o->clip_value / 100.0, acc = 0.0;
			int b = 0;
			for (; b < nb - 1 && acc + hist[b] < want; b++)
				acc += hist[b];
			c = amax * (float)(b + 1) / (float)nb;
		} else {
			/* the squared error of clipping at ck: values above it lose (v - ck), the others
			 * the uniform rounding error, step^2/12, except exact zeros, which zero's code
			 * keeps exact (ReLU's zeros: charging them made the clip too small); from sums
			 * over the bins above ck (count, sum of v, of v^2), taken from the top bin down
			 * as the candidates come down, so that each bin is added once and only the bins
			 * above the lowest candidate are read (the bins' centres by one division, not
			 * one a bin) */
			double best = INFINITY, s0 = 0.0, s1 = 0.0, s2 = 0.0, w = (double)amax / nb;
			bool sign = mn < 0.0f;
			int levels = (1 << o->bits) - 1, b = nb;
			for (int k = 16; k >= 2; k--) {
				float ck = amax * (float)k / 16.0f;
				/* unsigned: [0, ck]; signed: [-ck, ck] (the worst case of the asymmetric range) */
				double step = (sign ? 2.0 * ck : ck) / levels, e;
				/* the bins whose centre lies above ck */
				for (double v; b > 0 && (v = ((double)(b - 1) + 0.5) * w) > ck; b--) {
					double hb = (double)hist[b - 1];
					s0 += hb;
					s1 += hb * v;
					s2 += hb * v * v;
				}
				e = s2 - 2.0 * ck * s1 + (double)ck * ck * s0 +
				    ((double)ns - s0 - (double)zeros) * step * step / 12.0;
				if (e < best) {
					best = e;
					c = ck;
				}
			}
		}
	}
	params_for(fmaxf(mn, -c), fminf(mx, c), o->bits, q);
	q->clip = c;
}

/* bit k of every code, eight codes a byte, plane after plane; eight codes at a time:
 * the multiply gathers bit k of eight bytes into the top byte */
static void to_planes(const uint8_t *codes, size_t n, int bits, uint8_t *out)
{
	size_t pl = (n + 7) / 8, full = n / 8;

	for (int k = 0; k < bits; k++) {
		uint8_t *p = out + (size_t)k * pl;
		for (size_t j = 0; j < full; j++) {
			uint64_t v;
			memcpy(&v, codes + 8 * j, 8);
			v = (v >> k) & 0x0101010101010101ULL;
			p[j] = (uint8_t)((v * 0x0102040810204080ULL) >> 56);
		}
		if (full < pl) {
			uint8_t b = 0;
			for (size_t i = 8 * full; i < n; i++)
				b |= (uint8_t)(((codes[i] >> k) & 1) << (i & 7));
			p[full] = b;
		}
	}
}

static uint64_t spread[256]; /* byte i of spread[b] is bit i of b */

static void spread_init(void)
{
	for (int b = 0; b < 256; b++) {
		uint64_t v = 0;
		for (int i = 0; i < 8; i++)
			v |= (uint64_t)((b >> i) & 1) << (8 * i);
		spread[b] = v;
	}
}

static void from_planes(const uint8_t *in, size_t n, int bits, uint8_t *codes)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	size_t pl = (n + 7) / 8, full = n / 8;

	pthread_once(&once, spread_init);
	for (size_t j = 0; j < full; j++) {
		uint64_t v = 0;
		for (int k = 0; k < bits; k++)
			v |= spread[in[(size_t)k * pl + j]] << k;
		memcpy(codes + 8 * j, &v, 8);
	}
	for (size_t i = 8 * full; i < n; i++) {
		uint8_t c = 0;
		for (int k = 0; k < bits; k++)
			c |= (uint8_t)(((in[(size_t)k * pl + (i >> 3)] >> (i & 7)) & 1) << k);
		codes[i] = c;
	}
}

static size_t coded_len(int coder, size_t n, int bits)
{
	return coder == ADCNN_CODER_PLANES ? (n + 7) / 8 * (size_t)bits : n;
}

enum adcnn_status adcnn_quant_encode(struct adcnn_ctx *ctx, const float *x, size_t n, size_t seg,
                                     const struct adcnn_pack_opts *o, size_t room, uint8_t **out,
                                     size_t *outlen)
{
	struct qparams q;
	uint8_t *codes = NULL, *planes = NULL, *buf = NULL, *hdr;
	const uint8_t *src;
	size_t raw, bound, z;
	float inv, zp, levels;
	uint32_t u;
	int coder = o->coder;

	if (o->bits < 1 || o->bits > 8)
		return adcnn_set_error(ctx, ADCNN_ERR_INVALID, "%d bits: 1 to 8 are possible", o->bits);
	if (coder != ADCNN_CODER_BYTES && coder != ADCNN_CODER_PLANES && coder != ADCNN_CODER_RANS)
		return adcnn_set_error(ctx, ADCNN_ERR_INVALID, "unknown coder %d", coder);
	if (seg == 0 || n % seg != 0)
		seg = n;
	choose(x, n, o, &q);
	codes = malloc(n ? n : 1);
	if (codes == NULL)
		goto nomem;
	inv = 1.0f / q.scale;
	zp = (float)q.zp;
	levels = (float)((1 << q.bits) - 1);
	quantize(x, n, inv, zp, levels, codes);
	if (coder == ADCNN_CODER_RANS) {
		buf = malloc(room + QHDR + adcnn_rans_bound(n, seg));
		if (buf == NULL)
			goto nomem;
		z = adcnn_rans_encode(codes, n, seg, q.bits, q.zp, buf + room + QHDR);
		if (z == 0)
			goto nomem;
		if (n / ADCNN_MAX_VALUES_PER_BYTE < z)
			goto done;
		/* so few bytes that a reader would refuse them: an all-zero tensor, say */
		free(buf);
		buf = NULL;
		coder = ADCNN_CODER_PLANES;
	}
	raw = coded_len(coder, n, q.bits);
	src = codes;
	if (coder == ADCNN_CODER_PLANES) {
		planes = malloc(raw ? raw : 1);
		if (planes == NULL)
			goto nomem;
		to_planes(codes, n, q.bits, planes);
		src = planes;
	}
	bound = ZSTD_compressBound(raw);
	buf = malloc(room + QHDR + bound);
	if (buf == NULL)
		goto nomem;
	z = ZSTD_compressCCtx(adcnn_zstd_cctx(), buf + room + QHDR, bound, src, raw, o->level > 0 ? o->level : 1);
	if (ZSTD_isError(z)) {
		free(codes);
		free(planes);
		free(buf);
		return adcnn_set_error(ctx, ADCNN_ERR_INTERNAL, "zstd: %s", ZSTD_getErrorName(z));
	}
done:
	hdr = buf + room;
	hdr[0] = (uint8_t)q.bits;
	hdr[1] = (uint8_t)coder;
	hdr[2] = (uint8_t)q.zp;
	hdr[3] = 0;
	memcpy(&u, &q.scale, 4);
	adcnn_le32enc(hdr + 4, u);
	memcpy(&u, &q.clip, 4);
	adcnn_le32enc(hdr + 8, u);
	adcnn_le32enc(hdr + 12, (uint32_t)z);
	free(codes);
	free(planes);
	*out = buf;
	*outlen = room + QHDR + z;
	return ADCNN_OK;
nomem:
	free(codes);
	free(planes);
	free(buf);
	return adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory");
}

/* Everything is checked before anything of the tensor's size is allocated. */
enum adcnn_status adcnn_quant_check(struct adcnn_ctx *ctx, const uint8_t *p, size_t len, size_t n)
{
	int bits, coder;
	size_t z, raw;

	if (len < QHDR)
		return adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "truncated quantized tensor");
	bits = p[0];
	coder = p[1];
	if (bits < 1 || bits > 8 || p[2] >= (1 << bits))
		return adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "quantized tensor: bad bit width or zero point");
	if (coder == 3)
		return adcnn_set_error(ctx, ADCNN_ERR_UNSUPPORTED,
		                       "quantized tensor: coder 3 (the four-state rANS of adcnn before November 27, 2026) is no longer read");
	if (coder != ADCNN_CODER_BYTES && coder != ADCNN_CODER_PLANES && coder != ADCNN_CODER_RANS)
		return adcnn_set_error(ctx, ADCNN_ERR_UNSUPPORTED, "quantized tensor: unknown coder %d", coder);
	z = adcnn_le32dec(p + 12);
	if (z != len - QHDR)
		return adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "quantized tensor: %zu bytes of data, the header says %zu", len - QHDR, z);
	if (coder == ADCNN_CODER_RANS) {
		if (n / ADCNN_MAX_VALUES_PER_BYTE >= z)
			return adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "corrupt quantized tensor");
		return ADCNN_OK;
	}
	raw = coded_len(coder, n, bits);
	/* a zstd block of at most 128 KiB takes at least 4 bytes */
	if (raw / 32768 > z || ZSTD_getFrameContentSize(p + QHDR, z) != (unsigned long long)raw)
		return adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "corrupt quantized tensor");
	return ADCNN_OK;
}

enum adcnn_status adcnn_quant_decode(struct adcnn_ctx *ctx, const uint8_t *p, size_t len,
                                     float *out, size_t n, size_t seg)
{
	int bits = p[0], coder = p[1];
	float zp = (float)p[2], scale;
	size_t raw = coded_len(coder, n, bits), r;
	uint8_t *codes = malloc(n ? n : 1), *dec = NULL;
	uint32_t u = adcnn_le32dec(p + 4);
	enum adcnn_status st = ADCNN_OK;

	memcpy(&scale, &u, 4);
	if (!isfinite(scale))
		scale = 0.0f;
	if (codes == NULL)
		return adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory");
	if (coder == ADCNN_CODER_RANS) {
		if (seg == 0 || n % seg != 0)
			seg = n;
		if (!adcnn_rans_decode(p + QHDR, len - QHDR, n, seg, bits, p[2], codes))
			st = adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "corrupt quantized tensor");
		else
			dequantize(codes, n, zp, scale, out);
		free(codes);
		return st;
	}
	dec = coder == ADCNN_CODER_PLANES ? malloc(raw ? raw : 1) : codes;
	if (dec == NULL) {
		free(codes);
		return adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory");
	}
	r = ZSTD_decompressDCtx(adcnn_zstd_dctx(), dec, raw, p + QHDR, len - QHDR);
	if (ZSTD_isError(r) || r != raw) {
		st = adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "corrupt quantized tensor");
		goto done;
	}
	if (coder == ADCNN_CODER_PLANES)
		from_planes(dec, n, bits, codes);
	dequantize(codes, n, zp, scale, out);
done:
	if (dec != codes)
		free(dec);
	free(codes);
	return st;
}
