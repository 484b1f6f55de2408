/* engine-bench: the adcnn side of the engine benchmark (tests/bench/engine.sh).
 *
 *   engine-bench [-j T] [-r RUNS] [-w WARMUP] [-o OUT.npy] MODEL.onnx INPUT.npy
 *       Times adcnn_graph_run of the whole graph on INPUT.npy: WARMUP runs, then RUNS runs,
 *       one call each; prints the median and the FLOP rate (adcnn_graph_flops):
 *       "model M threads T runs N seconds S min S gflop G gflops R maxrss_kb K"
 *       -o writes the output of the last run.
 *   engine-bench --serve [-j T] [-w WARMUP] MODEL.onnx INPUT.npy
 *   engine-bench --serve --bundle [-j T] [-w WARMUP] BUNDLE
 *       The same run of the whole graph, or adcnn_run of a tile bundle (what adcnn-run does
 *       with it: its tiles decoded, run on T threads, their results encoded; the time
 *       adcnn-run --bench reports), one for each line read from standard input, for
 *       engine_pair.py: after WARMUP runs "ready gflop G", then each run's seconds on a line,
 *       and at the end of the input "maxrss_kb K".
 *   engine-bench --sgemm [--blis] M N K [-j T] [-t SECONDS]
 *       Times the GEMM conv.c runs (adcnn_sgemm: BLIS, or sgemm.c's where BLIS has only its
 *       generic kernels; one thread) alone, or with --blis BLIS's bli_sgemm (on T threads),
 *       on the row-major layout conv.c uses (C += A B, A M x K, B K x N):
 *       "sgemm M N K gemm adcnn|blis threads T runs N seconds S gflops R"
 *   engine-bench --conv [-j T] [-t SECONDS] [-k KxK] MODEL.onnx INPUT.npy
 *       Times every Conv node of the model alone (adcnn_op_run on a random input of the shape
 *       it gets for INPUT.npy) and, for an ungrouped Conv, adcnn_sgemm on the GEMM of the same
 *       shape (M = Cout, N = Ho*Wo, K = Cin*kh*kw); prints a Markdown table. -k keeps the
 *       Convs with that kernel only.
 *   engine-bench --mem MODEL.onnx INPUT.npy
 *       The memory a run of the graph needs at the least: the weights (every initializer a
 *       node reads), the two largest activations, the peak of the activations live at once
 *       (in exec.c's order, each freed after its last use), the largest im2col matrix (K x
 *       Ho*Wo floats of the largest non-1x1 Conv), and their bound weights + two largest +
 *       im2col: "weights_bytes W act2_bytes A live_peak_bytes L im2col_bytes I bound_bytes B"
 *
 * -j T: the threads of the graph's operators (adcnn_threads_set: convolutions share out their
 * pieces; BLIS single-threaded in each), and BLIS's own for --sgemm. The times of --sgemm and --conv are the
 * median of at least 3 runs lasting -t seconds in all (default 0.3) after one warm-up.
 */
#include "config.h"
#include "internal.h"
#include <blis.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static const char usage[] =
	"usage: engine-bench [-j T] [-r RUNS] [-w WARMUP] [-o OUT.npy] MODEL.onnx INPUT.npy\n"
	"       engine-bench --serve [-j T] [-w WARMUP] MODEL.onnx INPUT.npy\n"
	"       engine-bench --serve --bundle [-j T] [-w WARMUP] BUNDLE\n"
	"       engine-bench --sgemm [--blis] M N K [-j T] [-t SECONDS]\n"
	"       engine-bench --conv [-j T] [-t SECONDS] [-k KxK] MODEL.onnx INPUT.npy\n"
	"       engine-bench --mem MODEL.onnx INPUT.npy\n";

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *t, int n)
{
	qsort(t, (size_t)n, sizeof(double), cmp_double);
	return n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
}

static void fill_random(float *p, size_t n, uint32_t seed)
{
	uint32_t s = seed * 2654435761u + 1;
	for (size_t i = 0; i < n; i++) {
		s = s * 1664525u + 1013904223u;
		p[i] = (float)(s >> 8) * (2.0f / 16777216.0f) - 1.0f;
	}
}

static long maxrss_kb(void)
{
	struct rusage ru;
	return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : -1;
}

static int fail(struct adcnn_ctx *ctx, enum adcnn_status st, const char *what)
{
	fprintf(stderr, "engine-bench: %s: %s\n", what, ctx && ctx->status != ADCNN_OK ? adcnn_ctx_error(ctx) : adcnn_strerror(st));
	return 1;
}

/* the FLOPs of the whole graph and every value's C, H, W (chw, 3 per value) */
static enum adcnn_status graph_dims(struct adcnn_ctx *ctx, const struct adcnn_model *m,
                                    const struct adcnn_tensor *x, int **chw)
{
	*chw = malloc(sizeof(int) * 3 * ((size_t)m->g.nvalues + 1));
	if (*chw == NULL)
		return adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory");
	if (x->rank != 4)
		return adcnn_set_error(ctx, ADCNN_ERR_MISMATCH, "the input is not N x C x H x W");
	return adcnn_value_dims(ctx, &m->g, NULL, (int)x->dims[1], (int)x->dims[2], (int)x->dims[3], *chw);
}

static bool use_blis; /* --blis */

/* --sgemm: C (M x N) += A (M x K) B (K x N), row-major, as conv.c calls it */
static double sgemm_time(int M, int N, int K, double budget, int *runs)
{
	float *a = malloc(sizeof(float) * (size_t)M * K), *b = malloc(sizeof(float) * (size_t)K * N);
	float *c = calloc((size_t)M * N, sizeof(float));
	double t[1000], total = 0.0, one = 1.0;
	float fone = (float)one;
	int n = 0;

	if (a == NULL || b == NULL || c == NULL) {
		free(a);
		free(b);
		free(c);
		return -1.0;
	}
	fill_random(a, (size_t)M * K, 1);
	fill_random(b, (size_t)K * N, 2);
	for (int i = -1; i < 3 || (total < budget && i < 1000); i++) {
		double t0 = now();
		if (use_blis)
			bli_sgemm(BLIS_NO_TRANSPOSE, BLIS_NO_TRANSPOSE, M, N, K, &fone, a, K, 1, b, N, 1, &fone, c, N, 1);
		else
			adcnn_sgemm(false, false, M, N, K, fone, a, K, b, N, fone, c, N);
		if (i >= 0) {
			t[n++] = now() - t0;
			total += t[n - 1];
		}
	}
	free(a);
	free(b);
	free(c);
	*runs = n;
	return median(t, n);
}

static int run_sgemm(int M, int N, int K, int threads, double budget)
{
	int runs;
	double s = sgemm_time(M, N, K, budget, &runs);

	if (s < 0)
		return fail(NULL, ADCNN_ERR_NOMEM, "sgemm");
	printf("sgemm %d %d %d gemm %s threads %d runs %d seconds %.6f gflops %.3f\n", M, N, K,
	       use_blis ? "blis" : "adcnn", use_blis ? threads : 1, runs, s,
	       2.0 * M * N * K / s * 1e-9);
	return 0;
}

static int run_conv(struct adcnn_ctx *ctx, const struct adcnn_model *m, const struct adcnn_tensor *x,
                    int threads, double budget, int kfilter)
{
	const struct adcnn_graph *g = &m->g;
	int *chw = NULL;
	enum adcnn_status st = graph_dims(ctx, m, x, &chw);
	double tflop = 0, tsec = 0, tsg = 0;

	if (st != ADCNN_OK) {
		free(chw);
		return fail(ctx, st, "shapes");
	}
	printf("| conv | Cin x H x W | Cout | kernel | stride | group | GFLOP | ms | adcnn GFLOP/s | sgemm M N K | sgemm GFLOP/s | adcnn/sgemm |\n");
	printf("|---|---|---|---|---|---|---|---|---|---|---|---|\n");
	for (int i = 0; i < g->nnodes; i++) {
		const struct adcnn_node *n = &g->nodes[i];
		const struct adcnn_tensor *w;
		struct adcnn_tensor *in[8] = {0}, *res[8] = {0}, *xin;
		int v, o, C, H, W, M, Ho, Wo, runs = 0;
		double t[1000], total = 0.0, s, gflop;
		int64_t dims[4];

		if (n->op != OP_CONV || n->nin < 2 || n->in[1] < 0 || g->values[n->in[1]].init == NULL)
			continue;
		w = g->values[n->in[1]].init;
		if (kfilter > 0 && (w->dims[2] != kfilter || w->dims[3] != kfilter))
			continue;
		v = n->in[0];
		o = n->out[0];
		C = chw[3 * v], H = chw[3 * v + 1], W = chw[3 * v + 2];
		M = (int)w->dims[0];
		Ho = chw[3 * o + 1], Wo = chw[3 * o + 2];
		dims[0] = 1, dims[1] = C, dims[2] = H, dims[3] = W;
		xin = adcnn_tensor_new(4, dims);
		if (xin == NULL) {
			free(chw);
			return fail(NULL, ADCNN_ERR_NOMEM, "conv input");
		}
		fill_random(adcnn_tensor_data(xin), adcnn_tensor_count(xin), (uint32_t)i);
		in[0] = xin;
		for (int k = 1; k < n->nin && k < 8; k++)
			in[k] = n->in[k] >= 0 ? g->values[n->in[k]].init : NULL;
		for (int r = -1; r < 3 || (total < budget && r < 1000); r++) {
			double t0 = now();
			st = adcnn_op_run(ctx, n, in, res, NULL);
			double dt = now() - t0;
			for (int k = 0; k < 8; k++) {
				adcnn_tensor_free(res[k]);
				res[k] = NULL;
			}
			if (st != ADCNN_OK) {
				adcnn_tensor_free(xin);
				free(chw);
				return fail(ctx, st, n->name);
			}
			if (r >= 0) {
				t[runs++] = dt;
				total += dt;
			}
		}
		adcnn_tensor_free(xin);
		s = median(t, runs);
		gflop = 2.0 * M * (double)Ho * Wo * (double)(w->dims[1] * w->dims[2] * w->dims[3]) * 1e-9;
		printf("| %s | %dx%dx%d | %d | %dx%d | %d | %d | %.3f | %.3f | %.1f |", n->name, C, H, W, M,
		       (int)w->dims[2], (int)w->dims[3], n->stride[0], n->group, gflop, s * 1e3, gflop / s);
		tflop += gflop;
		tsec += s;
		if (n->group <= 1) {
			int K = (int)(w->dims[1] * w->dims[2] * w->dims[3]), sr;
			double ss = sgemm_time(M, Ho * Wo, K, budget, &sr);
			if (ss > 0) {
				printf(" %d %d %d | %.1f | %.2f |\n", M, Ho * Wo, K, gflop / ss, ss / s);
				tsg += ss;
			} else {
				printf(" %d %d %d | n/a | n/a |\n", M, Ho * Wo, K);
			}
		} else {
			printf(" (grouped) | n/a | n/a |\n");
			tsg += s;
		}
		fflush(stdout);
	}
	if (tsec > 0)
		printf("| all | | | | | | %.3f | %.2f | %.1f | | %.1f | %.2f |\n", tflop, tsec * 1e3, tflop / tsec,
		       tflop / tsg, tsg / tsec);
	printf("\n(threads %d; sgemm: %s alone on the conv's GEMM, C += A B row-major, one thread)\n", threads,
	       adcnn_gemm_bits() ? "adcnn's own GEMM (BLIS has only generic kernels here)" : "BLIS's sgemm");
	free(chw);
	return 0;
}

static size_t tensor_bytes(const struct adcnn_tensor *t)
{
	return t->n * (t->dtype == ADCNN_I64 ? 8 : 4);
}

static int run_mem(struct adcnn_ctx *ctx, const struct adcnn_model *m, const struct adcnn_tensor *x)
{
	const struct adcnn_graph *g = &m->g;
	int *chw = NULL, *uses = NULL;
	bool *seen = NULL;
	enum adcnn_status st = graph_dims(ctx, m, x, &chw);
	size_t weights = 0, a1 = 0, a2 = 0, live = 0, peak = 0, col = 0;

	if (st != ADCNN_OK) {
		free(chw);
		return fail(ctx, st, "shapes");
	}
	uses = calloc((size_t)g->nvalues + 1, sizeof(int));
	seen = calloc((size_t)g->nvalues + 1, sizeof(bool));
	if (uses == NULL || seen == NULL) {
		free(chw);
		free(uses);
		free(seen);
		return fail(NULL, ADCNN_ERR_NOMEM, "mem");
	}
#define ACT(v) ((size_t)(chw[3 * (v)] > 0 ? chw[3 * (v)] : 0) * (size_t)(chw[3 * (v) + 1] > 0 ? chw[3 * (v) + 1] : 1) * \
                (size_t)(chw[3 * (v) + 2] > 0 ? chw[3 * (v) + 2] : 1) * 4 * (size_t)x->dims[0])
	for (int i = 0; i < g->nnodes; i++)
		for (int k = 0; k < g->nodes[i].nin; k++) {
			int v = g->nodes[i].in[k];
			if (v < 0)
				continue;
			if (g->values[v].init != NULL) {
				if (!seen[v])
					weights += tensor_bytes(g->values[v].init);
				seen[v] = true;
			} else {
				uses[v]++;
			}
		}
	live = ACT(g->input);
	peak = live;
	for (int i = 0; i < g->nnodes; i++) {
		const struct adcnn_node *n = &g->nodes[i];
		size_t out = 0;
		for (int k = 0; k < n->nout; k++)
			if (n->out[k] >= 0 && g->values[n->out[k]].init == NULL) {
				size_t b = ACT(n->out[k]);
				out += b;
				if (b > a1) {
					a2 = a1;
					a1 = b;
				} else if (b > a2) {
					a2 = b;
				}
			}
		live += out;
		if (live > peak)
			peak = live;
		if (n->op == OP_CONV && n->in[1] >= 0 && g->values[n->in[1]].init != NULL) {
			const struct adcnn_tensor *w = g->values[n->in[1]].init;
			int o = n->out[0];
			if (w->dims[2] * w->dims[3] > 1 || n->stride[0] > 1 || n->stride[1] > 1) {
				size_t c = (size_t)(w->dims[1] * w->dims[2] * w->dims[3]) * (size_t)chw[3 * o + 1] * (size_t)chw[3 * o + 2] * 4;
				col = c > col ? c : col;
			}
		}
		for (int k = 0; k < n->nin; k++) {
			int v = n->in[k];
			if (v >= 0 && g->values[v].init == NULL && --uses[v] == 0 && v != g->input)
				live -= ACT(v);
		}
	}
	{
		size_t in = ACT(g->input);
		if (in > a1) {
			a2 = a1;
			a1 = in;
		} else if (in > a2) {
			a2 = in;
		}
	}
#undef ACT
	printf("weights_bytes %zu act2_bytes %zu live_peak_bytes %zu im2col_bytes %zu bound_bytes %zu\n", weights,
	       a1 + a2, peak, col, weights + a1 + a2 + col);
	free(chw);
	free(uses);
	free(seen);
	return 0;
}

static int run_whole(struct adcnn_ctx *ctx, const struct adcnn_model *m, struct adcnn_tensor *x,
                     const char *path, int threads, int runs, int warmup, const char *outpath)
{
	const struct adcnn_graph *g = &m->g;
	int *chw = NULL;
	enum adcnn_status st = graph_dims(ctx, m, x, &chw);
	uint64_t flops;
	double *t = calloc((size_t)runs + 1, sizeof(double)), best = 1e30, s;
	struct adcnn_tensor *y = NULL;

	if (st != ADCNN_OK || t == NULL) {
		free(chw);
		free(t);
		return fail(ctx, st, "shapes");
	}
	flops = adcnn_graph_flops(g, NULL, chw, NULL, x->dims[0]);
	free(chw);
	if (g->noutputs < 1) {
		free(t);
		return fail(NULL, ADCNN_ERR_FORMAT, "the model has no output");
	}
	for (int r = -warmup; r < runs; r++) {
		double t0 = now();
		adcnn_tensor_free(y);
		y = NULL;
		st = adcnn_graph_run(ctx, g, g->input, x, g->outputs[0], NULL, &y);
		if (st != ADCNN_OK) {
			free(t);
			return fail(ctx, st, "run");
		}
		if (r >= 0) {
			t[r] = now() - t0;
			best = t[r] < best ? t[r] : best;
		}
	}
	s = median(t, runs);
	free(t);
	printf("model %s threads %d runs %d seconds %.6f min %.6f gflop %.6f gflops %.3f maxrss_kb %ld\n", path, threads,
	       runs, s, best, (double)flops * 1e-9, (double)flops * 1e-9 / s, maxrss_kb());
	if (outpath != NULL) {
		FILE *fp = fopen(outpath, "wb");
		if (fp == NULL || (st = adcnn_npy_write(ctx, y, fp)) != ADCNN_OK || fclose(fp) != 0) {
			adcnn_tensor_free(y);
			return fail(ctx, st != ADCNN_OK ? st : ADCNN_ERR_IO, outpath);
		}
	}
	adcnn_tensor_free(y);
	return 0;
}

/* --serve: one run of the whole graph (x and model m) or of the tile bundle b (with its
 * options ro), its seconds in *secs */
struct served {
	const struct adcnn_model *m;
	struct adcnn_tensor *x;
	const struct adcnn_bundle *b;
	struct adcnn_run_opts ro;
};

static enum adcnn_status serve_once(struct adcnn_ctx *ctx, struct served *sv, double *secs)
{
	double t0 = now();
	enum adcnn_status st;

	if (sv->b != NULL) {
		struct adcnn_bundle *rb = NULL;
		st = adcnn_run(ctx, sv->b, &sv->ro, &rb);
		adcnn_bundle_free(rb);
		*secs = sv->ro.seconds;
	} else {
		struct adcnn_tensor *y = NULL;
		st = adcnn_graph_run(ctx, &sv->m->g, sv->m->g.input, sv->x, sv->m->g.outputs[0], NULL, &y);
		adcnn_tensor_free(y);
		*secs = now() - t0;
	}
	return st;
}

/* The runs engine_pair.py asks for, a line of standard input each: the engines of a cell of
 * the benchmark take turns, a run each, so that each pair of runs sees the machine at the
 * same few seconds (where this was measured its speed changed every few seconds, by up to
 * 1.5 times, and runs of one engine after the other's set one speed against another) */
static int serve(struct adcnn_ctx *ctx, struct served *sv, int warmup, uint64_t flops)
{
	char line[64];
	double s;
	enum adcnn_status st;

	for (int r = 0; r < warmup; r++)
		if ((st = serve_once(ctx, sv, &s)) != ADCNN_OK)
			return fail(ctx, st, "run");
	if (sv->b != NULL)
		flops = sv->ro.flops;
	printf("ready gflop %.6f\n", (double)flops * 1e-9);
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin) != NULL) {
		if ((st = serve_once(ctx, sv, &s)) != ADCNN_OK)
			return fail(ctx, st, "run");
		printf("%.6f\n", s);
		fflush(stdout);
	}
	printf("maxrss_kb %ld\n", maxrss_kb());
	return fflush(stdout) == 0 ? 0 : 1;
}

static int serve_bundle(const char *path, int threads, int warmup)
{
	struct adcnn_ctx *ctx = adcnn_ctx_new();
	struct adcnn_bundle *b = NULL;
	struct served sv = {0};
	enum adcnn_status st;
	double first;
	int fd, code;

	if (ctx == NULL)
		return fail(NULL, ADCNN_ERR_NOMEM, "context");
	if ((fd = open(path, O_RDONLY)) < 0) {
		adcnn_ctx_free(ctx);
		return fail(NULL, ADCNN_ERR_IO, path);
	}
	st = adcnn_bundle_read(ctx, fd, path, &b);
	close(fd);
	if (st != ADCNN_OK) {
		code = fail(ctx, st, path);
	} else {
		sv.b = b;
		sv.ro.threads = threads;
		sv.ro.keep_model = 1;
		/* the first run loads the model, as adcnn-run --bench's does, outside the warm-up */
		st = serve_once(ctx, &sv, &first);
		code = st != ADCNN_OK ? fail(ctx, st, "run") : serve(ctx, &sv, warmup, 0);
	}
	adcnn_bundle_free(b);
	adcnn_model_free(sv.ro.model);
	adcnn_ctx_free(ctx);
	return code;
}

int main(int argc, char **argv)
{
	enum { OPT_SGEMM = 256, OPT_CONV, OPT_MEM, OPT_BLIS, OPT_SERVE, OPT_BUNDLE };
	static const struct option longopts[] = {
		{"sgemm", no_argument, NULL, OPT_SGEMM}, {"conv", no_argument, NULL, OPT_CONV},
		{"blis", no_argument, NULL, OPT_BLIS}, {"serve", no_argument, NULL, OPT_SERVE},
		{"bundle", no_argument, NULL, OPT_BUNDLE},
		{"mem", no_argument, NULL, OPT_MEM}, {"threads", required_argument, NULL, 'j'},
		{"runs", required_argument, NULL, 'r'}, {"warmup", required_argument, NULL, 'w'},
		{"time", required_argument, NULL, 't'}, {"kernel", required_argument, NULL, 'k'},
		{"output", required_argument, NULL, 'o'}, {"help", no_argument, NULL, 'h'}, {0, 0, 0, 0}};
	int mode = 0, threads = 1, runs = 10, warmup = 2, kfilter = 0, c, code;
	bool bundle = false;
	double budget = 0.3;
	const char *outpath = NULL;
	struct adcnn_ctx *ctx;
	struct adcnn_model *m = NULL;
	struct adcnn_tensor *x = NULL;
	enum adcnn_status st;

	while ((c = getopt_long(argc, argv, "j:r:w:t:k:o:h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_SGEMM: case OPT_CONV: case OPT_MEM: case OPT_SERVE: mode = c; break;
		case OPT_BUNDLE: bundle = true; break;
		case OPT_BLIS: use_blis = true; break;
		case 'j': threads = atoi(optarg); break;
		case 'r': runs = atoi(optarg); break;
		case 'w': warmup = atoi(optarg); break;
		case 't': budget = atof(optarg); break;
		case 'k': kfilter = atoi(optarg); break;
		case 'o': outpath = optarg; break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (threads < 1 || runs < 1 || runs > 100000 || warmup < 0) {
		fputs(usage, stderr);
		return 2;
	}
	bli_thread_set_num_threads(threads);
	adcnn_threads_set(threads);
	if (mode == OPT_SGEMM) {
		if (argc - optind != 3) {
			fputs(usage, stderr);
			return 2;
		}
		return run_sgemm(atoi(argv[optind]), atoi(argv[optind + 1]), atoi(argv[optind + 2]), threads, budget);
	}
	if (bundle && (mode != OPT_SERVE || argc - optind != 1)) {
		fputs(usage, stderr);
		return 2;
	}
	if (bundle)
		return serve_bundle(argv[optind], threads, warmup);
	if (argc - optind != 2) {
		fputs(usage, stderr);
		return 2;
	}
	ctx = adcnn_ctx_new();
	if (ctx == NULL)
		return fail(NULL, ADCNN_ERR_NOMEM, "context");
	if ((st = adcnn_model_load(ctx, argv[optind], &m)) != ADCNN_OK) {
		code = fail(ctx, st, argv[optind]);
	} else if ((st = adcnn_npy_read(ctx, argv[optind + 1], &x)) != ADCNN_OK) {
		code = fail(ctx, st, argv[optind + 1]);
	} else if (mode == OPT_CONV) {
		code = run_conv(ctx, m, x, threads, budget, kfilter);
	} else if (mode == OPT_MEM) {
		code = run_mem(ctx, m, x);
	} else if (mode == OPT_SERVE) {
		int *chw = NULL;
		struct served sv = {.m = m, .x = x};
		if ((st = graph_dims(ctx, m, x, &chw)) != ADCNN_OK)
			code = fail(ctx, st, "shapes");
		else if (m->g.noutputs < 1)
			code = fail(NULL, ADCNN_ERR_FORMAT, "the model has no output");
		else
			code = serve(ctx, &sv, warmup, adcnn_graph_flops(&m->g, NULL, chw, NULL, x->dims[0]));
		free(chw);
	} else {
		code = run_whole(ctx, m, x, argv[optind], threads, runs, warmup, outpath);
	}
	adcnn_tensor_free(x);
	adcnn_model_free(m);
	adcnn_ctx_free(ctx);
	return code;
}
