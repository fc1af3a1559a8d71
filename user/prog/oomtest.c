/*
 * oomtest [MiB] -- running out of memory kills only the process at fault.
 *
 * A child grows its heap to argv[1] MiB (default 512, 4x the default RAM)
 * and touches every page.  With lazy allocation sbrk succeeds and a page
 * fault eventually finds no free frame, so the kernel kills the child
 * (status -1).  An eager kernel refuses the sbrk instead; with enough swap
 * the child may even finish.  Either way the parent must then be able to
 * get memory again -- the dead child's frames were freed -- and to fork.
 */
#include "user.h"

static void fail(const char *what)
{
  fprintf(2, "oomtest: FAIL %s\n", what);
  exit(1);
}

#define SBRK_REFUSED 3

static void hog(unsigned long size)
{
  char *p = sbrk(0);
  for (unsigned long left = size; left > 0;) {  /* sbrk takes an int */
    int chunk = left > (1UL << 30) ? (1 << 30) : (int)left;
    if (sbrk(chunk) == (char *)-1)
      exit(SBRK_REFUSED);
    left -= chunk;
  }
  for (unsigned long off = 0; off < size; off += PGSIZE)
    *(volatile char *)(p + off) = 1;
  exit(0);
}

int main(int argc, char **argv)
{
  int mib = argc > 1 ? atoi(argv[1]) : 512;
  if (mib < 4)
    mib = 4;

  int pid = fork();
  if (pid < 0)
    fail("fork");
  if (pid == 0)
    hog((unsigned long)mib << 20);
  int st = 12345;
  if (wait(&st) != pid)
    fail("wait");
  if (st == -1)
    printf("oomtest: child killed when memory ran out\n");
  else if (st == SBRK_REFUSED)
    printf("oomtest: sbrk refused\n");
  else if (st == 0)
    printf("oomtest: child touched all its pages\n");
  else
    fail("unexpected child status");

  /* half of physical memory (mib/4 is RAM) must be available again */
  unsigned long size = (unsigned long)mib << 20 >> 3;
  char *p = sbrk((int)size);
  if (p == (char *)-1)
    fail("sbrk after the child died");
  for (unsigned long off = 0; off < size; off += PGSIZE)
    *(volatile unsigned long *)(p + off) = off;
  for (unsigned long off = 0; off < size; off += PGSIZE)
    if (*(volatile unsigned long *)(p + off) != off)
      fail("memory after the child died");
  sbrk(-(int)size);

  pid = fork();
  if (pid < 0)
    fail("fork after the child died");
  if (pid == 0)
    exit(0);
  if (wait(&st) != pid || st != 0)
    fail("second child");
  printf("oomtest OK\n");
  return 0;
}
