/* adcnn-run: run the prefix of the model on every tile of a bundle, on this node. */
#include "config.h"
#include "cli.h"
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
	"usage: adcnn-run [-j THREADS] [-m MODEL] [-o FILE] [BUNDLE|-]\n"
	"       adcnn-run --bench [-j THREADS] [-m MODEL] [BUNDLE|-]\n";

static void help(void)
{
	printf("%s\n"
	       "Run the prefix of the model on every tile of a tile bundle; write a result bundle.\n\n"
	       "  -o, --output FILE    write the result bundle to FILE (default: stdout)\n"
	       "  -j, --threads N      threads: tiles in parallel, the rest inside them (default: online CPUs)\n"
	       "  -m, --model FILE     the model or its prefix, if not embedded or cached\n"
	       "  -v, --verbose        per-tile times on stderr\n"
	       "      --bench          run the tiles again and again for a second; print this\n"
	       "                       node's speed (GFLOP/s) on stdout instead of a bundle\n"
	       "  -h, --help           show this help\n"
	       "  -V, --version        show versions\n", usage);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* --bench: the first run warmed the caches; run again for at least a second and three
 * times, and report the median */
static int report(struct adcnn_ctx *ctx, const struct adcnn_bundle *tb, struct adcnn_run_opts *ro)
{
	double t[1000], total = 0.0;
	int n = 0;
	uint64_t flops = ro->flops;

	while (n < 3 || (total < 1.0 && n < 1000)) {
		struct adcnn_bundle *rb = NULL;
		enum adcnn_status st = adcnn_run(ctx, tb, ro, &rb);
		adcnn_bundle_free(rb);
		if (st != ADCNN_OK)
			return cli_fail(ctx, st);
		t[n++] = ro->seconds;
		total += ro->seconds;
	}
	qsort(t, (size_t)n, sizeof(double), cmp_double);
	printf("tiles %d threads %d runs %d seconds %.6f gflop %.6f gflops %.3f\n",
	       adcnn_bundle_tiles(tb), ro->threads, n, t[n / 2], (double)flops * 1e-9,
	       t[n / 2] > 0 ? (double)flops * 1e-9 / t[n / 2] : 0.0);
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_IO;
}

int main(int argc, char **argv)
{
	enum { OPT_BENCH = 256 };
	static const struct option longopts[] = {
		{"bench", no_argument, NULL, OPT_BENCH}, {"output", required_argument, NULL, 'o'}, {"threads", required_argument, NULL, 'j'},
		{"model", required_argument, NULL, 'm'}, {"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'}, {"version", no_argument, NULL, 'V'}, {NULL, 0, NULL, 0}};
	struct adcnn_run_opts ro = {0, NULL, 0, 0, 0.0, 0, NULL};
	int bench = 0;
	const char *out = NULL, *in = "-";
	long v;
	int c, code = EXIT_OK;
	struct adcnn_ctx *ctx;
	struct adcnn_bundle *tb = NULL, *rb = NULL;
	struct cli_out o;
	enum adcnn_status st;

	cli_init("adcnn-run");
	cli_check_env();
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
		case OPT_BENCH: bench = 1; break;
		case 'h': help(); return EXIT_OK;
		case 'V': cli_version(); return EXIT_OK;
		default: fputs(usage, stderr); return EXIT_USAGE;
		}
	}
	if (optind < argc)
		in = argv[optind++];
	if (optind < argc)
		return cli_usage_error(usage, "too many arguments");
	if (bench && out != NULL)
		return cli_usage_error(usage, "--bench writes no bundle: -o does not go with it");
	if ((code = cli_out_open(&o, out, !bench)) != EXIT_OK)
		return code;
	ctx = adcnn_ctx_new();
	if (ctx == NULL) {
		cli_out_abort(&o);
		cli_warn("out of memory");
		return EXIT_FAIL;
	}
	if ((code = cli_read_bundle(ctx, in, &tb)) != EXIT_OK)
		goto done;
	/* --bench: the runs after the first use its model, as loaded, rather than each map the
	 * ready form again (what a node that runs one bundle after another pays once) */
	ro.keep_model = bench;
	st = adcnn_run(ctx, tb, &ro, &rb);
	if (st == ADCNN_OK && bench) {
		code = report(ctx, tb, &ro);
		goto done;
	}
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
	adcnn_model_free(ro.model);
	adcnn_ctx_free(ctx);
	return code;
}
