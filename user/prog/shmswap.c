/* shmswap N [rounds] -- a parent and its child share N bytes of anonymous memory
 * (mmap MAP_SHARED|MAP_ANONYMOUS before fork), more than RAM when testing swap.
 * Each round, one writes every word and the other checks every word: what one
 * process wrote must reach the other even when the page went to swap in
 * between.  A last round has both write their own half (even pages: parent,
 * odd pages: child) at the same time, then both check everything.  The parent
 * writes every page once before the fork, so that all of them are shared.  Pipes carry
 * only "your turn" bytes: the data itself goes through the shared memory.
 * Prints the sum of the final contents so the host can compare runs.
 * N may end in K, M or G. */
#include "user.h"

static unsigned long value(unsigned long word, unsigned long gen)
{
  unsigned long x = (word + 1) * 0x9E3779B97F4A7C15UL ^ (gen << 48);
  return x ^ (x >> 31);
}

#define WORDS_PER_PAGE (PGSIZE / sizeof(unsigned long))

static unsigned long *base;
static unsigned long nwords;

/* The generation word i holds after the last round: even pages the parent's
 * gen, odd pages the child's. */
static unsigned long final_gen(unsigned long i, unsigned long pgen, unsigned long cgen)
{
  return (i / WORDS_PER_PAGE) % 2 == 0 ? pgen : cgen;
}

static void fill(unsigned long gen, int parity)
{
  for (unsigned long i = 0; i < nwords; i++)
    if (parity < 0 || (int)((i / WORDS_PER_PAGE) % 2) == parity)
      base[i] = value(i, gen);
}

static unsigned long check(const char *who, unsigned long pgen, unsigned long cgen)
{
  unsigned long sum = 0;
  for (unsigned long i = 0; i < nwords; i++) {
    if (base[i] != value(i, final_gen(i, pgen, cgen))) {
      fprintf(2, "shmswap: %s: FAIL word %lu (page %lu): %lx, not %lx\n", who, i, i / WORDS_PER_PAGE,
              base[i], value(i, final_gen(i, pgen, cgen)));
      exit(1);
    }
    sum += base[i];
  }
  return sum;
}

static void send(int fd)
{
  if (write(fd, "x", 1) != 1) {
    fprintf(2, "shmswap: pipe write failed\n");
    exit(1);
  }
}

static void receive(int fd)
{
  char c;
  if (read(fd, &c, 1) != 1) {
    fprintf(2, "shmswap: pipe read failed\n");
    exit(1);
  }
}

int main(int argc, char **argv)
{
  if (argc < 2) {
    fprintf(2, "usage: shmswap N[K|M|G] [rounds]\n");
    exit(1);
  }
  unsigned long size = parse_size(argv[1]);
  int rounds = argc > 2 ? atoi(argv[2]) : 2;
  base = mmap(0, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (base == MAP_FAILED) {
    fprintf(2, "shmswap: mmap failed\n");
    exit(1);
  }
  nwords = size / sizeof(unsigned long);
  /* Every page is written before the fork, so that the exchange starts from known
   * contents; fork shares the region's pages whether or not they were touched. */
  fill(0, -1);
  int down[2], up[2];  /* parent -> child, child -> parent */
  if (pipe(down) < 0 || pipe(up) < 0) {
    fprintf(2, "shmswap: pipe failed\n");
    exit(1);
  }
  int pid = fork();
  if (pid < 0) {
    fprintf(2, "shmswap: fork failed\n");
    exit(1);
  }
  int child = pid == 0;
  unsigned long gen = 1;
  for (int r = 0; r < rounds; r++, gen += 2) {
    /* The parent writes gen, the child checks it and writes gen + 1, the
     * parent checks that. */
    if (!child) {
      fill(gen, -1);
      send(down[1]);
      receive(up[0]);
      check("parent", gen + 1, gen + 1);
    } else {
      receive(down[0]);
      check("child", gen, gen);
      fill(gen + 1, -1);
      send(up[1]);
    }
  }
  /* Both at once, each on its own pages, once the parent has checked the last
   * round; then each checks all of them. */
  if (child)
    receive(down[0]);
  else
    send(down[1]);
  fill(child ? gen + 1 : gen, child);
  send(child ? up[1] : down[1]);
  receive(child ? down[0] : up[0]);
  unsigned long sum = check(child ? "child, last" : "parent, last", gen, gen + 1);
  if (child) {
    /* The parent unmaps after the child has gone: the child's exit alone must
     * free nothing the parent still maps. */
    exit(0);
  }
  int status = -1;
  wait(&status);
  if (status != 0) {
    fprintf(2, "shmswap: child exited %d\n", status);
    exit(1);
  }
  if (check("parent, after the child", gen, gen + 1) != sum) {
    fprintf(2, "shmswap: FAIL sums differ\n");
    exit(1);
  }
  if (munmap(base, size) != 0) {
    fprintf(2, "shmswap: munmap failed\n");
    exit(1);
  }
  printf("shmswap: ok %lu words, %d rounds, sum %lx\n", nwords, rounds, sum);
  return 0;
}
