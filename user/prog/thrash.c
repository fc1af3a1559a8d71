/* thrash N PAGES PASSES -- fork N children; each grows its own array of PAGES
 * pages and sweeps it PASSES times, storing into every word, then checks the
 * last pass's values.  The parent waits for them all.  With N copies whose
 * arrays together exceed memory, this is the multiprogramming-level workload
 * of the thrashing experiment (pagelab sweep --thrashing).  Prints
 * "thrash: N ok" when every child checked its array. */
#include "user.h"

static void child(int id, unsigned long pages, int passes)
{
  unsigned long words = pages * PGSIZE / sizeof(unsigned long);
  unsigned long *a = (unsigned long *)sbrk((int)(pages * PGSIZE));
  if (a == (unsigned long *)-1) {
    fprintf(2, "thrash: child %d: sbrk failed\n", id);
    exit(1);
  }
  for (int pass = 0; pass < passes; pass++)
    for (unsigned long i = 0; i < words; i++)
      a[i] = i * 2654435761UL + (unsigned long)(pass + id);
  for (unsigned long i = 0; i < words; i++)
    if (a[i] != i * 2654435761UL + (unsigned long)(passes - 1 + id)) {
      fprintf(2, "thrash: child %d: word %d lost\n", id, (int)i);
      exit(1);
    }
  exit(0);
}

int main(int argc, char **argv)
{
  if (argc < 4) {
    fprintf(2, "usage: thrash N PAGES PASSES\n");
    exit(1);
  }
  int n = atoi(argv[1]);
  unsigned long pages = (unsigned long)atoi(argv[2]);
  int passes = atoi(argv[3]);
  if (n < 1 || pages < 1 || passes < 1) {
    fprintf(2, "thrash: N, PAGES and PASSES must be positive\n");
    exit(1);
  }
  for (int i = 0; i < n; i++) {
    int pid = fork();
    if (pid < 0) {
      fprintf(2, "thrash: fork %d failed\n", i);
      exit(1);
    }
    if (pid == 0)
      child(i, pages, passes);
  }
  int bad = 0;
  for (int i = 0; i < n; i++) {
    int st;
    if (wait(&st) < 0 || st != 0)
      bad++;
  }
  if (bad) {
    fprintf(2, "thrash: %d of %d children failed\n", bad, n);
    exit(1);
  }
  printf("thrash: %d ok\n", n);
  exit(0);
}
