/* bigdata [w] -- read the first byte of every page of a 24 MiB array and count
 * those that are set; with w, also store into each page (private copies).  Built, the array is BSS; the tests turn it into 24 MiB
 * of initialised data by rewriting the data segment's header (filesz = memsz)
 * and appending the bytes, to check that an image too big for memory fails
 * cleanly: with --no-demand exec returns -1; with demand paging the process is
 * killed for lack of memory at a fault; no frame leaks either way.
 */
#include "user.h"

#define SIZE (24 << 20)
static char big[SIZE];

int main(int argc, char *argv[])
{
  int write = argc > 1 && argv[1][0] == 'w';
  unsigned long set = 0;
  for (unsigned long off = 0; off < SIZE; off += PGSIZE) {
    if (((volatile char *)big)[off])
      set++;
    if (write)
      big[off] = 2;
  }
  printf("bigdata: %lu of %d pages set\n", set, SIZE / PGSIZE);
  return 0;
}
