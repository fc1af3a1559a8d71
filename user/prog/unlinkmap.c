/*
 * unlinkmap [N] -- a file unlinked while mapped still uses its disk space.
 *
 * Up to N (default 40) times: create a file, write 64 KiB to it, map it
 * MAP_SHARED, store to every page, close it and unlink it.  The mapping
 * keeps the file alive, so its blocks stay in use: under a --disk quota
 * the writes must start failing ("kept" tells how many files fit; run it
 * with a --disk quota smaller than N such files).
 *
 * Then a child inherits the mappings and the parent unmaps them all: the
 * space is still in use (a write of 64 KiB fails) until the child exits,
 * after which the same write succeeds.
 *
 * Prints "unlinkmap: kept K", then "unlinkmap OK" and exits 0, or
 * "unlinkmap: FAIL what" on fd 2 and exit 1.
 */
#include "user.h"

#define FSIZE (64 * 1024)
#define MAXN 64

static char buf[FSIZE];
static char *maps[MAXN];

static void fail(const char *what)
{
  fprintf(2, "unlinkmap: FAIL %s\n", what);
  exit(1);
}

#define CHECK(cond, what) do { if (!(cond)) fail(what); } while (0)

/* Write a fresh 64 KiB file `name`; 1 if it all fit, 0 if the disk was full. */
static int fill(const char *name, int *fdp)
{
  int fd = open(name, O_CREATE | O_RDWR);
  if (fd < 0)
    return 0;
  if (write(fd, buf, FSIZE) != FSIZE) {
    close(fd);
    unlink(name);
    return 0;
  }
  *fdp = fd;
  return 1;
}

int main(int argc, char **argv)
{
  int n = argc > 1 ? atoi(argv[1]) : 40;
  if (n < 1 || n > MAXN)
    n = MAXN;
  memset(buf, 'u', FSIZE);
  char name[8] = "um00";
  int kept = 0;
  for (; kept < n; kept++) {
    name[2] = '0' + kept / 10;
    name[3] = '0' + kept % 10;
    int fd;
    if (!fill(name, &fd))
      break;
    char *p = mmap(0, FSIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(p != MAP_FAILED, "mmap");
    for (int off = 0; off < FSIZE; off += PGSIZE)
      p[off] = 'S';
    close(fd);
    CHECK(unlink(name) == 0, "unlink");
    maps[kept] = p;
  }
  printf("unlinkmap: kept %d\n", kept);
  CHECK(kept > 0, "not even one file fit");
  CHECK(kept < n, "every file fit: unlinked files still mapped are not counted (run with a small --disk)");
  for (int i = 0; i < kept; i++)
    CHECK(maps[i][PGSIZE] == 'S' && maps[i][1] == 'u', "an unlinked file's mapping lost its bytes");

  int go[2];
  CHECK(pipe(go) == 0, "pipe");
  int pid = fork();
  CHECK(pid >= 0, "fork");
  if (pid == 0) {
    char c;
    read(go[0], &c, 1);  /* hold the inherited mappings until the parent says */
    for (int i = 0; i < kept; i++)
      CHECK(maps[i][0] == 'S', "the child's mapping");
    exit(0);
  }
  for (int i = 0; i < kept; i++)
    CHECK(munmap(maps[i], FSIZE) == 0, "munmap");
  int fd;
  if (fill("again", &fd))
    fail("space came back while the child still maps the files");
  CHECK(write(go[1], "x", 1) == 1, "pipe write");
  int st;
  CHECK(wait(&st) == pid && st == 0, "child");
  CHECK(fill("again", &fd), "space did not come back after the last mapping went");
  close(fd);
  unlink("again");
  printf("unlinkmap OK\n");
  exit(0);
}
