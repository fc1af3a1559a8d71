/* forkbig MIB [PAGES] -- touch a MIB-MiB heap, fork, let the child write
 * PAGES pages (default 16) and exit, then check the parent's heap.
 * Demo workload: an eager fork copies every page; a COW fork copies only
 * the pages the child writes. */
#include "user.h"

int main(int argc, char **argv)
{
  unsigned long size = (unsigned long)(argc > 1 ? atoi(argv[1]) : 48) << 20;
  int pages = argc > 2 ? atoi(argv[2]) : 16;
  char *heap = sbrk((int)size);
  if (heap == (char *)-1) {
    fprintf(2, "forkbig: sbrk failed\n");
    exit(1);
  }
  for (unsigned long off = 0; off < size; off += PGSIZE)
    heap[off] = 1;                      /* every page private and dirty */

  int pid = fork();
  if (pid < 0) {
    fprintf(2, "forkbig: fork failed\n");
    exit(1);
  }
  if (pid == 0) {
    for (int i = 0; i < pages; i++)
      heap[(unsigned long)i * PGSIZE] = 2;
    exit(0);
  }
  int status;
  if (wait(&status) != pid || status != 0) {
    fprintf(2, "forkbig: child failed\n");
    exit(1);
  }
  for (unsigned long off = 0; off < size; off += PGSIZE)
    if (heap[off] != 1) {
      fprintf(2, "forkbig: FAIL child's write reached the parent\n");
      exit(1);
    }
  printf("forkbig: %lu MiB, child wrote %d pages\n", size >> 20, pages);
  return 0;
}
