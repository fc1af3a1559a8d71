/*
 * filetouch FILE [private|shared] -- read FILE with read(), then map it and load
 * one byte of every page.
 *
 * The read() loop brings every page into the page cache, so each fault of the
 * touch loop is a page-cache hit: `pagelab bench` times them (file_fault_us).
 * Both loops sum the first byte of each page; the sums must agree.
 */
#include "user.h"

static char buf[64 * 1024];

int main(int argc, char **argv)
{
  if (argc < 2) {
    fprintf(2, "usage: filetouch FILE [private|shared]\n");
    exit(1);
  }
  int flags = argc > 2 && strcmp(argv[2], "shared") == 0 ? MAP_SHARED : MAP_PRIVATE;
  int fd = open(argv[1], O_RDONLY);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0) {
    fprintf(2, "filetouch: cannot open %s\n", argv[1]);
    exit(1);
  }
  unsigned long want = 0, off = 0;
  int n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) {
    for (int i = 0; i < n; i += PGSIZE)
      want += (unsigned char)buf[i];  /* sizeof(buf) is a multiple of PGSIZE */
    off += n;
  }
  if (n < 0 || off != st.size) {
    fprintf(2, "filetouch: read failed\n");
    exit(1);
  }
  char *p = mmap(0, st.size, PROT_READ, flags, fd, 0);
  if (p == MAP_FAILED) {
    fprintf(2, "filetouch: mmap failed\n");
    exit(1);
  }
  close(fd);  /* the mapping keeps the file */
  unsigned long got = 0;
  for (unsigned long i = 0; i < st.size; i += PGSIZE)
    got += (unsigned char)p[i];
  if (got != want) {
    fprintf(2, "filetouch: mapped bytes differ from read()\n");
    exit(1);
  }
  printf("filetouch: %lu pages, sum %lu\n", (st.size + PGSIZE - 1) / PGSIZE, got);
  munmap(p, st.size);
  exit(0);
}
