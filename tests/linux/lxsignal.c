/* Signals on the Linux personality: handlers with siginfo, masks, pending sets,
 * sigaltstack, SIGSEGV from a fault with si_addr, EINTR, default actions seen by wait4,
 * SIGCHLD, and the inheritance rules of fork and exec. Prints "key value" lines. */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

static volatile int got_sig, got_code, got_pid, depth_max, depth, chld;
static volatile uintptr_t got_addr, handler_sp;
static sigjmp_buf jb;

static void on_info(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    got_sig = sig;
    got_code = si->si_code;
    got_pid = si->si_pid;
    int local;
    handler_sp = (uintptr_t)&local;
}

static void on_segv(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    got_sig = sig;
    got_code = si->si_code;
    got_addr = (uintptr_t)si->si_addr;
    siglongjmp(jb, 1);
}

static void on_nested(int sig) {
    depth++;
    if (depth > depth_max) depth_max = depth;
    if (depth < 3) raise(sig); /* SA_NODEFER: delivered inside the handler */
    depth--;
}

static void on_chld(int sig) { (void)sig; chld++; }
static void on_term(int sig) { got_sig = sig; }

/* The handler moves the interrupted pc past the faulting 4-byte load. */
static void on_skip(int sig, siginfo_t *si, void *ucv) {
    (void)sig; (void)si;
    ucontext_t *uc = ucv;
    uc->uc_mcontext.__gregs[0] += 4;
    got_sig = sig;
}

static int child_status(pid_t pid) {
    int st = 0;
    if (waitpid(pid, &st, 0) != pid) return -1;
    return st;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "exec-check") == 0) {
        struct sigaction sa;
        sigaction(SIGUSR1, 0, &sa);
        printf("exec_usr1_handler %s\n", sa.sa_handler == SIG_DFL ? "default" : "kept");
        sigaction(SIGUSR2, 0, &sa);
        printf("exec_usr2_handler %s\n", sa.sa_handler == SIG_IGN ? "ignored" : "lost");
        sigset_t cur;
        sigprocmask(SIG_BLOCK, 0, &cur);
        printf("exec_mask_keeps_term %d\n", sigismember(&cur, SIGTERM));
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "raise-term") == 0) {
        raise(SIGTERM);
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "abort") == 0) abort();
    if (argc > 1 && strcmp(argv[1], "bad-altstack") == 0) {
        /* the handler's frame cannot be written: the process dies of SIGSEGV */
        stack_t bad = {.ss_sp = (void *)0x7000, .ss_size = 8192, .ss_flags = 0};
        sigaltstack(&bad, 0);
        struct sigaction b;
        memset(&b, 0, sizeof b);
        b.sa_handler = on_term;
        b.sa_flags = SA_ONSTACK;
        sigaction(SIGUSR1, &b, 0);
        raise(SIGUSR1);
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "ignore-segv") == 0) {
        signal(SIGSEGV, SIG_IGN); /* a fault's signal cannot be ignored */
        *(volatile int *)0x5000 = 1;
        return 0;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_info;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR1, &sa, 0);

    raise(SIGUSR1);
    printf("raise sig=%d code=%d\n", got_sig, got_code);

    got_sig = 0;
    kill(getpid(), SIGUSR1);
    printf("kill sig=%d code=%d pid_ok=%d\n", got_sig, got_code, got_pid == getpid());

    /* blocked: pending, not delivered, until unblocked */
    sigset_t set, pend;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, 0);
    got_sig = 0;
    raise(SIGUSR1);
    sigpending(&pend);
    printf("blocked delivered=%d pending=%d\n", got_sig, sigismember(&pend, SIGUSR1));
    sigprocmask(SIG_UNBLOCK, &set, 0);
    printf("unblocked delivered=%d\n", got_sig);

    /* ignored */
    signal(SIGUSR2, SIG_IGN);
    raise(SIGUSR2);
    printf("ignored alive 1\n");

    /* bad arguments */
    printf("bad_signal %d %d\n", sigaction(65, &sa, 0), errno);
    printf("sigkill_action %d %d\n", sigaction(SIGKILL, &sa, 0), errno);
    printf("kill_esrch %d %d\n", kill(99999, SIGUSR1), errno);
    printf("kill_zero %d\n", kill(getpid(), 0));

    /* alternate stack */
    static char alt[16384];
    stack_t ss = {.ss_sp = alt, .ss_size = sizeof alt, .ss_flags = 0};
    printf("sigaltstack %d\n", sigaltstack(&ss, 0));
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigaction(SIGUSR1, &sa, 0);
    raise(SIGUSR1);
    printf("on_altstack %d\n", handler_sp >= (uintptr_t)alt && handler_sp < (uintptr_t)alt + sizeof alt);
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR1, &sa, 0);

    /* SA_NODEFER: nested delivery */
    struct sigaction nd;
    memset(&nd, 0, sizeof nd);
    nd.sa_handler = on_nested;
    nd.sa_flags = SA_NODEFER;
    sigaction(SIGUSR2, &nd, 0);
    raise(SIGUSR2);
    printf("nodefer depth %d\n", depth_max);

    /* SIGSEGV from a fault: si_addr, SEGV_MAPERR, and back through siglongjmp */
    struct sigaction sv;
    memset(&sv, 0, sizeof sv);
    sv.sa_sigaction = on_segv;
    sv.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sv, 0);
    volatile int *bad = (int *)0x5000;
    if (sigsetjmp(jb, 1) == 0) {
        *bad = 1;
        printf("segv not raised\n");
    }
    printf("segv sig=%d code=%d addr=%#lx\n", got_sig, got_code, (unsigned long)got_addr);
    /* SEGV_ACCERR: a region that exists, with no access */
    char *ro = mmap(0, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (sigsetjmp(jb, 1) == 0) {
        ro[8] = 1;
    }
    printf("segv_accerr code=%d addr_ok=%d\n", got_code, got_addr == (uintptr_t)ro + 8);

    /* the handler moves pc on: the program goes on after the faulting instruction */
    struct sigaction sk;
    memset(&sk, 0, sizeof sk);
    sk.sa_sigaction = on_skip;
    sk.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sk, 0);
    got_sig = 0;
    int v = 7;
    __asm__ volatile(".option push\n.option norvc\nlw %0, 0(%1)\n.option pop" : "+r"(v) : "r"(0x6000L) : "memory");
    printf("skip sig=%d v=%d\n", got_sig, v);

    /* default actions seen by the parent */
    signal(SIGSEGV, SIG_DFL);
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        for (;;) pause();
    }
    kill(c, SIGTERM);
    int st = child_status(c);
    printf("child_term signaled=%d sig=%d\n", WIFSIGNALED(st), WTERMSIG(st));
    c = fork();
    if (c == 0) abort();
    st = child_status(c);
    printf("child_abort signaled=%d sig=%d\n", WIFSIGNALED(st), WTERMSIG(st));
    c = fork();
    if (c == 0) { *(volatile int *)0 = 1; _exit(0); }
    st = child_status(c);
    printf("child_segv signaled=%d sig=%d\n", WIFSIGNALED(st), WTERMSIG(st));

    /* fork keeps the handler; a blocking read is interrupted (EINTR) */
    /* fork keeps the handler; a blocking call is interrupted (EINTR) */
    fflush(stdout);
    c = fork();
    if (c == 0) {
        struct sigaction t;
        memset(&t, 0, sizeof t);
        t.sa_handler = on_term;
        sigaction(SIGTERM, &t, 0);
        struct timespec ts = {10, 0}, rem = {0, 0};
        int n = nanosleep(&ts, &rem);
        printf("child_sleep r=%d errno=%d sig=%d rem_ok=%d\n", n, errno, got_sig, rem.tv_sec < 10 && rem.tv_sec >= 9);
        fflush(stdout);
        _exit(3);
    }
    usleep(100000); /* the child has installed its handler and sleeps */
    kill(c, SIGTERM);
    st = child_status(c);
    printf("child_eintr exited=%d code=%d\n", WIFEXITED(st), WEXITSTATUS(st));

    /* SIGCHLD */
    signal(SIGCHLD, on_chld);
    c = fork();
    if (c == 0) _exit(0);
    child_status(c);
    printf("sigchld %d\n", chld);

    /* sigsuspend waits for a blocked signal, with the old mask back after */
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, 0);
    c = fork();
    if (c == 0) { kill(getppid(), SIGUSR1); _exit(0); }
    got_sig = 0;
    sigset_t none;
    sigemptyset(&none);
    int r = sigsuspend(&none);
    int e = errno;
    sigset_t cur;
    sigprocmask(SIG_BLOCK, 0, &cur);
    printf("sigsuspend r=%d errno=%d sig=%d mask_back=%d\n", r, e, got_sig, sigismember(&cur, SIGUSR1));
    child_status(c);

    /* exec: caught -> default, ignored stays, mask stays */
    signal(SIGUSR2, SIG_IGN);
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigprocmask(SIG_BLOCK, &set, 0);
    fflush(stdout);
    c = fork();
    if (c == 0) {
        char *args[] = {"lxsignal", "exec-check", 0};
        execv("/proc/self/exe", args);
        execv(argv[0], args); /* qemu-user's /proc/self/exe is qemu itself */
        printf("execv failed %d\n", errno);
        fflush(stdout);
        _exit(127);
    }
    child_status(c);
    printf("done\n");
    return 0;
}
