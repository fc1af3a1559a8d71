/* extsort [N] [SEED]: an external merge sort of N text lines through stdio
 * and temporary files in /tmp, as sort(1) does when its input outgrows its
 * memory budget.
 *
 * 1. write N generated lines ("<16 hex digits> <word>...\n") to the input;
 * 2. read them back in runs of at most RUN_BYTES (a realloc-grown arena and
 *    a realloc-grown index), sort each run with qsort, write it to a run file;
 * 3. merge FANIN runs at a time (a heap of the runs' current lines) into
 *    longer runs, pass after pass, until one file is left;
 * 4. read that file: it must be in order and hold the same lines (the same
 *    count and the same order-independent checksum) as the input. */
#include <unistd.h>

#include "wl.h"

#define RUN_BYTES (64 * 1024)
#define FANIN 8
#define LINE_MAX_ 128
#define DIR "/tmp"

static const char *prog = "extsort";

static void run_name(char *buf, size_t len, unsigned id) { snprintf(buf, len, DIR "/extsort.%u", id); }

static FILE *xfopen(const char *path, const char *mode)
{
	FILE *f = fopen(path, mode);
	if (!f)
		wl_die(prog, path);
	return f;
}

static void xfclose(FILE *f, const char *path)
{
	if (ferror(f) || fclose(f) != 0)
		wl_die(prog, path);
}

/* An order-independent checksum of the lines: the sum of their hashes. */
static uint64_t line_hash(const char *s) { return wl_mix(wl_fnv(WL_FNV, s, strlen(s))); }

static const char *syll[] = {"ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "zu", "pe", "qua", "ir"};

static uint64_t generate(const char *path, uint64_t n, uint64_t *bytes)
{
	FILE *f = xfopen(path, "w");
	uint64_t sum = 0;
	char line[LINE_MAX_];
	*bytes = 0;
	for (uint64_t i = 0; i < n; i++) {
		/* one key in 8 is short (24 bits): those repeat now and then */
		int len = snprintf(line, sizeof line, "%016llx", (unsigned long long)(wl_rand() >> (wl_below(8) ? 0 : 40)));
		for (int w = 1 + (int)wl_below(4); w > 0; w--) {
			line[len++] = ' ';
			for (int s = 1 + (int)wl_below(4); s > 0; s--) {
				const char *y = syll[wl_below(12)];
				size_t l = strlen(y);
				memcpy(line + len, y, l);
				len += (int)l;
			}
		}
		line[len++] = '\n';
		line[len] = 0;
		sum += line_hash(line);
		if (fputs(line, f) == EOF)
			wl_die(prog, path);
		*bytes += (uint64_t)len;
	}
	xfclose(f, path);
	return sum;
}

static const char *arena;
static int cmp_off(const void *a, const void *b)
{
	return strcmp(arena + *(const size_t *)a, arena + *(const size_t *)b);
}

/* Step 2: sorted runs; returns how many. */
static unsigned make_runs(const char *path)
{
	FILE *in = xfopen(path, "r");
	char *buf = NULL, line[LINE_MAX_], name[64];
	size_t cap = 0, used = 0, *idx = NULL, icap = 0, nidx = 0;
	unsigned runs = 0;
	int eof = 0;
	while (!eof) {
		eof = !fgets(line, sizeof line, in);
		if (!eof) {
			size_t len = strlen(line) + 1;
			if (used + len > cap) {
				cap = cap ? cap * 2 : 4096;
				if (!(buf = realloc(buf, cap)))
					wl_die(prog, "realloc");
			}
			if (nidx == icap) {
				icap = icap ? icap * 2 : 256;
				if (!(idx = realloc(idx, icap * sizeof *idx)))
					wl_die(prog, "realloc");
			}
			memcpy(buf + used, line, len);
			idx[nidx++] = used;
			used += len;
		}
		if ((eof && nidx) || used >= RUN_BYTES) {
			arena = buf;
			qsort(idx, nidx, sizeof *idx, cmp_off);
			run_name(name, sizeof name, runs++);
			FILE *out = xfopen(name, "w");
			for (size_t i = 0; i < nidx; i++)
				if (fputs(buf + idx[i], out) == EOF)
					wl_die(prog, name);
			xfclose(out, name);
			/* give the memory back, as a run-at-a-time sorter would */
			free(buf);
			free(idx);
			buf = NULL;
			idx = NULL;
			cap = used = icap = nidx = 0;
		}
	}
	if (ferror(in))
		wl_die(prog, path);
	fclose(in);
	return runs;
}

/* Step 3: merge runs [first, first+k) into run `to`; a binary min-heap of
 * the inputs' current lines. */
struct src {
	FILE *f;
	char line[LINE_MAX_];
};

static void sift(struct src **h, int n, int i)
{
	for (;;) {
		int l = 2 * i + 1, m = i;
		if (l < n && strcmp(h[l]->line, h[m]->line) < 0)
			m = l;
		if (l + 1 < n && strcmp(h[l + 1]->line, h[m]->line) < 0)
			m = l + 1;
		if (m == i)
			return;
		struct src *t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

static void merge(unsigned first, unsigned k, unsigned to)
{
	struct src *s = calloc(k, sizeof *s), **h = calloc(k, sizeof *h);
	char name[64];
	int n = 0;
	if (!s || !h)
		wl_die(prog, "calloc");
	for (unsigned i = 0; i < k; i++) {
		run_name(name, sizeof name, first + i);
		s[i].f = xfopen(name, "r");
		if (fgets(s[i].line, LINE_MAX_, s[i].f))
			h[n++] = &s[i];
	}
	for (int i = n / 2 - 1; i >= 0; i--)
		sift(h, n, i);
	run_name(name, sizeof name, to);
	FILE *out = xfopen(name, "w");
	while (n) {
		if (fputs(h[0]->line, out) == EOF)
			wl_die(prog, name);
		if (!fgets(h[0]->line, LINE_MAX_, h[0]->f))
			h[0] = h[--n];
		sift(h, n, 0);
	}
	xfclose(out, name);
	for (unsigned i = 0; i < k; i++) {
		fclose(s[i].f);
		run_name(name, sizeof name, first + i);
		if (unlink(name) < 0)
			wl_die(prog, name);
	}
	free(s);
	free(h);
}

int main(int argc, char **argv)
{
	const char *usage = "extsort [N] [SEED]";
	uint64_t n = wl_arg(argc, argv, 1, 30000, 1, 1ULL << 26, usage);
	wl_seed(wl_arg(argc, argv, 2, 1, 0, UINT64_MAX, usage));
	const char *input = DIR "/extsort.in";
	uint64_t bytes, want = generate(input, n, &bytes);

	unsigned runs = make_runs(input), first = 0, next = runs, passes = 0;
	if (unlink(input) < 0)
		wl_die(prog, input);
	while (next - first > 1) { /* one pass merges every run of the previous one */
		unsigned end = next;
		passes++;
		while (first < end) {
			unsigned k = end - first < FANIN ? end - first : FANIN;
			merge(first, k, next++);
			first += k;
		}
	}

	char name[64], prev[LINE_MAX_] = "", line[LINE_MAX_];
	run_name(name, sizeof name, first);
	FILE *f = xfopen(name, "r");
	uint64_t lines = 0, sum = 0, order = WL_FNV;
	while (fgets(line, sizeof line, f)) {
		if (strcmp(prev, line) > 0)
			wl_fail(prog, "output out of order");
		strcpy(prev, line);
		sum += line_hash(line);
		order = wl_fnv(order, line, strlen(line));
		lines++;
	}
	fclose(f);
	if (unlink(name) < 0)
		wl_die(prog, name);
	if (lines != n || sum != want)
		wl_fail(prog, "output lines differ from the input");
	printf("extsort: lines=%llu bytes=%llu runs=%u passes=%u\n", (unsigned long long)lines,
	       (unsigned long long)bytes, runs, passes);
	printf("extsort: sorted=%016llx last=%.16s\n", (unsigned long long)order, prev);
	return 0;
}
