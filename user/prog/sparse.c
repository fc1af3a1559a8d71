/* sparse -- a 512 MiB heap touched once per MiB.  Demo workload: lazy
 * allocation gives it 512 pages, an eager kernel would need 512 MiB. */
#include "user.h"

int main(void)
{
  char *p = sbrk(512 << 20);
  if (p == (char *)-1) {
    fprintf(2, "sparse: sbrk failed\n");
    exit(1);
  }
  for (int i = 0; i < 512; i++)
    p[(unsigned long)i << 20] = i;
  printf("sparse: done\n");
  return 0;
}
