/* testutil: helpers for the shell tests: compare tensors, slice a stacked .npy, and turn
 * the extra inputs of an ONNX operator test into initializers. Exit 0 pass, 1 fail, 77 skip
 * (reason on stdout). */
#include "config.h"
#include "internal.h"
#include "onnx.pb-c.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum adcnn_status adcnn_onnx_tensor_from_proto(struct adcnn_ctx *ctx, const Onnx__TensorProto *tp,
                                               struct adcnn_tensor **out);

static struct adcnn_tensor *load(struct adcnn_ctx *ctx, const char *path)
{
	uint8_t *buf;
	size_t len;
	struct adcnn_tensor *t = NULL;
	enum adcnn_status st = adcnn_file_read(ctx, path, &buf, &len);

	if (st != ADCNN_OK) {
		fprintf(stderr, "testutil: %s\n", adcnn_ctx_error(ctx));
		exit(2);
	}
	if (len >= 6 && memcmp(buf, "\x93NUMPY", 6) == 0)
		st = adcnn_npy_parse(ctx, buf, len, &t);
	else
		st = adcnn_onnx_tensor_parse(ctx, buf, len, &t);
	free(buf);
	if (st != ADCNN_OK) {
		fprintf(stderr, "testutil: %s: %s\n", path, adcnn_ctx_error(ctx));
		exit(2);
	}
	return t;
}

static int cmp(int argc, char **argv)
{
	double rel = -1, rtol = 0, atol = 0, maxref = 0, maxerr = 0, worst = 0;
	struct adcnn_ctx *ctx;
	struct adcnn_tensor *a, *r;
	int i = 0, rc = 0;
	size_t bad = 0, at = 0;

	for (i = 0; i < argc - 2; i++) {
		if (strcmp(argv[i], "--rel") == 0)
			rel = atof(argv[++i]);
		else if (strcmp(argv[i], "--rtol") == 0)
			rtol = atof(argv[++i]);
		else if (strcmp(argv[i], "--atol") == 0)
			atol = atof(argv[++i]);
		else
			break;
	}
	if (argc - i != 2) {
		fprintf(stderr, "usage: testutil cmp [--rel T | --rtol R --atol A] ACTUAL REFERENCE\n");
		return 2;
	}
	ctx = adcnn_ctx_new(); /* made after the usage check, so that its return has nothing to free */
	a = load(ctx, argv[i]);
	r = load(ctx, argv[i + 1]);
	if (a->dtype != r->dtype || !adcnn_tensor_same_shape(a, r)) {
		char sa[128], sr[128];
		adcnn_shape_str(a->rank, a->dims, sa, sizeof(sa));
		adcnn_shape_str(r->rank, r->dims, sr, sizeof(sr));
		printf("shape %s, expected %s\n", sa, sr);
		rc = 1;
		goto out;
	}
	if (r->dtype == ADCNN_I64) {
		for (size_t k = 0; k < r->n; k++)
			if (a->d.i[k] != r->d.i[k]) {
				printf("value %zu is %lld, expected %lld\n", k, (long long)a->d.i[k], (long long)r->d.i[k]);
				rc = 1;
				goto out;
			}
		goto out;
	}
	for (size_t k = 0; k < r->n; k++)
		maxref = fmax(maxref, fabs(r->d.f[k]));
	for (size_t k = 0; k < r->n; k++) {
		double e = fabs((double)a->d.f[k] - r->d.f[k]);
		if (isnan(a->d.f[k]) != isnan(r->d.f[k]))
			e = INFINITY;
		if (isnan(a->d.f[k]) && isnan(r->d.f[k]))
			e = 0;
		if (e > maxerr) {
			maxerr = e;
			at = k;
		}
		if (rel < 0 && e > atol + rtol * fabs(r->d.f[k])) {
			bad++;
			worst = fmax(worst, e);
		}
	}
	if (rel >= 0) {
		double q = maxref > 0 ? maxerr / maxref : maxerr;
		printf("max error %.3g of max %.3g (relative %.3g, limit %.3g)\n", maxerr, maxref, q, rel);
		rc = q <= rel ? 0 : 1;
		goto out;
	}
	if (bad) {
		printf("%zu of %zu values off (max error %.3g at %zu: %g, expected %g)\n", bad, r->n, maxerr, at, a->d.f[at], r->d.f[at]);
		rc = 1;
		goto out;
	}
out:
	adcnn_tensor_free(a);
	adcnn_tensor_free(r);
	adcnn_ctx_free(ctx);
	return rc;
}

static int inline_inputs(int argc, char **argv)
{
	uint8_t *buf;
	size_t len;
	struct adcnn_ctx *ctx = adcnn_ctx_new();
	Onnx__ModelProto *mp;
	Onnx__GraphProto *g;
	Onnx__ValueInfoProto **keep;
	Onnx__TensorProto **inits;
	Onnx__TensorProto *extra[64] = {0};
	size_t nkeep = 0, ninput = 0, ninit;
	FILE *fp;

	if (argc != 3) {
		fprintf(stderr, "usage: testutil inline MODEL DATASET_DIR OUT_MODEL\n");
		return 2;
	}
	if (adcnn_file_read(ctx, argv[0], &buf, &len) != ADCNN_OK) {
		fprintf(stderr, "testutil: %s\n", adcnn_ctx_error(ctx));
		return 2;
	}
	mp = onnx__model_proto__unpack(NULL, len, buf);
	if (mp == NULL || mp->graph == NULL) {
		printf("not an ONNX model\n");
		return 77;
	}
	g = mp->graph;
	keep = calloc(g->n_input + 1, sizeof(*keep));
	inits = calloc(g->n_initializer + g->n_input + 1, sizeof(*inits));
	if (g->n_initializer > 0)
		memcpy(inits, g->initializer, sizeof(*inits) * g->n_initializer);
	ninit = g->n_initializer;
	for (size_t i = 0; i < g->n_input; i++) {
		bool is_init = false;
		for (size_t k = 0; k < g->n_initializer; k++)
			if (strcmp(g->initializer[k]->name, g->input[i]->name) == 0)
				is_init = true;
		if (is_init)
			continue;
		if (ninput == 0) {
			keep[nkeep++] = g->input[i];
		} else {
			char path[4096];
			uint8_t *tb;
			size_t tl;
			snprintf(path, sizeof(path), "%s/input_%zu.pb", argv[1], ninput);
			if (ninput >= 64 || adcnn_file_read(ctx, path, &tb, &tl) != ADCNN_OK) {
				printf("input %zu has no data\n", ninput);
				return 77;
			}
			extra[ninput] = onnx__tensor_proto__unpack(NULL, tl, tb);
			free(tb);
			if (extra[ninput] == NULL) {
				printf("input %zu is not a TensorProto\n", ninput);
				return 77;
			}
			extra[ninput]->name = g->input[i]->name;
			inits[ninit++] = extra[ninput];
		}
		ninput++;
	}
	if (ninput == 0) {
		printf("no input\n");
		return 77;
	}
	{
		char path[4096];
		struct adcnn_tensor *t;
		uint8_t *tb;
		size_t tl;
		Onnx__TensorProto *tp;
		snprintf(path, sizeof(path), "%s/input_0.pb", argv[1]);
		if (adcnn_file_read(ctx, path, &tb, &tl) != ADCNN_OK || (tp = onnx__tensor_proto__unpack(NULL, tl, tb)) == NULL) {
			printf("input 0 has no data\n");
			return 77;
		}
		if (!tp->has_data_type || tp->data_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT) {
			printf("input 0 is not float32\n");
			return 77;
		}
		if (tp->n_dims > 4) {
			printf("input 0 has rank %zu\n", tp->n_dims);
			return 77;
		}
		if (adcnn_onnx_tensor_from_proto(ctx, tp, &t) != ADCNN_OK) {
			printf("input 0: %s\n", adcnn_ctx_error(ctx));
			return 77;
		}
		adcnn_tensor_free(t);
	}
	g->input = keep;
	g->n_input = nkeep;
	g->initializer = inits;
	g->n_initializer = ninit;
	len = protobuf_c_message_get_packed_size(&mp->base);
	buf = malloc(len);
	protobuf_c_message_pack(&mp->base, buf);
	fp = fopen(argv[2], "wb");
	if (fp == NULL || fwrite(buf, 1, len, fp) != len || fclose(fp) != 0) {
		fprintf(stderr, "testutil: cannot write '%s'\n", argv[2]);
		return 2;
	}
	return 0;
}

/* slice IN.npy I OUT.npy: element I of the first dimension, the dimension kept (size 1) */
static int slice(int argc, char **argv)
{
	struct adcnn_ctx *ctx = adcnn_ctx_new();
	struct adcnn_tensor *t, *s;
	int64_t dims[ADCNN_MAX_RANK];
	long i;
	size_t per;
	FILE *fp;

	if (argc != 3) {
		fprintf(stderr, "usage: testutil slice IN.npy INDEX OUT.npy\n");
		return 2;
	}
	t = load(ctx, argv[0]);
	i = atol(argv[1]);
	if (t->rank < 1 || i < 0 || i >= t->dims[0]) {
		fprintf(stderr, "testutil: index %ld out of range\n", i);
		return 2;
	}
	memcpy(dims, t->dims, sizeof(dims));
	dims[0] = 1;
	s = adcnn_tensor_new(t->rank, dims);
	per = t->n / (size_t)t->dims[0];
	memcpy(s->d.f, t->d.f + (size_t)i * per, per * 4);
	fp = fopen(argv[2], "wb");
	if (fp == NULL || adcnn_npy_write(ctx, s, fp) != ADCNN_OK || fclose(fp) != 0) {
		fprintf(stderr, "testutil: cannot write '%s'\n", argv[2]);
		return 2;
	}
	return 0;
}

int main(int argc, char **argv)
{
	/* a test helper: what it allocates lives until it exits */
	if (argc >= 2 && strcmp(argv[1], "cmp") == 0)
		return cmp(argc - 2, argv + 2);
	if (argc >= 2 && strcmp(argv[1], "inline") == 0)
		return inline_inputs(argc - 2, argv + 2);
	if (argc >= 2 && strcmp(argv[1], "slice") == 0)
		return slice(argc - 2, argv + 2);
	fprintf(stderr, "usage: testutil cmp|inline|slice ...\n");
	return 2;
}
