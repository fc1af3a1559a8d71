/* wc [file...] -- count lines, words and bytes: "lines words chars name".
 * Reading standard input prints an empty name, as xv6's wc does. */
#include "user.h"

static char buf[512];

static void wc(int fd, const char *name)
{
  int lines = 0, words = 0, chars = 0, inword = 0, n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) {
    for (int i = 0; i < n; i++) {
      chars++;
      if (buf[i] == '\n')
        lines++;
      if (strchr(" \r\t\n\v", buf[i])) {
        inword = 0;
      } else if (!inword) {
        words++;
        inword = 1;
      }
    }
  }
  if (n < 0) {
    fprintf(2, "wc: read error\n");
    exit(1);
  }
  printf("%d %d %d %s\n", lines, words, chars, name);
}

int main(int argc, char **argv)
{
  if (argc < 2) {
    wc(0, "");
    return 0;
  }
  for (int i = 1; i < argc; i++) {
    int fd = open(argv[i], O_RDONLY);
    if (fd < 0) {
      fprintf(2, "wc: cannot open %s\n", argv[i]);
      exit(1);
    }
    wc(fd, argv[i]);
    close(fd);
  }
  return 0;
}
