/* forkmany N -- fork N children one after another, each exiting at once with
 * status i & 0x7f, and reap each.  Checks that a long-lived machine stays
 * bounded: the kernel keeps full records of the first exits only.  Prints
 * "forkmany: N ok". */
#include "user.h"

int main(int argc, char **argv)
{
  int n = argc > 1 ? atoi(argv[1]) : 100;
  for (int i = 0; i < n; i++) {
    int pid = fork();
    if (pid < 0) {
      fprintf(2, "forkmany: fork %d failed\n", i);
      exit(1);
    }
    if (pid == 0)
      exit(i & 0x7f);
    int st;
    if (wait(&st) != pid || st != (i & 0x7f)) {
      fprintf(2, "forkmany: wait %d wrong\n", i);
      exit(1);
    }
  }
  printf("forkmany: %d ok\n", n);
  exit(0);
}
