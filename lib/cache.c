/* cache.c: reading whole files, and the node's model cache ($XDG_CACHE_HOME/adcnn/models). */
#include "config.h"
#include "internal.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum adcnn_status adcnn_file_read(struct adcnn_ctx *ctx, const char *path, uint8_t **buf,
                                  size_t *len)
{
	int fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	size_t cap = 1 << 16, n = 0;
	uint8_t *b;
	struct stat sb;

	if (fd < 0)
		return adcnn_set_error(ctx, errno == ENOENT || errno == EACCES ? ADCNN_ERR_MISSING : ADCNN_ERR_IO,
		                       "cannot open '%s': %s", path, strerror(errno));
	if (fstat(fd, &sb) == 0 && S_ISDIR(sb.st_mode)) {
		close(fd);
		return adcnn_set_error(ctx, ADCNN_ERR_MISSING, "cannot read '%s': is a directory", path);
	}
	if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 0)
		cap = (size_t)sb.st_size + 1;
	b = malloc(cap);
	if (b == NULL)
		goto nomem;
	for (;;) {
		ssize_t r;
		if (n == cap) {
			uint8_t *nb = realloc(b, cap * 2);
			if (nb == NULL)
				goto nomem;
			b = nb;
			cap *= 2;
		}
		r = read(fd, b + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			free(b);
			if (fd != STDIN_FILENO)
				close(fd);
			return adcnn_set_error(ctx, ADCNN_ERR_IO, "cannot read '%s': %s", path, strerror(e));
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (fd != STDIN_FILENO)
		close(fd);
	*buf = b;
	*len = n;
	return ADCNN_OK;
nomem:
	free(b);
	if (fd != STDIN_FILENO)
		close(fd);
	return adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory reading '%s'", path);
}

static enum adcnn_status cache_dir(struct adcnn_ctx *ctx, char *buf, size_t len)
{
	const char *x = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");

	if (x != NULL && x[0] == '/')
		snprintf(buf, len, "%s/adcnn/models", x);
	else if (home != NULL && home[0] != '\0')
		snprintf(buf, len, "%s/.cache/adcnn/models", home);
	else
		return adcnn_set_error(ctx, ADCNN_ERR_MISSING, "no model cache: neither XDG_CACHE_HOME nor HOME is set");
	return ADCNN_OK;
}

enum adcnn_status adcnn_cache_path(struct adcnn_ctx *ctx, const char *hash, char **path)
{
	char dir[4096], full[4200];
	enum adcnn_status st = cache_dir(ctx, dir, sizeof(dir));

	if (st != ADCNN_OK)
		return st;
	snprintf(full, sizeof(full), "%s/%s", dir, hash);
	*path = strdup(full);
	return *path ? ADCNN_OK : adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory");
}

static int mkdirs(char *path)
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) != 0 && errno != EEXIST) {
			*p = '/';
			return -1;
		}
		*p = '/';
	}
	return mkdir(path, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

/* Written to a temporary name and renamed, so concurrent runs on a node never see half a
 * file: begin, write (any number of times), end. */
enum adcnn_status adcnn_cache_begin(struct adcnn_ctx *ctx, const char *name, struct adcnn_cache_file *f)
{
	char dir[4096];
	enum adcnn_status st = cache_dir(ctx, dir, sizeof(dir));

	f->fd = -1;
	f->st = st;
	if (st != ADCNN_OK)
		return st;
	snprintf(f->full, sizeof(f->full), "%s/%s", dir, name);
	if (mkdirs(dir) != 0)
		return f->st = adcnn_set_error(ctx, ADCNN_ERR_IO, "cannot create cache '%s': %s", dir, strerror(errno));
	snprintf(f->tmp, sizeof(f->tmp), "%s/.%s.XXXXXX", dir, name);
	f->fd = mkstemp(f->tmp);
	if (f->fd < 0)
		return f->st = adcnn_set_error(ctx, ADCNN_ERR_IO, "cannot write to cache '%s': %s", dir, strerror(errno));
	return ADCNN_OK;
}

void adcnn_cache_write(struct adcnn_ctx *ctx, struct adcnn_cache_file *f, const void *buf, size_t len)
{
	size_t off = 0;

	while (f->st == ADCNN_OK && off < len) {
		ssize_t w = write(f->fd, (const uint8_t *)buf + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			f->st = adcnn_set_error(ctx, ADCNN_ERR_IO, "cannot write to cache '%s': %s", f->tmp, strerror(errno));
		else
			off += (size_t)w;
	}
}

enum adcnn_status adcnn_cache_end(struct adcnn_ctx *ctx, struct adcnn_cache_file *f)
{
	if (f->fd < 0)
		return f->st;
	if (close(f->fd) != 0 && f->st == ADCNN_OK)
		f->st = adcnn_set_error(ctx, ADCNN_ERR_IO, "cannot write to cache '%s': %s", f->tmp, strerror(errno));
	f->fd = -1;
	if (f->st == ADCNN_OK && rename(f->tmp, f->full) != 0)
		f->st = adcnn_set_error(ctx, ADCNN_ERR_IO, "cannot write to cache '%s': %s", f->full, strerror(errno));
	if (f->st != ADCNN_OK)
		unlink(f->tmp);
	return f->st;
}

enum adcnn_status adcnn_cache_store(struct adcnn_ctx *ctx, const char *hash, const uint8_t *buf,
                                    size_t len)
{
	char dir[4096], full[4200];
	enum adcnn_status st = cache_dir(ctx, dir, sizeof(dir));
	struct adcnn_cache_file f;
	struct stat sb;

	if (st != ADCNN_OK)
		return st;
	snprintf(full, sizeof(full), "%s/%s", dir, hash);
	if (stat(full, &sb) == 0 && S_ISREG(sb.st_mode) && (size_t)sb.st_size == len)
		return ADCNN_OK;
	if (adcnn_cache_begin(ctx, hash, &f) != ADCNN_OK)
		return f.st;
	adcnn_cache_write(ctx, &f, buf, len);
	return adcnn_cache_end(ctx, &f);
}

enum adcnn_status adcnn_prefix_cache_store(struct adcnn_ctx *ctx, const struct adcnn_model *m,
                                           const struct adcnn_plan *p)
{
	(void)m;
	return adcnn_cache_store(ctx, p->prefix_hash, p->prefix_bytes, p->prefix_len);
}
