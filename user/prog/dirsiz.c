/*
 * dirsiz -- a path component longer than DIRSIZ (14) bytes is cut to its
 * first 14 bytes, on create and on lookup, as xv6's namei does.
 *
 * Run in an empty directory; leaves 12345678901234/12345678901234/ and the
 * file 12345678901234/12345678901234/f behind for the test to look at.
 */
#include "user.h"

static void fail(const char *what)
{
  fprintf(2, "dirsiz: FAIL %s\n", what);
  exit(1);
}

int main(void)
{
  if (mkdir("12345678901234") != 0)
    fail("mkdir of a 14-byte name");
  /* creates 12345678901234/12345678901234 */
  if (mkdir("12345678901234/123456789012345") != 0)
    fail("mkdir of a 15-byte name");
  /* the same directory again, cut or not: it exists */
  if (mkdir("12345678901234/12345678901234") != -1)
    fail("mkdir of the cut name succeeded twice");
  if (mkdir("12345678901234/123456789012345") != -1)
    fail("mkdir of the long name succeeded twice");
  if (mkdir("123456789012345/1234567890123456789") != -1)
    fail("mkdir with both names long succeeded twice");

  /* create through long names, find through cut ones, and the other way round */
  int fd = open("123456789012345/123456789012345/fffffffffffffff", O_CREATE | O_RDWR);
  if (fd < 0 || write(fd, "cut", 3) != 3)
    fail("create through long names");
  close(fd);
  char buf[8] = {0};
  fd = open("12345678901234/12345678901234/ffffffffffffff", O_RDONLY);
  if (fd < 0 || read(fd, buf, sizeof(buf)) != 3 || strcmp(buf, "cut") != 0)
    fail("open through the cut names");
  close(fd);
  if (link("12345678901234/12345678901234/ffffffffffffffXX", "12345678901234/12345678901234/f") != 0)
    fail("link from a long name");
  if (unlink("12345678901234/12345678901234/ffffffffffffffYY") != 0)
    fail("unlink through a long name");

  if (chdir("123456789012345") != 0 || chdir("12345678901234xyz") != 0)
    fail("chdir through long names");
  struct stat st;
  if (stat("f", &st) != 0 || st.type != T_FILE || st.size != 3)
    fail("stat in the cut directory");
  printf("dirsiz OK\n");
  return 0;
}
