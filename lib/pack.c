/* pack.c: tensor members of bundles: the header, raw float32, lossless packing (exponents by
 * rANS: lossless.c; or four byte planes, each a zstd frame), quantized packing (quant.c), and
 * packing a result bundle. */
#include "config.h"
#include "internal.h"
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#define HDR_FIXED 8

static size_t header_len(int rank)
{
	return HDR_FIXED + 4 * (size_t)rank;
}

static void header_put(uint8_t *p, const struct adcnn_tensor *t, enum adcnn_enc enc)
{
	memcpy(p, ADCNN_TENSOR_MAGIC, 4);
	p[4] = 1;
	p[5] = (uint8_t)enc;
	p[6] = (uint8_t)t->rank;
	p[7] = 0;
	for (int i = 0; i < t->rank; i++)
		adcnn_le32enc(p + HDR_FIXED + 4 * i, (uint32_t)t->dims[i]);
}

enum adcnn_status adcnn_tensor_encode(struct adcnn_ctx *ctx, const struct adcnn_tensor *t,
                                      enum adcnn_enc enc, int level, uint8_t **buf, size_t *len)
{
	size_t hl = header_len(t->rank), n = t->n, o;
	uint8_t *b = NULL, *plane = NULL;

	if (t->dtype != ADCNN_F32)
		return adcnn_set_error(ctx, ADCNN_ERR_INTERNAL, "only float32 tensors travel in bundles");
	for (int i = 0; i < t->rank; i++)
		if (t->dims[i] > UINT32_MAX)
			return adcnn_set_error(ctx, ADCNN_ERR_INVALID, "tensor dimension too large for a bundle");
	if (enc == ADCNN_ENC_F32) {
		b = malloc(hl + 4 * n);
		if (b == NULL)
			goto nomem;
		header_put(b, t, enc);
		for (size_t i = 0; i < n; i++) {
			uint32_t u;
			memcpy(&u, &t->d.f[i], 4);
			adcnn_le32enc(b + hl + 4 * i, u);
		}
		*buf = b;
		*len = hl + 4 * n;
		return ADCNN_OK;
	}
	if (enc == ADCNN_ENC_LOSSLESS_RANS) {
		enum adcnn_status st = adcnn_lossless_encode(ctx, t->d.f, n, adcnn_channel_len(t->rank, t->dims, n), hl,
		                                             &b, &o);
		if (st != ADCNN_OK)
			return st;
		if (b != NULL) {
			header_put(b, t, enc);
			*buf = b;
			*len = o;
			return ADCNN_OK;
		}
		/* a tensor the exponents' coder takes too few bytes for */
		enc = ADCNN_ENC_LOSSLESS;
	}
	if (enc != ADCNN_ENC_LOSSLESS)
		return adcnn_set_error(ctx, ADCNN_ERR_INVALID, "unknown tensor encoding %d", enc);
	/* byte k of every float in plane k: the exponent bytes compress far better alone */
	size_t bound = ZSTD_compressBound(n);
	b = malloc(hl + 4 * (4 + bound));
	plane = malloc(n ? n : 1);
	if (b == NULL || plane == NULL)
		goto nomem;
	header_put(b, t, enc);
	o = hl;
	for (int k = 0; k < 4; k++) {
		size_t z;
		for (size_t i = 0; i < n; i++) {
			uint32_t u;
			memcpy(&u, &t->d.f[i], 4);
			plane[i] = (uint8_t)(u >> (8 * k));
		}
		z = ZSTD_compressCCtx(adcnn_zstd_cctx(), b + o + 4, bound, plane, n, level);
		if (ZSTD_isError(z)) {
			free(b);
			free(plane);
			return adcnn_set_error(ctx, ADCNN_ERR_INTERNAL, "zstd: %s", ZSTD_getErrorName(z));
		}
		adcnn_le32enc(b + o, (uint32_t)z);
		o += 4 + z;
	}
	free(plane);
	*buf = b;
	*len = o;
	return ADCNN_OK;
nomem:
	free(b);
	free(plane);
	return adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory");
}

/* the values of one channel, which the rANS coder groups by: a plane of an NCHW tensor (of
 * 16 values or more), else the whole tensor */
size_t adcnn_channel_len(int rank, const int64_t *dims, size_t n)
{
	size_t plane = 1;

	if (rank < 3)
		return n;
	for (int i = 2; i < rank; i++)
		plane *= (size_t)dims[i];
	return plane >= 16 && n % plane == 0 ? plane : n;
}

enum adcnn_status adcnn_tensor_encode_quant(struct adcnn_ctx *ctx, const struct adcnn_tensor *t,
                                            const struct adcnn_pack_opts *o, uint8_t **buf,
                                            size_t *len)
{
	size_t hl = header_len(t->rank);
	enum adcnn_status st;

	if (t->dtype != ADCNN_F32)
		return adcnn_set_error(ctx, ADCNN_ERR_INTERNAL, "only float32 tensors travel in bundles");
	for (int i = 0; i < t->rank; i++)
		if (t->dims[i] > UINT32_MAX)
			return adcnn_set_error(ctx, ADCNN_ERR_INVALID, "tensor dimension too large for a bundle");
	st = adcnn_quant_encode(ctx, t->d.f, t->n, adcnn_channel_len(t->rank, t->dims, t->n), o, hl,
	                        buf, len);
	if (st == ADCNN_OK)
		header_put(*buf, t, ADCNN_ENC_QUANT);
	return st;
}

enum adcnn_status adcnn_tensor_decode(struct adcnn_ctx *ctx, const uint8_t *buf, size_t len,
                                      struct adcnn_tensor **out, enum adcnn_enc *encp)
{
	int64_t dims[ADCNN_MAX_RANK];
	size_t n, hl, o;
	int rank;
	enum adcnn_enc enc;
	struct adcnn_tensor *t;
	uint8_t *plane = NULL;

	if (len < HDR_FIXED || memcmp(buf, ADCNN_TENSOR_MAGIC, 4) != 0)
		return adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "not a tensor (bad magic)");
	if (buf[4] != 1)
		return adcnn_set_error(ctx, ADCNN_ERR_VERSION, "unsupported tensor version %d", buf[4]);
	enc = (enum adcnn_enc)buf[5];
	rank = buf[6];
	if (rank > ADCNN_MAX_RANK)
		return adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "tensor rank %d too large", rank);
	hl = header_len(rank);
	if (len < hl)
		return adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "truncated tensor header");
	for (int i = 0; i < rank; i++)
		dims[i] = adcnn_le32dec(buf + HDR_FIXED + 4 * i);
	if (!adcnn_dims_count(rank, dims, &n))
		return adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "tensor too large");
	if (enc == ADCNN_ENC_F32) {
		if (len - hl < 4 * n)
			return adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "truncated tensor (expected %zu bytes, got %zu)", 4 * n, len - hl);
		if (len - hl > 4 * n)
			return adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "tensor has %zu bytes after its data", len - hl - 4 * n);
	} else if (enc == ADCNN_ENC_QUANT) {
		enum adcnn_status st = adcnn_quant_check(ctx, buf + hl, len - hl, n);
		if (st != ADCNN_OK)
			return st;
	} else if (enc == ADCNN_ENC_LOSSLESS_RANS) {
		enum adcnn_status st = adcnn_lossless_check(ctx, buf + hl, len - hl, n);
		if (st != ADCNN_OK)
			return st;
	} else if (enc != ADCNN_ENC_LOSSLESS) {
		return adcnn_set_error(ctx, ADCNN_ERR_UNSUPPORTED, "unknown tensor encoding %d", enc);
	} else {
		/* every frame must say it holds n bytes, and a zstd block of at most 128 KiB takes at
		 * least 4 bytes: refuse, before allocating, what the payload cannot hold */
		size_t off = hl;
		for (int k = 0; k < 4; k++) {
			size_t z;
			if (len - off < 4)
				return adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "truncated packed tensor");
			z = adcnn_le32dec(buf + off);
			off += 4;
			if (z > len - off || z < n / 32768 || ZSTD_getFrameContentSize(buf + off, z) != (unsigned long long)n)
				return adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "corrupt packed tensor");
			off += z;
		}
	}
	/* every decoder writes every value (encoding 2's clears them first) */
	t = adcnn_tensor_new_uninit(rank, dims);
	if (t == NULL)
		return adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory");
	if (enc == ADCNN_ENC_F32) {
		for (size_t i = 0; i < n; i++) {
			uint32_t u = adcnn_le32dec(buf + hl + 4 * i);
			memcpy(&t->d.f[i], &u, 4);
		}
		goto ok;
	}
	if (enc == ADCNN_ENC_QUANT || enc == ADCNN_ENC_LOSSLESS_RANS) {
		/* both given the tensor's channels (rans.c groups by them) */
		size_t seg = adcnn_channel_len(rank, dims, n);
		enum adcnn_status st = enc == ADCNN_ENC_QUANT ? adcnn_quant_decode(ctx, buf + hl, len - hl, t->d.f, n, seg)
		                                              : adcnn_lossless_decode(ctx, buf + hl, len - hl, t->d.f, n, seg);
		if (st != ADCNN_OK) {
			adcnn_tensor_free(t);
			return st;
		}
		goto ok;
	}
	plane = malloc(n ? n : 1);
	if (plane == NULL) {
		adcnn_tensor_free(t);
		return adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory");
	}
	memset(t->d.f, 0, 4 * n);
	o = hl;
	for (int k = 0; k < 4; k++) {
		size_t z, r;
		if (len - o < 4)
			goto corrupt;
		z = adcnn_le32dec(buf + o);
		o += 4;
		if (z > len - o)
			goto corrupt;
		r = ZSTD_decompressDCtx(adcnn_zstd_dctx(), plane, n, buf + o, z);
		if (ZSTD_isError(r) || r != n)
			goto corrupt;
		o += z;
		for (size_t i = 0; i < n; i++) {
			uint32_t u;
			memcpy(&u, &t->d.f[i], 4);
			u |= (uint32_t)plane[i] << (8 * k);
			memcpy(&t->d.f[i], &u, 4);
		}
	}
	if (o != len)
		goto corrupt;
	free(plane);
ok:
	*out = t;
	if (encp)
		*encp = enc;
	return ADCNN_OK;
corrupt:
	free(plane);
	adcnn_tensor_free(t);
	return adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "corrupt packed tensor");
}

static enum adcnn_status recode(struct adcnn_ctx *ctx, struct adcnn_bundle *b, enum adcnn_enc enc,
                                const struct adcnn_pack_opts *o)
{
	for (int i = 0; i < b->nmembers; i++) {
		struct adcnn_member *m = &b->members[i];
		struct adcnn_tensor *t;
		uint8_t *nb;
		size_t nl;
		enum adcnn_status st;

		if (strncmp(m->path, "results/", 8) != 0)
			continue;
		st = adcnn_tensor_decode(ctx, m->data, m->len, &t, NULL);
		if (st != ADCNN_OK) {
			char msg[sizeof(ctx->msg)];
			snprintf(msg, sizeof(msg), "%s", ctx->msg);
			return adcnn_set_error(ctx, st, "cannot read '%s': %s", m->path, msg);
		}
		if (enc == ADCNN_ENC_QUANT)
			st = adcnn_tensor_encode_quant(ctx, t, o, &nb, &nl);
		else
			st = adcnn_tensor_encode(ctx, t, enc, o && o->level > 0 ? o->level : 3, &nb, &nl);
		adcnn_tensor_free(t);
		if (st != ADCNN_OK)
			return st;
		free(m->data);
		m->data = nb;
		m->len = nl;
	}
	return ADCNN_OK;
}

enum adcnn_status adcnn_pack(struct adcnn_ctx *ctx, struct adcnn_bundle *b,
                             const struct adcnn_pack_opts *o)
{
	enum adcnn_status st;

	if (b->man.kind == ADCNN_KIND_TILES)
		return adcnn_set_error(ctx, ADCNN_ERR_MISMATCH, "a tile bundle has no results to pack: run it first");
	if (o->level < 0 || o->level > ZSTD_maxCLevel())
		return adcnn_set_error(ctx, ADCNN_ERR_INVALID, "zstd level %d out of range (1 to %d)", o->level, ZSTD_maxCLevel());
	if (!o->lossless && (o->bits < 1 || o->bits > 8))
		return adcnn_set_error(ctx, ADCNN_ERR_INVALID, "%d bits: 1 to 8 are possible", o->bits);
	if (o->lossless && o->coder != ADCNN_CODER_RANS && o->coder != ADCNN_CODER_PLANES)
		return adcnn_set_error(ctx, ADCNN_ERR_INVALID, "lossless packing takes the rans or the planes coder");
	st = recode(ctx, b, !o->lossless ? ADCNN_ENC_QUANT : o->coder == ADCNN_CODER_RANS ? ADCNN_ENC_LOSSLESS_RANS : ADCNN_ENC_LOSSLESS, o);
	if (st == ADCNN_OK)
		b->man.kind = ADCNN_KIND_PACKED;
	return st;
}

enum adcnn_status adcnn_unpack(struct adcnn_ctx *ctx, struct adcnn_bundle *b)
{
	enum adcnn_status st;

	if (b->man.kind == ADCNN_KIND_TILES)
		return adcnn_set_error(ctx, ADCNN_ERR_MISMATCH, "a tile bundle has no results to unpack");
	st = recode(ctx, b, ADCNN_ENC_F32, NULL);
	if (st == ADCNN_OK)
		b->man.kind = ADCNN_KIND_RESULTS;
	return st;
}
