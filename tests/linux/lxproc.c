/* fork, execve with an environment, wait4 status words, WNOHANG, and deaths by signal. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static void report(const char *what, pid_t pid) {
    int st = 0;
    pid_t got = waitpid(pid, &st, 0);
    if (WIFEXITED(st))
        printf("%s pid_ok=%d exited %d\n", what, got == pid, WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        printf("%s pid_ok=%d signal %d\n", what, got == pid, WTERMSIG(st));
    else
        printf("%s status %#x\n", what, st);
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "child") == 0) {
        printf("child argv %s %s env %s\n", argv[1], argc > 2 ? argv[2] : "-", getenv("GREETING") ? getenv("GREETING") : "(none)");
        printf("child path %s\n", getenv("PATH") ? getenv("PATH") : "(none)");
        return 42;
    }
    setvbuf(stdout, 0, _IONBF, 0);
    pid_t pid = fork();
    if (pid == 0) _exit(7);
    report("exit7", pid);

    pid = fork();
    if (pid == 0) { *(volatile int *)8 = 1; _exit(0); }
    report("segv", pid);

    pid = fork();
    if (pid == 0) { __builtin_trap(); }
    report("trap", pid);

    pid = fork();
    if (pid == 0) { __asm__ volatile("ebreak"); _exit(0); }
    report("ebreak", pid);

    pid = fork();
    if (pid == 0) {
        struct timespec d = {0, 20000000};
        nanosleep(&d, 0);
        _exit(3);
    }
    int st;
    printf("wnohang %d\n", waitpid(pid, &st, WNOHANG));
    report("slept", pid);
    printf("no_children %d %d\n", waitpid(-1, &st, 0), errno);

    pid = fork();
    if (pid == 0) {
        char *args[] = {"lxproc", "child", "two", 0};
        char *env[] = {"GREETING=hello", 0};
        execve("/proc/self/exe", args, env);
        _exit(99);
    }
    report("execve", pid);

    pid = fork();
    if (pid == 0) {
        char *args[] = {"nothing", 0};
        execve("/no/such/program", args, environ);
        _exit(errno);
    }
    report("execve_enoent", pid);

    /* threads are refused */
    long r = syscall(SYS_clone, 0x100 | 0x10000 | 0x800, 0, 0, 0, 0);
    printf("thread_clone %ld %d\n", r, errno);
    return 0;
}
