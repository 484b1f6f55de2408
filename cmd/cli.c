/* cli.c: what the adcnn tools share: the program name, messages, exit codes, '-' handling
 * and output files written beside their target and renamed into place. */
#include "config.h"
#include "cli.h"
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *progname = "adcnn";

void cli_init(const char *name)
{
	progname = name;
}

void cli_check_env(void)
{
	const char *e = adcnn_env_error();

	if (e != NULL)
		cli_warn("%s", e);
}

void cli_warn(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int cli_exit_code(enum adcnn_status st)
{
	switch (st) {
	case ADCNN_OK: return EXIT_OK;
	case ADCNN_ERR_IO: return EXIT_IO;
	case ADCNN_ERR_FORMAT: case ADCNN_ERR_VERSION: case ADCNN_ERR_HASH:
	case ADCNN_ERR_UNSUPPORTED: case ADCNN_ERR_MISMATCH:
		return EXIT_DATA;
	case ADCNN_ERR_MISSING: return EXIT_NOINPUT;
	case ADCNN_ERR_PARTIAL: return EXIT_PARTIAL;
	case ADCNN_ERR_INVALID: return EXIT_USAGE;
	case ADCNN_ERR_INTERNAL: return EXIT_INTERNAL;
	case ADCNN_ERR_NOMEM: return EXIT_FAIL;
	}
	return EXIT_FAIL;
}

int cli_fail(struct adcnn_ctx *ctx, enum adcnn_status st)
{
	cli_warn("%s", adcnn_ctx_error(ctx));
	return cli_exit_code(st);
}

void cli_version(void)
{
	printf("%s %s\n", progname, adcnn_version());
	adcnn_versions_print(stdout);
}

int cli_usage_error(const char *usage, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n%s", usage);
	return EXIT_USAGE;
}

bool cli_parse_int(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (end == s || *end != '\0' || errno != 0 || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

int cli_open_in(const char *path, int *code)
{
	int fd;

	if (path == NULL || strcmp(path, "-") == 0)
		return STDIN_FILENO;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		cli_warn("cannot open '%s': %s", path, strerror(errno));
		*code = errno == ENOENT || errno == EACCES ? EXIT_NOINPUT : EXIT_IO;
	}
	return fd;
}

int cli_read_bundle(struct adcnn_ctx *ctx, const char *path, struct adcnn_bundle **b)
{
	int code = EXIT_OK, fd = cli_open_in(path, &code);
	enum adcnn_status st;

	if (fd < 0)
		return code;
	st = adcnn_bundle_read(ctx, fd, fd == STDIN_FILENO ? "standard input" : path, b);
	if (fd != STDIN_FILENO)
		close(fd);
	return st == ADCNN_OK ? EXIT_OK : cli_fail(ctx, st);
}

int cli_out_open(struct cli_out *o, const char *path, bool binary)
{
	struct stat sb;

	memset(o, 0, sizeof(*o));
	o->fd = -1;
	if (path == NULL || strcmp(path, "-") == 0) {
		if (binary && isatty(STDOUT_FILENO)) {
			cli_warn("refusing to write binary data to a terminal (use -o FILE or a pipe)");
			return EXIT_USAGE;
		}
		o->fd = STDOUT_FILENO;
		o->fp = stdout;
		return EXIT_OK;
	}
	o->path = path;
	/* /dev/null, FIFOs and the like are written directly: renaming over them would replace them */
	if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode)) {
		o->fd = open(path, O_WRONLY | O_CLOEXEC);
	} else {
		size_t l = strlen(path) + 16;
		o->tmp = malloc(l);
		if (o->tmp == NULL) {
			cli_warn("out of memory");
			return EXIT_FAIL;
		}
		snprintf(o->tmp, l, "%s.tmp.XXXXXX", path);
		o->fd = mkstemp(o->tmp);
		if (o->fd >= 0) {
			mode_t um = umask(0);
			umask(um);
			fchmod(o->fd, 0666 & ~um);
		}
	}
	if (o->fd < 0) {
		cli_warn("cannot write '%s': %s", path, strerror(errno));
		free(o->tmp);
		o->tmp = NULL;
		return EXIT_IO;
	}
	o->fp = fdopen(o->fd, "wb");
	if (o->fp == NULL) {
		cli_warn("cannot write '%s': %s", path, strerror(errno));
		cli_out_abort(o);
		return EXIT_IO;
	}
	return EXIT_OK;
}

int cli_out_commit(struct cli_out *o)
{
	int bad = 0;

	if (o->fp == NULL)
		return EXIT_OK;
	if (fflush(o->fp) != 0)
		bad = errno ? errno : EIO;
	if (o->fp != stdout) {
		if (fclose(o->fp) != 0 && !bad)
			bad = errno ? errno : EIO;
	}
	o->fp = NULL;
	if (!bad && o->tmp && rename(o->tmp, o->path) != 0)
		bad = errno;
	if (bad) {
		cli_warn("cannot write '%s': %s", o->path ? o->path : "standard output", strerror(bad));
		if (o->tmp)
			unlink(o->tmp);
		free(o->tmp);
		o->tmp = NULL;
		return EXIT_IO;
	}
	free(o->tmp);
	o->tmp = NULL;
	return EXIT_OK;
}

void cli_out_abort(struct cli_out *o)
{
	if (o->fp != NULL && o->fp != stdout)
		fclose(o->fp);
	o->fp = NULL;
	if (o->tmp != NULL) {
		unlink(o->tmp);
		free(o->tmp);
		o->tmp = NULL;
	}
}
