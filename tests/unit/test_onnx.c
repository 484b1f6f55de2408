/* test_onnx: the ONNX loader (onnx.c) and the graph it makes (graph.c): the test models,
 * BatchNormalization and constant folding, refusals, initializer encodings, the model hash;
 * and the graph's run (exec.c) where it fuses a pair of layers. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "config.h"
#include "internal.h"
#include "onnx.pb-c.h"

#include <math.h>
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
#include <malloc.h>
#define HAVE_MALLINFO2 1
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct adcnn_ctx *ctx;

static int setup(void **state)
{
	(void)state;
	ctx = adcnn_ctx_new();
	return ctx == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	adcnn_ctx_free(ctx);
	return 0;
}

static void model_path(char *buf, size_t len, const char *name, const char *file)
{
	const char *top = getenv("top_srcdir");

	snprintf(buf, len, "%s/tests/data/models/%s/%s", top != NULL && top[0] ? top : ".", name, file);
}

static void expect_msg(const char *part)
{
	if (strstr(adcnn_ctx_error(ctx), part) == NULL)
		fail_msg("message '%s' lacks '%s'", adcnn_ctx_error(ctx), part);
}

static int count_op(const struct adcnn_model *m, enum adcnn_op op)
{
	int c = 0;

	for (int i = 0; i < m->g.nnodes; i++)
		c += m->g.nodes[i].op == op;
	return c;
}

static const struct adcnn_tensor *init_of(const struct adcnn_model *m, const char *name)
{
	int v = adcnn_graph_value((struct adcnn_graph *)&m->g, name, false);

	if (v < 0)
		fail_msg("no value '%s'", name);
	return m->g.values[v].init;
}

/* ---- a model built in the test with protobuf-c ---- */

#define MAXN 8

struct mb {
	Onnx__ModelProto model;
	Onnx__GraphProto graph;
	Onnx__OperatorSetIdProto opset, *opsets[1];
	Onnx__StringStringEntryProto meta[2], *metas[2];
	Onnx__NodeProto nodes[MAXN], *nodep[MAXN];
	char *io[MAXN][2][MAXN];
	Onnx__AttributeProto attrs[MAXN][MAXN], *attrp[MAXN][MAXN];
	int64_t ints[MAXN][MAXN][4];
	Onnx__TensorProto inits[MAXN], *initp[MAXN], consts[MAXN];
	int64_t tdims[2 * MAXN][4];
	Onnx__ValueInfoProto vis[2 * MAXN], *inp[MAXN], *outp[MAXN];
	Onnx__TypeProto types[2 * MAXN];
	Onnx__TypeProto__Tensor tts[2 * MAXN];
	Onnx__TensorShapeProto shapes[2 * MAXN];
	Onnx__TensorShapeProto__Dimension dims[2 * MAXN][4], *dimp[2 * MAXN][4];
	int nvis, ntdims;
};

static struct mb *mb_new(int opset)
{
	struct mb *b = calloc(1, sizeof(*b));

	assert_non_null(b);
	b->model = (Onnx__ModelProto)ONNX__MODEL_PROTO__INIT;
	b->graph = (Onnx__GraphProto)ONNX__GRAPH_PROTO__INIT;
	b->opset = (Onnx__OperatorSetIdProto)ONNX__OPERATOR_SET_ID_PROTO__INIT;
	b->model.has_ir_version = 1;
	b->model.ir_version = 8;
	b->model.producer_name = "adcnn-unit-test";
	b->model.graph = &b->graph;
	b->graph.name = "g";
	b->graph.node = b->nodep;
	b->graph.initializer = b->initp;
	b->graph.input = b->inp;
	b->graph.output = b->outp;
	if (opset > 0) {
		b->opset.domain = "";
		b->opset.has_version = 1;
		b->opset.version = opset;
		b->opsets[0] = &b->opset;
		b->model.opset_import = b->opsets;
		b->model.n_opset_import = 1;
	}
	return b;
}

static Onnx__ValueInfoProto *mb_vi(struct mb *b, const char *name, int rank, const int64_t *dims)
{
	int k = b->nvis++;
	Onnx__ValueInfoProto *vi = &b->vis[k];

	*vi = (Onnx__ValueInfoProto)ONNX__VALUE_INFO_PROTO__INIT;
	vi->name = (char *)name;
	if (rank >= 0) {
		b->types[k] = (Onnx__TypeProto)ONNX__TYPE_PROTO__INIT;
		b->tts[k] = (Onnx__TypeProto__Tensor)ONNX__TYPE_PROTO__TENSOR__INIT;
		b->shapes[k] = (Onnx__TensorShapeProto)ONNX__TENSOR_SHAPE_PROTO__INIT;
		for (int i = 0; i < rank; i++) {
			b->dims[k][i] = (Onnx__TensorShapeProto__Dimension)ONNX__TENSOR_SHAPE_PROTO__DIMENSION__INIT;
			b->dims[k][i].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
			b->dims[k][i].dim_value = dims[i];
			b->dimp[k][i] = &b->dims[k][i];
		}
		b->shapes[k].n_dim = (size_t)rank;
		b->shapes[k].dim = b->dimp[k];
		b->tts[k].has_elem_type = 1;
		b->tts[k].elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
		b->tts[k].shape = &b->shapes[k];
		b->types[k].value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
		b->types[k].tensor_type = &b->tts[k];
		vi->type = &b->types[k];
	}
	return vi;
}

static void mb_input(struct mb *b, const char *name, int rank, const int64_t *dims)
{
	b->inp[b->graph.n_input++] = mb_vi(b, name, rank, dims);
}

static void mb_output(struct mb *b, const char *name)
{
	b->outp[b->graph.n_output++] = mb_vi(b, name, -1, NULL);
}

/* ins and outs: space-separated names; "-" for an omitted input */
static Onnx__NodeProto *mb_node(struct mb *b, const char *name, const char *op, const char *ins,
                                const char *outs)
{
	int k = (int)b->graph.n_node++;
	Onnx__NodeProto *n = &b->nodes[k];
	const char *lists[2] = {ins, outs};

	*n = (Onnx__NodeProto)ONNX__NODE_PROTO__INIT;
	n->name = (char *)name;
	n->op_type = (char *)op;
	for (int l = 0; l < 2; l++) {
		char *copy = strdup(lists[l]), *save = NULL;
		size_t c = 0;
		for (char *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save))
			b->io[k][l][c++] = strdup(strcmp(t, "-") == 0 ? "" : t);
		free(copy);
		if (l == 0) {
			n->input = b->io[k][0];
			n->n_input = c;
		} else {
			n->output = b->io[k][1];
			n->n_output = c;
		}
	}
	n->attribute = b->attrp[k];
	b->nodep[k] = n;
	return n;
}

static Onnx__AttributeProto *mb_attr(struct mb *b, Onnx__NodeProto *n, const char *name)
{
	int k = (int)(n - b->nodes), a = (int)n->n_attribute++;
	Onnx__AttributeProto *at = &b->attrs[k][a];

	*at = (Onnx__AttributeProto)ONNX__ATTRIBUTE_PROTO__INIT;
	at->name = (char *)name;
	b->attrp[k][a] = at;
	return at;
}

static void mb_attr_i(struct mb *b, Onnx__NodeProto *n, const char *name, int64_t v)
{
	Onnx__AttributeProto *a = mb_attr(b, n, name);

	a->has_type = 1;
	a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
	a->has_i = 1;
	a->i = v;
}

static void mb_attr_f(struct mb *b, Onnx__NodeProto *n, const char *name, float v)
{
	Onnx__AttributeProto *a = mb_attr(b, n, name);

	a->has_type = 1;
	a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
	a->has_f = 1;
	a->f = v;
}

static void mb_attr_ints(struct mb *b, Onnx__NodeProto *n, const char *name, int cnt, const int64_t *v)
{
	int k = (int)(n - b->nodes), a = (int)n->n_attribute;
	Onnx__AttributeProto *at = mb_attr(b, n, name);

	memcpy(b->ints[k][a], v, sizeof(int64_t) * (size_t)cnt);
	at->has_type = 1;
	at->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
	at->ints = b->ints[k][a];
	at->n_ints = (size_t)cnt;
}

static void mb_attr_s(struct mb *b, Onnx__NodeProto *n, const char *name, const char *s)
{
	Onnx__AttributeProto *a = mb_attr(b, n, name);

	a->has_type = 1;
	a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING;
	a->has_s = 1;
	a->s.data = (uint8_t *)s;
	a->s.len = strlen(s);
}

/* a TensorProto of float32 values, in float_data or in raw_data */
static void mb_tensor_f(struct mb *b, Onnx__TensorProto *t, const char *name, int rank,
                        const int64_t *dims, size_t n, const float *v, bool raw)
{
	int64_t *d = b->tdims[b->ntdims++];

	*t = (Onnx__TensorProto)ONNX__TENSOR_PROTO__INIT;
	memcpy(d, dims, sizeof(int64_t) * (size_t)rank);
	t->name = (char *)name;
	t->n_dims = (size_t)rank;
	t->dims = d;
	t->has_data_type = 1;
	t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
	if (raw) {
		uint8_t *r = malloc(4 * n + 1);
		for (size_t i = 0; i < n; i++) {
			uint32_t u;
			memcpy(&u, &v[i], 4);
			adcnn_le32enc(r + 4 * i, u);
		}
		t->has_raw_data = 1;
		t->raw_data.data = r;
		t->raw_data.len = 4 * n;
	} else {
		t->float_data = (float *)v;
		t->n_float_data = n;
	}
}

static void mb_init_f(struct mb *b, const char *name, int rank, const int64_t *dims, size_t n,
                      const float *v, bool raw)
{
	int k = (int)b->graph.n_initializer++;

	mb_tensor_f(b, &b->inits[k], name, rank, dims, n, v, raw);
	b->initp[k] = &b->inits[k];
}

static uint8_t *mb_pack(struct mb *b, size_t *len)
{
	uint8_t *buf;

	*len = protobuf_c_message_get_packed_size(&b->model.base);
	buf = malloc(*len + 1);
	assert_non_null(buf);
	assert_int_equal(protobuf_c_message_pack(&b->model.base, buf), *len);
	return buf;
}

static void mb_free(struct mb *b)
{
	for (int k = 0; k < MAXN; k++)
		for (int l = 0; l < 2; l++)
			for (int i = 0; i < MAXN; i++)
				free(b->io[k][l][i]);
	for (int k = 0; k < MAXN; k++) {
		if (b->inits[k].has_raw_data)
			free(b->inits[k].raw_data.data);
		if (b->consts[k].has_raw_data)
			free(b->consts[k].raw_data.data);
	}
	free(b);
}

static enum adcnn_status mb_load(struct mb *b, struct adcnn_model **m)
{
	size_t len;
	uint8_t *buf = mb_pack(b, &len);
	enum adcnn_status st;

	*m = NULL;
	st = adcnn_model_load_mem(ctx, buf, len, m);
	free(buf);
	if (st != ADCNN_OK)
		assert_null(*m);
	return st;
}

/* x [1,1,2,2] -> Relu -> y: the smallest model the loader takes */
static struct mb *mb_relu(int opset)
{
	struct mb *b = mb_new(opset);

	mb_input(b, "x", 4, (int64_t[]){1, 1, 2, 2});
	mb_output(b, "y");
	mb_node(b, "relu", "Relu", "x", "y");
	return b;
}

/* ---- the test models ---- */

static void test_models(void **state)
{
	static const struct {
		const char *name;
		size_t onnx_nodes;
		int nodes, conv, bn_before;
	} want[] = {
		{"detector", 15, 15, 6, 0},
		{"mobilenet", 107, 48, 25, 25},
		{"resnet", 53, 38, 15, 15},
		{"squeezenet", 43, 43, 16, 0},
		{"vgg", 19, 19, 6, 0},
	};
	(void)state;

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		char path[4096];
		struct adcnn_model *m = NULL;
		const Onnx__ModelProto *mp;
		size_t nbn = 0, nconst = 0;

		model_path(path, sizeof(path), want[i].name, "model.onnx");
		if (adcnn_model_load(ctx, path, &m) != ADCNN_OK)
			fail_msg("%s: %s", path, adcnn_ctx_error(ctx));
		mp = m->proto;
		assert_int_equal(mp->graph->n_node, want[i].onnx_nodes);
		for (size_t k = 0; k < mp->graph->n_node; k++) {
			nbn += strcmp(mp->graph->node[k]->op_type, "BatchNormalization") == 0;
			nconst += strcmp(mp->graph->node[k]->op_type, "Constant") == 0;
		}
		assert_int_equal(nbn, want[i].bn_before);
		/* every BatchNormalization folded into its Conv, every Constant folded */
		assert_int_equal(m->g.nnodes, (int)(want[i].onnx_nodes - nbn - nconst));
		assert_int_equal(m->g.nnodes, want[i].nodes);
		assert_int_equal(count_op(m, OP_BATCHNORM), 0);
		assert_int_equal(count_op(m, OP_CONSTANT), 0);
		assert_int_equal(count_op(m, OP_CONV), want[i].conv);
		for (int k = 0; k < m->g.nnodes; k++) {
			const struct adcnn_node *n = &m->g.nodes[k];
			if (n->op != OP_CONV)
				continue;
			const struct adcnn_tensor *w = m->g.values[n->in[1]].init;
			assert_non_null(w);
			assert_int_equal(w->rank, 4);
			assert_int_equal(n->kernel[0], w->dims[2]);
			assert_int_equal(n->kernel[1], w->dims[3]);
			if (want[i].bn_before) { /* the folded bias */
				assert_int_equal(n->nin, 3);
				assert_non_null(m->g.values[n->in[2]].init);
				assert_int_equal(m->g.values[n->in[2]].init->n, w->dims[0]);
			}
		}
		/* the two Constant inputs of mobilenet's Clip nodes became its bounds */
		if (strcmp(want[i].name, "mobilenet") == 0) {
			assert_int_equal(count_op(m, OP_CLIP), 17);
			for (int k = 0; k < m->g.nnodes; k++)
				if (m->g.nodes[k].op == OP_CLIP) {
					assert_float_equal(m->g.nodes[k].fmin, 0.0f, 0.0);
					assert_float_equal(m->g.nodes[k].fmax, 6.0f, 0.0);
				}
		}
		/* nodes in topological order: every input is made before it is used */
		for (int k = 0; k < m->g.nnodes; k++)
			for (int j = 0; j < m->g.nodes[k].nin; j++) {
				int v = m->g.nodes[k].in[j];
				if (v >= 0 && m->g.values[v].init == NULL && v != m->g.input)
					assert_in_range(m->g.values[v].producer, 0, k - 1);
			}
		assert_int_equal(m->g.opset, 13);
		assert_string_equal(adcnn_model_input_name(m), "input");
		assert_int_equal(m->in_rank, 4);
		assert_true(m->in_dims[0] == 1 && m->in_dims[1] == 3 && m->in_dims[2] == 128 && m->in_dims[3] == 128);
		assert_int_equal(m->g.noutputs, 1);
		assert_string_equal(m->g.values[m->g.outputs[0]].name, "output");
		adcnn_model_free(m);
	}
}

/* the folded models compute what PyTorch computed */
static void test_models_run(void **state)
{
	static const char *names[] = {"resnet", "mobilenet"};
	(void)state;

	for (int i = 0; i < 2; i++) {
		char path[4096];
		struct adcnn_model *m;
		struct adcnn_tensor *x, *ref, *y = NULL;
		float maxref = 0;

		model_path(path, sizeof(path), names[i], "model.onnx");
		assert_int_equal(adcnn_model_load(ctx, path, &m), ADCNN_OK);
		model_path(path, sizeof(path), names[i], "input.npy");
		assert_int_equal(adcnn_npy_read(ctx, path, &x), ADCNN_OK);
		model_path(path, sizeof(path), names[i], "ref_out.npy");
		assert_int_equal(adcnn_npy_read(ctx, path, &ref), ADCNN_OK);
		assert_int_equal(adcnn_graph_run(ctx, &m->g, m->g.input, x, m->g.outputs[0], NULL, &y), ADCNN_OK);
		assert_true(adcnn_tensor_same_shape(y, ref));
		for (size_t k = 0; k < ref->n; k++)
			maxref = fmaxf(maxref, fabsf(ref->d.f[k]));
		for (size_t k = 0; k < ref->n; k++)
			if (fabsf(y->d.f[k] - ref->d.f[k]) > 1e-4f * maxref + 1e-5f)
				fail_msg("%s: output %zu is %g, expected %g", names[i], k, y->d.f[k], ref->d.f[k]);
		adcnn_tensor_free(y);
		adcnn_tensor_free(ref);
		adcnn_tensor_free(x);
		adcnn_model_free(m);
	}
}

/* ---- BatchNormalization folding, by hand ---- */

static struct mb *mb_conv_bn(bool shared)
{
	static const float w[] = {2, -1}, bias[] = {0.5f, 1}, scale[] = {3, 0.5f}, beta[] = {1, 2},
	                   mean[] = {0.5f, -1}, var[] = {3, 0};
	struct mb *b = mb_new(13);
	Onnx__NodeProto *bn;

	mb_input(b, "x", 4, (int64_t[]){1, 1, 2, 2});
	mb_output(b, "y");
	mb_init_f(b, "W", 4, (int64_t[]){2, 1, 1, 1}, 2, w, false);
	mb_init_f(b, "B", 1, (int64_t[]){2}, 2, bias, false);
	mb_init_f(b, "scale", 1, (int64_t[]){2}, 2, scale, true);
	mb_init_f(b, "beta", 1, (int64_t[]){2}, 2, beta, true);
	mb_init_f(b, "mean", 1, (int64_t[]){2}, 2, mean, false);
	mb_init_f(b, "var", 1, (int64_t[]){2}, 2, var, false);
	mb_node(b, "conv", "Conv", "x W B", "c");
	bn = mb_node(b, "bn", "BatchNormalization", "c scale beta mean var", shared ? "d" : "y");
	mb_attr_f(b, bn, "epsilon", 1.0f);
	if (shared) /* the Conv's output is used twice: no folding */
		mb_node(b, "add", "Add", "d c", "y");
	return b;
}

static void test_batchnorm_fold(void **state)
{
	struct mb *b = mb_conv_bn(false);
	struct adcnn_model *m;
	const struct adcnn_node *n;
	const struct adcnn_tensor *w, *bias;
	struct adcnn_tensor *x, *y = NULL;
	static const float want[] = {4, 7, 10, 13, 2.5f, 2, 1.5f, 1};
	(void)state;

	assert_int_equal(mb_load(b, &m), ADCNN_OK);
	assert_int_equal(m->g.nnodes, 1);
	n = &m->g.nodes[0];
	assert_int_equal(n->op, OP_CONV);
	assert_string_equal(n->name, "conv");
	assert_int_equal(n->nin, 3);
	assert_string_equal(m->g.values[n->out[0]].name, "y");
	/* s = scale / sqrt(var + eps) = {1.5, 0.5}; w' = w s; b' = (b - mean) s + beta */
	w = m->g.values[n->in[1]].init;
	bias = m->g.values[n->in[2]].init;
	assert_int_equal(w->n, 2);
	assert_float_equal(w->d.f[0], 3.0f, 0.0);
	assert_float_equal(w->d.f[1], -0.5f, 0.0);
	assert_int_equal(bias->n, 2);
	assert_float_equal(bias->d.f[0], 1.0f, 0.0);
	assert_float_equal(bias->d.f[1], 3.0f, 0.0);
	/* the original weights, which nothing reads any more, are freed */
	assert_null(init_of(m, "W"));

	x = adcnn_tensor_new(4, (int64_t[]){1, 1, 2, 2});
	for (int i = 0; i < 4; i++)
		x->d.f[i] = (float)(i + 1);
	assert_int_equal(adcnn_graph_run(ctx, &m->g, m->g.input, x, m->g.outputs[0], NULL, &y), ADCNN_OK);
	assert_int_equal(y->n, 8);
	for (int i = 0; i < 8; i++)
		assert_float_equal(y->d.f[i], want[i], 1e-6);
	adcnn_tensor_free(y);
	adcnn_model_free(m);
	mb_free(b);

	/* a Conv whose output feeds something else too keeps its BatchNormalization */
	b = mb_conv_bn(true);
	assert_int_equal(mb_load(b, &m), ADCNN_OK);
	assert_int_equal(m->g.nnodes, 3);
	assert_int_equal(count_op(m, OP_BATCHNORM), 1);
	assert_int_equal(adcnn_graph_run(ctx, &m->g, m->g.input, x, m->g.outputs[0], NULL, &y), ADCNN_OK);
	/* y = bn(c) + c with c = {2x+0.5, -x+1} */
	for (int i = 0; i < 4; i++) {
		float xi = (float)(i + 1), c0 = 2 * xi + 0.5f, c1 = -xi + 1;
		assert_float_equal(y->d.f[i], want[i] + c0, 1e-5);
		assert_float_equal(y->d.f[4 + i], want[4 + i] + c1, 1e-5);
	}
	adcnn_tensor_free(y);
	adcnn_tensor_free(x);
	adcnn_model_free(m);
	mb_free(b);
}

/* ---- the expanding and depthwise pair, fused in the graph's run (exec.c, fuse.c) ---- */

/* small integers, so that every sum is exact whatever its order */
static float *small_ints(size_t n, unsigned seed, int lo, int hi)
{
	float *v = malloc(sizeof(float) * n);
	uint32_t s = seed * 2654435761u + 12345;

	assert_non_null(v);
	for (size_t i = 0; i < n; i++) {
		s = s * 1103515245u + 12345u;
		v[i] = (float)(lo + (int)((s >> 16) % (uint32_t)(hi - lo + 1)));
	}
	return v;
}

/* x [1,16,64,64] -> Conv 1x1 (64) -> Relu -> Conv 3x3 depthwise (stride) -> Relu -> y; shared:
 * the first Relu's output added to the last's too (stride 1), so that it must be kept */
static struct mb *mb_expand_dw(int stride, bool shared, float *v[4])
{
	struct mb *b = mb_new(13);
	Onnx__NodeProto *d;

	v[0] = small_ints(64 * 16, 1, -2, 2);
	v[1] = small_ints(64, 2, -3, 3);
	v[2] = small_ints(64 * 9, 3, -2, 2);
	v[3] = small_ints(64, 4, -3, 3);
	mb_input(b, "x", 4, (int64_t[]){1, 16, 64, 64});
	mb_output(b, "y");
	mb_init_f(b, "We", 4, (int64_t[]){64, 16, 1, 1}, 64 * 16, v[0], false);
	mb_init_f(b, "Be", 1, (int64_t[]){64}, 64, v[1], false);
	mb_init_f(b, "Wd", 4, (int64_t[]){64, 1, 3, 3}, 64 * 9, v[2], false);
	mb_init_f(b, "Bd", 1, (int64_t[]){64}, 64, v[3], false);
	mb_node(b, "expand", "Conv", "x We Be", "e");
	mb_node(b, "relu1", "Relu", "e", "r");
	d = mb_node(b, "dw", "Conv", "r Wd Bd", "d");
	mb_attr_i(b, d, "group", 64);
	mb_attr_ints(b, d, "kernel_shape", 2, (int64_t[]){3, 3});
	mb_attr_ints(b, d, "strides", 2, (int64_t[]){stride, stride});
	mb_attr_ints(b, d, "pads", 4, (int64_t[]){1, 1, 1, 1});
	mb_node(b, "relu2", "Relu", "d", shared ? "d2" : "y");
	if (shared)
		mb_node(b, "add", "Add", "d2 r", "y");
	return b;
}

/* the graph and the weights mb_expand_dw made */
static void mb_expand_dw_free(struct mb *b, float **v)
{
	mb_free(b);
	for (int i = 0; i < 4; i++)
		free(v[i]);
}

/* the pair run whole by the graph (fused where the machine takes rowgemm.c's path: then
 * 64 x 64 x 64 floats, 1 MiB, are worth it) against the same graph with im2col forced
 * (never fused): the same values, exact sums both */
static void test_fused_pair(void **state)
{
	float *xv = small_ints(16 * 64 * 64, 5, -3, 3);
	(void)state;

	for (int k = 0; k < 3; k++) {
		float *v[4];
		struct mb *b = mb_expand_dw(k == 1 ? 2 : 1, k == 2, v);
		struct adcnn_model *m;
		struct adcnn_tensor *x = adcnn_tensor_new(4, (int64_t[]){1, 16, 64, 64}), *y = NULL, *want = NULL;

		assert_non_null(x);
		memcpy(x->d.f, xv, sizeof(float) * x->n);
		assert_int_equal(mb_load(b, &m), ADCNN_OK);
		assert_int_equal(m->g.nnodes, k == 2 ? 5 : 4);
		adcnn_conv_algo_set(1);
		assert_int_equal(adcnn_graph_run(ctx, &m->g, m->g.input, x, m->g.outputs[0], NULL, &want), ADCNN_OK);
		adcnn_conv_algo_set(0);
		for (int threads = 1; threads <= 2; threads++) {
			adcnn_threads_set(threads);
			assert_int_equal(adcnn_graph_run(ctx, &m->g, m->g.input, x, m->g.outputs[0], NULL, &y), ADCNN_OK);
			adcnn_threads_set(1);
			assert_true(adcnn_tensor_same_shape(y, want));
			assert_int_equal(y->dims[2], k == 1 ? 32 : 64);
			for (size_t i = 0; i < want->n; i++)
				if (y->d.f[i] != want->d.f[i])
					fail_msg("model %d, %d threads: value %zu is %g, expected %g", k, threads, i, y->d.f[i],
					         want->d.f[i]);
			adcnn_tensor_free(y);
		}
		adcnn_tensor_free(want);
		adcnn_tensor_free(x);
		adcnn_model_free(m);
		mb_expand_dw_free(b, v);
	}
	free(xv);
}

/* a run after the first makes no new buffer (pool.c): its activations and workspaces are
 * the first run's. On one thread exactly; on two, a helper thread's own buffers (conv.c's
 * workspace, scratch and GEMM space) are made when it first takes a piece that needs one,
 * and which thread takes which piece varies (a helper that a loaded machine leaves asleep
 * through the first run makes them in a later one: seen under make -j2 check), so there
 * the five runs after the first may make those three, where buffers not given back would
 * be new in every run */
static void test_runs_reuse(void **state)
{
	float *v[4], *xv = small_ints(16 * 64 * 64, 7, -3, 3);
	struct mb *b = mb_expand_dw(1, true, v);
	struct adcnn_model *m;
	struct adcnn_tensor *x = adcnn_tensor_new(4, (int64_t[]){1, 16, 64, 64}), *y = NULL, *want = NULL;
	(void)state;

	assert_non_null(x);
	memcpy(x->d.f, xv, sizeof(float) * x->n);
	assert_int_equal(mb_load(b, &m), ADCNN_OK);
	for (int threads = 1; threads <= 2; threads++) {
		unsigned long made0 = 0, made;
		adcnn_threads_set(threads);
		for (int run = 0; run < 6; run++) {
			if (run == 1)
				adcnn_pool_stats(NULL, &made0);
			assert_int_equal(adcnn_graph_run(ctx, &m->g, m->g.input, x, m->g.outputs[0], NULL, &y), ADCNN_OK);
			adcnn_pool_stats(NULL, &made);
			if (run > 0 && made - made0 > (threads > 1 ? 3u : 0u))
				fail_msg("%d threads, runs 2 to %d: %lu new buffers", threads, run + 1, made - made0);
			if (want == NULL) {
				want = y;
			} else {
				assert_memory_equal(y->d.f, want->d.f, sizeof(float) * want->n);
				adcnn_tensor_free(y);
			}
		}
		adcnn_threads_set(1);
	}
	adcnn_tensor_free(want);
	adcnn_tensor_free(x);
	adcnn_model_free(m);
	mb_expand_dw_free(b, v);
	free(xv);
}

/* ---- constant folding ---- */

static void test_constant_fold(void **state)
{
	static const float c1[] = {1, 2, 3, 4}, c2[] = {10, 20, 30, 40};
	static const int64_t shape[] = {1, 4};
	struct mb *b = mb_new(13);
	Onnx__NodeProto *cn;
	Onnx__AttributeProto *a;
	struct adcnn_model *m;
	const struct adcnn_tensor *t;
	struct adcnn_tensor *x, *y = NULL;
	(void)state;

	mb_input(b, "x", 4, (int64_t[]){1, 1, 2, 2});
	mb_output(b, "y");
	mb_init_f(b, "c1", 2, (int64_t[]){1, 4}, 4, c1, false);
	mb_init_f(b, "c2", 2, (int64_t[]){1, 4}, 4, c2, true);
	cn = mb_node(b, "shape_const", "Constant", "", "shape");
	a = mb_attr(b, cn, "value");
	a->has_type = 1;
	a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR;
	b->consts[0] = (Onnx__TensorProto)ONNX__TENSOR_PROTO__INIT;
	b->consts[0].n_dims = 1;
	b->consts[0].dims = b->tdims[b->ntdims++];
	b->consts[0].dims[0] = 2;
	b->consts[0].has_data_type = 1;
	b->consts[0].data_type = ONNX__TENSOR_PROTO__DATA_TYPE__INT64;
	b->consts[0].int64_data = (int64_t *)shape;
	b->consts[0].n_int64_data = 2;
	a->t = &b->consts[0];
	mb_node(b, "reshape", "Reshape", "x shape", "flat");
	mb_node(b, "sum", "Add", "c1 c2", "k");   /* constant inputs only: runs at load */
	mb_node(b, "mul", "Mul", "flat k", "y");
	assert_int_equal(mb_load(b, &m), ADCNN_OK);

	assert_int_equal(m->g.nnodes, 2);
	assert_int_equal(m->g.nodes[0].op, OP_RESHAPE);
	assert_int_equal(m->g.nodes[1].op, OP_MUL);
	assert_int_equal(count_op(m, OP_CONSTANT), 0);
	t = init_of(m, "shape");
	assert_non_null(t);
	assert_int_equal(t->dtype, ADCNN_I64);
	assert_true(t->n == 2 && t->d.i[0] == 1 && t->d.i[1] == 4);
	t = init_of(m, "k");
	assert_non_null(t);
	assert_int_equal(t->n, 4);
	for (int i = 0; i < 4; i++)
		assert_float_equal(t->d.f[i], 11.0f * (float)(i + 1), 0.0);

	x = adcnn_tensor_new(4, (int64_t[]){1, 1, 2, 2});
	for (int i = 0; i < 4; i++)
		x->d.f[i] = (float)i - 1.0f;
	assert_int_equal(adcnn_graph_run(ctx, &m->g, m->g.input, x, m->g.outputs[0], NULL, &y), ADCNN_OK);
	assert_int_equal(y->rank, 2);
	assert_true(y->dims[0] == 1 && y->dims[1] == 4);
	for (int i = 0; i < 4; i++)
		assert_float_equal(y->d.f[i], ((float)i - 1.0f) * 11.0f * (float)(i + 1), 0.0);
	adcnn_tensor_free(y);
	adcnn_tensor_free(x);
	adcnn_model_free(m);
	mb_free(b);
}

/* ---- refusals ---- */

static void test_garbage(void **state)
{
	static const char text[] = "this is not an ONNX model, just some text\n";
	uint8_t junk[4096];
	struct adcnn_model *m = (struct adcnn_model *)1;
	(void)state;

	assert_int_equal(adcnn_model_load_mem(ctx, text, sizeof(text) - 1, &m), ADCNN_ERR_FORMAT);
	expect_msg("not an ONNX model");
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)((i * 2654435761u) >> 13);
	assert_int_equal(adcnn_model_load_mem(ctx, junk, sizeof(junk), &m), ADCNN_ERR_FORMAT);
	/* empty: a valid protobuf message, but no graph */
	assert_int_equal(adcnn_model_load_mem(ctx, "", 0, &m), ADCNN_ERR_FORMAT);
	assert_ptr_equal(m, (struct adcnn_model *)1); /* untouched on failure */

	assert_int_equal(adcnn_model_load(ctx, "/nonexistent/adcnn/model.onnx", &m), ADCNN_ERR_MISSING);
	expect_msg("/nonexistent/adcnn/model.onnx");

	/* a real model cut in half */
	{
		char path[4096];
		uint8_t *buf;
		size_t len;
		model_path(path, sizeof(path), "vgg", "model.onnx");
		assert_int_equal(adcnn_file_read(ctx, path, &buf, &len), ADCNN_OK);
		assert_int_equal(adcnn_model_load_mem(ctx, buf, len / 2, &m), ADCNN_ERR_FORMAT);
		free(buf);
	}
}

/* A failed load frees everything it made, the unpacked protobuf message included: a thousand
 * loads of a message without a graph leave the heap as it was. */
static void test_garbage_no_leak(void **state)
{
	(void)state;
#ifdef HAVE_MALLINFO2
	struct adcnn_model *m = NULL;
	size_t before, after;

	assert_int_equal(adcnn_model_load_mem(ctx, "", 0, &m), ADCNN_ERR_FORMAT);
	before = mallinfo2().uordblks;
	for (int i = 0; i < 1000; i++)
		assert_int_equal(adcnn_model_load_mem(ctx, "", 0, &m), ADCNN_ERR_FORMAT);
	after = mallinfo2().uordblks;
	if (after > before + 10000)
		fail_msg("1000 failed loads leaked %zu bytes", after - before);
	/* the same with a model that unpacks but fails later */
	{
		struct mb *b = mb_relu(19);
		size_t len;
		uint8_t *buf = mb_pack(b, &len);
		assert_int_equal(adcnn_model_load_mem(ctx, buf, len, &m), ADCNN_ERR_UNSUPPORTED);
		before = mallinfo2().uordblks;
		for (int i = 0; i < 1000; i++)
			assert_int_equal(adcnn_model_load_mem(ctx, buf, len, &m), ADCNN_ERR_UNSUPPORTED);
		after = mallinfo2().uordblks;
		if (after > before + 10000)
			fail_msg("1000 failed loads leaked %zu bytes", after - before);
		free(buf);
		mb_free(b);
	}
#else
	skip();
#endif
}

static void test_unsupported_op(void **state)
{
	struct mb *b = mb_new(13);
	struct adcnn_model *m;
	(void)state;

	mb_input(b, "x", 4, (int64_t[]){1, 1, 2, 2});
	mb_output(b, "y");
	mb_node(b, "relu", "Relu", "x", "r");
	mb_node(b, "mystery", "Foo", "r", "y");
	assert_int_equal(mb_load(b, &m), ADCNN_ERR_UNSUPPORTED);
	assert_string_equal(adcnn_ctx_error(ctx), "node 'mystery': operator 'Foo' is not supported");
	/* without a name, the node is named by its op and index */
	b->nodes[1].name = NULL;
	assert_int_equal(mb_load(b, &m), ADCNN_ERR_UNSUPPORTED);
	assert_string_equal(adcnn_ctx_error(ctx), "node 'Foo_1': operator 'Foo' is not supported");
	/* another domain */
	b->nodes[1].name = "mystery";
	b->nodes[1].op_type = "Relu";
	b->nodes[1].domain = "com.example";
	assert_int_equal(mb_load(b, &m), ADCNN_ERR_UNSUPPORTED);
	expect_msg("'mystery'");
	expect_msg("'com.example'");
	mb_free(b);
}

static void test_refusals(void **state)
{
	struct mb *b;
	struct adcnn_model *m;
	Onnx__NodeProto *n;
	(void)state;

	/* opsets: none, too new */
	b = mb_relu(0);
	assert_int_equal(mb_load(b, &m), ADCNN_ERR_UNSUPPORTED);
	expect_msg("opset 0");
	mb_free(b);
	b = mb_relu(19);
	assert_int_equal(mb_load(b, &m), ADCNN_ERR_UNSUPPORTED);
	expect_msg("opset 19");
	mb_free(b);
	b = mb_relu(18);
	assert_int_equal(mb_load(b, &m), ADCNN_OK);
	assert_int_equal(m->g.opset, 18);
	adcnn_model_free(m);
	mb_free(b);

	/* two inputs */
	b = mb_new(13);
	mb_input(b, "x", 4, (int64_t[]){1, 1, 2, 2});
	mb_input(b, "z", 4, (int64_t[]){1, 1, 2, 2});
	mb_output(b, "y");
	mb_node(b, "add", "Add", "x z", "y");
	assert_int_equal(mb_load(b, &m), ADCNN_ERR_UNSUPPORTED);
	expect_msg("more than one input ('x', 'z')");
	mb_free(b);

	/* a tensor produced twice */
	b = mb_relu(13);
	mb_node(b, "relu2", "Relu", "x", "y");
	assert_int_equal(mb_load(b, &m), ADCNN_ERR_FORMAT);
	expect_msg("'y' is produced twice");
	mb_free(b);

	/* a cycle, and an input nobody makes */
	b = mb_new(13);
	mb_input(b, "x", 4, (int64_t[]){1, 1, 2, 2});
	mb_output(b, "y");
	mb_node(b, "a", "Add", "x q", "p");
	mb_node(b, "b", "Relu", "p", "q");
	mb_node(b, "c", "Relu", "p", "y");
	assert_int_equal(mb_load(b, &m), ADCNN_ERR_FORMAT);
	expect_msg("node 'a'");
	mb_free(b);

	/* an output nobody makes */
	b = mb_relu(13);
	mb_output(b, "nowhere");
	assert_int_equal(mb_load(b, &m), ADCNN_ERR_FORMAT);
	expect_msg("'nowhere' is never produced");
	mb_free(b);

	/* no input at all */
	b = mb_new(13);
	mb_output(b, "y");
	assert_int_equal(mb_load(b, &m), ADCNN_ERR_UNSUPPORTED);
	mb_free(b);

	/* window attributes: 3-D kernels, a bad auto_pad */
	b = mb_new(13);
	mb_input(b, "x", 4, (int64_t[]){1, 1, 4, 4});
	mb_output(b, "y");
	n = mb_node(b, "pool", "MaxPool", "x", "y");
	mb_attr_ints(b, n, "kernel_shape", 3, (int64_t[]){2, 2, 2});
	assert_int_equal(mb_load(b, &m), ADCNN_ERR_UNSUPPORTED);
	expect_msg("'kernel_shape'");
	expect_msg("node 'pool' (MaxPool)");
	b->attrs[0][0].n_ints = 2;
	mb_attr_s(b, n, "auto_pad", "SAME_MIDDLE");
	assert_int_equal(mb_load(b, &m), ADCNN_ERR_UNSUPPORTED);
	expect_msg("'auto_pad'");
	b->attrs[0][1].s.data = (uint8_t *)"SAME_UPPER";
	b->attrs[0][1].s.len = 10;
	assert_int_equal(mb_load(b, &m), ADCNN_OK);
	assert_int_equal(m->g.nodes[0].auto_pad, 1);
	assert_int_equal(m->g.nodes[0].kernel[0], 2);
	adcnn_model_free(m);
	mb_free(b);

	/* a Conv with group 0, and one whose kernel_shape contradicts its weights */
	{
		static const float w[4] = {1, 2, 3, 4};
		b = mb_new(13);
		mb_input(b, "x", 4, (int64_t[]){1, 1, 4, 4});
		mb_output(b, "y");
		mb_init_f(b, "W", 4, (int64_t[]){1, 1, 2, 2}, 4, w, false);
		n = mb_node(b, "conv", "Conv", "x W", "y");
		mb_attr_i(b, n, "group", 0);
		assert_int_equal(mb_load(b, &m), ADCNN_ERR_FORMAT);
		expect_msg("node 'conv' (Conv): bad group");
		b->attrs[0][0].i = 1;
		mb_attr_ints(b, n, "kernel_shape", 2, (int64_t[]){3, 3});
		assert_int_equal(mb_load(b, &m), ADCNN_ERR_FORMAT);
		expect_msg("kernel_shape does not match the weights");
		b->ints[0][1][0] = b->ints[0][1][1] = 2;
		assert_int_equal(mb_load(b, &m), ADCNN_OK);
		assert_int_equal(m->g.nodes[0].group, 1);
		adcnn_model_free(m);
		mb_free(b);
	}
	/* the same contradiction on a Conv of constants only, which loading runs (folds): refused
	 * before it runs, not read past its weights */
	{
		static const float w[4] = {1, 2, 3, 4}, c[16] = {1};
		b = mb_new(13);
		mb_input(b, "x", 4, (int64_t[]){1, 1, 2, 2});
		mb_output(b, "y");
		mb_init_f(b, "C", 4, (int64_t[]){1, 1, 4, 4}, 16, c, false);
		mb_init_f(b, "W", 4, (int64_t[]){1, 1, 2, 2}, 4, w, false);
		n = mb_node(b, "conv", "Conv", "C W", "k");
		mb_attr_ints(b, n, "kernel_shape", 2, (int64_t[]){3, 3});
		mb_node(b, "add", "Add", "x k", "y");
		assert_int_equal(mb_load(b, &m), ADCNN_ERR_FORMAT);
		expect_msg("kernel_shape does not match the weights");
		mb_free(b);
	}
}

/* Softmax before opset 13 coerces to 2-D at axis 1; from 13 on it is one axis, -1 */
static void test_softmax_opsets(void **state)
{
	(void)state;

	for (int opset = 11; opset <= 13; opset += 2) {
		struct mb *b = mb_new(opset);
		struct adcnn_model *m;
		mb_input(b, "x", 4, (int64_t[]){1, 1, 2, 2});
		mb_output(b, "y");
		mb_node(b, "sm", "Softmax", "x", "y");
		assert_int_equal(mb_load(b, &m), ADCNN_OK);
		assert_int_equal(m->g.nodes[0].op, OP_SOFTMAX);
		assert_int_equal(m->g.nodes[0].legacy_softmax, opset < 13);
		assert_int_equal(m->g.nodes[0].axis, opset < 13 ? 1 : -1);
		adcnn_model_free(m);
		mb_free(b);
	}
}

/* ---- initializers: typed fields and raw_data give the same tensor ---- */

static void test_initializer_encodings(void **state)
{
	static const float v[] = {1.5f, -2.0f, 3.25f, 1e-3f, -0.0f, 1e-40f};
	static const int64_t iv[] = {INT64_MIN, -1, 0, 7, INT64_MAX, 1LL << 40};
	static const double dv[] = {0.1, -1e10, 3.0, 1e-300, -2.5, 65504.0};
	static const int32_t i32v[] = {INT32_MIN, -1, 0, 7, INT32_MAX, 1 << 20};
	const struct adcnn_tensor *a, *r;
	struct adcnn_model *ma, *mr;
	struct mb *b;
	(void)state;

	for (int dt = 0; dt < 4; dt++) {
		struct mb *bs[2];
		struct adcnn_model **ms[2] = {&ma, &mr};
		for (int raw = 0; raw < 2; raw++) {
			Onnx__TensorProto *t;
			b = bs[raw] = mb_relu(13);
			mb_init_f(b, "W", 2, (int64_t[]){2, 3}, 6, v, raw);
			t = &b->inits[0];
			if (dt == 1 || dt == 2 || dt == 3) {
				t->data_type = dt == 1 ? ONNX__TENSOR_PROTO__DATA_TYPE__INT64
				             : dt == 2 ? ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE
				                       : ONNX__TENSOR_PROTO__DATA_TYPE__INT32;
				t->float_data = NULL;
				t->n_float_data = 0;
				if (raw) {
					size_t es = dt == 3 ? 4 : 8;
					uint8_t *p = malloc(6 * es);
					free(t->raw_data.data);
					for (int i = 0; i < 6; i++) {
						uint64_t u = 0;
						if (dt == 1)
							u = (uint64_t)iv[i];
						else if (dt == 2)
							memcpy(&u, &dv[i], 8);
						else
							u = (uint32_t)i32v[i];
						adcnn_le32enc(p + es * i, (uint32_t)u);
						if (es == 8)
							adcnn_le32enc(p + es * i + 4, (uint32_t)(u >> 32));
					}
					t->raw_data.data = p;
					t->raw_data.len = 6 * es;
				} else if (dt == 1) {
					t->int64_data = (int64_t *)iv;
					t->n_int64_data = 6;
				} else if (dt == 2) {
					t->double_data = (double *)dv;
					t->n_double_data = 6;
				} else {
					t->int32_data = (int32_t *)i32v;
					t->n_int32_data = 6;
				}
			}
			assert_int_equal(mb_load(b, ms[raw]), ADCNN_OK);
		}
		a = init_of(ma, "W");
		r = init_of(mr, "W");
		assert_int_equal(a->rank, 2);
		assert_true(adcnn_tensor_same_shape(a, r));
		assert_int_equal(a->dtype, r->dtype);
		assert_memory_equal(a->d.p, r->d.p, 6 * (a->dtype == ADCNN_I64 ? 8 : 4));
		for (int i = 0; i < 6; i++) {
			switch (dt) {
			case 0: assert_memory_equal(&a->d.f[i], &v[i], 4); break;
			case 1: assert_true(a->d.i[i] == iv[i]); break;
			case 2: assert_true(a->d.f[i] == (float)dv[i]); break;
			default: assert_true(a->d.i[i] == i32v[i]); break;
			}
		}
		assert_int_equal(a->dtype, dt == 0 || dt == 2 ? ADCNN_F32 : ADCNN_I64);
		adcnn_model_free(ma);
		adcnn_model_free(mr);
		mb_free(bs[0]);
		mb_free(bs[1]);
	}

	/* counts that do not match the dimensions */
	b = mb_relu(13);
	mb_init_f(b, "W", 2, (int64_t[]){2, 3}, 5, v, false);
	assert_int_equal(mb_load(b, &ma), ADCNN_ERR_FORMAT);
	expect_msg("tensor 'W': 5 values, expected 6");
	mb_free(b);
	b = mb_relu(13);
	mb_init_f(b, "W", 2, (int64_t[]){2, 3}, 6, v, true);
	b->inits[0].raw_data.len = 23;
	assert_int_equal(mb_load(b, &ma), ADCNN_ERR_FORMAT);
	expect_msg("raw data has 23 bytes, expected 24");
	b->inits[0].raw_data.len = 24;
	/* external data, float16, negative and overflowing dimensions */
	b->inits[0].has_data_location = 1;
	b->inits[0].data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
	assert_int_equal(mb_load(b, &ma), ADCNN_ERR_UNSUPPORTED);
	expect_msg("external data");
	b->inits[0].has_data_location = 0;
	b->inits[0].data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16;
	assert_int_equal(mb_load(b, &ma), ADCNN_ERR_UNSUPPORTED);
	expect_msg("data type 10");
	b->inits[0].data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
	b->inits[0].dims[0] = -2;
	assert_int_equal(mb_load(b, &ma), ADCNN_ERR_FORMAT);
	b->inits[0].dims[0] = (int64_t)1 << 40;
	b->inits[0].dims[1] = (int64_t)1 << 40;
	assert_int_equal(mb_load(b, &ma), ADCNN_ERR_FORMAT);
	expect_msg("tensor 'W': bad dimensions");
	b->inits[0].dims[0] = 2;
	b->inits[0].dims[1] = 3;
	b->inits[0].name = "";
	assert_int_equal(mb_load(b, &ma), ADCNN_ERR_FORMAT);
	expect_msg("initializer without a name");
	mb_free(b);
}

/* ---- the model hash: BLAKE2b-256 of the file's bytes ---- */

static bool is_hex64(const char *s)
{
	if (strlen(s) != 64)
		return false;
	for (int i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static void test_hash(void **state)
{
	char hex[ADCNN_HASH_HEX], path[4096];
	struct adcnn_model *m, *m2;
	struct mb *b;
	uint8_t *buf;
	size_t len;
	char *p;
	(void)state;

	/* BLAKE2b-256 test vectors (b2sum -l 256) */
	adcnn_hash_hex("abc", 3, hex);
	assert_string_equal(hex, "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319");
	adcnn_hash_hex("", 0, hex);
	assert_string_equal(hex, "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");

	/* b2sum -l 256 tests/data/models/resnet/model.onnx */
	model_path(path, sizeof(path), "resnet", "model.onnx");
	assert_int_equal(adcnn_model_load(ctx, path, &m), ADCNN_OK);
	assert_string_equal(adcnn_model_hash(m), "b94425fe4ecebb088f4e321535aab891475d34727ffdecf3fa250c907dbcdb1c");
	adcnn_model_free(m);

	b = mb_relu(13);
	buf = mb_pack(b, &len);
	assert_int_equal(adcnn_model_load_mem(ctx, buf, len, &m), ADCNN_OK);
	assert_true(is_hex64(adcnn_model_hash(m)));
	adcnn_hash_hex(buf, len, hex);
	assert_string_equal(adcnn_model_hash(m), hex);
	/* one byte of the producer's name changed: still a model, another hash */
	p = NULL;
	for (size_t i = 0; i + 15 <= len && p == NULL; i++)
		if (memcmp(buf + i, "adcnn-unit-test", 15) == 0)
			p = (char *)buf + i;
	assert_non_null(p);
	p[14] = 'x';
	assert_int_equal(adcnn_model_load_mem(ctx, buf, len, &m2), ADCNN_OK);
	assert_true(is_hex64(adcnn_model_hash(m2)));
	assert_string_not_equal(adcnn_model_hash(m), adcnn_model_hash(m2));
	adcnn_hash_hex(buf, len, hex);
	assert_string_equal(adcnn_model_hash(m2), hex);
	adcnn_model_free(m2);
	adcnn_model_free(m);
	free(buf);
	mb_free(b);
}

static void test_metadata(void **state)
{
	struct mb *b = mb_relu(13);
	struct adcnn_model *m;
	(void)state;

	for (int i = 0; i < 2; i++) {
		b->meta[i] = (Onnx__StringStringEntryProto)ONNX__STRING_STRING_ENTRY_PROTO__INIT;
		b->metas[i] = &b->meta[i];
	}
	b->meta[0].key = "mean";
	b->meta[0].value = "0.485,0.456,0.406";
	b->meta[1].key = "labels";
	b->meta[1].value = "cat dog";
	b->model.metadata_props = b->metas;
	b->model.n_metadata_props = 2;
	assert_int_equal(mb_load(b, &m), ADCNN_OK);
	assert_string_equal(adcnn_model_meta(m, "mean"), "0.485,0.456,0.406");
	assert_string_equal(adcnn_model_meta(m, "labels"), "cat dog");
	assert_null(adcnn_model_meta(m, "std"));
	assert_string_equal(adcnn_model_input_name(m), "x");
	assert_int_equal(m->in_rank, 4);
	assert_true(m->in_dims[2] == 2 && m->in_dims[3] == 2);
	adcnn_model_free(m);
	mb_free(b);
	adcnn_model_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_models),
		cmocka_unit_test(test_models_run),
		cmocka_unit_test(test_batchnorm_fold),
		cmocka_unit_test(test_fused_pair),
		cmocka_unit_test(test_runs_reuse),
		cmocka_unit_test(test_constant_fold),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_garbage_no_leak),
		cmocka_unit_test(test_unsupported_op),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_softmax_opsets),
		cmocka_unit_test(test_initializer_encodings),
		cmocka_unit_test(test_hash),
		cmocka_unit_test(test_metadata),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
