/* mmaptest -- mmap and munmap, case by case (a Pintos-style matrix, xv6 mmap-lab
 * numbers): read, write, close, unmap, overlap, twice, exit, inherit, bad fd,
 * misaligned, null, over code, over data, over stack, remove, zero length, and
 * the rules of issue 10 (EOF, read-only fds, private COW, anonymous memory).
 * Cases that must kill run in a child, whose status is checked.
 *
 *   mmaptest          all cases; prints "mmaptest OK"
 */
#include "user.h"

static int failures;

#define CHECK(c)                                                         \
  do {                                                                   \
    if (!(c)) {                                                          \
      printf("mmaptest: %s: line %d: %s\n", current, __LINE__, #c);      \
      failures++;                                                        \
    }                                                                    \
  } while (0)

static const char *current = "";
static int data_word = 42;           /* .data: a target for "over data" */
int main(void);                      /* its address: a target for "over code" */

/* A file of n bytes, byte i = (i * 7 + seed) & 0xff. */
static void make_file(const char *name, int n, int seed)
{
  char buf[512];
  int fd = open(name, O_CREATE | O_TRUNC | O_RDWR);
  if (fd < 0) {
    printf("mmaptest: cannot create %s\n", name);
    exit(1);
  }
  for (int off = 0; off < n; off += sizeof(buf)) {
    int k = n - off < (int)sizeof(buf) ? n - off : (int)sizeof(buf);
    for (int i = 0; i < k; i++)
      buf[i] = (char)(((off + i) * 7 + seed) & 0xff);
    if (write(fd, buf, k) != k) {
      printf("mmaptest: write %s failed\n", name);
      exit(1);
    }
  }
  close(fd);
}

static int pattern(int i, int seed) { return ((i * 7 + seed) & 0xff); }

/* Run f in a child; returns its exit status. */
static int in_child(void (*f)(void))
{
  int pid = fork();
  if (pid == 0) {
    f();
    exit(0);
  }
  int status = 12345;
  wait(&status);
  return status;
}

static char *map_file(const char *name, int omode, unsigned long len, int prot, int flags)
{
  int fd = open(name, omode);
  if (fd < 0)
    return MAP_FAILED;
  char *p = mmap(0, len, prot, flags, fd, 0);
  close(fd);
  return p;
}

static int file_byte(const char *name, int off)
{
  char c;
  int fd = open(name, O_RDONLY);
  char skip[256];
  while (off > 0) {
    int k = off < 256 ? off : 256;
    read(fd, skip, k);
    off -= k;
  }
  int n = read(fd, &c, 1);
  close(fd);
  return n == 1 ? (uchar)c : -1;
}

static long file_size(const char *name)
{
  struct stat st;
  if (stat(name, &st) < 0)
    return -1;
  return (long)st.size;
}

static volatile char *victim;
static void touch_victim(void) { (void)*victim; }
static void store_victim(void) { *victim = 1; }

static void t_read(void)
{
  current = "read";
  make_file("m.read", 6000, 3);
  char *p = map_file("m.read", O_RDONLY, 6000, PROT_READ, MAP_SHARED);
  CHECK(p != MAP_FAILED);
  if (p == MAP_FAILED)
    return;
  int ok = 1;
  for (int i = 0; i < 6000; i++)
    if ((uchar)p[i] != pattern(i, 3))
      ok = 0;
  CHECK(ok);
  for (int i = 6000; i < 8192; i++)  /* past EOF, in the last page: zeros */
    if (p[i] != 0)
      ok = 0;
  CHECK(ok);
  CHECK(munmap(p, 6000) == 0);
}

static void t_write(void)
{
  current = "write";
  make_file("m.write", 5000, 5);
  char *p = map_file("m.write", O_RDWR, 5000, PROT_READ | PROT_WRITE, MAP_SHARED);
  CHECK(p != MAP_FAILED);
  if (p == MAP_FAILED)
    return;
  p[10] = 'A';
  p[4999] = 'Z';
  CHECK(file_byte("m.write", 10) == 'A');  /* read() sees the store at once */
  CHECK(munmap(p, 8192) == 0);
  CHECK(file_byte("m.write", 10) == 'A' && file_byte("m.write", 4999) == 'Z');
  CHECK(file_byte("m.write", 11) == pattern(11, 5));
  CHECK(file_size("m.write") == 5000);
}

static void t_close_and_remove(void)
{
  current = "close";
  make_file("m.close", 4096, 9);
  char *p = map_file("m.close", O_RDWR, 4096, PROT_READ | PROT_WRITE, MAP_SHARED);
  CHECK(p != MAP_FAILED);  /* map_file closed the fd already */
  if (p == MAP_FAILED)
    return;
  CHECK((uchar)p[100] == pattern(100, 9));
  current = "remove";
  CHECK(unlink("m.close") == 0);
  CHECK((uchar)p[200] == pattern(200, 9));  /* still there after unlink */
  p[300] = 'q';
  CHECK(p[300] == 'q');
  CHECK(munmap(p, 4096) == 0);
  CHECK(open("m.close", O_RDONLY) < 0);
}

static void t_unmap(void)
{
  current = "unmap";
  make_file("m.unmap", 3 * 4096, 1);
  char *p = map_file("m.unmap", O_RDONLY, 3 * 4096, PROT_READ, MAP_SHARED);
  CHECK(p != MAP_FAILED);
  CHECK(munmap(p, 3 * 4096) == 0);
  victim = p + 4096;
  CHECK(in_child(touch_victim) == -1);  /* an unmapped page kills */
  CHECK(munmap(p, 3 * 4096) == 0);      /* nothing there any more: still 0 */
}

static void t_partial(void)
{
  current = "partial";
  make_file("m.part", 5 * 4096, 2);
  char *p = map_file("m.part", O_RDONLY, 5 * 4096, PROT_READ, MAP_PRIVATE);
  CHECK(p != MAP_FAILED);
  CHECK(munmap(p, 4096) == 0);                /* the start */
  CHECK(munmap(p + 4 * 4096, 4096) == 0);     /* the end */
  CHECK(munmap(p + 2 * 4096, 4096) == 0);     /* the middle */
  CHECK((uchar)p[4096 + 5] == pattern(4096 + 5, 2));
  CHECK((uchar)p[3 * 4096 + 5] == pattern(3 * 4096 + 5, 2));
  victim = p + 2 * 4096;
  CHECK(in_child(touch_victim) == -1);
  victim = p;
  CHECK(in_child(touch_victim) == -1);
  CHECK(munmap(p, 5 * 4096) == 0);  /* the rest, holes included */
  victim = p + 4096;
  CHECK(in_child(touch_victim) == -1);
  /* several mappings at once: mmaps are placed top-down, next to each other */
  char *x = mmap(0, 2 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  char *y = map_file("m.part", O_RDONLY, 2 * 4096, PROT_READ, MAP_PRIVATE);
  CHECK(x != MAP_FAILED && y == x - 2 * 4096);
  x[4096] = 1;
  CHECK(munmap(y + 4096, 2 * 4096) == 0);  /* the end of y and the start of x */
  CHECK((uchar)y[0] == pattern(0, 2) && x[4096] == 1);
  victim = y + 4096;
  CHECK(in_child(touch_victim) == -1);
  victim = x;
  CHECK(in_child(touch_victim) == -1);
  CHECK(munmap(y, 4 * 4096) == 0);
  CHECK(munmap(y, 4096) == 0);  /* nothing there */
}

static void t_overlap_twice(void)
{
  current = "overlap";
  make_file("m.twice", 4096, 4);
  char *a = map_file("m.twice", O_RDWR, 4096, PROT_READ | PROT_WRITE, MAP_SHARED);
  /* a hint at a mapped address is only a hint: the kernel picks another place */
  int fd = open("m.twice", O_RDWR);
  char *b = mmap(a, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  CHECK(a != MAP_FAILED && b != MAP_FAILED && a != b);
  current = "twice";
  a[7] = 'x';
  CHECK(b[7] == 'x');  /* two mappings of one file share its pages */
  b[8] = 'y';
  CHECK(a[8] == 'y');
  CHECK(munmap(a, 4096) == 0);
  CHECK(b[7] == 'x');
  CHECK(munmap(b, 4096) == 0);
  CHECK(file_byte("m.twice", 8) == 'y');
}

static void child_writes_and_exits(void)
{
  char *p = map_file("m.exit", O_RDWR, 4096, PROT_READ | PROT_WRITE, MAP_SHARED);
  if (p == MAP_FAILED)
    exit(2);
  p[0] = 'E';
  exit(0);  /* no munmap: exit writes the page back */
}

static void t_exit(void)
{
  current = "exit";
  make_file("m.exit", 100, 6);
  CHECK(in_child(child_writes_and_exits) == 0);
  CHECK(file_byte("m.exit", 0) == 'E');
  CHECK(file_size("m.exit") == 100);
}

static void t_inherit(void)
{
  current = "inherit";
  make_file("m.inh", 4096, 8);
  char *sh = map_file("m.inh", O_RDWR, 4096, PROT_READ | PROT_WRITE, MAP_SHARED);
  char *pr = map_file("m.inh", O_RDWR, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE);
  char *an = mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  char *ap = mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(sh != MAP_FAILED && pr != MAP_FAILED && an != MAP_FAILED && ap != MAP_FAILED);
  CHECK(an[100] == 0 && ap[5000] == 0);  /* anonymous memory starts zero */
  pr[1] = 'p';                           /* private before fork: the child sees it */
  int pid = fork();
  if (pid == 0) {
    if (pr[1] != 'p')
      exit(3);
    sh[0] = 's';   /* shared: the parent sees it */
    pr[0] = 'c';   /* private: copy-on-write, nobody else sees it */
    an[0] = 'a';   /* anonymous shared: the parent sees it */
    an[4096] = 'n'; /* a shared page nobody touched before the fork: shared too */
    ap[0] = 'b';   /* anonymous private: only here */
    munmap(sh, 4096);  /* each process unmaps its own copy */
    exit(0);
  }
  int status = -1;
  wait(&status);
  CHECK(status == 0);
  CHECK(sh[0] == 's' && an[0] == 'a' && an[4096] == 'n');
  CHECK((uchar)pr[0] == pattern(0, 8) && ap[0] == 0);
  CHECK(file_byte("m.inh", 0) == 's');
  CHECK(file_byte("m.inh", 1) == pattern(1, 8));  /* private stores never reach the file */
  CHECK(munmap(sh, 4096) == 0 && munmap(pr, 4096) == 0);
  CHECK(munmap(an, 8192) == 0 && munmap(ap, 8192) == 0);
}

static void t_bad_args(void)
{
  current = "bad fd";
  CHECK(mmap(0, 4096, PROT_READ, MAP_SHARED, 99, 0) == MAP_FAILED);
  CHECK(mmap(0, 4096, PROT_READ, MAP_SHARED, -3, 0) == MAP_FAILED);
  CHECK(mmap(0, 4096, PROT_READ, MAP_SHARED, 1, 0) == MAP_FAILED);  /* the console */
  make_file("m.bad", 4096, 0);
  int fd = open("m.bad", O_RDONLY);
  current = "misaligned";
  CHECK(mmap(0, 4096, PROT_READ, MAP_SHARED, fd, 100) == MAP_FAILED);
  current = "zero length";
  CHECK(mmap(0, 0, PROT_READ, MAP_SHARED, fd, 0) == MAP_FAILED);
  current = "nonsense";
  CHECK(mmap(0, 4096, 8, MAP_SHARED, fd, 0) == MAP_FAILED);
  CHECK(mmap(0, 4096, PROT_READ, 0, fd, 0) == MAP_FAILED);
  CHECK(mmap(0, 4096, PROT_READ, MAP_SHARED | MAP_PRIVATE, fd, 0) == MAP_FAILED);
  CHECK(mmap(0, 4096, PROT_READ, MAP_SHARED | 0x1000, fd, 0) == MAP_FAILED);
  CHECK(mmap(0, -4096UL, PROT_READ, MAP_SHARED, fd, 0) == MAP_FAILED);
  current = "read-only fd";
  CHECK(mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) == MAP_FAILED);
  char *p = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  CHECK(p != MAP_FAILED);
  p[0] = 'w';  /* private: allowed, and the file keeps its byte */
  CHECK(p[0] == 'w' && file_byte("m.bad", 0) == 0);
  CHECK(munmap(p, 4096) == 0);
  close(fd);
  current = "munmap args";
  CHECK(munmap((char *)4097, 4096) == -1);  /* not page-aligned */
  CHECK(munmap((char *)0x10000000, 0) == -1);
}

static void t_null_and_over(void)
{
  make_file("m.over", 4096, 7);
  int fd = open("m.over", O_RDONLY);
  current = "null";
  char *p = mmap(0, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
  CHECK(p != MAP_FAILED && p != 0);
  CHECK(munmap(p, 4096) == 0);
  current = "over code";
  p = mmap((void *)main, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
  CHECK(p != MAP_FAILED && p != (char *)main);
  munmap(p, 4096);
  current = "over data";
  p = mmap((void *)((unsigned long)&data_word & ~4095UL), 4096, PROT_READ, MAP_PRIVATE, fd, 0);
  CHECK(p != MAP_FAILED && data_word == 42);
  munmap(p, 4096);
  current = "over stack";
  char local = 'k';
  p = mmap((void *)((unsigned long)&local & ~4095UL), 4096, PROT_READ, MAP_PRIVATE, fd, 0);
  CHECK(p != MAP_FAILED && local == 'k');
  munmap(p, 4096);
  current = "munmap over code";
  CHECK(munmap((void *)((unsigned long)main & ~4095UL), 4096) == -1);
  close(fd);
}

static void t_prot(void)
{
  current = "prot";
  make_file("m.prot", 4096, 11);
  char *p = map_file("m.prot", O_RDWR, 4096, PROT_READ, MAP_SHARED);
  CHECK(p != MAP_FAILED);
  victim = p;
  CHECK(in_child(store_victim) == -1);  /* a store to PROT_READ kills */
  CHECK((uchar)p[0] == pattern(0, 11));
  munmap(p, 4096);
}

static void t_eof(void)
{
  current = "eof";
  make_file("m.eof", 100, 12);
  char *p = map_file("m.eof", O_RDWR, 3 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED);
  CHECK(p != MAP_FAILED);
  CHECK(p[100] == 0 && p[2 * 4096 + 5] == 0);  /* past EOF: zeros */
  p[200] = 'z';                               /* never grows the file */
  p[2 * 4096] = 'z';
  p[50] = 'h';
  CHECK(munmap(p, 3 * 4096) == 0);
  CHECK(file_size("m.eof") == 100);
  CHECK(file_byte("m.eof", 50) == 'h' && file_byte("m.eof", 99) == pattern(99, 12));
}

int main(void)
{
  t_read();
  t_write();
  t_close_and_remove();
  t_unmap();
  t_partial();
  t_overlap_twice();
  t_exit();
  t_inherit();
  t_bad_args();
  t_null_and_over();
  t_prot();
  t_eof();
  if (failures) {
    printf("mmaptest: %d failures\n", failures);
    exit(1);
  }
  printf("mmaptest OK\n");
  exit(0);
}
