/*
 * init -- pid 1, started by the kernel at boot.
 *
 * The kernel starts the program of `pagelab run` (or sh, for `pagelab
 * shell`) as init's child.  Whenever a process exits, its children become
 * init's children, so init's one job is to wait: every orphan that exits is
 * reaped here, and its process-table slot is freed.  init never exits while
 * it has children; wait() failing means it was run as an ordinary program.
 */
#include "user.h"

int main(void)
{
  for (;;) {
    if (wait(0) < 0) {
      fprintf(2, "init: no children to wait for\n");
      exit(1);
    }
  }
}
