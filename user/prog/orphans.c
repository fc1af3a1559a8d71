/*
 * orphans [N] -- a process whose parent exits is adopted by init, which reaps it.
 *
 * N times (default 200, far more than NPROC): fork a child that forks a
 * grandchild and exits at once.  The grandchild, now an orphan, touches a few
 * pages of heap and exits.  We wait only for our own children.  If exited
 * orphans were left as zombies, the process table would fill and fork would
 * fail; if they were given to us, wait() would return pids we never forked.
 *
 * init itself cannot be killed.
 *
 * Once every grandchild is gone (a pipe they all hold reaches end of file),
 * the whole table must be free again: we fork children that block until we
 * let them go, and print how many forks succeeded (NPROC minus init and us).
 */
#include "user.h"

static void fail(const char *what)
{
  fprintf(2, "orphans: FAIL %s\n", what);
  exit(1);
}

static void grandchild(void)
{
  char *p = sbrk(4 * PGSIZE);
  if (p == (char *)-1)
    exit(1);
  for (int i = 0; i < 4; i++)
    p[i * PGSIZE] = i;
  exit(0);
}

int main(int argc, char **argv)
{
  int n = argc > 1 ? atoi(argv[1]) : 200;
  int alive[2], gate[2];
  char c;

  if (pipe(alive) < 0 || pipe(gate) < 0)
    fail("pipe");
  if (kill(1) != -1)
    fail("init could be killed");
  for (int i = 0; i < n; i++) {
    int pid = fork();
    if (pid < 0)
      fail("fork: the process table is full of unreaped orphans");
    if (pid == 0) {
      int gpid = fork();
      if (gpid < 0)
        exit(1);
      if (gpid == 0)
        grandchild();              /* holds alive[1] until it exits */
      exit(0);
    }
    int status = -1;
    if (wait(&status) != pid)
      fail("wait returned a process we never forked");
    if (status != 0)
      fail("a child could not fork its grandchild");
  }
  close(alive[1]);
  if (read(alive[0], &c, 1) != 0)  /* end of file: every grandchild has exited */
    fail("read from the alive pipe");
  if (wait(0) != -1)
    fail("wait found a child after all were reaped");

  int forks = 0;
  for (;;) {
    int pid = fork();
    if (pid < 0)
      break;
    if (pid == 0) {
      close(gate[1]);
      read(gate[0], &c, 1);        /* blocks until the parent closes its end */
      exit(0);
    }
    forks++;
  }
  close(gate[1]);
  for (int i = 0; i < forks; i++)
    if (wait(0) < 0)
      fail("wait for a blocked child");
  printf("orphans OK forks=%d\n", forks);
  return 0;
}
