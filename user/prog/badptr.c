/*
 * badptr -- system calls given bad user pointers fail with -1; neither the
 * process nor the kernel crashes.  The kernel must check every pointer
 * through the page table (copyin/copyout), including addresses that are
 * unmapped, above the Sv39 user range, or kernel-looking.
 */
#include "user.h"

#define WILD  ((void *)0xdeadbeef000UL)          /* never mapped */
#define HIGH  ((void *)0x3fffffff000UL)          /* above MAXVA (1 << 38) */
#define TRAMP ((void *)0x3ffffff000UL)           /* xv6's trampoline page */
#define KERN  ((void *)0xffffffffffff0000UL)     /* a kernel-ish address */

static void fail(const char *what)
{
  fprintf(2, "badptr: FAIL %s\n", what);
  exit(1);
}

#define EXPECT_FAIL(call, what) do { if ((call) != -1) fail(what); } while (0)

int main(void)
{
  /* a small file to read from */
  int fd = open("badptr.tmp", O_CREATE | O_RDWR);
  if (fd < 0 || write(fd, "0123456789abcdef", 16) != 16)
    fail("create badptr.tmp");
  close(fd);
  fd = open("badptr.tmp", O_RDONLY);
  if (fd < 0)
    fail("open badptr.tmp");

  EXPECT_FAIL(read(fd, WILD, 10), "read into an unmapped buffer");
  EXPECT_FAIL(read(fd, KERN, 10), "read into a kernel address");
  EXPECT_FAIL(read(fd, HIGH, 10), "read into an address above MAXVA");
  EXPECT_FAIL(write(1, HIGH, 10), "write from an address above MAXVA");
  EXPECT_FAIL(write(1, TRAMP, 10), "write from the trampoline page");
  EXPECT_FAIL(write(1, WILD, 10), "write from an unmapped buffer");
  EXPECT_FAIL(fstat(fd, WILD), "fstat into an unmapped buffer");
  EXPECT_FAIL(exec(WILD, 0), "exec with a bad path pointer");
  EXPECT_FAIL(open(WILD, O_RDONLY), "open with a bad path pointer");
  EXPECT_FAIL(pipe(WILD), "pipe into an unmapped buffer");

  /* the reads above must not have consumed anything */
  char buf[16];
  if (read(fd, buf, 16) != 16 || memcmp(buf, "0123456789abcdef", 16) != 0)
    fail("file offset moved by a failed read");
  close(fd);
  unlink("badptr.tmp");

  int pid = fork();
  if (pid < 0)
    fail("fork");
  if (pid == 0)
    exit(0);
  EXPECT_FAIL(wait(WILD), "wait with a bad status pointer");
  wait(0);                   /* xv6 leaves the child unreaped after that */

  printf("badptr OK\n");
  return 0;
}
