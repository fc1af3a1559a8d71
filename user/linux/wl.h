/* wl.h: what the bundled Linux workloads share: a seeded generator (so the
 * input, and with it the output, is the same on every run), a checksum, the
 * size argument, and error exits. Header-only: each workload is one ELF. */
#ifndef WL_H
#define WL_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* splitmix64: a 64-bit state stepped by a Weyl constant and then mixed. */
static uint64_t wl_state;

static inline uint64_t wl_mix(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* The seed is mixed, so nearby seeds start far apart on the state's cycle
 * (seed * constant would make seed 7's stream seed 1's, shifted by 6). */
static inline void wl_seed(uint64_t seed) { wl_state = wl_mix(seed ^ 0x5eed5eed5eed5eedULL); }

static inline uint64_t wl_rand(void) { return wl_mix(wl_state += 0x9e3779b97f4a7c15ULL); }

/* A value in [0, n); n > 0. The modulo bias is irrelevant here. */
static inline uint64_t wl_below(uint64_t n) { return wl_rand() % n; }

/* FNV-1a over bytes, chained through h (start with WL_FNV). */
#define WL_FNV 0xcbf29ce484222325ULL
static inline uint64_t wl_fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return h;
}

static inline void wl_die(const char *prog, const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", prog, what, strerror(errno));
	exit(1);
}

static inline void wl_fail(const char *prog, const char *what)
{
	fprintf(stderr, "%s: FAIL %s\n", prog, what);
	exit(1);
}

/* argv[i] as a count with an optional K, M or G suffix (powers of 1024),
 * or def when absent; a malformed or out-of-range value is a usage error. */
static inline uint64_t wl_arg(int argc, char **argv, int i, uint64_t def, uint64_t lo, uint64_t hi,
		       const char *usage)
{
	if (i >= argc)
		return def;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(argv[i], &end, 10);
	int shift = 0;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	}
	if (errno || end == argv[i] || *end || argv[i][0] == '-' || v > (hi >> shift) ||
	    (v << shift) < lo) {
		fprintf(stderr, "usage: %s\n", usage);
		exit(2);
	}
	return (uint64_t)v << shift;
}

#endif
