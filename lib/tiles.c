/* tiles.c: cutting an input into tiles by a plan and making the tile bundles. */
#include "config.h"
#include "internal.h"
#include <stdlib.h>
#include <string.h>

/* rows [r0,r1) and columns [c0,c1) of an NCHW tensor */
struct adcnn_tensor *adcnn_tensor_crop(const struct adcnn_tensor *t, const int *reg)
{
	int64_t dims[4];
	struct adcnn_tensor *y;
	size_t h, w;

	if (t->rank != 4)
		return adcnn_tensor_clone(t);
	dims[0] = t->dims[0];
	dims[1] = t->dims[1];
	dims[2] = reg[1] - reg[0];
	dims[3] = reg[3] - reg[2];
	h = (size_t)t->dims[2];
	w = (size_t)t->dims[3];
	y = adcnn_tensor_new(4, dims);
	if (y == NULL)
		return NULL;
	for (size_t p = 0; p < (size_t)(dims[0] * dims[1]); p++)
		for (int64_t r = 0; r < dims[2]; r++)
			memcpy(y->d.f + (p * (size_t)dims[2] + (size_t)r) * (size_t)dims[3],
			       t->d.f + (p * h + (size_t)(reg[0] + r)) * w + (size_t)reg[2],
			       sizeof(float) * (size_t)dims[3]);
	return y;
}

/* one partition run: the model, the plan and the input's bytes */
static void job_hash(const struct adcnn_model *m, const struct adcnn_plan *p,
                     const struct adcnn_manifest *man, const struct adcnn_tensor *input,
                     char out[ADCNN_HASH_HEX])
{
	struct adcnn_bundle empty = {0};
	char *text = adcnn_manifest_format(man, &empty);
	size_t tl = text ? strlen(text) : 0, il = input->n * 4;
	uint8_t *buf = malloc(tl + il + 1);

	(void)m;
	(void)p;
	if (text == NULL || buf == NULL) {
		/* without memory the job is named by the plan alone */
		adcnn_hash_hex(text ? text : "", tl, out);
	} else {
		memcpy(buf, text, tl);
		for (size_t i = 0; i < input->n; i++) {
			uint32_t u;
			memcpy(&u, &input->d.f[i], 4);
			adcnn_le32enc(buf + tl + 4 * i, u);
		}
		adcnn_hash_hex(buf, tl + il, out);
	}
	free(buf);
	free(text);
}

enum adcnn_status adcnn_partition(struct adcnn_ctx *ctx, const struct adcnn_model *m,
                                  const struct adcnn_plan *p, const struct adcnn_tensor *input,
                                  int tile, int embed, struct adcnn_bundle **out)
{
	struct adcnn_bundle *b = adcnn_bundle_new();
	struct adcnn_manifest *man;
	enum adcnn_status st = ADCNN_OK;

	if (b == NULL)
		return adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory");
	man = &b->man;
	man->major = ADCNN_BUNDLE_MAJOR;
	man->minor = ADCNN_BUNDLE_MINOR;
	man->kind = ADCNN_KIND_TILES;
	memcpy(man->model, m->hash, ADCNN_HASH_HEX);
	memcpy(man->prefix, p->prefix_hash, ADCNN_HASH_HEX);
	memset(man->job, '0', 64);
	man->job[64] = '\0';
	man->mode = p->mode;
	man->input_name = strdup(p->input_name);
	man->split_name = strdup(p->split_name);
	man->in_rank = p->in_rank;
	memcpy(man->in_dims, p->in_dims, sizeof(man->in_dims));
	man->split_rank = p->split_rank;
	memcpy(man->split_dims, p->split_dims, sizeof(man->split_dims));
	man->rows = p->rows;
	man->cols = p->cols;
	man->ntiles = p->ntiles;
	man->tiles = malloc(sizeof(*man->tiles) * (size_t)p->ntiles);
	if (man->input_name == NULL || man->split_name == NULL || man->tiles == NULL) {
		st = adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory");
		goto fail;
	}
	memcpy(man->tiles, p->tiles, sizeof(*man->tiles) * (size_t)p->ntiles);
	job_hash(m, p, man, input, man->job);
	b->nbundles = 1;
	if (embed) {
		char path[128];
		uint8_t *copy = malloc(p->prefix_len ? p->prefix_len : 1);
		if (copy == NULL) {
			st = adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory");
			goto fail;
		}
		memcpy(copy, p->prefix_bytes, p->prefix_len);
		snprintf(path, sizeof(path), "model/%s.onnx", p->prefix_hash);
		if ((st = adcnn_bundle_add(ctx, b, path, copy, p->prefix_len)) != ADCNN_OK)
			goto fail;
	}
	for (int i = 0; i < p->ntiles; i++) {
		struct adcnn_tensor *t;
		uint8_t *data;
		size_t len;
		char path[64];

		if (tile >= 0 && i != tile)
			continue;
		t = adcnn_tensor_crop(input, p->tiles[i].in);
		if (t == NULL) {
			st = adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory");
			goto fail;
		}
		st = adcnn_tensor_encode(ctx, t, ADCNN_ENC_F32, 0, &data, &len);
		adcnn_tensor_free(t);
		if (st != ADCNN_OK)
			goto fail;
		snprintf(path, sizeof(path), "tiles/%s.t", p->tiles[i].id);
		if ((st = adcnn_bundle_add(ctx, b, path, data, len)) != ADCNN_OK)
			goto fail;
	}
	*out = b;
	return ADCNN_OK;
fail:
	adcnn_bundle_free(b);
	return st;
}
