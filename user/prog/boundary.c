/* boundary -- a program whose text and data segments share a page (linked with
 * user/boundary.ld): the page holds the end of the code (and rodata) and the
 * start of the initialised data.  It runs code from that page, reads and
 * writes its data, and checks that a forked child's stores stay private and
 * that the file never changes (run it twice: the second run sees the original
 * data again).
 */
#include "user.h"

static const char motto[] = "text and data share a page";
int counter = 7;                 /* .data: in the shared page */
int values[4] = {1, 2, 3, 4};
static char zeros[8192];         /* .bss: starts in the last data page */

/* Placed last in .text (see boundary.ld), so its code is in the shared page. */
__attribute__((section(".text.last"), noinline)) int last_fn(int x)
{
  return x * 3 + counter;
}

static int fail(const char *what)
{
  printf("boundary: %s\n", what);
  exit(1);
}

int main(void)
{
  if (strcmp(motto, "text and data share a page") != 0)
    fail("rodata wrong");
  if (counter != 7 || values[3] != 4)
    fail("data wrong (a store reached the file?)");
  for (int i = 0; i < (int)sizeof(zeros); i++)
    if (zeros[i])
      fail("bss not zero");
  if (last_fn(2) != 13)
    fail("code in the shared page wrong");
  counter = 9;                   /* a store into the page that also holds code */
  zeros[0] = 1;
  if (last_fn(2) != 15)
    fail("store not seen");
  int pid = fork();
  if (pid == 0) {
    counter = 100;
    exit(last_fn(0) == 100 ? 0 : 1);
  }
  int status = -1;
  wait(&status);
  if (status != 0)
    fail("child wrong");
  if (counter != 9 || last_fn(1) != 12)
    fail("the child's store reached the parent");
  printf("boundary OK\n");
  return 0;
}
