/* adcnn-pack: compress the tensors of a result bundle, or restore them with -d. */
#include "config.h"
#include "cli.h"
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
	"usage: adcnn-pack [-b BITS] [--clip auto|VALUE|pPERCENT|none] [--coder rans|planes|bytes]\n"
	"                  [--lossless] [-L LEVEL] [-d] [-o FILE] [BUNDLE|-]\n";

static void help(void)
{
	printf("%s\n"
	       "Quantize and compress the result tensors of a bundle; -d restores float32.\n\n"
	       "  -b, --bits N         quantize to N bits, 1 to 8 (default 4)\n"
	       "      --clip C         clip before quantizing: auto (least squared error, the\n"
	       "                       default), a VALUE, pPERCENT (a percentile of |x|), none\n"
	       "      --coder C        rans (the default), planes (bit planes + zstd: mostly larger,\n"
	       "                       about as fast to pack, up to 2.6 times faster to unpack),\n"
	       "                       bytes (a byte a code + zstd)\n"
	       "      --lossless       keep float32 exactly: exponents by rANS, signs and mantissas\n"
	       "                       raw; with --coder planes, byte planes + zstd\n"
	       "  -L, --level N        zstd level, 1 to 19 (default 1, or 3 with --lossless\n"
	       "                       --coder planes; no effect on rans)\n"
	       "  -d, --decompress     restore float32 tensors\n"
	       "  -o, --output FILE    write to FILE (default: stdout)\n"
	       "  -h, --help           show this help\n"
	       "  -V, --version        show versions\n", usage);
}

int main(int argc, char **argv)
{
	enum { OPT_LOSSLESS = 256, OPT_CLIP, OPT_CODER };
	static const struct option longopts[] = {
		{"bits", required_argument, NULL, 'b'}, {"clip", required_argument, NULL, OPT_CLIP},
		{"coder", required_argument, NULL, OPT_CODER},
		{"lossless", no_argument, NULL, OPT_LOSSLESS}, {"level", required_argument, NULL, 'L'},
		{"decompress", no_argument, NULL, 'd'}, {"output", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'}, {"version", no_argument, NULL, 'V'}, {NULL, 0, NULL, 0}};
	const char *out = NULL, *in = "-";
	int c, code = EXIT_OK, decompress = 0;
	long v;
	struct adcnn_pack_opts po;
	char *end;
	struct adcnn_ctx *ctx;
	struct adcnn_bundle *b = NULL;
	struct cli_out o;
	enum adcnn_status st;

	cli_init("adcnn-pack");
	adcnn_pack_opts_init(&po);
	while ((c = getopt_long(argc, argv, "b:L:do:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'b':
			if (!cli_parse_int(optarg, 1, 8, &v))
				return cli_usage_error(usage, "bad bit width '%s' (1 to 8)", optarg);
			po.bits = (int)v;
			break;
		case OPT_CLIP:
			if (strcmp(optarg, "auto") == 0) {
				po.clip = ADCNN_CLIP_AUTO;
			} else if (strcmp(optarg, "none") == 0) {
				po.clip = ADCNN_CLIP_NONE;
			} else if (optarg[0] == 'p') {
				po.clip = ADCNN_CLIP_PERCENTILE;
				po.clip_value = strtod(optarg + 1, &end);
				if (end == optarg + 1 || *end != '\0' || !(po.clip_value > 0 && po.clip_value <= 100))
					return cli_usage_error(usage, "bad percentile '%s' (p0.1 to p100)", optarg);
			} else {
				po.clip = ADCNN_CLIP_VALUE;
				po.clip_value = strtod(optarg, &end);
				if (end == optarg || *end != '\0' || !(po.clip_value > 0) || po.clip_value > 3e38)
					return cli_usage_error(usage, "bad clip '%s' (auto, a positive value, pPERCENT or none)", optarg);
			}
			break;
		case OPT_CODER:
			if (strcmp(optarg, "planes") == 0)
				po.coder = ADCNN_CODER_PLANES;
			else if (strcmp(optarg, "rans") == 0)
				po.coder = ADCNN_CODER_RANS;
			else if (strcmp(optarg, "bytes") == 0)
				po.coder = ADCNN_CODER_BYTES;
			else
				return cli_usage_error(usage, "bad coder '%s' (planes, rans or bytes)", optarg);
			break;
		case OPT_LOSSLESS: po.lossless = 1; break;
		case 'L':
			if (!cli_parse_int(optarg, 1, 19, &v))
				return cli_usage_error(usage, "bad level '%s' (1 to 19)", optarg);
			po.level = (int)v;
			break;
		case 'd': decompress = 1; break;
		case 'o': out = optarg; break;
		case 'h': help(); return EXIT_OK;
		case 'V': cli_version(); return EXIT_OK;
		default: fputs(usage, stderr); return EXIT_USAGE;
		}
	}
	if (po.lossless && po.coder == ADCNN_CODER_BYTES)
		return cli_usage_error(usage, "--lossless takes --coder rans or planes, not bytes");
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
	if ((code = cli_read_bundle(ctx, in, &b)) != EXIT_OK)
		goto done;
	if (adcnn_bundle_count(b) > 1) {
		cli_warn("the input holds %d bundles: pack them one at a time", adcnn_bundle_count(b));
		code = EXIT_DATA;
		goto done;
	}
	st = decompress ? adcnn_unpack(ctx, b) : adcnn_pack(ctx, b, &po);
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
