/* adcnn-partition: split a model and an input into a tile bundle (or one bundle per tile). */
#include "config.h"
#include "cli.h"
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char usage[] =
	"usage: adcnn-partition -m MODEL [-g RxC] [--mode fdsp|halo] [--split NODE|auto]\n"
	"                       [--embed-model] [-o FILE | -O DIR] [-n] [INPUT|-]\n";

static void help(void)
{
	printf("%s\n"
	       "Split an ONNX model and an input (PNG, JPEG, PPM/PGM, .npy, .pb) into tiles.\n\n"
	       "  -m, --model FILE     the ONNX model (required)\n"
	       "  -g, --grid RxC       tile grid (default 2x2)\n"
	       "      --mode MODE      fdsp (independent tiles, default) or halo (exact)\n"
	       "      --split NODE     split at NODE's output (default: auto)\n"
	       "      --embed-model    put the prefix model in the bundle\n"
	       "  -o, --output FILE    write one bundle with all tiles (default: stdout)\n"
	       "  -O, --output-dir DIR write one bundle per tile, DIR/rIcJ.adcnn\n"
	       "      --resize WxH     resize images to WxH\n"
	       "      --scale X        multiply 0..255 pixel values by X (default 1/255)\n"
	       "      --mean M[,M,M]   subtract M after scaling\n"
	       "      --std S[,S,S]    divide by S after subtracting the mean\n"
	       "  -n, --dry-run        print the plan, write nothing\n"
	       "  -v, --verbose        print the plan and each tile's FLOPs on stderr\n"
	       "  -h, --help           show this help\n"
	       "  -V, --version        show versions\n", usage);
}

static int parse_floats(const char *s, double *v, int max)
{
	int n = 0;
	char *end;

	while (*s && n < max) {
		errno = 0;
		v[n++] = strtod(s, &end);
		if (end == s || errno)
			return -1;
		s = end;
		if (*s == ',')
			s++;
		else if (*s)
			return -1;
	}
	return *s ? -1 : n;
}

static int write_bundle(struct adcnn_ctx *ctx, struct adcnn_bundle *b, const char *path)
{
	struct cli_out o;
	int code = cli_out_open(&o, path, true);
	enum adcnn_status st;

	if (code != EXIT_OK)
		return code;
	st = adcnn_bundle_write(ctx, b, o.fd);
	if (st != ADCNN_OK) {
		cli_out_abort(&o);
		return cli_fail(ctx, st);
	}
	return cli_out_commit(&o);
}

int main(int argc, char **argv)
{
	enum { OPT_MODE = 256, OPT_SPLIT, OPT_EMBED, OPT_RESIZE, OPT_SCALE, OPT_MEAN, OPT_STD };
	static const struct option longopts[] = {
		{"model", required_argument, NULL, 'm'}, {"grid", required_argument, NULL, 'g'},
		{"mode", required_argument, NULL, OPT_MODE}, {"split", required_argument, NULL, OPT_SPLIT},
		{"embed-model", no_argument, NULL, OPT_EMBED}, {"output", required_argument, NULL, 'o'},
		{"output-dir", required_argument, NULL, 'O'}, {"resize", required_argument, NULL, OPT_RESIZE},
		{"scale", required_argument, NULL, OPT_SCALE}, {"mean", required_argument, NULL, OPT_MEAN},
		{"std", required_argument, NULL, OPT_STD}, {"dry-run", no_argument, NULL, 'n'},
		{"verbose", no_argument, NULL, 'v'}, {"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'}, {NULL, 0, NULL, 0}};
	const char *model_path = NULL, *out = NULL, *outdir = NULL, *input_path = "-";
	struct adcnn_plan_opts po = {2, 2, ADCNN_MODE_FDSP, NULL};
	struct adcnn_prep prep;
	int embed = 0, dry = 0, verbose = 0, c, code = EXIT_OK;
	struct adcnn_ctx *ctx;
	struct adcnn_model *m = NULL;
	struct adcnn_tensor *input = NULL;
	struct adcnn_plan *plan = NULL;
	struct adcnn_bundle *b = NULL;
	enum adcnn_status st;

	cli_init("adcnn-partition");
	adcnn_prep_init(&prep);
	while ((c = getopt_long(argc, argv, "m:g:o:O:nvhV", longopts, NULL)) != -1) {
		char x;
		switch (c) {
		case 'm': model_path = optarg; break;
		case 'g':
			if (sscanf(optarg, "%dx%d%c", &po.rows, &po.cols, &x) != 2 || po.rows < 1 || po.cols < 1 || po.rows > 256 || po.cols > 256)
				return cli_usage_error(usage, "bad grid '%s' (expected RxC, e.g. 2x2)", optarg);
			break;
		case OPT_MODE:
			if (strcmp(optarg, "fdsp") == 0)
				po.mode = ADCNN_MODE_FDSP;
			else if (strcmp(optarg, "halo") == 0)
				po.mode = ADCNN_MODE_HALO;
			else
				return cli_usage_error(usage, "bad mode '%s' (expected fdsp or halo)", optarg);
			break;
		case OPT_SPLIT: po.split = optarg; break;
		case OPT_EMBED: embed = 1; break;
		case 'o': out = optarg; break;
		case 'O': outdir = optarg; break;
		case OPT_RESIZE:
			if (sscanf(optarg, "%dx%d%c", &prep.resize_w, &prep.resize_h, &x) != 2 || prep.resize_w < 1 || prep.resize_h < 1)
				return cli_usage_error(usage, "bad size '%s' (expected WxH)", optarg);
			break;
		case OPT_SCALE:
			if (parse_floats(optarg, &prep.scale, 1) != 1 || prep.scale < 0)
				return cli_usage_error(usage, "bad scale '%s'", optarg);
			break;
		case OPT_MEAN:
			if ((prep.nmean = parse_floats(optarg, prep.mean, 4)) < 1)
				return cli_usage_error(usage, "bad mean '%s'", optarg);
			break;
		case OPT_STD:
			if ((prep.nstd = parse_floats(optarg, prep.std, 4)) < 1)
				return cli_usage_error(usage, "bad std '%s'", optarg);
			break;
		case 'n': dry = 1; break;
		case 'v': verbose = 1; break;
		case 'h': help(); return EXIT_OK;
		case 'V': cli_version(); return EXIT_OK;
		default: fputs(usage, stderr); return EXIT_USAGE;
		}
	}
	if (optind < argc)
		input_path = argv[optind++];
	if (optind < argc)
		return cli_usage_error(usage, "too many arguments");
	if (model_path == NULL)
		return cli_usage_error(usage, "no model given (-m MODEL)");
	if (out != NULL && outdir != NULL)
		return cli_usage_error(usage, "-o and -O exclude each other");
	ctx = adcnn_ctx_new();
	if (ctx == NULL) {
		cli_warn("out of memory");
		return EXIT_FAIL;
	}
	if ((st = adcnn_model_load(ctx, model_path, &m)) != ADCNN_OK ||
	    (st = adcnn_input_load(ctx, m, input_path, &prep, &input)) != ADCNN_OK ||
	    (st = adcnn_plan_new(ctx, m, input, &po, &plan)) != ADCNN_OK) {
		code = cli_fail(ctx, st);
		goto done;
	}
	if (dry || verbose)
		adcnn_plan_print(plan, dry ? stdout : stderr);
	if (verbose)
		adcnn_plan_flops_print(plan, stderr);
	if (dry)
		goto done;
	/* so that adcnn-run on this host finds the prefix without --embed-model */
	if ((st = adcnn_prefix_cache_store(ctx, m, plan)) != ADCNN_OK)
		cli_warn("warning: %s", adcnn_ctx_error(ctx));
	if (outdir == NULL) {
		if ((st = adcnn_partition(ctx, m, plan, input, -1, embed, &b)) != ADCNN_OK) {
			code = cli_fail(ctx, st);
			goto done;
		}
		code = write_bundle(ctx, b, out);
		goto done;
	}
	if (mkdir(outdir, 0777) != 0 && errno != EEXIST) {
		cli_warn("cannot create '%s': %s", outdir, strerror(errno));
		code = EXIT_IO;
		goto done;
	}
	for (int i = 0; i < adcnn_plan_tiles(plan) && code == EXIT_OK; i++) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s.adcnn", outdir, adcnn_plan_tile_id(plan, i));
		if ((st = adcnn_partition(ctx, m, plan, input, i, embed, &b)) != ADCNN_OK) {
			code = cli_fail(ctx, st);
			break;
		}
		code = write_bundle(ctx, b, path);
		adcnn_bundle_free(b);
		b = NULL;
	}
done:
	adcnn_bundle_free(b);
	adcnn_plan_free(plan);
	adcnn_tensor_free(input);
	adcnn_model_free(m);
	adcnn_ctx_free(ctx);
	return code;
}
