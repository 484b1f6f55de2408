/* adcnn-pack: compress the tensors of a result bundle, or restore them with -d. */
#include "config.h"
#include "cli.h"
#include <getopt.h>
#include <string.h>
#include <unistd.h>

static const char usage[] = "usage: adcnn-pack [--lossless] [-L LEVEL] [-d] [-o FILE] [BUNDLE|-]\n";

static void help(void)
{
	printf("%s\n"
	       "Compress the result tensors of a bundle; -d restores float32.\n\n"
	       "      --lossless       keep float32 exactly: byte planes + zstd (the default)\n"
	       "  -L, --level N        zstd level, 1 to 19 (default 3)\n"
	       "  -d, --decompress     restore float32 tensors\n"
	       "  -o, --output FILE    write to FILE (default: stdout)\n"
	       "  -h, --help           show this help\n"
	       "  -V, --version        show versions\n", usage);
}

int main(int argc, char **argv)
{
	enum { OPT_LOSSLESS = 256 };
	static const struct option longopts[] = {
		{"lossless", no_argument, NULL, OPT_LOSSLESS}, {"level", required_argument, NULL, 'L'},
		{"decompress", no_argument, NULL, 'd'}, {"output", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'}, {"version", no_argument, NULL, 'V'}, {NULL, 0, NULL, 0}};
	const char *out = NULL, *in = "-";
	int c, fd, code = EXIT_OK, decompress = 0, level = 3;
	long v;
	struct adcnn_ctx *ctx;
	struct adcnn_bundle *b = NULL;
	struct cli_out o;
	enum adcnn_status st;

	cli_init("adcnn-pack");
	while ((c = getopt_long(argc, argv, "L:do:hV", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_LOSSLESS: break;
		case 'L':
			if (!cli_parse_int(optarg, 1, 19, &v))
				return cli_usage_error(usage, "bad level '%s' (1 to 19)", optarg);
			level = (int)v;
			break;
		case 'd': decompress = 1; break;
		case 'o': out = optarg; break;
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
	fd = cli_open_in(in, &code);
	if (fd < 0)
		goto done;
	st = adcnn_bundle_read(ctx, fd, strcmp(in, "-") == 0 ? "standard input" : in, &b);
	if (fd != STDIN_FILENO)
		close(fd);
	if (st == ADCNN_OK && adcnn_bundle_count(b) > 1) {
		cli_warn("the input holds %d bundles: pack them one at a time", adcnn_bundle_count(b));
		code = EXIT_DATA;
		goto done;
	}
	if (st == ADCNN_OK)
		st = decompress ? adcnn_unpack(ctx, b) : adcnn_pack(ctx, b, level);
	if (st == ADCNN_OK)
		st = adcnn_bundle_write(ctx, b, o.fd);
	if (st != ADCNN_OK) {
		code = cli_fail(ctx, st);
		goto done;
	}
	code = cli_out_commit(&o);
done:
	if (code != EXIT_OK)
		cli_out_abort(&o);
	adcnn_bundle_free(b);
	adcnn_ctx_free(ctx);
	return code;
}
