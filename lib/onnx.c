/* onnx.c: the ONNX loader (protobuf-c code generated from Debian's onnx.proto) and the
 * extraction of a prefix sub-model, the ONNX file a node runs. */
#include "config.h"
#include "internal.h"
#include "onnx.pb-c.h"
#include <math.h>
#include <stdint.h>
#include <sys/mman.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *name;
	enum adcnn_op op;
} op_table[] = {
	{"Conv", OP_CONV}, {"BatchNormalization", OP_BATCHNORM}, {"Relu", OP_RELU},
	{"LeakyRelu", OP_LEAKYRELU}, {"Clip", OP_CLIP}, {"Sigmoid", OP_SIGMOID},
	{"HardSigmoid", OP_HARDSIGMOID}, {"HardSwish", OP_HARDSWISH}, {"MaxPool", OP_MAXPOOL},
	{"AveragePool", OP_AVGPOOL}, {"GlobalAveragePool", OP_GAP}, {"Add", OP_ADD}, {"Sub", OP_SUB},
	{"Mul", OP_MUL}, {"Div", OP_DIV}, {"Concat", OP_CONCAT}, {"Flatten", OP_FLATTEN},
	{"Reshape", OP_RESHAPE}, {"Gemm", OP_GEMM}, {"MatMul", OP_MATMUL}, {"Softmax", OP_SOFTMAX},
	{"Dropout", OP_IDENTITY}, {"Identity", OP_IDENTITY}, {"Shape", OP_SHAPE},
	{"Gather", OP_GATHER}, {"Unsqueeze", OP_UNSQUEEZE}, {"Squeeze", OP_SQUEEZE},
	{"Constant", OP_CONSTANT}, {"Cast", OP_CAST},
};

const char *adcnn_op_name(enum adcnn_op op)
{
	for (size_t i = 0; i < sizeof(op_table) / sizeof(op_table[0]); i++)
		if (op_table[i].op == op)
			return op_table[i].name;
	return "?";
}

enum adcnn_status adcnn_onnx_tensor_from_proto(struct adcnn_ctx *ctx, const Onnx__TensorProto *tp,
                                               struct adcnn_tensor **out);

enum adcnn_status adcnn_onnx_tensor_from_proto(struct adcnn_ctx *ctx, const Onnx__TensorProto *tp,
                                               struct adcnn_tensor **out)
{
	int64_t dims[ADCNN_MAX_RANK];
	size_t n, esize;
	struct adcnn_tensor *t;
	int dt = tp->has_data_type ? tp->data_type : 0;
	const char *name = tp->name ? tp->name : "";

	if (tp->n_dims > ADCNN_MAX_RANK)
		return adcnn_set_error(ctx, ADCNN_ERR_UNSUPPORTED, "tensor '%s': rank %zu too large", name, tp->n_dims);
	for (size_t i = 0; i < tp->n_dims; i++)
		dims[i] = tp->dims[i];
	if (!adcnn_dims_count((int)tp->n_dims, dims, &n))
		return adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "tensor '%s': bad dimensions", name);
	if (tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
		return adcnn_set_error(ctx, ADCNN_ERR_UNSUPPORTED, "tensor '%s': external data is not supported", name);
	switch (dt) {
	case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: esize = 4; break;
	case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE: esize = 8; break;
	case ONNX__TENSOR_PROTO__DATA_TYPE__INT64: esize = 8; break;
	case ONNX__TENSOR_PROTO__DATA_TYPE__INT32: esize = 4; break;
	default:
		return adcnn_set_error(ctx, ADCNN_ERR_UNSUPPORTED, "tensor '%s': data type %d is not supported", name, dt);
	}
	/* the data must be there before anything is allocated for it */
	if (tp->has_raw_data && tp->raw_data.len != n * esize)
		return adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "tensor '%s': raw data has %zu bytes, expected %zu", name, tp->raw_data.len, n * esize);
	if (!tp->has_raw_data) {
		size_t have = dt == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT ? tp->n_float_data
		            : dt == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE ? tp->n_double_data
		            : dt == ONNX__TENSOR_PROTO__DATA_TYPE__INT64 ? tp->n_int64_data : tp->n_int32_data;
		if (have != n)
			return adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "tensor '%s': %zu values, expected %zu", name, have, n);
	}
	t = adcnn_tensor_new_typed(dt == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT || dt == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE
	                               ? ADCNN_F32 : ADCNN_I64, (int)tp->n_dims, dims);
	if (t == NULL)
		return adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory for tensor '%s'", name);
	if (tp->has_raw_data) {
		const uint8_t *p = tp->raw_data.data;

		for (size_t i = 0; i < n; i++, p += esize) {
			uint64_t lo = adcnn_le32dec(p), hi = esize == 8 ? adcnn_le32dec(p + 4) : 0;
			uint64_t u = lo | hi << 32;
			switch (dt) {
			case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: { uint32_t v = (uint32_t)u; memcpy(&t->d.f[i], &v, 4); break; }
			case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE: { double v; memcpy(&v, &u, 8); t->d.f[i] = (float)v; break; }
			case ONNX__TENSOR_PROTO__DATA_TYPE__INT64: t->d.i[i] = (int64_t)u; break;
			default: t->d.i[i] = (int32_t)(uint32_t)u; break;
			}
		}
	} else {
		for (size_t i = 0; i < n; i++) {
			switch (dt) {
			case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: t->d.f[i] = tp->float_data[i]; break;
			case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE: t->d.f[i] = (float)tp->double_data[i]; break;
			case ONNX__TENSOR_PROTO__DATA_TYPE__INT64: t->d.i[i] = tp->int64_data[i]; break;
			default: t->d.i[i] = tp->int32_data[i]; break;
			}
		}
	}
	*out = t;
	return ADCNN_OK;
}

enum adcnn_status adcnn_onnx_tensor_parse(struct adcnn_ctx *ctx, const uint8_t *buf, size_t len,
                                          struct adcnn_tensor **out)
{
	Onnx__TensorProto *tp = onnx__tensor_proto__unpack(NULL, len, buf);
	enum adcnn_status st;

	if (tp == NULL)
		return adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "not an ONNX TensorProto");
	st = adcnn_onnx_tensor_from_proto(ctx, tp, out);
	onnx__tensor_proto__free_unpacked(tp, NULL);
	return st;
}

static const Onnx__AttributeProto *attr(const Onnx__NodeProto *np, const char *name)
{
	for (size_t i = 0; i < np->n_attribute; i++)
		if (np->attribute[i]->name && strcmp(np->attribute[i]->name, name) == 0)
			return np->attribute[i];
	return NULL;
}

static int64_t attr_i(const Onnx__NodeProto *np, const char *name, int64_t def)
{
	const Onnx__AttributeProto *a = attr(np, name);
	return a && a->has_i ? a->i : def;
}

static float attr_f(const Onnx__NodeProto *np, const char *name, float def)
{
	const Onnx__AttributeProto *a = attr(np, name);
	return a && a->has_f ? a->f : def;
}

/* attributes of 2-D windows: kernel_shape, strides, dilations, pads, auto_pad */
static enum adcnn_status window_attrs(struct adcnn_ctx *ctx, const Onnx__NodeProto *np,
                                      struct adcnn_node *n)
{
	const Onnx__AttributeProto *a;
	const char *what = NULL;

	n->kernel[0] = n->kernel[1] = 0;
	n->stride[0] = n->stride[1] = n->dil[0] = n->dil[1] = 1;
	memset(n->pad, 0, sizeof(n->pad));
	if ((a = attr(np, "kernel_shape")) != NULL) {
		if (a->n_ints != 2) { what = "kernel_shape"; goto bad; }
		for (int i = 0; i < 2; i++) {
			if (a->ints[i] < 1 || a->ints[i] > 4096) { what = "kernel_shape"; goto bad; }
			n->kernel[i] = (int)a->ints[i];
		}
	}
	if ((a = attr(np, "strides")) != NULL) {
		if (a->n_ints != 2) { what = "strides"; goto bad; }
		for (int i = 0; i < 2; i++) {
			if (a->ints[i] < 1 || a->ints[i] > 4096) { what = "strides"; goto bad; }
			n->stride[i] = (int)a->ints[i];
		}
	}
	if ((a = attr(np, "dilations")) != NULL) {
		if (a->n_ints != 2) { what = "dilations"; goto bad; }
		for (int i = 0; i < 2; i++) {
			if (a->ints[i] < 1 || a->ints[i] > 4096) { what = "dilations"; goto bad; }
			n->dil[i] = (int)a->ints[i];
		}
	}
	if ((a = attr(np, "pads")) != NULL) {
		if (a->n_ints != 4) { what = "pads"; goto bad; }
		for (int i = 0; i < 4; i++) {
			if (a->ints[i] < 0 || a->ints[i] > 4096) { what = "pads"; goto bad; }
			n->pad[i] = (int)a->ints[i];
		}
	}
	if ((a = attr(np, "auto_pad")) != NULL && a->has_s) {
		const char *s = (const char *)a->s.data;
		size_t l = a->s.len;
		if (l == 6 && memcmp(s, "NOTSET", 6) == 0) n->auto_pad = 0;
		else if (l == 10 && memcmp(s, "SAME_UPPER", 10) == 0) n->auto_pad = 1;
		else if (l == 10 && memcmp(s, "SAME_LOWER", 10) == 0) n->auto_pad = 2;
		else if (l == 5 && memcmp(s, "VALID", 5) == 0) n->auto_pad = 3;
		else { what = "auto_pad"; goto bad; }
	}
	if ((a = attr(np, "storage_order")) != NULL && a->i != 0) { what = "storage_order"; goto bad; }
	return ADCNN_OK;
bad:
	return adcnn_set_error(ctx, ADCNN_ERR_UNSUPPORTED, "node '%s' (%s): attribute '%s' is not supported (2-D windows only)",
	                       n->name, np->op_type, what);
}

static enum adcnn_status node_attrs(struct adcnn_ctx *ctx, const Onnx__NodeProto *np,
                                    struct adcnn_node *n, int opset)
{
	const Onnx__AttributeProto *a;
	enum adcnn_status st = ADCNN_OK;

	switch (n->op) {
	case OP_CONV:
		st = window_attrs(ctx, np, n);
		n->group = (int)attr_i(np, "group", 1);
		if (n->group < 1)
			return adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "node '%s' (Conv): bad group", n->name);
		break;
	case OP_MAXPOOL:
	case OP_AVGPOOL:
		st = window_attrs(ctx, np, n);
		if (st == ADCNN_OK && n->kernel[0] == 0)
			return adcnn_set_error(ctx, ADCNN_ERR_UNSUPPORTED, "node '%s' (%s): 2-D kernel_shape required", n->name, np->op_type);
		n->ceil_mode = (int)attr_i(np, "ceil_mode", 0);
		n->count_include_pad = (int)attr_i(np, "count_include_pad", 0);
		if (n->op == OP_MAXPOOL && np->n_output > 1)
			return adcnn_set_error(ctx, ADCNN_ERR_UNSUPPORTED, "node '%s' (MaxPool): the Indices output is not supported", n->name);
		break;
	case OP_BATCHNORM:
		n->eps = attr_f(np, "epsilon", 1e-5f);
		if (attr_i(np, "training_mode", 0) != 0 || np->n_output > 1)
			return adcnn_set_error(ctx, ADCNN_ERR_UNSUPPORTED, "node '%s' (BatchNormalization): training mode is not supported", n->name);
		break;
	case OP_LEAKYRELU: n->alpha = attr_f(np, "alpha", 0.01f); break;
	case OP_HARDSIGMOID:
		n->alpha = attr_f(np, "alpha", 0.2f);
		n->beta = attr_f(np, "beta", 0.5f);
		break;
	case OP_CLIP:
		n->fmin = attr_f(np, "min", -INFINITY);
		n->fmax = attr_f(np, "max", INFINITY);
		break;
	case OP_CONCAT:
	case OP_GATHER:
		n->axis = (int)attr_i(np, "axis", 0);
		break;
	case OP_FLATTEN:
		n->axis = (int)attr_i(np, "axis", 1);
		break;
	case OP_SOFTMAX:
		n->legacy_softmax = opset < 13;
		n->axis = (int)attr_i(np, "axis", opset < 13 ? 1 : -1);
		break;
	case OP_GEMM:
		n->alpha = attr_f(np, "alpha", 1.0f);
		n->beta = attr_f(np, "beta", 1.0f);
		n->trans_a = (int)attr_i(np, "transA", 0);
		n->trans_b = (int)attr_i(np, "transB", 0);
		break;
	case OP_SHAPE:
		n->axis = (int)attr_i(np, "start", 0);
		n->group = (int)attr_i(np, "end", INT32_MAX);
		break;
	case OP_RESHAPE: n->allowzero = (int)attr_i(np, "allowzero", 0); break;
	case OP_CAST:
		n->to = (int)attr_i(np, "to", 1);
		if (n->to != 1 && n->to != 6 && n->to != 7)
			return adcnn_set_error(ctx, ADCNN_ERR_UNSUPPORTED, "node '%s' (Cast): target type %d is not supported", n->name, n->to);
		break;
	case OP_UNSQUEEZE:
	case OP_SQUEEZE:
		if ((a = attr(np, "axes")) != NULL) {
			if (a->n_ints > ADCNN_MAX_RANK)
				return adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "node '%s': too many axes", n->name);
			n->axes = malloc(sizeof(int64_t) * (a->n_ints + 1));
			if (n->axes == NULL)
				return adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory");
			memcpy(n->axes, a->ints, sizeof(int64_t) * a->n_ints);
			n->naxes = (int)a->n_ints;
		}
		break;
	case OP_IDENTITY:
		if (strcmp(np->op_type, "Dropout") == 0 && np->n_output > 1)
			return adcnn_set_error(ctx, ADCNN_ERR_UNSUPPORTED, "node '%s' (Dropout): the mask output is not supported", n->name);
		break;
	default:
		break;
	}
	return st;
}

static int opset_of(const Onnx__ModelProto *mp)
{
	for (size_t i = 0; i < mp->n_opset_import; i++) {
		const Onnx__OperatorSetIdProto *o = mp->opset_import[i];
		if ((o->domain == NULL || o->domain[0] == '\0' || strcmp(o->domain, "ai.onnx") == 0) && o->has_version)
			return (int)o->version;
	}
	return 0;
}

static enum adcnn_status load_graph(struct adcnn_ctx *ctx, struct adcnn_model *m,
                                    const Onnx__ModelProto *mp, bool keep_source)
{
	const Onnx__GraphProto *gp = mp->graph;
	struct adcnn_graph *g = &m->g;
	enum adcnn_status st;
	int ninputs = 0;

	g->input = -1;
	g->opset = opset_of(mp);
	if (g->opset < 1 || g->opset > 18)
		return adcnn_set_error(ctx, ADCNN_ERR_UNSUPPORTED, "opset %d is not supported (1 to 18 are)", g->opset);
	for (size_t i = 0; i < gp->n_initializer; i++) {
		const Onnx__TensorProto *tp = gp->initializer[i];
		int v;

		if (tp->name == NULL || tp->name[0] == '\0')
			return adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "initializer without a name");
		v = adcnn_graph_value(g, tp->name, true);
		if (v < 0)
			return adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory");
		if (g->values[v].init != NULL)
			return adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "initializer '%s' given twice", tp->name);
		st = adcnn_onnx_tensor_from_proto(ctx, tp, &g->values[v].init);
		if (st != ADCNN_OK)
			return st;
		if (!keep_source && tp->has_raw_data) {
			/* converted: the protobuf's copy goes now, not after the last one */
			free(tp->raw_data.data);
			((Onnx__TensorProto *)tp)->raw_data.data = NULL;
			((Onnx__TensorProto *)tp)->raw_data.len = 0;
		}
	}
	for (size_t i = 0; i < gp->n_input; i++) {
		const Onnx__ValueInfoProto *vi = gp->input[i];
		int v = adcnn_graph_value(g, vi->name ? vi->name : "", true);

		if (v < 0)
			return adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory");
		if (g->values[v].init != NULL)
			continue; /* older exporters list initializers as inputs */
		if (ninputs++ > 0)
			return adcnn_set_error(ctx, ADCNN_ERR_UNSUPPORTED, "model has more than one input ('%s', '%s')",
			                       g->values[g->input].name, g->values[v].name);
		g->input = v;
		m->in_rank = 0;
		if (vi->type && vi->type->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE && vi->type->tensor_type) {
			const Onnx__TypeProto__Tensor *tt = vi->type->tensor_type;
			if (tt->has_elem_type && tt->elem_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT)
				return adcnn_set_error(ctx, ADCNN_ERR_UNSUPPORTED, "input '%s' is not float32", vi->name);
			if (tt->shape && tt->shape->n_dim <= ADCNN_MAX_RANK) {
				m->in_rank = (int)tt->shape->n_dim;
				for (size_t d = 0; d < tt->shape->n_dim; d++) {
					const Onnx__TensorShapeProto__Dimension *dim = tt->shape->dim[d];
					m->in_dims[d] = dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE
					                    ? dim->dim_value : -1;
				}
			}
		}
	}
	if (g->input < 0)
		return adcnn_set_error(ctx, ADCNN_ERR_UNSUPPORTED, "model has no input");
	g->nodes = calloc(gp->n_node ? gp->n_node : 1, sizeof(*g->nodes));
	if (g->nodes == NULL)
		return adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < gp->n_node; i++) {
		const Onnx__NodeProto *np = gp->node[i];
		struct adcnn_node *n = &g->nodes[g->nnodes];
		size_t k;
		char buf[64];

		if (np->domain && np->domain[0] && strcmp(np->domain, "ai.onnx") != 0)
			return adcnn_set_error(ctx, ADCNN_ERR_UNSUPPORTED, "node '%s': operator domain '%s' is not supported",
			                       np->name ? np->name : "", np->domain);
		if (np->name && np->name[0]) {
			n->name = strdup(np->name);
		} else {
			snprintf(buf, sizeof(buf), "%s_%zu", np->op_type ? np->op_type : "node", i);
			n->name = strdup(buf);
		}
		g->nnodes++;
		if (n->name == NULL)
			return adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory");
		for (k = 0; k < sizeof(op_table) / sizeof(op_table[0]); k++)
			if (np->op_type && strcmp(np->op_type, op_table[k].name) == 0)
				break;
		if (k == sizeof(op_table) / sizeof(op_table[0]))
			return adcnn_set_error(ctx, ADCNN_ERR_UNSUPPORTED, "node '%s': operator '%s' is not supported",
			                       n->name, np->op_type ? np->op_type : "");
		n->op = op_table[k].op;
		n->nin = (int)np->n_input;
		n->nout = (int)np->n_output;
		if (np->n_input > 64 || np->n_output > 8 || np->n_output < 1)
			return adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "node '%s': bad number of inputs or outputs", n->name);
		n->in = calloc(np->n_input + 1, sizeof(int));
		n->out = calloc(np->n_output, sizeof(int));
		if (n->in == NULL || n->out == NULL)
			return adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory");
		for (k = 0; k < np->n_input; k++) {
			if (np->input[k] == NULL || np->input[k][0] == '\0') {
				n->in[k] = -1;
				continue;
			}
			n->in[k] = adcnn_graph_value(g, np->input[k], true);
			if (n->in[k] < 0)
				return adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory");
		}
		for (k = 0; k < np->n_output; k++) {
			int v;

			if (np->output[k] == NULL || np->output[k][0] == '\0') {
				n->out[k] = -1;
				continue;
			}
			v = adcnn_graph_value(g, np->output[k], true);
			if (v < 0)
				return adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory");
			if (g->values[v].producer >= 0 || g->values[v].init != NULL || v == g->input)
				return adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "tensor '%s' is produced twice", np->output[k]);
			g->values[v].producer = g->nnodes - 1;
			n->out[k] = v;
		}
		if (n->op == OP_CONSTANT) {
			const Onnx__AttributeProto *a = attr(np, "value");
			int v = n->out[0];

			if (a == NULL || a->t == NULL)
				return adcnn_set_error(ctx, ADCNN_ERR_UNSUPPORTED, "node '%s' (Constant): only the 'value' attribute is supported", n->name);
			if (v < 0)
				return adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "node '%s': no output", n->name);
			st = adcnn_onnx_tensor_from_proto(ctx, a->t, &g->values[v].init);
			if (st != ADCNN_OK)
				return st;
			continue;
		}
		st = node_attrs(ctx, np, n, g->opset);
		if (st != ADCNN_OK)
			return st;
	}
	g->outputs = calloc(gp->n_output ? gp->n_output : 1, sizeof(int));
	if (g->outputs == NULL)
		return adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < gp->n_output; i++) {
		int v = adcnn_graph_value(g, gp->output[i]->name ? gp->output[i]->name : "", false);
		if (v < 0)
			return adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "graph output '%s' is never produced", gp->output[i]->name);
		g->outputs[g->noutputs++] = v;
	}
	if (g->noutputs == 0)
		return adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "model has no output");
	return adcnn_graph_finish(ctx, g);
}

/* own: buf is the caller's to give up, freed as soon as the protobuf is unpacked, so that a
 * large model is not held three times over while it loads */
static enum adcnn_status load(struct adcnn_ctx *ctx, void *buf, size_t len, bool own,
                              bool keep_source, const char *hash, struct adcnn_model **out)
{
	struct adcnn_model *m = calloc(1, sizeof(*m));
	Onnx__ModelProto *mp = NULL;
	enum adcnn_status st;

	if (m == NULL) {
		if (own)
			free(buf);
		return adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory");
	}
	if (hash != NULL)
		memcpy(m->hash, hash, ADCNN_HASH_HEX);
	else
		adcnn_hash_hex(buf, len, m->hash);
	mp = onnx__model_proto__unpack(NULL, len, buf);
	if (own)
		free(buf);
	m->proto = mp;
	if (mp == NULL || mp->graph == NULL) {
		st = adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "not an ONNX model");
		goto fail;
	}
	if (mp->n_metadata_props > 0) {
		m->meta_keys = calloc(mp->n_metadata_props, sizeof(char *));
		m->meta_vals = calloc(mp->n_metadata_props, sizeof(char *));
		if (m->meta_keys == NULL || m->meta_vals == NULL) {
			st = adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory");
			goto fail;
		}
		for (size_t i = 0; i < mp->n_metadata_props; i++) {
			const char *k = mp->metadata_props[i]->key, *v = mp->metadata_props[i]->value;
			m->meta_keys[m->nmeta] = strdup(k ? k : "");
			m->meta_vals[m->nmeta++] = strdup(v ? v : "");
			if (m->meta_keys[m->nmeta - 1] == NULL || m->meta_vals[m->nmeta - 1] == NULL) {
				st = adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory");
				goto fail;
			}
		}
	}
	st = load_graph(ctx, m, mp, keep_source);
	if (st != ADCNN_OK)
		goto fail;
	if (!keep_source)
		adcnn_model_drop_source(m);
	*out = m;
	return ADCNN_OK;
fail:
	adcnn_model_free(m);
	return st;
}

enum adcnn_status adcnn_model_load_mem(struct adcnn_ctx *ctx, const void *buf, size_t len,
                                       struct adcnn_model **out)
{
	return load(ctx, (void *)buf, len, false, true, NULL, out);
}

enum adcnn_status adcnn_model_load_owned(struct adcnn_ctx *ctx, uint8_t *buf, size_t len,
                                         const char *hash, struct adcnn_model **out)
{
	return load(ctx, buf, len, true, false, hash, out);
}

enum adcnn_status adcnn_model_load(struct adcnn_ctx *ctx, const char *path, struct adcnn_model **out)
{
	return adcnn_model_load_ex(ctx, path, 0, out);
}

enum adcnn_status adcnn_model_load_ex(struct adcnn_ctx *ctx, const char *path, int flags,
                                      struct adcnn_model **out)
{
	uint8_t *buf;
	size_t len;
	enum adcnn_status st;

	if (flags & ADCNN_LOAD_CACHED)
		return adcnn_model_load_cached(ctx, path, out);
	st = adcnn_file_read(ctx, path, &buf, &len);
	if (st != ADCNN_OK)
		return st;
	st = load(ctx, buf, len, true, !(flags & ADCNN_LOAD_RUN_ONLY), NULL, out);
	if (st != ADCNN_OK) {
		char msg[sizeof(ctx->msg)];
		snprintf(msg, sizeof(msg), "%s", ctx->msg);
		adcnn_set_error(ctx, st, "model '%s': %s", path, msg);
	}
	return st;
}

/* What only the extraction of a prefix sub-model needs: the protobuf, a second copy of
 * every weight. */
void adcnn_model_drop_source(struct adcnn_model *m)
{
	if (m->proto)
		onnx__model_proto__free_unpacked(m->proto, NULL);
	m->proto = NULL;
}

void adcnn_model_free(struct adcnn_model *m)
{
	if (m == NULL)
		return;
	adcnn_graph_release(&m->g);
	adcnn_model_drop_source(m);
	if (m->map != NULL)
		munmap(m->map, m->map_len);
	for (int i = 0; i < m->nmeta; i++) {
		free(m->meta_keys[i]);
		free(m->meta_vals[i]);
	}
	free(m->meta_keys);
	free(m->meta_vals);
	free(m);
}

const char *adcnn_model_hash(const struct adcnn_model *m) { return m->hash; }

const char *adcnn_model_meta(const struct adcnn_model *m, const char *key)
{
	for (int i = 0; i < m->nmeta; i++)
		if (strcmp(m->meta_keys[i], key) == 0)
			return m->meta_vals[i];
	return NULL;
}

const char *adcnn_model_input_name(const struct adcnn_model *m)
{
	return m->g.values[m->g.input].name;
}

/* The prefix sub-model: every node the split tensor depends on, with only the initializers
 * those nodes read, and the split tensor as the one output. Deterministic: nodes and
 * initializers keep the order of the full model. */
enum adcnn_status adcnn_onnx_submodel(struct adcnn_ctx *ctx, const struct adcnn_model *m,
                                      const char *split, uint8_t **buf, size_t *len)
{
	const Onnx__ModelProto *mp = m->proto;
	const Onnx__GraphProto *gp;
	Onnx__ModelProto sub;
	Onnx__GraphProto g = ONNX__GRAPH_PROTO__INIT;
	Onnx__ValueInfoProto out = ONNX__VALUE_INFO_PROTO__INIT;
	Onnx__ValueInfoProto *outp = &out;
	Onnx__ValueInfoProto *inp = NULL;
	bool *keep = NULL, *used = NULL;
	char **need = NULL;
	size_t nneed = 0, capneed = 0;
	enum adcnn_status st = ADCNN_OK;

	if (mp == NULL)
		return adcnn_set_error(ctx, ADCNN_ERR_INTERNAL, "the model's source was dropped");
	gp = mp->graph;
	sub = *mp;
	keep = calloc(gp->n_node + 1, 1);
	used = calloc(gp->n_initializer + 1, 1);
	if (keep == NULL || used == NULL)
		goto nomem;
	/* a worklist of tensor names, walked back from the split */
	need = malloc(sizeof(char *) * 16);
	if (need == NULL)
		goto nomem;
	capneed = 16;
	need[nneed++] = (char *)split;
	while (nneed > 0) {
		const char *name = need[--nneed];
		for (size_t i = 0; i < gp->n_node; i++) {
			const Onnx__NodeProto *np = gp->node[i];
			bool produces = false;
			if (keep[i])
				continue;
			for (size_t k = 0; k < np->n_output; k++)
				if (np->output[k] && strcmp(np->output[k], name) == 0)
					produces = true;
			if (!produces)
				continue;
			keep[i] = true;
			for (size_t k = 0; k < np->n_input; k++) {
				if (np->input[k] == NULL || np->input[k][0] == '\0')
					continue;
				if (nneed == capneed) {
					char **nn = realloc(need, sizeof(char *) * capneed * 2);
					if (nn == NULL)
						goto nomem;
					need = nn;
					capneed *= 2;
				}
				need[nneed++] = np->input[k];
			}
		}
		for (size_t i = 0; i < gp->n_initializer; i++)
			if (gp->initializer[i]->name && strcmp(gp->initializer[i]->name, name) == 0)
				used[i] = true;
	}
	g.name = gp->name;
	g.node = malloc(sizeof(*g.node) * (gp->n_node + 1));
	g.initializer = malloc(sizeof(*g.initializer) * (gp->n_initializer + 1));
	if (g.node == NULL || g.initializer == NULL)
		goto nomem;
	for (size_t i = 0; i < gp->n_node; i++)
		if (keep[i])
			g.node[g.n_node++] = gp->node[i];
	for (size_t i = 0; i < gp->n_initializer; i++)
		if (used[i])
			g.initializer[g.n_initializer++] = gp->initializer[i];
	for (size_t i = 0; i < gp->n_input; i++)
		if (gp->input[i]->name && strcmp(gp->input[i]->name, m->g.values[m->g.input].name) == 0)
			inp = gp->input[i];
	if (inp == NULL) {
		st = adcnn_set_error(ctx, ADCNN_ERR_INTERNAL, "model input not found");
		goto done;
	}
	g.n_input = 1;
	g.input = &inp;
	out.name = (char *)split;
	g.n_output = 1;
	g.output = &outp;
	sub.graph = &g;
	sub.n_metadata_props = 0;
	sub.metadata_props = NULL;
	sub.doc_string = NULL;
	*len = protobuf_c_message_get_packed_size(&sub.base);
	*buf = malloc(*len ? *len : 1);
	if (*buf == NULL)
		goto nomem;
	protobuf_c_message_pack(&sub.base, *buf);
	goto done;
nomem:
	st = adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory");
done:
	free(g.node);
	free(g.initializer);
	free(need);
	free(keep);
	free(used);
	return st;
}
