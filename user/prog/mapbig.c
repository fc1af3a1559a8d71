/* mapbig N -- a shared file mapping larger than RAM (issue 11).  Writes a file
 * "big" of N bytes (byte i = i*13 + 5), maps it MAP_SHARED, checks every word,
 * stores a new value in every word (word w = w * 0x9E3779B97F4A7C15 ^ 0x5555),
 * checks them all again, and unmaps.  With little RAM the dirty pages are
 * evicted, written back through the page cache, and read again on the next
 * touch; the host then checks the file byte for byte.  N may end in K, M or G. */
#include "user.h"

static void fail(const char *what)
{
  fprintf(2, "mapbig: FAIL %s\n", what);
  exit(1);
}

int main(int argc, char **argv)
{
  if (argc < 2)
    fail("usage: mapbig N");
  unsigned long n = parse_size(argv[1]) & ~7UL;
  int fd = open("big", O_CREATE | O_TRUNC | O_RDWR);
  if (fd < 0)
    fail("create");
  static unsigned char buf[4096];
  for (unsigned long off = 0; off < n; off += sizeof(buf)) {
    int k = n - off < sizeof(buf) ? (int)(n - off) : (int)sizeof(buf);
    for (int i = 0; i < k; i++)
      buf[i] = (unsigned char)((off + i) * 13 + 5);
    if (write(fd, buf, k) != k)
      fail("write");
  }
  unsigned long *map = mmap(0, n, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED)
    fail("mmap");
  unsigned char *bytes = (unsigned char *)map;
  for (unsigned long i = 0; i < n; i += 8)
    if (bytes[i] != (unsigned char)(i * 13 + 5) || bytes[i + 7] != (unsigned char)((i + 7) * 13 + 5))
      fail("first read");
  for (unsigned long w = 0; w < n / 8; w++)
    map[w] = w * 0x9E3779B97F4A7C15UL ^ 0x5555;
  for (unsigned long w = 0; w < n / 8; w++)
    if (map[w] != (w * 0x9E3779B97F4A7C15UL ^ 0x5555))
      fail("second read");
  if (munmap(map, n) != 0)
    fail("munmap");
  close(fd);
  printf("mapbig: ok %lu bytes\n", n);
  return 0;
}
