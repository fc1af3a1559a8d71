/*
 * sbrktype typed|ignored -- sbrk(n, type) as xv6-riscv passes it since 2024.
 *
 * System call 12 takes a second argument there: SBRK_EAGER (1) allocates
 * every page at once and fails cleanly when memory is short, SBRK_LAZY (2)
 * only moves the break.  Older binaries leave that register undefined, so
 * the kernel honours it only when asked (`pagelab run --sbrk-type`).
 *
 *   typed    run with --sbrk-type: a 1 GiB eager sbrk fails (-1, the break
 *            unchanged), a 1 GiB lazy one succeeds; then 64 pages eager
 *            and 64 pages lazy are touched (the stats show 64 lazy faults);
 *   ignored  run without it: the type is ignored, so the 1 GiB "eager"
 *            sbrk succeeds as the kernel's lazy default grows the heap.
 *
 * Prints "sbrktype OK" and exits 0, or "sbrktype: FAIL what" on fd 2 and
 * exit 1.  Needs less than 1 GiB of memory (the default 128M).
 */
#include "user.h"

#define SBRK_EAGER 1
#define SBRK_LAZY 2
#define GIB (1 << 30)
#define NPAGES 64

static void fail(const char *what)
{
  fprintf(2, "sbrktype: FAIL %s\n", what);
  exit(1);
}

#define CHECK(cond, what) do { if (!(cond)) fail(what); } while (0)

/* System call 12 with both arguments, as xv6-riscv's sbrk and sbrklazy make it. */
static char *sbrk2(int n, int type)
{
  register long a0 __asm__("a0") = n;
  register long a1 __asm__("a1") = type;
  register long a7 __asm__("a7") = 12;
  __asm__ volatile("ecall" : "+r"(a0) : "r"(a1), "r"(a7) : "memory");
  return (char *)a0;
}

static void touch(char *p, int pages)
{
  for (int i = 0; i < pages; i++)
    p[i * PGSIZE] = (char)i;
}

int main(int argc, char **argv)
{
  if (argc != 2 || (strcmp(argv[1], "typed") && strcmp(argv[1], "ignored"))) {
    fprintf(2, "usage: sbrktype typed|ignored\n");
    exit(2);
  }
  char *brk0 = sbrk2(0, SBRK_EAGER);
  char *big = sbrk2(GIB, SBRK_EAGER);
  if (strcmp(argv[1], "ignored") == 0) {
    CHECK(big == brk0, "without --sbrk-type a 1 GiB sbrk is lazy and succeeds");
    CHECK(sbrk2(-GIB, SBRK_EAGER) == brk0 + GIB, "shrink");
    printf("sbrktype OK\n");
    exit(0);
  }
  CHECK(big == (char *)-1, "a 1 GiB SBRK_EAGER must fail (run with --sbrk-type)");
  CHECK(sbrk2(0, SBRK_LAZY) == brk0, "a failed SBRK_EAGER moved the break");
  CHECK(sbrk2(GIB, SBRK_LAZY) == brk0, "a 1 GiB SBRK_LAZY must succeed");
  CHECK(sbrk2(-GIB, SBRK_LAZY) == brk0 + GIB, "shrink");

  char *e = sbrk2(NPAGES * PGSIZE, SBRK_EAGER);
  CHECK(e == brk0, "64 pages SBRK_EAGER");
  touch(e, NPAGES);  /* no faults: the pages are there */
  char *l = sbrk2(NPAGES * PGSIZE, SBRK_LAZY);
  CHECK(l == brk0 + NPAGES * PGSIZE, "64 pages SBRK_LAZY");
  touch(l, NPAGES);  /* 64 lazy faults */
  for (int i = 0; i < NPAGES; i++)
    CHECK(e[i * PGSIZE] == (char)i && l[i * PGSIZE] == (char)i, "read back");
  printf("sbrktype OK\n");
  exit(0);
}
