/*
 * cachetest -- read() and write() through the page cache.
 *
 * - write() then read back, in chunks that straddle page boundaries;
 * - a file written by one process and read by another, including one that
 *   already had the pages cached by reading them earlier;
 * - a file unlinked while open stays readable and writable through its fds;
 * - O_TRUNC drops what the cache held, even for a reader that had it cached.
 *
 * Works inside a fresh directory "ctdir" and removes everything it made.
 * A failed check prints "cachetest: FAIL <what>" on fd 2 and exits 1.
 */
#include "user.h"

static void fail(const char *what)
{
  fprintf(2, "cachetest: FAIL %s\n", what);
  exit(1);
}

#define CHECK(cond, what) do { if (!(cond)) fail(what); } while (0)

#define BIG (3 * PGSIZE + 123)

static char want[BIG];
static char got[BIG + 64];

static char pattern(int i, int seed)
{
  return (char)('a' + (i * 7 + seed) % 26);
}

static void fill(int seed)
{
  for (int i = 0; i < BIG; i++)
    want[i] = pattern(i, seed);
}

/* Read the whole file `name` in chunks of `step` bytes; returns its length. */
static int slurp(const char *name, int step)
{
  int fd = open(name, O_RDONLY);
  CHECK(fd >= 0, "open for slurp");
  int n = 0, k;
  while ((k = read(fd, got + n, step)) > 0) {
    n += k;
    CHECK(n <= BIG, "file longer than written");
  }
  CHECK(k == 0, "read error");
  close(fd);
  return n;
}

static void across_pages(void)
{
  fill(1);
  int fd = open("big", O_CREATE | O_RDWR);
  CHECK(fd >= 0, "create big");
  for (int off = 0; off < BIG; off += 1000) {
    int n = BIG - off < 1000 ? BIG - off : 1000;
    CHECK(write(fd, want + off, n) == n, "write chunk");
  }
  struct stat st;
  CHECK(fstat(fd, &st) == 0 && st.size == BIG, "size after writes");
  close(fd);
  CHECK(slurp("big", 777) == BIG && memcmp(got, want, BIG) == 0, "read back in 777-byte chunks");
  CHECK(slurp("big", BIG + 64) == BIG && memcmp(got, want, BIG) == 0, "read back at once");

  /* Rewrite 200 bytes straddling the first page boundary through a reader's cached pages. */
  int r = open("big", O_RDONLY);
  CHECK(r >= 0 && read(r, got, 2 * PGSIZE) == 2 * PGSIZE, "cache two pages");
  fd = open("big", O_RDWR);
  CHECK(fd >= 0, "reopen big");
  CHECK(read(fd, got, PGSIZE - 100) == PGSIZE - 100, "skip to 100 before the boundary");
  for (int i = 0; i < 200; i++)
    want[PGSIZE - 100 + i] = 'Z';
  CHECK(write(fd, want + PGSIZE - 100, 200) == 200, "write across the boundary");
  close(fd);
  close(r);
  CHECK(slurp("big", 4095) == BIG && memcmp(got, want, BIG) == 0, "rewrite seen");

  /* Appending grows the file from inside its last, partly filled page. */
  fd = open("big", O_WRONLY);
  CHECK(fd >= 0, "open to append");
  CHECK(read(fd, got, 1) == -1, "read of an O_WRONLY fd");
  close(fd);
  CHECK(unlink("big") == 0, "unlink big");
}

static void two_processes(void)
{
  fill(2);
  /* The parent caches the old contents first. */
  int fd = open("shared", O_CREATE | O_RDWR);
  CHECK(fd >= 0, "create shared");
  CHECK(write(fd, want, BIG) == BIG, "parent write");
  close(fd);
  int r = open("shared", O_RDONLY);
  CHECK(r >= 0 && read(r, got, BIG) == BIG && memcmp(got, want, BIG) == 0, "parent read");

  fill(3);
  int pid = fork();
  CHECK(pid >= 0, "fork");
  if (pid == 0) {
    int w = open("shared", O_RDWR);
    if (w < 0 || write(w, want, BIG) != BIG)
      exit(1);
    exit(0);  /* exit closes w */
  }
  int status;
  CHECK(wait(&status) == pid && status == 0, "child wrote");
  close(r);
  CHECK(slurp("shared", 1500) == BIG && memcmp(got, want, BIG) == 0, "parent sees the child's data");

  /* And the other way: a child reads what the parent wrote. */
  fill(4);
  fd = open("shared", O_RDWR);
  CHECK(fd >= 0 && write(fd, want, 5000) == 5000, "parent rewrite");
  close(fd);
  pid = fork();
  CHECK(pid >= 0, "fork 2");
  if (pid == 0) {
    fill(3);
    for (int i = 0; i < 5000; i++)
      want[i] = pattern(i, 4);
    exit(slurp("shared", 3000) == BIG && memcmp(got, want, BIG) == 0 ? 0 : 1);
  }
  CHECK(wait(&status) == pid && status == 0, "child sees the parent's data");
  CHECK(unlink("shared") == 0, "unlink shared");
}

static void unlink_while_open(void)
{
  fill(5);
  int w = open("gone", O_CREATE | O_RDWR);
  int r = open("gone", O_RDONLY);
  CHECK(w >= 0 && r >= 0, "open gone twice");
  CHECK(write(w, want, PGSIZE + 10) == PGSIZE + 10, "write before unlink");
  CHECK(unlink("gone") == 0, "unlink while open");
  CHECK(open("gone", O_RDONLY) == -1, "the name is gone");
  CHECK(write(w, want + PGSIZE + 10, BIG - PGSIZE - 10) == BIG - PGSIZE - 10, "write after unlink");
  int n = 0, k;
  while ((k = read(r, got + n, 999)) > 0)
    n += k;
  CHECK(n == BIG && memcmp(got, want, BIG) == 0, "read after unlink");
  struct stat st;
  CHECK(fstat(r, &st) == 0 && st.size == BIG && st.nlink == 0, "fstat after unlink");
  close(w);
  close(r);
}

static void truncate_drops_cached_pages(void)
{
  fill(6);
  int fd = open("t", O_CREATE | O_RDWR);
  CHECK(fd >= 0 && write(fd, want, BIG) == BIG, "write t");
  close(fd);
  int r = open("t", O_RDONLY);
  CHECK(r >= 0 && read(r, got, 100) == 100, "cache the first page");
  fd = open("t", O_RDWR | O_TRUNC);
  CHECK(fd >= 0 && write(fd, "new", 3) == 3, "truncate and write");
  CHECK(read(r, got, sizeof(got)) == 0, "a reader past the new end reads nothing");
  close(r);
  close(fd);
  CHECK(slurp("t", 10) == 3 && memcmp(got, "new", 3) == 0, "only the new bytes");
  fd = open("t", O_RDWR);
  CHECK(fd >= 0 && read(fd, got, 3) == 3, "skip the new bytes");
  CHECK(write(fd, want + 3, 200) == 200, "grow again");
  close(fd);
  CHECK(slurp("t", 64) == 203 && memcmp(got, "new", 3) == 0 && memcmp(got + 3, want + 3, 200) == 0,
        "no old bytes come back after truncation");
  CHECK(unlink("t") == 0, "unlink t");
}

int main(void)
{
  CHECK(mkdir("ctdir") == 0, "mkdir ctdir");
  CHECK(chdir("ctdir") == 0, "chdir ctdir");
  across_pages();
  two_processes();
  unlink_while_open();
  truncate_drops_cached_pages();
  CHECK(chdir("..") == 0, "chdir ..");
  CHECK(unlink("ctdir") == 0, "remove ctdir");
  printf("cachetest OK\n");
  return 0;
}
