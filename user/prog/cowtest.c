/*
 * cowtest [MiB] -- copy-on-write fork.
 *
 *   a. fork a process whose heap is ~60% of RAM (argv[1] MiB, default 80
 *      of the default 128): an eager copy would not fit, COW shares it; the
 *      child's writes must not show in the parent;
 *   b. parent and child write the same page, each sees its own value;
 *   c. the kernel writing into a shared page (read() from a pipe) copies it;
 *   d. a chain of 10 nested forks, each level changing a shared global;
 *   e. text stays read-only: a child storing into its code is killed.
 */
#include "user.h"

static void fail(const char *what)
{
  fprintf(2, "cowtest: FAIL %s\n", what);
  exit(1);
}

static int wait_status(int pid)
{
  int st = 12345;
  if (wait(&st) != pid)
    fail("wait");
  return st;
}

static unsigned long pattern(unsigned long page) { return page * 0x9e3779b97f4a7c15UL + 7; }

static void big_fork(int mib)
{
  unsigned long size = (unsigned long)mib << 20, npages = size / PGSIZE;
  char *p = sbrk((int)size);
  if (p == (char *)-1)
    fail("sbrk");
  for (unsigned long i = 0; i < npages; i++)          /* really allocate it */
    *(unsigned long *)(p + i * PGSIZE) = pattern(i);

  int pid = fork();
  if (pid < 0)
    fail("fork of a big process (no COW?)");
  if (pid == 0) {
    unsigned long mine[] = {0, npages / 3, npages / 2, npages - 1};
    for (int k = 0; k < 4; k++)
      *(volatile unsigned long *)(p + mine[k] * PGSIZE) = 0xc0ffee + k;
    for (int k = 0; k < 4; k++)
      if (*(volatile unsigned long *)(p + mine[k] * PGSIZE) != 0xc0ffee + (unsigned long)k)
        exit(1);
    exit(0);
  }
  if (wait_status(pid) != 0)
    fail("child could not write its copy");
  for (unsigned long i = 0; i < npages; i++)
    if (*(unsigned long *)(p + i * PGSIZE) != pattern(i))
      fail("child's write showed up in the parent");
  sbrk(-(int)size);                                  /* leave room for the rest */
}

static volatile long cell[512] = {1};                /* one page of .data */

static void both_write(void)
{
  int pid = fork();
  if (pid < 0)
    fail("fork");
  if (pid == 0) {
    cell[0] = 2;
    exit(cell[0] == 2 ? 0 : 1);
  }
  cell[0] = 3;
  if (wait_status(pid) != 0)
    fail("child did not see its own write");
  if (cell[0] != 3)
    fail("parent did not keep its own write");
}

static void pipe_into_cow(void)
{
  static const char msg[] = "written by the kernel";
  int n = sizeof(msg);
  char *buf = sbrk(PGSIZE);
  if (buf == (char *)-1)
    fail("sbrk");
  memset(buf, 'P', PGSIZE);

  int p[2];
  if (pipe(p) < 0)
    fail("pipe");
  int pid = fork();
  if (pid < 0)
    fail("fork");
  if (pid == 0) {
    /* Read the page first, so the TLB maps it to the shared frame: the copy that
     * copyout makes must not stay hidden behind that entry. */
    if (((volatile char *)buf)[100] != 'P')
      exit(3);
    /* copyout into a page shared with the parent must copy it first */
    if (read(p[0], buf + 100, n) != n || memcmp(buf + 100, msg, n) != 0)
      exit(1);
    if (buf[99] != 'P' || buf[100 + n] != 'P')
      exit(2);
    /* The same for a fresh heap page that reads have mapped to the zero frame. */
    volatile char *fresh = sbrk(PGSIZE);
    if (fresh == (char *)-1 || fresh[8] != 0)
      exit(4);
    if (read(p[0], (char *)fresh + 8, n) != n || memcmp((char *)fresh + 8, msg, n) != 0)
      exit(5);
    exit(0);
  }
  if (write(p[1], msg, n) != n || write(p[1], msg, n) != n)
    fail("write to pipe");
  if (wait_status(pid) != 0)
    fail("child's read() into a COW page");
  for (int i = 0; i < PGSIZE; i++)
    if (buf[i] != 'P')
      fail("child's read() changed the parent's page");
  close(p[0]);
  close(p[1]);
}

static volatile long level = 100;

static void fork_chain(void)
{
  for (int depth = 0; depth < 10; depth++) {
    int pid = fork();
    if (pid < 0) {
      if (depth == 0)
        fail("fork");
      exit(1);
    }
    if (pid == 0) {                 /* child: inherit, then change */
      if (level != 100 + depth)
        exit(1);
      level = 100 + depth + 1;
      continue;
    }
    int st = 12345;
    int ok = wait(&st) == pid && st == 0 && level == 100 + depth;
    if (depth > 0)
      exit(ok ? 0 : 1);             /* pass the verdict up the chain */
    if (!ok)
      fail("fork chain");
    return;
  }
  exit(level == 110 ? 0 : 1);       /* the deepest child */
}

/* The parent stores to a page it wrote just before fork, before the child
 * runs at all.  Its TLB still holds a writable entry for that page from the
 * pre-fork store: unless fork flushes the TLB, the store lands in the frame
 * the child shares. */
static volatile long hot[512];

static void parent_writes_first(void)
{
  hot[0] = 1;
  int pid = fork();
  if (pid < 0)
    fail("fork");
  if (pid == 0)
    exit(hot[0] == 1 ? 0 : 1);
  hot[0] = 2;
  if (wait_status(pid) != 0)
    fail("the parent's store after fork reached the child (stale TLB?)");
  if (hot[0] != 2)
    fail("the parent lost its own store");
}

int main(int argc, char **argv);

static void write_text(void)
{
  int pid = fork();
  if (pid < 0)
    fail("fork");
  if (pid == 0) {
    *(volatile int *)(unsigned long)main = 0;
    exit(0);
  }
  if (wait_status(pid) != -1)
    fail("storing into text did not kill the child");
}

int main(int argc, char **argv)
{
  int mib = argc > 1 ? atoi(argv[1]) : 80;
  if (mib < 1)
    mib = 1;
  big_fork(mib);
  both_write();
  pipe_into_cow();
  fork_chain();
  parent_writes_first();
  write_text();
  printf("cowtest OK\n");
  return 0;
}
