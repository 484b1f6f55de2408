/* qmodel.c: the parametric tables of the rANS coder (rans.c). A channel's codes are taken
 * for a Gaussian of the value before quantization, rounded and clamped to the code range:
 * the zeros of a ReLU are its mass below zero. 32 means by 16 spreads, so that a channel
 * costs a 9-bit index instead of a table of its own. The frequencies come from plain IEEE
 * arithmetic (an exp and a normal distribution of our own, no libm), so that every host
 * makes the same tables from the same index. */
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

/* e^x for x <= 0: x = k ln 2 + r, |r| <= ln 2 / 2, and e^r by its series to r^13 */
static double exp_neg(double x)
{
	double t, r, p = 0.0;
	long k;

	if (x < -700.0)
		return 0.0;
	t = x * 1.4426950408889634 + 0.5;
	k = (long)t;
	if ((double)k > t)
		k--;
	r = x - (double)k * 0.6931471805599453;
	for (int i = 13; i >= 0; i--)
		p = p * r + inv_fact[i];
	return ldexp(p, (int)k);
}

/* the standard normal distribution function, by Abramowitz and Stegun 7.1.26 for erfc
 * (absolute error below 1.5e-7, far under a frequency's 1/4096) */
static double normal_cdf(double z)
{
	double x = (z < 0.0 ? -z : z) * 0.7071067811865476, t = 1.0 / (1.0 + 0.3275911 * x), e;

	e = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
	e *= exp_neg(-x * x);
	return z < 0.0 ? 0.5 * e : 1.0 - 0.5 * e;
}

void adcnn_qmodel_make(struct adcnn_qmodels *q, int k)
{
	struct adcnn_qmodel *m = &q->m[k];
	int top = (1 << q->bits) - 1, mi = k / ADCNN_QMODEL_NSIG, si = k % ADCNN_QMODEL_NSIG, best = 0;
	/* mean from zp - top to zp + top; spread top * 2^(si / 2 - 7) */
	double mu = q->zp + (double)top * (2 * mi - (ADCNN_QMODEL_NMU - 1)) / (ADCNN_QMODEL_NMU - 1);
	double sig = (double)top * (si & 1 ? 1.4142135623730951 : 1.0) * ldexp(1.0, si / 2 - 7);
	double p[ADCNN_RANS_MAX_SYMS] = {0}, below = 0.0;
	uint32_t total = 0;

	for (int c = 0; c <= top; c++) {
		double up = c == top ? 1.0 : normal_cdf((c + 0.5 - mu) / sig);
		p[q->sym[c]] += up - below;
		below = up;
	}
	/* every symbol can be coded: at least 1 of PROB; the rest to the most likely */
	for (int s = 0; s < q->nsym; s++) {
		uint32_t f = (uint32_t)(p[s] * PROB + 0.5);
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

static void key_make(void)
{
	pthread_key_create(&key, free);
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
		pthread_setspecific(key, q);
		mine = q;
	}
	if (q->bits != bits || q->zp != zp) {
		memset(q->ready, 0, sizeof(q->ready));
		q->bits = bits;
		q->zp = zp;
		q->nsym = nsym;
		q->cost_of = cost_of;
		memcpy(q->sym, sym, (size_t)1 << bits);
	}
	return q;
}
