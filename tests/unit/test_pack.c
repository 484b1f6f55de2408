/* test_pack.c: quantized tensor members (quant.c through pack.c): round trips at every bit
 * width and clip, both coders, and refusal of corrupt members. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include "config.h"
#include "internal.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

static struct adcnn_ctx *ctx;

static struct adcnn_tensor *activations(bool relu, unsigned seed)
{
	struct adcnn_tensor *t = adcnn_tensor_new(4, (int64_t[]){1, 8, 13, 11});
	srand(seed);
	for (size_t i = 0; i < t->n; i++) {
		float v = (float)rand() / (float)RAND_MAX * 6.0f - 3.0f;
		t->d.f[i] = relu && v < 0.0f ? 0.0f : v;
	}
	t->d.f[5] = relu ? 9.0f : -7.5f; /* an outlier for the clip to cut */
	return t;
}

static struct adcnn_tensor *roundtrip(const struct adcnn_tensor *t, const struct adcnn_pack_opts *o,
                                      size_t *len)
{
	uint8_t *buf;
	struct adcnn_tensor *d = NULL;
	enum adcnn_enc enc;

	assert_int_equal(adcnn_tensor_encode_quant(ctx, t, o, &buf, len), ADCNN_OK);
	assert_int_equal(adcnn_tensor_decode(ctx, buf, *len, &d, &enc), ADCNN_OK);
	assert_int_equal(enc, ADCNN_ENC_QUANT);
	assert_true(adcnn_tensor_same_shape(d, t));
	free(buf);
	return d;
}

/* clip none: every value within half a step; zeros stay zeros */
static void test_every_bit_width(void **state)
{
	(void)state;
	for (int relu = 0; relu < 2; relu++) {
		struct adcnn_tensor *t = activations(relu, 7);
		float mn = 0, mx = 0;
		for (size_t i = 0; i < t->n; i++) {
			mn = fminf(mn, t->d.f[i]);
			mx = fmaxf(mx, t->d.f[i]);
		}
		for (int bits = 1; bits <= 8; bits++)
			for (int coder = ADCNN_CODER_BYTES; coder <= ADCNN_CODER_RANS; coder++) {
				if (coder == 3)
					continue;
				struct adcnn_pack_opts o;
				size_t len;
				float step = (mx - mn) / (float)((1 << bits) - 1);
				adcnn_pack_opts_init(&o);
				o.bits = bits;
				o.clip = ADCNN_CLIP_NONE;
				o.coder = (enum adcnn_coder)coder;
				struct adcnn_tensor *d = roundtrip(t, &o, &len);
				for (size_t i = 0; i < t->n; i++) {
					/* the zero point is rounded to a code: up to one step for signed data */
					float tol = relu ? step * 0.5001f : step * 1.0001f;
					if (fabsf(d->d.f[i] - t->d.f[i]) > tol)
						fail_msg("%d bits, %s, coder %d: value %zu is %g, was %g (step %g)", bits,
						         relu ? "relu" : "signed", coder, i, d->d.f[i], t->d.f[i], step);
					if (t->d.f[i] == 0.0f && d->d.f[i] != 0.0f)
						fail_msg("%d bits: a zero came back as %g", bits, d->d.f[i]);
				}
				if (relu)
					for (size_t i = 0; i < t->n; i++)
						assert_true(d->d.f[i] >= 0.0f);
				adcnn_tensor_free(d);
			}
		adcnn_tensor_free(t);
	}
}

/* the coders decode to the same values; the same input gives the same bytes */
static void test_coders_agree_and_determinism(void **state)
{
	struct adcnn_tensor *t = activations(true, 3), *a, *b;
	struct adcnn_pack_opts o;
	uint8_t *x, *y;
	size_t lx, ly, len;

	(void)state;
	adcnn_pack_opts_init(&o);
	o.coder = ADCNN_CODER_BYTES;
	a = roundtrip(t, &o, &len);
	o.coder = ADCNN_CODER_PLANES;
	b = roundtrip(t, &o, &len);
	assert_memory_equal(a->d.f, b->d.f, 4 * t->n);
	adcnn_tensor_free(a);
	o.coder = ADCNN_CODER_RANS;
	a = roundtrip(t, &o, &len);
	assert_memory_equal(a->d.f, b->d.f, 4 * t->n);
	for (int coder = ADCNN_CODER_PLANES; coder <= ADCNN_CODER_RANS; coder += ADCNN_CODER_RANS - ADCNN_CODER_PLANES) {
		o.coder = (enum adcnn_coder)coder;
		assert_int_equal(adcnn_tensor_encode_quant(ctx, t, &o, &x, &lx), ADCNN_OK);
		assert_int_equal(adcnn_tensor_encode_quant(ctx, t, &o, &y, &ly), ADCNN_OK);
		assert_int_equal(lx, ly);
		assert_memory_equal(x, y, lx);
		free(x);
		free(y);
	}
	adcnn_tensor_free(a);
	adcnn_tensor_free(b);
	adcnn_tensor_free(t);
}

/* a clip value caps what comes back; auto cuts the outlier at 4 bits, none keeps it */
static void test_clip(void **state)
{
	struct adcnn_tensor *t = activations(true, 5), *d;
	struct adcnn_pack_opts o;
	size_t len;
	float mx = 0;

	(void)state;
	adcnn_pack_opts_init(&o);
	o.clip = ADCNN_CLIP_VALUE;
	o.clip_value = 2.0;
	d = roundtrip(t, &o, &len);
	for (size_t i = 0; i < t->n; i++)
		assert_true(d->d.f[i] <= 2.0f + 1e-6f);
	adcnn_tensor_free(d);
	o.clip = ADCNN_CLIP_AUTO;
	d = roundtrip(t, &o, &len);
	for (size_t i = 0; i < t->n; i++)
		mx = fmaxf(mx, d->d.f[i]);
	assert_true(mx < 9.0f);
	adcnn_tensor_free(d);
	o.clip = ADCNN_CLIP_NONE;
	d = roundtrip(t, &o, &len);
	assert_float_equal(d->d.f[5], 9.0f, 1e-5);
	adcnn_tensor_free(d);
	o.clip = ADCNN_CLIP_PERCENTILE;
	o.clip_value = 50.0;
	d = roundtrip(t, &o, &len);
	for (size_t i = 0; i < t->n; i++)
		assert_true(d->d.f[i] < 3.0f);
	adcnn_tensor_free(d);
	adcnn_tensor_free(t);
}

/* the clip a member's header records (after the tensor header: bits, coder, zero point,
 * reserved, scale, clip) */
static float header_clip(const uint8_t *buf, int rank)
{
	uint32_t u = adcnn_le32dec(buf + 8 + 4 * (size_t)rank + 8);
	float c;
	memcpy(&c, &u, 4);
	return c;
}

/* a percentile clip lands in the histogram bin of that percentile, on a small tensor (every
 * value counted) and on a large one (a sample of every stride-th value); negative values
 * count by their magnitude */
static void test_percentile(void **state)
{
	static const size_t sizes[] = {1000, 300001};
	static const double pct[] = {50.0, 90.0, 99.0};

	(void)state;
	for (size_t s = 0; s < 2; s++) {
		size_t n = sizes[s];
		struct adcnn_tensor *t = adcnn_tensor_new(1, (int64_t[]){(int64_t)n});
		/* |x| spread evenly over [0, 10], signs alternating in pairs */
		for (size_t i = 0; i < n; i++)
			t->d.f[(i * 7919) % n] = (float)(10.0 * (double)i / (double)(n - 1)) * ((i & 2) ? -1.0f : 1.0f);
		for (size_t k = 0; k < 3; k++) {
			struct adcnn_pack_opts o;
			uint8_t *buf;
			size_t len;
			float c, bin = n < 16384 ? 10.0f / 64.0f : 10.0f / 1024.0f;
			adcnn_pack_opts_init(&o);
			o.clip = ADCNN_CLIP_PERCENTILE;
			o.clip_value = pct[k];
			assert_int_equal(adcnn_tensor_encode_quant(ctx, t, &o, &buf, &len), ADCNN_OK);
			c = header_clip(buf, 1);
			assert_true(c >= (float)(pct[k] / 10.0) - 0.02f);
			assert_true(c <= (float)(pct[k] / 10.0) + bin + 0.02f);
			free(buf);
		}
		adcnn_tensor_free(t);
	}
}

static double rms_error(const struct adcnn_tensor *a, const struct adcnn_tensor *b)
{
	double e = 0.0;
	for (size_t i = 0; i < a->n; i++)
		e += ((double)a->d.f[i] - b->d.f[i]) * ((double)a->d.f[i] - b->d.f[i]);
	return sqrt(e / (double)a->n);
}

/* auto's clip has an RMS error within 3% of the best of its candidates (amax * k/16), on
 * ReLU-like tensors where most values are exact zeros and the rest have a long tail */
static void test_auto_clip_error(void **state)
{
	static const double zero_share[] = {0.2, 0.6, 0.8};

	(void)state;
	for (int z = 0; z < 3; z++)
		for (int bits = 2; bits <= 4; bits += 2) {
			struct adcnn_tensor *t = adcnn_tensor_new(4, (int64_t[]){1, 16, 16, 16}), *d;
			struct adcnn_pack_opts o;
			double best = INFINITY, got;
			float amax = 0.0f;
			size_t len;
			uint32_t r = 12345u + (uint32_t)z;
			for (size_t i = 0; i < t->n; i++) {
				double u;
				r = r * 1664525u + 1013904223u;
				u = ((double)(r >> 8) + 0.5) / 16777216.0;
				/* the upper part of [0, 1) is an exponential tail, the lower part zeros */
				t->d.f[i] = u < zero_share[z] ? 0.0f : (float)-log((1.0 - u) / (1.0 - zero_share[z]));
				amax = fmaxf(amax, t->d.f[i]);
			}
			adcnn_pack_opts_init(&o);
			o.bits = bits;
			o.clip = ADCNN_CLIP_VALUE;
			for (int k = 2; k <= 16; k++) {
				o.clip_value = (double)amax * k / 16.0;
				d = roundtrip(t, &o, &len);
				best = fmin(best, rms_error(t, d));
				adcnn_tensor_free(d);
			}
			o.clip = ADCNN_CLIP_AUTO;
			d = roundtrip(t, &o, &len);
			got = rms_error(t, d);
			print_message("zeros %.0f%%, %d bits: auto %.5f, best %.5f\n", 100 * zero_share[z], bits, got, best);
			assert_true(got <= 1.03 * best);
			adcnn_tensor_free(d);
			adcnn_tensor_free(t);
		}
}

/* all zeros, all one value, NaN and infinities: no crash, finite output */
static void test_degenerate(void **state)
{
	struct adcnn_tensor *t = adcnn_tensor_new(2, (int64_t[]){3, 100}), *d;
	struct adcnn_pack_opts o;
	size_t len;

	(void)state;
	adcnn_pack_opts_init(&o);
	d = roundtrip(t, &o, &len);
	for (size_t i = 0; i < t->n; i++)
		assert_true(d->d.f[i] == 0.0f);
	adcnn_tensor_free(d);
	for (size_t i = 0; i < t->n; i++)
		t->d.f[i] = 2.5f;
	d = roundtrip(t, &o, &len);
	for (size_t i = 0; i < t->n; i++)
		assert_float_equal(d->d.f[i], 2.5f, 1e-6);
	adcnn_tensor_free(d);
	t->d.f[0] = NAN;
	t->d.f[1] = INFINITY;
	t->d.f[2] = -INFINITY;
	d = roundtrip(t, &o, &len);
	for (size_t i = 0; i < t->n; i++)
		assert_false(isnan(d->d.f[i]));
	adcnn_tensor_free(d);
	adcnn_tensor_free(t);
}

static void expect_refused(const uint8_t *buf, size_t len)
{
	struct adcnn_tensor *d = NULL;
	enum adcnn_status st = adcnn_tensor_decode(ctx, buf, len, &d, NULL);
	if (st != ADCNN_ERR_FORMAT && st != ADCNN_ERR_UNSUPPORTED)
		fail_msg("status %d for a corrupt member (%s)", st, adcnn_ctx_error(ctx));
	assert_null(d);
}

/* every header field and length is checked; the zstd frame of the planes (rANS payloads:
 * rans_corrupt) */
static void test_corrupt(void **state)
{
	struct adcnn_tensor *t = activations(true, 11);
	struct adcnn_pack_opts o;
	uint8_t *buf, *c;
	size_t len, q = 8 + 4 * 4; /* the quantization header follows the dims */

	(void)state;
	adcnn_pack_opts_init(&o);
	o.coder = ADCNN_CODER_PLANES;
	assert_int_equal(adcnn_tensor_encode_quant(ctx, t, &o, &buf, &len), ADCNN_OK);
	c = malloc(len);
	for (size_t cut = 0; cut < len; cut += (cut < q + 20 ? 1 : 97))
		expect_refused(buf, cut);
	memcpy(c, buf, len); c[q] = 0; expect_refused(c, len);          /* 0 bits */
	memcpy(c, buf, len); c[q] = 9; expect_refused(c, len);          /* 9 bits */
	memcpy(c, buf, len); c[q + 1] = 7; expect_refused(c, len);      /* coder */
	memcpy(c, buf, len); c[q + 2] = 16; expect_refused(c, len);     /* zero point of 4 bits */
	memcpy(c, buf, len); c[q + 12]++; expect_refused(c, len);       /* data size */
	memcpy(c, buf, len); c[q + 16 + 5] ^= 0xff; expect_refused(c, len); /* the frame header */
	memcpy(c, buf, len); c[len - 3] ^= 0x55;                       /* inside the frame */
	{
		struct adcnn_tensor *d = NULL;
		enum adcnn_status st = adcnn_tensor_decode(ctx, c, len, &d, NULL);
		/* zstd may or may not notice a changed literal; it must not crash */
		if (st == ADCNN_OK)
			adcnn_tensor_free(d);
	}
	/* dims claiming 2^31 values over a small payload */
	memcpy(c, buf, len);
	adcnn_le32enc(c + 8, 1);
	adcnn_le32enc(c + 12, 1);
	adcnn_le32enc(c + 16, 1 << 15);
	adcnn_le32enc(c + 20, 1 << 16);
	expect_refused(c, len);
	free(c);
	free(buf);
	adcnn_tensor_free(t);
}

/* a tensor whose channels differ in scale, so that rANS has groups to make */
static struct adcnn_tensor *channels(int rank, const int64_t *dims, bool relu, unsigned seed)
{
	struct adcnn_tensor *t = adcnn_tensor_new(rank, dims);
	size_t plane = t->n;
	uint32_t r = seed;

	if (rank >= 3)
		plane = dims[0] * dims[1] > 0 ? t->n / (size_t)(dims[0] * dims[1]) : 0;
	for (size_t i = 0; i < t->n; i++) {
		size_t ch = plane ? i / plane : 0;
		float v;
		r = r * 1664525u + 1013904223u;
		v = ((float)(r >> 8) / 16777216.0f * 2.0f - (relu ? 1.2f : 1.0f)) * (float)(1 + (ch * 7) % 11);
		t->d.f[i] = relu && v < 0.0f ? 0.0f : v;
	}
	return t;
}

/* the rANS coder on every shape: planes of odd sizes, too few channels for groups, no
 * planes (rank 2, tiny planes), a batch, many channels, nothing at all; it gives the
 * planes' values; channels that differ get groups where there are enough of them, or a
 * model each (group count 0), and both happen; an all-zero tensor, too small in rANS for a
 * reader to accept, goes to planes */
static void test_rans_shapes(void **state)
{
	static const struct {
		int rank;
		int64_t dims[4];
		int min_groups;
	} shapes[] = {
		{4, {1, 7, 5, 5}, 1}, {4, {1, 3, 9, 7}, 1}, {2, {3, 40}, 1}, {4, {1, 3, 2, 2}, 1},
		{4, {2, 16, 9, 9}, 2}, {4, {1, 512, 7, 7}, 4}, {4, {1, 0, 4, 4}, 1}, {3, {5, 17, 3}, 1},
	};
	int models = 0, tables = 0;

	(void)state;
	for (size_t k = 0; k < sizeof(shapes) / sizeof(shapes[0]); k++)
		for (int relu = 0; relu < 2; relu++)
			for (int bits = 2; bits <= 8; bits += 3) {
				struct adcnn_tensor *t = channels(shapes[k].rank, shapes[k].dims, relu, (unsigned)k + 1), *a, *b;
				struct adcnn_pack_opts o;
				uint8_t *buf;
				size_t len, q = 8 + 4 * (size_t)shapes[k].rank;
				adcnn_pack_opts_init(&o);
				o.bits = bits;
				o.coder = ADCNN_CODER_PLANES;
				a = roundtrip(t, &o, &len);
				o.coder = ADCNN_CODER_RANS;
				b = roundtrip(t, &o, &len);
				assert_memory_equal(a->d.f, b->d.f, 4 * t->n);
				assert_int_equal(adcnn_tensor_encode_quant(ctx, t, &o, &buf, &len), ADCNN_OK);
				assert_int_equal(buf[q + 1], ADCNN_CODER_RANS);
				/* the group count: channels that differ get groups of their own */
				if (buf[q + 16] != 0 && buf[q + 16] < shapes[k].min_groups)
					fail_msg("shape %zu, %d bits: %d groups", k, bits, buf[q + 16]);
				models += buf[q + 16] == 0;
				tables += buf[q + 16] != 0;
				free(buf);
				adcnn_tensor_free(a);
				adcnn_tensor_free(b);
				adcnn_tensor_free(t);
			}
	{
		struct adcnn_tensor *z = adcnn_tensor_new(4, (int64_t[]){1, 64, 160, 160}), *d;
		struct adcnn_pack_opts o;
		uint8_t *buf;
		size_t len;
		adcnn_pack_opts_init(&o);
		o.coder = ADCNN_CODER_RANS;
		assert_int_equal(adcnn_tensor_encode_quant(ctx, z, &o, &buf, &len), ADCNN_OK);
		assert_int_equal(buf[24 + 1], ADCNN_CODER_PLANES);
		free(buf);
		d = roundtrip(z, &o, &len);
		assert_memory_equal(d->d.f, z->d.f, 4 * z->n);
		adcnn_tensor_free(d);
		adcnn_tensor_free(z);
	}
	assert_true(models > 0 && tables > 0);
}

/* 200 channels of eight scales, 25 of each, in an order that mixes them and in order of
 * scale: the groups are made from the channels ranked by their codes, so the two pack to
 * about the same size (a rank out of order mixes the scales in a group's table) */
static void test_rans_ranks(void **state)
{
	size_t len[2];

	(void)state;
	for (int sorted = 0; sorted < 2; sorted++) {
		struct adcnn_tensor *t = adcnn_tensor_new(4, (int64_t[]){1, 200, 16, 16});
		struct adcnn_pack_opts o;
		uint8_t *buf;
		uint32_t r = 5;
		for (size_t i = 0; i < t->n; i++) {
			int ch = (int)(i / 256), scale = sorted ? ch / 25 : ch * 37 % 200 % 8;
			float v;
			r = r * 1664525u + 1013904223u;
			v = ((float)(r >> 8) / 16777216.0f - 0.4f) * (float)(1 << scale);
			t->d.f[i] = v < 0.0f ? 0.0f : v;
		}
		adcnn_pack_opts_init(&o);
		o.coder = ADCNN_CODER_RANS;
		o.clip = ADCNN_CLIP_NONE;
		assert_int_equal(adcnn_tensor_encode_quant(ctx, t, &o, &buf, &len[sorted]), ADCNN_OK);
		assert_int_equal(buf[24 + 16], 8); /* eight groups */
		free(buf);
		adcnn_tensor_free(t);
	}
	print_message("rANS, 200 channels: %zu bytes mixed, %zu in order\n", len[0], len[1]);
	assert_true(len[0] * 100 < len[1] * 101 && len[1] * 100 < len[0] * 101);
}

/* A rANS member cut short or changed (its size field kept right): refused, or decoded to
 * finite values, never a crash; cut short, always refused */
static void rans_corrupt(struct adcnn_tensor *t, bool models)
{
	struct adcnn_pack_opts o;
	uint8_t *buf, *c;
	size_t len, q = 8 + 4 * 4, refused = 0, changed = 0;

	adcnn_pack_opts_init(&o);
	o.coder = ADCNN_CODER_RANS;
	o.bits = 6; /* codes past 15: the raw bits too */
	o.clip = ADCNN_CLIP_NONE;
	assert_int_equal(adcnn_tensor_encode_quant(ctx, t, &o, &buf, &len), ADCNN_OK);
	assert_int_equal(buf[q + 1], ADCNN_CODER_RANS);
	assert_int_equal(buf[q + 16] == 0, models);
	c = malloc(len);
	for (size_t cut = q + 16; cut < len; cut++) {
		memcpy(c, buf, cut);
		adcnn_le32enc(c + q + 12, (uint32_t)(cut - q - 16));
		expect_refused(c, cut);
	}
	memcpy(c, buf, len); c[q + 16] = 3; expect_refused(c, len);   /* group count */
	memcpy(c, buf, len); c[q + 16] = 16; expect_refused(c, len);
	for (size_t i = q + 16; i < len; i++)
		for (int bit = 0; bit < 8; bit += 3) {
			struct adcnn_tensor *d = NULL;
			memcpy(c, buf, len);
			c[i] ^= (uint8_t)(1 << bit);
			changed++;
			if (adcnn_tensor_decode(ctx, c, len, &d, NULL) != ADCNN_OK) {
				refused++;
				continue;
			}
			for (size_t k = 0; k < d->n; k++)
				assert_true(isfinite(d->d.f[k]));
			adcnn_tensor_free(d);
		}
	print_message("rANS, %s: %zu of %zu one-bit changes refused\n", models ? "models" : "tables", refused, changed);
	assert_true(refused * 2 > changed);
	free(c);
	free(buf);
	adcnn_tensor_free(t);
}

/* with the coder's pext paths (where the machine has them) and without */
static void test_rans_corrupt(void **state)
{
	(void)state;
	for (int f = 0; f < 2; f++) {
		adcnn_rans_pext(f == 0);
		rans_corrupt(channels(4, (int64_t[]){1, 16, 6, 6}, true, 9), true);
		rans_corrupt(channels(4, (int64_t[]){2, 16, 9, 9}, false, 5), false);
	}
	adcnn_rans_pext(true);
}

/* the coder's symbol of code c around zero point zp (adcnn-bundle(5)): the distance folded,
 * then one symbol a magnitude from 16 up */
static uint8_t folded(int c, int zp, int top)
{
	int d = c - zp, a = d < 0 ? -d : d, m = zp < top - zp ? zp : top - zp, e;
	unsigned v = (unsigned)(a <= m ? (d > 0 ? 2 * a - 1 : 2 * a) : m + a);

	if (v < 16)
		return (uint8_t)v;
	e = 31 - __builtin_clz(v);
	return (uint8_t)(16 + 2 * (e - 4) + (int)((v >> (e - 1)) & 1));
}

/* FNV-1a of every model's frequencies for each (bits, zero point) of sets: with the coder's
 * symbols (fold), else an arbitrary alphabet of 24 symbols past 4 bits */
static uint32_t qmodel_hash(const int (*sets)[2], size_t nsets, bool fold)
{
	static float cost[(1 << ADCNN_RANS_PROB_BITS) + 1];
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < nsets; i++) {
		uint8_t sym[256];
		int bits = sets[i][0], nsym = fold ? adcnn_rans_alphabet(bits) : bits <= 4 ? 1 << bits : 24;
		struct adcnn_qmodels *q;
		for (int c = 0; c < 1 << bits; c++)
			sym[c] = fold ? folded(c, sets[i][1], (1 << bits) - 1) : (uint8_t)(c < 16 ? c : 16 + (c >> 5));
		q = adcnn_qmodels(bits, sets[i][1], sym, nsym, cost);
		assert_non_null(q);
		for (int k = 0; k < ADCNN_QMODELS; k++) {
			const struct adcnn_qmodel *m = adcnn_qmodel(q, k);
			uint32_t sum = 0;
			for (int s = 0; s < nsym; s++) {
				assert_true(m->freq[s] >= 1);
				sum += m->freq[s];
				h = (h ^ m->freq[s]) * 16777619u;
			}
			assert_int_equal(sum, 1u << ADCNN_RANS_PROB_BITS);
		}
	}
	return h;
}

/* The models are part of the format: the same index must give the same table on every
 * host and in every version. A hash of every model's frequencies, for 2, 4 and 8 bits,
 * around 0 and mid-range. */
static void test_qmodel_tables(void **state)
{
	static const int sets[][2] = {{2, 0}, {4, 0}, {4, 7}, {8, 0}, {8, 128}};
	/* and every width, zero points at and near the ends and between (a signed tensor's zero
	 * point is where its range puts it); pinned before qmodel.c's distribution function took
	 * four points at a time */
	static const int more[][2] = {{1, 0}, {1, 1}, {2, 1}, {2, 3}, {3, 5}, {4, 13}, {4, 15}, {5, 17},
	                              {6, 40}, {7, 99}, {8, 1}, {8, 37}, {8, 138}, {8, 254}, {8, 255}};
	/* and every width and zero point with the coder's own symbols, pinned while the
	 * distribution function was made around each zero point (now by distance from it, once a
	 * width: the arguments differ in their last bits in 18% of the points, the tables in
	 * none) */
	static int all[2 + 4 + 8 + 16 + 32 + 64 + 128 + 256][2];
	size_t nall = 0;

	(void)state;
	assert_int_equal(qmodel_hash(sets, sizeof(sets) / sizeof(sets[0]), false), 0x2511c9f1u);
	assert_int_equal(qmodel_hash(more, sizeof(more) / sizeof(more[0]), false), 0x8a190d3fu);
	for (int bits = 1; bits <= 8; bits++)
		for (int zp = 0; zp < 1 << bits; zp++) {
			all[nall][0] = bits;
			all[nall++][1] = zp;
		}
	assert_int_equal(qmodel_hash(all, nall, true), 0xe968ae69u);
}

/* A member of coder 3 (the four-state rANS of earlier versions, whose bytes the eight-state
 * coder 4 reads differently) is refused as such, not taken for a corrupt one. */
static void test_old_rans_refused(void **state)
{
	struct adcnn_tensor *t = activations(true, 3), *d = NULL;
	struct adcnn_pack_opts o;
	uint8_t *buf;
	size_t len, q = 8 + 4 * (size_t)t->rank;

	(void)state;
	adcnn_pack_opts_init(&o);
	assert_int_equal(adcnn_tensor_encode_quant(ctx, t, &o, &buf, &len), ADCNN_OK);
	assert_int_equal(buf[q + 1], ADCNN_CODER_RANS);
	buf[q + 1] = 3;
	assert_int_equal(adcnn_tensor_decode(ctx, buf, len, &d, NULL), ADCNN_ERR_UNSUPPORTED);
	assert_null(d);
	assert_non_null(strstr(adcnn_ctx_error(ctx), "coder 3"));
	assert_non_null(strstr(adcnn_ctx_error(ctx), "no longer read"));
	free(buf);
	adcnn_tensor_free(t);
}

/* The packed bytes are part of the format's promise: the same tensor packs to the same
 * bytes on every host (the vector paths of x86-64 and the plain ones elsewhere: the
 * aarch64 cross-test runs this too) and from one version to the next unless the encoder is
 * meant to change. A hash of the members of ReLU and signed tensors whose channels take
 * every path of the counting (64 values and more, fewer, a tail past 64), at 2, 4 and 8
 * bits, with a model a channel and with tables. */
static void test_rans_bytes(void **state)
{
	static const int64_t dims[][4] = {{1, 40, 8, 8}, {1, 24, 12, 12}, {1, 12, 5, 8}, {1, 512, 7, 7}};
	uint64_t h = 14695981039346656037u;
	int models = 0, tables = 0;

	(void)state;
	for (size_t k = 0; k < sizeof(dims) / sizeof(dims[0]); k++)
		for (int relu = 0; relu < 2; relu++)
			for (int bits = 2; bits <= 8; bits *= 2) {
				struct adcnn_tensor *t = channels(4, dims[k], relu, 77u + (unsigned)k);
				struct adcnn_pack_opts o;
				uint8_t *buf;
				size_t len, q = 8 + 4 * 4;
				adcnn_pack_opts_init(&o);
				o.bits = bits;
				assert_int_equal(adcnn_tensor_encode_quant(ctx, t, &o, &buf, &len), ADCNN_OK);
				assert_int_equal(buf[q + 1], ADCNN_CODER_RANS);
				models += buf[q + 16] == 0;
				tables += buf[q + 16] != 0;
				for (size_t i = 0; i < len; i++)
					h = (h ^ buf[i]) * 1099511628211u;
				free(buf);
				adcnn_tensor_free(t);
			}
	print_message("rANS bytes: %d with models, %d with tables, hash %016llx\n", models, tables,
	              (unsigned long long)h);
	assert_true(models > 0 && tables > 0);
	assert_int_equal(h, 0x65979abd93713380u);
}

/* The vector encoder (where the machine has one) writes the same words and leaves the
 * same states as the one-at-a-time encoder: every alphabet size, tables with frequencies
 * of 1 and one of all 4096, runs starting in every lane and of every length around a group
 * of eight, states from 2^15 to 2^31 - 1. */
static void test_rans_lanes(void **state)
{
	static const int widths[] = {1, 2, 3, 4, 5, 6, 8};
	uint32_t seed = 12345;

	(void)state;
	for (size_t w = 0; w < sizeof(widths) / sizeof(widths[0]); w++)
		for (int kind = 0; kind < 3; kind++) {
			int bits = widths[w], nsym = adcnn_rans_alphabet(bits), ncode = 1 << bits;
			uint32_t fs[ADCNN_RANS_MAX_SYMS] = {0}, freq[ADCNN_RANS_MAX_SYMS] = {0}, acc = 0;
			uint8_t by[256 + 4] = {0}, c[300];
			/* kind 0: random frequencies; 1: most of them 1; 2: one symbol of 4096 */
			for (int y = 0; y < nsym; y++)
				freq[y] = kind == 2 ? (y == 0 ? 4096 : 0) : kind == 1 && y > 0 ? 1 : 0;
			for (uint32_t left = 4096 - (kind == 1 ? (uint32_t)nsym - 1 : 0); kind == 0 && left > 0;) {
				seed = seed * 1103515245u + 12345u;
				freq[(seed >> 16) % (uint32_t)nsym]++;
				left--;
			}
			if (kind == 1)
				freq[0] = 4096 - (uint32_t)(nsym - 1);
			for (int y = 0; y < nsym; y++) {
				fs[y] = freq[y] << 16 | acc;
				acc += freq[y];
			}
			for (int code = 0; code < ncode; code++)
				by[code] = (uint8_t)(code % nsym);
			for (size_t i = 0; i < sizeof(c); i++) {
				do {
					seed = seed * 1103515245u + 12345u;
					c[i] = (uint8_t)((seed >> 16) % (uint32_t)ncode);
				} while (freq[by[c[i]]] == 0);
			}
			for (size_t i0 = 0; i0 < 8; i0 += 3)
				for (size_t m = 0; m <= 300; m += m < 20 ? 1 : 47) {
					uint32_t sa[ADCNN_RANS_LANES], sb[ADCNN_RANS_LANES];
					uint8_t oa[700], ob[700], *pa = oa + sizeof(oa), *pb = ob + sizeof(ob);
					for (int l = 0; l < ADCNN_RANS_LANES; l++) {
						seed = seed * 1103515245u + 12345u;
						sa[l] = sb[l] = ADCNN_RANS_L + seed % (0x80000000u - ADCNN_RANS_L);
					}
					const uint32_t *one[1] = {fs};
					adcnn_rans_put(sa, &pa, one, by, bits, nsym, c, i0, m, 1);
					adcnn_rans_put_plain(sb, &pb, one, by, nsym, c, i0, m, 1);
					assert_memory_equal(sa, sb, sizeof(sa));
					assert_int_equal(pa - oa, pb - ob);
					assert_memory_equal(pa, pb, (size_t)(oa + sizeof(oa) - pa));
					for (int l = 0; l < ADCNN_RANS_LANES; l++)
						assert_true(sa[l] >= ADCNN_RANS_L && sa[l] < 0x80000000u);
				}
		}
}

/* codes coded with one of the coder's switches on (the machine's fast path, where it has
 * it) and off: the same bytes, which decode to the codes either way (and a byte short of
 * them is refused); the switch left on. Returns the bytes' length. */
static size_t both_ways(bool (*sw)(bool), const uint8_t *codes, size_t n, size_t seg, int bits, int zp)
{
	uint8_t *out[2], *back = malloc(n);
	size_t len[2];

	assert_non_null(back);
	for (int f = 0; f < 2; f++) {
		sw(f == 0);
		out[f] = malloc(adcnn_rans_bound(n, seg));
		assert_non_null(out[f]);
		len[f] = adcnn_rans_encode(codes, n, seg, bits, zp, out[f]);
		assert_true(len[f] > 0);
	}
	assert_int_equal(len[0], len[1]);
	assert_memory_equal(out[0], out[1], len[0]);
	for (int f = 0; f < 2; f++) {
		sw(f == 0);
		memset(back, 0xee, n);
		assert_true(adcnn_rans_decode(out[0], len[0], n, seg, bits, zp, back));
		assert_memory_equal(back, codes, n);
		assert_false(adcnn_rans_decode(out[0], len[0] - 1, n, seg, bits, zp, back));
	}
	sw(true);
	free(out[0]);
	free(out[1]);
	free(back);
	return len[0];
}

/* The coder's paths by pext and pdep (codes of more than 4 bits, where the machine's are
 * fast) and its portable ones make the same bytes and decode them to the same codes: every
 * width from 5 to 8 bits, zero points at the bottom, in the middle and near the top (the
 * fold's two sides), channels of 64 codes (whole vector steps), 40 and 144 (not), and a
 * tensor whose codes are not whole steps of 32. */
static void test_rans_pext(void **state)
{
	static const size_t segs[] = {64, 40, 144, 37};
	uint32_t seed = 4242;
	bool fast = adcnn_rans_pext(true);

	(void)state;
	print_message("pext paths: %s\n", fast ? "taken" : "not on this machine");
	for (int bits = 5; bits <= 8; bits++) {
		int top = (1 << bits) - 1;
		int zps[] = {0, top / 2, top - 3};
		for (size_t z = 0; z < 3; z++)
			for (size_t k = 0; k < sizeof(segs) / sizeof(segs[0]); k++) {
				size_t seg = segs[k], n = seg * 6;
				uint8_t codes[6 * 144];
				int zp = zps[z];
				/* half at the zero point, the rest spread around it, wider in later
				 * channels */
				for (size_t i = 0; i < n; i++) {
					int d;
					seed = seed * 1103515245u + 12345u;
					d = (int)((seed >> 16) % (2u * (uint32_t)(i / seg + 1) * (uint32_t)(top / 6 + 1) + 1)) -
					    (int)((i / seg + 1) * (size_t)(top / 6 + 1));
					d = (seed >> 8) & 1 ? 0 : d;
					codes[i] = (uint8_t)(zp + d < 0 ? 0 : zp + d > top ? top : zp + d);
				}
				both_ways(adcnn_rans_pext, codes, n, seg, bits, zp);
			}
	}
}

/* Payloads of at most ADCNN_RANS_COPY_MAX bytes are decoded from a copy with zeros after
 * it, longer ones where they lie: both decode (the copy's last bytes by the states' loop),
 * and both are refused a byte short; at 4 bits and at 8 (raw bits past the symbols), in
 * channels of 64 and of 100 codes. */
static void test_rans_copy(void **state)
{
	static const size_t ns[] = {3200, 256000};
	uint32_t seed = 99;

	(void)state;
	for (int bits = 4; bits <= 8; bits += 4)
		for (size_t k = 0; k < 2; k++)
			for (size_t seg = 64; seg <= 100; seg += 36) {
				size_t n = ns[k] / seg * seg, len;
				uint8_t *codes = malloc(n);
				assert_non_null(codes);
				for (size_t i = 0; i < n; i++) {
					seed = seed * 1103515245u + 12345u;
					codes[i] = (uint8_t)((seed >> 16) & ((1u << bits) - 1));
				}
				len = both_ways(adcnn_rans_pext, codes, n, seg, bits, 0);
				/* one side of the copy's limit or the other */
				assert_true(k == 0 ? len <= ADCNN_RANS_COPY_MAX : len > ADCNN_RANS_COPY_MAX);
				free(codes);
			}
}

/* The channels' histograms counted by vectors (where the machine has AVX2: several small
 * channels of a 64-code step at once, or a channel's 64-code steps) and a code at a time
 * make the same bytes: every width from 1 to 4 bits, zero points at the bottom and in the
 * middle, channels of 4 to 32 codes that divide 64 (counted together, the channels past the
 * last whole step alone), of 12 (not), 64 and 100. Where the counts differ the coder still
 * decodes what it coded, with other tables: only the bytes show it. */
static void test_rans_counts(void **state)
{
	static const size_t segs[] = {4, 8, 16, 32, 12, 64, 100};
	uint32_t seed = 777;
	bool vec = adcnn_rans_vector_counts(true);

	(void)state;
	print_message("vector counts: %s\n", vec ? "taken" : "not on this machine");
	for (int bits = 1; bits <= 4; bits++) {
		int top = (1 << bits) - 1;
		int zps[] = {0, top / 2};
		for (size_t z = 0; z < 2; z++)
			for (size_t k = 0; k < sizeof(segs) / sizeof(segs[0]); k++) {
				/* 19 channels: whole steps of 16, 8, 4 or 2 channels and some past them */
				size_t seg = segs[k], n = seg * 19;
				uint8_t codes[19 * 100];
				int zp = zps[z];
				/* each channel its own share at the zero point and its own spread */
				for (size_t i = 0; i < n; i++) {
					size_t ch = i / seg;
					int d;
					seed = seed * 1103515245u + 12345u;
					d = (int)((seed >> 16) % (uint32_t)(2 * (int)(ch % 5) + 1)) - (int)(ch % 5);
					d = (seed >> 8) % 10 < ch % 7 ? 0 : d;
					codes[i] = (uint8_t)(zp + d < 0 ? 0 : zp + d > top ? top : zp + d);
				}
				both_ways(adcnn_rans_vector_counts, codes, n, seg, bits, zp);
			}
	}
}

/* Segments with tables of their own, coded in one call, as one call a segment would code
 * them and as the one-at-a-time coder does: segments of whole groups of eight (one pass of
 * the vectors) and not, from state 0 and not, three different tables in turn. */
static void test_rans_segments(void **state)
{
	static const int widths[] = {2, 4, 6};
	static const size_t segs[] = {8, 64, 24, 5, 12};
	uint32_t seed = 99;

	(void)state;
	for (size_t w = 0; w < sizeof(widths) / sizeof(widths[0]); w++) {
		int bits = widths[w], nsym = adcnn_rans_alphabet(bits), ncode = 1 << bits;
		uint32_t fs[3][ADCNN_RANS_MAX_SYMS] = {{0}};
		uint8_t by[256 + 4] = {0}, c[320];
		for (int k = 0; k < 3; k++) {
			uint32_t freq[ADCNN_RANS_MAX_SYMS], acc = 0;
			for (int y = 0; y < nsym; y++)
				freq[y] = 1;
			for (uint32_t left = 4096 - (uint32_t)nsym; left > 0; left--) {
				seed = seed * 1103515245u + 12345u;
				/* table 2 leans on its first symbols, table 0 on its last */
				int r = (int)((seed >> 16) % 1024u);
				freq[k == 2 ? r % 3 : k == 0 ? nsym - 1 - r % 2 : r % nsym]++;
			}
			for (int y = 0; y < nsym; y++) {
				fs[k][y] = freq[y] << 16 | acc;
				acc += freq[y];
			}
		}
		for (int code = 0; code < ncode; code++)
			by[code] = (uint8_t)(code % nsym);
		for (size_t i = 0; i < sizeof(c); i++) {
			seed = seed * 1103515245u + 12345u;
			c[i] = (uint8_t)((seed >> 16) % (uint32_t)ncode);
		}
		for (size_t k = 0; k < sizeof(segs) / sizeof(segs[0]); k++)
			for (size_t i0 = 0; i0 < 16; i0 += 5)
				for (size_t nseg = 1; nseg <= 5; nseg += 2) {
					const uint32_t *tab[5];
					uint32_t sa[ADCNN_RANS_LANES], sb[ADCNN_RANS_LANES], sc[ADCNN_RANS_LANES];
					uint8_t oa[800], ob[800], oc[800];
					uint8_t *pa = oa + sizeof(oa), *pb = ob + sizeof(ob), *pc = oc + sizeof(oc);
					size_t seg = segs[k];
					for (size_t s = 0; s < nseg; s++)
						tab[s] = fs[(s + k) % 3];
					for (int l = 0; l < ADCNN_RANS_LANES; l++) {
						seed = seed * 1103515245u + 12345u;
						sa[l] = sb[l] = sc[l] = ADCNN_RANS_L + seed % (0x80000000u - ADCNN_RANS_L);
					}
					adcnn_rans_put(sa, &pa, tab, by, bits, nsym, c, i0, seg, nseg);
					adcnn_rans_put_plain(sb, &pb, tab, by, nsym, c, i0, seg, nseg);
					for (size_t s = nseg; s-- > 0;)
						adcnn_rans_put(sc, &pc, tab + s, by, bits, nsym, c + s * seg, i0 + s * seg, seg, 1);
					assert_memory_equal(sa, sb, sizeof(sa));
					assert_memory_equal(sa, sc, sizeof(sa));
					assert_int_equal(pa - oa, pb - ob);
					assert_int_equal(pa - oa, pc - oc);
					assert_memory_equal(pa, pb, (size_t)(oa + sizeof(oa) - pa));
					assert_memory_equal(pa, pc, (size_t)(oa + sizeof(oa) - pa));
				}
	}
}

static int setup(void **state)
{
	(void)state;
	ctx = adcnn_ctx_new();
	return ctx ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	adcnn_ctx_free(ctx);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_bit_width),
		cmocka_unit_test(test_coders_agree_and_determinism),
		cmocka_unit_test(test_clip),
		cmocka_unit_test(test_auto_clip_error),
		cmocka_unit_test(test_rans_shapes),
		cmocka_unit_test(test_rans_corrupt),
		cmocka_unit_test(test_rans_ranks),
		cmocka_unit_test(test_rans_lanes),
		cmocka_unit_test(test_old_rans_refused),
		cmocka_unit_test(test_qmodel_tables),
		cmocka_unit_test(test_rans_bytes),
		cmocka_unit_test(test_rans_segments),
		cmocka_unit_test(test_rans_pext),
		cmocka_unit_test(test_rans_counts),
		cmocka_unit_test(test_rans_copy),
		cmocka_unit_test(test_percentile),
		cmocka_unit_test(test_degenerate),
		cmocka_unit_test(test_corrupt),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
