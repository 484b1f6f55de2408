/* adcnn-merge: stitch tile results, run the tail of the model, print the top classes. */
#include "config.h"
#include "cli.h"
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
	"usage: adcnn-merge -m MODEL [-k N] [--labels FILE] [--json] [-o FILE.npy]\n"
	"                   [--stitched FILE.npy] [--allow-missing] [RESULT...|-]\n";

static void help(void)
{
	printf("%s\n"
	       "Stitch result bundles, run the tail of the model, print the top-k classes.\n\n"
	       "  -m, --model FILE      the full ONNX model (required)\n"
	       "  -k, --top N           print N classes (default 5)\n"
	       "      --labels FILE     class names, one per line\n"
	       "      --json            print JSON\n"
	       "  -o, --output FILE     write the output tensor as .npy ('-': stdout)\n"
	       "      --stitched FILE   write the stitched split tensor as .npy\n"
	       "      --allow-missing   fill missing tiles with zeros instead of failing\n"
	       "  -h, --help            show this help\n"
	       "  -V, --version         show versions\n", usage);
}

static char **read_labels(const char *path, int *n)
{
	FILE *fp = fopen(path, "r");
	char **l = NULL, line[1024];
	int cap = 0;

	*n = 0;
	if (fp == NULL)
		return NULL;
	while (fgets(line, sizeof(line), fp)) {
		line[strcspn(line, "\r\n")] = '\0';
		if (*n == cap) {
			char **nl = realloc(l, sizeof(char *) * (size_t)(cap = cap ? cap * 2 : 64));
			if (nl == NULL)
				break;
			l = nl;
		}
		l[(*n)++] = strdup(line);
	}
	fclose(fp);
	if (l == NULL)
		l = calloc(1, sizeof(char *));
	return l;
}

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

static int write_npy(struct adcnn_ctx *ctx, const struct adcnn_tensor *t, const char *path)
{
	struct cli_out o;
	int code = cli_out_open(&o, path, true);
	enum adcnn_status st;

	if (code != EXIT_OK)
		return code;
	st = adcnn_npy_write(ctx, t, o.fp);
	if (st != ADCNN_OK) {
		cli_out_abort(&o);
		return cli_fail(ctx, st);
	}
	return cli_out_commit(&o);
}

int main(int argc, char **argv)
{
	enum { OPT_LABELS = 256, OPT_JSON, OPT_STITCHED, OPT_ALLOW };
	static const struct option longopts[] = {
		{"model", required_argument, NULL, 'm'}, {"top", required_argument, NULL, 'k'},
		{"labels", required_argument, NULL, OPT_LABELS}, {"json", no_argument, NULL, OPT_JSON},
		{"output", required_argument, NULL, 'o'}, {"stitched", required_argument, NULL, OPT_STITCHED},
		{"allow-missing", no_argument, NULL, OPT_ALLOW}, {"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'}, {NULL, 0, NULL, 0}};
	const char *model_path = NULL, *labels_path = NULL, *out_path = NULL, *st_path = NULL;
	int c, code = EXIT_OK, json = 0, nlabels = 0, softmax_end = 0;
	long k = 5;
	char **labels = NULL;
	struct adcnn_merge_opts mo;
	struct adcnn_ctx *ctx = NULL;
	struct adcnn_model *m = NULL;
	struct adcnn_bundle *b = NULL;
	struct adcnn_tensor *stitched = NULL, *output = NULL;
	enum adcnn_status st;

	memset(&mo, 0, sizeof(mo));
	cli_init("adcnn-merge");
	cli_check_env();
	while ((c = getopt_long(argc, argv, "m:k:o:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'm': model_path = optarg; break;
		case 'k':
			if (!cli_parse_int(optarg, 1, 1000000, &k))
				return cli_usage_error(usage, "bad count '%s'", optarg);
			break;
		case OPT_LABELS: labels_path = optarg; break;
		case OPT_JSON: json = 1; break;
		case 'o': out_path = optarg; break;
		case OPT_STITCHED: st_path = optarg; break;
		case OPT_ALLOW: mo.allow_missing = 1; break;
		case 'h': help(); return EXIT_OK;
		case 'V': cli_version(); return EXIT_OK;
		default: fputs(usage, stderr); return EXIT_USAGE;
		}
	}
	if (model_path == NULL)
		return cli_usage_error(usage, "no model given (-m MODEL)");
	if (out_path && st_path && strcmp(out_path, "-") == 0 && strcmp(st_path, "-") == 0)
		return cli_usage_error(usage, "--output and --stitched cannot both go to stdout");
	if (labels_path != NULL && (labels = read_labels(labels_path, &nlabels)) == NULL) {
		cli_warn("cannot read labels '%s'", labels_path);
		return EXIT_NOINPUT;
	}
	ctx = adcnn_ctx_new();
	if (ctx == NULL) {
		cli_warn("out of memory");
		code = EXIT_FAIL;
		goto done;
	}
	if ((st = adcnn_model_load_ex(ctx, model_path, ADCNN_LOAD_CACHED, &m)) != ADCNN_OK) {
		code = cli_fail(ctx, st);
		goto done;
	}
	for (int i = optind; i < argc || (i == optind && optind == argc); i++) {
		if ((code = cli_read_bundle(ctx, i < argc ? argv[i] : "-", &b)) != EXIT_OK)
			goto done;
	}
	st = adcnn_merge(ctx, m, b, &mo, &stitched, &output, &softmax_end);
	if (st != ADCNN_OK) {
		code = cli_fail(ctx, st);
		goto done;
	}
	if (mo.nmissing > 0)
		cli_warn("warning: %d tile%s missing, filled with zeros: %s", mo.nmissing, mo.nmissing > 1 ? "s" : "", mo.missing);
	if (st_path != NULL && (code = write_npy(ctx, stitched, st_path)) != EXIT_OK)
		goto done;
	if (out_path != NULL) {
		code = write_npy(ctx, output, out_path);
		goto done;
	}
	if (st_path != NULL && strcmp(st_path, "-") == 0)
		goto done;
	{
		int *idx = calloc((size_t)k, sizeof(int)), n = 0;
		float *prob = calloc((size_t)k, sizeof(float));
		if (idx == NULL || prob == NULL) {
			free(idx);
			free(prob);
			cli_warn("out of memory");
			code = EXIT_FAIL;
			goto done;
		}
		st = adcnn_topk(ctx, output, !softmax_end, (int)k, idx, prob, &n);
		if (st != ADCNN_OK) {
			cli_warn("%s: use --output FILE.npy", adcnn_ctx_error(ctx));
			code = EXIT_USAGE;
		} else if (json) {
			printf("{\"top\":[");
			for (int i = 0; i < n; i++) {
				printf("%s{\"index\":%d,\"probability\":%.6f", i ? "," : "", idx[i], prob[i]);
				if (idx[i] < nlabels) {
					printf(",\"label\":");
					json_str(labels[idx[i]]);
				}
				putchar('}');
			}
			printf("]}\n");
		} else {
			for (int i = 0; i < n; i++) {
				printf("%d\t%.6f", idx[i], prob[i]);
				if (idx[i] < nlabels)
					printf("\t%s", labels[idx[i]]);
				putchar('\n');
			}
		}
		free(idx);
		free(prob);
		if (code == EXIT_OK && fflush(stdout) != 0) {
			cli_warn("cannot write to standard output");
			code = EXIT_IO;
		}
	}
done:
	for (int i = 0; i < nlabels; i++)
		free(labels[i]);
	free(labels);
	adcnn_tensor_free(stitched);
	adcnn_tensor_free(output);
	adcnn_bundle_free(b);
	adcnn_model_free(m);
	adcnn_ctx_free(ctx);
	return code;
}
