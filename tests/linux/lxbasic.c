/* Linux system calls a libc program meets first, with their errno values: each line is
 * "name result errno" so that a test can compare it with what Linux gives. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

static void show(const char *what, long r) {
    printf("%s %ld %d\n", what, r, r < 0 ? errno : 0);
    errno = 0;
}

int main(void) {
    show("read_badfd", read(99, 0, 1));
    show("write_efault", write(1, (void *)16, 4));
    show("read_efault", read(0, (void *)16, 4));
    show("unknown_syscall", syscall(500));
    show("close_badfd", close(-1));
    show("mmap_len0", (long)mmap(0, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    show("munmap_unaligned", munmap((void *)4097, 4096));
    show("lseek_console", lseek(1, 0, SEEK_SET));
    show("ioctl_notty", isatty(1));
    show("uname_efault", uname((void *)16));
    show("getpid_ok", getpid() > 1);
    show("getppid", getppid());
    show("gettid_is_pid", syscall(SYS_gettid) == getpid());
    show("uid", getuid() + geteuid() + getgid() + getegid());

    struct utsname u;
    uname(&u);
    printf("uname %s %s\n", u.sysname, u.machine);

    struct rlimit rl;
    getrlimit(RLIMIT_STACK, &rl);
    printf("rlimit_stack %lu\n", (unsigned long)rl.rlim_cur);
    getrlimit(RLIMIT_NOFILE, &rl);
    printf("rlimit_nofile %lu\n", (unsigned long)rl.rlim_cur);

    /* brk: a failure returns the old break */
    long b0 = syscall(SYS_brk, 0);
    long b1 = syscall(SYS_brk, b0 + 8192);
    long b2 = syscall(SYS_brk, 1);
    printf("brk_grow %ld brk_fail_keeps %d page_aligned %d\n", b1 - b0, b2 == b1, (b0 & 4095) == 0);
    char *heap = (char *)b0;
    heap[8191] = 7;
    printf("brk_touch %d\n", heap[8191]);

    /* malloc, large and small; mmap and munmap */
    char *big = malloc(1 << 20);
    memset(big, 1, 1 << 20);
    char *m = mmap(0, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    m[0] = 1;
    m[3 * 4096 - 1] = 2;
    printf("mmap_rw %d %d munmap %d\n", m[0], m[3 * 4096 - 1], munmap(m, 3 * 4096));
    free(big);

    /* time on the instruction clock: it moves, and a sleep moves it by at least its length */
    struct timespec t0, t1, d = {0, 5000000};
    clock_gettime(CLOCK_MONOTONIC, &t0);
    show("nanosleep", nanosleep(&d, 0));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ns = (t1.tv_sec - t0.tv_sec) * 1000000000L + (t1.tv_nsec - t0.tv_nsec);
    printf("slept_at_least %d\n", ns >= 5000000);
    clock_gettime(CLOCK_REALTIME, &t0);
    printf("realtime_2026 %d\n", t0.tv_sec >= 1767225600L && t0.tv_sec < 1767225600L + 3600);
    show("clock_bad", clock_gettime(99, &t0));

    unsigned char r[16] = {0};
    show("getrandom", getentropy(r, 16));
    printf("random_nonzero %d\n", (r[0] | r[1] | r[2] | r[3]) != 0);

    /* writev gathers; readv of /proc/self/exe's name via readlink */
    struct iovec iov[3] = {{"wr", 2}, {"it", 2}, {"ev\n", 3}};
    show("writev", writev(1, iov, 3));
    show("writev_efault", writev(1, (void *)16, 2));
    char exe[256];
    long n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = 0;
    printf("exe %s\n", exe);
    return 0;
}
