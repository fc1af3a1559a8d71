/* exittest -- exit statuses travel from exit() to the parent's wait().
 *   exittest      fork children exiting 0, 1, 42, -1, 255 and check each
 *                 status arrives with the right pid; also wait(0).
 *   exittest N    just exit(N), so the host can check the status itself. */
#include "user.h"

static const int codes[] = {0, 1, 42, -1, 255};
#define NCODES (int)(sizeof(codes) / sizeof(codes[0]))

static void fail(const char *what)
{
  fprintf(2, "exittest: FAIL %s\n", what);
  exit(1);
}

int main(int argc, char **argv)
{
  if (argc > 1)
    exit(atoi(argv[1]));

  int pids[NCODES];
  for (int i = 0; i < NCODES; i++) {
    pids[i] = fork();
    if (pids[i] < 0)
      fail("fork");
    if (pids[i] == 0)
      exit(codes[i]);
  }
  /* children may be reaped in any order: match each pid to its code */
  for (int n = 0; n < NCODES; n++) {
    int st = 12345;
    int pid = wait(&st);
    int i;
    for (i = 0; i < NCODES; i++)
      if (pids[i] == pid)
        break;
    if (i == NCODES)
      fail("wait returned an unknown pid");
    if (st != codes[i]) {
      fprintf(2, "exittest: FAIL child exited %d, wait says %d\n", codes[i], st);
      exit(1);
    }
    pids[i] = -2;         /* each child must be reported once */
  }

  /* a null status pointer means "don't tell me" */
  int pid = fork();
  if (pid < 0)
    fail("fork");
  if (pid == 0)
    exit(3);
  if (wait(0) != pid)
    fail("wait(0)");
  if (wait(0) != -1)
    fail("wait with no children");
  printf("exittest OK\n");
  return 0;
}
