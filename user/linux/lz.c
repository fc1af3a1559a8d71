/* lz [SIZE] [SEED]: an LZ77 compressor and decompressor over a generated
 * file, checked by a round trip.
 *
 * 1. write SIZE bytes of generated text (words of a made-up vocabulary,
 *    common ones far more often than rare ones, and now and then a run of
 *    random bytes) to /tmp/lz.in with write();
 * 2. map the input (MAP_PRIVATE, read-only: demand paging of a file) and
 *    compress it: hash chains over the last WINDOW bytes (a head table and
 *    a prev table, as in deflate), greedy longest match of MIN..MAX bytes;
 *    the output goes through stdio to /tmp/lz.z;
 * 3. read the compressed file back with fread into a realloc-grown buffer,
 *    decompress it, and compare with the mapped input.
 *
 * Format: a flag byte for each group of 8 items (bit set: a match), then the
 * items: a literal byte, or a match of 3 bytes (distance - 1 in 15 bits,
 * length - MIN in 8 bits, little-endian). */
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wl.h"

#define WINDOW 32768
#define HASH_BITS 15
#define MIN 3
#define MAX (MIN + 255)
#define CHAIN 32
#define IN "/tmp/lz.in"
#define OUT "/tmp/lz.z"

static const char *prog = "lz";

static void generate(uint64_t size)
{
	int fd = open(IN, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		wl_die(prog, "open " IN);
	/* a vocabulary of 1024 words of 2..11 letters */
	static char words[1024][12];
	for (int w = 0; w < 1024; w++) {
		int len = 2 + (int)wl_below(10);
		for (int i = 0; i < len; i++)
			words[w][i] = (char)('a' + wl_below(26));
		words[w][len] = 0;
	}
	static char buf[65536];
	size_t used = 0;
	uint64_t done = 0;
	while (done < size) {
		char tmp[64];
		size_t len;
		if (wl_below(200) == 0) { /* noise: random bytes compress poorly */
			len = 8 + wl_below(48);
			for (size_t i = 0; i < len; i++)
				tmp[i] = (char)wl_rand();
		} else { /* rank = below(below(1024)+1): small ranks far more common */
			const char *w = words[wl_below(wl_below(1024) + 1)];
			len = strlen(w);
			memcpy(tmp, w, len);
			tmp[len++] = wl_below(12) ? ' ' : '\n';
		}
		if (len > size - done)
			len = (size_t)(size - done);
		if (used + len > sizeof buf) {
			if (write(fd, buf, used) != (ssize_t)used)
				wl_die(prog, "write " IN);
			used = 0;
		}
		memcpy(buf + used, tmp, len);
		used += len;
		done += len;
	}
	if (write(fd, buf, used) != (ssize_t)used || close(fd) < 0)
		wl_die(prog, "write " IN);
}

static unsigned hash3(const unsigned char *p)
{
	return ((unsigned)p[0] << 16 | (unsigned)p[1] << 8 | p[2]) * 2654435761u >> (32 - HASH_BITS);
}

struct counts {
	uint64_t literals, matches, matched;
};

static uint64_t compress(const unsigned char *in, size_t n, FILE *out, struct counts *c)
{
	int32_t *head = malloc(sizeof(int32_t) << HASH_BITS), *prev = malloc(sizeof(int32_t) * WINDOW);
	unsigned char group[1 + 8 * 3];
	size_t glen = 1, items = 0;
	uint64_t written = 0;
	if (!head || !prev)
		wl_die(prog, "malloc");
	memset(head, 0xff, sizeof(int32_t) << HASH_BITS); /* -1: empty */
	size_t i = 0;
	group[0] = 0;
	while (i < n) {
		size_t best = 0, dist = 0;
		if (i + MIN <= n) {
			unsigned h = hash3(in + i);
			size_t limit = n - i < MAX ? n - i : MAX;
			int32_t cand = head[h];
			for (int chain = 0; chain < CHAIN && cand >= 0 && i - (size_t)cand <= WINDOW; chain++) {
				const unsigned char *p = in + cand;
				if (p[best] == in[i + best]) { /* can it beat the best so far? */
					size_t l = 0;
					while (l < limit && p[l] == in[i + l])
						l++;
					if (l > best) {
						best = l;
						dist = i - (size_t)cand;
						if (l == limit)
							break;
					}
				}
				int32_t nx = prev[cand % WINDOW];
				if (nx >= cand)
					break; /* the slot was reused: the chain ends */
				cand = nx;
			}
		}
		size_t step = best >= MIN ? best : 1;
		if (best >= MIN) {
			group[0] |= (unsigned char)(1u << items);
			group[glen++] = (unsigned char)(dist - 1);
			group[glen++] = (unsigned char)(((dist - 1) >> 8) | ((best - MIN) & 1) << 7);
			group[glen++] = (unsigned char)((best - MIN) >> 1);
			c->matches++;
			c->matched += best;
		} else {
			group[glen++] = in[i];
			c->literals++;
		}
		for (size_t k = 0; k < step; k++, i++) /* every position goes into its chain */
			if (i + MIN <= n) {
				unsigned h = hash3(in + i);
				prev[i % WINDOW] = head[h];
				head[h] = (int32_t)i;
			}
		if (++items == 8 || i >= n) {
			if (fwrite(group, 1, glen, out) != glen)
				wl_die(prog, "fwrite " OUT);
			written += glen;
			glen = 1;
			items = 0;
			group[0] = 0;
		}
	}
	free(head);
	free(prev);
	return written;
}

static unsigned char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		wl_die(prog, path);
	unsigned char *buf = NULL;
	size_t cap = 0, n = 0, r;
	do {
		if (n == cap) {
			cap = cap ? cap * 2 : 16384;
			if (!(buf = realloc(buf, cap)))
				wl_die(prog, "realloc");
		}
		r = fread(buf + n, 1, cap - n, f);
		n += r;
	} while (r);
	if (ferror(f))
		wl_die(prog, path);
	fclose(f);
	*len = n;
	return buf;
}

static size_t decompress(const unsigned char *z, size_t zn, unsigned char *out, size_t cap)
{
	size_t i = 0, o = 0;
	while (i < zn) {
		unsigned flags = z[i++];
		for (int k = 0; k < 8 && i < zn; k++) {
			if (flags >> k & 1) {
				if (i + 3 > zn)
					wl_fail(prog, "truncated match");
				size_t dist = (z[i] | (size_t)(z[i + 1] & 0x7f) << 8) + 1;
				size_t len = (size_t)(z[i + 1] >> 7 | z[i + 2] << 1) + MIN;
				i += 3;
				if (dist > o || o + len > cap)
					wl_fail(prog, "bad match");
				for (size_t l = 0; l < len; l++, o++) /* byte by byte: may overlap */
					out[o] = out[o - dist];
			} else {
				if (o == cap)
					wl_fail(prog, "output too long");
				out[o++] = z[i++];
			}
		}
	}
	return o;
}

int main(int argc, char **argv)
{
	const char *usage = "lz [SIZE] [SEED]";
	uint64_t size = wl_arg(argc, argv, 1, 1 << 20, 1, 1ULL << 30, usage);
	wl_seed(wl_arg(argc, argv, 2, 1, 0, UINT64_MAX, usage));
	generate(size);

	int fd = open(IN, O_RDONLY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		wl_die(prog, IN);
	size_t n = (size_t)st.st_size;
	const unsigned char *in = mmap(NULL, n, PROT_READ, MAP_PRIVATE, fd, 0);
	if (in == MAP_FAILED)
		wl_die(prog, "mmap " IN);
	close(fd);

	FILE *out = fopen(OUT, "wb");
	if (!out)
		wl_die(prog, OUT);
	struct counts c = {0};
	uint64_t zn = compress(in, n, out, &c);
	if (fclose(out) != 0)
		wl_die(prog, OUT);

	size_t got;
	unsigned char *z = slurp(OUT, &got), *back = malloc(n ? n : 1);
	if (!back)
		wl_die(prog, "malloc");
	if (got != zn)
		wl_fail(prog, "compressed file has the wrong size");
	if (decompress(z, got, back, n) != n || memcmp(back, in, n) != 0)
		wl_fail(prog, "round trip differs");
	uint64_t sum = wl_fnv(wl_fnv(WL_FNV, z, got), in, n);
	munmap((void *)in, n);
	free(z);
	free(back);
	if (unlink(IN) < 0 || unlink(OUT) < 0)
		wl_die(prog, "unlink");
	printf("lz: in=%zu out=%llu literals=%llu matches=%llu matched=%llu\n", n, (unsigned long long)zn,
	       (unsigned long long)c.literals, (unsigned long long)c.matches, (unsigned long long)c.matched);
	printf("lz: roundtrip=ok sum=%016llx\n", (unsigned long long)sum);
	return 0;
}
