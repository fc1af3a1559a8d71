/*
 * inums -- inode numbers as xv6 gives them.
 *
 * xv6's disk has 200 inodes and ialloc gives the lowest free one; a number
 * stays a file's for as long as the file exists (an unlinked file that is
 * still open keeps it), and is free again after.  Programs rely on this
 * (xv6's stress tests stop when fstat reports a number over 200).
 *
 *   - create, unlink and create again: the same number comes back;
 *   - 150 files at once all get numbers below 200, and again after they
 *     are all removed and made anew;
 *   - a file unlinked while open keeps its number: a new file gets
 *     another one; after the close the number is given out again;
 *   - a second name (link) has the same number.
 *
 * Works inside a fresh directory "indir" and removes everything it made.
 * Prints "inums OK" and exits 0, or "inums: FAIL what" on fd 2 and exit 1.
 */
#include "user.h"

#define NFILES 150

static void fail(const char *what)
{
  fprintf(2, "inums: FAIL %s\n", what);
  exit(1);
}

#define CHECK(cond, what) do { if (!(cond)) fail(what); } while (0)

static uint ino_of(int fd)
{
  struct stat st;
  CHECK(fstat(fd, &st) == 0, "fstat");
  return st.ino;
}

/* Create `name`, returning its open descriptor. */
static int create(const char *name)
{
  int fd = open(name, O_CREATE | O_RDWR);
  CHECK(fd >= 0, "create");
  return fd;
}

static uint create_close(const char *name)
{
  int fd = create(name);
  uint ino = ino_of(fd);
  close(fd);
  return ino;
}

static void name_of(char *buf, int i)
{
  buf[0] = 'f';
  buf[1] = '0' + i / 100;
  buf[2] = '0' + i / 10 % 10;
  buf[3] = '0' + i % 10;
  buf[4] = 0;
}

static uint many(void)
{
  char name[8];
  uint max = 0;
  for (int i = 0; i < NFILES; i++) {
    name_of(name, i);
    uint ino = create_close(name);
    if (ino > max)
      max = ino;
  }
  for (int i = 0; i < NFILES; i++) {
    name_of(name, i);
    CHECK(unlink(name) == 0, "unlink fNNN");
  }
  return max;
}

int main(void)
{
  CHECK(mkdir("indir") == 0 && chdir("indir") == 0, "mkdir indir");

  uint a = create_close("a");
  CHECK(unlink("a") == 0, "unlink a");
  uint b = create_close("b");
  if (b != a) {
    fprintf(2, "inums: a had %d, b after unlink(a) got %d\n", a, b);
    fail("the lowest free number is not reused");
  }
  CHECK(unlink("b") == 0, "unlink b");

  for (int round = 0; round < 3; round++) {
    uint max = many();
    if (max >= 200) {
      fprintf(2, "inums: round %d: number %d\n", round, max);
      fail("a number past xv6's 200 inodes");
    }
  }

  int fd = create("held");
  uint held = ino_of(fd);
  CHECK(write(fd, "x", 1) == 1, "write held");
  CHECK(unlink("held") == 0, "unlink held");
  uint other = create_close("other");
  CHECK(other != held, "an unlinked file that is still open lost its number");
  CHECK(ino_of(fd) == held, "fstat of an unlinked open file changed its number");
  close(fd);
  uint again = create_close("again");
  CHECK(again == held, "the number of a closed unlinked file is not free again");

  CHECK(link("other", "other2") == 0, "link");
  struct stat st;
  CHECK(stat("other2", &st) == 0 && st.ino == other && st.nlink == 2, "a link has the same number");

  unlink("other");
  unlink("other2");
  unlink("again");
  chdir("/");
  CHECK(unlink("indir") == 0, "rmdir indir");
  printf("inums OK\n");
  exit(0);
}
