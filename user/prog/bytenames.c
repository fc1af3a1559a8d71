/*
 * bytenames -- xv6 file names are bytes: any byte but NUL and '/'.
 *
 * In a fresh directory "bndir", makes one file for each byte value b from 1
 * to 255 (but '/'), named "n" followed by b and holding b; then a file
 * whose 14-byte name is all 0xff.  Then it lists the directory (every name
 * must come back, once, as it was made), reads each file back through its
 * name, and removes everything.
 *
 * Prints "bytenames OK" and exits 0, or "bytenames: FAIL what" on fd 2 and
 * exit 1.
 */
#include "user.h"

static char seen[256];

static void fail(const char *what)
{
  fprintf(2, "bytenames: FAIL %s\n", what);
  exit(1);
}

#define CHECK(cond, what) do { if (!(cond)) fail(what); } while (0)

static void name_of(char *name, int b)
{
  name[0] = 'n';
  name[1] = (char)b;
  name[2] = 0;
}

int main(void)
{
  CHECK(mkdir("bndir") == 0 && chdir("bndir") == 0, "mkdir bndir");
  char name[DIRSIZ + 1];
  int made = 0;
  for (int b = 1; b < 256; b++) {
    if (b == '/')
      continue;
    name_of(name, b);
    int fd = open(name, O_CREATE | O_RDWR);
    if (fd < 0) {
      fprintf(2, "bytenames: cannot create a name with byte 0x%x\n", b);
      fail("create");
    }
    char c = (char)b;
    CHECK(write(fd, &c, 1) == 1, "write");
    close(fd);
    made++;
  }
  memset(name, 0xff, DIRSIZ);
  name[DIRSIZ] = 0;
  int fd = open(name, O_CREATE | O_RDWR);
  CHECK(fd >= 0, "create a 14-byte name of 0xff");
  close(fd);

  fd = open(".", O_RDONLY);
  CHECK(fd >= 0, "open .");
  struct dirent de;
  int listed = 0, long_one = 0;
  while (read(fd, &de, sizeof(de)) == sizeof(de)) {
    if (de.inum == 0 || strcmp(de.name, ".") == 0 || strcmp(de.name, "..") == 0)
      continue;
    if ((uchar)de.name[0] == 0xff) {
      CHECK(memcmp(de.name, name, DIRSIZ) == 0, "the 14-byte name came back changed");
      long_one++;
      continue;
    }
    CHECK(de.name[0] == 'n' && de.name[1] != 0 && de.name[2] == 0, "a name came back changed");
    uchar b = (uchar)de.name[1];
    CHECK(!seen[b], "a name listed twice");
    seen[b] = 1;
    listed++;
  }
  close(fd);
  if (listed != made || long_one != 1) {
    fprintf(2, "bytenames: made %d, listed %d (+%d)\n", made, listed, long_one);
    fail("the listing");
  }

  for (int b = 1; b < 256; b++) {
    if (b == '/')
      continue;
    name_of(name, b);
    char c = 0;
    fd = open(name, O_RDONLY);
    CHECK(fd >= 0 && read(fd, &c, 1) == 1 && (uchar)c == b, "read back through the name");
    close(fd);
    CHECK(unlink(name) == 0, "unlink");
  }
  memset(name, 0xff, DIRSIZ);
  CHECK(unlink(name) == 0, "unlink the 14-byte name");
  CHECK(chdir("..") == 0 && unlink("bndir") == 0, "rmdir bndir (was it empty?)");
  printf("bytenames OK\n");
  exit(0);
}
