/* pool.c: the buffers of large tensors and of the threads' workspaces (conv.c), kept when
 * they are freed for the next one instead of going back to the system.
 *
 * A run frees each activation after its last use and the next layer allocates one of about
 * the same size: the same few buffers serve every layer, and every run after the first.
 * Left to malloc, that reuse depends on its heuristics: glibc gives a freed block above its
 * mmap threshold back to the kernel, and the next block of that size is faulted in again, a
 * page at a time. Where it did (MobileNetV2's prefix on two threads, as adcnn-run ran it from
 * the cache), 925 page faults a run made it 10.6 ms instead of 8.0.
 *
 * Every buffer is on a cache line; those of POOL_MIN bytes or more are kept. A request takes
 * the smallest kept buffer that holds it; where none does, the largest kept one is freed and
 * one of the size asked for made in its place, so that no more buffers exist than were ever
 * in use at once. At most POOL_KEEP buffers and POOL_BYTES bytes are kept (a model's weights,
 * freed with it, would otherwise stay). One lock: tensors are made and freed on any thread. */
#include "config.h"
#include "internal.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define POOL_MIN ((size_t)64 * 1024)
#define POOL_KEEP 32
#define POOL_BYTES ((size_t)256 * 1024 * 1024)

static struct {
	pthread_mutex_t lock;
	int n;
	size_t bytes;
	unsigned long made; /* buffers of POOL_MIN bytes or more allocated, ever */
	struct {
		void *p;
		size_t cap;
	} b[POOL_KEEP];
} pool = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 0, {{NULL, 0}}};

/* a new buffer, on a cache line (the kernels' vectors are) */
static void *fresh(size_t bytes, bool zero)
{
	void *p = NULL;

	if (posix_memalign(&p, 64, bytes ? bytes : 1) != 0)
		return NULL;
	if (zero)
		memset(p, 0, bytes);
	return p;
}

/* kept buffer i out of the pool, under the lock */
static void *take(int i, size_t *cap)
{
	void *p = pool.b[i].p;

	*cap = pool.b[i].cap;
	pool.bytes -= pool.b[i].cap;
	pool.b[i] = pool.b[--pool.n];
	return p;
}

void *adcnn_pool_get(size_t bytes, bool zero, size_t *cap)
{
	void *p = NULL, *old = NULL;
	size_t have = 0;
	int best = -1, largest = -1;

	*cap = 0;
	if (bytes < POOL_MIN)
		return fresh(bytes, zero);
	pthread_mutex_lock(&pool.lock);
	for (int i = 0; i < pool.n; i++) {
		if (pool.b[i].cap >= bytes && (best < 0 || pool.b[i].cap < pool.b[best].cap))
			best = i;
		if (largest < 0 || pool.b[i].cap > pool.b[largest].cap)
			largest = i;
	}
	if (best >= 0)
		p = take(best, &have);
	else if (largest >= 0)
		old = take(largest, &have);
	if (p == NULL)
		pool.made++;
	pthread_mutex_unlock(&pool.lock);
	if (p != NULL) {
		if (zero)
			memset(p, 0, bytes);
		*cap = have;
		return p;
	}
	free(old);
	p = fresh(bytes, zero);
	if (p != NULL)
		*cap = bytes;
	return p;
}

void adcnn_pool_put(void *p, size_t cap)
{
	void *drop = p;

	if (p == NULL || cap < POOL_MIN) {
		free(p);
		return;
	}
	pthread_mutex_lock(&pool.lock);
	if (cap <= POOL_BYTES) {
		/* room made by the smallest kept buffers, where they are smaller than this one */
		while (pool.n > 0 && (pool.n == POOL_KEEP || pool.bytes + cap > POOL_BYTES)) {
			int s = 0;
			size_t c;
			for (int i = 1; i < pool.n; i++)
				if (pool.b[i].cap < pool.b[s].cap)
					s = i;
			if (pool.b[s].cap >= cap)
				break;
			free(take(s, &c));
		}
		if (pool.n < POOL_KEEP && pool.bytes + cap <= POOL_BYTES) {
			pool.b[pool.n].p = p;
			pool.b[pool.n++].cap = cap;
			pool.bytes += cap;
			drop = NULL;
		}
	}
	pthread_mutex_unlock(&pool.lock);
	free(drop);
}

void adcnn_pool_trim(void)
{
	pthread_mutex_lock(&pool.lock);
	while (pool.n > 0) {
		size_t c;
		free(take(0, &c));
	}
	pthread_mutex_unlock(&pool.lock);
}

/* the buffers kept, their bytes, and how many were ever made (for the tests) */
int adcnn_pool_stats(size_t *bytes, unsigned long *made)
{
	int n;

	pthread_mutex_lock(&pool.lock);
	n = pool.n;
	if (bytes != NULL)
		*bytes = pool.bytes;
	if (made != NULL)
		*made = pool.made;
	pthread_mutex_unlock(&pool.lock);
	return n;
}
