/* pack-bench: what adcnn-pack makes of real activations: size against float32, zstd -3 and
 * lz4 of the raw floats; reconstruction error; pack and unpack speed on one core.
 * Usage: pack-bench [--quick] NAME=FILE.npy ... (one row per tensor and setting); and
 * NAME=FILE.adcnn, a result bundle: its tiles' tensors packed in turn, as adcnn-pack packs
 * them, each with the zero point of its own range (a row per bit width, the defaults); and
 * NAME=2x2:FILE.npy, a 1 x C x H x W tensor cut into 2 x 2 tiles packed in turn (the same). */
#include "config.h"
#include "internal.h"
#include <lz4.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* repeats until at least 0.2 s have passed; the best rate */
#define TIMEIT(best, bytes, stmt) do { \
	double t_end = now() + 0.2; best = 0; \
	do { double t0 = now(); stmt; double dt = now() - t0; \
	     double r = (double)(bytes) / dt / 1e9; if (r > best) best = r; } while (now() < t_end); \
} while (0)

static void errors(const struct adcnn_tensor *a, const struct adcnn_tensor *b, double *maxe, double *rms)
{
	float mn = INFINITY, mx = -INFINITY;
	double m = 0, s = 0;

	for (size_t i = 0; i < a->n; i++) {
		mn = fminf(mn, a->d.f[i]);
		mx = fmaxf(mx, a->d.f[i]);
	}
	for (size_t i = 0; i < a->n; i++) {
		double e = fabs((double)a->d.f[i] - b->d.f[i]);
		m = fmax(m, e);
		s += e * e;
	}
	double range = mx > mn ? mx - mn : 1.0;
	*maxe = m / range;
	*rms = sqrt(s / (double)(a->n ? a->n : 1)) / range;
}

/* tiles t[0..nt) packed in turn at 2, 4 and 8 bits (clip auto, rANS); GB/s of all their
 * floats */
static void in_turn(struct adcnn_ctx *ctx, const char *name, const char *what, struct adcnn_tensor **t, int nt)
{
	size_t n = 0, raw = 0;

	for (int k = 0; k < nt; k++) {
		n += t[k]->n;
		raw += t[k]->n * 4;
	}
	for (int bits = 2; bits <= 8; bits *= 2) {
		struct adcnn_pack_opts o;
		uint8_t *buf[64];
		size_t len[64], total = 0;
		double gp, gu;

		adcnn_pack_opts_init(&o);
		o.bits = bits;
		TIMEIT(gp, raw, for (int k = 0; k < nt; k++) { adcnn_tensor_encode_quant(ctx, t[k], &o, &buf[k], &len[k]); free(buf[k]); });
		for (int k = 0; k < nt; k++) {
			adcnn_tensor_encode_quant(ctx, t[k], &o, &buf[k], &len[k]);
			total += len[k];
		}
		TIMEIT(gu, raw, for (int k = 0; k < nt; k++) { struct adcnn_tensor *d = NULL; adcnn_tensor_decode(ctx, buf[k], len[k], &d, NULL); adcnn_tensor_free(d); });
		printf("| %s | %zu | | %d bits, clip auto, rans: %d %s in turn | %zu | %.1f | | | %.2f | %.2f |\n", name, n,
		       bits, nt, what, total, (double)raw / total, gp, gu);
		for (int k = 0; k < nt; k++)
			free(buf[k]);
	}
	for (int k = 0; k < nt; k++)
		adcnn_tensor_free(t[k]);
}

/* the tiles of result bundle FILE, as adcnn-pack packs them, each tile's tensor with the
 * zero point of its own range */
static int bundle_tiles(struct adcnn_ctx *ctx, const char *name, const char *file)
{
	struct adcnn_bundle *b = NULL;
	struct adcnn_tensor *t[64];
	int nt = 0, fd = open(file, O_RDONLY);

	if (fd < 0 || adcnn_bundle_read(ctx, fd, file, &b) != ADCNN_OK) {
		fprintf(stderr, "pack-bench: %s: %s\n", file, fd < 0 ? "cannot open" : adcnn_ctx_error(ctx));
		return 1;
	}
	close(fd);
	for (int i = 0; i < b->nmembers && nt < 64; i++)
		if (strncmp(b->members[i].path, "results/", 8) == 0) {
			if (adcnn_tensor_decode(ctx, b->members[i].data, b->members[i].len, &t[nt], NULL) != ADCNN_OK) {
				fprintf(stderr, "pack-bench: %s: %s\n", file, adcnn_ctx_error(ctx));
				return 1;
			}
			nt++;
		}
	in_turn(ctx, name, "tiles", t, nt);
	adcnn_bundle_free(b);
	return 0;
}

/* an NCHW tensor cut into 2 x 2 tiles of its planes (as a 2x2 grid's tiles of the layer
 * would be, with no halo), packed in turn: tiles of a size real networks make, where the
 * test networks' bundles have tiles of a few hundred values */
static int cut_tiles(struct adcnn_ctx *ctx, const char *name, const struct adcnn_tensor *a)
{
	struct adcnn_tensor *t[4];
	int64_t c = a->dims[1], h = a->dims[2], w = a->dims[3];

	if (a->rank != 4 || a->dims[0] != 1 || h < 2 || w < 2) {
		fprintf(stderr, "pack-bench: %s: not a 1 x C x H x W tensor\n", name);
		return 1;
	}
	for (int k = 0; k < 4; k++) {
		int64_t y0 = k / 2 * (h / 2), x0 = k % 2 * (w / 2), th = k / 2 ? h - h / 2 : h / 2, tw = k % 2 ? w - w / 2 : w / 2;
		t[k] = adcnn_tensor_new(4, (int64_t[]){1, c, th, tw});
		if (t[k] == NULL) {
			fprintf(stderr, "pack-bench: out of memory\n");
			return 1;
		}
		for (int64_t ch = 0; ch < c; ch++)
			for (int64_t y = 0; y < th; y++)
				memcpy(t[k]->d.f + (ch * th + y) * tw, a->d.f + (ch * h + y0 + y) * w + x0, (size_t)tw * 4);
	}
	in_turn(ctx, name, "2x2 tiles", t, 4);
	return 0;
}

int main(int argc, char **argv)
{
	struct adcnn_ctx *ctx = adcnn_ctx_new();
	int quick = 0;
	static const int bitsv[] = {2, 4, 8};
	static const struct { enum adcnn_clip clip; double v; const char *name; } clips[] = {
		{ADCNN_CLIP_AUTO, 0, "auto"}, {ADCNN_CLIP_PERCENTILE, 99.9, "p99.9"},
		{ADCNN_CLIP_PERCENTILE, 99.99, "p99.99"}, {ADCNN_CLIP_NONE, 0, "none"}};

	printf("| tensor | floats | zeros | setting | bytes | ratio | max err | rms err | pack GB/s | unpack GB/s |\n");
	printf("|---|---|---|---|---|---|---|---|---|---|\n");
	for (int a = 1; a < argc; a++) {
		char *eq = strchr(argv[a], '=');
		struct adcnn_tensor *t;
		size_t raw, zeros = 0;
		const char *name = argv[a];

		if (strcmp(argv[a], "--quick") == 0) {
			quick = 1;
			continue;
		}
		if (eq != NULL) {
			*eq = '\0';
			name = argv[a];
		}
		if (strlen(eq ? eq + 1 : argv[a]) > 6 && strcmp(strchr(eq ? eq + 1 : argv[a], '\0') - 6, ".adcnn") == 0) {
			if (bundle_tiles(ctx, name, eq ? eq + 1 : argv[a]) != 0)
				return 1;
			continue;
		}
		if (strncmp(eq ? eq + 1 : argv[a], "2x2:", 4) == 0) {
			if (adcnn_npy_read(ctx, (eq ? eq + 1 : argv[a]) + 4, &t) != ADCNN_OK || t->dtype != ADCNN_F32) {
				fprintf(stderr, "pack-bench: %s\n", adcnn_ctx_error(ctx));
				return 1;
			}
			if (cut_tiles(ctx, name, t) != 0)
				return 1;
			adcnn_tensor_free(t);
			continue;
		}
		if (adcnn_npy_read(ctx, eq ? eq + 1 : argv[a], &t) != ADCNN_OK || t->dtype != ADCNN_F32) {
			fprintf(stderr, "pack-bench: %s\n", adcnn_ctx_error(ctx));
			return 1;
		}
		raw = t->n * 4;
		for (size_t i = 0; i < t->n; i++)
			zeros += t->d.f[i] == 0.0f;
		/* the general-purpose coders on the raw floats */
		{
			size_t bound = ZSTD_compressBound(raw), z = 0;
			char *buf = malloc(bound > (size_t)LZ4_compressBound((int)raw) ? bound : (size_t)LZ4_compressBound((int)raw));
			double gz, gl;
			int l = 0;
			TIMEIT(gz, raw, z = ZSTD_compress(buf, bound, t->d.f, raw, 3));
			printf("| %s | %zu | %.0f%% | zstd -3 (float32) | %zu | %.1f | 0 | 0 | %.2f | |\n", name, t->n, 100.0 * zeros / t->n, z, (double)raw / z, gz);
			TIMEIT(gl, raw, l = LZ4_compress_default((const char *)t->d.f, buf, (int)raw, LZ4_compressBound((int)raw)));
			printf("| %s | %zu | | lz4 (float32) | %d | %.1f | 0 | 0 | %.2f | |\n", name, t->n, l, (double)raw / l, gl);
			free(buf);
		}
		/* lossless: the default (exponents by rANS) and --coder planes at zstd -3 */
		for (int k = 0; k < 2; k++) {
			enum adcnn_enc enc = k == 0 ? ADCNN_ENC_LOSSLESS_RANS : ADCNN_ENC_LOSSLESS;
			uint8_t *buf;
			size_t len;
			struct adcnn_tensor *d = NULL;
			double gp, gu;
			TIMEIT(gp, raw, (adcnn_tensor_encode(ctx, t, enc, 3, &buf, &len), free(buf)));
			adcnn_tensor_encode(ctx, t, enc, 3, &buf, &len);
			TIMEIT(gu, raw, (adcnn_tensor_decode(ctx, buf, len, &d, NULL), adcnn_tensor_free(d)));
			printf("| %s | %zu | | lossless (%s) | %zu | %.1f | 0 | 0 | %.2f | %.2f |\n", name, t->n,
			       k == 0 ? "exponents by rans" : "planes + zstd -3", len, (double)raw / len, gp, gu);
			free(buf);
		}
		for (int bi = 0; bi < 3; bi++)
			for (int ci = 0; ci < 4; ci++)
				for (int coder = ADCNN_CODER_BYTES; coder <= ADCNN_CODER_RANS; coder++)
					for (int level = 1; level <= 3 && coder != 3; level += 2) {
						struct adcnn_pack_opts o;
						uint8_t *buf;
						size_t len;
						struct adcnn_tensor *d = NULL;
						double gp, gu, me, rms;

						static const char *coders[] = {"", "bytes, zstd", "planes, zstd", "", "rans"};
						char setting[96];

						/* rANS has no level; quick: the default and the planes at zstd -1 */
						if ((coder == ADCNN_CODER_RANS && level != 1) ||
						    (quick && (ci != 0 || coder == ADCNN_CODER_BYTES || level != 1)))
							continue;
						adcnn_pack_opts_init(&o);
						o.bits = bitsv[bi];
						o.clip = clips[ci].clip;
						o.clip_value = clips[ci].v;
						o.coder = (enum adcnn_coder)coder;
						o.level = level;
						TIMEIT(gp, raw, (adcnn_tensor_encode_quant(ctx, t, &o, &buf, &len), free(buf)));
						adcnn_tensor_encode_quant(ctx, t, &o, &buf, &len);
						TIMEIT(gu, raw, (adcnn_tensor_decode(ctx, buf, len, &d, NULL), adcnn_tensor_free(d)));
						adcnn_tensor_decode(ctx, buf, len, &d, NULL);
						errors(t, d, &me, &rms);
						if (coder == ADCNN_CODER_RANS)
							snprintf(setting, sizeof(setting), "%d bits, clip %s, %s", o.bits, clips[ci].name, coders[coder]);
						else
							snprintf(setting, sizeof(setting), "%d bits, clip %s, %s -%d", o.bits, clips[ci].name, coders[coder], level);
						printf("| %s | %zu | | %s | %zu | %.1f | %.4f | %.4f | %.2f | %.2f |\n",
						       name, t->n, setting, len, (double)raw / len, me, rms, gp, gu);
						adcnn_tensor_free(d);
						free(buf);
					}
		adcnn_tensor_free(t);
	}
	adcnn_ctx_free(ctx);
	return 0;
}
