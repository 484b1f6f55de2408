/* lossless.c: float32 tensors kept exactly (tensor encoding 4): each value's exponent coded
 * by rans.c's coder (8-bit codes, the channels as quantized codes have them), its sign and
 * mantissa stored raw (3 bytes), none for +0.0. Activations' exponents lie mostly within a
 * few octaves and ReLU's zeros are many, so they code in 2 to 3 bits where their byte planes
 * took zstd 5 or more; the mantissas' 23 bits are close to random, and zstd spent most of its
 * time failing to compress them (planes and zstd -3, tensor encoding 2: 0.07-0.26 GB/s). */
#include "config.h"
#include "internal.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define LOSSLESS_AVX2 1
#endif

/* The coder chooses among its groups' tables only: its models of a channel's codes (a normal
 * distribution's) fitted the exponents of one tensor of the benchmark's 13 (VGG-16's split,
 * by 0.4%), and their search was a fifth of a small tensor's packing (2048 to 4096 values:
 * 0.73-1.15 -> 0.98-1.41 GB/s).
 *
 * payload: the exponent at the codes' zero point's right (m, 1 to 255); the codes' width b
 * (1 to 8) and base (the coder codes code - base, below 2^b: a tensor's exponents span a few
 * octaves, and the coder's paths for 4 bits and fewer are its fastest); a byte 0; the count
 * E of exceptions (u32); the rANS stream's length L (u32); the exceptions' indices (u32,
 * ascending) and exponents (a byte each); the rANS stream; 3 bytes for each value other than
 * +0.0. An exception has the zero point's code and raw bytes: a value of exponent 0 other
 * than +0.0 (-0.0, subnormals), or one whose code lies outside the 16 the coder takes where
 * few do (at most one value in 256). The benchmark's activations have exponents over 19 to
 * 25 octaves, but only a few values far below the rest: MobileNetV2's split tensor 1 of 4096 outside
 * its 16, VGG-16's first ReLU 25 of 262144; as 4-bit codes rather than 5-bit ones, the
 * four tensors that took 5-bit codes unpacked in 0.53 to 0.86 of the time and packed in 0.7
 * to 0.91 (interleaved rounds, one Zen 3 core). */
#define LHDR 12
/* values the mode of the exponents is taken from, at most (256 of a small tensor's 2048 were
 * a twelfth of its time; the sizes of the benchmark's tensors moved by under 1%, either way) */
#define SAMPLE 64
/* the values outside the 16 codes that make the codes 4-bit ones, at most: one in this many */
#define OUTLIERS 256

/* An exponent's code: +0.0's exponent 0 at m - 1, the zero point, so that the symbols the
 * coder folds around it are, in order, 0, m, m - 1, m + 1, m - 2, ...; the exponents from m
 * up are their own codes, those from 1 to m - 1 one below */
static inline unsigned code_of(unsigned e, unsigned m)
{
	return e == 0 ? m - 1 : e >= m ? e : e - 1;
}

static inline unsigned exponent_of(unsigned c, unsigned m)
{
	return c == m - 1 ? 0 : c >= m ? c : c + 1;
}

/* the most common exponent other than 0 in a sample of x (1 if none) */
static unsigned mode_of(const float *x, size_t n)
{
	uint8_t hist[256] = {0};
	size_t stride = n / SAMPLE + 1;
	unsigned m = 1;

	for (size_t i = 0; i < n; i += stride) {
		uint32_t u;
		memcpy(&u, x + i, 4);
		hist[u >> 23 & 255]++;
	}
	for (unsigned e = 2; e < 256; e++)
		if (hist[e] > hist[m])
			m = e;
	return m;
}

/* the sign and mantissa of u in 24 bits, the sign at bit 23 */
static inline uint32_t raw_of(uint32_t u)
{
	return (u & 0x7fffffu) | (u >> 8 & 0x800000u);
}

/* the exceptions' indices and exponents: few or none */
struct exceptions {
	uint32_t *v;
	uint8_t *e;
	size_t n, cap;
	bool nomem;
};

static void exc_add(struct exceptions *x, size_t i, unsigned e)
{
	if (x->n == x->cap) {
		size_t cap = x->cap ? 2 * x->cap : 16;
		uint32_t *v = realloc(x->v, sizeof(uint32_t) * cap);
		uint8_t *ev = v ? realloc(x->e, cap) : NULL;
		if (v != NULL)
			x->v = v;
		if (ev == NULL) {
			x->nomem = true;
			return;
		}
		x->e = ev;
		x->cap = cap;
	}
	x->v[x->n] = (uint32_t)i;
	x->e[x->n++] = (uint8_t)e;
}

/* codes and raw bytes of values i0 to n - 1, the indices of exponent 0's others to exc;
 * returns the end of the raw bytes written from r */
static uint8_t *split_plain(const float *x, size_t i0, size_t n, unsigned m, uint8_t *codes,
                            uint8_t *r, struct exceptions *exc)
{
	for (size_t i = i0; i < n; i++) {
		uint32_t u, v;
		unsigned e;
		memcpy(&u, x + i, 4);
		e = u >> 23 & 255;
		codes[i] = (uint8_t)code_of(e, m);
		if (u == 0)
			continue;
		if (e == 0)
			exc_add(exc, i, 0);
		v = raw_of(u);
		r[0] = (uint8_t)v;
		r[1] = (uint8_t)(v >> 8);
		r[2] = (uint8_t)(v >> 16);
		r += 3;
	}
	return r;
}

/* values i0 to n - 1 from their codes and raw bytes (from r, up to end), the exceptions at
 * the indices exc[0, ne) with exponents exe (the other values of the zero point's code
 * +0.0); false: the raw bytes run out */
static bool join_plain(const uint8_t *codes, size_t i0, size_t n, unsigned m, const uint8_t **rp,
                       const uint8_t *end, const uint32_t *exc, const uint8_t *exe, size_t ne,
                       size_t *ke, float *y)
{
	const uint8_t *r = *rp;

	for (size_t i = i0; i < n; i++) {
		unsigned e = exponent_of(codes[i], m);
		uint32_t u = 0, v;
		bool x = *ke < ne && exc[*ke] == i;
		if (e != 0 || x) {
			if (x)
				e = exe[(*ke)++];
			if (end - r < 3)
				return false;
			v = (uint32_t)r[0] | (uint32_t)r[1] << 8 | (uint32_t)r[2] << 16;
			r += 3;
			u = (uint32_t)e << 23 | (v & 0x7fffffu) | (v >> 23) << 31;
		}
		memcpy(y + i, &u, 4);
	}
	*rp = r;
	return true;
}

#ifdef LOSSLESS_AVX2
/* shuffles for four 32-bit lanes by the mask of those with raw bytes: pack[k] takes their low
 * three bytes together, in order; unpack[k] puts them back */
static uint8_t pack_shuf[16][16], unpack_shuf[16][16];
static bool use_avx2;

static void tables_init(void)
{
	use_avx2 = __builtin_cpu_supports("avx2");
	for (int k = 0; k < 16; k++) {
		int j = 0;
		memset(pack_shuf[k], 0x80, 16);
		memset(unpack_shuf[k], 0x80, 16);
		for (int l = 0; l < 4; l++)
			if (k >> l & 1) {
				for (int b = 0; b < 3; b++) {
					pack_shuf[k][3 * j + b] = (uint8_t)(4 * l + b);
					unpack_shuf[k][4 * l + b] = (uint8_t)(3 * j + b);
				}
				j++;
			}
	}
}

/* split_plain, eight values a step while 16 bytes can be stored at r (the caller's buffer has
 * room: 3 n + 16 bytes), the steps with such a value of exponent 0 done plainly */
__attribute__((target("avx2")))
static uint8_t *split_avx2(const float *x, size_t n, unsigned m, uint8_t *codes, uint8_t *r,
                           struct exceptions *exc, size_t *done)
{
	const __m256i b255 = _mm256_set1_epi32(255), vm = _mm256_set1_epi32((int)m);
	const __m256i vzp = _mm256_set1_epi32((int)m - 1), lowm = _mm256_set1_epi32(0x7fffff);
	const __m256i sgn = _mm256_set1_epi32(0x800000), zero = _mm256_setzero_si256();
	const __m256i pick = _mm256_setr_epi8(0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	                                      0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		__m256i u = _mm256_loadu_si256((const __m256i *)(const void *)(x + i));
		__m256i e = _mm256_and_si256(_mm256_srli_epi32(u, 23), b255);
		__m256i ez = _mm256_cmpeq_epi32(e, zero), uz = _mm256_cmpeq_epi32(u, zero);
		/* e - 1 where 0 < e < m (the mask is -1 there), m - 1 where e is 0 */
		__m256i below = _mm256_andnot_si256(ez, _mm256_cmpgt_epi32(vm, e));
		__m256i c = _mm256_blendv_epi8(_mm256_add_epi32(e, below), vzp, ez);
		__m256i cb = _mm256_shuffle_epi8(c, pick);
		uint32_t c0 = (uint32_t)_mm256_extract_epi32(cb, 0), c1 = (uint32_t)_mm256_extract_epi32(cb, 4);
		unsigned nz = ~(unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(uz)) & 255;

		memcpy(codes + i, &c0, 4);
		memcpy(codes + i + 4, &c1, 4);
		if (nz & (unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(ez))) {
			r = split_plain(x, i, i + 8, m, codes, r, exc);
			continue;
		}
		__m256i v = _mm256_or_si256(_mm256_and_si256(u, lowm), _mm256_and_si256(_mm256_srli_epi32(u, 8), sgn));
		__m128i lo = _mm256_castsi256_si128(v), hi = _mm256_extracti128_si256(v, 1);
		_mm_storeu_si128((__m128i *)(void *)r,
		                 _mm_shuffle_epi8(lo, _mm_loadu_si128((const __m128i *)(const void *)pack_shuf[nz & 15])));
		r += 3 * __builtin_popcount(nz & 15);
		_mm_storeu_si128((__m128i *)(void *)r,
		                 _mm_shuffle_epi8(hi, _mm_loadu_si128((const __m128i *)(const void *)pack_shuf[nz >> 4])));
		r += 3 * __builtin_popcount(nz >> 4);
	}
	*done = i;
	return r;
}

/* join_plain, eight values a step while 32 raw bytes remain, the steps with an index of exc
 * done plainly; returns where it stopped */
__attribute__((target("avx2")))
static size_t join_avx2(const uint8_t *codes, size_t n, unsigned m, const uint8_t **rp,
                        const uint8_t *end, const uint32_t *exc, const uint8_t *exe, size_t ne,
                        size_t *ke, float *y)
{
	const __m256i vzp = _mm256_set1_epi32((int)m - 1), one = _mm256_set1_epi32(1);
	const __m256i lowm = _mm256_set1_epi32(0x7fffff), zero = _mm256_setzero_si256();
	const uint8_t *r = *rp;
	size_t i = 0;

	for (; i + 8 <= n && end - r >= 32; i += 8) {
		if (*ke < ne && exc[*ke] < i + 8) {
			if (!join_plain(codes, i, i + 8, m, &r, end, exc, exe, ne, ke, y))
				break;
			continue;
		}
		__m256i c = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)(codes + i)));
		__m256i cz = _mm256_cmpeq_epi32(c, vzp), ge = _mm256_cmpgt_epi32(c, vzp);
		/* c + 1 below the zero point, c from it up, 0 at it */
		__m256i e = _mm256_andnot_si256(cz, _mm256_add_epi32(c, _mm256_andnot_si256(ge, one)));
		unsigned nz = ~(unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpeq_epi32(e, zero))) & 255;
		__m128i lo = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(const void *)r),
		                              _mm_loadu_si128((const __m128i *)(const void *)unpack_shuf[nz & 15]));
		r += 3 * __builtin_popcount(nz & 15);
		__m128i hi = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(const void *)r),
		                              _mm_loadu_si128((const __m128i *)(const void *)unpack_shuf[nz >> 4]));
		r += 3 * __builtin_popcount(nz >> 4);
		__m256i v = _mm256_inserti128_si256(_mm256_castsi128_si256(lo), hi, 1);
		__m256i u = _mm256_or_si256(_mm256_or_si256(_mm256_slli_epi32(e, 23), _mm256_and_si256(v, lowm)),
		                            _mm256_slli_epi32(_mm256_srli_epi32(v, 23), 31));
		_mm256_storeu_si256((__m256i *)(void *)(y + i), u);
	}
	*rp = r;
	return i;
}

static pthread_once_t once = PTHREAD_ONCE_INIT;
#endif

bool adcnn_lossless_vector(bool on)
{
#ifdef LOSSLESS_AVX2
	pthread_once(&once, tables_init);
	use_avx2 = on && __builtin_cpu_supports("avx2");
	return use_avx2;
#else
	(void)on;
	return false;
#endif
}

typedef uint8_t v32b __attribute__((vector_size(32)));

/* the first code at or after i outside [w, w + 15] (n if none): 32 codes a step */
static size_t next_outlier(const uint8_t *codes, size_t i, size_t n, unsigned w)
{
	const v32b wv = (v32b){0} + (uint8_t)w, high = (v32b){0} + 0xf0;

	for (; i + 32 <= n; i += 32) {
		v32b v, d;
		uint64_t a[4];
		memcpy(&v, codes + i, 32);
		d = (v - wv) & high; /* above 15 (no unsigned byte compare before AVX-512) */
		memcpy(a, &d, 32);
		if (a[0] | a[1] | a[2] | a[3])
			break;
	}
	for (; i < n; i++)
		if ((uint8_t)(codes[i] - w) > 15)
			return i;
	return n;
}

/* the codes' base and width: their whole span, or where at most one value in OUTLIERS lies
 * outside them, the 16 codes around the zero point that hold the most of a sample, the
 * others made exceptions (their codes the zero point's, in index order with those exc
 * holds); false: out of memory */
static bool narrow(uint8_t *codes, size_t n, unsigned m, struct exceptions *exc, unsigned *base,
                   unsigned *width)
{
	unsigned zp = m - 1, lo, hi, bits = 1;
	uint8_t lo8 = (uint8_t)zp, hi8 = (uint8_t)zp;

	for (size_t i = 0; i < n; i++) {
		lo8 = codes[i] < lo8 ? codes[i] : lo8;
		hi8 = codes[i] > hi8 ? codes[i] : hi8;
	}
	lo = lo8;
	hi = hi8;
	while (hi - lo >= 1u << bits)
		bits++;
	if (bits > 4) {
		uint32_t h[256] = {0};
		size_t stride = n / 4096 + 1, in = 0, cap = n / OUTLIERS, cnt = 0, i;
		unsigned w0 = zp > 15 ? zp - 15 : 0, w1 = zp < 240 ? zp : 240, w = w0;
		uint32_t *out = malloc(sizeof(uint32_t) * (cap + 1));
		if (out == NULL)
			return false;
		for (i = 0; i < n; i += stride)
			h[codes[i]]++;
		for (unsigned v = w0; v <= w1; v++) {
			size_t c = 0;
			for (unsigned k = v; k < v + 16; k++)
				c += h[k];
			if (c > in) {
				in = c;
				w = v;
			}
		}
		for (i = next_outlier(codes, 0, n, w); i < n && cnt <= cap; i = next_outlier(codes, i + 1, n, w))
			out[cnt++] = (uint32_t)i;
		if (cnt <= cap) {
			struct exceptions all = {NULL, NULL, 0, 0, false};
			size_t k = 0;
			for (size_t j = 0; j < cnt; j++) {
				for (; k < exc->n && exc->v[k] < out[j]; k++)
					exc_add(&all, exc->v[k], exc->e[k]);
				exc_add(&all, out[j], exponent_of(codes[out[j]], m));
				codes[out[j]] = (uint8_t)zp;
			}
			for (; k < exc->n; k++)
				exc_add(&all, exc->v[k], exc->e[k]);
			free(exc->v);
			free(exc->e);
			*exc = all;
			lo = w;
			bits = 4;
		}
		free(out);
		if (exc->nomem)
			return false;
	}
	/* the base's codes no more than 255 */
	if (lo > 256 - (1u << bits))
		lo = 256 - (1u << bits);
	*base = lo;
	*width = bits;
	return true;
}

enum adcnn_status adcnn_lossless_encode(struct adcnn_ctx *ctx, const float *x, size_t n, size_t seg,
                                        size_t room, uint8_t **out, size_t *outlen)
{
	unsigned m = mode_of(x, n);
	uint8_t *codes = NULL, *raw = NULL, *buf = NULL, *r, *p;
	struct exceptions exc = {NULL, NULL, 0, 0, false};
	size_t done = 0, L, nraw, ne, ccap = 0, rcap = 0;

	/* indices and lengths are 32-bit: a larger tensor goes as byte planes */
	if (n > UINT32_MAX / 4)
		goto done;
	/* from the pool: a bundle's tensors, packed one after another, take the same buffers
	 * (left to malloc, a 1 MiB tensor's were faulted in anew at every call, where glibc's
	 * heuristics had not raised its mmap threshold: 0.41 GB/s instead of 2.4) */
	codes = adcnn_pool_get(n + 16, false, &ccap);
	raw = r = adcnn_pool_get(3 * n + 16, false, &rcap);
	if (codes == NULL || raw == NULL)
		goto nomem;
	if (seg == 0 || n % seg != 0)
		seg = n;
#ifdef LOSSLESS_AVX2
	pthread_once(&once, tables_init);
	if (use_avx2)
		r = split_avx2(x, n, m, codes, r, &exc, &done);
#endif
	r = split_plain(x, done, n, m, codes, r, &exc);
	if (exc.nomem)
		goto nomem;
	nraw = (size_t)(r - raw);
	unsigned lo, bits;
	if (!narrow(codes, n, m, &exc, &lo, &bits))
		goto nomem;
	ne = exc.n;
	for (size_t i = 0; i < n; i++)
		codes[i] = (uint8_t)(codes[i] - lo);
	buf = malloc(room + LHDR + 5 * ne + adcnn_rans_bound(n, seg) + nraw);
	if (buf == NULL)
		goto nomem;
	p = buf + room;
	L = adcnn_rans_encode_with(codes, n, seg, (int)bits, (int)(m - 1 - lo), false, p + LHDR + 5 * ne);
	if (L == 0)
		goto nomem;
	if (n / ADCNN_MAX_VALUES_PER_BYTE >= L) {
		/* so few bytes that a reader would refuse them (a tensor of zeros): the caller
		 * packs it as byte planes */
		free(buf);
		buf = NULL;
		goto done;
	}
	p[0] = (uint8_t)m;
	p[1] = (uint8_t)bits;
	p[2] = (uint8_t)lo;
	p[3] = 0;
	adcnn_le32enc(p + 4, (uint32_t)ne);
	adcnn_le32enc(p + 8, (uint32_t)L);
	for (size_t k = 0; k < ne; k++) {
		adcnn_le32enc(p + LHDR + 4 * k, exc.v[k]);
		p[LHDR + 4 * ne + k] = exc.e[k];
	}
	memcpy(p + LHDR + 5 * ne + L, raw, nraw);
	*outlen = room + LHDR + 5 * ne + L + nraw;
done:
	*out = buf;
	adcnn_pool_put(codes, ccap);
	adcnn_pool_put(raw, rcap);
	free(exc.v);
	free(exc.e);
	return ADCNN_OK;
nomem:
	adcnn_pool_put(codes, ccap);
	adcnn_pool_put(raw, rcap);
	free(exc.v);
	free(exc.e);
	free(buf);
	return adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory");
}

enum adcnn_status adcnn_lossless_check(struct adcnn_ctx *ctx, const uint8_t *p, size_t len, size_t n)
{
	size_t ne, L, rest;

	if (len < LHDR)
		return adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "truncated lossless tensor");
	ne = adcnn_le32dec(p + 4);
	L = adcnn_le32dec(p + 8);
	/* m - 1 a code of the width from the base; the base's codes no more than 255 */
	if (p[0] == 0 || p[1] < 1 || p[1] > 8 || p[2] > p[0] - 1 || p[0] - 1 - p[2] >= 1 << p[1] ||
	    p[2] + (1 << p[1]) - 1 > 255 || p[3] != 0 || ne > n || ne > (len - LHDR) / 5 ||
	    L > len - LHDR - 5 * ne || n / ADCNN_MAX_VALUES_PER_BYTE >= L)
		return adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "corrupt lossless tensor");
	rest = len - LHDR - 5 * ne - L;
	if (rest % 3 != 0 || rest / 3 > n)
		return adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "corrupt lossless tensor");
	return ADCNN_OK;
}

enum adcnn_status adcnn_lossless_decode(struct adcnn_ctx *ctx, const uint8_t *p, size_t len, float *y,
                                        size_t n, size_t seg)
{
	unsigned m = p[0], bits = p[1], base = p[2];
	size_t ne = adcnn_le32dec(p + 4), L = adcnn_le32dec(p + 8), ke = 0, done = 0, want = ne;
	const uint8_t *r = p + LHDR + 5 * ne + L, *end = p + len, *exe = p + LHDR + 4 * ne;
	size_t ccap;
	uint8_t *codes = adcnn_pool_get(n + 16, false, &ccap);
	uint32_t *exc = malloc(sizeof(uint32_t) * (ne ? ne : 1));
	enum adcnn_status st = ADCNN_OK;

	if (codes == NULL || exc == NULL) {
		st = adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory");
		goto done;
	}
	if (seg == 0 || n % seg != 0)
		seg = n;
	if (!adcnn_rans_decode(p + LHDR + 5 * ne, L, n, seg, (int)bits, (int)(m - 1 - base), codes))
		goto corrupt;
	for (size_t i = 0; i < n; i++)
		codes[i] = (uint8_t)(codes[i] + base);
	/* the exceptions' indices: ascending, each at the zero point's code; then the raw bytes,
	 * exactly those of the values with any other code and of the exceptions */
	for (size_t k = 0; k < ne; k++) {
		exc[k] = adcnn_le32dec(p + LHDR + 4 * k);
		if (exc[k] >= n || (k > 0 && exc[k] <= exc[k - 1]) || codes[exc[k]] != m - 1)
			goto corrupt;
	}
	for (size_t i = 0; i < n; i++)
		want += codes[i] != m - 1;
	if (want != (size_t)(end - r) / 3 || (size_t)(end - r) % 3 != 0)
		goto corrupt;
#ifdef LOSSLESS_AVX2
	pthread_once(&once, tables_init);
	if (use_avx2)
		done = join_avx2(codes, n, m, &r, end, exc, exe, ne, &ke, y);
#endif
	if (!join_plain(codes, done, n, m, &r, end, exc, exe, ne, &ke, y) || r != end)
		goto corrupt;
done:
	adcnn_pool_put(codes, ccap);
	free(exc);
	return st;
corrupt:
	st = adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "corrupt lossless tensor");
	goto done;
}
