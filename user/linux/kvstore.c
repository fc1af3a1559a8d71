/* kvstore [N] [SEED] [--mmap]: a key-value store in a B+tree on a file.
 *
 * The file is an array of 4 KiB pages, as in SQLite or a textbook B-tree:
 * page 0 is the header, the others are leaves (sorted key/value pairs,
 * chained left to right) or inner nodes (keys and child page numbers).
 *
 * Two ways to reach the pages, as databases do:
 *  - default: a small user-level buffer pool (PAGES_CACHED frames, LRU),
 *    filled with pread and written back with pwrite; a commit writes every
 *    dirty page and calls fsync;
 *  - --mmap (or the kvmap program): the whole file is mapped MAP_SHARED and
 *    the pages are used in place, so the kernel's page cache is the buffer
 *    pool; the file grows with ftruncate plus mremap, a commit is msync.
 *
 * Work: N random upserts (keys drawn from 2N values, so some repeat), N/4
 * ascending appends, N/2 random lookups, a full scan, then the file is
 * closed, reopened and scanned again. The output is the same either way. */
#define _GNU_SOURCE /* mremap */
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wl.h"

#define PAGE 4096
#define LEAF_MAX 255 /* (4096 - 16) / 16 */
#define INNER_MAX 254 /* 16 + 8 * 254 keys + 8 * 255 children <= 4096 */
#define PAGES_CACHED 64
#define COMMIT_EVERY 1000
#define MAGIC 0x6b7673746f726531ULL
#define PATH "/tmp/kvstore.db"

static const char *prog = "kvstore";

struct head { /* page 0 */
	uint64_t magic, npages, root, height, count;
};

struct node { /* every other page */
	uint16_t leaf, n;
	uint32_t pad;
	uint64_t next; /* leaf: the right sibling, 0 at the end */
	union {
		struct { uint64_t key, val; } e[LEAF_MAX];
		struct { uint64_t key[INNER_MAX], child[INNER_MAX + 1]; } in;
	};
};
_Static_assert(sizeof(struct node) <= PAGE, "node fits a page");

struct frame {
	uint64_t pgno, used; /* used: LRU clock */
	int pins, dirty, next; /* next: hash chain */
};

struct store {
	int fd, mapped;
	struct head h;
	/* buffer pool (pread mode) */
	unsigned char *pool;
	struct frame fr[PAGES_CACHED];
	int bucket[PAGES_CACHED * 2];
	uint64_t tick;
	/* mapping (mmap mode) */
	unsigned char *map;
	size_t maplen;
	/* counters */
	uint64_t reads, writes, syncs, grows;
};

static struct store S;

/* --- page access: get (pinned), put (unpinned, maybe dirty), alloc --- */

static int hash_pg(uint64_t pgno) { return (int)(wl_mix(pgno) % (PAGES_CACHED * 2)); }

static void unhash(int f)
{
	int *p = &S.bucket[hash_pg(S.fr[f].pgno)];
	while (*p != f)
		p = &S.fr[*p].next;
	*p = S.fr[f].next;
}

static void writeback(int f)
{
	if (pwrite(S.fd, S.pool + (size_t)f * PAGE, PAGE, (off_t)(S.fr[f].pgno * PAGE)) != PAGE)
		wl_die(prog, "pwrite");
	S.fr[f].dirty = 0;
	S.writes++;
}

static struct node *pg_get(uint64_t pgno)
{
	if (S.mapped)
		return (struct node *)(S.map + pgno * PAGE);
	int f;
	for (f = S.bucket[hash_pg(pgno)]; f >= 0; f = S.fr[f].next)
		if (S.fr[f].pgno == pgno)
			goto found;
	/* miss: the least recently used unpinned frame */
	int victim = -1;
	for (f = 0; f < PAGES_CACHED; f++)
		if (!S.fr[f].pins && (victim < 0 || S.fr[f].used < S.fr[victim].used))
			victim = f;
	if (victim < 0)
		wl_fail(prog, "buffer pool: every frame pinned");
	f = victim;
	if (S.fr[f].pgno != UINT64_MAX) {
		if (S.fr[f].dirty)
			writeback(f);
		unhash(f);
	}
	unsigned char *buf = S.pool + (size_t)f * PAGE;
	ssize_t r = pread(S.fd, buf, PAGE, (off_t)(pgno * PAGE));
	if (r < 0)
		wl_die(prog, "pread");
	memset(buf + r, 0, PAGE - (size_t)r); /* a page past the end reads as zeros */
	S.reads++;
	S.fr[f].pgno = pgno;
	int h = hash_pg(pgno);
	S.fr[f].next = S.bucket[h];
	S.bucket[h] = f;
found:
	S.fr[f].pins++;
	S.fr[f].used = ++S.tick;
	return (struct node *)(S.pool + (size_t)f * PAGE);
}

static void pg_put(struct node *p, int dirty)
{
	if (S.mapped)
		return;
	int f = (int)(((unsigned char *)p - S.pool) / PAGE);
	S.fr[f].pins--;
	S.fr[f].dirty |= dirty;
}

/* A fresh page number. In mmap mode the mapping may move: callers take
 * their page pointers after allocating. */
static uint64_t pg_alloc(void)
{
	uint64_t pgno = S.h.npages++;
	if (S.mapped && S.h.npages * PAGE > S.maplen) {
		size_t len = S.maplen * 2;
		if (ftruncate(S.fd, (off_t)len) < 0)
			wl_die(prog, "ftruncate");
		void *m = mremap(S.map, S.maplen, len, MREMAP_MAYMOVE);
		if (m == MAP_FAILED)
			wl_die(prog, "mremap");
		S.map = m;
		S.maplen = len;
		S.grows++;
	}
	return pgno;
}

static void commit(void)
{
	if (S.mapped) {
		memcpy(S.map, &S.h, sizeof S.h);
		if (msync(S.map, S.maplen, MS_SYNC) < 0)
			wl_die(prog, "msync");
	} else {
		unsigned char page[PAGE] = {0};
		memcpy(page, &S.h, sizeof S.h);
		if (pwrite(S.fd, page, PAGE, 0) != PAGE)
			wl_die(prog, "pwrite");
		S.writes++;
		for (int f = 0; f < PAGES_CACHED; f++)
			if (S.fr[f].dirty)
				writeback(f);
		if (fsync(S.fd) < 0)
			wl_die(prog, "fsync");
	}
	S.syncs++;
}

static void store_open(int create)
{
	S.fd = open(PATH, O_RDWR | (create ? O_CREAT | O_TRUNC : 0), 0644);
	if (S.fd < 0)
		wl_die(prog, "open " PATH);
	if (S.mapped) {
		struct stat st;
		if (create && ftruncate(S.fd, 64 * PAGE) < 0)
			wl_die(prog, "ftruncate");
		if (fstat(S.fd, &st) < 0)
			wl_die(prog, "fstat");
		S.maplen = (size_t)st.st_size;
		S.map = mmap(NULL, S.maplen, PROT_READ | PROT_WRITE, MAP_SHARED, S.fd, 0);
		if (S.map == MAP_FAILED)
			wl_die(prog, "mmap");
	} else {
		if (!S.pool && !(S.pool = malloc((size_t)PAGES_CACHED * PAGE)))
			wl_die(prog, "malloc");
		for (int f = 0; f < PAGES_CACHED; f++)
			S.fr[f] = (struct frame){.pgno = UINT64_MAX, .next = -1};
		for (int b = 0; b < PAGES_CACHED * 2; b++)
			S.bucket[b] = -1;
	}
	if (create) {
		S.h = (struct head){.magic = MAGIC, .npages = 1, .height = 1};
		S.h.root = pg_alloc();
		struct node *r = pg_get(S.h.root);
		memset(r, 0, sizeof *r);
		r->leaf = 1;
		pg_put(r, 1);
		commit();
	} else if (S.mapped) {
		memcpy(&S.h, S.map, sizeof S.h);
	} else if (pread(S.fd, &S.h, sizeof S.h, 0) != sizeof S.h) {
		wl_die(prog, "pread header");
	}
	if (S.h.magic != MAGIC)
		wl_fail(prog, "bad header");
}

static void store_close(void)
{
	commit();
	if (S.mapped && munmap(S.map, S.maplen) < 0)
		wl_die(prog, "munmap");
	if (close(S.fd) < 0)
		wl_die(prog, "close");
}

/* --- the B+tree --- */

/* first index with key[i] >= k (leaf) */
static int leaf_pos(const struct node *p, uint64_t k)
{
	int lo = 0, hi = p->n;
	while (lo < hi) {
		int mid = (lo + hi) / 2;
		if (p->e[mid].key < k)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* the child to descend into: first index with key[i] > k */
static int inner_pos(const struct node *p, uint64_t k)
{
	int lo = 0, hi = p->n;
	while (lo < hi) {
		int mid = (lo + hi) / 2;
		if (p->in.key[mid] <= k)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Insert or update under pgno. Returns 1 if the node split: the new right
 * sibling is *rpg and its smallest key *rkey. */
static int insert_at(uint64_t pgno, uint64_t k, uint64_t v, uint64_t *rkey, uint64_t *rpg)
{
	struct node *p = pg_get(pgno);
	if (p->leaf) {
		int i = leaf_pos(p, k);
		if (i < p->n && p->e[i].key == k) {
			p->e[i].val = v;
			pg_put(p, 1);
			return 0;
		}
		S.h.count++;
		if (p->n < LEAF_MAX) {
			memmove(&p->e[i + 1], &p->e[i], (size_t)(p->n - i) * sizeof p->e[0]);
			p->e[i].key = k;
			p->e[i].val = v;
			p->n++;
			pg_put(p, 1);
			return 0;
		}
		pg_put(p, 0);
		uint64_t npg = pg_alloc();
		p = pg_get(pgno);
		struct node *q = pg_get(npg);
		/* split LEAF_MAX + 1 entries: left keeps half, right the rest */
		int half = (LEAF_MAX + 1) / 2;
		memset(q, 0, sizeof *q);
		q->leaf = 1;
		q->n = (uint16_t)(p->n - half);
		memcpy(q->e, &p->e[half], (size_t)q->n * sizeof p->e[0]);
		p->n = (uint16_t)half;
		q->next = p->next;
		p->next = npg;
		struct node *t = i <= half ? p : q;
		if (t == q)
			i -= half;
		memmove(&t->e[i + 1], &t->e[i], (size_t)(t->n - i) * sizeof t->e[0]);
		t->e[i].key = k;
		t->e[i].val = v;
		t->n++;
		*rkey = q->e[0].key;
		*rpg = npg;
		pg_put(q, 1);
		pg_put(p, 1);
		return 1;
	}
	int i = inner_pos(p, k);
	uint64_t child = p->in.child[i];
	pg_put(p, 0);
	uint64_t ckey, cpg;
	if (!insert_at(child, k, v, &ckey, &cpg))
		return 0;
	p = pg_get(pgno);
	if (p->n < INNER_MAX) {
		memmove(&p->in.key[i + 1], &p->in.key[i], (size_t)(p->n - i) * 8);
		memmove(&p->in.child[i + 2], &p->in.child[i + 1], (size_t)(p->n - i) * 8);
		p->in.key[i] = ckey;
		p->in.child[i + 1] = cpg;
		p->n++;
		pg_put(p, 1);
		return 0;
	}
	/* full inner node: lay out n+1 keys and n+2 children, split around the middle key */
	uint64_t keys[INNER_MAX + 1], kids[INNER_MAX + 2];
	int n = p->n;
	memcpy(keys, p->in.key, (size_t)i * 8);
	keys[i] = ckey;
	memcpy(&keys[i + 1], &p->in.key[i], (size_t)(n - i) * 8);
	memcpy(kids, p->in.child, (size_t)(i + 1) * 8);
	kids[i + 1] = cpg;
	memcpy(&kids[i + 2], &p->in.child[i + 1], (size_t)(n - i) * 8);
	pg_put(p, 0);
	uint64_t npg = pg_alloc();
	p = pg_get(pgno);
	struct node *q = pg_get(npg);
	int left = (n + 1) / 2; /* keys kept left; keys[left] moves up */
	memset(q, 0, sizeof *q);
	p->n = (uint16_t)left;
	memcpy(p->in.key, keys, (size_t)left * 8);
	memcpy(p->in.child, kids, (size_t)(left + 1) * 8);
	q->n = (uint16_t)(n - left);
	memcpy(q->in.key, &keys[left + 1], (size_t)q->n * 8);
	memcpy(q->in.child, &kids[left + 1], (size_t)(q->n + 1) * 8);
	*rkey = keys[left];
	*rpg = npg;
	pg_put(q, 1);
	pg_put(p, 1);
	return 1;
}

static void insert(uint64_t k, uint64_t v)
{
	uint64_t rkey, rpg;
	if (!insert_at(S.h.root, k, v, &rkey, &rpg))
		return;
	uint64_t npg = pg_alloc();
	struct node *r = pg_get(npg);
	memset(r, 0, sizeof *r);
	r->n = 1;
	r->in.key[0] = rkey;
	r->in.child[0] = S.h.root;
	r->in.child[1] = rpg;
	pg_put(r, 1);
	S.h.root = npg;
	S.h.height++;
}

static int lookup(uint64_t k, uint64_t *v)
{
	uint64_t pgno = S.h.root;
	for (;;) {
		struct node *p = pg_get(pgno);
		if (p->leaf) {
			int i = leaf_pos(p, k);
			int hit = i < p->n && p->e[i].key == k;
			if (hit)
				*v = p->e[i].val;
			pg_put(p, 0);
			return hit;
		}
		pgno = p->in.child[inner_pos(p, k)];
		pg_put(p, 0);
	}
}

/* Walk the leaves left to right: count, checksum, and check the order. */
static uint64_t scan(uint64_t *count)
{
	uint64_t pgno = S.h.root, h = WL_FNV, n = 0, last = 0;
	for (;;) { /* down the leftmost edge */
		struct node *p = pg_get(pgno);
		uint64_t next = p->leaf ? 0 : p->in.child[0];
		int leaf = p->leaf;
		pg_put(p, 0);
		if (leaf)
			break;
		pgno = next;
	}
	while (pgno) {
		struct node *p = pg_get(pgno);
		for (int i = 0; i < p->n; i++) {
			if (n && p->e[i].key <= last)
				wl_fail(prog, "scan: keys out of order");
			last = p->e[i].key;
			h = wl_fnv(h, &p->e[i], 16);
			n++;
		}
		pgno = p->next;
		pg_put(p, 0);
	}
	*count = n;
	return h;
}

/* The i-th key of the random key space: 2N values, spread over 63 bits. */
static uint64_t key_of(uint64_t i) { return wl_mix(i) >> 1; }

int main(int argc, char **argv)
{
	const char *usage = "kvstore [N] [SEED] [--mmap]";
#ifdef KV_MMAP
	S.mapped = 1;
	prog = "kvmap";
	usage = "kvmap [N] [SEED]";
#endif
	if (argc > 1 && strcmp(argv[argc - 1], "--mmap") == 0) {
		S.mapped = 1;
		argc--;
	}
	uint64_t n = wl_arg(argc, argv, 1, 40000, 1, 1ULL << 26, usage);
	wl_seed(wl_arg(argc, argv, 2, 1, 0, UINT64_MAX, usage));

	store_open(1);
	for (uint64_t i = 0; i < n; i++) { /* random upserts */
		insert(key_of(wl_below(2 * n)), i);
		if ((i + 1) % COMMIT_EVERY == 0)
			commit();
	}
	uint64_t keys = S.h.count;
	for (uint64_t i = 0; i < n / 4; i++) { /* ascending appends, as a rowid table grows */
		insert((1ULL << 63) + i, i);
		if ((i + 1) % COMMIT_EVERY == 0)
			commit();
	}
	commit();
	uint64_t found = 0, vsum = 0, v;
	for (uint64_t i = 0; i < n / 2; i++) { /* random lookups: keys/(2N) of them hit */
		if (lookup(key_of(wl_below(2 * n)), &v)) {
			found++;
			vsum += v;
		}
	}
	uint64_t count, count2;
	uint64_t sum = scan(&count);
	if (count != S.h.count)
		wl_fail(prog, "scan count differs from the header");
	uint64_t height = S.h.height, npages = S.h.npages;
	store_close();

	memset(&S.h, 0, sizeof S.h);
	store_open(0); /* again, from the file */
	uint64_t sum2 = scan(&count2);
	if (sum2 != sum || count2 != count)
		wl_fail(prog, "reopened store differs");
	store_close();
	if (unlink(PATH) < 0)
		wl_die(prog, "unlink");

	printf("%s: n=%llu keys=%llu appended=%llu total=%llu\n", prog, (unsigned long long)n,
	       (unsigned long long)keys, (unsigned long long)(n / 4), (unsigned long long)count);
	printf("%s: lookups=%llu found=%llu vsum=%llu\n", prog, (unsigned long long)(n / 2),
	       (unsigned long long)found, (unsigned long long)vsum);
	printf("%s: height=%llu pages=%llu scan=%016llx\n", prog, (unsigned long long)height,
	       (unsigned long long)npages, (unsigned long long)sum);
	if (S.mapped)
		printf("%s: io grows=%llu syncs=%llu\n", prog, (unsigned long long)S.grows,
		       (unsigned long long)S.syncs);
	else
		printf("%s: io reads=%llu writes=%llu syncs=%llu\n", prog, (unsigned long long)S.reads,
		       (unsigned long long)S.writes, (unsigned long long)S.syncs);
	return 0;
}
