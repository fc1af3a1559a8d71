/* diskfill -- the --disk quota as a guest sees it.  Fills a file 4 KiB at a
 * time until write() fails (xv6's disk-full: -1), then makes empty files until
 * open(O_CREATE) fails, tries a mkdir, and finally removes everything and
 * checks that writing works again.  Prints what it managed. */
#include "user.h"

static char buf[4096];

int main(void)
{
  int fd = open("fill", O_CREATE | O_RDWR);
  if (fd < 0) {
    printf("diskfill: cannot create fill\n");
    exit(1);
  }
  long total = 0;
  while (write(fd, buf, sizeof(buf)) == sizeof(buf))
    total += sizeof(buf);
  close(fd);
  printf("diskfill: wrote %ld\n", total);

  char name[8] = "e000";
  int files = 0;
  for (; files < 1000; files++) {
    name[1] = '0' + files / 100;
    name[2] = '0' + files / 10 % 10;
    name[3] = '0' + files % 10;
    fd = open(name, O_CREATE | O_RDWR);
    if (fd < 0)
      break;
    close(fd);
  }
  printf("diskfill: created %d\n", files);
  printf("diskfill: mkdir %d\n", mkdir("dd"));

  unlink("fill");
  for (int i = 0; i < files; i++) {
    name[1] = '0' + i / 100;
    name[2] = '0' + i / 10 % 10;
    name[3] = '0' + i % 10;
    unlink(name);
  }
  fd = open("again", O_CREATE | O_RDWR);
  printf("diskfill: after unlink %s\n", fd >= 0 && write(fd, buf, sizeof(buf)) == sizeof(buf) ? "ok" : "FAIL");
  unlink("again");
  exit(0);
}
