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

/* Written to a temporary name and renamed, so concurrent runs on a node never see half a model. */
enum adcnn_status adcnn_cache_store(struct adcnn_ctx *ctx, const char *hash, const uint8_t *buf,
                                    size_t len)
{
	char dir[4096], tmp[4200], full[4200];
	enum adcnn_status st = cache_dir(ctx, dir, sizeof(dir));
	struct stat sb;
	int fd;
	size_t off = 0;

	if (st != ADCNN_OK)
		return st;
	snprintf(full, sizeof(full), "%s/%s", dir, hash);
	if (stat(full, &sb) == 0 && S_ISREG(sb.st_mode) && (size_t)sb.st_size == len)
		return ADCNN_OK;
	if (mkdirs(dir) != 0)
		return adcnn_set_error(ctx, ADCNN_ERR_IO, "cannot create cache '%s': %s", dir, strerror(errno));
	snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dir, hash);
	fd = mkstemp(tmp);
	if (fd < 0)
		return adcnn_set_error(ctx, ADCNN_ERR_IO, "cannot write to cache '%s': %s", dir, strerror(errno));
	while (off < len) {
		ssize_t w = write(fd, buf + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			st = adcnn_set_error(ctx, ADCNN_ERR_IO, "cannot write to cache '%s': %s", dir, strerror(errno));
			break;
		}
		off += (size_t)w;
	}
	if (close(fd) != 0 && st == ADCNN_OK)
		st = adcnn_set_error(ctx, ADCNN_ERR_IO, "cannot write to cache '%s': %s", dir, strerror(errno));
	if (st == ADCNN_OK && rename(tmp, full) != 0)
		st = adcnn_set_error(ctx, ADCNN_ERR_IO, "cannot write to cache '%s': %s", dir, strerror(errno));
	if (st != ADCNN_OK)
		unlink(tmp);
	return st;
}

enum adcnn_status adcnn_prefix_cache_store(struct adcnn_ctx *ctx, const struct adcnn_model *m,
                                           const struct adcnn_plan *p)
{
	(void)m;
	return adcnn_cache_store(ctx, p->prefix_hash, p->prefix_bytes, p->prefix_len);
}
