/* adcnn: the one public header of the library every adcnn tool links.
 * Objects are opaque; every call reports a status and keeps the detail in a context. */
#ifndef ADCNN_H
#define ADCNN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define ADCNN_BUNDLE_MAJOR 1
#define ADCNN_BUNDLE_MINOR 0

/* Numbered once, never renumbered. */
enum adcnn_status {
	ADCNN_OK = 0,
	ADCNN_ERR_NOMEM = 1,       /* out of memory */
	ADCNN_ERR_IO = 2,          /* read or write failed */
	ADCNN_ERR_FORMAT = 3,      /* malformed or truncated data */
	ADCNN_ERR_VERSION = 4,     /* unknown format version */
	ADCNN_ERR_HASH = 5,        /* a member's hash does not check out */
	ADCNN_ERR_UNSUPPORTED = 6, /* operator, attribute or dtype not supported */
	ADCNN_ERR_MISMATCH = 7,    /* wrong model, job or shape for the data */
	ADCNN_ERR_MISSING = 8,     /* a file or cached model is missing */
	ADCNN_ERR_PARTIAL = 9,     /* tiles missing from a result */
	ADCNN_ERR_INVALID = 10,    /* a caller's argument is out of range */
	ADCNN_ERR_INTERNAL = 11    /* a bug */
};

enum adcnn_mode { ADCNN_MODE_FDSP = 0, ADCNN_MODE_HALO = 1 };

enum adcnn_kind { ADCNN_KIND_TILES = 0, ADCNN_KIND_RESULTS = 1, ADCNN_KIND_PACKED = 2 };

struct adcnn_ctx;     /* error detail of the last failed call */
struct adcnn_tensor;  /* float32 (or int64) tensor, row-major */
struct adcnn_model;   /* a loaded ONNX model */
struct adcnn_plan;    /* split point and tile grid for one input */
struct adcnn_bundle;  /* the members of one or more bundles, read or to be written */

/* context and errors */
struct adcnn_ctx *adcnn_ctx_new(void);
void adcnn_ctx_free(struct adcnn_ctx *ctx);
const char *adcnn_ctx_error(const struct adcnn_ctx *ctx);
const char *adcnn_strerror(enum adcnn_status status);

/* versions, for -V */
const char *adcnn_version(void);
void adcnn_versions_print(FILE *fp);

/* what is wrong with the environment's ADCNN_CONV and ADCNN_GEMM (a message), or NULL: each
 * unset, empty or known (an unknown value is taken for the automatic choice) */
const char *adcnn_env_error(void);

/* tensors */
struct adcnn_tensor *adcnn_tensor_new(int rank, const int64_t *dims);
void adcnn_tensor_free(struct adcnn_tensor *t);
int adcnn_tensor_rank(const struct adcnn_tensor *t);
int64_t adcnn_tensor_dim(const struct adcnn_tensor *t, int i);
size_t adcnn_tensor_count(const struct adcnn_tensor *t);
float *adcnn_tensor_data(struct adcnn_tensor *t);
enum adcnn_status adcnn_npy_read(struct adcnn_ctx *ctx, const char *path, struct adcnn_tensor **out);
enum adcnn_status adcnn_npy_write(struct adcnn_ctx *ctx, const struct adcnn_tensor *t, FILE *fp);

/* models */
enum adcnn_status adcnn_model_load(struct adcnn_ctx *ctx, const char *path, struct adcnn_model **out);
/* ADCNN_LOAD_RUN_ONLY: the model is run, never cut into a sub-model: its protobuf source is
 * let go while loading, so it is held once in memory, not twice */
#define ADCNN_LOAD_RUN_ONLY 1
/* ADCNN_LOAD_CACHED (implies RUN_ONLY): through the node's cache: the model's ready form,
 * mapped, when one is there (the file is only hashed), else parsed and its ready form stored */
#define ADCNN_LOAD_CACHED 2
enum adcnn_status adcnn_model_load_ex(struct adcnn_ctx *ctx, const char *path, int flags,
                                      struct adcnn_model **out);
enum adcnn_status adcnn_model_load_mem(struct adcnn_ctx *ctx, const void *buf, size_t len,
                                       struct adcnn_model **out);
void adcnn_model_free(struct adcnn_model *m);
/* frees what only cutting out a prefix sub-model needs (adcnn_plan_new): the protobuf */
void adcnn_model_drop_source(struct adcnn_model *m);
const char *adcnn_model_hash(const struct adcnn_model *m); /* 64 hex digits */
const char *adcnn_model_meta(const struct adcnn_model *m, const char *key);
const char *adcnn_model_input_name(const struct adcnn_model *m);

/* inputs: images are resized and normalized, tensors taken as they are */
struct adcnn_prep {
	int resize_w, resize_h;          /* 0: the model's input size or metadata */
	double scale;                    /* < 0: from metadata, else 1/255 */
	int nmean, nstd;                 /* 0: from metadata */
	double mean[4], std[4];
};
void adcnn_prep_init(struct adcnn_prep *p);
enum adcnn_status adcnn_input_load(struct adcnn_ctx *ctx, const struct adcnn_model *m,
                                   const char *path, const struct adcnn_prep *prep,
                                   struct adcnn_tensor **out);

/* planning */
struct adcnn_plan_opts {
	int rows, cols;
	enum adcnn_mode mode;
	const char *split; /* NULL or "auto" */
};
enum adcnn_status adcnn_plan_new(struct adcnn_ctx *ctx, const struct adcnn_model *m,
                                 const struct adcnn_tensor *input,
                                 const struct adcnn_plan_opts *opts, struct adcnn_plan **out);
void adcnn_plan_free(struct adcnn_plan *p);
int adcnn_plan_tiles(const struct adcnn_plan *p);
const char *adcnn_plan_tile_id(const struct adcnn_plan *p, int i);
void adcnn_plan_print(const struct adcnn_plan *p, FILE *fp);
/* FLOPs of every tile's prefix and of the unpartitioned prefix, and the difference */
void adcnn_plan_flops_print(const struct adcnn_plan *p, FILE *fp);

/* bundles */
enum adcnn_status adcnn_partition(struct adcnn_ctx *ctx, const struct adcnn_model *m,
                                  const struct adcnn_plan *p, const struct adcnn_tensor *input,
                                  int tile, int embed, struct adcnn_bundle **out);
enum adcnn_status adcnn_prefix_cache_store(struct adcnn_ctx *ctx, const struct adcnn_model *m,
                                           const struct adcnn_plan *p);
enum adcnn_status adcnn_bundle_read(struct adcnn_ctx *ctx, int fd, const char *name,
                                    struct adcnn_bundle **inout);
enum adcnn_status adcnn_bundle_write(struct adcnn_ctx *ctx, const struct adcnn_bundle *b, int fd);
void adcnn_bundle_free(struct adcnn_bundle *b);
enum adcnn_kind adcnn_bundle_kind(const struct adcnn_bundle *b);
int adcnn_bundle_count(const struct adcnn_bundle *b); /* MANIFESTs read */
int adcnn_bundle_tiles(const struct adcnn_bundle *b);  /* tile members held */

/* running: tile bundle in, result bundle out */
struct adcnn_run_opts {
	int threads;
	const char *model_path; /* NULL: embedded or cached */
	int verbose;
	uint64_t flops;         /* out: the work done, for a node's speed */
	double seconds;         /* out: wall time of running the tiles */
	int keep_model;         /* keep the prefix model loaded in model, for later runs */
	struct adcnn_model *model; /* in/out: a model kept by an earlier run, used again by a
	                            * bundle of the same prefix; the caller frees it
	                            * (adcnn_model_free) */
};
enum adcnn_status adcnn_run(struct adcnn_ctx *ctx, const struct adcnn_bundle *tiles,
                            struct adcnn_run_opts *opts, struct adcnn_bundle **out);

/* packing */
enum adcnn_clip { ADCNN_CLIP_AUTO = 0, ADCNN_CLIP_NONE = 1, ADCNN_CLIP_VALUE = 2, ADCNN_CLIP_PERCENTILE = 3 };
/* zstd on one byte a code, zstd on bit planes, or rANS with tables per group of channels */
/* the number is the member's coder byte; 3 was a rANS of four states with bytes out, which
 * no longer is read or written */
enum adcnn_coder { ADCNN_CODER_BYTES = 1, ADCNN_CODER_PLANES = 2, ADCNN_CODER_RANS = 4 };
struct adcnn_pack_opts {
	int lossless;           /* keep float32 exactly; the rest is for quantization */
	int bits;               /* 1 to 8 */
	enum adcnn_clip clip;
	double clip_value;      /* the value, or the percentile of |x| */
	enum adcnn_coder coder;
	int level;              /* zstd level */
};
void adcnn_pack_opts_init(struct adcnn_pack_opts *o);
enum adcnn_status adcnn_pack(struct adcnn_ctx *ctx, struct adcnn_bundle *b,
                             const struct adcnn_pack_opts *o);
enum adcnn_status adcnn_unpack(struct adcnn_ctx *ctx, struct adcnn_bundle *b);

/* merging: stitch the split tensor, run the tail */
struct adcnn_merge_opts {
	int allow_missing;
	int nmissing;       /* out: tiles missing */
	char missing[256];  /* out: their names, comma-separated */
};
enum adcnn_status adcnn_merge(struct adcnn_ctx *ctx, const struct adcnn_model *m,
                              const struct adcnn_bundle *results,
                              struct adcnn_merge_opts *opts, struct adcnn_tensor **stitched,
                              struct adcnn_tensor **output, int *ends_in_softmax);

/* top-k of a class vector */
enum adcnn_status adcnn_topk(struct adcnn_ctx *ctx, const struct adcnn_tensor *out, int softmax,
                             int k, int *idx, float *prob, int *nout);

#endif
