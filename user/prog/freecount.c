/*
 * freecount [ROUNDS [typed]] -- the number of free frames stays flat across
 * a run, as xv6's usertests checks it.
 *
 * countfree() counts the free frames the way usertests does: a child grows
 * its heap a page at a time and stores to each page until sbrk fails (or,
 * with lazy allocation, until the kernel kills it for want of memory),
 * telling the parent of each page through a pipe.  With `typed` (run with
 * --sbrk-type) the child asks for each page with sbrk(n, SBRK_EAGER) until
 * it fails, as usertests does since 2024.
 *
 * The first count is taken before the program touches most of its pages:
 * its data and BSS (among them the page that holds the end of .data and the
 * start of .bss), and text and read-only data on pages of their own.  Then
 * ROUNDS times (default 3) the program runs a test in a child, touches
 * those pages in the parent, and counts again.  Every count must equal the
 * first: a private page the program owns must be built at exec, and text
 * and read-only data, paged in on demand, are clean cache pages the kernel
 * takes back before it refuses a frame.
 *
 * Prints "freecount OK N" (N free frames) and exits 0, or
 * "freecount: FAIL what" on fd 2 and exit 1.
 */
#include "user.h"

static int table[7] = {3, 1, 4, 1, 5, 9, 2};  /* .data, next to .bss */
static int rounds_done;                        /* .bss, next to .data */
static char scratch[6 * PGSIZE];               /* .bss, used by the tests */

/* Read-only data spread over pages of its own. */
static const char ro[3 * PGSIZE] __attribute__((aligned(PGSIZE))) = {7, [PGSIZE] = 8, [2 * PGSIZE] = 9};

static void fail(const char *what)
{
  fprintf(2, "freecount: FAIL %s\n", what);
  exit(1);
}

static int typed;  /* count with sbrk(n, SBRK_EAGER), as usertests since 2024 */

/* System call 12 with xv6-riscv's type argument (honoured with --sbrk-type). */
static char *sbrk_eager(int n)
{
  register long a0 __asm__("a0") = n;
  register long a1 __asm__("a1") = 1;  /* SBRK_EAGER */
  register long a7 __asm__("a7") = 12;
  __asm__ volatile("ecall" : "+r"(a0) : "r"(a1), "r"(a7) : "memory");
  return (char *)a0;
}

static int countfree(void)
{
  int fds[2];
  if (pipe(fds) < 0)
    fail("pipe");
  int pid = fork();
  if (pid < 0)
    fail("fork");
  if (pid == 0) {
    close(fds[0]);
    for (;;) {
      char *a = typed ? sbrk_eager(PGSIZE) : sbrk(PGSIZE);
      if (a == (char *)-1)
        break;
      if (!typed)
        a[PGSIZE - 1] = 1;
      if (write(fds[1], "p", 1) != 1)
        break;
    }
    exit(0);
  }
  close(fds[1]);
  int n = 0;
  char c;
  while (read(fds[0], &c, 1) == 1)
    n++;
  close(fds[0]);
  wait(0);
  return n;
}

/* Text on pages of their own, first run after the first count. */
__attribute__((aligned(PGSIZE), noinline)) static int text_a(int x) { return x * 3 + ro[0]; }
__attribute__((aligned(PGSIZE), noinline)) static int text_b(int x) { return x ^ ro[PGSIZE]; }
__attribute__((aligned(PGSIZE), noinline)) static int text_c(int x) { return x + ro[2 * PGSIZE]; }

/* One "test", in a child as usertests runs them: it may touch anything. */
static void run_test(int round)
{
  int pid = fork();
  if (pid < 0)
    fail("fork a test");
  if (pid == 0) {
    memset(scratch, round, sizeof(scratch));
    char *heap = sbrk(3 * PGSIZE);
    if (heap == (char *)-1)
      exit(1);
    memset(heap, 1, 3 * PGSIZE);
    exit(text_c(scratch[PGSIZE]) == round + 9 ? 0 : 1);
  }
  int st;
  if (wait(&st) != pid || st != 0)
    fail("a test failed");
}

int main(int argc, char **argv)
{
  int rounds = argc > 1 ? atoi(argv[1]) : 3;
  typed = argc > 2 && strcmp(argv[2], "typed") == 0;
  int first = countfree();
  int sum = 0;
  for (int r = 0; r < rounds; r++) {
    run_test(r);
    rounds_done++;
    table[r % 7] += rounds_done;
    sum += text_a(table[r % 7]) + text_b(r);
    int n = countfree();
    if (n != first) {
      fprintf(2, "freecount: round %d: %d free frames, %d at the start\n", r, n, first);
      fail("lost free frames");
    }
  }
  printf("freecount OK %d (%d)\n", first, sum & 1);
  exit(0);
}
