/* echo -- print the arguments separated by single spaces, then a newline.
 * As in xv6, with no arguments nothing at all is printed.  The output is
 * gathered so that a short line reaches the kernel as a single write(). */
#include "user.h"

static char buf[512];
static int len;

static void put(const char *s, int n)
{
  while (n-- > 0) {
    if (len == sizeof(buf)) {
      write(1, buf, len);
      len = 0;
    }
    buf[len++] = *s++;
  }
}

int main(int argc, char **argv)
{
  for (int i = 1; i < argc; i++) {
    put(argv[i], strlen(argv[i]));
    put(i + 1 < argc ? " " : "\n", 1);
  }
  if (len > 0)
    write(1, buf, len);
  return 0;
}
