/* swaptest N [plain|fork|loop] -- fill N bytes of heap (more than RAM when
 * testing swap) with a pattern, then check every byte of it, twice.
 *   plain: fill, check, rewrite half the words, check again;
 *   fork:  fill, fork; the child checks, rewrites its copy and checks it,
 *          the parent waits and then checks that its own copy is untouched;
 *   loop:  touch the pages in order, over and over (for replacement tests);
 *   oom:   a child does "plain" while this parent holds almost nothing, and
 *          the parent reports how the child ended (the OOM killer's victim
 *          must be the child, the larger process, and the parent lives on).
 * Prints a checksum so the host can compare runs.  N may end in K, M or G. */
#include "user.h"

static unsigned long value(unsigned long word, unsigned long gen)
{
  unsigned long x = (word + 1) * 0x9E3779B97F4A7C15UL ^ (gen << 56);
  return x ^ (x >> 29);
}

static unsigned long *base;
static unsigned long nwords;

static void fill(unsigned long gen, unsigned long stride)
{
  for (unsigned long i = 0; i < nwords; i += stride)
    base[i] = value(i, gen);
}

/* Word i must hold value(i, gen) if i % stride == 0, else value(i, old). */
static unsigned long check(const char *who, unsigned long gen, unsigned long stride, unsigned long old)
{
  unsigned long sum = 0;
  for (unsigned long i = 0; i < nwords; i++) {
    unsigned long want = value(i, i % stride == 0 ? gen : old);
    if (base[i] != want) {
      fprintf(2, "swaptest: %s: FAIL word %lu\n", who, i);
      exit(1);
    }
    sum += base[i];
  }
  return sum;
}

int main(int argc, char **argv)
{
  if (argc < 2) {
    fprintf(2, "usage: swaptest N[K|M|G] [plain|fork|loop]\n");
    exit(1);
  }
  unsigned long size = parse_size(argv[1]);
  char mode = argc > 2 ? argv[2][0] : 'p';
  if (mode == 'o') {
    int pid = fork();
    if (pid == 0) {
      char *args[] = {"swaptest", argv[1], "plain", 0};
      exec("swaptest", args);
      exit(5);
    }
    int status = 0;
    wait(&status);
    printf("swaptest: child %d ended with status %d; parent alive\n", pid, status);
    return 0;
  }
  base = (unsigned long *)sbrk((int)size);
  if (base == (unsigned long *)-1) {
    fprintf(2, "swaptest: sbrk failed\n");
    exit(1);
  }
  nwords = size / sizeof(unsigned long);
  if (mode == 'l') {
    unsigned long rounds = argc > 3 ? parse_size(argv[3]) : 10;
    for (unsigned long r = 0; r < rounds; r++)
      for (unsigned long i = 0; i < nwords; i += PGSIZE / sizeof(unsigned long))
        base[i] += r;
    printf("swaptest: loop done\n");
    return 0;
  }
  fill(1, 1);
  unsigned long sum = check("first pass", 1, 1, 1);
  if (mode == 'f') {
    int pid = fork();
    if (pid < 0) {
      fprintf(2, "swaptest: fork failed\n");
      exit(1);
    }
    if (pid == 0) {
      check("child", 1, 1, 1);
      fill(3, 2);
      check("child after writing", 3, 2, 1);
      exit(7);
    }
    int status = -1;
    wait(&status);
    if (status != 7) {
      fprintf(2, "swaptest: child exited %d\n", status);
      exit(1);
    }
  } else {
    fill(2, 2);
    check("second pass", 2, 2, 1);
  }
  if (check("last pass", mode == 'f' ? 1 : 2, mode == 'f' ? 1 : 2, 1) == 0)
    printf("swaptest: zero sum\n");
  printf("swaptest: ok %lu words, checksum %lx\n", nwords, sum);
  return 0;
}
