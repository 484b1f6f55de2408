/* fuse.c: an expanding 1x1 convolution and the 3x3 depthwise one that reads it (MobileNet's
 * inverted residual), computed a band of rows at a time, so that the expanded tensor, the
 * largest of the block (96 x 112 x 112: 4.8 MB), is never written whole: each band of it
 * is made (rowgemm.c) and read (dwblock.c) while it is in the cache. The band rolls: the
 * rows the next band's outputs share with this one's (two at stride 1, one at stride 2) move
 * to its front rather than being computed again. Both kernels sum every output in the order
 * they do on whole tensors, so the result is the same to the bit as the two layers run one
 * after the other. */
#include "config.h"
#include "internal.h"
#include <stdatomic.h>
#include <string.h>

/* the band's bytes at most (a core's L2 cache here), and the expanded tensor's at least for
 * the fused step to be worth its bands */
#define BAND_BYTES ((size_t)512 << 10)
#define FUSE_MIN_BYTES ((size_t)1 << 20)

struct fuse_job {
	const float *x, *we, *be, *wd, *bd;
	float *y;
	const struct adcnn_act *ae, *ad;
	int C, H, W, M, s, pt, pl, oh, ow;
	int R;     /* output rows a band */
	int parts; /* each image's output rows in this many parts, one a piece */
	atomic_int nomem;
};

/* the padded input rows of nr output rows */
static int band_rows(int nr, int s)
{
	return (nr - 1) * s + 3;
}

/* output rows p0..p1 of image bn: band by band, each band's new rows expanded after the rows
 * it keeps from the last, then its eight-channel blocks through the depthwise kernel */
static void fuse_piece(void *arg, int i)
{
	struct fuse_job *j = arg;
	int bn = i / j->parts, part = i % j->parts;
	int p0 = (int)((long)j->oh * part / j->parts), p1 = (int)((long)j->oh * (part + 1) / j->parts);
	size_t plane = (size_t)j->H * j->W, oplane = (size_t)j->oh * j->ow;
	size_t cap = (size_t)band_rows(j->R, j->s) * j->W; /* a channel's floats in the band */
	float *band = adcnn_workspace((size_t)j->M * cap + adcnn_dw3_block_work(j->s, j->ow));
	const float *x = j->x + (size_t)bn * j->C * plane;
	float *y = j->y + (size_t)bn * j->M * oplane;
	int have = 0, next = 0; /* the band holds input rows next - have .. next - 1 */

	if (band == NULL) {
		atomic_store(&j->nomem, 1);
		return;
	}
	for (int oy0 = p0; oy0 < p1; oy0 += j->R) {
		int nr = p1 - oy0 < j->R ? p1 - oy0 : j->R;
		int ra = oy0 * j->s - j->pt, rb = ra + band_rows(nr, j->s) - 1;
		int a0 = ra < 0 ? 0 : ra, b0 = rb > j->H - 1 ? j->H - 1 : rb;
		int drop = a0 - (next - have), from, n;

		if (drop < 0)
			drop = 0;
		if (drop >= have) {
			drop = have;
			next = a0;
		}
		if (drop > 0 && drop < have)
			for (int m = 0; m < j->M; m++)
				memmove(band + (size_t)m * cap, band + (size_t)m * cap + (size_t)drop * j->W,
				        sizeof(float) * (size_t)(have - drop) * j->W);
		have -= drop;
		from = next > a0 ? next : a0;
		n = b0 + 1 - from;
		if (n > 0) {
			if (!adcnn_rowgemm(j->we, j->M, (size_t)j->C, x + (size_t)from * j->W, plane, (size_t)n * j->W,
			                   band + (size_t)have * j->W, cap, j->be, j->ae)) {
				atomic_store(&j->nomem, 1);
				return;
			}
			have += n;
			next = b0 + 1;
		}
		for (int c0 = 0; c0 < j->M; c0 += ADCNN_DW_LANES) {
			int nl = j->M - c0 < ADCNN_DW_LANES ? j->M - c0 : ADCNN_DW_LANES;
			adcnn_dw3_block(band + (size_t)c0 * cap, cap, nl, have, j->W, j->wd + (size_t)c0 * 9,
			                j->bd ? j->bd + c0 : NULL, j->s, ra - (next - have), -j->pl, nr, j->ow,
			                y + (size_t)c0 * oplane + (size_t)oy0 * j->ow, oplane, j->ad,
			                band + (size_t)j->M * cap);
		}
	}
}

/* the output rows a band: as many as BAND_BYTES of expanded rows feed. In whole runs of
 * MobileNetV2 on one core (Zen 3), the fastest of 20 per node, three rounds, bands of 256,
 * 512, 768 and 1024 KB came within 5% of each other: 16 -> 96 then stride 2 at 112x112
 * 913-984 us (the two layers one after the other: 1311), 24 -> 144 then stride 1 at 56x56
 * 566-589 (672), 24 -> 144 then stride 2 411-429 (463) */
static int fuse_band(int M, int W, int s, int oh)
{
	size_t rows = BAND_BYTES / (sizeof(float) * (size_t)M * W);
	int R = rows < 3 ? 1 : (int)((rows - 3) / (size_t)s + 1);

	return R < oh ? R : oh;
}

bool adcnn_fuse_fits(const struct adcnn_node *e, const struct adcnn_tensor *x,
                     const struct adcnn_tensor *we, const struct adcnn_node *d,
                     const struct adcnn_tensor *wd)
{
	int pt, pb, pl, pr;

	if (x->rank != 4 || x->dtype != ADCNN_F32 || we->rank != 4 || wd->rank != 4 ||
	    we->dtype != ADCNN_F32 || wd->dtype != ADCNN_F32)
		return false;
	int64_t C = x->dims[1], H = x->dims[2], W = x->dims[3], M = we->dims[0];
	/* the expanding layer: 1x1, stride 1, unpadded, on rowgemm.c's path */
	if (e->op != OP_CONV || e->group != 1 || e->kernel[0] != 1 || e->kernel[1] != 1 || e->stride[0] != 1 ||
	    e->stride[1] != 1 || we->dims[1] != C || we->dims[2] != 1 || we->dims[3] != 1 ||
	    adcnn_window_out(e, 0, (int)H, &pt, &pb) != H || pt != 0 || pb != 0 ||
	    adcnn_window_out(e, 1, (int)W, &pl, &pr) != W || pl != 0 || pr != 0 || !adcnn_conv_rowgemm((size_t)C, (int)M))
		return false;
	/* the depthwise layer: 3x3, stride 1 or 2 both ways, on dwblock.c's path */
	if (d->op != OP_CONV || d->group != M || wd->dims[0] != M || wd->dims[1] != 1 || wd->dims[2] != 3 ||
	    wd->dims[3] != 3 || !adcnn_conv_depthwise3(d) ||
	    adcnn_window_out(d, 0, (int)H, NULL, NULL) <= 0 || adcnn_window_out(d, 1, (int)W, NULL, NULL) <= 0)
		return false;
	/* where the expanded tensor would have left the cache */
	return (size_t)M * H * W * sizeof(float) >= FUSE_MIN_BYTES;
}

enum adcnn_status adcnn_fuse_run(struct adcnn_ctx *ctx, const struct adcnn_node *e,
                                 const struct adcnn_tensor *x, const struct adcnn_tensor *we,
                                 const struct adcnn_tensor *be, const struct adcnn_act *ae,
                                 const struct adcnn_node *d, const struct adcnn_tensor *wd,
                                 const struct adcnn_tensor *bd, const struct adcnn_act *ad,
                                 int rows, struct adcnn_tensor **out)
{
	int N = (int)x->dims[0], C = (int)x->dims[1], H = (int)x->dims[2], W = (int)x->dims[3];
	int M = (int)we->dims[0], s = d->stride[0], pt, pl;
	int oh = adcnn_window_out(d, 0, H, &pt, NULL), ow = adcnn_window_out(d, 1, W, &pl, NULL);
	struct adcnn_tensor *y;

	if ((be != NULL && be->n != (size_t)M) || (bd != NULL && bd->n != (size_t)M))
		return adcnn_set_error(ctx, ADCNN_ERR_FORMAT, "node '%s' (Conv): bias has %zu values, expected %d",
		                       be != NULL && be->n != (size_t)M ? e->name : d->name,
		                       be != NULL && be->n != (size_t)M ? be->n : bd->n, M);
	y = adcnn_tensor_new_uninit(4, (int64_t[]){N, M, oh, ow});
	if (y == NULL)
		return adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory in node '%s'", d->name);
	struct fuse_job j = {x->d.f, we->d.f, be ? be->d.f : NULL, wd->d.f, bd ? bd->d.f : NULL, y->d.f, ae, ad,
	                     C, H, W, M, s, pt, pl, oh, ow, rows > 0 ? (rows < oh ? rows : oh) : fuse_band(M, W, s, oh), 1, 0};
	/* with threads, each image's rows in a part a thread: a part's first band computes the
	 * rows it shares with the part before again */
	int threads = adcnn_threads_for(2.0 * N * M * (double)C * H * W);
	if (threads > 1 && N < threads)
		j.parts = threads < oh ? threads : oh;
	adcnn_parallel_n(threads, N * j.parts, fuse_piece, &j);
	if (j.nomem) {
		adcnn_tensor_free(y);
		return adcnn_set_error(ctx, ADCNN_ERR_NOMEM, "out of memory in node '%s'", d->name);
	}
	*out = y;
	return ADCNN_OK;
}
