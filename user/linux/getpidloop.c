/* getpidloop N: N getpid() calls through musl, for `pagelab bench`'s linux_syscall_ratio
 * (the cost of a Linux system call against a bare ecall hook). Prints nothing. */
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 100000;
    long sum = 0;
    for (long i = 0; i < n; i++) sum += getpid();
    return n > 0 && sum == 0; /* a pid is never 0: exit 0 */
}
