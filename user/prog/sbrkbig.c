/* sbrkbig -- grow the heap by 2 GiB - 1 again and again.  The user address
 * space is finite (Sv39: 256 GiB), so sbrk must at some point return -1
 * rather than wrap around or crash, and then leave the break unchanged. */
#include "user.h"

static void __attribute__((noreturn)) fail(const char *what)
{
  fprintf(2, "sbrkbig: FAIL %s\n", what);
  exit(1);
}

int main(void)
{
  for (int i = 0; i < 10000; i++) {
    char *before = sbrk(0);
    char *r = sbrk(0x7fffffff);
    if (r == (char *)-1) {
      if (sbrk(0) != before)
        fail("failed sbrk moved the break");
      printf("sbrkbig OK\n");
      return 0;
    }
    if (r != before)
      fail("sbrk did not return the old break");
  }
  fail("sbrk never failed");
}
