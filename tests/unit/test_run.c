/* test_run: adcnn_run (run.c) with a kept model: the run that loads a prefix keeps it when
 * asked, later runs of bundles of that prefix use it as it is, and a bundle of another prefix
 * replaces it; every run gives the bytes a run without a kept model gives. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "config.h"
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct adcnn_ctx *ctx;

/* the tile bundle of a test model's 2x2 fdsp plan, the model embedded */
static struct adcnn_bundle *tiles(const char *name)
{
	const char *top = getenv("top_srcdir");
	char path[4096];
	struct adcnn_model *m = NULL;
	struct adcnn_tensor *x = NULL;
	struct adcnn_plan *p = NULL;
	struct adcnn_plan_opts o = {2, 2, ADCNN_MODE_FDSP, NULL};
	struct adcnn_bundle *b = NULL;

	if (top == NULL || top[0] == '\0')
		top = ".";
	snprintf(path, sizeof(path), "%s/tests/data/models/%s/model.onnx", top, name);
	if (adcnn_model_load(ctx, path, &m) != ADCNN_OK)
		fail_msg("%s: %s", path, adcnn_ctx_error(ctx));
	snprintf(path, sizeof(path), "%s/tests/data/models/%s/input.npy", top, name);
	if (adcnn_npy_read(ctx, path, &x) != ADCNN_OK || adcnn_plan_new(ctx, m, x, &o, &p) != ADCNN_OK ||
	    adcnn_partition(ctx, m, p, x, -1, 1, &b) != ADCNN_OK)
		fail_msg("%s: %s", name, adcnn_ctx_error(ctx));
	adcnn_plan_free(p);
	adcnn_tensor_free(x);
	adcnn_model_free(m);
	return b;
}

/* the result bundle's bytes */
static uint8_t *run(const struct adcnn_bundle *t, struct adcnn_run_opts *o, size_t *len)
{
	struct adcnn_bundle *r = NULL;
	FILE *fp = tmpfile();
	uint8_t *buf;
	long n;

	assert_non_null(fp);
	if (adcnn_run(ctx, t, o, &r) != ADCNN_OK)
		fail_msg("run: %s", adcnn_ctx_error(ctx));
	if (adcnn_bundle_write(ctx, r, fileno(fp)) != ADCNN_OK)
		fail_msg("write: %s", adcnn_ctx_error(ctx));
	adcnn_bundle_free(r);
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	n = ftell(fp);
	assert_true(n > 0);
	rewind(fp);
	buf = malloc((size_t)n);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	*len = (size_t)n;
	return buf;
}

static void expect_same(const uint8_t *a, size_t la, const uint8_t *b, size_t lb, const char *what)
{
	if (la != lb || memcmp(a, b, la) != 0)
		fail_msg("%s: not the bytes of a run without a kept model", what);
}

static void test_kept_model(void **state)
{
	struct adcnn_bundle *ta = tiles("resnet"), *tb = tiles("vgg");
	struct adcnn_run_opts plain = {1, NULL, 0, 0, 0.0, 0, NULL}, keep = {1, NULL, 0, 0, 0.0, 1, NULL};
	size_t la, lb, l;
	uint8_t *ra = run(ta, &plain, &la), *rb = run(tb, &plain, &lb), *r;
	struct adcnn_model *first;
	(void)state;

	assert_null(plain.model);
	r = run(ta, &keep, &l);
	expect_same(ra, la, r, l, "resnet, the run that keeps its model");
	free(r);
	assert_non_null(keep.model);
	assert_string_equal(keep.model->hash, ta->man.prefix);
	first = keep.model;
	r = run(ta, &keep, &l);
	expect_same(ra, la, r, l, "resnet, on the kept model");
	free(r);
	assert_ptr_equal(keep.model, first);
	/* another prefix: its own model, kept in place of the first */
	r = run(tb, &keep, &l);
	expect_same(rb, lb, r, l, "vgg, with resnet's model kept");
	free(r);
	assert_string_equal(keep.model->hash, tb->man.prefix);
	r = run(ta, &keep, &l);
	expect_same(ra, la, r, l, "resnet again");
	free(r);
	assert_string_equal(keep.model->hash, ta->man.prefix);
	adcnn_model_free(keep.model);
	free(ra);
	free(rb);
	adcnn_bundle_free(ta);
	adcnn_bundle_free(tb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kept_model),
	};
	int rc;

	/* a cache that cannot exist: every model comes from its bundle, and nothing of the
	 * tests is left in the user's cache */
	setenv("XDG_CACHE_HOME", "/dev/null/adcnn-test-cache", 1);
	ctx = adcnn_ctx_new();
	if (ctx == NULL)
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	adcnn_ctx_free(ctx);
	return rc;
}
