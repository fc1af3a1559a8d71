/*
 * wfail MODE [fork] -- a write() that fails leaves mapped memory alone.
 *
 * A 10,000-byte file "wf" is mapped MAP_SHARED and every byte of it is
 * stored to (the stores make its pages dirty: they are newer than the
 * host file).  Then a write() to the same file fails:
 *
 *   eof   a 128 KiB write at the end of the file (it fails under a small
 *         --disk quota, past the largest file size, or on a host error);
 *   past  a write through a second descriptor whose offset lies past the
 *         end of the file (another open cut the file with O_TRUNC).
 *
 * The mapping must still read every stored byte, read() must return them,
 * and after munmap the file must hold them.  With `fork` the stores belong
 * to a child process: the parent's failed write must not undo them.
 *
 * Prints "wfail OK" and exits 0, or "wfail: FAIL what" on fd 2 and exit 1.
 */
#include "user.h"

#define SIZE 10000
#define BIG (128 * 1024)

static char buf[SIZE];
static char big[BIG];

static void fail(const char *what)
{
  fprintf(2, "wfail: FAIL %s\n", what);
  exit(1);
}

#define CHECK(cond, what) do { if (!(cond)) fail(what); } while (0)

static char stored(int i) { return 'A' + i % 23; }

/* Make "wf": SIZE bytes of '.', and return a read-write descriptor on it.
 * With `past`, *late gets a descriptor whose offset ends up past the end of
 * the file; else -1. */
static int make(int past, int *late)
{
  *late = -1;
  if (past) {
    int fd = open("wf", O_CREATE | O_RDWR | O_TRUNC);
    CHECK(fd >= 0, "create wf");
    memset(big, '-', SIZE + 2000);
    CHECK(write(fd, big, SIZE + 2000) == SIZE + 2000, "first write");
    *late = fd;  /* offset SIZE+2000 */
  }
  int fd = open("wf", O_CREATE | O_RDWR | O_TRUNC);
  CHECK(fd >= 0, "open wf");
  memset(buf, '.', SIZE);
  CHECK(write(fd, buf, SIZE) == SIZE, "write wf");
  return fd;
}

static char *map(int fd)
{
  char *p = mmap(0, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  CHECK(p != MAP_FAILED, "mmap");
  return p;
}

static void store(char *p)
{
  for (int i = 0; i < SIZE; i++)
    p[i] = stored(i);
}

static void check_mapping(char *p, const char *what)
{
  for (int i = 0; i < SIZE; i++)
    if (p[i] != stored(i)) {
      fprintf(2, "wfail: byte %d reads %d, stored %d\n", i, p[i], stored(i));
      fail(what);
    }
}

static void check_file(const char *what)
{
  int fd = open("wf", O_RDONLY);
  CHECK(fd >= 0, "open to check");
  CHECK(read(fd, buf, SIZE) == SIZE, "read back");
  close(fd);
  for (int i = 0; i < SIZE; i++)
    if (buf[i] != stored(i)) {
      fprintf(2, "wfail: byte %d of the file is %d, stored %d\n", i, buf[i], stored(i));
      fail(what);
    }
}

/* The write that must fail. */
static void failing_write(int fd, int late, int past)
{
  if (past)
    CHECK(write(late, big, 100) == -1, "a write past the end must fail");
  else
    CHECK(write(fd, big, BIG) == -1, "the big write must fail (run with a small --disk)");
}

int main(int argc, char **argv)
{
  if (argc < 2 || (strcmp(argv[1], "eof") && strcmp(argv[1], "past"))) {
    fprintf(2, "usage: wfail eof|past [fork]\n");
    exit(2);
  }
  int past = strcmp(argv[1], "past") == 0;
  int forked = argc > 2 && strcmp(argv[2], "fork") == 0;
  int late;
  int fd = make(past, &late);
  memset(big, 'w', BIG);

  if (!forked) {
    char *p = map(fd);
    store(p);
    failing_write(fd, late, past);
    check_mapping(p, "the mapping lost stores");
    check_file("read() lost stores");
    CHECK(munmap(p, SIZE) == 0, "munmap");
    check_file("the file lost stores");
  } else {
    int go[2], done[2];
    CHECK(pipe(go) == 0 && pipe(done) == 0, "pipe");
    int pid = fork();
    CHECK(pid >= 0, "fork");
    if (pid == 0) {
      char *p = map(fd);
      store(p);
      CHECK(write(go[1], "s", 1) == 1, "child signal");
      char c;
      CHECK(read(done[0], &c, 1) == 1, "child wait");
      check_mapping(p, "the child's mapping lost stores");
      exit(0);  /* exit writes the dirty pages back */
    }
    char c;
    CHECK(read(go[0], &c, 1) == 1, "parent wait");
    failing_write(fd, late, past);
    check_file("read() lost the child's stores");
    CHECK(write(done[1], "d", 1) == 1, "parent signal");
    int st;
    CHECK(wait(&st) == pid && st == 0, "child failed");
    check_file("the file lost the child's stores");
  }
  close(fd);
  if (late >= 0)
    close(late);
  unlink("wf");
  printf("wfail OK\n");
  exit(0);
}
