/* rans.c: an entropy coder of quantized codes (coder 4, adcnn-pack --coder rans).
 *
 * Each code is folded around the zero point into a symbol (0 is the zero point, then the
 * nearest codes on either side, alternately). The channels (the planes of an NCHW tensor)
 * are ranked by their mean symbol and cut into 1, 2, 4 or 8 groups of neighbouring rank, as
 * many as pay for their tables; each group has its own frequency table, sent as 5-bit log
 * weights. Or, where it saves at least 1%, each channel has a parametric model of its own
 * (qmodel.c), sent as a 9-bit index: small tensors cannot pay for a table a channel, and
 * their channels differ. The symbols are coded with eight interleaved rANS states (32-bit,
 * 16-bit renormalization, 12-bit frequencies: ranslanes.c). Codes of 5 to 8 bits: those from
 * 16 up share 8 symbols by magnitude ([16, 24), [24, 32), [32, 48), ... [192, 256)) and send
 * their low bits raw, in a stream of their own.
 *
 * Payload: the group count (1 byte, 0 for models); with models, each channel's model (9
 * bits, mean index * 16 + spread index) and no tables; if above 1, each channel's group
 * (log2 count bits);
 * each group's table (5 bits: how many symbols it lists, less one; 5 bits a symbol: 0 for
 * absent, else q for the weight 2^((q - 1) / 2)); zero bits to the byte; for codes of more
 * than 4 bits, the raw bits' length (LEB128) and the raw bits (least significant first);
 * then the eight rANS states (u32 each, state 0 first) and the rANS words (16-bit, little
 * endian). Symbol i is coded in state i % 8: eight chains of dependent arithmetic instead
 * of one, and eight lanes of a vector. */
#include "config.h"
#include "internal.h"
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define COUNT_AVX2 1
#endif

/* the same codes give the same bytes on every host: the estimates below are plain IEEE */
ADCNN_FMA_OFF

#define PROB_BITS ADCNN_RANS_PROB_BITS
#define PROB (1u << PROB_BITS)
#define RANS_L ADCNN_RANS_L
#define LANES ADCNN_RANS_LANES
#define MAX_SYMS ADCNN_RANS_MAX_SYMS
#define MAX_GROUPS 8

int adcnn_rans_alphabet(int bits)
{
	return bits <= 4 ? 1 << bits : 16 + 2 * (bits - 4);
}

/* the symbol of a folded value, and how many raw bits go with it; without a branch (a
 * mispredicted one a code or two took most of making the tables of a zero point) */
static inline int sym_of(unsigned v, int *nraw)
{
	int e = 31 - __builtin_clz(v | 8), wide = -(int)(v >= 16); /* e: 4 to 7 where wide */

	*nraw = (e - 1) & wide;
	return ((16 + 2 * (e - 4) + (int)((v >> (e - 1)) & 1)) & wide) | ((int)v & ~wide);
}

static inline unsigned base_of(int s, int *nraw)
{
	int e;

	if (s < 16) {
		*nraw = 0;
		return (unsigned)s;
	}
	e = 4 + (s - 16) / 2;
	*nraw = e - 1;
	return (1u << e) | ((unsigned)((s - 16) & 1) << (e - 1));
}

/* Codes are folded around the zero point: 0 for the zero point, then +1, -1, +2, -2, ...
 * while both sides last, then the longer side on its own. The tables: folded value -> code;
 * each code's symbol (room for a vector gather's four bytes at the last); and for codes of
 * more than 4 bits, each code's entry for the symbols' pass (symbol, raw bits, their count).
 * Entries past the codes are 0, but sym's, MAX_SYMS - 1: a symbol no alphabet has, where
 * count16_avx2 counts codes that cannot occur. */
struct folds {
	int bits, zp;
	uint8_t unfold[256], sym[256 + 4];
	uint32_t wide[256];
};

/* the tables of bits and zp: the thread's own, made again only when they change (making 8
 * bits' at every call took a twentieth of packing or unpacking a small tensor). Valid until
 * the thread's next call. */
static const struct folds *fold_tables(int bits, int zp)
{
	static _Thread_local struct folds last = {.bits = 0, .zp = -1};
	int top = (1 << bits) - 1, m = zp < top - zp ? zp : top - zp;

	if (last.bits != bits || last.zp != zp) {
		memset(&last, 0, sizeof(last));
		for (int c = 0; c <= top; c++) {
			int d = c - zp, a = d < 0 ? -d : d, v = a <= m ? (d > 0 ? 2 * a - 1 : 2 * a) : m + a, k;
			last.unfold[v] = (uint8_t)c;
			last.sym[c] = (uint8_t)sym_of((unsigned)v, &k);
			last.wide[c] = last.sym[c] | ((unsigned)v & ((1u << k) - 1)) << 8 | (uint32_t)k << 16;
		}
		for (int c = top + 1; c < 256; c++)
			last.sym[c] = MAX_SYMS - 1;
		last.bits = bits;
		last.zp = zp;
	}
	return &last;
}

/* the weight of q (1 to 31): 2^((q - 1) / 2), times 256 */
#define W(q) ((q) & 1 ? 256u << ((q) - 1) / 2 : 362u << ((q) - 2) / 2)
static const uint32_t weights[32] = {
	0, W(1), W(2), W(3), W(4), W(5), W(6), W(7), W(8), W(9), W(10), W(11), W(12), W(13), W(14),
	W(15), W(16), W(17), W(18), W(19), W(20), W(21), W(22), W(23), W(24), W(25), W(26), W(27),
	W(28), W(29), W(30), W(31),
};
#undef W

static inline uint32_t weight(int q)
{
	return weights[q];
}

/* the q whose weight is nearest (in ratio) to c of the largest count, scale being 2^23 over
 * that count (one division a table, not one a symbol) */
static int q_of(uint64_t c, double scale)
{
	uint64_t t = (uint64_t)((double)c * scale);
	int q, b;

	if (t <= 256)
		return 1;
	b = 63 - __builtin_clzll(t); /* 8 to 23 */
	q = 2 * (b - 8) + 1;
	if (q < 31 && t >= weight(q + 1))
		q++;
	if (q < 31 && t * t >= (uint64_t)weight(q) * weight(q + 1))
		q++;
	return q;
}

/* the frequencies (summing to PROB) that a table's q values stand for, and where each
 * symbol's start (start may be NULL); false if it has none */
static bool table_freqs(const uint8_t *q, int nsym, uint32_t *freq, uint32_t *start)
{
	uint64_t sum = 0, recip;
	uint32_t total = 0, best = 0;
	int top = -1;

	for (int s = 0; s < nsym; s++)
		if (q[s]) {
			sum += weight(q[s]);
			if (weight(q[s]) > best) {
				best = weight(q[s]);
				top = s;
			}
		}
	if (top < 0)
		return false;
	/* f = weight * PROB / sum, by one reciprocal (a table's frequencies need not be exact,
	 * only the same in the coder and the decoder) */
	recip = ((uint64_t)PROB << 32) / sum;
	for (int s = 0; s < nsym; s++) {
		uint32_t f = 0;
		if (q[s]) {
			f = (uint32_t)(((uint64_t)weight(q[s]) * recip) >> 32);
			if (f == 0)
				f = 1;
		}
		freq[s] = f;
		total += f;
	}
	/* at most MAX_SYMS were raised to 1, and the top one has at least PROB / MAX_SYMS */
	freq[top] += PROB - total;
	for (int s = 0, acc = 0; s < nsym && start != NULL; s++) {
		start[s] = (uint32_t)acc;
		acc += (int)freq[s];
	}
	return true;
}

/* bits per symbol of frequency f (1 to PROB), log2(PROB / f), by the series of atanh:
 * plain arithmetic, so that every host makes the same choices */
static float cost_bits[PROB + 1];
#ifdef COUNT_AVX2
static bool count_avx2, count_ok, pext_fast, pext_ok; /* set with the costs */
#endif

static void cost_init(void)
{
#ifdef COUNT_AVX2
	count_ok = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("popcnt");
	count_avx2 = count_ok;
	pext_ok = count_ok && __builtin_cpu_supports("bmi2") && !__builtin_cpu_is("amdfam15h") &&
	          !__builtin_cpu_is("amdfam17h");
	pext_fast = pext_ok;
#endif
	for (uint32_t f = 1; f <= PROB; f++) {
		int e = 0;
		double m = f, z, z2, l;
		while (m >= 2.0) {
			m /= 2.0;
			e++;
		}
		z = (m - 1.0) / (m + 1.0);
		z2 = z * z;
		l = 2.0 * z * (1.0 + z2 * (1.0 / 3 + z2 * (1.0 / 5 + z2 * (1.0 / 7 + z2 * (1.0 / 9 + z2 / 11)))));
		cost_bits[f] = (float)((double)PROB_BITS - e - l / 0.6931471805599453);
	}
}

struct bitw {
	uint8_t *p;
	size_t n;
	uint64_t acc;
	int k;
};

static void bit_put(struct bitw *w, uint32_t v, int k)
{
	w->acc |= (uint64_t)v << w->k;
	w->k += k;
	while (w->k >= 8) {
		w->p[w->n++] = (uint8_t)w->acc;
		w->acc >>= 8;
		w->k -= 8;
	}
}

static void bit_flush(struct bitw *w)
{
	if (w->k > 0)
		w->p[w->n++] = (uint8_t)w->acc;
	w->acc = 0;
	w->k = 0;
}

struct bitr {
	const uint8_t *p;
	size_t n, i;
	uint64_t acc;
	int k;
};

/* false past the end (inline: a call a table's value or a channel's group was a tenth of
 * decoding a small tile) */
static inline __attribute__((always_inline)) bool bit_get(struct bitr *r, int k, uint32_t *v)
{
	while (r->k < k) {
		if (r->i == r->n)
			return false;
		r->acc |= (uint64_t)r->p[r->i++] << r->k;
		r->k += 8;
	}
	*v = (uint32_t)(r->acc & ((1u << k) - 1));
	r->acc >>= k;
	r->k -= k;
	return true;
}

static pthread_once_t once = PTHREAD_ONCE_INIT;

bool adcnn_rans_pext(bool on)
{
	pthread_once(&once, cost_init);
#ifdef COUNT_AVX2
	pext_fast = on && pext_ok;
	return pext_fast;
#else
	(void)on;
	return false;
#endif
}

bool adcnn_rans_vector_counts(bool on)
{
	pthread_once(&once, cost_init);
#ifdef COUNT_AVX2
	count_avx2 = on && count_ok;
	return count_avx2;
#else
	(void)on;
	return false;
#endif
}

_Static_assert(ADCNN_QMODELS == 1 << 9, "a model index is 9 bits");

static void put32(uint8_t *p, uint32_t v) { adcnn_le32enc(p, v); }

size_t adcnn_rans_bound(size_t n, size_t seg)
{
	size_t nseg = seg ? n / seg : 0;

	/* header, map or models, and tables; raw bits (at most 6 a value) and their length;
	 * states; and at most a word a symbol */
	return 1 + (nseg * 9 + 7) / 8 + MAX_GROUPS * (5 + 5 * MAX_SYMS) / 8 + 2 + n + 10 + 4 * LANES + 2 * n;
}

#ifdef COUNT_AVX2
/* bit planes 0 to np - 1 of the 64 bytes at c, as 64-bit masks (a shift puts each bit at
 * the top of its byte) */
__attribute__((target("avx2"))) static inline __attribute__((always_inline))
void planes64(const uint8_t *c, int np, uint64_t *b)
{
	__m256i v0 = _mm256_loadu_si256((const __m256i *)(const void *)c);
	__m256i v1 = _mm256_loadu_si256((const __m256i *)(const void *)(c + 32));

#pragma GCC unroll 8
	for (int l = 0; l < np; l++)
		b[l] = (uint32_t)_mm256_movemask_epi8(_mm256_slli_epi16(v0, 7 - l)) |
		       (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_slli_epi16(v1, 7 - l)) << 32;
}

/* the mask of each code value 0 to 15 among the 64 codes of at most 4 bits at c (bit i:
 * code i is v): the codes' four bit planes as 64-bit masks (a shift puts each bit at the top
 * of its byte), then the masks made by halves (the codes by their top bit, top two, three,
 * four: 30 ANDs) */
__attribute__((target("avx2"))) static inline __attribute__((always_inline))
void code_masks16(const uint8_t *c, uint64_t mv[16])
{
	uint64_t b[4], t[4];

	planes64(c, 4, b);
	/* the codes whose top two bits are 0 to 3; then by their third bit and their last */
	t[0] = ~b[3] & ~b[2];
	t[1] = ~b[3] & b[2];
	t[2] = b[3] & ~b[2];
	t[3] = b[3] & b[2];
#pragma GCC unroll 4
	for (int g = 0; g < 4; g++) {
		uint64_t u0 = t[g] & ~b[1], u1 = t[g] & b[1];
		mv[4 * g] = u0 & ~b[0];
		mv[4 * g + 1] = u0 & b[0];
		mv[4 * g + 2] = u1 & ~b[0];
		mv[4 * g + 3] = u1 & b[0];
	}
}

/* count()'s histogram of codes of at most 4 bits, 64 codes a step: each code's mask
 * (code_masks16) counted, each count to sym[code] (stored by the first step, added by the
 * others) and times sym[code] to the symbols' sum. Comparing the codes with each of 16
 * values took twice as long; counts kept in a local array and put to their symbols after,
 * a third longer. */
__attribute__((target("avx2,popcnt"))) static inline __attribute__((always_inline))
uint64_t count16_step(const uint8_t *c, const uint8_t *restrict sym, uint32_t *restrict h, bool first)
{
	uint64_t mv[16], key = 0;

	code_masks16(c, mv);
#pragma GCC unroll 16
	for (int v = 0; v < 16; v++) {
		uint32_t n = (uint32_t)__builtin_popcountll(mv[v]);
		h[sym[v]] = first ? n : h[sym[v]] + n;
		key += (uint64_t)n * sym[v];
	}
	return key;
}

/* count16_step's histograms of 64 codes that are 64 / seg channels of seg codes (4 to 32:
 * a small tile's 4x4 planes), each to h + its index * MAX_SYMS and its symbols' sum to key:
 * the codes' masks made once for all of them, each channel's counted inside its bits.
 * Counted a code at a time (count()), each channel's increments of its zeros waited on
 * one another's stores */
__attribute__((target("avx2,popcnt")))
static void count16_chans(const uint8_t *c, size_t seg, const uint8_t *restrict sym, uint32_t *restrict h,
                          uint64_t *key)
{
	uint64_t mv[16];
	size_t nch = 64 / seg;

	code_masks16(c, mv);
	for (size_t ch = 0; ch < nch; ch++) {
		uint64_t cm = (((uint64_t)1 << seg) - 1) << (ch * seg), k = 0;
		uint32_t *hc = h + ch * MAX_SYMS;
#pragma GCC unroll 16
		for (int v = 0; v < 16; v++) {
			uint32_t n = (uint32_t)__builtin_popcountll(mv[v] & cm);
			hc[sym[v]] = n;
			k += (uint64_t)n * sym[v];
		}
		key[ch] = k;
	}
}

/* at least 64 codes; h has MAX_SYMS entries, where those of codes that cannot occur are
 * counted (0: sym takes them past the alphabet) */
__attribute__((target("avx2,popcnt")))
static uint64_t count16_avx2(const uint8_t *c, size_t m, const uint8_t *restrict sym, uint32_t *restrict h)
{
	uint64_t key = count16_step(c, sym, h, true);
	size_t j = 64;

	for (; j + 64 <= m; j += 64)
		key += count16_step(c + j, sym, h, false);
	for (; j < m; j++) {
		h[sym[c[j]]]++;
		key += sym[c[j]];
	}
	return key;
}
#endif

#ifdef COUNT_AVX2
/* count()'s histogram of 17 to 24 symbols (nc, each its own symbol), 64 a step, as
 * count16_avx2 counts codes but by five bit planes: the symbols by their top two bits (the
 * top one only below 24), then the next three. The symbols' sum is that of each plane's
 * count times its bit. The first step's counts are stored in h, the others' added: a
 * cleared local array, added to and copied, took a third of the time in its clearing, and
 * h cleared by vector stores stalled each addition's load. */
__attribute__((target("avx2,popcnt"))) static inline __attribute__((always_inline))
uint64_t count24_step(const uint8_t *c, uint32_t *h, bool first)
{
	uint64_t b[5], b0, b1, b2, b3, b4, t[3], u[4];
#define TWO(k, x) do { \
	uint32_t n0_ = (uint32_t)__builtin_popcountll((x) & ~b0), n1_ = (uint32_t)__builtin_popcountll((x) & b0); \
	h[2 * (k)] = first ? n0_ : h[2 * (k)] + n0_; \
	h[2 * (k) + 1] = first ? n1_ : h[2 * (k) + 1] + n1_; \
} while (0)
	planes64(c, 5, b);
	b0 = b[0], b1 = b[1], b2 = b[2], b3 = b[3], b4 = b[4];
	/* symbols 0 to 7, 8 to 15 and 16 to 23; then by their next two bits */
	t[0] = ~b4 & ~b3;
	t[1] = ~b4 & b3;
	t[2] = b4;
	u[0] = ~b2 & ~b1;
	u[1] = ~b2 & b1;
	u[2] = b2 & ~b1;
	u[3] = b2 & b1;
#pragma GCC unroll 3
	for (int g = 0; g < 3; g++)
#pragma GCC unroll 4
		for (int k = 0; k < 4; k++)
			TWO(4 * g + k, t[g] & u[k]);
#undef TWO
	return (uint64_t)__builtin_popcountll(b0) + ((uint64_t)__builtin_popcountll(b1) << 1) +
	       ((uint64_t)__builtin_popcountll(b2) << 2) + ((uint64_t)__builtin_popcountll(b3) << 3) +
	       ((uint64_t)__builtin_popcountll(b4) << 4);
}

/* at least 64 symbols; h has 24 entries, those from nc on left 0 */
__attribute__((target("avx2,popcnt")))
static uint64_t count24_avx2(const uint8_t *c, size_t m, uint32_t *h)
{
	uint64_t key = count24_step(c, h, true);
	size_t j = 64;

	for (; j + 64 <= m; j += 64)
		key += count24_step(c + j, h, false);
	for (; j < m; j++) {
		h[c[j]]++;
		key += c[j];
	}
	return key;
}
#endif

/* The histogram h of c[0, m), values below nc, counted in four parts so that runs of one
 * value do not wait on each other's increments; each count goes to h[sym[value]] (sym
 * NULL: to h[value]). Returns the sum of the symbols, from the counts as they are summed
 * (reading h back waited on the stores just made to it). */
static inline uint64_t count(const uint8_t *c, size_t m, int nc, const uint8_t *sym, uint32_t *h)
{
	uint32_t part[4][MAX_SYMS];
	uint64_t key = 0;
	size_t j = 0;

#ifdef COUNT_AVX2
	if (count_avx2 && sym != NULL && nc <= 16 && m >= 64)
		return count16_avx2(c, m, sym, h);
	if (count_avx2 && sym == NULL && nc > 16 && nc <= 24 && m >= 64)
		return count24_avx2(c, m, h);
#endif
	if (m < 64) {
		/* a small tile's channel (16 codes of a 4x4 plane): clearing and adding up four
		 * parts cost more than the waits they save; counted into h itself */
		memset(h, 0, sizeof(*h) * (size_t)nc); /* the symbols of nc codes: 0 to nc - 1 */
		for (; j < m; j++) {
			unsigned y = sym ? sym[c[j]] : c[j];
			h[y]++;
			key += y;
		}
		return key;
	}
	for (int v = 0; v < nc; v++)
		part[0][v] = part[1][v] = part[2][v] = part[3][v] = 0;
	for (; j + 4 <= m; j += 4) {
		part[0][c[j]]++;
		part[1][c[j + 1]]++;
		part[2][c[j + 2]]++;
		part[3][c[j + 3]]++;
	}
	for (; j < m; j++)
		part[0][c[j]]++;
	for (int v = 0; v < nc; v++) {
		uint32_t t = part[0][v] + part[1][v] + part[2][v] + part[3][v];
		h[sym ? sym[v] : v] = t;
		key += (uint64_t)t * (sym ? sym[v] : (unsigned)v);
	}
	return key;
}

/* channel s's rank key: its symbols' sum (at most 2^32 - 1) above its index */
static inline uint64_t rank_key(uint64_t sum, size_t s)
{
	return (sum < UINT32_MAX ? sum : UINT32_MAX) << 32 | (uint32_t)s;
}

/* The channels' ranks (keys: a channel's symbols' sum, at most 2^32 - 1, above its index)
 * in order: runs of 16 by insertion, then merged in passes between k and tmp (n of each).
 * qsort took 4 of the 65 us that packing 192 channels of 64 values took. */
static void rank_sort(uint64_t *k, uint64_t *tmp, size_t n)
{
	uint64_t *a = k, *b = tmp;

	for (size_t r0 = 0; r0 < n; r0 += 16)
		for (size_t r = r0 + 1; r < n && r < r0 + 16; r++) {
			uint64_t t = k[r];
			size_t i = r;
			for (; i > r0 && k[i - 1] > t; i--)
				k[i] = k[i - 1];
			k[i] = t;
		}
	for (size_t w = 16; w < n; w *= 2) {
		uint64_t *t;
		for (size_t lo = 0; lo < n; lo += 2 * w) {
			size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
			size_t i = lo, j = mid, o = lo;
			while (i < mid && j < hi)
				b[o++] = a[i] <= a[j] ? a[i++] : a[j++];
			while (i < mid)
				b[o++] = a[i++];
			while (j < hi)
				b[o++] = a[j++];
		}
		t = a;
		a = b;
		b = t;
	}
	if (a != k)
		memcpy(k, a, n * sizeof(*k));
}

/* The estimated bits of k groups (h: their histograms), and their tables in qq; or, where
 * that cannot be below best, nor 99% of it below models (the models' bits), a sum that
 * shows it: first a bound from below (the tables' bits, and each group's symbols at their
 * frequency rounded up, which no table's can beat; made in a fifth of the time), then the
 * sum as it grows, group by group. */
static double group_bits(const uint64_t (*h)[MAX_SYMS], int k, int nsym, size_t nseg, double best,
                         double models, uint8_t (*qq)[MAX_SYMS])
{
	int used[MAX_GROUPS];
	double map = (double)(nseg * (size_t)__builtin_ctz((unsigned)k)), bitsum = map, low = map;
	/* nothing to beat (the first grouping): no bound */
	bool bound = best < INFINITY || models < INFINITY;

	for (int g = 0; g < k; g++) {
		uint64_t n = 0;
		double inv;
		used[g] = 0;
		for (int s = 0; s < nsym; s++) {
			n += h[g][s];
			if (h[g][s])
				used[g] = s + 1;
		}
		low += 5.0 + 5.0 * used[g];
		inv = (double)PROB / (double)(n ? n : 1);
		for (int s = 0; s < used[g] && bound; s++)
			if (h[g][s]) {
				/* at or above the frequency's share of PROB, however the product rounds (in
				 * signed conversions: a count is below 2^63, and unsigned ones take a
				 * branch and several instructions each on x86-64) */
				double c = (double)(int64_t)h[g][s];
				int64_t f = (int64_t)(c * inv) + 1;
				low += c * cost_bits[f < PROB ? f : PROB];
			}
	}
	/* the bound, a hair lower still for cost_bits' own rounding */
	low *= 0.999;
	if (low >= best || 0.99 * low > models)
		return low;
	for (int g = 0; g < k; g++) {
		uint64_t cmax = 0;
		uint32_t freq[MAX_SYMS];
		double scale;

		if (bitsum >= best || 0.99 * bitsum > models)
			return bitsum;
		for (int s = 0; s < nsym; s++)
			cmax = h[g][s] > cmax ? h[g][s] : cmax;
		scale = 8388608.0 / (double)(cmax ? cmax : 1);
		for (int s = 0; s < nsym; s++)
			qq[g][s] = h[g][s] ? (uint8_t)q_of(h[g][s], scale) : 0;
		table_freqs(qq[g], nsym, freq, NULL);
		bitsum += 5.0 + 5.0 * used[g];
		for (int s = 0; s < nsym; s++)
			if (h[g][s])
				bitsum += (double)h[g][s] * cost_bits[freq[s]];
	}
	return bitsum;
}

/* The raw bits of codes past 15, least significant first: len whole bytes written, then k
 * bits in acc. Eight bytes are written at a time, at most 56 bits of them new, so that the
 * buffer needs room for 8 bytes past the last. */
struct rawbits {
	uint8_t *buf;
	size_t len;
	uint64_t acc;
	int k;
};

/* the whole bytes of r's bits to its buffer (8 written, the bits past them 0), the rest
 * kept */
static inline __attribute__((always_inline)) void raw_store(struct rawbits *r)
{
	adcnn_le64enc(r->buf + r->len, r->acc);
	r->len += (size_t)r->k >> 3;
	r->acc >>= r->k & ~7;
	r->k &= 7;
}

/* Codes of more than 4 bits: each code's symbol into sy, and the raw bits of those past 15
 * onto w, by one entry of e a code (struct folds' wide), eight codes (48 raw bits at most)
 * between stores. */
static void wide_syms(const uint8_t *codes, size_t n, const uint32_t *e, uint8_t *sy, struct rawbits *w)
{
	struct rawbits r = *w;

	for (size_t i = 0; i < n; i += 8) {
		for (size_t j = i; j < i + 8 && j < n; j++) {
			uint32_t t = e[codes[j]];
			sy[j] = (uint8_t)t;
			r.acc |= (uint64_t)((t >> 8) & 0xff) << r.k;
			r.k += (int)(t >> 16);
		}
		raw_store(&r);
	}
	*w = r;
}

#ifdef COUNT_AVX2
/* wide_syms for whole steps of 32 codes (returns how many codes it took), each code folded
 * and given its symbol and raw bits in a byte of a vector, by its top four bits (as sym_of,
 * whose symbol past 31 is the folded value's magnitude and the bit below its top one); and
 * the raw bits of eight codes packed together by one pext, under a mask of each byte's raw
 * bits. A code of the table took 14 instructions; this, about 2. Only where pext is fast
 * (not on AMD's families 15h and 17h, where it takes up to hundreds of cycles). */
__attribute__((target("avx2,bmi2,popcnt")))
static size_t wide_syms_pext(const uint8_t *codes, size_t n, int zp, int top, uint8_t *sy, struct rawbits *w)
{
	/* by the folded value's top four bits (v >> 4, 1 to 15): the symbol (for 1, that of
	 * 16 to 23, the bit below the top one is added), and the raw bits' mask */
	const __m256i tsym = _mm256_setr_epi8(0, 16, 18, 19, 20, 20, 21, 21, 22, 22, 22, 22, 23, 23, 23, 23,
	                                      0, 16, 18, 19, 20, 20, 21, 21, 22, 22, 22, 22, 23, 23, 23, 23);
	const __m256i tmask = _mm256_setr_epi8(0, 7, 15, 15, 31, 31, 31, 31, 63, 63, 63, 63, 63, 63, 63, 63,
	                                       0, 7, 15, 15, 31, 31, 31, 31, 63, 63, 63, 63, 63, 63, 63, 63);
	const int m = zp < top - zp ? zp : top - zp;
	const __m256i z = _mm256_set1_epi8((char)zp), mm = _mm256_set1_epi8((char)m), zero = _mm256_setzero_si256();
	const __m256i ones = _mm256_set1_epi8(-1), low4 = _mm256_set1_epi8(15), one = _mm256_set1_epi8(1);
	struct rawbits rb = *w;
	size_t i = 0;

	for (; i + 32 <= n; i += 32) {
		__m256i c = _mm256_loadu_si256((const __m256i *)(const void *)(codes + i));
		__m256i above = _mm256_subs_epu8(c, z), a = _mm256_or_si256(above, _mm256_subs_epu8(z, c));
		/* 2 |d| - 1 above the zero point, 2 |d| at or below it, while |d| <= m; else m + |d| */
		__m256i near = _mm256_cmpeq_epi8(_mm256_subs_epu8(a, mm), zero);
		__m256i v1 = _mm256_add_epi8(_mm256_add_epi8(a, a), _mm256_xor_si256(_mm256_cmpeq_epi8(above, zero), ones));
		__m256i v = _mm256_blendv_epi8(_mm256_add_epi8(mm, a), v1, near);
		__m256i hn = _mm256_and_si256(_mm256_srli_epi16(v, 4), low4);
		__m256i s = _mm256_add_epi8(_mm256_shuffle_epi8(tsym, hn),
		                            _mm256_and_si256(_mm256_and_si256(_mm256_srli_epi16(v, 3), one), _mm256_cmpeq_epi8(hn, one)));
		__m256i mask = _mm256_shuffle_epi8(tmask, hn);
		uint64_t r[4], q[4];

		_mm256_storeu_si256((__m256i *)(void *)(sy + i), _mm256_blendv_epi8(s, v, _mm256_cmpeq_epi8(hn, zero)));
		_mm256_storeu_si256((__m256i *)(void *)r, _mm256_and_si256(v, mask));
		_mm256_storeu_si256((__m256i *)(void *)q, mask);
		for (int g = 0; g < 4; g++) {
			rb.acc |= _pext_u64(r[g], q[g]) << rb.k;
			rb.k += __builtin_popcountll(q[g]);
			raw_store(&rb);
		}
	}
	*w = rb;
	return i;
}
#endif

/* Codes of `bits` bits around zero point zp, n of them in channels of seg each, into out (at
 * least adcnn_rans_bound bytes). Returns the length, or 0 when out of memory. */
size_t adcnn_rans_encode(const uint8_t *codes, size_t n, size_t seg, int bits, int zp, uint8_t *out)
{
	return adcnn_rans_encode_with(codes, n, seg, bits, zp, true, out);
}

size_t adcnn_rans_encode_with(const uint8_t *codes, size_t n, size_t seg, int bits, int zp, bool models_too,
                              uint8_t *out)
{
	const struct folds *ft;
	const uint8_t *sym;
	int nsym = adcnn_rans_alphabet(bits), ngroups = 1, lg = 0;
	size_t nseg = seg ? n / seg : 0, o = 0, rawlen = 0;
	uint64_t hist[MAX_GROUPS][MAX_SYMS] = {{0}}, coarse[3][MAX_GROUPS / 2][MAX_SYMS];
	/* the histograms of the groups of each grouping, finest first */
	const uint64_t (*by[4])[MAX_SYMS] = {hist, coarse[0], coarse[1], coarse[2]};
	uint32_t *seghist;
	uint64_t *rk;
	const uint32_t **tab;
	uint8_t *grp, *tail, *p;
	const uint8_t *syms = NULL;
	uint16_t *model;
	struct adcnn_qmodels *qm = NULL;
	uint8_t q[MAX_GROUPS][MAX_SYMS];
	double best = 0.0;
	/* each group's symbols' frequency << 16 | start (a model keeps its own) */
	uint32_t fs[MAX_GROUPS][MAX_SYMS];
	uint32_t st[LANES];
	/* the finest grouping: a power of two, at most one group a channel */
	int g8 = nseg >= 8 ? 8 : nseg >= 4 ? 4 : nseg >= 2 ? 2 : 1, ctz8 = __builtin_ctz((unsigned)g8);

	pthread_once(&once, cost_init);
	ft = fold_tables(bits, zp);
	sym = ft->sym;
	/* one allocation (a small tensor's six took a twentieth of its time): each channel's
	 * rank keys (two words: keys and merge space), table, histogram, model and group; then
	 * tail, at least 2 n + 16 bytes; for codes of more than 4 bits, their symbols (n) */
	{
		size_t ns1 = nseg ? nseg : 1;
		rk = malloc(ns1 * (2 * sizeof(*rk) + sizeof(*tab) + MAX_SYMS * sizeof(*seghist) + sizeof(*model) + 1) +
		            2 * n + 16 + (bits > 4 ? n : 0));
		if (rk == NULL)
			return 0;
		tab = (const uint32_t **)(rk + 2 * ns1);
		seghist = (uint32_t *)(tab + ns1);
		model = (uint16_t *)(seghist + MAX_SYMS * ns1);
		grp = (uint8_t *)(model + ns1);
		tail = grp + ns1;
	}
	/* codes of more than 4 bits: their symbols, once, for the counts and the coder to read
	 * (each looked a code up on its own: a gather of eight a vector step in the coder); and
	 * in the same pass, the raw bits of those past 15 into the front of tail (eight bytes
	 * written a group of eight codes, 48 bits at most, without a branch: tail has room for
	 * the 8 bytes past the last), by one entry a code: symbol, raw bits, their count */
	if (bits > 4) {
		struct rawbits w = {tail, 0, 0, 0};
		uint8_t *sy = tail + 2 * n + 16;
		size_t i = 0;
#ifdef COUNT_AVX2
		if (pext_fast)
			i = wide_syms_pext(codes, n, zp, (1 << bits) - 1, sy, &w);
#endif
		wide_syms(codes + i, n - i, ft->wide, sy + i, &w);
		if (w.k > 0)
			tail[w.len++] = (uint8_t)w.acc;
		rawlen = w.len;
		syms = sy;
	}

	/* each channel's histogram; the channels ranked by their mean symbol; the g8 finest
	 * groups by rank */
	{
		size_t s = 0;
#ifdef COUNT_AVX2
		/* channels of a few codes (4 to 32, dividing 64) several at a time */
		if (count_avx2 && bits <= 4 && seg >= 4 && seg < 64 && 64 % seg == 0)
			for (size_t per = 64 / seg; s + per <= nseg; s += per) {
				uint64_t key[16];
				count16_chans(codes + s * seg, seg, sym, seghist + s * MAX_SYMS, key);
				for (size_t i = 0; i < per; i++)
					rk[s + i] = rank_key(key[i], s + i);
			}
#endif
		for (; s < nseg; s++) {
			uint32_t *h = seghist + s * MAX_SYMS;
			uint64_t sum = bits <= 4 ? count(codes + s * seg, seg, 1 << bits, sym, h)
			                         : count(syms + s * seg, seg, nsym, NULL, h);
			rk[s] = rank_key(sum, s);
		}
	}
	if (g8 > 1)
		rank_sort(rk, rk + nseg, nseg);
	/* rank r in group r * g8 / nseg: ranks [ceil(g * nseg / g8), ceil((g + 1) * nseg / g8)) */
	for (size_t g = 0, r = 0; g < (size_t)g8; g++)
		for (size_t end = ((g + 1) * nseg + (size_t)g8 - 1) / (size_t)g8; r < end; r++)
			grp[(uint32_t)rk[r]] = (uint8_t)g;
	for (size_t s = 0; s < nseg; s++)
		for (int y = 0; y < nsym; y++)
			hist[grp[s]][y] += seghist[s * MAX_SYMS + (size_t)y];
	/* the coarser groupings' histograms, each group two of the next finer's: by[L] for
	 * g8 >> L groups (summed a grouping at a time from the finest, they took a tenth of
	 * packing a small tensor) */
	for (int l = 1, k = g8 / 2; k >= 1; l++, k /= 2)
		for (int g = 0; g < k; g++)
			for (int y = 0; y < nsym; y++)
				coarse[l - 1][g][y] = by[l - 1][2 * g][y] + by[l - 1][2 * g + 1][y];

	/* 1, 2, 4 or 8 groups (g8 / k finest ones merged each), or a parametric model a channel:
	 * the fewest estimated bits. Models only where they save at least 1% (a model's
	 * decoding table is made on its first use in a thread, 4 KiB). One group first; then
	 * the models, given up once they cost 99% of that; then the other groupings, each
	 * given up once it can change nothing (the choice is the one all of them in full would
	 * make). */
	if (nseg == 0) {
		ngroups = 1;
		memset(q, 0, sizeof(q));
		q[0][0] = 1;
	} else {
		bool models = false;
		double sum = 9.0 * (double)nseg;
		size_t look = nseg / 4 > 16 ? nseg / 4 : 16;
		int k0 = 2; /* the first grouping not yet tried */
		best = group_bits(by[ctz8], 1, nsym, nseg, INFINITY, INFINITY, q);
		if (models_too && (qm = adcnn_qmodels(bits, zp, sym, nsym, cost_bits)) != NULL) {
			/* a quarter of the channels (16 at least) first; where their bits head within 5%
			 * of the limit or past it, two groups (a limit nearer the best grouping's), then
			 * the channels left under a bound (adcnn_qmodels_bounded). On the fashion split (192
			 * channels of 64, where two groups win by 3%) 64 channels are fitted instead of
			 * 188; on its 4x4 FDSP tile (four groups win by 3%, the models come within 0.4%
			 * of one table) 104 instead of 192. */
			sum = adcnn_qmodels_fit(qm, seghist, 0, look < nseg ? look : nseg, sum, 0.99 * best, model);
			if (sum < 0.99 * best && look < nseg && seg <= ADCNN_QMODEL_BOUND_SEG && nsym % 4 == 0 &&
			    (sum - 9.0 * (double)nseg) / (double)look * (double)nseg + 9.0 * (double)nseg >= 0.95 * 0.99 * best) {
				if (g8 >= 2) {
					uint8_t qq[MAX_GROUPS][MAX_SYMS];
					double b = group_bits(by[ctz8 - 1], 2, nsym, nseg, best, INFINITY, qq);
					if (b < best) {
						best = b;
						ngroups = 2;
						memcpy(q, qq, sizeof(q));
					}
					k0 = 4;
				}
				sum = adcnn_qmodels_bounded(qm, seghist, look, nseg, seg, sum, 0.99 * best, model);
			} else {
				sum = adcnn_qmodels_fit(qm, seghist, look, nseg, sum, 0.99 * best, model);
			}
			models = sum < 0.99 * best;
		}
		for (int k = k0; k <= g8; k *= 2) {
			uint8_t qq[MAX_GROUPS][MAX_SYMS];
			double b = group_bits(by[ctz8 - __builtin_ctz((unsigned)k)], k, nsym, nseg, best, models ? sum : INFINITY, qq);
			if (b < best) {
				best = b;
				ngroups = k;
				memcpy(q, qq, sizeof(q));
			}
		}
		if (models && sum < 0.99 * best)
			ngroups = 0;
	}
	lg = ngroups ? __builtin_ctz((unsigned)ngroups) : 0;
	for (int g = 0; g < ngroups; g++) {
		uint32_t freq[MAX_SYMS], start[MAX_SYMS];
		table_freqs(q[g], nsym, freq, start);
		for (int y = 0; y < MAX_SYMS; y++)
			fs[g][y] = y < nsym ? freq[y] << 16 | start[y] : 0;
	}

	/* the group count (0: a model a channel), the map or the models, the tables */
	out[o++] = (uint8_t)ngroups;
	{
		struct bitw w = {out, o, 0, 0};
		int shift = __builtin_ctz((unsigned)g8) - lg;
		if (ngroups == 0)
			for (size_t s = 0; s < nseg; s++)
				bit_put(&w, model[s], 9);
		if (lg > 0)
			for (size_t s = 0; s < nseg; s++)
				bit_put(&w, (uint32_t)grp[s] >> shift, lg);
		for (int g = 0; g < ngroups; g++) {
			int used = 1;
			for (int s = 0; s < nsym; s++)
				if (q[g][s])
					used = s + 1;
			bit_put(&w, (uint32_t)(used - 1), 5);
			for (int s = 0; s < used; s++)
				bit_put(&w, q[g][s], 5);
		}
		bit_flush(&w);
		o = w.n;
		for (size_t s = 0; s < nseg; s++)
			grp[s] = (uint8_t)(grp[s] >> shift);
	}
	/* the raw bits of codes past 15 (made with the symbols, above), after their length */
	if (bits > 4) {
		for (size_t v = rawlen; ; v >>= 7) {
			out[o++] = (uint8_t)((v & 127) | (v > 127 ? 128 : 0));
			if (v <= 127)
				break;
		}
		memcpy(out + o, tail, rawlen);
		o += rawlen;
	}
	/* the symbols, last first, into the end of tail (a word a symbol at most, and 16 bytes
	 * below them that a vector store may write); symbol i in state i % 8 */
	p = tail + 2 * n + 16;
	for (int l = 0; l < LANES; l++)
		st[l] = RANS_L;
	for (size_t s = 0; s < nseg; s++)
		tab[s] = ngroups ? fs[grp[s]] : adcnn_qmodel(qm, model[s])->fs;
	if (bits > 4)
		adcnn_rans_put(st, &p, tab, NULL, bits, nsym, syms, 0, seg, nseg);
	else
		adcnn_rans_put(st, &p, tab, sym, bits, nsym, codes, 0, seg, nseg);
	for (int l = 0; l < LANES; l++)
		put32(out + o + 4 * (size_t)l, st[l]);
	o += 4 * LANES;
	memcpy(out + o, p, (size_t)(tail + 2 * n + 16 - p));
	o += (size_t)(tail + 2 * n + 16 - p);
	free(rk);
	return o;
}

/* one step of state x, at least two bytes at q, by the segment's tables: sl the symbol of
 * each slot, fr and st each symbol's frequency and first slot; its symbol in sy. A macro,
 * not a function taking &q, whose every byte written might be q and reload it; q a local
 * whose address is not taken, for the same reason (p, whose address dec1 takes, was
 * stored again at every step). */
#define DEC_STEP(x, sy) do { \
	uint32_t slot_ = (x) & (PROB - 1), t_, k_; \
	(sy) = sl[slot_]; \
	t_ = fr[(sy)] * ((x) >> PROB_BITS) + slot_ - st[(sy)]; \
	k_ = t_ < RANS_L; \
	(x) = t_ << (16 * k_) | ((uint32_t)(q[0] | q[1] << 8) & (0u - k_)); \
	q += 2 * k_; \
} while (0)

/* one symbol, its code (or the symbol itself) by tb */
#define DEC(x, out) do { \
	uint32_t sy_; \
	DEC_STEP(x, sy_); \
	(out) = tb[sy_]; \
} while (0)

/* one code of more than 4 bits: the symbol's raw bits from racc (rk of them, at least 48
 * for eight codes), by each symbol's first folded value (rb) and raw bit count (rn): 0
 * below 16, so that there is no branch */
#define DECW(x, out) do { \
	uint32_t sy_; \
	DEC_STEP(x, sy_); \
	(out) = unfold[rb[sy_] | (uint32_t)(racc & ((1u << rn[sy_]) - 1))]; \
	racc >>= rn[sy_]; \
	rk -= rn[sy_]; \
} while (0)

/* eight codes c[j], ... c[j + 7] by D, one in each of the states x0 ... x7 */
#define DEC8(D) do { \
	D(x0, c[j]); \
	D(x1, c[j + 1]); \
	D(x2, c[j + 2]); \
	D(x3, c[j + 3]); \
	D(x4, c[j + 4]); \
	D(x5, c[j + 5]); \
	D(x6, c[j + 6]); \
	D(x7, c[j + 7]); \
} while (0)

/* the code of symbol sy (of more than 4 bits) into *c, by its first folded value and its raw
 * bits from raw; false if these run out */
static inline bool raw_code(struct bitr *raw, int sy, const uint8_t *unfold, uint8_t *c)
{
	int nr;
	unsigned v = base_of(sy, &nr);
	uint32_t extra = 0;

	if (nr > 0 && !bit_get(raw, nr, &extra))
		return false;
	/* below 2^bits: the alphabet stops at the bucket of the largest code */
	*c = unfold[v | extra];
	return true;
}

/* one symbol in state x[l], its code into *c: tb[symbol] below 16, or where raw is NULL;
 * else tb[its first folded value and raw bits]; false if the bytes or the raw bits run out */
static bool dec1(uint32_t *x, size_t l, const uint8_t *sl, const uint16_t *fr, const uint16_t *st,
                 const uint8_t *tb, struct bitr *raw, const uint8_t **pp, const uint8_t *end,
                 uint8_t *c)
{
	uint32_t slot = x[l] & (PROB - 1), t;
	int sy = sl[slot];

	t = fr[sy] * (x[l] >> PROB_BITS) + slot - st[sy];
	/* one word at most: t >= 2^3 from a state >= 2^15 */
	if (t < RANS_L) {
		if (end - *pp < 2)
			return false;
		t = t << 16 | (uint32_t)((*pp)[0] | (*pp)[1] << 8);
		*pp += 2;
	}
	x[l] = t;
	if (sy < 16 || raw == NULL) {
		*c = tb[sy];
		return true;
	}
	return raw_code(raw, sy, tb, c);
}

#ifdef COUNT_AVX2
/* wide_codes for steps of eight codes while 8 bytes of raw bits remain (returns how many it
 * took), where pdep is fast: each symbol's raw bits' mask and first folded value by a byte
 * shuffle, the eight's raw bits spread into their bytes by one pdep, and the folded values
 * unfolded arithmetically (wide_syms_pext's fold undone) */
__attribute__((target("avx2,bmi2,popcnt")))
static size_t wide_codes_pdep(uint8_t *c, size_t n, struct bitr *raw, int zp, int top)
{
	/* by symbol - 16 (below 16: an index with its top bit set, which gives 0) */
	const __m128i tmask = _mm_setr_epi8(7, 7, 15, 15, 31, 31, 63, 63, 0, 0, 0, 0, 0, 0, 0, 0);
	const __m128i tbase = _mm_setr_epi8(16, 24, 32, 48, 64, 96, (char)128, (char)192, 0, 0, 0, 0, 0, 0, 0, 0);
	const int m = zp < top - zp ? zp : top - zp;
	const __m128i z = _mm_set1_epi8((char)zp), mm = _mm_set1_epi8((char)m), m2 = _mm_set1_epi8((char)(2 * m));
	const __m128i s16 = _mm_set1_epi8(16), one = _mm_set1_epi8(1), low7 = _mm_set1_epi8(0x7f);
	/* past 2 m, the codes are on the longer side */
	const bool up = top - zp > zp;
	uint64_t racc = raw->acc;
	int rk = raw->k;
	size_t i = 0;

	for (; i + 8 <= n && raw->n - raw->i >= 8; i += 8) {
		__m128i y = _mm_loadl_epi64((const __m128i *)(const void *)(c + i)), idx = _mm_sub_epi8(y, s16);
		__m128i v, h, odd, a, near;
		uint64_t mk = (uint64_t)_mm_cvtsi128_si64(_mm_shuffle_epi8(tmask, idx)), r;
		int k;
		racc |= adcnn_le64dec(raw->p + raw->i) << rk;
		raw->i += (size_t)(63 - rk) >> 3;
		rk |= 56;
		r = _pdep_u64(racc, mk);
		k = __builtin_popcountll(mk);
		racc >>= k;
		rk -= k;
		v = _mm_or_si128(_mm_or_si128(_mm_shuffle_epi8(tbase, idx), _mm_and_si128(y, _mm_cmplt_epi8(y, s16))),
		                 _mm_cvtsi64_si128((long long)r));
		/* up to 2 m: zp + (v + 1) / 2 for v odd, zp - v / 2 for v even; past it, zp + or
		 * - (v - m) */
		h = _mm_and_si128(_mm_srli_epi16(v, 1), low7);
		odd = _mm_and_si128(v, one);
		a = _mm_sub_epi8(v, mm);
		near = _mm_cmpeq_epi8(_mm_min_epu8(v, m2), v);
		_mm_storel_epi64((__m128i *)(void *)(c + i),
		                 _mm_blendv_epi8(up ? _mm_add_epi8(z, a) : _mm_sub_epi8(z, a),
		                                 _mm_blendv_epi8(_mm_sub_epi8(z, h), _mm_add_epi8(_mm_add_epi8(z, h), odd),
		                                                 _mm_cmpeq_epi8(odd, one)),
		                                 near));
	}
	raw->acc = racc;
	raw->k = rk;
	return i;
}

/* Codes of more than 4 bits from their symbols, c[0, n) in place, and the raw bits of
 * those from 16 on, where pdep is fast: a pass of its own after the states', eight codes a
 * step (the states' steps took the raw bits a symbol at a time, each shift waiting on the
 * last; elsewhere they still do, which was faster than a pass of its own so); false if the
 * raw bits run out */
static bool wide_codes(uint8_t *c, size_t n, struct bitr *raw, int zp, int top, const uint8_t *unfold)
{
	for (size_t i = wide_codes_pdep(c, n, raw, zp, top); i < n; i++)
		if (!raw_code(raw, c[i], unfold, c + i))
			return false;
	return true;
}
#endif

/* the model's symbol of each slot, made once: a search from the bucket's symbol took a
 * mispredicted branch a code or so */
static const uint8_t *model_dec(struct adcnn_qmodels *q, int k)
{
	struct adcnn_qmodel *m = adcnn_qmodel(q, k);

	if (!m->dec_ready) {
		for (int s = 0; s < q->nsym; s++)
			memset(q->dec[k] + m->start[s], s, m->freq[s]);
		m->dec_ready = true;
	}
	return q->dec[k];
}

/* Decodes n codes; false if the payload is corrupt. Reads nothing outside in[0, len). */
bool adcnn_rans_decode(const uint8_t *in, size_t len, size_t n, size_t seg, int bits, int zp,
                       uint8_t *codes)
{
	const struct folds *ft = fold_tables(bits, zp);
	const uint8_t *sym = ft->sym, *unfold = ft->unfold;
	int nsym = adcnn_rans_alphabet(bits), ngroups, lg;
	uint16_t *model = NULL;
	struct adcnn_qmodels *qm = NULL;
	size_t nseg = seg ? n / seg : 0, o = 1, rawlen = 0;
	/* per group: the symbol of each slot, and each symbol's frequency and first slot, as a
	 * model keeps them. Bytes, not the three in a word: 4 KiB a group where 16 left the L1
	 * cache, and a lookup from the L2 took a third of decoding */
	uint8_t *tab = NULL;
	uint16_t (*gfreq)[MAX_SYMS] = NULL, (*gstart)[MAX_SYMS] = NULL;
	uint8_t *grp = NULL;
	void *mem = NULL;
	struct bitr raw = {0};
	/* lim: how far the states' loop may read, 16 bytes a step: past end where the payload
	 * was copied with zeros after it */
	const uint8_t *p, *end = in + len, *lim = end;
	uint32_t x[LANES];
	uint8_t rb[MAX_SYMS], rn[MAX_SYMS];
	/* codes of more than 4 bits in two passes (wide_codes): the states' pass leaves their
	 * symbols (tb the identity), else their codes (tb unfold) */
	bool wide2 = false;
	const uint8_t *tb = unfold;
	bool ok = false;

	if (len < 1)
		return false;
	ngroups = in[0];
	if (ngroups != 0 && ngroups != 1 && ngroups != 2 && ngroups != 4 && ngroups != 8)
		return false;
	if ((size_t)ngroups > (nseg ? nseg : 1) || (ngroups == 0 && nseg == 0))
		return false;
	lg = ngroups ? __builtin_ctz((unsigned)ngroups) : 0;
	/* one allocation (a small tensor's five took a twelfth of decoding it): each group's
	 * frequencies and starts, each channel's model, the groups' slots, each channel's group;
	 * and a payload of at most ADCNN_RANS_COPY_MAX bytes again, with 2 LANES zeros after it,
	 * so that the states' loop runs to its end rather than leave its last 16 bytes to a
	 * symbol at a time (a tile of 512 codes at 4 bits: 50 of its codes) */
	{
		size_t ns1 = nseg ? nseg : 1, ng = (size_t)ngroups;
		size_t cp = len <= ADCNN_RANS_COPY_MAX ? len + 2 * LANES : 0;
		uint8_t *m = mem = malloc(2 * ng * sizeof(*gfreq) + ns1 * sizeof(*model) + ng * PROB + ns1 + cp);
		if (m == NULL)
			goto done;
		gfreq = (uint16_t (*)[MAX_SYMS])m;
		gstart = gfreq + ng;
		model = (uint16_t *)(gstart + ng);
		tab = (uint8_t *)(model + ns1);
		grp = tab + ng * PROB;
		if (cp > 0) {
			uint8_t *c = grp + ns1;
			memcpy(c, in, len);
			memset(c + len, 0, 2 * LANES);
			in = c;
			end = in + len;
			lim = end + 2 * LANES;
		}
	}
	pthread_once(&once, cost_init);
	if (ngroups == 0 && (qm = adcnn_qmodels(bits, zp, sym, nsym, cost_bits)) == NULL)
		goto done;
	{
		struct bitr r = {in, len, o, 0, 0};
		uint32_t v;
		for (size_t s = 0; s < nseg && ngroups == 0; s++) {
			if (!bit_get(&r, 9, &v))
				goto done;
			model[s] = (uint16_t)v;
		}
		for (size_t s = 0; s < nseg; s++) {
			if (lg == 0)
				grp[s] = 0;
			else if (!bit_get(&r, lg, &v))
				goto done;
			else
				grp[s] = (uint8_t)v;
		}
		for (int g = 0; g < ngroups; g++) {
			uint8_t q[MAX_SYMS] = {0};
			uint32_t freq[MAX_SYMS], start[MAX_SYMS];
			uint8_t *t = tab + (size_t)g * PROB;
			if (!bit_get(&r, 5, &v) || (int)v >= nsym)
				goto done;
			for (int s = 0, used = (int)v + 1; s < used; s++) {
				uint32_t qs;
				if (!bit_get(&r, 5, &qs))
					goto done;
				q[s] = (uint8_t)qs;
			}
			if (!table_freqs(q, nsym, freq, start))
				goto done;
			for (int s = 0; s < nsym; s++) {
				memset(t + start[s], s, freq[s]);
				gfreq[g][s] = (uint16_t)freq[s];
				gstart[g][s] = (uint16_t)start[s];
			}
		}
		o = r.i;
	}
	if (bits > 4) {
		for (int sh = 0;; sh += 7) {
			if (o == len || sh > 56)
				goto done;
			rawlen |= (size_t)(in[o] & 127) << sh;
			if (!(in[o++] & 128))
				break;
		}
		if (rawlen > len - o)
			goto done;
		raw.p = in + o;
		raw.n = rawlen;
		o += rawlen;
	}
	for (int y = 0; y < MAX_SYMS; y++) {
		int nr;
		rb[y] = (uint8_t)base_of(y, &nr);
		rn[y] = (uint8_t)nr;
	}
	if (len - o < 4 * LANES)
		goto done;
#ifdef COUNT_AVX2
	wide2 = bits > 4 && pext_fast;
	tb = wide2 ? adcnn_rans_ident : unfold;
#endif
	for (int l = 0; l < LANES; l++)
		x[l] = adcnn_le32dec(in + o + 4 * (size_t)l);
	p = in + o + 4 * LANES;
	for (size_t s = 0; s < nseg; s++) {
		const uint8_t *sl;
		const uint16_t *fr, *st;
		uint8_t *c = codes + s * seg;
		size_t j = 0, whole = 0;
		if (ngroups == 0) {
			struct adcnn_qmodel *m = adcnn_qmodel(qm, model[s]);
			sl = model_dec(qm, model[s]);
			fr = m->freq;
			st = m->start;
		} else {
			sl = tab + (size_t)grp[s] * PROB;
			fr = gfreq[grp[s]];
			st = gstart[grp[s]];
		}
		/* the whole groups of eight from the first symbol of state 0: a state each, no
		 * test of the bytes for each, while 16 bytes remain */
		j = (LANES - s * seg % LANES) % LANES;
		whole = j < seg ? (seg - j) / LANES * LANES : 0;
		for (size_t k = 0, k1 = j < seg ? j : seg; k < k1; k++)
			if (!dec1(x, (s * seg + k) % LANES, sl, fr, st, tb, wide2 ? NULL : &raw, &p, end, c + k))
				goto done;
		if (whole > 0) {
			uint32_t x0 = x[0], x1 = x[1], x2 = x[2], x3 = x[3];
			uint32_t x4 = x[4], x5 = x[5], x6 = x[6], x7 = x[7];
			const uint8_t *q = p;
			if (bits <= 4 || wide2) {
				for (size_t j1 = j + whole; j < j1 && lim - q >= 2 * LANES; j += LANES)
					DEC8(DEC);
			} else {
				/* and for wider codes, while 8 bytes of raw bits remain: taken 48 bits or
				 * more a group, without a branch */
				uint64_t racc = raw.acc;
				int rk = raw.k;
				for (size_t j1 = j + whole; j < j1 && lim - q >= 2 * LANES && raw.n - raw.i >= 8;
				     j += LANES) {
					racc |= adcnn_le64dec(raw.p + raw.i) << rk;
					raw.i += (size_t)(63 - rk) >> 3;
					rk |= 56;
					DEC8(DECW);
				}
				raw.acc = racc;
				raw.k = rk;
			}
			x[0] = x0, x[1] = x1, x[2] = x2, x[3] = x3;
			x[4] = x4, x[5] = x5, x[6] = x6, x[7] = x7;
			p = q;
		}
		for (; j < seg; j++)
			if (!dec1(x, (s * seg + j) % LANES, sl, fr, st, tb, wide2 ? NULL : &raw, &p, end, c + j))
				goto done;
	}
	/* the states are back where the encoder began, and every byte is used */
	ok = p == end;
	for (int l = 0; l < LANES; l++)
		ok = ok && x[l] == RANS_L;
#ifdef COUNT_AVX2
	/* codes of more than 4 bits: from their symbols and raw bits */
	if (ok && wide2)
		ok = wide_codes(codes, nseg * seg, &raw, zp, (1 << bits) - 1, unfold);
#endif
done:
	free(mem);
	return ok;
}
