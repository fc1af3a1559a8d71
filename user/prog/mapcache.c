/*
 * mapcache -- mmap and read()/write() share one page cache.
 *
 * - a MAP_SHARED store is seen at once by read(), and write() at once by the
 *   mapping, in this process and in another one mapping the same file;
 * - a shared store reaches the file at munmap, at exit, and after close() and
 *   unlink() of the fd (the mapping keeps the file);
 * - a store past EOF (in the last page, or a page wholly past it) never grows
 *   the file, and bytes past EOF read as zero;
 * - a MAP_PRIVATE store never reaches the file or another mapping;
 * - O_TRUNC under a mapping: the mapping reads zeros past the new end.
 *
 * Works inside a fresh directory "mcdir" and removes everything it made.
 * A failed check prints "mapcache: FAIL <what>" on fd 2 and exits 1.
 */
#include "user.h"

static void fail(const char *what)
{
  fprintf(2, "mapcache: FAIL %s\n", what);
  exit(1);
}

#define CHECK(cond, what) do { if (!(cond)) fail(what); } while (0)

static char buf[3 * PGSIZE];

static void make(const char *name, int size, char c)
{
  int fd = open(name, O_CREATE | O_RDWR | O_TRUNC);
  CHECK(fd >= 0, "create");
  memset(buf, c, size);
  CHECK(write(fd, buf, size) == size, "write file");
  close(fd);
}

/* Read all of `name` into buf; returns its size. */
static int slurp(const char *name)
{
  int fd = open(name, O_RDONLY);
  CHECK(fd >= 0, "open to read");
  int n = 0, k;
  while ((k = read(fd, buf + n, sizeof(buf) - n)) > 0)
    n += k;
  close(fd);
  return n;
}

static void shared_store_seen_by_read(void)
{
  make("s", 2 * PGSIZE, 'a');
  int fd = open("s", O_RDWR);
  CHECK(fd >= 0, "open s");
  char *p = mmap(0, 2 * PGSIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  CHECK(p != MAP_FAILED, "mmap shared");
  p[PGSIZE + 5] = 'Z';
  /* read() through another fd sees the store before any writeback */
  int r = open("s", O_RDONLY);
  CHECK(r >= 0 && read(r, buf, PGSIZE + 10) == PGSIZE + 10, "read s");
  CHECK(buf[PGSIZE + 5] == 'Z' && buf[PGSIZE + 4] == 'a', "read() sees a shared store at once");
  close(r);
  /* write() is seen by the mapping at once */
  CHECK(write(fd, "hello", 5) == 5, "write s");
  CHECK(memcmp(p, "hello", 5) == 0, "mapping sees write() at once");
  /* and by another process's mapping, and its stores by ours */
  int pid = fork();
  CHECK(pid >= 0, "fork");
  if (pid == 0) {
    int cfd = open("s", O_RDWR);
    char *q = mmap(0, PGSIZE, PROT_READ | PROT_WRITE, MAP_SHARED, cfd, 0);
    if (q == MAP_FAILED || memcmp(q, "hello", 5) != 0)
      exit(1);
    q[100] = 'C';
    exit(0);  /* exit writes the dirty page back */
  }
  int st;
  CHECK(wait(&st) == pid && st == 0, "child mapped the same pages");
  CHECK(p[100] == 'C', "a child's shared store is seen by the parent's mapping");
  CHECK(munmap(p, 2 * PGSIZE) == 0, "munmap s");
  close(fd);
  CHECK(slurp("s") == 2 * PGSIZE, "size unchanged");
  CHECK(memcmp(buf, "hello", 5) == 0 && buf[100] == 'C' && buf[PGSIZE + 5] == 'Z', "stores reached the file");
  CHECK(unlink("s") == 0, "unlink s");
}

static void mapping_outlives_fd_and_name(void)
{
  make("u", PGSIZE, 'u');
  int fd = open("u", O_RDWR);
  char *p = mmap(0, PGSIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  CHECK(p != MAP_FAILED, "mmap u");
  CHECK(close(fd) == 0, "close under a mapping");
  p[0] = 'X';
  int r = open("u", O_RDONLY);
  CHECK(r >= 0, "reopen u");
  CHECK(unlink("u") == 0, "unlink under a mapping");
  p[1] = 'Y';
  CHECK(p[2] == 'u', "mapping of an unlinked file still reads");
  CHECK(read(r, buf, 3) == 3 && memcmp(buf, "XYu", 3) == 0, "fd of an unlinked file sees the stores");
  close(r);
  CHECK(munmap(p, PGSIZE) == 0, "munmap u");
}

static void past_eof(void)
{
  make("e", 100, 'e');
  int fd = open("e", O_RDWR);
  char *p = mmap(0, 2 * PGSIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  CHECK(p != MAP_FAILED, "mmap e");
  CHECK(p[99] == 'e' && p[100] == 0 && p[PGSIZE - 1] == 0, "the rest of the last page reads zero");
  CHECK(p[PGSIZE] == 0 && p[2 * PGSIZE - 1] == 0, "a page wholly past EOF reads zero");
  p[200] = '!';
  p[PGSIZE + 1] = '!';
  CHECK(munmap(p, 2 * PGSIZE) == 0, "munmap e");
  struct stat st;
  CHECK(fstat(fd, &st) == 0 && st.size == 100, "a store past EOF never grows the file");
  close(fd);
  CHECK(slurp("e") == 100, "size on the host");
  CHECK(unlink("e") == 0, "unlink e");
}

static void private_stays_private(void)
{
  make("p", PGSIZE, 'p');
  int fd = open("p", O_RDONLY);
  char *priv = mmap(0, PGSIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  char *shr = mmap(0, PGSIZE, PROT_READ, MAP_SHARED, fd, 0);
  CHECK(priv != MAP_FAILED && shr != MAP_FAILED && priv != shr, "mmap p twice");
  CHECK(mmap(0, PGSIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) == MAP_FAILED,
        "MAP_SHARED writable on a read-only fd");
  priv[0] = 'P';
  CHECK(shr[0] == 'p', "a private store is not seen by a shared mapping");
  CHECK(munmap(priv, PGSIZE) == 0 && munmap(shr, PGSIZE) == 0, "munmap p");
  close(fd);
  CHECK(slurp("p") == PGSIZE && buf[0] == 'p', "a private store never reaches the file");
  CHECK(unlink("p") == 0, "unlink p");
}

static void truncate_under_mapping(void)
{
  make("t", 2 * PGSIZE, 't');
  int fd = open("t", O_RDONLY);
  char *p = mmap(0, 2 * PGSIZE, PROT_READ, MAP_SHARED, fd, 0);
  CHECK(p != MAP_FAILED && p[PGSIZE] == 't', "mmap t");
  int w = open("t", O_RDWR | O_TRUNC);
  CHECK(w >= 0 && write(w, "ab", 2) == 2, "truncate t");
  CHECK(p[0] == 'a' && p[1] == 'b' && p[2] == 0 && p[PGSIZE] == 0, "the mapping reads zeros past the new end");
  close(w);
  CHECK(munmap(p, 2 * PGSIZE) == 0, "munmap t");
  close(fd);
  CHECK(unlink("t") == 0, "unlink t");
}

int main(void)
{
  CHECK(mkdir("mcdir") == 0, "mkdir mcdir");
  CHECK(chdir("mcdir") == 0, "chdir mcdir");
  shared_store_seen_by_read();
  mapping_outlives_fd_and_name();
  past_eof();
  private_stays_private();
  truncate_under_mapping();
  CHECK(chdir("..") == 0, "chdir ..");
  CHECK(unlink("mcdir") == 0, "remove mcdir");
  printf("mapcache OK\n");
  return 0;
}
