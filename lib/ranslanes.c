/* ranslanes.c: the states of the rANS coder (rans.c), eight interleaved: symbol i of a tensor
 * is coded in state i % 8. A state x lies in [2^15, 2^31); coding symbol s of frequency f (of
 * 2^12) first sends x's low 16 bits if x >= f 2^19 (a little-endian word; x >>= 16), then
 * makes x := (x / f) 2^12 + x % f + start[s]. The encoder goes last symbol first and writes
 * backward, so the decoder reads forward: after decoding a symbol, a state below 2^15 takes
 * the next word. Eight states side by side are eight lanes of a vector: on x86-64 with AVX2
 * the encoder codes eight symbols an instruction, dividing in single precision and correcting
 * the quotient; elsewhere one at a time, by a reciprocal, without a branch. Both give the same
 * bytes. */
#include "config.h"
#include "internal.h"
#include <pthread.h>
#include <string.h>
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define LANES_AVX2 1
#endif

#define PROB_BITS ADCNN_RANS_PROB_BITS
#define LANES ADCNN_RANS_LANES

/* q = x / f is (x * rcp[f]) >> sh[f] for x < 2^31: rcp = ceil(2^(31 + s) / f), 2^s the
 * power of two at or above f, and sh = 31 + s (f = 1 too: rcp = 2^31) */
static uint32_t rcp[(1u << PROB_BITS) + 1];
static uint8_t sh[(1u << PROB_BITS) + 1];
static pthread_once_t once = PTHREAD_ONCE_INIT;
/* by[c] = c: the table of codes that are symbols already (by NULL) */
#define I4(n) (n), (n) + 1, (n) + 2, (n) + 3
#define I16(n) I4(n), I4((n) + 4), I4((n) + 8), I4((n) + 12)
#define I64(n) I16(n), I16((n) + 16), I16((n) + 32), I16((n) + 48)
const uint8_t adcnn_rans_ident[256 + 4] = {I64(0), I64(64), I64(128), I64(192)};
#undef I64
#undef I16
#undef I4
#ifdef LANES_AVX2
static bool avx2;
/* the byte shuffle that moves the low words of the lanes of a mask (in lane order) to the
 * top of 16 bytes */
static uint8_t pick[256][16];
#endif

static void init(void)
{
	for (uint32_t f = 1; f <= 1u << PROB_BITS; f++) {
		uint32_t s = 0;
		while (f > 1u << s)
			s++;
		rcp[f] = (uint32_t)((((uint64_t)1 << (31 + s)) + f - 1) / f);
		sh[f] = (uint8_t)(31 + s);
	}
#ifdef LANES_AVX2
	avx2 = __builtin_cpu_supports("avx2");
	for (int m = 0; m < 256; m++) {
		int k = __builtin_popcount((unsigned)m), o = 16 - 2 * k;
		memset(pick[m], 0x80, 16);
		for (int l = 0; l < LANES; l++)
			if (m >> l & 1) {
				pick[m][o++] = (uint8_t)(2 * l);
				pick[m][o++] = (uint8_t)(2 * l + 1);
			}
	}
#endif
}

/* how the one-at-a-time coder codes a symbol of frequency f: from xmax = f 2^19 it sends a
 * word; then x := x + start + q (2^12 - f), q = x / f by the reciprocal */
struct esym {
	uint32_t xmax, rcp, start, cmpl, sh;
};

static void esyms(const uint32_t *fs, int nsym, struct esym *e)
{
	for (int y = 0; y < nsym; y++) {
		uint32_t f = fs[y] >> 16;
		e[y].xmax = f << 19;
		e[y].rcp = rcp[f];
		e[y].sh = sh[f];
		e[y].start = fs[y] & 0xffff;
		e[y].cmpl = (1u << PROB_BITS) - f;
	}
}

/* a word written whether sent or not (below p: room the caller leaves), and p moved only if
 * sent: no branch to mispredict */
#define PUT1(x, p, e) do { \
	uint32_t k_ = (x) >= (e)->xmax, q_; \
	(p)[-2] = (uint8_t)(x); \
	(p)[-1] = (uint8_t)((x) >> 8); \
	(p) -= 2 * k_; \
	(x) >>= 16 * k_; \
	q_ = (uint32_t)(((uint64_t)(x) * (e)->rcp) >> (e)->sh); \
	(x) = (x) + (e)->start + q_ * (e)->cmpl; \
} while (0)

/* c[0, m) one at a time, last first, the first of them in state i0 % 8 */
static void put_run(uint32_t *st, uint8_t **pp, const struct esym *e, const uint8_t *by,
                    const uint8_t *c, size_t i0, size_t m)
{
	uint8_t *p = *pp;

	for (size_t j = m; j-- > 0;) {
		uint32_t x = st[(i0 + j) % LANES];
		PUT1(x, p, &e[by[c[j]]]);
		st[(i0 + j) % LANES] = x;
	}
	*pp = p;
}

/* ng groups of eight, the first in state 0, last first: each state in a variable of its own */
static void put_groups(uint32_t *st, uint8_t **pp, const struct esym *e, const uint8_t *by,
                       const uint8_t *c, size_t ng)
{
	uint32_t x0 = st[0], x1 = st[1], x2 = st[2], x3 = st[3];
	uint32_t x4 = st[4], x5 = st[5], x6 = st[6], x7 = st[7];
	uint8_t *p = *pp;

	for (size_t g = ng; g-- > 0;) {
		const uint8_t *d = c + 8 * g;
		PUT1(x7, p, &e[by[d[7]]]);
		PUT1(x6, p, &e[by[d[6]]]);
		PUT1(x5, p, &e[by[d[5]]]);
		PUT1(x4, p, &e[by[d[4]]]);
		PUT1(x3, p, &e[by[d[3]]]);
		PUT1(x2, p, &e[by[d[2]]]);
		PUT1(x1, p, &e[by[d[1]]]);
		PUT1(x0, p, &e[by[d[0]]]);
	}
	st[0] = x0, st[1] = x1, st[2] = x2, st[3] = x3;
	st[4] = x4, st[5] = x5, st[6] = x6, st[7] = x7;
	*pp = p;
}

#ifdef LANES_AVX2
/* the entries of the symbols in the lanes of y (below 24) from a table of three vectors
 * of eight, given which lanes are past the first eight (hi1) and the first sixteen (hi2) */
__attribute__((target("avx2")))
static inline __m256i entries(__m256i y, const __m256i *t, __m256i hi1, __m256i hi2, int nsym)
{
	__m256i e = _mm256_permutevar8x32_epi32(t[0], y);

	if (nsym > 8)
		e = _mm256_blendv_epi8(e, _mm256_permutevar8x32_epi32(t[1], y), hi1);
	if (nsym > 16)
		e = _mm256_blendv_epi8(e, _mm256_permutevar8x32_epi32(t[2], y), hi2);
	return e;
}

/* nseg segments of ng groups of eight symbols each, the codes c[0, 8 ng nseg), segment s by
 * the entries fs[s], the first code in lane 0; last first. The states stay in a register
 * from one segment to the next (a call a segment, with the states stored and loaded again,
 * took a fifth longer on segments of 64 codes), and only the vectors of entries the
 * alphabet has are made. */
__attribute__((target("avx2")))
static void put_avx2(uint32_t *st, uint8_t **pp, const uint32_t *const *fs, const uint8_t *by,
                     int bits, int nsym, const uint8_t *c, size_t ng, size_t nseg)
{
	const __m128i by16 = _mm_loadu_si128((const __m128i *)by);
	const __m256i lo16 = _mm256_set1_epi32(0xffff), one = _mm256_set1_epi32(1);
	const __m256i prob = _mm256_set1_epi32(1 << PROB_BITS);
	const __m256 under = _mm256_set1_ps(1.0f - 0x1p-21f);
	__m256i x = _mm256_loadu_si256((const __m256i *)st);
	uint8_t *p = *pp;
	int nv = (nsym + 7) / 8;

	for (size_t s = nseg; s-- > 0;) {
		/* the entries */
		__m256i t[3];
		const uint8_t *cs = c + 8 * ng * s;
		for (int k = 0; k < nv; k++)
			t[k] = _mm256_loadu_si256((const __m256i *)(fs[s] + 8 * k));
		for (size_t g = ng; g-- > 0;) {
			__m128i c8 = _mm_loadl_epi64((const __m128i *)(cs + 8 * g));
			__m256i y, e, f, big, q, r, cm, w, hi1, hi2;
			__m256 qf;
			int mask;
			if (by == adcnn_rans_ident) {
				y = _mm256_cvtepu8_epi32(c8);
			} else if (bits <= 4) {
				y = _mm256_cvtepu8_epi32(_mm_shuffle_epi8(by16, c8));
			} else {
				y = _mm256_i32gather_epi32((const int *)by, _mm256_cvtepu8_epi32(c8), 1);
				y = _mm256_and_si256(y, _mm256_set1_epi32(0xff));
			}
			hi1 = _mm256_cmpgt_epi32(y, _mm256_set1_epi32(7));
			hi2 = _mm256_cmpgt_epi32(y, _mm256_set1_epi32(15));
			e = entries(y, t, hi1, hi2, nsym);
			f = _mm256_srli_epi32(e, 16);
			/* renormalization: x >= f 2^19 (f = 2^12 never: x < 2^31) */
			big = _mm256_cmpgt_epi32(x, _mm256_sub_epi32(_mm256_slli_epi32(f, 19), one));
			mask = _mm256_movemask_ps(_mm256_castsi256_ps(big));
			w = _mm256_and_si256(x, lo16);
			w = _mm256_permute4x64_epi64(_mm256_packus_epi32(w, w), 0x08);
			_mm_storeu_si128((__m128i *)(p - 16),
			                 _mm_shuffle_epi8(_mm256_castsi256_si128(w),
			                                  _mm_loadu_si128((const __m128i *)pick[mask])));
			p -= 2 * __builtin_popcount((unsigned)mask);
			x = _mm256_blendv_epi8(x, _mm256_srli_epi32(x, 16), big);
			/* x / f, or one less (x < 2^31, the quotient below 2^19: x and the reciprocal
			 * rounded, and their product, each within 2^-24 of the truth, and the
			 * reciprocal made 2^-21 smaller, so that the product is below x / f by less
			 * than 0.4), then the remainder, in [0, 2 f): x := q 2^12 + r + start, and
			 * 2^12 - f more where the quotient was one less. x times a reciprocal, not
			 * x / f: the states wait on the multiplication, not on the division, made from
			 * the symbols alone (one instruction: looking the reciprocals up as the
			 * entries took five) */
			qf = _mm256_mul_ps(_mm256_cvtepi32_ps(x), _mm256_div_ps(under, _mm256_cvtepi32_ps(f)));
			q = _mm256_cvttps_epi32(qf);
			r = _mm256_sub_epi32(x, _mm256_mullo_epi32(q, f));
			cm = _mm256_sub_epi32(prob, f);
			x = _mm256_add_epi32(_mm256_add_epi32(_mm256_slli_epi32(q, PROB_BITS), r),
			                     _mm256_and_si256(e, lo16));
			x = _mm256_add_epi32(x, _mm256_and_si256(_mm256_cmpgt_epi32(r, _mm256_sub_epi32(f, one)), cm));
		}
	}
	_mm256_storeu_si256((__m256i *)st, x);
	*pp = p;
}
#endif

/* c[0, m): the whole groups of eight (from the first symbol of state 0) in vectors where
 * vec, else eight states at a time; the symbols either side one at a time, by entries made
 * once a call, and only where there are such symbols or no vectors */
static void put1(uint32_t *st, uint8_t **p, const uint32_t *fs, const uint8_t *by, int bits,
                 int nsym, const uint8_t *c, size_t i0, size_t m, bool vec)
{
	struct esym e[ADCNN_RANS_MAX_SYMS];
	size_t a = (LANES - i0 % LANES) % LANES, b = a < m ? a + (m - a) / LANES * LANES : m;

	if (m == 0)
		return;
	if (b <= a) {
		esyms(fs, nsym, e);
		put_run(st, p, e, by, c, i0, m);
		return;
	}
	if (vec && a == 0 && b == m) {
#ifdef LANES_AVX2
		put_avx2(st, p, &fs, by, bits, nsym, c, m / LANES, 1);
#endif
		return;
	}
	esyms(fs, nsym, e);
	put_run(st, p, e, by, c + b, i0 + b, m - b);
#ifdef LANES_AVX2
	if (vec)
		put_avx2(st, p, &fs, by, bits, nsym, c + a, (b - a) / LANES, 1);
	else
#endif
		put_groups(st, p, e, by, c + a, (b - a) / LANES);
	put_run(st, p, e, by, c, i0, a);
}

/* nseg segments of seg codes: in one pass of the vectors where each is whole groups of eight
 * from state 0, else a segment at a time, last first */
static void put(uint32_t *st, uint8_t **p, const uint32_t *const *fs, const uint8_t *by, int bits,
                int nsym, const uint8_t *c, size_t i0, size_t seg, size_t nseg, bool vec)
{
#ifdef LANES_AVX2
	if (vec && i0 % LANES == 0 && seg % LANES == 0 && seg > 0) {
		put_avx2(st, p, fs, by, bits, nsym, c, seg / LANES, nseg);
		return;
	}
#endif
	for (size_t s = nseg; s-- > 0;)
		put1(st, p, fs[s], by, bits, nsym, c + s * seg, i0 + s * seg, seg, vec);
}

void adcnn_rans_put(uint32_t *st, uint8_t **p, const uint32_t *const *fs, const uint8_t *by, int bits,
                    int nsym, const uint8_t *c, size_t i0, size_t seg, size_t nseg)
{
	pthread_once(&once, init);
	if (by == NULL)
		by = adcnn_rans_ident;
#ifdef LANES_AVX2
	put(st, p, fs, by, bits, nsym, c, i0, seg, nseg, avx2);
#else
	put(st, p, fs, by, bits, nsym, c, i0, seg, nseg, false);
#endif
}

void adcnn_rans_put_plain(uint32_t *st, uint8_t **p, const uint32_t *const *fs, const uint8_t *by,
                          int nsym, const uint8_t *c, size_t i0, size_t seg, size_t nseg)
{
	pthread_once(&once, init);
	if (by == NULL)
		by = adcnn_rans_ident;
	put(st, p, fs, by, 0, nsym, c, i0, seg, nseg, false);
}
