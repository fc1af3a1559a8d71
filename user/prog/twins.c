/* twins -- run twina and twinb in turn, each forking children, and check them all.
 * Frames freed by one twin are reused by the next for its text: any translated code
 * the kernel forgot to invalidate would run in the wrong program.
 *
 *   twins [rounds] [children]
 */
#include "user.h"

int main(int argc, char *argv[])
{
  int rounds = argc > 1 ? atoi(argv[1]) : 6;
  char *children = argc > 2 ? argv[2] : "4";
  int n = atoi(children);
  for (int r = 0; r < rounds; r++) {
    char *name = (r & 1) ? "twinb" : "twina";
    int want = (n * 7 + ((r & 1) ? 1717 : 1234)) & 0x7f;  /* what its value(n) gives */
    char *args[] = {name, children, 0};
    int pid = fork();
    if (pid < 0) {
      printf("twins: fork failed\n");
      exit(1);
    }
    if (pid == 0) {
      exec(name, args);
      printf("twins: exec %s failed\n", name);
      exit(1);
    }
    int status = -1;
    wait(&status);
    if (status != want) {
      printf("twins: round %d (%s) exited %d, want %d\n", r, name, status, want);
      exit(1);
    }
  }
  printf("twins OK\n");
  exit(0);
}
