/*
 * lazytest -- lazy sbrk: growing the heap only reserves address space, and
 * a page gets memory the first time it is touched.
 *
 *   1. sbrk(1 GiB) succeeds although RAM is much smaller; 8 pages spread
 *      over it can be written and read back; sbrk(-1 GiB) gives it back.
 *   2. Touching memory the process does not own kills it: a page freed by
 *      shrinking the heap, the page just above sbrk(0), the guard page
 *      below the stack.
 *   3. The kernel's own accesses fault pages in too: read() into and
 *      write() from untouched heap pages work, and the untouched page
 *      reads as zeros.
 */
#include "user.h"

static void fail(const char *what)
{
  fprintf(2, "lazytest: FAIL %s\n", what);
  exit(1);
}

/* Grow the heap so that the break is page-aligned: then the page at
 * sbrk(0) belongs to nobody. */
static char *align_brk(void)
{
  unsigned long cur = (unsigned long)sbrk(0);
  if (sbrk((PGSIZE - cur % PGSIZE) % PGSIZE) == (char *)-1)
    fail("sbrk to align");
  return sbrk(0);
}

/* Run bad() in a child; the kernel must kill it (wait status -1). */
static void must_die(void (*bad)(void), const char *what)
{
  int pid = fork();
  if (pid < 0)
    fail("fork");
  if (pid == 0) {
    bad();
    exit(0);                          /* survived: the kernel let it through */
  }
  int st = 0;
  if (wait(&st) != pid || st != -1)
    fail(what);
}

static void touch_freed(void)
{
  char *p = align_brk();
  if (sbrk(2 * PGSIZE) != p)
    fail("sbrk");
  p[0] = 1;
  p[PGSIZE] = 2;
  sbrk(-2 * PGSIZE);
  *(volatile char *)(p + PGSIZE) = 3;   /* freed: must fault fatally */
}

static void touch_above_brk(void)
{
  char *p = align_brk();
  *(volatile char *)p = 1;              /* just above the heap */
}

static void touch_guard(void)
{
  char local;
  unsigned long sp = (unsigned long)&local;
  /* one stack page; the guard page is the one right below it */
  *(volatile char *)((sp & ~(unsigned long)(PGSIZE - 1)) - PGSIZE + 8) = 1;
}

int main(void)
{
  /* 1. a sparse 1 GiB heap */
  char *base = sbrk(1 << 30);
  if (base == (char *)-1)
    fail("sbrk(1 GiB)");
  for (int i = 0; i < 8; i++)
    base[(unsigned long)i * (1 << 27) + i * 8] = 'a' + i;
  base[(1 << 30) - 1] = 'z';             /* the very last byte */
  for (int i = 0; i < 8; i++)
    if (base[(unsigned long)i * (1 << 27) + i * 8] != 'a' + i)
      fail("data in the big heap did not read back");
  if (base[(1 << 30) - 1] != 'z' || base[PGSIZE + 1] != 0)
    fail("last byte or untouched byte");
  if (sbrk(-(1 << 30)) != base + (1 << 30) || sbrk(0) != base)
    fail("sbrk(-1 GiB)");

  /* 2. bad accesses kill the process */
  must_die(touch_freed, "touching memory freed by sbrk(-n) did not kill");
  must_die(touch_above_brk, "touching above sbrk(0) did not kill");
  must_die(touch_guard, "touching the stack guard page did not kill");

  /* 3. system calls on untouched pages; the ranges cross a page boundary */
  int p[2];
  if (pipe(p) < 0)
    fail("pipe");
  char *in = sbrk(2 * PGSIZE);
  if (in == (char *)-1)
    fail("sbrk for read buffer");
  static const char msg[] = "lazily allocated pipe data";
  int n = sizeof(msg);
  if (write(p[1], msg, n) != n)
    fail("write to pipe");
  char *dst = in + PGSIZE - 10;
  if (read(p[0], dst, n) != n || memcmp(dst, msg, n) != 0)
    fail("read() into untouched heap");

  char *out = sbrk(2 * PGSIZE);
  if (out == (char *)-1)
    fail("sbrk for write buffer");
  if (write(p[1], out + PGSIZE - 100, 200) != 200)
    fail("write() from untouched heap");
  char back[200];
  if (read(p[0], back, 200) != 200)
    fail("read back");
  for (int i = 0; i < 200; i++)
    if (back[i] != 0)
      fail("untouched heap is not zero");
  close(p[0]);
  close(p[1]);

  printf("lazytest OK\n");
  return 0;
}
