/* topology.c: what the machine's cores share, read from Linux's sysfs once a process.
 *
 * Whether all online CPUs share one last-level cache decides how Winograd's layers share
 * out their steps among threads (winograd.c): where they do, a step's results written by
 * one core are read by the other from that cache; where they do not, from the other
 * core's own caches or memory. Anything that cannot be read (another system, a sysfs
 * without caches) counts as not shared, the choice that hands no data between cores. */
#include "config.h"
#include "internal.h"
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* the probe's answer, and the tests' (-1: none) */
static bool shared;
static int forced = -1;

/* the first line of a small file; false if it cannot be read */
static bool read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	bool ok;

	if (f == NULL)
		return false;
	ok = fgets(buf, (int)len, f) != NULL;
	fclose(f);
	return ok;
}

bool adcnn_cpu_list_parse(const char *text, struct adcnn_cpuset *s)
{
	const char *p = text;

	memset(s, 0, sizeof(*s));
	for (;;) {
		char *e;
		long a = strtol(p, &e, 10), b;
		if (e == p || a < 0 || a >= ADCNN_MAX_CPUS)
			return false;
		b = a;
		if (*e == '-') {
			p = e + 1;
			b = strtol(p, &e, 10);
			if (e == p || b < a || b >= ADCNN_MAX_CPUS)
				return false;
		}
		for (long c = a; c <= b; c++)
			s->w[c / 64] |= (uint64_t)1 << (c % 64);
		if (*e == ',') {
			p = e + 1;
			continue;
		}
		return *e == '\0' || *e == '\n';
	}
}

bool adcnn_cpus_share_cache_at(const char *root)
{
	char buf[4096], path[512];
	struct adcnn_cpuset online, llc;
	int best = -1, idx = -1;

	snprintf(path, sizeof(path), "%s/online", root);
	if (!read_line(path, buf, sizeof(buf)) || !adcnn_cpu_list_parse(buf, &online))
		return false;
	/* cpu0's cache of the highest level (unified or data: the level is what counts) */
	for (int i = 0; i < 16; i++) {
		int level;
		snprintf(path, sizeof(path), "%s/cpu0/cache/index%d/level", root, i);
		if (!read_line(path, buf, sizeof(buf)))
			break;
		level = atoi(buf);
		if (level > best) {
			best = level;
			idx = i;
		}
	}
	if (idx < 0)
		return false;
	snprintf(path, sizeof(path), "%s/cpu0/cache/index%d/shared_cpu_list", root, idx);
	if (!read_line(path, buf, sizeof(buf)) || !adcnn_cpu_list_parse(buf, &llc))
		return false;
	for (int k = 0; k < ADCNN_MAX_CPUS / 64; k++)
		if (online.w[k] & ~llc.w[k])
			return false;
	return true;
}

static void probe(void)
{
	shared = adcnn_cpus_share_cache_at("/sys/devices/system/cpu");
}

void adcnn_cpus_share_cache_set(int v)
{
	forced = v < 0 ? -1 : v > 0;
}

bool adcnn_cpus_share_cache(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	if (forced >= 0)
		return forced;
	pthread_once(&once, probe);
	return shared;
}
