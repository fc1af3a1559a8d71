/* oomsegv -- a system call that runs out of memory does not mark the process
 * for life.  Run with --mem 2M: read() into 4 MiB of lazy heap runs out of
 * frames part-way and fails with -1; the process goes on, then makes a plain
 * wild store.  That store must be reported as the segfault it is (usertrap's
 * unexpected scause 0xf), not as "out of memory". */
#include "user.h"

#define SZ (4 << 20)

static char chunk[8 * PGSIZE];

int main(void)
{
  char *heap = sbrk(SZ);
  int fd = open("oomsegv.tmp", O_CREATE | O_RDWR);
  /* The file is written from one small buffer: only the read needs memory. */
  for (int off = 0; off < SZ; off += sizeof(chunk)) {
    if (fd < 0 || write(fd, chunk, sizeof(chunk)) != sizeof(chunk)) {
      fprintf(2, "oomsegv: cannot make the file\n");
      exit(1);
    }
  }
  close(fd);
  fd = open("oomsegv.tmp", O_RDONLY);
  int r = read(fd, heap, SZ);  /* every page needs a frame: out of memory */
  close(fd);
  unlink("oomsegv.tmp");
  printf("oomsegv: read returned %d\n", r);
  *(volatile int *)0xdeadbeef000UL = 1;
  printf("oomsegv: FAIL the wild store did not fault\n");
  exit(1);
}
