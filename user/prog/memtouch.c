/* memtouch N [K] [r|w] -- sbrk(N) bytes, then touch every K-th page.
 * N may end in K, M or G.  "w" (default) stores a value in each touched
 * page and then checks every value reads back; "r" only reads, and fresh
 * heap memory must read as zero.  Prints how many pages were touched. */
#include "user.h"

static void fail(const char *what)
{
  fprintf(2, "memtouch: %s\n", what);
  exit(1);
}

int main(int argc, char **argv)
{
  if (argc < 2) {
    fprintf(2, "usage: memtouch N[K|M|G] [every-K-pages] [r|w]\n");
    exit(1);
  }
  unsigned long size = parse_size(argv[1]);
  unsigned long step = argc > 2 ? parse_size(argv[2]) : 1;
  int writing = !(argc > 3 && argv[3][0] == 'r');
  if (step == 0)
    step = 1;

  /* sbrk takes an int, so grow in pieces of at most 1 GiB; the pieces are
   * contiguous because nothing else moves the break meanwhile. */
  char *base = sbrk(0);
  for (unsigned long left = size; left > 0;) {
    int chunk = left > (1UL << 30) ? (1 << 30) : (int)left;
    if (sbrk(chunk) == (char *)-1)
      fail("sbrk failed");
    left -= chunk;
  }

  unsigned long npages = (size + PGSIZE - 1) / PGSIZE, touched = 0;
  for (unsigned long i = 0; i < npages; i += step) {
    volatile unsigned long *p = (unsigned long *)(base + i * PGSIZE);
    if (writing)
      *p = i * 2654435761UL + 1;        /* a different value per page */
    else if (*p != 0)
      fail("FAIL fresh memory is not zero");
    touched++;
  }
  if (writing)                          /* read back after all the writes */
    for (unsigned long i = 0; i < npages; i += step)
      if (*(volatile unsigned long *)(base + i * PGSIZE) != i * 2654435761UL + 1)
        fail("FAIL value did not read back");
  printf("memtouch: touched %lu pages\n", touched);
  return 0;
}
