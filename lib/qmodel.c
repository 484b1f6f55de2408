/* qmodel.c: the parametric tables of the rANS coder (rans.c), and the search for a
 * channel's. A channel's codes are taken for a Gaussian of the value before quantization,
 * rounded and clamped to the code range: the zeros of a ReLU are its mass below zero. 32
 * means by 16 spreads, so that a channel costs a 9-bit index instead of a table of its own.
 * The frequencies come from plain IEEE arithmetic (an exp and a normal distribution of our
 * own, no libm), so that every host makes the same tables from the same index; the search
 * too, so that every host makes the same choices. */
#include "config.h"
#include "internal.h"
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

ADCNN_FMA_OFF

#define PROB (1u << ADCNN_RANS_PROB_BITS)

/* 1 / i!, for the series of e^r */
static const double inv_fact[14] = {
	1.0, 1.0, 1.0 / 2, 1.0 / 6, 1.0 / 24, 1.0 / 120, 1.0 / 720, 1.0 / 5040, 1.0 / 40320,
	1.0 / 362880, 1.0 / 3628800, 1.0 / 39916800, 1.0 / 479001600, 1.0 / 6227020800.0,
};

/* Four values at a time (lanes of a vector; each lane's arithmetic the same IEEE operations
 * in the same order as one value's, so the same results on every host and vector unit, and
 * the tables test_pack pinned when they were made one value at a time): 510 values of the
 * distribution function a model at 8 bits. */
typedef double qd4 __attribute__((vector_size(32)));
typedef long long ql4 __attribute__((vector_size(32)));

/* lanes of yes where mask is set, else of no */
#define SELECT4(mask, yes, no) ((qd4)(((ql4)(yes) & (mask)) | ((ql4)(no) & ~(mask))))

/* the standard normal distribution function at z[0, 4) into f, by Abramowitz and Stegun
 * 7.1.26 for erfc (absolute error below 1.5e-7, far under a frequency's 1/4096), its e^-x^2
 * as e^(k ln 2 + r) with e^r by its series to r^13, times 2^k (exact: the product is a
 * normal number; 0 below e^-700) */
static inline __attribute__((always_inline)) void normal_cdf4(const double *z, double *f)
{
	/* 1.5 * 2^52: added and taken away, a value below 2^51 rounded to an integer */
	const qd4 magic = {6755399441055744.0, 6755399441055744.0, 6755399441055744.0, 6755399441055744.0};
	const qd4 zero = {0.0, 0.0, 0.0, 0.0}, one = {1.0, 1.0, 1.0, 1.0};
	const ql4 sign = {INT64_MIN, INT64_MIN, INT64_MIN, INT64_MIN};
	qd4 zv, x, t, e, y, tk, k, r, p = zero, ex, half;

	memcpy(&zv, z, sizeof(zv));
	x = (qd4)((ql4)zv & ~sign) * 0.7071067811865476;
	t = 1.0 / (1.0 + 0.3275911 * x);
	e = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
	/* e^y, y = -x^2 <= 0 */
	y = -x * x;
	tk = y * 1.4426950408889634 + 0.5;
	k = (tk + magic) - magic;
	k -= SELECT4(k > tk, one, zero); /* the integer below tk */
	r = y - k * 0.6931471805599453;
	for (int i = 13; i >= 0; i--)
		p = p * r + inv_fact[i];
	/* 2^k from its exponent bits (k >= -1010 where y >= -700) */
	ex = p * (qd4)(((ql4)(k + magic) - (ql4)magic + 1023) << 52);
	e *= SELECT4(y < -700.0, zero, ex);
	half = 0.5 * e;
	half = SELECT4(zv < 0.0, half, 1.0 - half);
	memcpy(f, &half, sizeof(half));
}

/* Model k's distribution function by distance from the zero point: at d + 1/2 for d from
 * -top to top + 1, u[d + top] (past top - 1 unused: the lanes' tail). Its mean is T (2 i -
 * 31) / 31 from the zero point, and nothing else of it depends on the zero point, so it is
 * made once a width and kept: a new zero point (each signed tile's) costs the additions
 * of adcnn_qmodel_make. Made around each zero point, as it was, it took most of packing
 * a signed tensor at 8 bits. The arguments differ from those in their last bits at 18%
 * of the points; the tables, of every width, zero point and model, not at all (test_pack
 * holds their hash): the format is the same. */
ADCNN_VECTORIZE
static const double *dist_of(struct adcnn_qmodels *q, int k)
{
	int top = (1 << q->bits) - 1, mi = k / ADCNN_QMODEL_NSIG, si = k % ADCNN_QMODEL_NSIG;
	double *u = q->dist[q->bits] + (size_t)k * ((size_t)2 << q->bits);

	if (!q->dist_ready[q->bits][k]) {
		double mu = (double)top * (2 * mi - (ADCNN_QMODEL_NMU - 1)) / (ADCNN_QMODEL_NMU - 1);
		double sig = (double)top * (si & 1 ? 1.4142135623730951 : 1.0) * ldexp(1.0, si / 2 - 7);
		for (int d = -top; d < top; d += 4) {
			double z[4];
			for (int l = 0; l < 4; l++)
				z[l] = (d + l + 0.5 - mu) / sig;
			normal_cdf4(z, u + d + top);
		}
		q->dist_ready[q->bits][k] = 1;
	}
	return u;
}

void adcnn_qmodel_make(struct adcnn_qmodels *q, int k)
{
	typedef double qd8 __attribute__((vector_size(64)));
	struct adcnn_qmodel *m = &q->m[k];
	int top = (1 << q->bits) - 1, best = 0;
	/* the distribution function at each code's upper edge, c + 1/2 (1 at the top code's) */
	const double *up = dist_of(q, k) + top - q->zp;
	/* zeroed by vector stores (as an initializer, a rep stos that took a tenth of the
	 * function at 4 bits) */
	union { double d[ADCNN_RANS_MAX_SYMS]; qd8 v[ADCNN_RANS_MAX_SYMS / 8]; } p;
	uint32_t total = 0;

	for (int i = 0; i < ADCNN_RANS_MAX_SYMS / 8; i++)
		p.v[i] = (qd8){0.0};
	/* a symbol's probability, the mass of its runs of codes in their order, each the
	 * distribution function's difference across it (two runs a symbol at most, where there
	 * was an addition a code: 256 at 8 bits). The sums differ in their last bits from the
	 * codes' one by one; the tables (test_pack's hash of every one) not at all. */
	for (int r = 0; r < q->nrun; r++) {
		int c0 = q->run_lo[r], c1 = q->run_hi[r];
		double hi = c1 < top ? up[c1] : 1.0, lo = c0 > 0 ? up[c0 - 1] : 0.0;
		p.d[q->run_sym[r]] += hi - lo;
	}
	/* every symbol can be coded: at least 1 of PROB; the rest to the most likely */
	for (int s = 0; s < q->nsym; s++) {
		uint32_t f = (uint32_t)(p.d[s] * PROB + 0.5);
		m->freq[s] = (uint16_t)(f ? f : 1);
		total += m->freq[s];
		if (m->freq[s] > m->freq[best])
			best = s;
	}
	m->freq[best] = (uint16_t)(m->freq[best] + PROB - total);
	for (int s = 0, acc = 0; s < ADCNN_RANS_MAX_SYMS; s++) {
		q->cost[k][s] = s < q->nsym ? q->cost_of[m->freq[s]] : 0.0f;
		m->start[s] = (uint16_t)acc;
		acc += s < q->nsym ? m->freq[s] : 0;
	}
	m->start[q->nsym] = PROB;
	for (int s = 0; s < ADCNN_RANS_MAX_SYMS; s++)
		m->fs[s] = s < q->nsym ? (uint32_t)m->freq[s] << 16 | m->start[s] : 0;
	m->dec_ready = false;
	q->ready[k] = 1;
}

static pthread_key_t key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static _Thread_local struct adcnn_qmodels *mine;

static void qmodels_free(void *v)
{
	struct adcnn_qmodels *q = v;

	for (int b = 0; b <= 8; b++)
		free(q->dist[b]);
	free(q);
}

static void key_make(void)
{
	pthread_key_create(&key, qmodels_free);
}

struct adcnn_qmodels *adcnn_qmodels(int bits, int zp, const uint8_t *sym, int nsym, const float *cost_of)
{
	struct adcnn_qmodels *q = mine;

	if (q == NULL) {
		pthread_once(&key_once, key_make);
		q = malloc(sizeof(*q));
		if (q == NULL)
			return NULL;
		q->bits = -1;
		memset(q->dist, 0, sizeof(q->dist));
		pthread_setspecific(key, q);
		mine = q;
	}
	/* a width's distribution functions, kept across zero points (2 MiB at 8 bits, its
	 * pages touched only by the models made) */
	if (q->dist[bits] == NULL) {
		q->dist[bits] = malloc(ADCNN_QMODELS * ((size_t)2 << bits) * sizeof(double));
		if (q->dist[bits] == NULL)
			return NULL;
		memset(q->dist_ready[bits], 0, sizeof(q->dist_ready[bits]));
	}
	if (q->bits != bits || q->zp != zp) {
		uint32_t sum[ADCNN_RANS_MAX_SYMS] = {0}, cnt[ADCNN_RANS_MAX_SYMS] = {0};
		memset(q->ready, 0, sizeof(q->ready));
		q->bits = bits;
		q->zp = zp;
		q->nsym = nsym;
		q->cost_of = cost_of;
		memcpy(q->sym, sym, (size_t)1 << bits);
		/* the runs, and each symbol's sum and count of codes from them (a code at a time,
		 * each addition waited on the last one's store along a run: a tenth of unpacking a
		 * small signed tile, whose zero point is its own) */
		int r = -1;
		for (int c = 0; c < 1 << bits; c++) {
			if (c == 0 || sym[c] != sym[c - 1]) {
				q->run_lo[++r] = (uint8_t)c;
				q->run_sym[r] = sym[c];
			}
			q->run_hi[r] = (uint8_t)c;
		}
		q->nrun = r + 1;
		for (int r = 0; r < q->nrun; r++) {
			uint32_t c0 = q->run_lo[r], c1 = q->run_hi[r];
			sum[q->run_sym[r]] += (c0 + c1) * (c1 - c0 + 1) / 2;
			cnt[q->run_sym[r]] += c1 - c0 + 1;
		}
		for (int y = 0; y < ADCNN_RANS_MAX_SYMS; y++) {
			q->rep[y] = cnt[y] ? (double)sum[y] / cnt[y] : 0.0;
			q->rep2[y] = q->rep[y] * q->rep[y];
		}
	}
	return q;
}

typedef float qf8 __attribute__((vector_size(32)));
typedef float qf4 __attribute__((vector_size(16)));
typedef int qi8 __attribute__((vector_size(32)));
/* lanes k to k + 3 of a, k 0 or 4 */
#if defined(__clang__)
#define QSHUF4(a, k) ((k) ? __builtin_shufflevector(a, a, 4, 5, 6, 7) : __builtin_shufflevector(a, a, 0, 1, 2, 3))
#else
#define QSHUF4(a, k) ((k) ? (qf4){a[4], a[5], a[6], a[7]} : (qf4){a[0], a[1], a[2], a[3]})
#endif

/* the bits that h (a histogram of symbols, 0 past the alphabet) costs under model k */
static inline __attribute__((always_inline)) float model_cost(struct adcnn_qmodels *q,
                                                              const float *h, int k, int nsym)
{
	const float *cost = (adcnn_qmodel(q, k), q->cost[k]);
	qf8 c = {0.0f};

	/* eight sums, as eight lanes of a vector, to the alphabet's last eight (past it, h and
	 * the costs are 0) */
	for (int s = 0; s < nsym; s += 8) {
		qf8 hv, cv;
		memcpy(&hv, h + s, sizeof(hv));
		memcpy(&cv, cost + s, sizeof(cv));
		c += hv * cv;
	}
	/* ((c0 + c1) + (c2 + c3)) + ((c4 + c5) + (c6 + c7)), by lanes of the vector (a lane
	 * at a time took 13 instructions) */
	c += ADCNN_SHUFFLE(qi8, c, c, 1, 0, 3, 2, 5, 4, 7, 6);
	c += ADCNN_SHUFFLE(qi8, c, c, 2, 3, 0, 1, 6, 7, 4, 5);
	return c[0] + c[4];
}

/* The channel's model: from the mean and spread of its codes, downhill on the grid of means
 * and spreads, one axis at a time. */
static inline __attribute__((always_inline)) int model_fit(struct adcnn_qmodels *q, const uint32_t *h,
                                                           float *cost, int nsym)
{
	double n = 0.0, m1 = 0.0, m2 = 0.0, top = (double)((1 << q->bits) - 1);
	int i, j = 0;
	float c, hf[ADCNN_RANS_MAX_SYMS];

	/* the counts as floats, 0 past nsym (h's entries there are not the channel's), then
	 * their sums in doubles, four lanes of a vector: exact for a channel below 2^24 codes
	 * (its counts are exact as floats, the sums' terms multiples of 1/4096 below 2^40), so
	 * the same in any order and on any host; a chain of dependent additions a symbol, or
	 * 64-bit integer products, took a third of the search at 8 bits */
	{
		qd4 vn = {0.0}, v1 = {0.0}, v2 = {0.0};
		for (int s = 0; s < nsym; s += 8) {
			qi8 hv, live = (qi8){0, 1, 2, 3, 4, 5, 6, 7} + s < nsym;
			qf8 f;
			memcpy(&hv, h + s, sizeof(hv));
			f = (qf8)((qi8)__builtin_convertvector(hv, qf8) & live);
			memcpy(hf + s, &f, sizeof(f));
			for (int k = 0; k < 8; k += 4) {
				qd4 d = __builtin_convertvector(QSHUF4(f, k), qd4), r, r2;
				memcpy(&r, q->rep + s + k, sizeof(r));
				memcpy(&r2, q->rep2 + s + k, sizeof(r2));
				vn += d;
				v1 += d * r;
				v2 += d * r2;
			}
		}
		n = (vn[0] + vn[1]) + (vn[2] + vn[3]);
		m1 = (v1[0] + v1[1]) + (v1[2] + v1[3]);
		m2 = (v2[0] + v2[1]) + (v2[2] + v2[3]);
	}
	m1 /= n;
	i = (int)((m1 - q->zp + top) * (ADCNN_QMODEL_NMU - 1) / (2.0 * top) + 0.5);
	i = i < 0 ? 0 : i > ADCNN_QMODEL_NMU - 1 ? ADCNN_QMODEL_NMU - 1 : i;
	/* model j's variance is top^2 2^(j - 14): the first j whose top^2 2^j reaches var * 2^14,
	 * from the two numbers' exponents and mantissas (exact: the loop of doublings it
	 * replaced made the same j, and mispredicted where it ended) */
	{
		double var = (m2 / n - m1 * m1) * 16384.0, t2 = top * top;
		if (var > t2) {
			/* both normal and positive: the exponent above the 52 bits of the mantissa */
			uint64_t bv, bt, mant = ((uint64_t)1 << 52) - 1;
			memcpy(&bv, &var, sizeof(bv));
			memcpy(&bt, &t2, sizeof(bt));
			j = (int)(bv >> 52) - (int)(bt >> 52) + ((bt & mant) < (bv & mant));
			j = j > ADCNN_QMODEL_NSIG - 1 ? ADCNN_QMODEL_NSIG - 1 : j;
		}
	}
	/* where the zero point holds 30% of the codes or more (a ReLU's zeros, the distribution's
	 * clamped lower tail), the distribution before the clamp has a lower mean and a wider
	 * spread than the codes: start a step down and a step wider, where the search ended
	 * most often (29% fewer models tried on the fashion split tensors, the same sizes
	 * within 2 bytes on every benchmark tensor) */
	if (h[0] > 0.3 * n) {
		i = i > 0 ? i - 1 : 0;
		j = j < ADCNN_QMODEL_NSIG - 1 ? j + 1 : j;
	}
	c = model_cost(q, hf, i * ADCNN_QMODEL_NSIG + j, nsym);
	/* along the means, then along the spreads, until neither moves. A pass ends where both
	 * neighbours along its axis cost no less, so after the first pass one that does not
	 * move ends the search (the other axis's next pass could not move either); a pass that
	 * moves goes on one way only, the neighbour behind it being where it came from. A pass
	 * costs both neighbours at once, the one down the axis first in the choice: the same
	 * moves as one after the other, without a branch between them (a neighbour off the
	 * grid costs its nearest model's bits, and counts as no better). */
	for (int axis = 0, pass = 0;; axis ^= 1, pass++) {
		int dir = 0, n0 = axis ? j : i, last = axis ? ADCNN_QMODEL_NSIG - 1 : ADCNN_QMODEL_NMU - 1;
		int stride = axis ? 1 : ADCNN_QMODEL_NSIG, k = i * ADCNN_QMODEL_NSIG + j;
		float cd = model_cost(q, hf, n0 > 0 ? k - stride : k, nsym);
		float cu = model_cost(q, hf, n0 < last ? k + stride : k, nsym);
		if (n0 > 0 && cd < c) {
			dir = -1;
			c = cd;
		} else if (n0 < last && cu < c) {
			dir = 1;
			c = cu;
		}
		if (dir == 0) {
			if (pass > 0)
				break;
			continue;
		}
		/* then on that way while it gains */
		for (n0 += dir;; n0 += dir) {
			float cc;
			if (n0 + dir < 0 || n0 + dir > last)
				break;
			cc = model_cost(q, hf, axis ? i * ADCNN_QMODEL_NSIG + n0 + dir : (n0 + dir) * ADCNN_QMODEL_NSIG + j, nsym);
			if (cc >= c)
				break;
			c = cc;
		}
		if (axis)
			j = n0;
		else
			i = n0;
	}
	*cost = c;
	return i * ADCNN_QMODEL_NSIG + j;
}

/* compiled for each vector unit: a model's cost is a sum of eight lanes */
static inline __attribute__((always_inline)) double fit_range(struct adcnn_qmodels *q, const uint32_t *seghist,
                                                             size_t s0, size_t s1, double sum,
                                                             double limit, uint16_t *model, int nsym)
{
	for (size_t s = s0; s < s1 && sum < limit; s++) {
		float c;
		model[s] = (uint16_t)model_fit(q, seghist + s * ADCNN_RANS_MAX_SYMS, &c, nsym);
		sum += c;
	}
	return sum;
}

ADCNN_VECTORIZE
double adcnn_qmodels_fit(struct adcnn_qmodels *q, const uint32_t *seghist, size_t s0, size_t s1,
                         double sum, double limit, uint16_t *model)
{
	/* the alphabets of 4 bits (the default), 8 and 2 unrolled, a histogram kept in
	 * registers (each 2 to 5% faster to pack a small tensor than the loop over nsym) */
	if (q->nsym == 16)
		return fit_range(q, seghist, s0, s1, sum, limit, model, 16);
	if (q->nsym == 24)
		return fit_range(q, seghist, s0, s1, sum, limit, model, 24);
	if (q->nsym == 4)
		return fit_range(q, seghist, s0, s1, sum, limit, model, 4);
	return fit_range(q, seghist, s0, s1, sum, limit, model, q->nsym);
}

/* the channels fitted between two looks at the bound */
#define BOUND_STEP 8

/* A bound from below of the bits of channels [s0, s1) under any model: their codes'
 * entropy at their frequencies rounded up, by lb[count] */
static double models_bound(const float *lb, const uint32_t *seghist, size_t s0, size_t s1, int nsym)
{
	float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f;

	for (size_t s = s0; s < s1; s++) {
		const uint32_t *h = seghist + s * ADCNN_RANS_MAX_SYMS;
		for (int y = 0; y < nsym; y += 4) {
			a0 += lb[h[y]];
			a1 += lb[h[y + 1]];
			a2 += lb[h[y + 2]];
			a3 += lb[h[y + 3]];
		}
	}
	/* a hair lower for the costs' own rounding and the float sums */
	return 0.999 * (((double)a0 + a1) + ((double)a2 + a3));
}

/* the bound by a table of what each count adds (every channel has seg codes), and looked at
 * every BOUND_STEP channels */
double adcnn_qmodels_bounded(struct adcnn_qmodels *q, const uint32_t *seghist, size_t s0,
                             size_t nseg, size_t seg, double sum, double limit, uint16_t *model)
{
	double rest;
	float *lb = malloc((seg + 1) * sizeof(*lb));
	int nsym = q->nsym;

	if (lb == NULL)
		return adcnn_qmodels_fit(q, seghist, s0, nseg, sum, limit, model);
	for (size_t k = 0; k <= seg; k++) {
		size_t fq = k * PROB / seg + 1;
		lb[k] = (float)k * q->cost_of[fq < PROB ? fq : PROB];
	}
	rest = models_bound(lb, seghist, s0, nseg, nsym);
	for (size_t s = s0; s < nseg && sum + rest < limit; s += BOUND_STEP) {
		size_t e = s + BOUND_STEP < nseg ? s + BOUND_STEP : nseg;
		rest -= models_bound(lb, seghist, s, e, nsym);
		sum = adcnn_qmodels_fit(q, seghist, s, e, sum, limit - rest, model);
	}
	free(lb);
	return sum + rest < limit ? sum : sum + rest;
}

