/* twina -- one of two twin programs (see twinb.c) with the same layout and different
 * code: value() returns another constant, the rest is byte for byte the same size.
 * It forks children that each exit with value(i); the parent checks each status with
 * its own copy of the code.  If a child ran translated code left over from the other
 * twin in a reused frame (a stale translation), its status is the other twin's.
 * It exits with value(n) & 0x7f, for twins.c to check the same way (1000 = failed).
 *
 *   twina [n]    fork n children in turn (default 8)
 */
#include "user.h"

#ifndef TWIN_VALUE
#define TWIN_VALUE 1234
#define TWIN_NAME "twina"
#endif

__attribute__((noinline)) int value(int k)
{
  return k * 7 + TWIN_VALUE;
}

int main(int argc, char *argv[])
{
  int n = argc > 1 ? atoi(argv[1]) : 8;
  for (int i = 0; i < n; i++) {
    int pid = fork();
    if (pid < 0) {
      printf(TWIN_NAME ": fork failed\n");
      exit(1000);
    }
    if (pid == 0)
      exit(value(i) & 0x7f);
    int status = -1;
    wait(&status);
    if (status != ((i * 7 + TWIN_VALUE) & 0x7f)) {
      printf(TWIN_NAME ": child %d exited %d, want %d: it ran other code\n", i, status,
             (i * 7 + TWIN_VALUE) & 0x7f);
      exit(1000);
    }
  }
  exit(value(n) & 0x7f);
}
