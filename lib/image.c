/* image.c: inputs: PNG, JPEG, PPM/PGM (decoded, resized, normalized) and tensors (.npy, .pb). */
#include "config.h"
#include "internal.h"
#include <errno.h>
#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>

#define MAX_PIXELS ((size_t)1 << 28)

struct image {
	int w, h, c; /* c: 1 or 3 */
	uint8_t *px; /* interleaved */
};

void adcnn_prep_init(struct adcnn_prep *p)
{
	memset(p, 0, sizeof(*p));
	p->scale = -1.0;
}

static enum adcnn_status decode_png(struct adcnn_ctx *ctx, const uint8_t *buf, size_t len, struct image *im)
{
	png_image pi;

	memset(&pi, 0, sizeof(pi));
	pi.version = PNG_IMAGE_VERSION;
	if (!png_image_begin_read_from_memory(&pi, buf, len))
		return adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "bad PNG: %s", pi.message);
	pi.format = (pi.format & PNG_FORMAT_FLAG_COLOR) ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
	im->w = (int)pi.width;
	im->h = (int)pi.height;
	im->c = (pi.format & PNG_FORMAT_FLAG_COLOR) ? 3 : 1;
	if ((size_t)pi.width * pi.height > MAX_PIXELS) {
		png_image_free(&pi);
		return adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "PNG too large (%ux%u)", pi.width, pi.height);
	}
	im->px = malloc(PNG_IMAGE_SIZE(pi));
	if (im->px == NULL) {
		png_image_free(&pi);
		return adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory");
	}
	if (!png_image_finish_read(&pi, NULL, im->px, 0, NULL)) {
		free(im->px);
		im->px = NULL;
		return adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "bad PNG: %s", pi.message);
	}
	return ADCNN_OK;
}

struct jerr {
	struct jpeg_error_mgr pub;
	jmp_buf jb;
	char msg[JMSG_LENGTH_MAX];
};

static void jpeg_fail(j_common_ptr c)
{
	struct jerr *e = (struct jerr *)c->err;
	(*c->err->format_message)(c, e->msg);
	longjmp(e->jb, 1);
}

static void jpeg_quiet(j_common_ptr c, int level)
{
	(void)c;
	(void)level;
}

static enum adcnn_status decode_jpeg(struct adcnn_ctx *ctx, const uint8_t *buf, size_t len, struct image *im)
{
	struct jpeg_decompress_struct d;
	struct jerr e;
	uint8_t *volatile px = NULL;

	d.err = jpeg_std_error(&e.pub);
	e.pub.error_exit = jpeg_fail;
	e.pub.emit_message = jpeg_quiet;
	if (setjmp(e.jb)) {
		jpeg_destroy_decompress(&d);
		free(px);
		return adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "bad JPEG: %s", e.msg);
	}
	jpeg_create_decompress(&d);
	jpeg_mem_src(&d, buf, (unsigned long)len);
	jpeg_read_header(&d, TRUE);
	d.out_color_space = d.num_components == 1 ? JCS_GRAYSCALE : JCS_RGB;
	jpeg_start_decompress(&d);
	if ((size_t)d.output_width * d.output_height > MAX_PIXELS) {
		jpeg_destroy_decompress(&d);
		return adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "JPEG too large");
	}
	im->w = (int)d.output_width;
	im->h = (int)d.output_height;
	im->c = d.output_components;
	px = malloc((size_t)im->w * im->h * im->c);
	if (px == NULL) {
		jpeg_destroy_decompress(&d);
		return adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory");
	}
	while (d.output_scanline < d.output_height) {
		JSAMPROW row = px + (size_t)d.output_scanline * im->w * im->c;
		jpeg_read_scanlines(&d, &row, 1);
	}
	jpeg_finish_decompress(&d);
	jpeg_destroy_decompress(&d);
	im->px = px;
	return ADCNN_OK;
}

/* binary PGM (P5) and PPM (P6), 8-bit */
static enum adcnn_status decode_pnm(struct adcnn_ctx *ctx, const uint8_t *buf, size_t len, struct image *im)
{
	long v[3];
	size_t o = 2;

	for (int k = 0; k < 3; k++) {
		for (;;) {
			while (o < len && (buf[o] == ' ' || buf[o] == '\t' || buf[o] == '\n' || buf[o] == '\r'))
				o++;
			if (o < len && buf[o] == '#') {
				while (o < len && buf[o] != '\n')
					o++;
				continue;
			}
			break;
		}
		v[k] = 0;
		if (o >= len || buf[o] < '0' || buf[o] > '9')
			return adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "bad PNM header");
		while (o < len && buf[o] >= '0' && buf[o] <= '9' && v[k] < 100000000)
			v[k] = v[k] * 10 + (buf[o++] - '0');
	}
	o++; /* one whitespace byte ends the header */
	if (v[0] < 1 || v[1] < 1 || v[2] != 255 || (size_t)v[0] * (size_t)v[1] > MAX_PIXELS)
		return adcnn_set_error(ctx, ADCNN_ERR_UNSUPPORTED, "PNM: only 8-bit images (maxval 255) are supported");
	im->w = (int)v[0];
	im->h = (int)v[1];
	im->c = buf[1] == '6' ? 3 : 1;
	if (o > len || len - o < (size_t)im->w * im->h * im->c)
		return adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "truncated PNM data");
	im->px = malloc((size_t)im->w * im->h * im->c);
	if (im->px == NULL)
		return adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory");
	memcpy(im->px, buf + o, (size_t)im->w * im->h * im->c);
	return ADCNN_OK;
}

/* One pass of a separable triangle (bilinear) filter, widened when shrinking, with
 * half-pixel centres and 8-bit rounding: the resampling that PIL's BILINEAR does, so that an
 * image gives the model what a PIL-based training pipeline gave it. */
static void resample(const uint8_t *src, int n_in, int n_out, int stride_in, int stride_out,
                     int count, int step_in, int step_out, uint8_t *dst)
{
	double scale = (double)n_in / n_out, fs = scale > 1.0 ? scale : 1.0, support = fs;

	for (int o = 0; o < n_out; o++) {
		double center = (o + 0.5) * scale, wsum = 0.0, w[4096];
		int lo = (int)floor(center - support + 0.5), hi = (int)floor(center + support + 0.5);
		if (lo < 0) lo = 0;
		if (hi > n_in) hi = n_in;
		if (hi - lo > 4096) hi = lo + 4096;
		for (int i = lo; i < hi; i++) {
			double x = fabs((i - center + 0.5) / fs);
			w[i - lo] = x < 1.0 ? 1.0 - x : 0.0;
			wsum += w[i - lo];
		}
		for (int k = 0; k < count; k++) {
			double acc = 0.0;
			for (int i = lo; i < hi; i++)
				acc += w[i - lo] * src[(size_t)k * step_in + (size_t)i * stride_in];
			acc = wsum > 0 ? acc / wsum : 0.0;
			acc = floor(acc + 0.5);
			dst[(size_t)k * step_out + (size_t)o * stride_out] = (uint8_t)(acc < 0 ? 0 : acc > 255 ? 255 : acc);
		}
	}
}

static enum adcnn_status resize(struct adcnn_ctx *ctx, struct image *im, int w, int h)
{
	int c = im->c;
	uint8_t *mid, *out;

	if (w == im->w && h == im->h)
		return ADCNN_OK;
	mid = malloc((size_t)w * im->h * c);
	out = malloc((size_t)w * h * c);
	if (mid == NULL || out == NULL) {
		free(mid);
		free(out);
		return adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory");
	}
	for (int ch = 0; ch < c; ch++) {
		/* horizontal: per row; vertical: per column */
		resample(im->px + ch, im->w, w, c, c, im->h, (int)((size_t)im->w * c), w * c, mid + ch);
		resample(mid + ch, im->h, h, w * c, w * c, w, c, c, out + ch);
	}
	free(mid);
	free(im->px);
	im->px = out;
	im->w = w;
	im->h = h;
	return ADCNN_OK;
}

static int parse_list(const char *s, double *v, int max)
{
	int n = 0;
	char *end;

	while (s && *s && n < max) {
		errno = 0;
		v[n] = strtod(s, &end);
		if (end == s || errno != 0)
			return -1;
		n++;
		s = end;
		if (*s == ',')
			s++;
		else if (*s != '\0')
			return -1;
	}
	return s && *s ? -1 : n;
}

static bool has_ext(const char *path, const char *ext)
{
	size_t l = strlen(path), e = strlen(ext);
	return l > e && strcasecmp(path + l - e, ext) == 0;
}

enum adcnn_status adcnn_input_load(struct adcnn_ctx *ctx, const struct adcnn_model *m,
                                   const char *path, const struct adcnn_prep *prep,
                                   struct adcnn_tensor **out)
{
	uint8_t *buf = NULL;
	size_t len;
	struct image im = {0};
	enum adcnn_status st = adcnn_file_read(ctx, path, &buf, &len);
	int w, h, c;
	double scale = 1.0 / 255.0, mean[4] = {0, 0, 0, 0}, sd[4] = {1, 1, 1, 1};
	int nmean = 1, nstd = 1;
	const char *v;
	struct adcnn_tensor *t;

	if (st != ADCNN_OK)
		return st;
	if (len >= 6 && memcmp(buf, "\x93NUMPY", 6) == 0) {
		st = adcnn_npy_parse(ctx, buf, len, out);
		if (st == ADCNN_OK && (*out)->dtype != ADCNN_F32) {
			adcnn_tensor_free(*out);
			st = adcnn_set_error(ctx, ADCNN_ERR_UNSUPPORTED, "input tensor is not float32");
		}
		goto done;
	}
	if (len >= 8 && memcmp(buf, "\x89PNG\r\n\x1a\n", 8) == 0)
		st = decode_png(ctx, buf, len, &im);
	else if (len >= 3 && buf[0] == 0xff && buf[1] == 0xd8 && buf[2] == 0xff)
		st = decode_jpeg(ctx, buf, len, &im);
	else if (len >= 2 && buf[0] == 'P' && (buf[1] == '5' || buf[1] == '6'))
		st = decode_pnm(ctx, buf, len, &im);
	else if (has_ext(path, ".pb") || strcmp(path, "-") == 0) {
		st = adcnn_onnx_tensor_parse(ctx, buf, len, out);
		if (st == ADCNN_OK && (*out)->dtype != ADCNN_F32) {
			adcnn_tensor_free(*out);
			st = adcnn_set_error(ctx, ADCNN_ERR_UNSUPPORTED, "input tensor is not float32");
		}
		if (st != ADCNN_OK && strcmp(path, "-") == 0)
			st = adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "input is not PNG, JPEG, PPM/PGM, .npy or an ONNX TensorProto");
		goto done;
	} else {
		st = adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "unknown input format (PNG, JPEG, PPM/PGM, .npy and .pb are read)");
	}
	if (st != ADCNN_OK)
		goto done;
	/* the size: the option, else the model's metadata, else the model's input, else as is */
	w = im.w;
	h = im.h;
	c = im.c;
	if (m->in_rank == 4) {
		if (m->in_dims[1] > 0)
			c = (int)m->in_dims[1];
		if (m->in_dims[2] > 0)
			h = (int)m->in_dims[2];
		if (m->in_dims[3] > 0)
			w = (int)m->in_dims[3];
	}
	if ((v = adcnn_model_meta(m, "adcnn.resize")) != NULL && sscanf(v, "%dx%d", &w, &h) != 2) {
		st = adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "model metadata adcnn.resize '%s' is not WxH", v);
		goto done;
	}
	if (prep->resize_w > 0) {
		w = prep->resize_w;
		h = prep->resize_h;
	}
	if (w < 1 || h < 1 || w > 16384 || h > 16384 || (c != 1 && c != 3)) {
		st = adcnn_set_error(ctx, ADCNN_ERR_INVALID, "cannot make a %dx%dx%d input from an image", c, h, w);
		goto done;
	}
	if ((v = adcnn_model_meta(m, "adcnn.scale")) != NULL && parse_list(v, &scale, 1) != 1) {
		st = adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "model metadata adcnn.scale '%s' is not a number", v);
		goto done;
	}
	if ((v = adcnn_model_meta(m, "adcnn.mean")) != NULL && (nmean = parse_list(v, mean, 4)) < 1) {
		st = adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "model metadata adcnn.mean '%s' is not a list of numbers", v);
		goto done;
	}
	if ((v = adcnn_model_meta(m, "adcnn.std")) != NULL && (nstd = parse_list(v, sd, 4)) < 1) {
		st = adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "model metadata adcnn.std '%s' is not a list of numbers", v);
		goto done;
	}
	if (prep->scale >= 0)
		scale = prep->scale;
	if (prep->nmean > 0) {
		nmean = prep->nmean;
		memcpy(mean, prep->mean, sizeof(mean));
	}
	if (prep->nstd > 0) {
		nstd = prep->nstd;
		memcpy(sd, prep->std, sizeof(sd));
	}
	if ((nmean != 1 && nmean != c) || (nstd != 1 && nstd != c)) {
		st = adcnn_set_error(ctx, ADCNN_ERR_INVALID, "mean and std need 1 or %d values", c);
		goto done;
	}
	for (int i = 0; i < nstd; i++)
		if (sd[i] == 0.0) {
			st = adcnn_set_error(ctx, ADCNN_ERR_INVALID, "std cannot be 0");
			goto done;
		}
	if ((st = resize(ctx, &im, w, h)) != ADCNN_OK)
		goto done;
	t = adcnn_tensor_new(4, (int64_t[]){1, c, h, w});
	if (t == NULL) {
		st = adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory");
		goto done;
	}
	for (int ch = 0; ch < c; ch++) {
		double mu = mean[nmean == 1 ? 0 : ch], s = sd[nstd == 1 ? 0 : ch];
		for (size_t i = 0; i < (size_t)w * h; i++) {
			double p;
			if (im.c == c)
				p = im.px[i * im.c + (size_t)ch];
			else if (im.c == 1)
				p = im.px[i];
			else /* ITU-R 601 luma, as PIL's convert('L') */
				p = floor((im.px[i * 3] * 299.0 + im.px[i * 3 + 1] * 587.0 + im.px[i * 3 + 2] * 114.0) / 1000.0 + 0.5);
			t->d.f[(size_t)ch * w * h + i] = (float)((p * scale - mu) / s);
		}
	}
	*out = t;
done:
	free(im.px);
	free(buf);
	return st;
}
