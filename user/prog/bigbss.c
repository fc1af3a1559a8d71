/* bigbss -- a 256 MiB BSS array, twice the default RAM.  Demo workload:
 * an eager exec cannot even load it; with zero-fill on demand reading
 * every 16th page costs almost nothing and only 4 pages get frames. */
#include "user.h"

#define SIZE (256 << 20)
static char big[SIZE];

int main(void)
{
  unsigned long sum = 0;
  for (unsigned long off = 0; off < SIZE; off += 16 * PGSIZE)
    sum += ((volatile char *)big)[off];
  for (int k = 0; k < 4; k++)                 /* pages 0, 16384, ... */
    big[(unsigned long)k * (SIZE / 4)] = k + 1;
  for (unsigned long off = 0; off < SIZE; off += 16 * PGSIZE)
    sum += ((volatile char *)big)[off];
  printf("bigbss: sum %lu\n", sum);           /* 1+2+3+4 = 10 */
  return 0;
}
