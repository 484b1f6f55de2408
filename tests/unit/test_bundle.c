/* test_bundle: bundles (bundle.c), their MANIFEST (manifest.c) and the tile bundles a
 * partition makes (tiles.c): round trips, determinism, concatenation, and what a reader must
 * refuse. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "config.h"
#include "internal.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static struct adcnn_ctx *ctx;
static struct adcnn_model *model;
static struct adcnn_tensor *input;
static struct adcnn_plan *plan2; /* resnet, 2x2, fdsp */
static struct adcnn_plan *plan3; /* resnet, 3x3, halo */

static int setup(void **state)
{
	const char *top = getenv("top_srcdir");
	char path[4096];
	struct adcnn_plan_opts o2 = {2, 2, ADCNN_MODE_FDSP, NULL}, o3 = {3, 3, ADCNN_MODE_HALO, NULL};

	(void)state;
	if (top == NULL || top[0] == '\0')
		top = ".";
	ctx = adcnn_ctx_new();
	if (ctx == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/tests/data/models/resnet/model.onnx", top);
	if (adcnn_model_load(ctx, path, &model) != ADCNN_OK)
		goto fail;
	snprintf(path, sizeof(path), "%s/tests/data/models/resnet/input.npy", top);
	if (adcnn_npy_read(ctx, path, &input) != ADCNN_OK)
		goto fail;
	if (adcnn_plan_new(ctx, model, input, &o2, &plan2) != ADCNN_OK ||
	    adcnn_plan_new(ctx, model, input, &o3, &plan3) != ADCNN_OK)
		goto fail;
	return 0;
fail:
	fprintf(stderr, "setup: %s\n", adcnn_ctx_error(ctx));
	return -1;
}

static int teardown(void **state)
{
	(void)state;
	adcnn_plan_free(plan2);
	adcnn_plan_free(plan3);
	adcnn_tensor_free(input);
	adcnn_model_free(model);
	adcnn_ctx_free(ctx);
	return 0;
}

static void expect_msg(const char *part)
{
	if (strstr(adcnn_ctx_error(ctx), part) == NULL)
		fail_msg("message '%s' lacks '%s'", adcnn_ctx_error(ctx), part);
}

/* ---- helpers: bundles to bytes and back ---- */

static struct adcnn_bundle *partition(const struct adcnn_plan *p, const struct adcnn_tensor *x, int tile, int embed)
{
	struct adcnn_bundle *b = NULL;

	if (adcnn_partition(ctx, model, p, x, tile, embed, &b) != ADCNN_OK)
		fail_msg("partition: %s", adcnn_ctx_error(ctx));
	return b;
}

static uint8_t *fd_slurp(int fd, size_t *len)
{
	size_t cap = 1 << 16, n = 0;
	uint8_t *buf = malloc(cap);
	ssize_t r;

	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	while ((r = read(fd, buf + n, cap - n)) > 0) {
		n += (size_t)r;
		if (n == cap)
			buf = realloc(buf, cap *= 2);
	}
	assert_int_equal(r, 0);
	*len = n;
	return buf;
}

static uint8_t *to_bytes(const struct adcnn_bundle *b, size_t *len)
{
	FILE *fp = tmpfile();
	uint8_t *buf;

	assert_non_null(fp);
	if (adcnn_bundle_write(ctx, b, fileno(fp)) != ADCNN_OK)
		fail_msg("write: %s", adcnn_ctx_error(ctx));
	buf = fd_slurp(fileno(fp), len);
	fclose(fp);
	return buf;
}

/* read bytes as a bundle, from a regular file */
static enum adcnn_status from_bytes(const uint8_t *buf, size_t len, struct adcnn_bundle **b)
{
	FILE *fp = tmpfile();
	enum adcnn_status st;

	assert_non_null(fp);
	assert_int_equal(write(fileno(fp), buf, len), (ssize_t)len);
	assert_int_equal(lseek(fileno(fp), 0, SEEK_SET), 0);
	st = adcnn_bundle_read(ctx, fileno(fp), "test.bundle", b);
	fclose(fp);
	return st;
}

/* read bytes as a bundle, through a pipe a child process writes */
static enum adcnn_status from_pipe(const uint8_t *buf, size_t len, struct adcnn_bundle **b)
{
	int fds[2], status;
	pid_t pid;
	enum adcnn_status st;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		size_t o = 0;
		close(fds[0]);
		while (o < len) {
			ssize_t r = write(fds[1], buf + o, len - o);
			if (r <= 0)
				_exit(1);
			o += (size_t)r;
		}
		_exit(0);
	}
	close(fds[1]);
	st = adcnn_bundle_read(ctx, fds[0], "-", b);
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	return st;
}

static void expect_read_error(const uint8_t *buf, size_t len, enum adcnn_status want, const char *msg)
{
	struct adcnn_bundle *b = NULL;
	enum adcnn_status st = from_bytes(buf, len, &b);

	if (st != want)
		fail_msg("status %d (%s), expected %d", st, st ? adcnn_ctx_error(ctx) : "ok", want);
	assert_null(b);
	if (msg != NULL)
		expect_msg(msg);
}

/* a tar archive of these members, in this order, as libarchive writes it */
struct entry {
	const char *path;
	const void *data;
	size_t len;
};

static uint8_t *tar_make(const struct entry *e, int n, size_t *len)
{
	struct archive *a = archive_write_new();
	size_t cap = 1 << 20;
	uint8_t *buf = malloc(cap);

	assert_non_null(a);
	assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
	assert_int_equal(archive_write_set_bytes_in_last_block(a, 1), ARCHIVE_OK);
	assert_int_equal(archive_write_open_memory(a, buf, cap, len), ARCHIVE_OK);
	for (int i = 0; i < n; i++) {
		struct archive_entry *ae = archive_entry_new();
		archive_entry_set_pathname(ae, e[i].path);
		archive_entry_set_size(ae, (la_int64_t)e[i].len);
		archive_entry_set_filetype(ae, e[i].data == NULL && e[i].len == 0 ? AE_IFDIR : AE_IFREG);
		archive_entry_set_perm(ae, 0644);
		assert_int_equal(archive_write_header(a, ae), ARCHIVE_OK);
		if (e[i].len)
			assert_int_equal(archive_write_data(a, e[i].data, e[i].len), (la_ssize_t)e[i].len);
		archive_entry_free(ae);
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	return buf;
}

/* where the tar header of a member starts, and where its data does */
static bool tar_find(const uint8_t *buf, size_t len, const char *path, size_t *hdr, size_t *data)
{
	size_t off = 0;

	while (off + 512 <= len && buf[off] != '\0') {
		size_t size = (size_t)strtoull((const char *)buf + off + 124, NULL, 8);
		if (buf[off + 156] != 'x' && buf[off + 156] != 'g' && strncmp((const char *)buf + off, path, 100) == 0) {
			*hdr = off;
			*data = off + 512;
			return true;
		}
		off += 512 + (size + 511) / 512 * 512;
	}
	return false;
}

/* ---- round trips ---- */

static void expect_same_manifest(const struct adcnn_manifest *a, const struct adcnn_manifest *b)
{
	assert_int_equal(a->major, b->major);
	assert_int_equal(a->minor, b->minor);
	assert_int_equal(a->kind, b->kind);
	assert_string_equal(a->model, b->model);
	assert_string_equal(a->prefix, b->prefix);
	assert_string_equal(a->job, b->job);
	assert_int_equal(a->mode, b->mode);
	assert_string_equal(a->input_name, b->input_name);
	assert_string_equal(a->split_name, b->split_name);
	assert_int_equal(a->in_rank, b->in_rank);
	assert_memory_equal(a->in_dims, b->in_dims, sizeof(int64_t) * (size_t)a->in_rank);
	assert_int_equal(a->split_rank, b->split_rank);
	assert_memory_equal(a->split_dims, b->split_dims, sizeof(int64_t) * (size_t)a->split_rank);
	assert_int_equal(a->rows, b->rows);
	assert_int_equal(a->cols, b->cols);
	assert_int_equal(a->ntiles, b->ntiles);
	for (int i = 0; i < a->ntiles; i++) {
		assert_string_equal(a->tiles[i].id, b->tiles[i].id);
		assert_int_equal(a->tiles[i].row, b->tiles[i].row);
		assert_int_equal(a->tiles[i].col, b->tiles[i].col);
		assert_memory_equal(a->tiles[i].in, b->tiles[i].in, sizeof(a->tiles[i].in));
		assert_memory_equal(a->tiles[i].out, b->tiles[i].out, sizeof(a->tiles[i].out));
		assert_memory_equal(a->tiles[i].halo, b->tiles[i].halo, sizeof(a->tiles[i].halo));
	}
}

static void expect_same_members(const struct adcnn_bundle *a, const struct adcnn_bundle *b)
{
	assert_int_equal(a->nmembers, b->nmembers);
	for (int i = 0; i < a->nmembers; i++) {
		assert_string_equal(a->members[i].path, b->members[i].path);
		assert_int_equal(a->members[i].len, b->members[i].len);
		assert_memory_equal(a->members[i].data, b->members[i].data, a->members[i].len);
	}
}

static void test_partition_members(void **state)
{
	struct adcnn_bundle *b = partition(plan2, input, -1, 1);
	char path[128];
	(void)state;

	assert_int_equal(adcnn_bundle_kind(b), ADCNN_KIND_TILES);
	assert_int_equal(adcnn_bundle_count(b), 1);
	assert_int_equal(b->man.major, ADCNN_BUNDLE_MAJOR);
	assert_int_equal(b->man.minor, ADCNN_BUNDLE_MINOR);
	assert_string_equal(b->man.model, adcnn_model_hash(model));
	assert_string_equal(b->man.prefix, plan2->prefix_hash);
	assert_int_equal(b->nmembers, 5);
	snprintf(path, sizeof(path), "model/%s.onnx", plan2->prefix_hash);
	assert_string_equal(b->members[0].path, path);
	assert_int_equal(b->members[0].len, plan2->prefix_len);
	assert_memory_equal(b->members[0].data, plan2->prefix_bytes, plan2->prefix_len);
	for (int i = 0; i < 4; i++) {
		struct adcnn_tensor *t = NULL, *want;
		enum adcnn_enc enc;
		snprintf(path, sizeof(path), "tiles/%s.t", plan2->tiles[i].id);
		assert_string_equal(b->members[1 + i].path, path);
		assert_ptr_equal(adcnn_bundle_find(b, path), &b->members[1 + i]);
		assert_int_equal(adcnn_tensor_decode(ctx, b->members[1 + i].data, b->members[1 + i].len, &t, &enc), ADCNN_OK);
		assert_int_equal(enc, ADCNN_ENC_F32);
		want = adcnn_tensor_crop(input, plan2->tiles[i].in);
		assert_true(adcnn_tensor_same_shape(t, want));
		assert_int_equal(t->dims[2], 64);
		assert_memory_equal(t->d.f, want->d.f, want->n * sizeof(float));
		adcnn_tensor_free(want);
		adcnn_tensor_free(t);
	}
	assert_null(adcnn_bundle_find(b, "tiles/r2c0.t"));
	adcnn_bundle_free(b);

	/* one tile, no model: the MANIFEST still describes the whole grid */
	b = partition(plan2, input, 2, 0);
	assert_int_equal(b->nmembers, 1);
	assert_string_equal(b->members[0].path, "tiles/r1c0.t");
	assert_int_equal(b->man.ntiles, 4);
	adcnn_bundle_free(b);
	adcnn_bundle_free(NULL);
}

static void test_crop(void **state)
{
	struct adcnn_tensor *t = adcnn_tensor_new(4, (int64_t[]){1, 2, 4, 5}), *c;
	(void)state;

	for (size_t i = 0; i < t->n; i++)
		t->d.f[i] = (float)i;
	c = adcnn_tensor_crop(t, (int[]){1, 3, 2, 5});
	assert_true(c->rank == 4 && c->dims[0] == 1 && c->dims[1] == 2 && c->dims[2] == 2 && c->dims[3] == 3);
	/* channel 0 rows 1-2 columns 2-4, then channel 1 */
	static const float want[] = {7, 8, 9, 12, 13, 14, 27, 28, 29, 32, 33, 34};
	assert_memory_equal(c->d.f, want, sizeof(want));
	adcnn_tensor_free(c);
	adcnn_tensor_free(t);
}

static void test_roundtrip(void **state)
{
	const struct adcnn_plan *plans[2] = {plan2, plan3};
	(void)state;

	for (int k = 0; k < 2; k++)
		for (int embed = 0; embed < 2; embed++) {
			struct adcnn_bundle *b = partition(plans[k], input, -1, embed), *r = NULL;
			size_t len;
			uint8_t *buf = to_bytes(b, &len);
			assert_int_equal(from_bytes(buf, len, &r), ADCNN_OK);
			assert_non_null(r);
			assert_int_equal(adcnn_bundle_count(r), 1);
			assert_int_equal(r->nbundles, 1);
			assert_string_equal(r->ids[0].job, b->man.job);
			expect_same_manifest(&r->man, &b->man);
			expect_same_members(r, b);
			for (int i = 0; i < r->nmembers; i++)
				assert_int_equal(r->members[i].bundle, 0);
			adcnn_bundle_free(r);
			r = NULL;
			/* through a pipe, as from stdin or ssh */
			assert_int_equal(from_pipe(buf, len, &r), ADCNN_OK);
			expect_same_manifest(&r->man, &b->man);
			expect_same_members(r, b);
			adcnn_bundle_free(r);
			free(buf);
			adcnn_bundle_free(b);
		}
}

/* the MANIFEST is text a person can read: its first lines, and members with their hashes */
static void test_manifest_text(void **state)
{
	struct adcnn_bundle *b = partition(plan2, input, -1, 0);
	char *text = adcnn_manifest_format(&b->man, b), want[1024], hex[ADCNN_HASH_HEX];
	(void)state;

	snprintf(want, sizeof(want),
	         "adcnn-bundle 1.0\nkind tiles\nmodel %s\nprefix %s\njob %s\nmode fdsp\n"
	         "input input 1 3 128 128\nsplit %s 1 32 8 8\ngrid 2 2\n"
	         "tile r0c0 in 0 64 0 64 out 0 4 0 4 halo 0 0 0 0\n",
	         adcnn_model_hash(model), plan2->prefix_hash, b->man.job, plan2->split_name);
	assert_memory_equal(text, want, strlen(want));
	adcnn_hash_hex(b->members[2].data, b->members[2].len, hex);
	snprintf(want, sizeof(want), "\nmember tiles/r1c0.t %zu %s\n", b->members[2].len, hex);
	assert_non_null(strstr(text, want));
	assert_int_equal(b->members[2].len, 8 + 16 + 3 * 64 * 64 * 4);
	free(text);
	adcnn_bundle_free(b);
}

static void test_job_hash(void **state)
{
	struct adcnn_bundle *a = partition(plan2, input, -1, 1), *b = partition(plan2, input, 0, 0), *c, *d;
	struct adcnn_tensor *x2 = adcnn_tensor_clone(input);
	const char *zero = "0000000000000000000000000000000000000000000000000000000000000000";
	(void)state;

	/* the job names the plan and the input, not which tiles or whether the model travels */
	assert_string_not_equal(a->man.job, zero);
	assert_string_equal(a->man.job, b->man.job);
	/* one value of the input changed */
	x2->d.f[12345] += 1.0f;
	c = partition(plan2, x2, -1, 1);
	assert_string_not_equal(c->man.job, a->man.job);
	/* another plan */
	d = partition(plan3, input, -1, 1);
	assert_string_not_equal(d->man.job, a->man.job);
	adcnn_bundle_free(a);
	adcnn_bundle_free(b);
	adcnn_bundle_free(c);
	adcnn_bundle_free(d);
	adcnn_tensor_free(x2);
}

static void test_determinism(void **state)
{
	struct adcnn_bundle *a = partition(plan3, input, -1, 1), *b = partition(plan3, input, -1, 1);
	size_t l1, l2, l3;
	uint8_t *b1 = to_bytes(a, &l1), *b2 = to_bytes(a, &l2), *b3 = to_bytes(b, &l3);
	(void)state;

	assert_int_equal(l1, l2);
	assert_memory_equal(b1, b2, l1);
	assert_int_equal(l1, l3);
	assert_memory_equal(b1, b3, l1);
	/* no times, owners or padding to 10 KiB records: the MANIFEST's header says mtime 0 */
	{
		size_t hdr, data;
		assert_true(tar_find(b1, l1, "MANIFEST", &hdr, &data));
		assert_int_equal(hdr, 0);
		assert_int_equal(strtol((const char *)b1 + 136, NULL, 8), 0); /* mtime */
		assert_int_equal(strtol((const char *)b1 + 108, NULL, 8), 0); /* uid */
		assert_int_equal(l1 % 512, 0);
	}
	free(b1);
	free(b2);
	free(b3);
	adcnn_bundle_free(a);
	adcnn_bundle_free(b);
}

static void test_concatenated(void **state)
{
	struct adcnn_bundle *a = partition(plan2, input, 0, 1), *b = partition(plan2, input, 3, 0), *r = NULL;
	size_t la, lb;
	uint8_t *ba = to_bytes(a, &la), *bb = to_bytes(b, &lb), *both = malloc(2 * la + lb);
	(void)state;

	memcpy(both, ba, la);
	memcpy(both + la, bb, lb);
	assert_int_equal(from_bytes(both, la + lb, &r), ADCNN_OK);
	assert_int_equal(adcnn_bundle_count(r), 2);
	assert_int_equal(r->nmembers, 3);
	assert_string_equal(r->members[1].path, "tiles/r0c0.t");
	assert_int_equal(r->members[1].bundle, 0);
	assert_string_equal(r->members[2].path, "tiles/r1c1.t");
	assert_int_equal(r->members[2].bundle, 1);
	assert_string_equal(r->ids[0].job, a->man.job);
	assert_string_equal(r->ids[1].job, b->man.job);
	expect_same_manifest(&r->man, &a->man);
	adcnn_bundle_free(r);
	r = NULL;
	/* the same through a pipe */
	assert_int_equal(from_pipe(both, la + lb, &r), ADCNN_OK);
	assert_int_equal(adcnn_bundle_count(r), 2);
	assert_int_equal(r->nmembers, 3);
	adcnn_bundle_free(r);
	r = NULL;
	/* one bundle read after another into the same object */
	assert_int_equal(from_bytes(ba, la, &r), ADCNN_OK);
	assert_int_equal(from_bytes(bb, lb, &r), ADCNN_OK);
	assert_int_equal(adcnn_bundle_count(r), 2);
	assert_int_equal(r->nmembers, 3);
	assert_int_equal(r->members[2].bundle, 1);
	adcnn_bundle_free(r);
	r = NULL;
	/* the same bundle twice */
	memcpy(both + la, ba, la);
	assert_int_equal(from_bytes(both, 2 * la, &r), ADCNN_OK);
	assert_int_equal(adcnn_bundle_count(r), 2);
	assert_int_equal(r->nmembers, 4);
	adcnn_bundle_free(r);
	free(both);
	free(ba);
	free(bb);
	adcnn_bundle_free(a);
	adcnn_bundle_free(b);
}

/* ---- what a reader refuses ---- */

static void test_truncated(void **state)
{
	struct adcnn_bundle *b = partition(plan2, input, -1, 1);
	size_t len, hdr, data, mhdr, mdata;
	uint8_t *buf = to_bytes(b, &len);
	(void)state;

	assert_true(tar_find(buf, len, "MANIFEST", &mhdr, &mdata));
	assert_true(tar_find(buf, len, "tiles/r1c1.t", &hdr, &data));
	/* in the middle */
	expect_read_error(buf, len / 2, ADCNN_ERR_FORMAT, NULL);
	/* inside the MANIFEST's header, inside its text */
	expect_read_error(buf, 300, ADCNN_ERR_FORMAT, NULL);
	expect_read_error(buf, mdata + 100, ADCNN_ERR_FORMAT, NULL);
	/* right after the MANIFEST: every member is missing */
	{
		char path[128];
		size_t h0, d0;
		snprintf(path, sizeof(path), "model/%s.onnx", plan2->prefix_hash);
		assert_true(tar_find(buf, len, path, &h0, &d0));
		assert_true(h0 > mdata);
		expect_read_error(buf, h0, ADCNN_ERR_FORMAT, "missing");
		expect_msg(path);
	}
	/* at the last member's header: the archive ends cleanly, the MANIFEST lists one more */
	expect_read_error(buf, hdr, ADCNN_ERR_FORMAT, "member 'tiles/r1c1.t' missing");
	/* inside the last member's header, inside its data, one byte short of its end */
	expect_read_error(buf, hdr + 100, ADCNN_ERR_FORMAT, NULL);
	expect_read_error(buf, data + 1000, ADCNN_ERR_FORMAT, NULL);
	expect_read_error(buf, data + b->members[4].len - 1, ADCNN_ERR_FORMAT, NULL);
	free(buf);
	adcnn_bundle_free(b);
}

/* Whatever the cut, the message names the bundle: adcnn-merge reads several. */
static void test_truncated_names_source(void **state)
{
	struct adcnn_bundle *b = partition(plan2, input, -1, 1);
	size_t len, hdr, data;
	uint8_t *buf = to_bytes(b, &len);
	(void)state;

	assert_true(tar_find(buf, len, "tiles/r1c1.t", &hdr, &data));
	expect_read_error(buf, hdr, ADCNN_ERR_FORMAT, "'test.bundle': ");
	expect_read_error(buf, hdr + 100, ADCNN_ERR_FORMAT, "'test.bundle': ");
	expect_read_error(buf, data + 1000, ADCNN_ERR_FORMAT, "'test.bundle': ");
	free(buf);
	adcnn_bundle_free(b);
}

static void test_corrupt_member(void **state)
{
	struct adcnn_bundle *b = partition(plan2, input, -1, 1);
	size_t len, hdr, data;
	uint8_t *buf = to_bytes(b, &len);
	char path[128];
	(void)state;

	/* one byte of a tile */
	assert_true(tar_find(buf, len, "tiles/r0c1.t", &hdr, &data));
	buf[data + 5000] ^= 0x01;
	expect_read_error(buf, len, ADCNN_ERR_HASH, "member 'tiles/r0c1.t' is corrupt");
	buf[data + 5000] ^= 0x01;
	/* one byte of the embedded model */
	snprintf(path, sizeof(path), "model/%s.onnx", plan2->prefix_hash);
	assert_true(tar_find(buf, len, path, &hdr, &data));
	buf[data + 100] ^= 0x80;
	expect_read_error(buf, len, ADCNN_ERR_HASH, path);
	buf[data + 100] ^= 0x80;
	/* the bytes are fine again */
	{
		struct adcnn_bundle *r = NULL;
		assert_int_equal(from_bytes(buf, len, &r), ADCNN_OK);
		adcnn_bundle_free(r);
	}
	free(buf);
	adcnn_bundle_free(b);
}

/* archives made by hand, with a MANIFEST of our choosing */
static void test_version(void **state)
{
	struct adcnn_bundle *b = partition(plan2, input, 0, 0);
	char *text = adcnn_manifest_format(&b->man, b), *v2, *v19;
	struct entry e[2] = {{"MANIFEST", NULL, 0}, {"tiles/r0c0.t", b->members[0].data, b->members[0].len}};
	size_t len;
	uint8_t *buf;
	struct adcnn_bundle *r = NULL;
	(void)state;

	/* as is: readable */
	e[0].data = text;
	e[0].len = strlen(text);
	buf = tar_make(e, 2, &len);
	assert_int_equal(from_bytes(buf, len, &r), ADCNN_OK);
	expect_same_members(r, b);
	adcnn_bundle_free(r);
	r = NULL;
	free(buf);
	/* major version 2: refused */
	v2 = strdup(text);
	assert_memory_equal(v2, "adcnn-bundle 1.0\n", 17);
	v2[13] = '2';
	e[0].data = v2;
	buf = tar_make(e, 2, &len);
	expect_read_error(buf, len, ADCNN_ERR_VERSION, "unsupported bundle format version 2.0");
	free(buf);
	/* a later minor version with keywords this reader does not know: read */
	v19 = malloc(strlen(text) + 200);
	sprintf(v19, "adcnn-bundle 1.9\ncompression none\n%s", text + 17);
	strcat(v19, "signature ed25519 abcdef\n");
	e[0].data = v19;
	e[0].len = strlen(v19);
	buf = tar_make(e, 2, &len);
	assert_int_equal(from_bytes(buf, len, &r), ADCNN_OK);
	assert_int_equal(r->man.minor, 9);
	expect_same_members(r, b);
	adcnn_bundle_free(r);
	r = NULL;
	free(buf);
	free(v19);
	free(v2);
	free(text);
	adcnn_bundle_free(b);
}

/* A zstd-compressed tar whose member (named path) is 96 MiB of zeros, a few KB compressed,
 * then (tail) a small one: refused as it expands, long before the member is read whole; a
 * member the reader skips (MANIFEST.sig) is caught at the next header or at the end */
static void bomb(const char *path, bool tail)
{
	struct archive *a = archive_write_new();
	struct archive_entry *ae = archive_entry_new();
	size_t cap = 1 << 20, len = 0, mib = (size_t)1 << 20;
	uint8_t *buf = malloc(cap), *zeros = calloc(1, mib);

	assert_non_null(a);
	assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
	assert_int_equal(archive_write_add_filter_zstd(a), ARCHIVE_OK);
	assert_int_equal(archive_write_open_memory(a, buf, cap, &len), ARCHIVE_OK);
	archive_entry_set_pathname(ae, path);
	archive_entry_set_size(ae, 96 * (la_int64_t)mib);
	archive_entry_set_filetype(ae, AE_IFREG);
	archive_entry_set_perm(ae, 0644);
	assert_int_equal(archive_write_header(a, ae), ARCHIVE_OK);
	for (int i = 0; i < 96; i++)
		assert_int_equal(archive_write_data(a, zeros, mib), (la_ssize_t)mib);
	if (tail) {
		archive_entry_clear(ae);
		archive_entry_set_pathname(ae, "results/r0c1.t");
		archive_entry_set_size(ae, 4);
		archive_entry_set_filetype(ae, AE_IFREG);
		archive_entry_set_perm(ae, 0644);
		assert_int_equal(archive_write_header(a, ae), ARCHIVE_OK);
		assert_int_equal(archive_write_data(a, zeros, 4), 4);
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	archive_entry_free(ae);
	assert_true(len < 64 * 1024);
	expect_read_error(buf, len, ADCNN_ERR_FORMAT, "expands more than 64 times");
	free(buf);
	free(zeros);
}

static void test_decompression_bomb(void **state)
{
	(void)state;
	bomb("results/r0c0.t", true);
	bomb("MANIFEST.sig", true);
	bomb("MANIFEST.sig", false);
}

static void test_not_bundles(void **state)
{
	struct adcnn_bundle *b = partition(plan2, input, 0, 0);
	char *text = adcnn_manifest_format(&b->man, b);
	uint8_t junk[8192], *buf;
	size_t len;
	(void)state;

	/* garbage, text, an empty input */
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)((i * 2654435761u) >> 11);
	expect_read_error(junk, sizeof(junk), ADCNN_ERR_FORMAT, "test.bundle");
	expect_read_error((const uint8_t *)text, strlen(text), ADCNN_ERR_FORMAT, NULL);
	expect_read_error((const uint8_t *)"", 0, ADCNN_ERR_FORMAT, NULL);
	{
		struct adcnn_bundle *r = NULL;
		assert_int_equal(from_pipe((const uint8_t *)"", 0, &r), ADCNN_ERR_FORMAT);
		assert_null(r);
	}
	/* 1 KiB of zeros: an empty tar archive, but no MANIFEST */
	memset(junk, 0, sizeof(junk));
	expect_read_error(junk, 1024, ADCNN_ERR_FORMAT, "no MANIFEST");
	/* a tar whose first member is not the MANIFEST */
	{
		struct entry e[2] = {{"tiles/r0c0.t", b->members[0].data, b->members[0].len}, {"MANIFEST", text, strlen(text)}};
		buf = tar_make(e, 2, &len);
		expect_read_error(buf, len, ADCNN_ERR_FORMAT, "MANIFEST is not the first member");
		free(buf);
	}
	/* a member the MANIFEST does not list; a member listed twice in the archive */
	{
		struct entry e[3] = {{"MANIFEST", text, strlen(text)}, {"tiles/r0c0.t", b->members[0].data, b->members[0].len},
		                     {"tiles/r9c9.t", "x", 1}};
		buf = tar_make(e, 3, &len);
		expect_read_error(buf, len, ADCNN_ERR_FORMAT, "member 'tiles/r9c9.t' is not in the MANIFEST");
		free(buf);
		e[2] = e[1];
		buf = tar_make(e, 3, &len);
		expect_read_error(buf, len, ADCNN_ERR_FORMAT, "not in the MANIFEST");
		free(buf);
	}
	/* a directory */
	{
		struct entry e[3] = {{"MANIFEST", text, strlen(text)}, {"tiles", NULL, 0},
		                     {"tiles/r0c0.t", b->members[0].data, b->members[0].len}};
		buf = tar_make(e, 3, &len);
		expect_read_error(buf, len, ADCNN_ERR_FORMAT, "unexpected tar entry");
		free(buf);
	}
	/* a MANIFEST that is not one */
	{
		struct entry e[1] = {{"MANIFEST", "hello\n", 6}};
		buf = tar_make(e, 1, &len);
		expect_read_error(buf, len, ADCNN_ERR_FORMAT, "not an adcnn bundle");
		free(buf);
	}
	/* a listed size that does not match */
	{
		char *t2 = strdup(text), *p = strstr(t2, "member tiles/r0c0.t ");
		struct entry e[2] = {{"MANIFEST", t2, strlen(t2)}, {"tiles/r0c0.t", b->members[0].data, b->members[0].len}};
		assert_non_null(p);
		p += strlen("member tiles/r0c0.t ");
		assert_true(p[0] >= '1' && p[0] <= '8');
		p[0]++;
		buf = tar_make(e, 2, &len);
		expect_read_error(buf, len, ADCNN_ERR_HASH, NULL);
		free(buf);
		free(t2);
	}
	free(text);
	adcnn_bundle_free(b);
}

/* ---- the MANIFEST parser ---- */

static enum adcnn_status parse(const char *text, struct adcnn_manifest *m, int *nlisted)
{
	char **paths, **hashes;
	size_t *sizes;
	int n;
	enum adcnn_status st = adcnn_manifest_parse(ctx, text, strlen(text), m, &paths, &sizes, &hashes, &n);

	if (st == ADCNN_OK) {
		for (int i = 0; i < n; i++) {
			free(paths[i]);
			free(hashes[i]);
		}
		free(paths);
		free(hashes);
		free(sizes);
	} else {
		assert_null(paths);
		assert_int_equal(n, 0);
	}
	if (nlisted)
		*nlisted = n;
	return st;
}

static enum adcnn_status parse_st(const char *text)
{
	struct adcnn_manifest m;
	enum adcnn_status st = parse(text, &m, NULL);

	if (st == ADCNN_OK)
		adcnn_manifest_release(&m);
	return st;
}

/* the text with one line replaced (or, line NULL, removed) */
static char *edit(const char *text, const char *prefix, const char *line)
{
	const char *p = strstr(text, prefix), *e;
	char *out = malloc(strlen(text) + (line ? strlen(line) : 0) + 2);

	assert_non_null(p);
	e = strchr(p, '\n') + 1;
	memcpy(out, text, (size_t)(p - text));
	out[p - text] = '\0';
	if (line) {
		strcat(out, line);
		strcat(out, "\n");
	}
	strcat(out, e);
	return out;
}

static void test_manifest_parse(void **state)
{
	struct adcnn_bundle *b = partition(plan3, input, -1, 1);
	char *text = adcnn_manifest_format(&b->man, b), *t;
	struct adcnn_manifest m;
	int n;
	(void)state;

	assert_int_equal(parse(text, &m, &n), ADCNN_OK);
	assert_int_equal(n, 10);
	expect_same_manifest(&m, &b->man);
	adcnn_manifest_release(&m);

	/* unknown keywords, blank lines and extra spaces are ignored */
	t = malloc(strlen(text) + 200);
	sprintf(t, "adcnn-bundle 1.0\nfuture-key 1 2 3\n\n  kind  tiles\ncomment made by hand\n%s", strchr(text, '\n') + 1);
	assert_int_equal(parse(t, &m, &n), ADCNN_OK);
	assert_int_equal(n, 10);
	expect_same_manifest(&m, &b->man);
	adcnn_manifest_release(&m);
	free(t);

	/* a tile region outside its tensor: split rows 0-9 of 8, input columns to 129 of 128 */
	t = edit(text, "tile r2c2 ", "tile r2c2 in 0 128 0 128 out 6 9 6 8 halo 96 0 96 0");
	assert_int_equal(parse_st(t), ADCNN_ERR_FORMAT);
	expect_msg("a tile lies outside its tensor");
	free(t);
	t = edit(text, "tile r0c1 ", "tile r0c1 in 0 128 0 129 out 0 3 3 6 halo 0 80 48 32");
	assert_int_equal(parse_st(t), ADCNN_ERR_FORMAT);
	expect_msg("a tile lies outside its tensor");
	free(t);
	/* empty and reversed regions */
	t = edit(text, "tile r0c1 ", "tile r0c1 in 0 128 0 128 out 3 3 3 6 halo 0 80 48 32");
	assert_int_equal(parse_st(t), ADCNN_ERR_FORMAT);
	free(t);
	t = edit(text, "tile r0c1 ", "tile r0c1 in 0 128 0 128 out 3 0 3 6 halo 0 80 48 32");
	assert_int_equal(parse_st(t), ADCNN_ERR_FORMAT);
	free(t);
	t = edit(text, "tile r0c1 ", "tile r0c1 in 0 128 0 128 out -1 3 3 6 halo 0 80 48 32");
	assert_int_equal(parse_st(t), ADCNN_ERR_FORMAT);
	free(t);
	/* the region inside is fine */
	t = edit(text, "tile r2c2 ", "tile r2c2 in 0 128 0 128 out 6 8 6 8 halo 96 0 96 0");
	assert_int_equal(parse_st(t), ADCNN_OK);
	free(t);

	/* a tile missing from the grid; a required line missing */
	t = edit(text, "tile r1c1 ", NULL);
	assert_int_equal(parse_st(t), ADCNN_ERR_FORMAT);
	expect_msg("8 tiles for a 3x3 grid");
	free(t);
	t = edit(text, "mode ", NULL);
	assert_int_equal(parse_st(t), ADCNN_ERR_FORMAT);
	expect_msg("a required line is missing");
	free(t);
	/* bad values */
	t = edit(text, "mode ", "mode sideways");
	assert_int_equal(parse_st(t), ADCNN_ERR_FORMAT);
	free(t);
	t = edit(text, "model ", "model 0123");
	assert_int_equal(parse_st(t), ADCNN_ERR_FORMAT);
	free(t);
	t = edit(text, "kind ", "kind potatoes");
	assert_int_equal(parse_st(t), ADCNN_ERR_FORMAT);
	free(t);
	t = edit(text, "grid ", "grid 0 3");
	assert_int_equal(parse_st(t), ADCNN_ERR_FORMAT);
	free(t);
	t = edit(text, "input ", "input input 1 3 -128 128");
	assert_int_equal(parse_st(t), ADCNN_ERR_FORMAT);
	free(t);
	t = edit(text, "input ", "input input 65536 65536 65536");
	assert_int_equal(parse_st(t), ADCNN_ERR_FORMAT);
	free(t);
	t = edit(text, "member tiles/r0c0.t ", "member tiles/r0c0.t 12 nothex");
	assert_int_equal(parse_st(t), ADCNN_ERR_FORMAT);
	free(t);
	/* versions */
	t = edit(text, "adcnn-bundle ", "adcnn-bundle 2.0");
	assert_int_equal(parse_st(t), ADCNN_ERR_VERSION);
	free(t);
	t = edit(text, "adcnn-bundle ", "adcnn-bundle 0.9");
	assert_int_equal(parse_st(t), ADCNN_ERR_VERSION);
	free(t);
	t = edit(text, "adcnn-bundle ", "adcnn-bundle one");
	assert_int_equal(parse_st(t), ADCNN_ERR_FORMAT);
	free(t);
	t = edit(text, "adcnn-bundle ", "tar-bundle 1.0");
	assert_int_equal(parse_st(t), ADCNN_ERR_FORMAT);
	free(t);
	/* a NUL byte */
	{
		size_t l = strlen(text);
		char *z = malloc(l + 1);
		char **paths, **hashes;
		size_t *sizes;
		memcpy(z, text, l + 1);
		z[40] = '\0';
		assert_int_equal(adcnn_manifest_parse(ctx, z, l, &m, &paths, &sizes, &hashes, &n), ADCNN_ERR_FORMAT);
		free(z);
	}
	free(text);
	adcnn_bundle_free(b);
}

/* names with spaces and other bytes survive the MANIFEST */
static void test_manifest_names(void **state)
{
	struct adcnn_manifest m = {0}, r;
	struct adcnn_bundle empty = {0};
	struct adcnn_tile tile = {"r0c0", 0, 0, {0, 4, 0, 4}, {0, 1, 0, 1}, {0, 0, 0, 0}};
	char *text, **paths, **hashes;
	size_t *sizes;
	int n;
	(void)state;

	m.major = 1;
	m.kind = ADCNN_KIND_RESULTS;
	memset(m.model, 'a', 64);
	memset(m.prefix, 'b', 64);
	memset(m.job, 'c', 64);
	m.mode = ADCNN_MODE_HALO;
	m.input_name = "my input %20 \t\xc3\xa9";
	m.split_name = "layer 3/out:0";
	m.in_rank = 4;
	memcpy(m.in_dims, (int64_t[]){1, 3, 4, 4}, 4 * sizeof(int64_t));
	m.split_rank = 4;
	memcpy(m.split_dims, (int64_t[]){1, 8, 1, 1}, 4 * sizeof(int64_t));
	m.rows = m.cols = 1;
	m.ntiles = 1;
	m.tiles = &tile;
	text = adcnn_manifest_format(&m, &empty);
	assert_non_null(strstr(text, "\ninput my%20input%20%2520%20%09%C3%A9 1 3 4 4\n"));
	assert_non_null(strstr(text, "\nsplit layer%203/out:0 1 8 1 1\n"));
	assert_int_equal(adcnn_manifest_parse(ctx, text, strlen(text), &r, &paths, &sizes, &hashes, &n), ADCNN_OK);
	assert_int_equal(n, 0);
	free(paths);
	free(sizes);
	free(hashes);
	assert_string_equal(r.input_name, m.input_name);
	assert_string_equal(r.split_name, m.split_name);
	assert_int_equal(r.kind, ADCNN_KIND_RESULTS);
	assert_int_equal(r.mode, ADCNN_MODE_HALO);
	adcnn_manifest_release(&r);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_partition_members),
		cmocka_unit_test(test_crop),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_manifest_text),
		cmocka_unit_test(test_job_hash),
		cmocka_unit_test(test_determinism),
		cmocka_unit_test(test_concatenated),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_truncated_names_source),
		cmocka_unit_test(test_corrupt_member),
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_not_bundles),
		cmocka_unit_test(test_decompression_bomb),
		cmocka_unit_test(test_manifest_parse),
		cmocka_unit_test(test_manifest_names),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
