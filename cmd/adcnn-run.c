/* adcnn-run: run the prefix of the model on every tile of a bundle, on this node. */
#include "config.h"
#include "cli.h"
#include <getopt.h>
#include <string.h>
#include <unistd.h>

static const char usage[] = "usage: adcnn-run [-j THREADS] [-m MODEL] [-o FILE] [BUNDLE|-]\n";

static void help(void)
{
	printf("%s\n"
	       "Run the prefix of the model on every tile of a tile bundle; write a result bundle.\n\n"
	       "  -o, --output FILE    write the result bundle to FILE (default: stdout)\n"
	       "  -j, --threads N      tiles run in parallel (default: online CPUs)\n"
	       "  -m, --model FILE     the model or its prefix, if not embedded or cached\n"
	       "  -v, --verbose        per-tile times on stderr\n"
	       "  -h, --help           show this help\n"
	       "  -V, --version        show versions\n", usage);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"output", required_argument, NULL, 'o'}, {"threads", required_argument, NULL, 'j'},
		{"model", required_argument, NULL, 'm'}, {"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'}, {"version", no_argument, NULL, 'V'}, {NULL, 0, NULL, 0}};
	struct adcnn_run_opts ro = {0, NULL, 0};
	const char *out = NULL, *in = "-";
	long v;
	int c, code = EXIT_OK;
	struct adcnn_ctx *ctx;
	struct adcnn_bundle *tb = NULL, *rb = NULL;
	struct cli_out o;
	enum adcnn_status st;

	cli_init("adcnn-run");
	ro.threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
	while ((c = getopt_long(argc, argv, "o:j:m:vhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'j':
			if (!cli_parse_int(optarg, 1, 1024, &v))
				return cli_usage_error(usage, "bad thread count '%s'", optarg);
			ro.threads = (int)v;
			break;
		case 'm': ro.model_path = optarg; break;
		case 'v': ro.verbose = 1; break;
		case 'h': help(); return EXIT_OK;
		case 'V': cli_version(); return EXIT_OK;
		default: fputs(usage, stderr); return EXIT_USAGE;
		}
	}
	if (optind < argc)
		in = argv[optind++];
	if (optind < argc)
		return cli_usage_error(usage, "too many arguments");
	if ((code = cli_out_open(&o, out, true)) != EXIT_OK)
		return code;
	ctx = adcnn_ctx_new();
	if (ctx == NULL) {
		cli_out_abort(&o);
		cli_warn("out of memory");
		return EXIT_FAIL;
	}
	if ((code = cli_read_bundle(ctx, in, &tb)) != EXIT_OK)
		goto done;
	st = adcnn_run(ctx, tb, &ro, &rb);
	if (st == ADCNN_OK)
		st = adcnn_bundle_write(ctx, rb, o.fd);
	if (st != ADCNN_OK) {
		code = cli_fail(ctx, st);
		goto done;
	}
	code = cli_out_commit(&o);
done:
	if (code != EXIT_OK)
		cli_out_abort(&o);
	adcnn_bundle_free(tb);
	adcnn_bundle_free(rb);
	adcnn_ctx_free(ctx);
	return code;
}
