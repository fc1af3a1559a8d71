/* Call patterns of real programs, each reduced to the calls that once differed from Linux.
 * Each line: "what result errno" or "what value".
 * - SQLite's rollback journal: a 12-byte header, then pwrite64 of each page record at the
 *   next sector boundary past the end of the file (a hole), then fsync.
 * - time(1), shells' `times`, SQLite's .timer: getrusage and times. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/times.h>
#include <unistd.h>

static void show(const char *what, long r) {
    printf("%s %ld %d\n", what, r, r < 0 ? errno : 0);
    errno = 0;
}

int main(void) {
    setvbuf(stdout, 0, _IONBF, 0);
    char page[512], back[1024];
    memset(page, 'P', sizeof page);
    int fd = open("journal", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    show("open", fd);
    show("pwrite_header", pwrite(fd, "journalhdr!!", 12, 0));
    show("pwrite_past_end", pwrite(fd, page, sizeof page, 0x200));
    struct stat st;
    fstat(fd, &st);
    printf("size_after_pwrite %ld\n", (long)st.st_size);
    show("pread_hole", pread(fd, back, 0x200 - 12, 12));
    int zeros = 1;
    for (int i = 0; i < 0x200 - 12; i++) zeros &= back[i] == 0;
    printf("hole_zeros %d\n", zeros);
    show("pread_page", pread(fd, back, sizeof page, 0x200));
    printf("page_same %d\n", memcmp(back, page, sizeof page) == 0);
    /* write() after lseek past the end: the same hole, through the file offset */
    show("lseek_past_end", lseek(fd, 0x1000, SEEK_SET));
    show("write_past_end", write(fd, "tail", 4));
    fstat(fd, &st);
    printf("size_after_write %ld\n", (long)st.st_size);
    show("fsync", fsync(fd));
    show("close", close(fd));
    volatile unsigned long spin = 0;
    for (unsigned long i = 0; i < 300000; i++) spin += i;
    struct rusage ru;
    show("getrusage", getrusage(RUSAGE_SELF, &ru));
    printf("utime_positive %d\n", ru.ru_utime.tv_sec > 0 || ru.ru_utime.tv_usec > 0);
    printf("maxrss_positive %d\n", ru.ru_maxrss > 0);
    show("getrusage_children", getrusage(RUSAGE_CHILDREN, &ru));
    show("getrusage_bad", getrusage(99, &ru));
    struct tms tm;
    errno = 0;
    clock_t t = times(&tm);
    printf("times_ok %d %d\n", t != (clock_t)-1, errno);
    printf("tms_utime_not_negative %d\n", tm.tms_utime >= 0);
    return 0;
}
