/* stopme FILE [sys|compute|read] -- a program that never ends by itself, for the
 * tests of host signals (SIGTERM, SIGINT, SIGHUP stop a run in order).
 *
 * It maps the first two pages of FILE shared (zeroing FILE to that length if it is shorter),
 * stores "stopme dirty N" at the start of each page through the mapping, and prints
 * "stopme: ready" once the stores are done. Only the mapping holds those bytes: they
 * reach FILE only if the kernel writes the dirty pages back. Then, forever:
 *   sys      stores a counter through the mapping and makes a system call, in a loop;
 *   compute  stores a counter through the mapping, with no system call at all;
 *   read     reads the console (blocks until input comes; at end of input, reads again).
 */
#include "user.h"

#define NPAGES 2

static void fail(const char *what)
{
  fprintf(2, "stopme: FAIL %s\n", what);
  exit(1);
}

int main(int argc, char **argv)
{
  if (argc < 2)
    fail("usage: stopme FILE [sys|compute|read]");
  const char *mode = argc > 2 ? argv[2] : "sys";
  int fd = open(argv[1], O_CREATE | O_RDWR);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0)
    fail("open");
  static char zeros[PGSIZE];
  if (st.size < NPAGES * PGSIZE)
    for (int i = 0; i < NPAGES; i++)
      if (write(fd, zeros, sizeof(zeros)) != sizeof(zeros))
        fail("write");
  char *p = mmap(0, NPAGES * PGSIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED)
    fail("mmap");
  for (int i = 0; i < NPAGES; i++) {
    char *q = p + i * PGSIZE;
    const char *tag = "stopme dirty ";
    while (*tag)
      *q++ = *tag++;
    *q = '0' + i;
  }
  printf("stopme: ready\n");
  volatile unsigned long *counter = (volatile unsigned long *)(p + PGSIZE + 64);
  unsigned long x = 1;
  if (strcmp(mode, "read") == 0) {
    char c;
    for (;;)
      read(0, &c, 1);
  }
  int sys = strcmp(mode, "sys") == 0;
  for (;;) {
    x = x * 6364136223846793005UL + 1442695040888963407UL;
    *counter = x;
    if (sys)
      getpid();
  }
}
