/* sleeptest -- sleep(ticks) and uptime(): time passes in ticks of executed
 * instructions, and jumps ahead when every process sleeps.  Also kill():
 * a sleeping child and a spinning child are both killed (status -1). */
#include "user.h"

static void fail(const char *what)
{
  fprintf(2, "sleeptest: FAIL %s\n", what);
  exit(1);
}

static int killed_child(int sleeper)
{
  int pid = fork();
  if (pid < 0)
    fail("fork");
  if (pid == 0) {
    if (sleeper)
      sleep(1000000);
    else
      for (volatile unsigned long i = 0;; i++)
        ;
    exit(0);                            /* not reached if kill works */
  }
  sleep(2);                             /* let the child get going */
  if (kill(pid) != 0)
    fail("kill");
  int status = 0;
  if (wait(&status) != pid)
    fail("wait");
  return status;
}

int main(void)
{
  int t0 = uptime();
  if (sleep(5) != 0)
    fail("sleep returned non-zero");
  int t1 = uptime();
  if (t1 - t0 < 5)
    fail("uptime did not advance by the slept ticks");

  /* Two sleepers and nobody runnable: the clock must jump, not spin. */
  int pid = fork();
  if (pid == 0) {
    sleep(50);
    exit(7);
  }
  sleep(20);
  int status;
  if (wait(&status) != pid || status != 7)
    fail("sleeping child");
  if (uptime() - t1 < 50)
    fail("clock did not reach the child's wake-up");

  if (killed_child(1) != -1)
    fail("killing a sleeping child");
  if (killed_child(0) != -1)
    fail("killing a spinning child");
  if (kill(99999) != -1)
    fail("kill of no such pid");
  printf("sleeptest OK\n");
  return 0;
}
