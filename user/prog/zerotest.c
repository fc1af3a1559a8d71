/*
 * zerotest -- zero-fill on demand.
 *
 * A 64 MiB BSS array and 256 MiB of fresh heap must read as zero page by
 * page.  With a shared zero page this costs almost no memory (256 MiB is
 * twice the default RAM); writes to a few pages must then not leak into
 * any other page.
 */
#include "user.h"

#define BIG (64 << 20)
static char big[BIG];

static void fail(const char *what)
{
  fprintf(2, "zerotest: FAIL %s\n", what);
  exit(1);
}

/* Read one word in every page of [p, p+len); each must be zero except for
 * the pages in skip[] (page indexes). */
static void check_zero(const char *p, unsigned long len, const int *skip, int nskip)
{
  for (unsigned long pg = 0; pg < len / PGSIZE; pg++) {
    int skipped = 0;
    for (int k = 0; k < nskip; k++)
      skipped |= skip[k] == (int)pg;
    if (skipped)
      continue;
    /* the word holding byte 100 (where writes go) and one that varies */
    const volatile unsigned long *w = (const unsigned long *)(p + pg * PGSIZE);
    if (w[96 / 8] != 0 || w[(pg * 37) % (PGSIZE / 8)] != 0)
      fail("a fresh page is not zero");
  }
}

int main(void)
{
  static const int written[] = {0, 1000, 4096, BIG / PGSIZE - 1};
  const int nw = sizeof(written) / sizeof(written[0]);

  check_zero(big, BIG, 0, 0);
  for (int k = 0; k < nw; k++)
    big[(unsigned long)written[k] * PGSIZE + 100] = 1 + k;
  for (int k = 0; k < nw; k++)
    if (big[(unsigned long)written[k] * PGSIZE + 100] != 1 + k)
      fail("a written BSS page did not read back");
  check_zero(big, BIG, written, nw);   /* neighbours stay zero */

  char *heap = sbrk(256 << 20);
  if (heap == (char *)-1)
    fail("sbrk(256 MiB)");
  check_zero(heap, 256 << 20, 0, 0);

  printf("zerotest OK\n");
  return 0;
}
