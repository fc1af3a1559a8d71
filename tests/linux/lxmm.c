/* The memory calls of the Linux personality: mmap's flags (MAP_FIXED, MAP_FIXED_NOREPLACE,
 * the address hint, MAP_POPULATE, MAP_NORESERVE, MAP_STACK), munmap of the heap, mprotect
 * (a SIGSEGV handler that unprotects and retries: Appel & Li's user-level paging), COW after
 * mprotect and fork, mremap (grow in place, move, shrink, MREMAP_FIXED, a shared file
 * mapping), madvise (DONTNEED zero-fills, FREE, bad advice) and msync. Prints "key value"
 * lines. (qemu-riscv64 7.2 emulates mmap itself and differs from Linux on a few of them:
 * it ignores MAP_FIXED_NOREPLACE and madvise, and accepts an unaligned mprotect.) */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define PG 4096UL

static char *guarded;
static volatile int faults;
static volatile uintptr_t fault_addr;

static void on_segv(int sig, siginfo_t *si, void *uc) {
    (void)sig;
    (void)uc;
    faults++;
    fault_addr = (uintptr_t)si->si_addr;
    /* user-level paging: make the page accessible and let the access run again */
    mprotect((void *)((uintptr_t)si->si_addr & ~(PG - 1)), PG, PROT_READ | PROT_WRITE);
}

static long err(long r) { return r == -1 ? -errno : r; }

static void *map(void *addr, size_t len, int prot, int flags) {
    return mmap(addr, len, prot, flags | MAP_ANONYMOUS, -1, 0);
}

static void flags_and_placement(void) {
    char *hint = (char *)0x40000000UL;
    char *a = map(hint, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE);
    printf("hint_taken %d\n", a == hint);
    char *b = map(hint, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE);
    printf("hint_busy_elsewhere %d\n", b != MAP_FAILED && b != hint);
    void *c = map(hint + PG, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED_NOREPLACE);
    printf("noreplace %ld\n", c == MAP_FAILED ? (long)-errno : 0L);
    a[0] = 'a';
    a[PG] = 'b';
    char *d = map(hint + PG, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED);
    printf("fixed_replaces %d %d %d\n", d == hint + PG, a[0], a[PG]);
    printf("fixed_unaligned %ld\n", err((long)map(hint + 1, PG, PROT_READ, MAP_PRIVATE | MAP_FIXED)));
    char *e = map(0, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_POPULATE | MAP_NORESERVE | MAP_STACK);
    unsigned char vec[4];
    printf("populate %d\n", e != MAP_FAILED && mincore(e, 4 * PG, vec) == 0 ? vec[0] & vec[3] & 1 : -1);
    printf("len0 %ld\n", err((long)map(0, 0, PROT_READ, MAP_PRIVATE)));
    printf("badprot %ld\n", err((long)map(0, PG, 0x10, MAP_PRIVATE)));
    printf("munmap_unaligned %ld\n", err(munmap(hint + 1, PG)));
    munmap(a, 2 * PG);
    munmap(b, PG);
    munmap(e, 4 * PG);
}

static void heap(void) {
    /* musl's sbrk only answers sbrk(0): move the break with the system call itself */
    uintptr_t top = (uintptr_t)syscall(SYS_brk, 0);
    uintptr_t base = (top + PG - 1) & ~(PG - 1);
    uintptr_t end = (uintptr_t)syscall(SYS_brk, base + 4 * PG);
    printf("brk_grew %d\n", end == base + 4 * PG);
    ((char *)base)[0] = 7;
    printf("munmap_heap %ld\n", err(munmap((void *)base, PG)));
}

static void protect(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, 0);
    guarded = map(0, 3 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE);
    guarded[PG] = 'x';
    printf("mprotect_none %ld\n", err(mprotect(guarded + PG, PG, PROT_NONE)));
    char v = *(volatile char *)(guarded + PG + 5); /* faults; the handler unprotects; it runs again */
    printf("user_paging faults=%d at_page=%d value=%c%d\n", faults, fault_addr == (uintptr_t)(guarded + PG + 5),
           guarded[PG], v);
    mprotect(guarded, 3 * PG, PROT_READ);
    *(volatile char *)(guarded + 2 * PG) = 'y'; /* a store to read-only memory: the handler allows it */
    printf("store_ro faults=%d value=%c\n", faults, guarded[2 * PG]);
    printf("mprotect_hole %ld\n", err(mprotect(guarded, 64 * PG, PROT_READ)));
    printf("mprotect_unaligned %ld\n", syscall(SYS_mprotect, guarded + 1, PG, PROT_READ) == -1 ? (long)-errno : 0L);
    signal(SIGSEGV, SIG_DFL);

    /* COW after mprotect: the page goes read-only, is shared by fork, and becomes writable
       again in the child; the child's store must not reach the parent's page */
    char *c = map(0, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE);
    strcpy(c, "before");
    mprotect(c, PG, PROT_READ);
    pid_t pid = fork();
    if (pid == 0) {
        mprotect(c, PG, PROT_READ | PROT_WRITE);
        strcpy(c, "child!");
        printf("child_sees %s\n", c);
        _exit(0);
    }
    waitpid(pid, 0, 0);
    printf("parent_sees %s\n", c);
    mprotect(c, PG, PROT_READ | PROT_WRITE);
    strcpy(c, "after!"); /* the child is gone: the frame is the parent's alone */
    printf("parent_writes %s\n", c);

    pid = fork();
    if (pid == 0) {
        mprotect(c, PG, PROT_NONE);
        c[0] = 1; /* no handler now: SIGSEGV kills */
        _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    printf("prot_none_kills %d\n", WIFSIGNALED(st) ? WTERMSIG(st) : -1);
}

static void remap(void) {
    char *a = map(0, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE);
    memset(a, 'm', 2 * PG);
    char *blocker = map(a + 2 * PG, PG, PROT_READ, MAP_PRIVATE | MAP_FIXED_NOREPLACE);
    printf("mremap_nomove %ld\n", err((long)mremap(a, 2 * PG, 4 * PG, 0)));
    char *b = mremap(a, 2 * PG, 4 * PG, MREMAP_MAYMOVE);
    printf("mremap_moved %d kept=%d tail_zero=%d old_gone=%d\n", b != a, b[0] == 'm' && b[2 * PG - 1] == 'm',
           b[3 * PG] == 0, mincore(a, PG, (unsigned char[1]){0}) == -1 ? errno == ENOMEM : -1);
    munmap(blocker, PG);
    char *c = mremap(b, 4 * PG, PG, 0);
    printf("mremap_shrink %d\n", c == b);
    char *d = mremap(c, PG, 3 * PG, 0); /* the pages after it are free now */
    printf("mremap_in_place %d\n", d == c);
    char *fixed = (char *)0x50000000UL;
    char *e = mremap(d, 3 * PG, 3 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, fixed);
    printf("mremap_fixed %d %c\n", e == fixed, e[0]);
    printf("mremap_fixed_nomove %ld\n", err((long)mremap(e, PG, PG, MREMAP_FIXED, a)));
    printf("mremap_efault %ld\n", err((long)mremap((void *)0x60000000UL, PG, 2 * PG, MREMAP_MAYMOVE)));
    munmap(e, 3 * PG);

    /* a shared file mapping grown by moving (as SQLite grows its mapping) */
    int fd = open("/tmp/lxmm.dat", O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        printf("open %d\n", -errno);
        return;
    }
    char buf[2 * PG];
    memset(buf, 'f', sizeof buf);
    write(fd, buf, sizeof buf);
    char *f = mmap(0, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    map(f + PG, PG, PROT_READ, MAP_PRIVATE | MAP_FIXED_NOREPLACE); /* no room in place */
    f[0] = 'S';
    char *g = mremap(f, PG, 2 * PG, MREMAP_MAYMOVE);
    printf("mremap_file %d %c %c\n", g != f, g[0], g[PG]);
    g[PG] = 'T';
    printf("msync %ld\n", err(msync(g, 2 * PG, MS_SYNC)));
    char back[2];
    pread(fd, back, 1, 0);
    pread(fd, back + 1, 1, PG);
    printf("file_has %c%c\n", back[0], back[1]);
    printf("msync_bad %ld\n", err(msync(g, PG, MS_SYNC | MS_ASYNC)));
    munmap(g, 2 * PG);
    close(fd);
    unlink("/tmp/lxmm.dat");
}

static void advise(void) {
    char *a = map(0, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE);
    memset(a, 'z', 2 * PG);
    printf("dontneed %ld zero=%d\n", err(madvise(a, PG, MADV_DONTNEED)), a[0] == 0 && a[PG] == 'z');
    printf("free %ld\n", err(madvise(a + PG, PG, MADV_FREE)));
    printf("willneed %ld\n", err(madvise(a, 2 * PG, MADV_WILLNEED)));
    printf("badadvice %ld\n", err(madvise(a, PG, 12345)));
    printf("unmapped %ld\n", err(madvise((void *)0x60000000UL, PG, MADV_DONTNEED)));
    munmap(a, 2 * PG);
}

int main(void) {
    setvbuf(stdout, 0, _IONBF, 0);
    flags_and_placement();
    heap();
    protect();
    remap();
    advise();
    printf("done\n");
    return 0;
}
