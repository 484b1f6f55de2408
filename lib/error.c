/* error.c: the numbered statuses, the context that keeps the detail, and versions. */
#include "config.h"
#include "internal.h"
#include <archive.h>
#include <blis.h>
#include <protobuf-c/protobuf-c.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

struct adcnn_ctx *adcnn_ctx_new(void)
{
	struct adcnn_ctx *ctx = calloc(1, sizeof(*ctx));

	if (sodium_init() < 0) {
		free(ctx);
		return NULL;
	}
	return ctx;
}

void adcnn_ctx_free(struct adcnn_ctx *ctx)
{
	free(ctx);
}

const char *adcnn_ctx_error(const struct adcnn_ctx *ctx)
{
	if (ctx->msg[0] == '\0')
		return adcnn_strerror(ctx->status);
	return ctx->msg;
}

enum adcnn_status adcnn_set_error(struct adcnn_ctx *ctx, enum adcnn_status st, const char *fmt, ...)
{
	va_list ap;

	if (ctx == NULL)
		return st;
	ctx->status = st;
	va_start(ap, fmt);
	vsnprintf(ctx->msg, sizeof(ctx->msg), fmt, ap);
	va_end(ap);
	return st;
}

const char *adcnn_strerror(enum adcnn_status status)
{
	switch (status) {
	case ADCNN_OK: return "success";
	case ADCNN_ERR_NOMEM: return "out of memory";
	case ADCNN_ERR_IO: return "input/output error";
	case ADCNN_ERR_FORMAT: return "malformed data";
	case ADCNN_ERR_VERSION: return "unsupported format version";
	case ADCNN_ERR_HASH: return "hash mismatch";
	case ADCNN_ERR_UNSUPPORTED: return "not supported";
	case ADCNN_ERR_MISMATCH: return "data does not match";
	case ADCNN_ERR_MISSING: return "not found";
	case ADCNN_ERR_PARTIAL: return "tiles missing";
	case ADCNN_ERR_INVALID: return "invalid argument";
	case ADCNN_ERR_INTERNAL: return "internal error";
	}
	return "unknown status";
}

const char *adcnn_version(void)
{
	return PACKAGE_VERSION;
}

void adcnn_versions_print(FILE *fp)
{
	fprintf(fp, "bundle format %d.%d\n", ADCNN_BUNDLE_MAJOR, ADCNN_BUNDLE_MINOR);
	/* its configuration: the kernels it chose for this CPU (generic: none of its own) */
	fprintf(fp, "BLIS %s (%s)\n", bli_info_get_version_str(), bli_arch_string(bli_arch_query_id()));
	if (adcnn_gemm_bits() != 0)
		fprintf(fp, "GEMM: adcnn's own, %d-bit vectors\n", adcnn_gemm_bits());
	fprintf(fp, "%s\n", archive_version_string());
	fprintf(fp, "libsodium %s\n", sodium_version_string());
	fprintf(fp, "zstd %s\n", ZSTD_versionString());
	fprintf(fp, "protobuf-c %s\n", protobuf_c_version());
}
