/* test_partition: the split point, the tiling rule and the halos (partition.c), on the test
 * models. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "config.h"
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct adcnn_ctx *ctx;

struct fixture {
	const char *name;
	struct adcnn_model *m;
	struct adcnn_tensor *x;
	char split[256];
};

static struct fixture fx[] = {{"resnet"}, {"vgg"}, {"detector"}, {"mobilenet"}, {"squeezenet"}};
#define RESNET (&fx[0])
#define VGG (&fx[1])

static void path_of(char *buf, size_t len, const char *model, const char *file)
{
	const char *top = getenv("top_srcdir");

	snprintf(buf, len, "%s/tests/data/models/%s/%s", top != NULL && top[0] ? top : ".", model, file);
}

static int setup(void **state)
{
	(void)state;
	ctx = adcnn_ctx_new();
	if (ctx == NULL)
		return -1;
	for (size_t i = 0; i < sizeof(fx) / sizeof(fx[0]); i++) {
		char path[4096];
		FILE *fp;
		path_of(path, sizeof(path), fx[i].name, "model.onnx");
		if (adcnn_model_load(ctx, path, &fx[i].m) != ADCNN_OK) {
			fprintf(stderr, "%s\n", adcnn_ctx_error(ctx));
			return -1;
		}
		path_of(path, sizeof(path), fx[i].name, "input.npy");
		if (adcnn_npy_read(ctx, path, &fx[i].x) != ADCNN_OK) {
			fprintf(stderr, "%s\n", adcnn_ctx_error(ctx));
			return -1;
		}
		path_of(path, sizeof(path), fx[i].name, "split.txt");
		fp = fopen(path, "r");
		if (fp == NULL || fgets(fx[i].split, sizeof(fx[i].split), fp) == NULL)
			return -1;
		fclose(fp);
		fx[i].split[strcspn(fx[i].split, "\r\n")] = '\0';
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(fx) / sizeof(fx[0]); i++) {
		adcnn_model_free(fx[i].m);
		adcnn_tensor_free(fx[i].x);
	}
	adcnn_ctx_free(ctx);
	return 0;
}

static struct adcnn_plan *plan(struct fixture *f, int rows, int cols, enum adcnn_mode mode, const char *split)
{
	struct adcnn_plan_opts o = {rows, cols, mode, split};
	struct adcnn_plan *p = NULL;

	if (adcnn_plan_new(ctx, f->m, f->x, &o, &p) != ADCNN_OK)
		fail_msg("%s %dx%d: %s", f->name, rows, cols, adcnn_ctx_error(ctx));
	return p;
}

static enum adcnn_status plan_st(struct fixture *f, int rows, int cols, enum adcnn_mode mode, const char *split)
{
	struct adcnn_plan_opts o = {rows, cols, mode, split};
	struct adcnn_plan *p = NULL;
	enum adcnn_status st = adcnn_plan_new(ctx, f->m, f->x, &o, &p);

	if (st != ADCNN_OK)
		assert_null(p);
	adcnn_plan_free(p);
	return st;
}

/* ---- the tiling rule ---- */

static void test_split_sizes(void **state)
{
	int b[9];
	(void)state;

	adcnn_split_sizes(7, 2, b);
	assert_true(b[0] == 0 && b[1] == 4 && b[2] == 7);
	adcnn_split_sizes(7, 3, b);
	assert_true(b[0] == 0 && b[1] == 3 && b[2] == 5 && b[3] == 7);
	adcnn_split_sizes(8, 4, b);
	assert_true(b[0] == 0 && b[1] == 2 && b[2] == 4 && b[3] == 6 && b[4] == 8);
	adcnn_split_sizes(8, 3, b);
	assert_true(b[0] == 0 && b[1] == 3 && b[2] == 6 && b[3] == 8);
	adcnn_split_sizes(5, 1, b);
	assert_true(b[0] == 0 && b[1] == 5);
	adcnn_split_sizes(5, 5, b);
	for (int i = 0; i <= 5; i++)
		assert_int_equal(b[i], i);
	adcnn_split_sizes(17, 8, b); /* 3 2 2 2 2 2 2 2 */
	assert_true(b[1] == 3 && b[2] == 5 && b[8] == 17);
}

/* ---- the split point ---- */

static void test_split_names(void **state)
{
	(void)state;

	for (size_t i = 0; i < sizeof(fx) / sizeof(fx[0]); i++) {
		struct adcnn_plan *p = plan(&fx[i], 1, 1, ADCNN_MODE_FDSP, NULL), *q;
		assert_string_equal(p->split_name, fx[i].split);
		assert_string_equal(p->input_name, "input");
		assert_int_equal(p->split_rank, 4);
		assert_int_equal(p->split_dims[2], 8);
		assert_int_equal(p->split_dims[3], 8);
		/* "auto" is the default; the name chosen by hand gives the same plan */
		q = plan(&fx[i], 1, 1, ADCNN_MODE_FDSP, "auto");
		assert_int_equal(q->split, p->split);
		adcnn_plan_free(q);
		q = plan(&fx[i], 1, 1, ADCNN_MODE_FDSP, fx[i].split);
		assert_int_equal(q->split, p->split);
		assert_string_equal(q->prefix_hash, p->prefix_hash);
		adcnn_plan_free(q);
		adcnn_plan_free(p);
	}
}

static void test_split_refusals(void **state)
{
	(void)state;

	assert_int_equal(plan_st(RESNET, 2, 2, ADCNN_MODE_FDSP, "no/such/tensor"), ADCNN_ERR_MISMATCH);
	assert_string_equal(adcnn_ctx_error(ctx), "split 'no/such/tensor': no such node or tensor");
	/* a constant */
	assert_int_equal(plan_st(RESNET, 1, 1, ADCNN_MODE_FDSP, "fc.weight"), ADCNN_ERR_MISMATCH);
	/* after a node that is not spatial (the output comes after GlobalAveragePool) */
	assert_int_equal(plan_st(RESNET, 1, 1, ADCNN_MODE_FDSP, "output"), ADCNN_ERR_UNSUPPORTED);
	/* inside a residual block: the shortcut crosses the cut too */
	{
		const struct adcnn_graph *g = &RESNET->m->g;
		const char *inner = NULL;
		int sv;
		for (int i = 0; i < g->nnodes && inner == NULL; i++)
			if (g->nodes[i].op == OP_ADD)
				inner = g->values[g->nodes[i].in[0]].name;
		assert_non_null(inner);
		assert_int_equal(plan_st(RESNET, 1, 1, ADCNN_MODE_FDSP, inner), ADCNN_ERR_MISMATCH);
		assert_non_null(strstr(adcnn_ctx_error(ctx), "not a single tensor"));
		sv = adcnn_graph_value((struct adcnn_graph *)g, inner, false);
		assert_true(sv >= 0);
	}
}

static void test_grid_refusals(void **state)
{
	(void)state;

	/* the split tensor is 8x8 */
	assert_int_equal(plan_st(RESNET, 9, 9, ADCNN_MODE_FDSP, NULL), ADCNN_ERR_INVALID);
	assert_string_equal(adcnn_ctx_error(ctx), "grid 9x9 does not fit the 8x8 split tensor");
	assert_int_equal(plan_st(RESNET, 9, 1, ADCNN_MODE_HALO, NULL), ADCNN_ERR_INVALID);
	assert_int_equal(plan_st(RESNET, 1, 9, ADCNN_MODE_FDSP, NULL), ADCNN_ERR_INVALID);
	assert_int_equal(plan_st(RESNET, 0, 2, ADCNN_MODE_FDSP, NULL), ADCNN_ERR_INVALID);
	assert_int_equal(plan_st(RESNET, 2, 0, ADCNN_MODE_FDSP, NULL), ADCNN_ERR_INVALID);
	/* 8x8 is the largest */
	{
		struct adcnn_plan *p = plan(RESNET, 8, 8, ADCNN_MODE_FDSP, NULL);
		assert_int_equal(adcnn_plan_tiles(p), 64);
		assert_string_equal(adcnn_plan_tile_id(p, 63), "r7c7");
		adcnn_plan_free(p);
	}
}

/* A negative grid is a caller's argument out of range like a zero one. */
static void test_grid_negative(void **state)
{
	(void)state;

	assert_int_equal(plan_st(RESNET, -1, 2, ADCNN_MODE_FDSP, NULL), ADCNN_ERR_INVALID);
	assert_int_equal(plan_st(RESNET, 2, -1, ADCNN_MODE_FDSP, NULL), ADCNN_ERR_INVALID);
}

static void test_input_mismatch(void **state)
{
	struct adcnn_tensor *x = adcnn_tensor_new(4, (int64_t[]){1, 3, 64, 64});
	struct adcnn_tensor *x3 = adcnn_tensor_new(3, (int64_t[]){3, 128, 128});
	struct adcnn_plan_opts o = {2, 2, ADCNN_MODE_FDSP, NULL};
	struct adcnn_plan *p = NULL;
	(void)state;

	assert_int_equal(adcnn_plan_new(ctx, RESNET->m, x, &o, &p), ADCNN_ERR_MISMATCH);
	assert_string_equal(adcnn_ctx_error(ctx), "input shape 1x3x64x64 does not match the model's 1x3x128x128");
	assert_int_equal(adcnn_plan_new(ctx, RESNET->m, x3, &o, &p), ADCNN_ERR_MISMATCH);
	assert_null(p);
	adcnn_tensor_free(x);
	adcnn_tensor_free(x3);
}

/* ---- fdsp: tiles that do not overlap ---- */

static void check_cover(const struct adcnn_plan *p, int which, int H, int W)
{
	int *cnt = calloc((size_t)H * (size_t)W, sizeof(int));

	for (int t = 0; t < p->ntiles; t++) {
		const int *r = which ? p->tiles[t].out : p->tiles[t].in;
		assert_true(0 <= r[0] && r[0] < r[1] && r[1] <= H);
		assert_true(0 <= r[2] && r[2] < r[3] && r[3] <= W);
		for (int y = r[0]; y < r[1]; y++)
			for (int x = r[2]; x < r[3]; x++)
				cnt[y * W + x]++;
	}
	for (int i = 0; i < H * W; i++)
		if (cnt[i] != 1)
			fail_msg("%s pixel (%d, %d) is in %d tiles", which ? "output" : "input", i / W, i % W, cnt[i]);
	free(cnt);
}

static void test_fdsp_resnet(void **state)
{
	(void)state;

	for (int g = 1; g <= 4; g++) {
		struct adcnn_plan *p = plan(RESNET, g, g, ADCNN_MODE_FDSP, NULL);
		int b[9];
		char hex[ADCNN_HASH_HEX];

		assert_int_equal(p->mode, ADCNN_MODE_FDSP);
		assert_int_equal(adcnn_plan_tiles(p), g * g);
		assert_string_equal(p->split_name, RESNET->split);
		assert_int_equal(p->split_rank, 4);
		assert_true(p->split_dims[0] == 1 && p->split_dims[1] == 32 && p->split_dims[2] == 8 && p->split_dims[3] == 8);
		assert_int_equal(p->in_rank, 4);
		assert_true(p->in_dims[2] == 128 && p->in_dims[3] == 128);
		adcnn_split_sizes(8, g, b);
		for (int r = 0; r < g; r++)
			for (int c = 0; c < g; c++) {
				const struct adcnn_tile *t = &p->tiles[r * g + c];
				char id[24];
				snprintf(id, sizeof(id), "r%dc%d", r, c);
				assert_string_equal(t->id, id);
				assert_string_equal(adcnn_plan_tile_id(p, r * g + c), id);
				assert_int_equal(t->row, r);
				assert_int_equal(t->col, c);
				assert_true(t->out[0] == b[r] && t->out[1] == b[r + 1] && t->out[2] == b[c] && t->out[3] == b[c + 1]);
				/* a stride of 16 from input to split */
				for (int k = 0; k < 4; k++)
					assert_int_equal(t->in[k], 16 * t->out[k]);
				for (int k = 0; k < 4; k++)
					assert_int_equal(t->halo[k], 0);
			}
		check_cover(p, 0, 128, 128);
		check_cover(p, 1, 8, 8);
		/* the prefix model is the bytes the hash names */
		assert_true(p->prefix_len > 0);
		adcnn_hash_hex(p->prefix_bytes, p->prefix_len, hex);
		assert_string_equal(p->prefix_hash, hex);
		adcnn_plan_free(p);
	}
}

/* fdsp's promise: a tile's input run alone through the prefix, as a whole image, has exactly
 * the size of the tile's output region */
static void check_alone(struct fixture *f, const struct adcnn_plan *p)
{
	const struct adcnn_graph *g = &f->m->g;
	int *chw = malloc(sizeof(int) * 3 * ((size_t)g->nvalues + 1));

	for (int i = 0; i < p->ntiles; i++) {
		const struct adcnn_tile *t = &p->tiles[i];
		assert_int_equal(adcnn_value_dims(ctx, g, p->prefix, 3, t->in[1] - t->in[0], t->in[3] - t->in[2], chw), ADCNN_OK);
		if (chw[3 * p->split + 1] != t->out[1] - t->out[0] || chw[3 * p->split + 2] != t->out[3] - t->out[2])
			fail_msg("%s tile %s: %dx%d input gives %dx%d, not %dx%d", f->name, t->id, t->in[1] - t->in[0],
			         t->in[3] - t->in[2], chw[3 * p->split + 1], chw[3 * p->split + 2],
			         t->out[1] - t->out[0], t->out[3] - t->out[2]);
		assert_int_equal(chw[3 * p->split], p->split_dims[1]);
	}
	free(chw);
}

static void test_fdsp_other_models(void **state)
{
	(void)state;

	for (size_t i = 0; i < sizeof(fx) / sizeof(fx[0]); i++)
		for (int g = 1; g <= 4; g++) {
			struct adcnn_plan *p = plan(&fx[i], g, g + 1 > 4 ? g : g + 1, ADCNN_MODE_FDSP, NULL);
			check_cover(p, 0, 128, 128);
			check_cover(p, 1, 8, 8);
			check_alone(&fx[i], p);
			adcnn_plan_free(p);
		}
}

/* the plan as text, what adcnn-partition -n prints */
static void test_plan_print(void **state)
{
	struct adcnn_plan *p = plan(RESNET, 2, 2, ADCNN_MODE_FDSP, NULL);
	char *buf = NULL, want[512];
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);
	(void)state;

	adcnn_plan_print(p, fp);
	fclose(fp);
	snprintf(want, sizeof(want),
	         "plan fdsp grid 2 2 split %s 1 32 8 8\n"
	         "tile r0c0 in 0 64 0 64 out 0 4 0 4 halo 0 0 0 0\n"
	         "tile r0c1 in 0 64 64 128 out 0 4 4 8 halo 0 0 0 0\n"
	         "tile r1c0 in 64 128 0 64 out 4 8 0 4 halo 0 0 0 0\n"
	         "tile r1c1 in 64 128 64 128 out 4 8 4 8 halo 0 0 0 0\n", RESNET->split);
	assert_string_equal(buf, want);
	free(buf);
	adcnn_plan_free(p);
}

/* ---- halo: tiles that overlap by what their receptive fields need ---- */

/* Halo plans: the output regions of fdsp, input regions that contain fdsp's, and halos that
 * are the distance between the two: 0 at the image's border, > 0 inside it. Worked out by hand
 * from the layers, the input rows [16 o0 - before, 16 o1 + after) make split rows [o0, o1):
 * resnet (stem conv s2, maxpool s2, six basic blocks) needs 103 rows before and 88 after, more
 * than the image has, so its halos stop at the border; vgg (3x3 convs and 2x2 pools) needs 27
 * each side, so every interior boundary has a halo of exactly 27. */
static void check_halo(struct fixture *f, int g, int before, int after)
{
	struct adcnn_plan *h = plan(f, g, g, ADCNN_MODE_HALO, NULL);
	struct adcnn_plan *p = plan(f, g, g, ADCNN_MODE_FDSP, NULL);

	assert_int_equal(h->mode, ADCNN_MODE_HALO);
	assert_int_equal(h->ntiles, g * g);
	assert_string_equal(h->prefix_hash, p->prefix_hash);
	check_cover(h, 1, 8, 8);
	for (int i = 0; i < g * g; i++) {
		const struct adcnn_tile *t = &h->tiles[i], *u = &p->tiles[i];
		int core[4], want[4];

		assert_string_equal(t->id, u->id);
		assert_memory_equal(t->out, u->out, sizeof(t->out));
		/* contains the fdsp region */
		assert_true(t->in[0] <= u->in[0] && t->in[1] >= u->in[1]);
		assert_true(t->in[2] <= u->in[2] && t->in[3] >= u->in[3]);
		for (int k = 0; k < 4; k++)
			core[k] = 16 * t->out[k];
		want[0] = core[0] - before < 0 ? 0 : core[0] - before;
		want[1] = core[1] + after > 128 ? 128 : core[1] + after;
		want[2] = core[2] - before < 0 ? 0 : core[2] - before;
		want[3] = core[3] + after > 128 ? 128 : core[3] + after;
		if (memcmp(t->in, want, sizeof(want)) != 0)
			fail_msg("%s %dx%d tile %s: in %d %d %d %d, expected %d %d %d %d", f->name, g, g, t->id,
			         t->in[0], t->in[1], t->in[2], t->in[3], want[0], want[1], want[2], want[3]);
		assert_int_equal(t->halo[0], core[0] - t->in[0]);
		assert_int_equal(t->halo[1], t->in[1] - core[1]);
		assert_int_equal(t->halo[2], core[2] - t->in[2]);
		assert_int_equal(t->halo[3], t->in[3] - core[3]);
		/* none at the border, some inside */
		assert_int_equal(t->halo[0] == 0, t->row == 0);
		assert_int_equal(t->halo[1] == 0, t->row == g - 1);
		assert_int_equal(t->halo[2] == 0, t->col == 0);
		assert_int_equal(t->halo[3] == 0, t->col == g - 1);
	}
	adcnn_plan_free(p);
	adcnn_plan_free(h);
}

static void test_halo_regions(void **state)
{
	(void)state;

	for (int g = 1; g <= 4; g++) {
		check_halo(RESNET, g, 103, 88);
		check_halo(VGG, g, 27, 27);
	}
	/* vgg: the same halo at every interior boundary */
	{
		struct adcnn_plan *h = plan(VGG, 4, 4, ADCNN_MODE_HALO, NULL);
		for (int i = 0; i < h->ntiles; i++)
			for (int k = 0; k < 4; k++)
				assert_true(h->tiles[i].halo[k] == 0 || h->tiles[i].halo[k] == 27);
		adcnn_plan_free(h);
	}
}

/* The halos are enough: the prefix run on a tile's input region alone gives exactly the rows
 * of the split tensor the whole image gives. */
static void check_halo_run(struct fixture *f, int g)
{
	struct adcnn_plan *p = plan(f, g, g, ADCNN_MODE_HALO, NULL);
	const struct adcnn_graph *gr = &f->m->g;
	struct adcnn_exec_opts whole = {p->prefix, NULL};
	struct adcnn_tensor *full = NULL;
	struct adcnn_region *reg = calloc((size_t)gr->nvalues + 1, sizeof(*reg));
	float maxabs = 0;

	assert_int_equal(adcnn_graph_run(ctx, gr, gr->input, f->x, p->split, &whole, &full), ADCNN_OK);
	assert_int_equal(full->dims[2], 8);
	for (size_t i = 0; i < full->n; i++)
		maxabs = fmaxf(maxabs, fabsf(full->d.f[i]));
	for (int i = 0; i < p->ntiles; i++) {
		const struct adcnn_tile *t = &p->tiles[i];
		struct adcnn_exec_opts eo = {p->prefix, reg};
		struct adcnn_tensor *xc, *y = NULL, *want;

		assert_int_equal(adcnn_halo_regions(ctx, gr, p->prefix, 3, 128, 128, p->split, t->out, reg), ADCNN_OK);
		assert_true(reg[gr->input].r0 == t->in[0] && reg[gr->input].r1 == t->in[1]);
		assert_true(reg[gr->input].c0 == t->in[2] && reg[gr->input].c1 == t->in[3]);
		xc = adcnn_tensor_crop(f->x, t->in);
		assert_int_equal(adcnn_graph_run(ctx, gr, gr->input, xc, p->split, &eo, &y), ADCNN_OK);
		want = adcnn_tensor_crop(full, t->out);
		assert_true(adcnn_tensor_same_shape(y, want));
		for (size_t k = 0; k < y->n; k++)
			if (fabsf(y->d.f[k] - want->d.f[k]) > 1e-5f * maxabs)
				fail_msg("%s %dx%d tile %s: value %zu is %g, expected %g", f->name, g, g, t->id, k, y->d.f[k], want->d.f[k]);
		adcnn_tensor_free(want);
		adcnn_tensor_free(y);
		adcnn_tensor_free(xc);
	}
	free(reg);
	adcnn_tensor_free(full);
	adcnn_plan_free(p);
}

static void test_halo_run(void **state)
{
	(void)state;

	check_halo_run(VGG, 4);
	check_halo_run(RESNET, 3);
	check_halo_run(&fx[3], 3); /* mobilenet: depthwise convs, Clip, residual Adds */
	check_halo_run(&fx[4], 2); /* squeezenet: Concat */
}

/* ---- the prefix model ---- */

static void test_prefix_model(void **state)
{
	struct adcnn_plan *p = plan(RESNET, 2, 2, ADCNN_MODE_FDSP, NULL);
	struct adcnn_model *pm;
	int nprefix = 0;
	struct adcnn_tensor *a = NULL, *b = NULL;
	struct adcnn_exec_opts eo = {p->prefix, NULL};
	(void)state;

	for (int i = 0; i < RESNET->m->g.nnodes; i++)
		nprefix += p->prefix[i];
	/* everything but GlobalAveragePool, Flatten and Gemm */
	assert_int_equal(nprefix, RESNET->m->g.nnodes - 3);
	assert_int_equal(adcnn_model_load_mem(ctx, p->prefix_bytes, p->prefix_len, &pm), ADCNN_OK);
	assert_int_equal(pm->g.nnodes, nprefix);
	assert_int_equal(pm->g.noutputs, 1);
	assert_string_equal(pm->g.values[pm->g.outputs[0]].name, RESNET->split);
	assert_string_equal(adcnn_model_input_name(pm), "input");
	/* the prefix computes the split tensor of the full model */
	assert_int_equal(adcnn_graph_run(ctx, &pm->g, pm->g.input, RESNET->x, pm->g.outputs[0], NULL, &a), ADCNN_OK);
	assert_int_equal(adcnn_graph_run(ctx, &RESNET->m->g, RESNET->m->g.input, RESNET->x, p->split, &eo, &b), ADCNN_OK);
	assert_true(adcnn_tensor_same_shape(a, b));
	assert_memory_equal(a->d.f, b->d.f, a->n * sizeof(float));
	adcnn_tensor_free(a);
	adcnn_tensor_free(b);
	adcnn_model_free(pm);
	/* deterministic: the same plan twice gives the same bytes */
	{
		struct adcnn_plan *q = plan(RESNET, 3, 3, ADCNN_MODE_HALO, NULL);
		assert_int_equal(q->prefix_len, p->prefix_len);
		assert_memory_equal(q->prefix_bytes, p->prefix_bytes, p->prefix_len);
		adcnn_plan_free(q);
	}
	adcnn_plan_free(p);
	adcnn_plan_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_sizes),
		cmocka_unit_test(test_split_names),
		cmocka_unit_test(test_split_refusals),
		cmocka_unit_test(test_grid_refusals),
		cmocka_unit_test(test_grid_negative),
		cmocka_unit_test(test_input_mismatch),
		cmocka_unit_test(test_fdsp_resnet),
		cmocka_unit_test(test_fdsp_other_models),
		cmocka_unit_test(test_plan_print),
		cmocka_unit_test(test_halo_regions),
		cmocka_unit_test(test_halo_run),
		cmocka_unit_test(test_prefix_model),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
