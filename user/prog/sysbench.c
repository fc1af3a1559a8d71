/* sysbench MODE [N] -- loops for `pagelab bench`: each costs mostly kernel time.
 *   getpid N   N getpid() calls
 *   pipe N     N one-byte round trips between two processes over two pipes
 *   fork N     N times fork(); the child exits at once; wait()
 *   exec N     N times fork(); the child execs "sysbench nop"; wait()
 *   cpu2 N     two children, each running N steps of a generator and touching
 *              pages as it goes; prints both results (a determinism test)
 *   nop        exit(0) at once
 */
#include "user.h"

static void die(const char *what)
{
  fprintf(2, "sysbench: %s failed\n", what);
  exit(1);
}

static void pingpong(int n)
{
  int ab[2], ba[2];
  char c = 'x';
  if (pipe(ab) < 0 || pipe(ba) < 0)
    die("pipe");
  int pid = fork();
  if (pid < 0)
    die("fork");
  if (pid == 0) {
    for (int i = 0; i < n; i++) {
      if (read(ab[0], &c, 1) != 1 || write(ba[1], &c, 1) != 1)
        die("child pipe");
    }
    exit(0);
  }
  for (int i = 0; i < n; i++) {
    if (write(ab[1], &c, 1) != 1 || read(ba[0], &c, 1) != 1)
      die("parent pipe");
  }
  wait(0);
}

static unsigned long churn(long n, int seed)
{
  unsigned long x = seed;
  char *pages = sbrk(16 * PGSIZE);
  for (long i = 0; i < n; i++) {
    x = x * 6364136223846793005UL + 1442695040888963407UL;
    x ^= x >> 29;
    if ((i & 1023) == 0)
      pages[(x >> 7) % (16 * PGSIZE)] = (char)x;
  }
  return x;
}

int main(int argc, char **argv)
{
  char *mode = argc > 1 ? argv[1] : "nop";
  int n = argc > 2 ? atoi(argv[2]) : 1000;
  if (!strcmp(mode, "nop"))
    exit(0);
  if (!strcmp(mode, "getpid")) {
    for (int i = 0; i < n; i++)
      getpid();
  } else if (!strcmp(mode, "pipe")) {
    pingpong(n);
  } else if (!strcmp(mode, "fork") || !strcmp(mode, "exec")) {
    char *nop[] = {"sysbench", "nop", 0};
    for (int i = 0; i < n; i++) {
      int pid = fork();
      if (pid < 0)
        die("fork");
      if (pid == 0) {
        if (mode[0] == 'e')
          exec("/sysbench", nop);
        exit(0);
      }
      if (wait(0) != pid)
        die("wait");
    }
  } else if (!strcmp(mode, "cpu2")) {
    for (int k = 0; k < 2; k++) {
      int pid = fork();
      if (pid < 0)
        die("fork");
      if (pid == 0) {
        printf("cpu2 child %d: %lu\n", k, churn(n, k + 1));
        exit(0);
      }
    }
    wait(0);
    wait(0);
  } else {
    fprintf(2, "sysbench: unknown mode %s\n", mode);
    exit(2);
  }
  exit(0);
}
