/* userpager [PAGES] [RESIDENT] [PASSES]: paging done by the program itself, with the
 * primitives of Appel and Li ("Virtual memory primitives for user programs", 1991):
 * mprotect and a SIGSEGV handler.
 *
 * A region of PAGES pages starts PROT_NONE. Each touch of a page that is not
 * "resident" faults; the kernel cannot resolve it (the region forbids the access), so
 * it sends SIGSEGV, with si_addr the address. The handler plays the pager: it makes the
 * page accessible (mprotect), copies its saved contents back if it was evicted before,
 * and returns, and the faulting instruction runs again. At most RESIDENT pages are
 * accessible at once: the handler evicts the oldest (FIFO) by saving it to a backing
 * store, dropping its frame (madvise DONTNEED) and protecting it again.
 *
 * The program writes a pattern to every page, then checks and rewrites it, PASSES times,
 * and prints the faults, evictions and restores it served, and whether every byte
 * survived. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PG 4096

static char *region;
static size_t npages, resident_max, head, count;
static char *backing;
static size_t *fifo;
static unsigned char *state; /* 0 untouched, 1 resident, 2 evicted (in backing) */
static volatile long faults, evictions, restores;

static void die(const char *what) {
    static const char msg[] = "userpager: ";
    write(2, msg, sizeof msg - 1);
    write(2, what, strlen(what));
    write(2, "\n", 1);
    _exit(1);
}

static void on_segv(int sig, siginfo_t *si, void *uc) {
    (void)sig;
    (void)uc;
    char *a = si->si_addr;
    if (a < region || a >= region + npages * PG) {
        signal(SIGSEGV, SIG_DFL); /* not ours: the retried access kills the program */
        return;
    }
    size_t pg = (size_t)(a - region) / PG;
    faults++;
    if (count == resident_max) { /* evict the oldest resident page */
        size_t v = fifo[head];
        memcpy(backing + v * PG, region + v * PG, PG);
        if (madvise(region + v * PG, PG, MADV_DONTNEED) != 0) die("madvise");
        if (mprotect(region + v * PG, PG, PROT_NONE) != 0) die("mprotect none");
        state[v] = 2;
        head = (head + 1) % resident_max;
        count--;
        evictions++;
    }
    if (mprotect(region + pg * PG, PG, PROT_READ | PROT_WRITE) != 0) die("mprotect rw");
    if (state[pg] == 2) {
        memcpy(region + pg * PG, backing + pg * PG, PG);
        restores++;
    }
    state[pg] = 1;
    fifo[(head + count) % resident_max] = pg;
    count++;
}

static uint64_t word(size_t page, size_t i, int pass) {
    return (page * 0x9E3779B97F4A7C15ull) ^ (i * 0xBF58476D1CE4E5B9ull) ^ (uint64_t)pass;
}

int main(int argc, char **argv) {
    npages = argc > 1 ? strtoul(argv[1], 0, 10) : 256;
    resident_max = argc > 2 ? strtoul(argv[2], 0, 10) : 32;
    int passes = argc > 3 ? atoi(argv[3]) : 3;
    if (npages == 0 || resident_max == 0 || passes < 1) die("usage: userpager [PAGES] [RESIDENT] [PASSES]");
    region = mmap(0, npages * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    backing = malloc(npages * PG);
    fifo = malloc(resident_max * sizeof *fifo);
    state = calloc(npages, 1);
    if (region == MAP_FAILED || !backing || !fifo || !state) die("out of memory");
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, 0);

    const size_t words = PG / sizeof(uint64_t);
    long bad = 0;
    for (int pass = 0; pass <= passes; pass++) {
        for (size_t p = 0; p < npages; p++) {
            uint64_t *w = (uint64_t *)(region + p * PG);
            for (size_t i = 0; i < words; i += 8) {
                if (pass > 0 && w[i] != word(p, i, pass - 1)) bad++;
                w[i] = word(p, i, pass);
            }
        }
    }
    printf("userpager: pages=%zu resident=%zu passes=%d\n", npages, resident_max, passes);
    printf("faults=%ld evictions=%ld restores=%ld wrong_words=%ld\n", faults, evictions, restores, bad);
    return bad != 0;
}
