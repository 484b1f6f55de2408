/* bundle.c: bundles as pax tar archives through libarchive: MANIFEST first, every member
 * hash-checked, several bundles readable from one stream. */
#include "config.h"
#include "internal.h"
#include <archive.h>
#include <archive_entry.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MEMBER ((size_t)1 << 34)
/* A compressed bundle may not expand more than this, beyond a first MiB: packed members are
 * entropy coded already, and what zstd takes out is the tar's padding and the MANIFEST, about
 * 4 to 20 times. A decompression bomb would otherwise make a reader allocate gigabytes for a
 * few kilobytes of input. */
#define MAX_EXPANSION 64
#define EXPANSION_SLACK ((int64_t)1 << 20)
/* The compression (none for a tile or result bundle, zstd for a packed one) is recognized
 * once, at the start of a stream: said where reading a stream fails */
#define MIXED " (packed bundles are zstd-compressed: a stream of concatenated bundles must be all packed or all not)"

struct adcnn_bundle *adcnn_bundle_new(void)
{
	return calloc(1, sizeof(struct adcnn_bundle));
}

void adcnn_bundle_free(struct adcnn_bundle *b)
{
	if (b == NULL)
		return;
	for (int i = 0; i < b->nmembers; i++) {
		free(b->members[i].path);
		free(b->members[i].data);
	}
	free(b->members);
	adcnn_manifest_release(&b->man);
	free(b->ids);
	free(b->source);
	free(b);
}

enum adcnn_kind adcnn_bundle_kind(const struct adcnn_bundle *b) { return b->man.kind; }
int adcnn_bundle_count(const struct adcnn_bundle *b) { return b->nbundles; }

int adcnn_bundle_tiles(const struct adcnn_bundle *b)
{
	int n = 0;

	for (int i = 0; i < b->nmembers; i++)
		if (strncmp(b->members[i].path, "tiles/", 6) == 0 || strncmp(b->members[i].path, "results/", 8) == 0)
			n++;
	return n;
}

/* takes ownership of data */
enum adcnn_status adcnn_bundle_add(struct adcnn_ctx *ctx, struct adcnn_bundle *b, const char *path,
                                   uint8_t *data, size_t len)
{
	if (b->nmembers == b->cap) {
		int cap = b->cap ? b->cap * 2 : 16;
		struct adcnn_member *m = realloc(b->members, sizeof(*m) * (size_t)cap);
		if (m == NULL) {
			free(data);
			return adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory");
		}
		b->members = m;
		b->cap = cap;
	}
	b->members[b->nmembers].path = strdup(path);
	if (b->members[b->nmembers].path == NULL) {
		free(data);
		return adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory");
	}
	b->members[b->nmembers].data = data;
	b->members[b->nmembers].len = len;
	b->members[b->nmembers].bundle = b->nbundles > 0 ? b->nbundles - 1 : 0;
	b->nmembers++;
	return ADCNN_OK;
}

const struct adcnn_member *adcnn_bundle_find(const struct adcnn_bundle *b, const char *path)
{
	for (int i = 0; i < b->nmembers; i++)
		if (strcmp(b->members[i].path, path) == 0)
			return &b->members[i];
	return NULL;
}

/* the bytes out of the decompressor against the bytes read: false for a bomb */
static bool expansion_ok(struct archive *a)
{
	return archive_filter_count(a) < 2 ||
	       archive_filter_bytes(a, 0) <= EXPANSION_SLACK + MAX_EXPANSION * archive_filter_bytes(a, -1);
}

static enum adcnn_status expansion_refused(struct adcnn_ctx *ctx, const char *src)
{
	return adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "'%s': expands more than %d times: refused", src, MAX_EXPANSION);
}

static enum adcnn_status read_member(struct adcnn_ctx *ctx, struct archive *a, const char *src,
                                     const char *name, size_t declared, uint8_t **out, size_t *len)
{
	size_t cap = declared < ((size_t)1 << 20) ? declared + 1 : (size_t)1 << 20, n = 0;
	uint8_t *buf = malloc(cap);

	if (buf == NULL)
		return adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory");
	for (;;) {
		la_ssize_t r;
		if (n == cap) {
			uint8_t *nb;
			if (cap >= MAX_MEMBER) {
				free(buf);
				return adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "'%s': member '%s' too large", src, name);
			}
			nb = realloc(buf, cap * 2);
			if (nb == NULL) {
				free(buf);
				return adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory");
			}
			buf = nb;
			cap *= 2;
		}
		r = archive_read_data(a, buf + n, cap - n);
		if (r < 0) {
			free(buf);
			return adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "'%s': cannot read member '%s': %s", src, name, archive_error_string(a));
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (!expansion_ok(a)) {
			free(buf);
			return adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "'%s': member '%s' expands more than %d times: refused", src, name, MAX_EXPANSION);
		}
	}
	*out = buf;
	*len = n;
	return ADCNN_OK;
}

struct listing {
	char **paths, **hashes;
	size_t *sizes;
	bool *got;
	int n;
};

static void listing_release(struct listing *l)
{
	for (int i = 0; i < l->n; i++) {
		free(l->paths[i]);
		free(l->hashes[i]);
	}
	free(l->paths);
	free(l->hashes);
	free(l->sizes);
	free(l->got);
	memset(l, 0, sizeof(*l));
}

static enum adcnn_status listing_done(struct adcnn_ctx *ctx, struct listing *l, const char *src)
{
	for (int i = 0; i < l->n; i++)
		if (!l->got[i])
			return adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "'%s': truncated bundle: member '%s' missing", src, l->paths[i]);
	listing_release(l);
	return ADCNN_OK;
}

enum adcnn_status adcnn_bundle_read(struct adcnn_ctx *ctx, int fd, const char *name,
                                    struct adcnn_bundle **inout)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	struct adcnn_bundle *b = *inout;
	struct listing l = {0};
	enum adcnn_status st = ADCNN_OK;
	bool fresh = b == NULL, any = false, zstd;
	int r;

	if (a == NULL)
		return adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory");
	if (fresh && (b = adcnn_bundle_new()) == NULL) {
		archive_read_free(a);
		return adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory");
	}
	archive_read_support_format_tar(a);
	archive_read_support_filter_zstd(a);
	archive_read_set_options(a, "tar:read_concatenated_archives");
	if (archive_read_open_fd(a, fd, 65536) != ARCHIVE_OK) {
		const char *why = archive_error_string(a);
		st = adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "'%s': not a bundle: %s%s", name, why,
		                     why != NULL && (strstr(why, "zstd") != NULL || strstr(why, "Zstd") != NULL) ? MIXED : "");
		goto fail;
	}
	zstd = archive_filter_count(a) > 1;
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		const char *path = archive_entry_pathname(e);
		uint8_t *data = NULL;
		size_t len = 0;

		/* what was skipped (MANIFEST.sig, padding between archives) was decompressed too */
		if (!expansion_ok(a)) {
			st = expansion_refused(ctx, name);
			goto fail;
		}
		char hex[ADCNN_HASH_HEX];
		int idx;

		if (path == NULL || archive_entry_filetype(e) != AE_IFREG || !archive_entry_size_is_set(e)) {
			st = adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "'%s': not a bundle: unexpected tar entry", name);
			goto fail;
		}
		if ((size_t)archive_entry_size(e) > MAX_MEMBER) {
			st = adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "'%s': member '%s' too large", name, path);
			goto fail;
		}
		if (strcmp(path, "MANIFEST.sig") == 0)
			continue;
		st = read_member(ctx, a, name, path, (size_t)archive_entry_size(e), &data, &len);
		if (st != ADCNN_OK)
			goto fail;
		if (strcmp(path, "MANIFEST") == 0) {
			struct adcnn_manifest m;
			if (any && (st = listing_done(ctx, &l, name)) != ADCNN_OK) {
				free(data);
				goto fail;
			}
			st = adcnn_manifest_parse(ctx, (const char *)data, len, &m, &l.paths, &l.sizes, &l.hashes, &l.n);
			free(data);
			if (st != ADCNN_OK) {
				char msg[sizeof(ctx->msg)];
				snprintf(msg, sizeof(msg), "%s", ctx->msg);
				adcnn_set_error(ctx, st, "'%s': %s", name, msg);
				goto fail;
			}
			l.got = calloc((size_t)l.n + 1, 1);
			if (l.got == NULL) {
				adcnn_manifest_release(&m);
				st = adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory");
				goto fail;
			}
			{
				struct adcnn_bundle_id *ids = realloc(b->ids, sizeof(*ids) * ((size_t)b->nbundles + 1));
				if (ids == NULL) {
					adcnn_manifest_release(&m);
					st = adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory");
					goto fail;
				}
				b->ids = ids;
			}
			/* who every bundle is, for run and merge to check each against the first */
			memcpy(b->ids[b->nbundles].job, m.job, ADCNN_HASH_HEX);
			memcpy(b->ids[b->nbundles].model, m.model, ADCNN_HASH_HEX);
			b->ids[b->nbundles].kind = m.kind;
			if (b->nbundles == 0)
				b->man = m;
			else
				adcnn_manifest_release(&m);
			b->nbundles++;
			any = true;
			continue;
		}
		if (!any) {
			free(data);
			st = adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "'%s': not a bundle: MANIFEST is not the first member", name);
			goto fail;
		}
		for (idx = 0; idx < l.n; idx++)
			if (!l.got[idx] && strcmp(l.paths[idx], path) == 0)
				break;
		if (idx == l.n) {
			free(data);
			st = adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "'%s': member '%s' is not in the MANIFEST", name, path);
			goto fail;
		}
		adcnn_hash_hex(data, len, hex);
		if (len != l.sizes[idx] || strcmp(hex, l.hashes[idx]) != 0) {
			free(data);
			st = adcnn_set_error(ctx, ADCNN_ERR_HASH, "'%s': member '%s' is corrupt (hash mismatch)", name, path);
			goto fail;
		}
		l.got[idx] = true;
		st = adcnn_bundle_add(ctx, b, path, data, len);
		if (st != ADCNN_OK)
			goto fail;
	}
	if (r == ARCHIVE_EOF && !expansion_ok(a)) {
		st = expansion_refused(ctx, name);
		goto fail;
	}
	if (r != ARCHIVE_EOF) {
		st = adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "'%s': %s: %s%s", name, any ? "truncated bundle" : "not a bundle", archive_error_string(a),
		                     any || zstd ? MIXED : "");
		goto fail;
	}
	if (!any) {
		st = adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "'%s': not a bundle: no MANIFEST", name);
		goto fail;
	}
	if ((st = listing_done(ctx, &l, name)) != ADCNN_OK)
		goto fail;
	archive_read_free(a);
	*inout = b;
	return ADCNN_OK;
fail:
	listing_release(&l);
	archive_read_free(a);
	if (fresh)
		adcnn_bundle_free(b);
	return st;
}

static enum adcnn_status write_entry(struct adcnn_ctx *ctx, struct archive *a, const char *path,
                                     const void *data, size_t len)
{
	struct archive_entry *e = archive_entry_new();
	enum adcnn_status st = ADCNN_OK;

	if (e == NULL)
		return adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory");
	archive_entry_set_pathname(e, path);
	archive_entry_set_size(e, (la_int64_t)len);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_mtime(e, 0, 0);
	archive_entry_set_uid(e, 0);
	archive_entry_set_gid(e, 0);
	if (archive_write_header(a, e) != ARCHIVE_OK ||
	    (len > 0 && archive_write_data(a, data, len) != (la_ssize_t)len))
		st = adcnn_set_error(ctx, ADCNN_ERR_IO, "cannot write bundle: %s", archive_error_string(a));
	archive_entry_free(e);
	return st;
}

enum adcnn_status adcnn_bundle_write(struct adcnn_ctx *ctx, const struct adcnn_bundle *b, int fd)
{
	struct archive *a = archive_write_new();
	char *man = NULL;
	enum adcnn_status st = ADCNN_OK;

	if (a == NULL)
		return adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory");
	man = adcnn_manifest_format(&b->man, b);
	if (man == NULL) {
		st = adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory");
		goto done;
	}
	archive_write_set_format_pax_restricted(a);
	/* a packed bundle goes over the network: zstd takes out the tar's padding, which is most
	 * of a small tile's bytes once its tensors are packed */
	if (b->man.kind == ADCNN_KIND_PACKED) {
		/* ARCHIVE_WARN: a libarchive built without libzstd, which runs the zstd program
		 * (at its default level) instead */
		int r = archive_write_add_filter_zstd(a);
		if (r == ARCHIVE_OK)
			r = archive_write_set_filter_option(a, "zstd", "compression-level", "1");
		if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
			st = adcnn_set_error(ctx, ADCNN_ERR_INTERNAL, "cannot write a zstd-compressed bundle: %s", archive_error_string(a));
			goto done;
		}
	} else {
		archive_write_add_filter_none(a);
	}
	archive_write_set_bytes_in_last_block(a, 1);
	if (archive_write_open_fd(a, fd) != ARCHIVE_OK) {
		st = adcnn_set_error(ctx, ADCNN_ERR_IO, "cannot write bundle: %s", archive_error_string(a));
		goto done;
	}
	st = write_entry(ctx, a, "MANIFEST", man, strlen(man));
	for (int i = 0; st == ADCNN_OK && i < b->nmembers; i++)
		st = write_entry(ctx, a, b->members[i].path, b->members[i].data, b->members[i].len);
	if (archive_write_close(a) != ARCHIVE_OK && st == ADCNN_OK)
		st = adcnn_set_error(ctx, ADCNN_ERR_IO, "cannot write bundle: %s", archive_error_string(a));
done:
	archive_write_free(a);
	free(man);
	return st;
}
