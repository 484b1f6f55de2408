/* winograd.c: 3x3 stride-1 convolution by Winograd's minimal filtering F(4x4, 3x3) (Lavin and
 * Gray's transforms): each 4x4 block of outputs costs 36 multiplications per input channel
 * instead of 144, the multiplications done as 36 BLIS GEMMs over all channels and tiles.
 *
 * For a chunk of tile rows: V = B^T d B for every 6x6 input patch (channels x tiles per
 * transform point), M = U V (one GEMM per point, U = G g G^T the transformed weights),
 * y = A^T M A. The weights are transformed at every call, a block of output channels at a
 * time, into the same per-thread workspace im2col uses (at most about 16 MiB): nothing is
 * kept with the model, so memory stays what the model needs; the cost (about 160 flops per
 * 3x3 kernel, and 36 weight matrices for BLIS to pack) is why small outputs stay with im2col
 * (see adcnn_winograd_fits). Inputs outside the tile are zero, exactly as for im2col. */
#include "config.h"
#include "internal.h"
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

ADCNN_FMA_ON /* twice the arithmetic per instruction in the kernels below */

#define A 6  /* transform size: 4 outputs + 3 taps - 1 */
#define VL 16 /* input channels per weight-transform step */

/* the tiles input_piece transforms at once, which bounds its scratch (72 floats a tile): on
 * VGG-16's 224x224 layer, where a chunk is 448 tiles, no faster or slower than all at once */
#define IN_TILES 256

/* the budget for the transformed weights of a block of output channels, in floats (8 MiB),
 * and the same for V and M of one chunk of tile rows: 16 MiB in all, half the L3 cache of
 * the machine it was measured on. Tiles run at once share the cache, so each takes its
 * share, down to an eighth (adcnn-run -j 2 on VGG-16's 2x2 tiles: 111-117 -> 103-109 ms);
 * a tile on its own does better with it all (VGG-16 at 224x224 on one thread: 156-164 ms,
 * 163-172 with half). */
#define WINO_BUDGET ((size_t)1 << 21)

/* Where Winograd beats im2col + GEMM and the panel GEMM. Measured on one core (AVX-512,
 * BLIS; engine-bench --conv, ADCNN_CONV=winograd against the default): at 16 tiles (14x14)
 * it wins, ResNet-18's 256 x 14 x 14 layers 2.26 -> 1.85 ms and VGG-16's 512 x 14 x 14
 * 9.3 -> 7.1 ms; at 4 tiles (7x7) it loses by 2.3x, the weight transform and BLIS's
 * packing of the 36 weight matrices unamortized. Few channels make GEMMs too thin to gain.
 * Below 25 tiles it takes only layers whose transformed weights (36 C M floats, made at
 * every call and packed again by BLIS) fit in 4 MiB: on a Zen 3 core whose L3 cache the
 * machine's other tenants share, ResNet-18's three 256 x 14 x 14 layers took 12-21 ms in
 * whole runs by Winograd against 10-12 by im2col (as fast as it, 3% either way, only
 * while the cache was its own), and VGG-16's 512 x 14 x 14 layer 30.7 ms against 14.1; a
 * small node's cache holds far less. */
bool adcnn_winograd_fits(int C, int M, int oh, int ow)
{
	long tiles = (long)((oh + 3) / 4) * ((ow + 3) / 4);

	return C >= 16 && M >= 16 && tiles >= 16 && (tiles >= 25 || (long)A * A * C * M * 4 <= (4L << 20));
}

/* U[m][(a*6+b)][c] = (G g G^T)[a][b] for the kernels g = w[m][c] of output channel m of a
 * block, VL input channels at a time: for each output channel of the block, 36 rows of C,
 * so that point p's matrix is row p of every channel's, rows 36 C apart. A channel's rows lie
 * together: written as 36 planes of the block, a vector to each in turn, U (2.4 MB for 128 x
 * 128 kernels) kept the transform waiting on its stores (on 128 x 128 kernels at 56 x 56,
 * a tenth of the layer's time against three fortieths) */
ADCNN_VECTORIZE ADCNN_PLAIN_LOOPS
static void weights_transform(const float *restrict w, int C, int m, float *restrict u)
{
	size_t row = (size_t)C; /* floats a row of U */

	for (int c0 = 0; c0 < C; c0 += VL) {
		int nv = C - c0 < VL ? C - c0 : VL;
		float g[9][VL], t[A][3][VL];

		for (int v = 0; v < nv; v++)
			for (int k = 0; k < 9; k++)
				g[k][v] = w[((size_t)m * C + c0 + v) * 9 + k];
		for (int v = nv; v < VL; v++)
			for (int k = 0; k < 9; k++)
				g[k][v] = 0.0f;
		/* t = G g: rows of the kernel combined */
		for (int j = 0; j < 3; j++)
			for (int v = 0; v < VL; v++) {
				float g0 = g[j][v], g1 = g[3 + j][v], g2 = g[6 + j][v];
				t[0][j][v] = g0 * 0.25f;
				t[1][j][v] = -(g0 + g1 + g2) * (1.0f / 6);
				t[2][j][v] = -(g0 - g1 + g2) * (1.0f / 6);
				t[3][j][v] = g0 * (1.0f / 24) + g1 * (1.0f / 12) + g2 * (1.0f / 6);
				t[4][j][v] = g0 * (1.0f / 24) - g1 * (1.0f / 12) + g2 * (1.0f / 6);
				t[5][j][v] = g2;
			}
		/* U = t G^T */
		for (int a = 0; a < A; a++) {
			float *d = u + ((size_t)m * A + (size_t)a) * A * row + c0;
			float r[A][VL];
			for (int v = 0; v < VL; v++) {
				float g0 = t[a][0][v], g1 = t[a][1][v], g2 = t[a][2][v];
				r[0][v] = g0 * 0.25f;
				r[1][v] = -(g0 + g1 + g2) * (1.0f / 6);
				r[2][v] = -(g0 - g1 + g2) * (1.0f / 6);
				r[3][v] = g0 * (1.0f / 24) + g1 * (1.0f / 12) + g2 * (1.0f / 6);
				r[4][v] = g0 * (1.0f / 24) - g1 * (1.0f / 12) + g2 * (1.0f / 6);
				r[5][v] = g2;
			}
			/* stores of a whole vector where the block is full (a memcpy of 64 bytes became a
			 * rep movs, slow to start, 36 times per block of kernels; the attribute above
			 * keeps the loops from being turned back into one) */
			if (nv == VL)
				for (int b = 0; b < A; b++)
					for (int v = 0; v < VL; v++)
						d[(size_t)b * row + v] = r[b][v];
			else
				for (int b = 0; b < A; b++)
					for (int v = 0; v < nv; v++)
						d[(size_t)b * row + v] = r[b][v];
		}
	}
}

/* B^T on six vectors of n values (one per row of the 6x6 block, or per column), into six;
 * every pointer its own restrict one, or GCC gives up on the loop (its alias checks) */
ADCNN_VECTORIZE
static void bt6(const float *restrict s0, const float *restrict s1, const float *restrict s2,
                const float *restrict s3, const float *restrict s4, const float *restrict s5,
                float *restrict d0, float *restrict d1, float *restrict d2, float *restrict d3,
                float *restrict d4, float *restrict d5, int n)
{
	for (int j = 0; j < n; j++) {
		float a = s1[j] + s2[j], b = s1[j] - s2[j], c = s4[j] - s2[j], e = s3[j] - s1[j];
		d0[j] = 4.0f * s0[j] - 5.0f * s2[j] + s4[j];
		d1[j] = (s3[j] + s4[j]) - 4.0f * a;
		d2[j] = (s4[j] - s3[j]) + 4.0f * b;
		d3[j] = c + 2.0f * e;
		d4[j] = c - 2.0f * e;
		d5[j] = 4.0f * s1[j] - 5.0f * s3[j] + s5[j];
	}
}

/* A^T on six vectors of n values spaced ld apart, into four spaced od apart */
ADCNN_VECTORIZE
static void at_apply(const float *restrict s, size_t ld, int n, float *restrict d, size_t od)
{
	for (int x = 0; x < n; x++) {
		float m0 = s[x], m1 = s[ld + x], m2 = s[2 * ld + x];
		float m3 = s[3 * ld + x], m4 = s[4 * ld + x], m5 = s[5 * ld + x];
		float a = m1 + m2, b = m1 - m2, c = m3 + m4, e = m3 - m4;
		d[x] = m0 + a + c;
		d[od + x] = b + 2.0f * e;
		d[2 * od + x] = a + 4.0f * c;
		d[3 * od + x] = b + 8.0f * e + m5;
	}
}

/* the six columns of n tiles' blocks from a row: d_j[x] = s[4x + j] */
ADCNN_VECTORIZE
static void cols6(const float *restrict s, float *restrict d0, float *restrict d1, float *restrict d2,
                  float *restrict d3, float *restrict d4, float *restrict d5, int n)
{
	for (int x = 0; x < n; x++) {
		d0[x] = s[4 * x];
		d1[x] = s[4 * x + 1];
		d2[x] = s[4 * x + 2];
		d3[x] = s[4 * x + 3];
		d4[x] = s[4 * x + 4];
		d5[x] = s[4 * x + 5];
	}
}

/* input row r (zero outside [0, h) x [0, w)) as the six columns of a row of tw tiles'
 * blocks: d[j*ld + x] = x[r][4x + j + col0] */
static void row_cols6(const float *x, int h, int w, int r, int col0, int tw, float *d, size_t ld)
{
	int x0, x1;

	if (r < 0 || r >= h) {
		for (int j = 0; j < A; j++)
			memset(d + (size_t)j * ld, 0, sizeof(float) * (size_t)tw);
		return;
	}
	const float *s = x + (size_t)r * w;
	/* the tiles [x0, x1) whose columns are all inside the row: 4x + col0 >= 0 and
	 * 4x + 5 + col0 < w */
	x0 = col0 >= 0 ? 0 : (-col0 + 3) / 4;
	x1 = w - 6 - col0 < 0 ? 0 : (w - 6 - col0) / 4 + 1;
	if (x1 > tw)
		x1 = tw;
	if (x0 > x1)
		x0 = x1;
	for (int t = 0; t < tw; t++) {
		if (t == x0)
			t = x1;
		if (t >= tw)
			break;
		for (int j = 0; j < A; j++) {
			int c = 4 * t + j + col0;
			d[(size_t)j * ld + (size_t)t] = c >= 0 && c < w ? s[c] : 0.0f;
		}
	}
	if (x0 < x1)
		cols6(s + 4 * x0 + col0, d + x0, d + ld + x0, d + 2 * ld + x0, d + 3 * ld + x0,
		      d + 4 * ld + x0, d + 5 * ld + x0, x1 - x0);
}

/* how a layer is cut: output channels in blocks of mb (their transformed weights within the
 * budget), tile rows in chunks of rows (V and M within it); the workspace's layout */
struct plan {
	int th, tw, mb, rows;
	size_t u, v, mo, total; /* offsets in floats in the caller's workspace */
	size_t scratch;         /* floats of each thread's scratch: the blocks and transforms */
};

static struct plan plan_for(int C, int M, int oh, int ow)
{
	struct plan p;
	int sharers = adcnn_cache_sharers();
	size_t budget = WINO_BUDGET / (size_t)(sharers < 8 ? sharers : 8);
	size_t mb = budget / ((size_t)A * A * C), per_row, rows, in;

	p.th = (oh + 3) / 4;
	p.tw = (ow + 3) / 4;
	mb = mb < 1 ? 1 : mb > (size_t)M ? (size_t)M : mb;
	per_row = (size_t)A * A * ((size_t)C + mb) * p.tw;
	rows = budget / per_row;
	rows = rows < 1 ? 1 : rows > (size_t)p.th ? (size_t)p.th : rows;
	p.mb = (int)mb;
	p.rows = (int)rows;
	p.u = 0;
	p.v = p.u + (size_t)A * A * mb * C;
	p.mo = p.v + (size_t)A * A * C * rows * p.tw;
	p.total = p.mo + (size_t)A * A * mb * rows * p.tw;
	/* per tile of the chunk: 6 x 4 after A^T along the rows and 4 x 4 of output; per tile of
	 * input_piece's run (at least a tile row): its 6x6 block and that after B^T down the rows */
	in = (size_t)2 * A * A * (IN_TILES > p.tw ? IN_TILES : p.tw);
	p.scratch = (size_t)(A + 4) * 4 * rows * p.tw;
	p.scratch = p.scratch > in ? p.scratch : in;
	return p;
}

size_t adcnn_winograd_workspace(int C, int M, int oh, int ow)
{
	return plan_for(C, M, oh, ow).total;
}

/* each thread its tile rows through every step (rows_part): where the cores do not share
 * a last-level cache, one block of output channels takes them all and there are as many
 * tile rows as threads (see struct split) */
static bool plan_splits(const struct plan *pl, int M)
{
	int threads = adcnn_threads_get();

	return threads > 1 && pl->mb >= M && pl->th >= threads && !adcnn_cpus_share_cache();
}

bool adcnn_winograd_splits(int C, int M, int oh, int ow)
{
	struct plan pl = plan_for(C, M, oh, ow);

	return plan_splits(&pl, M);
}

/* the pieces of one chunk of tile rows, for adcnn_parallel */
struct job {
	const struct plan *pl;
	const float *x, *wt, *bias;
	float *y, *u, *v, *mo;
	int C, h, w, M, row0, col0, oh, ow;
	int ty0, nty, m0, nb;
	size_t tc;
	const struct adcnn_act *act;
	atomic_int *nomem; /* the layer's: a copy of the job (rows_part) shares it */
	int parts;         /* input_run's */
};

/* the running thread's scratch for a piece; NULL (and the job marked) when out of memory */
static float *piece_scratch(struct job *j)
{
	float *s = adcnn_scratch(j->pl->scratch);

	if (s == NULL)
		atomic_store(j->nomem, 1);
	return s;
}

/* V[(k*6+l)][c][t] for input channel c: the blocks of a run of tile rows cut out (p[k][j][t]:
 * row k, column j of tile t's block), then B^T down the rows and along the columns, each over
 * all those tiles at once (a tile row's 7 or 14 tiles made loops too short to vectorize) */
static void input_piece(void *arg, int c)
{
	struct job *j = arg;
	int tw = j->pl->tw, g = IN_TILES / tw < 1 ? 1 : IN_TILES / tw;
	const float *xc = j->x + (size_t)c * j->h * j->w;
	float *p = piece_scratch(j), *t;
	size_t vs = (size_t)j->C * j->tc; /* floats per transform point in v */

	if (p == NULL)
		return;
	for (int ty0 = 0; ty0 < j->nty; ty0 += g) {
		int nr = j->nty - ty0 < g ? j->nty - ty0 : g;
		size_t n = (size_t)nr * tw, r = (size_t)A * n;
		float *v = j->v + (size_t)c * j->tc + (size_t)ty0 * tw;
		t = p + (size_t)A * A * n;
		for (int ty = 0; ty < nr; ty++) {
			int row = (j->ty0 + ty0 + ty) * 4 + j->row0;
			for (int k = 0; k < A; k++)
				row_cols6(xc, j->h, j->w, row + k, j->col0, tw, p + (size_t)k * r + (size_t)ty * tw, n);
		}
		/* down the rows: t[a][j][t] */
		for (int jj = 0; jj < A; jj++) {
			const float *q = p + (size_t)jj * n;
			float *d = t + (size_t)jj * n;
			bt6(q, q + r, q + 2 * r, q + 3 * r, q + 4 * r, q + 5 * r, d, d + r, d + 2 * r, d + 3 * r,
			    d + 4 * r, d + 5 * r, (int)n);
		}
		/* along the columns: V[a*6 + b] */
		for (int a = 0; a < A; a++) {
			const float *q = t + (size_t)a * r;
			float *d = v + (size_t)a * A * vs;
			bt6(q, q + n, q + 2 * n, q + 3 * n, q + 4 * n, q + 5 * n, d, d + vs, d + 2 * vs,
			    d + 3 * vs, d + 4 * vs, d + 5 * vs, (int)n);
		}
	}
}

/* a run of neighbouring input channels: pieces a channel at a time, handed to the threads in
 * turn, made the input transform no faster on two threads than on one (64 x 56 x 56: 206
 * against 200 us; in runs, 153). Neighbouring channels' rows of V meet inside cache lines,
 * the likely cause. */
static void input_run(void *arg, int part)
{
	struct job *j = arg;
	int c0 = (int)((long)j->C * part / j->parts), c1 = (int)((long)j->C * (part + 1) / j->parts);

	for (int c = c0; c < c1; c++)
		input_piece(arg, c);
}

static void weights_piece(void *arg, int m)
{
	struct job *j = arg;

	weights_transform(j->wt + (size_t)j->m0 * j->C * 9, j->C, m, j->u);
}

/* M[p] = U[p] V[p] for one of the 36 points */
static void gemm_piece(void *arg, int p)
{
	struct job *j = arg;

	adcnn_sgemm(false, false, j->nb, (int64_t)j->tc, j->C, 1.0f, j->u + (size_t)p * j->C,
	            (int64_t)A * A * j->C, j->v + (size_t)p * j->C * j->tc, (int64_t)j->tc, 0.0f,
	            j->mo + (size_t)p * j->nb * j->tc, (int64_t)j->tc);
}

/* y[4x + q] = o_q[x] + bias: four column phases into an output row */
ADCNN_VECTORIZE
static void interleave4(const float *restrict o0, const float *restrict o1, const float *restrict o2,
                        const float *restrict o3, float bias, float *restrict y, int n)
{
	for (int x = 0; x < n; x++) {
		y[4 * x] = o0[x] + bias;
		y[4 * x + 1] = o1[x] + bias;
		y[4 * x + 2] = o2[x] + bias;
		y[4 * x + 3] = o3[x] + bias;
	}
}

/* y = A^T M A plus the bias, for output channel m0 + i: both passes over every tile of the
 * chunk at once (a tile row's 7 or 14 tiles made loops too short to vectorize), then each
 * output row put together from its four column phases */
static void output_piece(void *arg, int i)
{
	struct job *j = arg;
	int tw = j->pl->tw, m = j->m0 + i, ow = j->ow, full = ow / 4;
	size_t tc = j->tc, pm = (size_t)j->nb * tc; /* floats per transform point in mo */
	float bv = j->bias ? j->bias[m] : 0.0f, *ym = j->y + (size_t)m * j->oh * ow;
	float *hz = piece_scratch(j), *out;
	const float *s = j->mo + (size_t)i * tc;

	if (hz == NULL)
		return;
	out = hz + (size_t)A * 4 * tc;
	/* along the rows of each 6x6 block: hz[k][jj][t] */
	for (int k = 0; k < A; k++)
		at_apply(s + (size_t)k * A * pm, pm, (int)tc, hz + (size_t)k * 4 * tc, tc);
	/* down the columns: out[ii][jj][t] */
	for (int jj = 0; jj < 4; jj++)
		at_apply(hz + (size_t)jj * tc, 4 * tc, (int)tc, out + (size_t)jj * tc, 4 * tc);
	for (int ty = 0; ty < j->nty; ty++) {
		int oy0 = (j->ty0 + ty) * 4;
		for (int ii = 0; ii < 4 && oy0 + ii < j->oh; ii++) {
			float *yr = ym + (size_t)(oy0 + ii) * ow;
			const float *o = out + (size_t)ii * 4 * tc + (size_t)ty * tw;
			interleave4(o, o + tc, o + 2 * tc, o + 3 * tc, bv, yr, full);
			for (int ox = full * 4; ox < ow; ox++)
				yr[ox] = o[(size_t)(ox & 3) * tc + full] + bv;
			adcnn_act_apply(j->act, yr, (size_t)ow);
		}
	}
}

/* On two threads or more, where the cores do not share a last-level cache, the tile rows cut in
 * one part a thread, each taken by a thread through every step (its input transform, the 36
 * products, the output transform), where the steps one after the other, each shared out, handed
 * every tile's data from one core's cache to the other's between steps: on a Zen 5 (AVX-512) a
 * tensor of 2 MB another core wrote was read in 70 us against 20-27, and ResNet-18's 56x56 and
 * 28x28 layers took as long or longer on two threads as on one (0.86 -> 0.77 ms, 1.0 -> 1.2). Only
 * where one block of output channels takes them all and there are as many tile rows as threads.
 * Where the cores share that cache (a Zen 3 whose two cores share 32 MiB of L3, sysfs says so),
 * the steps shared out win: each layer alone on two threads, the median of 20 turns of each way
 * (engine_pair.py), 128 x 128 at 28x28 1.48 times faster, 64 x 64 at 56x56 1.31, 128 x 128 at
 * 112x112 1.07, 64 x 64 at 224x224 1.22; whole, ResNet-18 0.97-1.10 (six sets, median 1.07),
 * VGG-16 0.97-1.06 (five, 1.02). Cut by rows, each thread made all the transformed weights (a
 * fifth of a 28x28 layer on one thread) and kept its own products, twice the cache the plan's
 * budget allows; the 28x28 layers' 7 tile rows split 4 and 3. The Zen 5's sharing was not
 * recorded: that it had none is the likely reading of its cross-core reads, not a measured one.
 * Each thread makes the transformed weights itself, into its own workspace: made once and
 * shared (each thread a share of the output channels), they were written where the other
 * core had read the last layer's, and read half from the other core. On that Zen 5, 128 x
 * 128 kernels took 350-450 us so on two threads (750-790 by one thread alone while the other
 * waited), against 137-151 us on one thread: a core's store to a line the other holds costs
 * several times a store to its own. */
struct split {
	const struct job *j; /* the layer's: u, v and mo in the calling thread's workspace */
	pthread_t caller;
	int parts;
};

static void rows_part(void *arg, int part)
{
	const struct split *s = arg;
	const struct plan *pl = s->j->pl;
	struct job j = *s->j;
	int r0 = (int)((long)pl->th * part / s->parts), r1 = (int)((long)pl->th * (part + 1) / s->parts);

	/* U, V and M: the caller's workspace holds them for the calling thread; another
	 * thread's own workspace, otherwise (a piece holds none across pieces) */
	if (!pthread_equal(pthread_self(), s->caller)) {
		float *w = adcnn_workspace(pl->total);
		if (w == NULL) {
			atomic_store(j.nomem, 1);
			return;
		}
		j.u = w + pl->u;
		j.v = w + pl->v;
		j.mo = w + pl->mo;
	}
	for (int m = 0; m < j.nb; m++)
		weights_piece(&j, m);
	j.parts = 1;
	for (j.ty0 = r0; j.ty0 < r1; j.ty0 += pl->rows) {
		j.nty = r1 - j.ty0 < pl->rows ? r1 - j.ty0 : pl->rows;
		j.tc = (size_t)j.nty * pl->tw;
		input_run(&j, 0);
		for (int p = 0; p < A * A; p++)
			gemm_piece(&j, p);
		for (int i = 0; i < j.nb; i++)
			output_piece(&j, i);
	}
}

/* y[m][oy][ox] = bias[m] + sum over c, i, j of w[m][c][i][j] * x[c][oy + i + row0][ox + j + col0],
 * x being zero outside its h x w; work: adcnn_winograd_workspace floats. The pieces of each
 * step run on adcnn_threads_get() threads. */
bool adcnn_winograd_conv(const float *x, int C, int h, int w, const float *wt, const float *bias,
                         int M, int row0, int col0, int oh, int ow, float *y, float *work,
                         const struct adcnn_act *act)
{
	struct plan pl = plan_for(C, M, oh, ow);
	int done = -1, threads = adcnn_threads_get(); /* done: the block whose weights u holds */
	atomic_int nomem = 0;
	struct job j = {&pl, x, wt, bias, y, work + pl.u, work + pl.v, work + pl.mo,
	                C, h, w, M, row0, col0, oh, ow, 0, 0, 0, 0, 0, act, &nomem, 0};

	if (plan_splits(&pl, M)) {
		struct split s = {&j, pthread_self(), threads};
		j.nb = M;
		adcnn_parallel(threads, rows_part, &s);
		return atomic_load(&nomem) == 0;
	}
	/* four runs of channels a thread */
	j.parts = 4 * threads < C ? 4 * threads : C;

	for (j.ty0 = 0; j.ty0 < pl.th; j.ty0 += pl.rows) {
		j.nty = pl.th - j.ty0 < pl.rows ? pl.th - j.ty0 : pl.rows;
		j.tc = (size_t)j.nty * pl.tw;
		adcnn_parallel(j.parts, input_run, &j);
		for (j.m0 = 0; j.m0 < M; j.m0 += pl.mb) {
			j.nb = M - j.m0 < pl.mb ? M - j.m0 : pl.mb;
			if (done != j.m0) {
				adcnn_parallel(j.nb, weights_piece, &j);
				done = j.m0;
			}
			adcnn_parallel(A * A, gemm_piece, &j);
			adcnn_parallel(j.nb, output_piece, &j);
		}
	}
	return atomic_load(&nomem) == 0;
}
