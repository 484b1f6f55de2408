/* internal.h: the library's own structures and functions, shared by lib/ and the unit tests. */
#ifndef ADCNN_INTERNAL_H
#define ADCNN_INTERNAL_H

#include "adcnn.h"
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>

#define ADCNN_MAX_RANK 8
#define ADCNN_MAX_ELEMS ((size_t)1 << 31) /* 8 GiB of float32: beyond any edge node */
#define ADCNN_SLACK 64 /* bytes allocated past every buffer BLIS reads (see tensor.c) */

struct adcnn_ctx {
	enum adcnn_status status;
	char msg[1024];
};

enum adcnn_status adcnn_set_error(struct adcnn_ctx *ctx, enum adcnn_status st, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* pool.c: buffers of large tensors and workspaces, kept for reuse. get: at least bytes
 * (zeroed if zero), on a cache line, its capacity to *cap (0 where the pool does not keep
 * it); put: back, by that capacity; trim: every kept buffer freed; stats: how many are kept,
 * their bytes, and how many were made */
void *adcnn_pool_get(size_t bytes, bool zero, size_t *cap);
void adcnn_pool_put(void *p, size_t cap);
void adcnn_pool_trim(void);
int adcnn_pool_stats(size_t *bytes, unsigned long *made);

/* tensor.c */
enum adcnn_dtype { ADCNN_F32 = 1, ADCNN_I64 = 7 };

struct adcnn_tensor {
	enum adcnn_dtype dtype;
	int rank;
	int64_t dims[ADCNN_MAX_RANK];
	size_t n;
	union {
		float *f;
		int64_t *i;
		void *p;
	} d;
	bool borrowed; /* the data lives in a mapping the tensor does not own */
	size_t cap;    /* bytes of the data's buffer where pool.c keeps it on free, else 0 */
	/* a convolution's weights repacked for pgemm.c: mapped from the ready form, or made on
	 * first use in a model parsed from ONNX (NULL until then) */
	_Atomic(void *) packed;
	bool packed_borrowed;
};

bool adcnn_dims_count(int rank, const int64_t *dims, size_t *n);
struct adcnn_tensor *adcnn_tensor_new_typed(enum adcnn_dtype dt, int rank, const int64_t *dims);
/* float32, contents undefined: for ops that write every value */
struct adcnn_tensor *adcnn_tensor_new_uninit(int rank, const int64_t *dims);
struct adcnn_tensor *adcnn_tensor_clone(const struct adcnn_tensor *t);
bool adcnn_tensor_same_shape(const struct adcnn_tensor *a, const struct adcnn_tensor *b);
void adcnn_shape_str(int rank, const int64_t *dims, char *buf, size_t len);
enum adcnn_status adcnn_npy_parse(struct adcnn_ctx *ctx, const uint8_t *buf, size_t len,
                                  struct adcnn_tensor **out);
/* tensor members of bundles */
enum adcnn_enc { ADCNN_ENC_F32 = 1, ADCNN_ENC_LOSSLESS = 2, ADCNN_ENC_QUANT = 3, ADCNN_ENC_LOSSLESS_RANS = 4 };
#define ADCNN_TENSOR_MAGIC "ADCT"
enum adcnn_status adcnn_tensor_encode(struct adcnn_ctx *ctx, const struct adcnn_tensor *t,
                                      enum adcnn_enc enc, int level, uint8_t **buf, size_t *len);
enum adcnn_status adcnn_tensor_encode_quant(struct adcnn_ctx *ctx, const struct adcnn_tensor *t,
                                            const struct adcnn_pack_opts *o, uint8_t **buf,
                                            size_t *len);
size_t adcnn_channel_len(int rank, const int64_t *dims, size_t n);
/* quant.c */
#include <zstd.h>
ZSTD_CCtx *adcnn_zstd_cctx(void);
ZSTD_DCtx *adcnn_zstd_dctx(void);
/* seg: the values of a channel (the planes of an NCHW tensor), which coder 4 groups by; *out
 * starts with room bytes left for the caller (a member's header), which *outlen counts */
enum adcnn_status adcnn_quant_encode(struct adcnn_ctx *ctx, const float *x, size_t n, size_t seg,
                                     const struct adcnn_pack_opts *o, size_t room, uint8_t **out,
                                     size_t *outlen);
enum adcnn_status adcnn_quant_check(struct adcnn_ctx *ctx, const uint8_t *p, size_t len, size_t n);
enum adcnn_status adcnn_quant_decode(struct adcnn_ctx *ctx, const uint8_t *p, size_t len,
                                     float *out, size_t n, size_t seg);
/* A reader allocates for n values only if the payload could hold them: at most this many
 * values a byte (zstd's own limit is about 32768: a block of up to 128 KiB in 3 bytes and a
 * bit). The rANS coder can code a value in nothing; where it did, the writers (quant.c,
 * lossless.c) fall back to zstd. */
#define ADCNN_MAX_VALUES_PER_BYTE 32768
/* lossless.c: float32 exactly, tensor encoding 4 (the payload after the tensor header);
 * encode leaves room bytes at the front of *out, and makes *out NULL where the coder made so
 * few bytes that a reader would refuse them (the caller then takes encoding 2) */
enum adcnn_status adcnn_lossless_encode(struct adcnn_ctx *ctx, const float *x, size_t n, size_t seg,
                                        size_t room, uint8_t **out, size_t *outlen);
enum adcnn_status adcnn_lossless_check(struct adcnn_ctx *ctx, const uint8_t *p, size_t len, size_t n);
enum adcnn_status adcnn_lossless_decode(struct adcnn_ctx *ctx, const uint8_t *p, size_t len, float *y,
                                        size_t n, size_t seg);
/* for the tests: whether lossless.c splits and joins eight values a step by AVX2 (the same
 * bytes as one at a time), as it does where the machine has it unless told; returns whether
 * it now does */
bool adcnn_lossless_vector(bool on);
/* rans.c */
#define ADCNN_RANS_PROB_BITS 12
#define ADCNN_RANS_MAX_SYMS 24
/* payloads of at most this many bytes are decoded from a copy (lib/rans.c) */
#define ADCNN_RANS_COPY_MAX 65536
int adcnn_rans_alphabet(int bits);
size_t adcnn_rans_bound(size_t n, size_t seg);
size_t adcnn_rans_encode(const uint8_t *codes, size_t n, size_t seg, int bits, int zp, uint8_t *out);
/* the same with the channels' models left out of the choice where !models_too (only the
 * groups' tables: the lossless exponents', which the models seldom suit) */
size_t adcnn_rans_encode_with(const uint8_t *codes, size_t n, size_t seg, int bits, int zp, bool models_too,
                              uint8_t *out);
/* for the tests: whether the coder takes its paths by pext and pdep (codes of more than 4
 * bits), where the machine's are fast, as it does unless told; returns whether it now does */
bool adcnn_rans_pext(bool on);
/* for the tests: whether the channels' histograms are counted by vectors (AVX2), as they
 * are unless told; returns whether they now are */
bool adcnn_rans_vector_counts(bool on);
bool adcnn_rans_decode(const uint8_t *in, size_t len, size_t n, size_t seg, int bits, int zp,
                       uint8_t *codes);
/* ranslanes.c: the eight interleaved states of rans.c's coder (symbol i in state i % 8, each
 * in [ADCNN_RANS_L, 2^31)). adcnn_rans_put codes nseg segments of seg codes, c[0, nseg seg),
 * last first, the first of them symbol i0 of the tensor, into the states st, writing 16-bit
 * words backward from *p (and up to 16 bytes below the last one written); the symbol of
 * code c is by[c] (by has 3 readable bytes past its last code; NULL: the codes are the
 * symbols), whose frequency << 16 | start in segment s is fs[s][by[c]] (each fs[s] has
 * ADCNN_RANS_MAX_SYMS entries, nsym of them used). _plain: the same, one at a time, on any
 * machine (the tests compare them). */
/* c -> c, and 4 zeros past the last: the symbols of codes that are their own */
extern const uint8_t adcnn_rans_ident[256 + 4];
#define ADCNN_RANS_LANES 8
#define ADCNN_RANS_L (1u << 15)
void adcnn_rans_put(uint32_t *st, uint8_t **p, const uint32_t *const *fs, const uint8_t *by, int bits,
                    int nsym, const uint8_t *c, size_t i0, size_t seg, size_t nseg);
void adcnn_rans_put_plain(uint32_t *st, uint8_t **p, const uint32_t *const *fs, const uint8_t *by,
                          int nsym, const uint8_t *c, size_t i0, size_t seg, size_t nseg);
/* qmodel.c: coder 4's parametric tables: ADCNN_QMODELS models for codes of `bits` bits
 * around zp whose symbols are sym[code] (nsym of them), made as they are first asked for */
#define ADCNN_QMODEL_NMU 32
#define ADCNN_QMODEL_NSIG 16
#define ADCNN_QMODELS (ADCNN_QMODEL_NMU * ADCNN_QMODEL_NSIG)
struct adcnn_qmodel {
	uint16_t freq[ADCNN_RANS_MAX_SYMS];
	uint16_t start[ADCNN_RANS_MAX_SYMS + 1];
	/* the encoder's entries by symbol: freq << 16 | start */
	uint32_t fs[ADCNN_RANS_MAX_SYMS];
	/* whether the set's dec[k] is made (by rans.c, at the model's first use there) */
	bool dec_ready;
};
struct adcnn_qmodels {
	int bits, zp, nsym;
	uint8_t sym[256];
	/* the codes' runs of one symbol, in code order: run r is codes [run_lo[r], run_hi[r]]
	 * of symbol run_sym[r] (the coder's symbols: two runs a symbol at most) */
	int nrun;
	uint8_t run_lo[256], run_hi[256], run_sym[256];
	const float *cost_of; /* bits a symbol of each frequency */
	/* for the search: the mean code of each symbol and its square, 0 past nsym (a symbol of
	 * more than one code is a power of two of them, at most 64: the mean a multiple of
	 * 1/64, so that a channel's sums, below 2^24 codes, are exact in any order) */
	double rep[ADCNN_RANS_MAX_SYMS], rep2[ADCNN_RANS_MAX_SYMS];
	uint8_t ready[ADCNN_QMODELS];
	/* bits a symbol, by cost_of (0 past nsym: sums can run over all MAX_SYMS); apart from
	 * the models, 48 KiB together, where the search for a channel's model reads them */
	float cost[ADCNN_QMODELS][ADCNN_RANS_MAX_SYMS];
	struct adcnn_qmodel m[ADCNN_QMODELS];
	/* each width's distribution functions by distance from the zero point, 2^(bits + 1)
	 * values a model (qmodel.c), whichever zero point the set is for */
	double *dist[9];
	uint8_t dist_ready[9][ADCNN_QMODELS];
	/* the decoder's symbol of each slot; last, so that an encoder never touches its 2 MiB */
	uint8_t dec[ADCNN_QMODELS][1 << ADCNN_RANS_PROB_BITS];
};
/* the calling thread's set for (bits, zp), emptied if it was another's; NULL when out of memory */
struct adcnn_qmodels *adcnn_qmodels(int bits, int zp, const uint8_t *sym, int nsym, const float *cost_of);
void adcnn_qmodel_make(struct adcnn_qmodels *q, int k);
/* The models of channels [s0, s1) (model[s]; histograms of symbols ADCNN_RANS_MAX_SYMS
 * apart) while their bits, added to sum, stay below limit; the sum (at or above limit where
 * given up). Each from the mean and spread of its codes, downhill on the grid. */
double adcnn_qmodels_fit(struct adcnn_qmodels *q, const uint32_t *seghist, size_t s0, size_t s1,
                         double sum, double limit, uint16_t *model);
/* The same for channels [s0, nseg) of seg codes each (at most ADCNN_QMODEL_BOUND_SEG; an
 * alphabet a multiple of 4), and given up too once the bits fitted and a bound from below
 * of those of the channels left reach limit: their entropy at frequencies rounded up, which
 * no model can beat (the choice the whole search would make, in less of it) */
#define ADCNN_QMODEL_BOUND_SEG 4096
double adcnn_qmodels_bounded(struct adcnn_qmodels *q, const uint32_t *seghist, size_t s0,
                             size_t nseg, size_t seg, double sum, double limit, uint16_t *model);
static inline struct adcnn_qmodel *adcnn_qmodel(struct adcnn_qmodels *q, int k)
{
	if (!q->ready[k])
		adcnn_qmodel_make(q, k);
	return &q->m[k];
}
enum adcnn_status adcnn_tensor_decode(struct adcnn_ctx *ctx, const uint8_t *buf, size_t len,
                                      struct adcnn_tensor **out, enum adcnn_enc *enc);
static inline uint32_t adcnn_le32dec(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t adcnn_le64dec(const uint8_t *p)
{
	return (uint64_t)adcnn_le32dec(p) | (uint64_t)adcnn_le32dec(p + 4) << 32;
}
static inline void adcnn_le32enc(uint8_t *p, uint32_t v)
{
	p[0] = v & 0xff; p[1] = (v >> 8) & 0xff; p[2] = (v >> 16) & 0xff; p[3] = v >> 24;
}
static inline void adcnn_le64enc(uint8_t *p, uint64_t v)
{
	adcnn_le32enc(p, (uint32_t)v);
	adcnn_le32enc(p + 4, (uint32_t)(v >> 32));
}

/* hash.c */
#define ADCNN_HASH_HEX 65
void adcnn_hash_hex(const void *buf, size_t len, char hex[ADCNN_HASH_HEX]);
/* of a file's bytes, read a piece at a time */
enum adcnn_status adcnn_hash_file(struct adcnn_ctx *ctx, const char *path, char hex[ADCNN_HASH_HEX]);

/* graph.c: the model after loading */
enum adcnn_op {
	OP_CONV, OP_BATCHNORM, OP_RELU, OP_LEAKYRELU, OP_CLIP, OP_SIGMOID, OP_HARDSIGMOID,
	OP_HARDSWISH, OP_MAXPOOL, OP_AVGPOOL, OP_GAP, OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_CONCAT,
	OP_FLATTEN, OP_RESHAPE, OP_GEMM, OP_MATMUL, OP_SOFTMAX, OP_IDENTITY, OP_SHAPE, OP_GATHER,
	OP_UNSQUEEZE, OP_SQUEEZE, OP_CONSTANT, OP_CAST, OP__COUNT
};

struct adcnn_node {
	char *name;
	enum adcnn_op op;
	int nin, nout;
	int *in, *out; /* value ids; -1 for an omitted optional input */
	/* attributes, by op */
	int kernel[2], stride[2], dil[2], pad[4]; /* pad: top, left, bottom, right */
	int auto_pad;                            /* 0 NOTSET, 1 SAME_UPPER, 2 SAME_LOWER, 3 VALID */
	int group, ceil_mode, count_include_pad;
	int axis, trans_a, trans_b, allowzero, to;
	float alpha, beta, fmin, fmax, eps;
	int64_t *axes;
	int naxes;
	bool legacy_softmax; /* opset < 13: coerce to 2-D at axis */
};

struct adcnn_value {
	char *name;
	struct adcnn_tensor *init; /* initializer or folded constant, else NULL */
	int producer;              /* node index, -1 for graph inputs and constants */
	int nuse;
};

struct adcnn_graph {
	struct adcnn_value *values;
	int nvalues, cap_values;
	struct adcnn_node *nodes;
	int nnodes;
	int input;          /* the one non-constant graph input */
	int *outputs;
	int noutputs;
	int opset;
};

int adcnn_graph_value(struct adcnn_graph *g, const char *name, bool create);
void adcnn_graph_release(struct adcnn_graph *g);
enum adcnn_status adcnn_graph_finish(struct adcnn_ctx *ctx, struct adcnn_graph *g);
enum adcnn_status adcnn_graph_check(struct adcnn_ctx *ctx, struct adcnn_graph *g);
void adcnn_graph_reindex(struct adcnn_graph *g);
const char *adcnn_op_name(enum adcnn_op op);
bool adcnn_op_spatial(const struct adcnn_graph *g, const struct adcnn_node *n);

struct adcnn_model {
	struct adcnn_graph g;
	char hash[ADCNN_HASH_HEX];
	void *proto;          /* the unpacked Onnx__ModelProto, for sub-model extraction */
	char **meta_keys, **meta_vals;
	int nmeta;
	int64_t in_dims[ADCNN_MAX_RANK];
	int in_rank;
	void *map;            /* the ready form this model's weights are in, or NULL */
	size_t map_len;
};

/* ready.c */
enum adcnn_status adcnn_ready_store(struct adcnn_ctx *ctx, const struct adcnn_model *m);
enum adcnn_status adcnn_ready_load(struct adcnn_ctx *ctx, const char *hash, struct adcnn_model **out);
/* an ONNX file, through the cache: its ready form if there is one, else parsed (and its ready
 * form stored for the next time) */
enum adcnn_status adcnn_model_load_cached(struct adcnn_ctx *ctx, const char *path,
                                          struct adcnn_model **out);

/* onnx.c */
/* takes buf over and frees it as soon as it is parsed; keeps no source (run only); hash:
 * the bytes' hash where the caller has checked it already, else NULL */
enum adcnn_status adcnn_model_load_owned(struct adcnn_ctx *ctx, uint8_t *buf, size_t len,
                                         const char *hash, struct adcnn_model **out);
enum adcnn_status adcnn_onnx_tensor_parse(struct adcnn_ctx *ctx, const uint8_t *buf, size_t len,
                                          struct adcnn_tensor **out);
enum adcnn_status adcnn_onnx_submodel(struct adcnn_ctx *ctx, const struct adcnn_model *m,
                                      const char *split, uint8_t **buf, size_t *len);

/* exec.c: running a graph, whole or on a halo tile */
struct adcnn_region {
	int r0, r1, c0, c1; /* rows and columns held, in full-tensor coordinates */
	int H, W;           /* the full tensor's height and width */
};
struct adcnn_exec_opts {
	const bool *run_node;             /* NULL: all nodes */
	const struct adcnn_region *region; /* per value, NULL: plain execution */
};
enum adcnn_status adcnn_graph_run(struct adcnn_ctx *ctx, const struct adcnn_graph *g,
                                  int in_value, struct adcnn_tensor *input, int out_value,
                                  const struct adcnn_exec_opts *opts, struct adcnn_tensor **out);

/* ops.c and conv.c */
struct adcnn_geom { /* where a spatial op's input and output sit in the full tensors */
	int in_r0, in_c0, in_H, in_W;
	int out_r0, out_r1, out_c0, out_c1;
};
struct adcnn_act;
/* n on in[0] in place, where its output can take in[0]'s memory; act (NULL: none) applied
 * after an Add, whose one reader it is. True if done. */
bool adcnn_op_inplace(const struct adcnn_node *n, struct adcnn_tensor **in, const struct adcnn_act *act);
enum adcnn_status adcnn_op_run(struct adcnn_ctx *ctx, const struct adcnn_node *n,
                               struct adcnn_tensor **in, struct adcnn_tensor **out,
                               const struct adcnn_geom *geom);
/* output size and begin pads of a Conv or pool along one axis (0 rows, 1 columns) */
int adcnn_window_out(const struct adcnn_node *n, int axis, int in, int *pad_begin, int *pad_end);
/* the output columns [lo, hi) of a window op whose input column ox*stride + base lies in [0, w) */
void adcnn_valid_cols(int base, int stride, int w, int ow, int *lo, int *hi);
void adcnn_thread_release(void);
void adcnn_sgemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float *a,
                 int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc);
/* sgemm.c: the GEMM adcnn_sgemm runs where BLIS has only its generic kernels (false: out of
 * memory); the width in bits of its kernel in use, 0 where adcnn_sgemm runs BLIS; set (tests:
 * 0 BLIS, 128, 256 or 512 bits; false: not on this machine) */
bool adcnn_own_sgemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float *a,
                     int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc);
int adcnn_gemm_bits(void);
bool adcnn_gemm_set(int bits);
/* whether ADCNN_GEMM's value e is one sgemm.c knows (blis, own) */
bool adcnn_gemm_known(const char *e);
enum adcnn_status adcnn_conv_run(struct adcnn_ctx *ctx, const struct adcnn_node *n,
                                 const struct adcnn_tensor *x, const struct adcnn_tensor *w,
                                 const struct adcnn_tensor *b, struct adcnn_tensor **out,
                                 const struct adcnn_geom *geom);
/* an activation a Conv applies in its output pass (Relu, or Clip to [lo, hi]), the next
 * node's work done while the output is still in cache */
struct adcnn_act {
	enum adcnn_op op; /* OP_RELU or OP_CLIP */
	float lo, hi;
};
bool adcnn_act_fusable(const struct adcnn_node *n, struct adcnn_act *act);
enum adcnn_status adcnn_conv_run_act(struct adcnn_ctx *ctx, const struct adcnn_node *n,
                                     const struct adcnn_tensor *x, const struct adcnn_tensor *w,
                                     const struct adcnn_tensor *b, struct adcnn_tensor **out,
                                     const struct adcnn_geom *geom, const struct adcnn_act *act);
void adcnn_act_apply(const struct adcnn_act *act, float *p, size_t n);
/* adcnn_act_apply's loop, for kernels that apply it to a piece in the L1 cache without a
 * call: exactly what unary() computes for Relu and Clip (NaN: 0 for Relu, kept by Clip) */
static inline void adcnn_act_loop(const struct adcnn_act *act, float *restrict p, size_t n)
{
	if (act == NULL)
		return;
	if (act->op == OP_RELU) {
		for (size_t i = 0; i < n; i++)
			p[i] = p[i] > 0.0f ? p[i] : 0.0f;
	} else {
		float lo = act->lo, hi = act->hi;
		for (size_t i = 0; i < n; i++) {
			float v = p[i] < lo ? lo : p[i];
			p[i] = v > hi ? hi : v;
		}
	}
}
void adcnn_bias_act(const struct adcnn_act *act, float bias, float *p, size_t n);
/* the calling thread's scratch memory (im2col columns, Winograd transforms), grown as needed
 * and kept until adcnn_thread_release */
float *adcnn_workspace(size_t n);
/* pgemm.c: the GEMM of a convolution with few output positions; panels of 32 output
 * channels, the p-th of them computed by adcnn_pgemm: y[m][n] (m in the panel, n < ncol) =
 * bias + sum over k of w[m][k] x[k][n], then the activation */
const float *adcnn_conv_panels(const struct adcnn_tensor *w, int M, size_t K);
void adcnn_conv_panels_free(struct adcnn_tensor *w);
/* whether value v of g is the weights of a Conv that the ready form keeps in panels too, and
 * the floats of those panels */
size_t adcnn_panels_wanted(const struct adcnn_graph *g, int v);
bool adcnn_panels_worth(int M, size_t K);
void adcnn_panels_fill(const float *w, int M, size_t K, float *p);
#define ADCNN_PGEMM_NR 7 /* output columns a tile of adcnn_pgemm */
void adcnn_pgemm(const float *panels, int M, int p, size_t K, const float *x, size_t ldx,
                 int ncol, float *y, size_t ldy, const float *bias, const struct adcnn_act *act);
/* the same on x read through taps rather than im2col's columns: row k of the GEMM's right
 * side at x + koff[k], output row r's column ox (of ow) at r rstep + ox sw; y's columns are
 * the nrow x ow outputs in order */
void adcnn_pgemm_taps(const float *panels, int M, int p, size_t K, const float *x, const int *koff,
                      int nrow, int ow, size_t rstep, int sw, float *y, size_t ldy, const float *bias,
                      const struct adcnn_act *act);
float *adcnn_scratch(size_t n);
/* sgemm.c's packed blocks: a third per-thread buffer of at least n floats, on a cache line
 * (conv.c) */
float *adcnn_gemm_space(size_t n);
/* a fourth, for what all the threads of one layer write or read (conv.c) */
float *adcnn_shared_space(size_t n);
/* pgemm8.c: adcnn_pgemm on 256-bit vectors, from x packed into tiles of at most 6 columns
 * (adcnn_pgemm8_tiles of them over ncol columns; adcnn_pgemm8_pack packs rows k0..k1 of
 * tiles t0..t1 of x, K rows ldx apart, into xp, K * ncol floats): panel p's rows of y, the
 * columns of tiles t0..t1, then the bias and activation */
size_t adcnn_pgemm8_tiles(size_t ncol);
void adcnn_pgemm8_pack(const float *x, size_t ldx, size_t K, size_t ncol, size_t t0, size_t t1,
                       size_t k0, size_t k1, float *xp);
/* the same packing of a convolution's rows k0..k1, every tile, read through its taps rather
 * than from im2col's columns: row k's value of column j at xs[koff[k - k0] + coff[j]] */
void adcnn_pgemm8_pack_taps(const float *xs, const int *koff, const int *coff, size_t K, size_t ncol,
                            size_t k0, size_t k1, float *xp);
void adcnn_pgemm8(const float *panels, int M, int p, size_t K, const float *xp, size_t ncol,
                  size_t t0, size_t t1, float *y, size_t ldy, const float *bias,
                  const struct adcnn_act *act);
/* rowgemm.c: a 1x1 stride-1 convolution's GEMM with the bias and activation, on 256-bit
 * or 512-bit vectors: y[m][n] = act(bias[m] + sum over k of w[m][k] x[k][n]) for m < M, n < ncol (w's
 * rows K apart, x's ldx, y's ldy); false: out of memory (the thread's scratch) */
bool adcnn_rowgemm(const float *w, int M, size_t K, const float *x, size_t ldx, size_t ncol,
                   float *y, size_t ldy, const float *bias, const struct adcnn_act *act);
/* conv.c: whether a 1x1 layer of K input channels and M outputs takes rowgemm.c's path; whether a
 * depthwise layer's window takes dwblock.c's (3x3, stride 1 or 2 both ways, dilation 1) */
bool adcnn_conv_rowgemm(size_t K, int M);
/* conv.c: whether the convolutions take 512-bit vectors (AVX-512) where they have kernels
 * for them (pgemm.c's, rowgemm.c's tiles of 32 positions) */
bool adcnn_wide_vectors(void);
/* conv.c: the floats a vector holds in the widest unit the kernels have a build for: 16
 * (AVX-512), 8 (AVX2 and FMA), 4 (the rest: SSE2, NEON) */
int adcnn_vector_floats(void);
bool adcnn_conv_depthwise3(const struct adcnn_node *n);
/* fuse.c: an expanding 1x1 Conv e (on rowgemm.c's path) and the 3x3 depthwise Conv d that
 * reads its output (after e's activation ae, if any), computed in bands of rows: d's output
 * after its activation ad, the same to the bit as the two run one after the other; rows: the
 * output rows a band (0: chosen by the cache's size; tests set it).
 * adcnn_fuse_fits: whether the pair (e's input x, weights we; d's weights wd) can and is
 * worth fusing */
bool adcnn_fuse_fits(const struct adcnn_node *e, const struct adcnn_tensor *x,
                     const struct adcnn_tensor *we, const struct adcnn_node *d,
                     const struct adcnn_tensor *wd);
enum adcnn_status adcnn_fuse_run(struct adcnn_ctx *ctx, const struct adcnn_node *e,
                                 const struct adcnn_tensor *x, const struct adcnn_tensor *we,
                                 const struct adcnn_tensor *be, const struct adcnn_act *ae,
                                 const struct adcnn_node *d, const struct adcnn_tensor *wd,
                                 const struct adcnn_tensor *bd, const struct adcnn_act *ad,
                                 int rows, struct adcnn_tensor **out);
/* dwblock.c: a 3x3 depthwise convolution (stride s, 1 or 2, dilation 1) of nl <= 8 channels
 * (planes h x w, xstride apart; weights k[l][9], bias NULL or bias[l]) into oh x ow output
 * planes (ystride apart), then the activation (NULL: none). r0, c0: the tile row and column
 * of the padded plane's first row and column (outside the tile: zeros); work:
 * adcnn_dw3_block_work(s, ow) floats */
#define ADCNN_DW_LANES 8
size_t adcnn_dw3_block_work(int s, int ow);
void adcnn_dw3_block(const float *x, size_t xstride, int nl, int h, int w, const float *k,
                     const float *bias, int s, int r0, int c0, int oh, int ow, float *y,
                     size_t ystride, const struct adcnn_act *act, float *work);

/* topology.c: what the machine's cores share. A list of CPUs in sysfs's form ("0-3,8\n")
 * into s (CPUs 0 to ADCNN_MAX_CPUS - 1); false if it is not one or names a CPU past those. */
#define ADCNN_MAX_CPUS 1024
struct adcnn_cpuset {
	uint64_t w[ADCNN_MAX_CPUS / 64];
};
bool adcnn_cpu_list_parse(const char *text, struct adcnn_cpuset *s);
/* whether every online CPU shares cpu0's cache of the highest level; false where that cannot
 * be read. _at: the same of a tree laid out as /sys/devices/system/cpu (tests) */
bool adcnn_cpus_share_cache(void);
bool adcnn_cpus_share_cache_at(const char *root);
/* the answer above made 0 or 1 (tests: both ways of sharing out Winograd's steps); -1: the
 * machine's again */
void adcnn_cpus_share_cache_set(int v);

/* parallel.c: threads inside an operator */
void adcnn_threads_set(int n); /* for the calling thread's operators, itself included */
int adcnn_threads_get(void);
/* how many threads run tiles at once, each with a workspace of its own, in the cache they
 * share (adcnn_run sets it for its tile threads; Winograd's workspace takes a share, so a
 * layer's workspace is sized and used on the same thread) */
void adcnn_cache_sharers_set(int n);
int adcnn_cache_sharers(void);
/* the parts an oh x ow output plane is cut into by rows, a part a thread, the calling
 * thread's first, for a layer shared among threads (adcnn_threads_for's count); 1: not cut
 * by rows */
int adcnn_row_parts(int threads, int oh, int ow);
/* the threads worth sharing an operator of this many FLOPs among: one below a minimum (4
 * MFLOP; the tests set 0, so that small operators share out their pieces too) */
int adcnn_threads_for(double flops);
/* sets the minimum; returns the one it replaces */
double adcnn_threads_min_set(double flops);
/* fn(arg, i) for every i in [0, n), on the calling thread and up to adcnn_threads_get() - 1
 * helpers; returns when all are done */
void adcnn_parallel(int n, void (*fn)(void *arg, int i), void *arg);
/* the same on at most threads threads (fewer where the work is too small to share) */
void adcnn_parallel_n(int threads, int n, void (*fn)(void *arg, int i), void *arg);
/* which convolution algorithm: 0 the fastest measured (default), 1 always im2col, 2 Winograd
 * wherever it applies, 3 the panel GEMM wherever it can (tests); else from
 * ADCNN_CONV=auto|im2col|winograd|panels, read at the first convolution */
void adcnn_conv_algo_set(int algo);

/* winograd.c: 3x3 stride-1 convolution, F(4x4, 3x3) */
bool adcnn_winograd_fits(int C, int M, int oh, int ow);
size_t adcnn_winograd_workspace(int C, int M, int oh, int ow);
/* whether the layer's threads (adcnn_threads_get) each take their tile rows through every
 * step, in their own workspaces (the calling thread's the one passed) */
bool adcnn_winograd_splits(int C, int M, int oh, int ow);
/* false: out of memory (the scratch of a thread) */
bool adcnn_winograd_conv(const float *x, int C, int h, int w, const float *wt, const float *bias,
                         int M, int row0, int col0, int oh, int ow, float *y, float *work,
                         const struct adcnn_act *act);

/* loops worth compiling for each vector unit, chosen at run time (one binary for AVX2 and
 * AVX-512 machines): x86-64-v4 (AVX-512 F/BW/CD/DQ/VL), v3 (AVX2 and FMA), the baseline;
 * elsewhere (ARM) the compiler's defaults */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define ADCNN_VECTORIZE __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define ADCNN_VECTORIZE
#endif
/* a vector of lanes of a and b (indices: a's lanes first, then b's), VI the integer vector
 * type of the indices, which GCC's builtin takes as a vector and clang's as constants */
#if defined(__clang__)
#define ADCNN_SHUFFLE(VI, a, b, ...) __builtin_shufflevector(a, b, __VA_ARGS__)
#else
#define ADCNN_SHUFFLE(VI, a, b, ...) __builtin_shuffle(a, b, (VI){__VA_ARGS__})
#endif
/* Fused multiply-adds: a * b + c in one instruction and one rounding where the machine has
 * it (ISO C mode keeps them apart). ADCNN_FMA_ON at the top of a file of kernels; quant.c
 * says ADCNN_FMA_OFF, so that a tensor packs to the same bytes on every host. */
#if defined(__clang__)
#define ADCNN_FMA_ON _Pragma("clang fp contract(fast)")
#define ADCNN_FMA_OFF _Pragma("clang fp contract(off)")
#elif defined(__GNUC__)
#define ADCNN_FMA_ON _Pragma("GCC optimize(\"fp-contract=fast\")")
#define ADCNN_FMA_OFF _Pragma("GCC optimize(\"fp-contract=off\")")
#else
#define ADCNN_FMA_ON
#define ADCNN_FMA_OFF
#endif
/* short copies and fills left as loops (GCC turns them into libc calls or rep movs, slow to
 * start on rows of a few floats) */
#if defined(__GNUC__) && !defined(__clang__)
#define ADCNN_PLAIN_LOOPS __attribute__((optimize("no-tree-loop-distribute-patterns")))
#else
#define ADCNN_PLAIN_LOOPS
#endif

/* flops.c */
uint64_t adcnn_graph_flops(const struct adcnn_graph *g, const bool *run_node, const int *chw,
                           const struct adcnn_region *reg, int64_t batch);

/* partition.c */
struct adcnn_tile {
	char id[24];
	int row, col;
	int in[4];   /* r0 r1 c0 c1 */
	int out[4];
	int halo[4]; /* top bottom left right */
	uint64_t flops; /* of running the prefix on the tile (planner only, not in bundles) */
};

struct adcnn_plan {
	enum adcnn_mode mode;
	int rows, cols;
	int split;            /* value id of the split tensor in the full model */
	char *split_name;
	char *input_name;
	int in_rank, split_rank;
	int64_t in_dims[ADCNN_MAX_RANK], split_dims[ADCNN_MAX_RANK];
	bool *prefix;         /* per node of the full model */
	struct adcnn_tile *tiles;
	int ntiles;
	uint64_t whole_flops; /* of running the prefix on the whole input */
	char prefix_hash[ADCNN_HASH_HEX];
	uint8_t *prefix_bytes;
	size_t prefix_len;
};

enum adcnn_status adcnn_split_find(struct adcnn_ctx *ctx, const struct adcnn_graph *g,
                                   const int64_t *in_dims, int in_rank, const char *split,
                                   int *split_value, bool *prefix);
enum adcnn_status adcnn_value_dims(struct adcnn_ctx *ctx, const struct adcnn_graph *g,
                                   const bool *run_node, int C, int H, int W, int *chw);
void adcnn_split_sizes(int n, int parts, int *bounds);
enum adcnn_status adcnn_halo_regions(struct adcnn_ctx *ctx, const struct adcnn_graph *g,
                                     const bool *run_node, int C, int H, int W, int split,
                                     const int *out_region, struct adcnn_region *reg);

/* bundle.c */
struct adcnn_member {
	char *path;
	uint8_t *data;
	size_t len;
	int bundle; /* index of the MANIFEST it came with */
};

struct adcnn_manifest {
	int major, minor;
	enum adcnn_kind kind;
	char model[ADCNN_HASH_HEX], prefix[ADCNN_HASH_HEX], job[ADCNN_HASH_HEX];
	enum adcnn_mode mode;
	char *input_name, *split_name;
	int in_rank, split_rank;
	int64_t in_dims[ADCNN_MAX_RANK], split_dims[ADCNN_MAX_RANK];
	int rows, cols;
	struct adcnn_tile *tiles;
	int ntiles;
};

struct adcnn_bundle_id {
	char job[ADCNN_HASH_HEX], model[ADCNN_HASH_HEX];
	enum adcnn_kind kind;
};

struct adcnn_bundle {
	struct adcnn_manifest man;   /* of the first bundle; the others must agree */
	struct adcnn_member *members;
	int nmembers, cap;
	int nbundles;
	struct adcnn_bundle_id *ids; /* per MANIFEST read */
	char *source;
};

struct adcnn_bundle *adcnn_bundle_new(void);
enum adcnn_status adcnn_bundle_add(struct adcnn_ctx *ctx, struct adcnn_bundle *b, const char *path,
                                   uint8_t *data, size_t len);
const struct adcnn_member *adcnn_bundle_find(const struct adcnn_bundle *b, const char *path);
enum adcnn_status adcnn_manifest_copy(struct adcnn_ctx *ctx, struct adcnn_manifest *dst,
                                      const struct adcnn_manifest *src);
void adcnn_manifest_release(struct adcnn_manifest *m);
enum adcnn_status adcnn_manifest_parse(struct adcnn_ctx *ctx, const char *text, size_t len,
                                       struct adcnn_manifest *m, char ***paths, size_t **sizes,
                                       char ***hashes, int *nlisted);
char *adcnn_manifest_format(const struct adcnn_manifest *m, const struct adcnn_bundle *b);

/* tiles.c */
struct adcnn_tensor *adcnn_tensor_crop(const struct adcnn_tensor *t, const int *reg);

/* cache.c */
struct adcnn_cache_file {
	int fd;
	enum adcnn_status st; /* the first error, kept until adcnn_cache_end */
	char tmp[4200], full[4200];
};
enum adcnn_status adcnn_cache_begin(struct adcnn_ctx *ctx, const char *name, struct adcnn_cache_file *f);
void adcnn_cache_write(struct adcnn_ctx *ctx, struct adcnn_cache_file *f, const void *buf, size_t len);
enum adcnn_status adcnn_cache_end(struct adcnn_ctx *ctx, struct adcnn_cache_file *f);
enum adcnn_status adcnn_cache_path(struct adcnn_ctx *ctx, const char *hash, char **path);
enum adcnn_status adcnn_cache_store(struct adcnn_ctx *ctx, const char *hash, const uint8_t *buf,
                                    size_t len);
enum adcnn_status adcnn_file_read(struct adcnn_ctx *ctx, const char *path, uint8_t **buf,
                                  size_t *len);

#endif
