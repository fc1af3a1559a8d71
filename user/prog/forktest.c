/* forktest -- fill the process table with fork(), then reap every child.
 * With NPROC = 64 about 63 forks succeed; fork must then fail cleanly with
 * -1, every child must be waitable exactly once, and one more wait() must
 * report that there are no children left. */
#include "user.h"

#define LIMIT 1000   /* a kernel that never says no is a failure too */

static void fail(const char *what)
{
  fprintf(2, "forktest: FAIL %s\n", what);
  exit(1);
}

int main(void)
{
  int n;
  for (n = 0; n < LIMIT; n++) {
    int pid = fork();
    if (pid < 0)
      break;
    if (pid == 0)
      exit(0);            /* child: become a zombie right away */
  }
  if (n == LIMIT)
    fail("fork never failed");
  if (n < 60)
    fail("fewer than 60 forks succeeded");
  for (; n > 0; n--)
    if (wait(0) < 0)
      fail("wait stopped early");
  if (wait(0) != -1)
    fail("wait got too many children");
  printf("fork test OK\n");
  return 0;
}
