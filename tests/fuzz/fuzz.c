/* fuzz.c: libFuzzer entry points for every reader of untrusted bytes. One file, built once
 * per target with -DFUZZ_<TARGET>: bundle, tensor, model, input. See tests/fuzz/run.sh. */
#define _GNU_SOURCE
#include "config.h"
#include "internal.h"
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

static int memfd(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz", 0);

	if (fd < 0)
		abort();
	if (size > 0 && write(fd, data, size) != (ssize_t)size)
		abort();
	lseek(fd, 0, SEEK_SET);
	return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct adcnn_ctx *ctx = adcnn_ctx_new();

#if defined(FUZZ_BUNDLE)
	struct adcnn_bundle *b = NULL;
	int fd = memfd(data, size);
	if (adcnn_bundle_read(ctx, fd, "fuzz", &b) == ADCNN_OK) {
		struct adcnn_bundle *out = NULL;
		/* everything a tool does with a bundle it was given, short of running a model */
		for (int i = 0; i < b->nmembers; i++) {
			struct adcnn_tensor *t = NULL;
			if (adcnn_tensor_decode(ctx, b->members[i].data, b->members[i].len, &t, NULL) == ADCNN_OK)
				adcnn_tensor_free(t);
		}
		struct adcnn_pack_opts po;
		adcnn_pack_opts_init(&po);
		if (adcnn_pack(ctx, b, &po) == ADCNN_OK)
			adcnn_unpack(ctx, b);
		po.coder = ADCNN_CODER_RANS;
		if (adcnn_pack(ctx, b, &po) == ADCNN_OK)
			adcnn_unpack(ctx, b);
		adcnn_bundle_free(out);
	}
	adcnn_bundle_free(b);
	close(fd);
#elif defined(FUZZ_TENSOR)
	struct adcnn_tensor *t = NULL;
	if (adcnn_tensor_decode(ctx, data, size, &t, NULL) == ADCNN_OK)
		adcnn_tensor_free(t);
	if (adcnn_npy_parse(ctx, data, size, &t) == ADCNN_OK)
		adcnn_tensor_free(t);
	if (adcnn_onnx_tensor_parse(ctx, data, size, &t) == ADCNN_OK)
		adcnn_tensor_free(t);
#elif defined(FUZZ_MODEL)
	struct adcnn_model *m = NULL;
	if (adcnn_model_load_mem(ctx, data, size, &m) == ADCNN_OK)
		adcnn_model_free(m);
#elif defined(FUZZ_INPUT)
	struct adcnn_model *m = NULL;
	static uint8_t *model;
	static size_t model_len;
	if (model == NULL) {
		const char *p = getenv("FUZZ_MODEL_PATH");
		if (p == NULL || adcnn_file_read(ctx, p, &model, &model_len) != ADCNN_OK)
			abort();
	}
	if (adcnn_model_load_mem(ctx, model, model_len, &m) == ADCNN_OK) {
		struct adcnn_prep prep;
		struct adcnn_tensor *t = NULL;
		char path[64];
		int fd = memfd(data, size);
		adcnn_prep_init(&prep);
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		if (adcnn_input_load(ctx, m, path, &prep, &t) == ADCNN_OK)
			adcnn_tensor_free(t);
		close(fd);
		adcnn_model_free(m);
	}
#else
#error "define one of FUZZ_BUNDLE, FUZZ_TENSOR, FUZZ_MODEL, FUZZ_INPUT"
#endif
	adcnn_ctx_free(ctx);
	return 0;
}
