/*
 * efault [N] -- a bad user pointer in a system call is the call's error, not
 * the process's death.
 *
 * N times (default 1000): exec() with a path, read() into a buffer and
 * write() from a buffer that all lie in unmapped memory just above the heap.
 * Each must return -1 and the process lives on.  Then one child stores
 * through the same pointer and must be killed by the fault.  So the kernel's
 * stats must count 1 fatal fault (one process killed) and 3N efaults.
 */
#include "user.h"

static void fail(const char *what)
{
  fprintf(2, "efault: FAIL %s\n", what);
  exit(1);
}

int main(int argc, char **argv)
{
  int n = argc > 1 ? atoi(argv[1]) : 1000;
  char *bad = sbrk(0) + 16 * PGSIZE;   /* below MAXVA, above the heap: unmapped */
  char *args[] = {"echo", 0};
  int fds[2];

  if (pipe(fds) < 0 || write(fds[1], "x", 1) != 1)
    fail("pipe");
  for (int i = 0; i < n; i++) {
    if (exec(bad, args) != -1)
      fail("exec with a bad path did not return -1");
    if (write(1, bad, 8) != -1)
      fail("write from a bad buffer did not return -1");
    if (read(fds[0], bad, 1) != -1)
      fail("read into a bad buffer did not return -1");
  }
  int pid = fork();
  if (pid < 0)
    fail("fork");
  if (pid == 0) {
    *(volatile char *)bad = 1;        /* a real fault: this kills */
    fail("store through a bad pointer survived");
  }
  int status = 0;
  if (wait(&status) != pid || status != -1)
    fail("the child was not killed");
  printf("efault OK\n");
  return 0;
}
