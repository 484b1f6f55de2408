/* parallel.c: threads inside one operator, for a tile that has more cores than company.
 *
 * adcnn-run runs tiles in parallel; when it has more threads than tiles, each tile's
 * convolutions share out their independent pieces (GEMM chunks, Winograd's 36 products,
 * channels) among the extra threads. The threads are ours (POSIX, blocked on a condition
 * variable between jobs) and BLIS runs single-threaded in each: BLIS's OpenMP threads spin
 * while they wait, which made a machine whose other cores were busy 8x slower where it was
 * measured. A calling thread sets how many threads its operators may use
 * (adcnn_threads_set); the helpers are made on first use, shared by the process, and one job
 * runs at a time: a caller that finds them busy does its job alone. */
#include "config.h"
#include "internal.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#define MAX_HELPERS 63

static _Thread_local int op_threads = 1;

void adcnn_threads_set(int n)
{
	op_threads = n < 1 ? 1 : n > MAX_HELPERS + 1 ? MAX_HELPERS + 1 : n;
}

int adcnn_threads_get(void)
{
	return op_threads;
}

static _Thread_local int cache_sharers = 1;

void adcnn_cache_sharers_set(int n)
{
	cache_sharers = n < 1 ? 1 : n;
}

int adcnn_cache_sharers(void)
{
	return cache_sharers;
}

/* one for a small operator (under about 4 MFLOP, a few tens of microseconds, where waking
 * helpers costs more than it saves) */
static double min_flops = 4e6;

double adcnn_threads_min_set(double flops)
{
	double was = min_flops;

	min_flops = flops;
	return was;
}

int adcnn_threads_for(double flops)
{
	return flops < min_flops ? 1 : op_threads;
}

/* Planes of 56x56 and more are cut by rows, into a part a thread, the same way in every layer
 * that can (the GEMM path's chunks, the 3x3 depthwise layers, the pools; the fused
 * expanding and depthwise step, Winograd split by tile rows and the panel GEMM's rows path
 * cut by rows already): the calling thread takes the first part, so a thread mostly reads what it wrote
 * in the layer before, where layers cut by channels (or handed out piece by piece) read
 * half their input from the other core's cache, which on the machine this was measured on
 * costs several times a read of its own. MobileNetV2 on two threads, per node in whole
 * runs: its 112x112 and 56x56 layers 1.82 -> 1.19 ms in all (the 144 -> 24 projection at
 * 56x56 283 -> 97 us), the whole model 4.85-4.97 -> 4.30-4.39 ms (six interleaved
 * rounds); at 28x28 it was even, and smaller planes lost (a 14x14 1x1 layer cut into two
 * 98-column GEMMs, 87 -> 167 us), so they keep their cuts. ResNet-18's residual Adds at
 * 56x56 lost by rows (32 -> 50 us) and keep theirs; its whole time was the same. */
#define ROW_PLANE 3136

int adcnn_row_parts(int threads, int oh, int ow)
{
	return threads > 1 && oh >= threads && (size_t)oh * (size_t)ow >= ROW_PLANE ? threads : 1;
}

static struct {
	pthread_mutex_t lock;   /* guards everything below */
	pthread_cond_t wake, done;
	pthread_mutex_t busy;   /* held by the caller whose job the helpers run */
	int nhelpers;
	atomic_ulong gen;       /* job number: a helper runs each job once */
	void (*fn)(void *, int);
	void *arg;
	int n, want;
	atomic_int active;      /* helpers on the current job: written under the lock, read
	                         * without it by a caller waiting for them */
	atomic_int next;        /* the next index to take: read without the lock */
} pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER,
          PTHREAD_MUTEX_INITIALIZER, 0, 0, NULL, NULL, 0, 0, 0, 0};

/* A network's convolutions come one after the other, each a job of a few hundred
 * microseconds: a helper that has just finished one watches for the next for a while
 * (SPIN_NS) before it sleeps, saving the wake-up (tens of microseconds) on every layer;
 * it then sleeps, so a busy machine loses at most that much of a core per layer. */
#define SPIN_NS 100000L

/* a spin-wait's step: the core told that this is one (x86's pause, ARM's yield), which on
 * a core shared by two hardware threads leaves the other its resources */
static inline void spin_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
	__asm__ __volatile__("yield" ::: "memory");
#endif
}

static long elapsed_ns(const struct timespec *a)
{
	struct timespec b;

	clock_gettime(CLOCK_MONOTONIC, &b);
	return (b.tv_sec - a->tv_sec) * 1000000000L + (b.tv_nsec - a->tv_nsec);
}

/* take the next index of the current job; -1 when none is left (n is set, under the lock,
 * before a job is announced and stays until every thread on it is done) */
static int take(void)
{
	int i = atomic_fetch_add_explicit(&pool.next, 1, memory_order_relaxed);

	return i < pool.n ? i : -1;
}

static void *helper(void *arg)
{
	int id = (int)(intptr_t)arg;
	unsigned long seen = 0;

	pthread_mutex_lock(&pool.lock);
	for (;;) {
		if (pool.gen == seen) {
			struct timespec t0;
			pthread_mutex_unlock(&pool.lock);
			clock_gettime(CLOCK_MONOTONIC, &t0);
			for (int k = 0; atomic_load_explicit(&pool.gen, memory_order_relaxed) == seen; k++) {
				spin_relax();
				if ((k & 63) == 63 && elapsed_ns(&t0) > SPIN_NS)
					break;
			}
			pthread_mutex_lock(&pool.lock);
		}
		while (pool.gen == seen || id >= pool.want)
			pthread_cond_wait(&pool.wake, &pool.lock);
		seen = pool.gen;
		pool.active++;
		pthread_mutex_unlock(&pool.lock);
		for (int i; (i = take()) >= 0;)
			pool.fn(pool.arg, i);
		pthread_mutex_lock(&pool.lock);
		if (--pool.active == 0)
			pthread_cond_broadcast(&pool.done);
	}
	return NULL;
}

void adcnn_parallel(int n, void (*fn)(void *arg, int i), void *arg)
{
	adcnn_parallel_n(op_threads, n, fn, arg);
}

void adcnn_parallel_n(int threads, int n, void (*fn)(void *arg, int i), void *arg)
{
	int want = threads > op_threads ? op_threads - 1 : threads - 1;

	if (want > n - 1)
		want = n - 1;

	if (want <= 0 || pthread_mutex_trylock(&pool.busy) != 0) {
		for (int i = 0; i < n; i++)
			fn(arg, i);
		return;
	}
	pthread_mutex_lock(&pool.lock);
	while (pool.nhelpers < want) {
		pthread_t t;
		pthread_attr_t at;
		pthread_attr_init(&at);
		pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&t, &at, helper, (void *)(intptr_t)pool.nhelpers) != 0) {
			pthread_attr_destroy(&at);
			break;
		}
		pthread_attr_destroy(&at);
		pool.nhelpers++;
	}
	pool.fn = fn;
	pool.arg = arg;
	pool.n = n;
	atomic_store_explicit(&pool.next, 0, memory_order_relaxed);
	pool.want = want < pool.nhelpers ? want : pool.nhelpers;
	pool.gen++;
	pthread_cond_broadcast(&pool.wake);
	pthread_mutex_unlock(&pool.lock);
	for (int i; (i = take()) >= 0;)
		fn(arg, i);
	/* every index is taken; wait for the helpers still on theirs, and for any woken helper
	 * to have seen this job, so that the next job cannot be mistaken for this one. A helper
	 * is usually a piece away from done: watch for it a while before sleeping, as the
	 * helpers do between jobs, since being woken costs tens of microseconds a job */
	{
		struct timespec t0;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (int k = 0; atomic_load_explicit(&pool.active, memory_order_acquire) > 0; k++) {
			spin_relax();
			if ((k & 63) == 63 && elapsed_ns(&t0) > SPIN_NS)
				break;
		}
	}
	pthread_mutex_lock(&pool.lock);
	while (pool.active > 0)
		pthread_cond_wait(&pool.done, &pool.lock);
	pool.n = 0;
	pool.want = 0;
	pthread_mutex_unlock(&pool.lock);
	pthread_mutex_unlock(&pool.busy);
}
