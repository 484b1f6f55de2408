/* cli.h: what the adcnn tools share: the program name, messages, exit codes, '-' handling
 * and safe output files. */
#ifndef ADCNN_CLI_H
#define ADCNN_CLI_H

#include "adcnn.h"
#include <stdbool.h>
#include <stdio.h>

enum {
	EXIT_OK = 0,
	EXIT_FAIL = 1,
	EXIT_USAGE = 64,
	EXIT_DATA = 65,
	EXIT_NOINPUT = 66,
	EXIT_PARTIAL = 69,
	EXIT_INTERNAL = 70,
	EXIT_IO = 74
};

extern const char *progname;

void cli_init(const char *name);
/* a warning for an ADCNN_CONV the library does not know (the tools that convolve) */
void cli_check_env(void);
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int cli_exit_code(enum adcnn_status st);
/* prints the context's message, returns the exit code for it */
int cli_fail(struct adcnn_ctx *ctx, enum adcnn_status st);
void cli_version(void);
int cli_usage_error(const char *usage, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool cli_parse_int(const char *s, long lo, long hi, long *out);

/* an input file, or stdin for NULL and "-"; returns -1 after a message */
int cli_open_in(const char *path, int *code);

/* reads the bundle(s) in PATH (stdin for NULL and "-") into *b; an exit code */
int cli_read_bundle(struct adcnn_ctx *ctx, const char *path, struct adcnn_bundle **b);

/* an output: stdout for NULL and "-"; a regular file is written beside and renamed at commit */
struct cli_out {
	const char *path;
	char *tmp;
	int fd;
	FILE *fp;
};
int cli_out_open(struct cli_out *o, const char *path, bool binary);
int cli_out_commit(struct cli_out *o);
void cli_out_abort(struct cli_out *o);

#endif
