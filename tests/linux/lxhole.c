/* Writes past the end of a file leave a hole that reads as zeros (pwrite, and write after
 * lseek); a failed write (a bad buffer) past the end leaves the size alone. Each line:
 * "what result errno", or a size, or the bytes read back. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void show(const char *what, long r) {
    printf("%s %ld %d\n", what, r, r < 0 ? errno : 0);
    errno = 0;
}

static long size(int fd) {
    struct stat st;
    return fstat(fd, &st) < 0 ? -1 : (long)st.st_size;
}

int main(void) {
    setvbuf(stdout, 0, _IONBF, 0);
    int fd = open("/tmp/hole", O_RDWR | O_CREAT | O_TRUNC, 0644);
    show("open", fd < 0 ? -1 : 0);
    show("pwrite_start", pwrite(fd, "ab", 2, 0));
    show("pwrite_past_end", pwrite(fd, "XY", 2, 10000));
    printf("size %ld\n", size(fd));
    char buf[10002];
    memset(buf, 0x55, sizeof buf);
    show("pread_all", pread(fd, buf, sizeof buf, 0));
    int zeros = 1;
    for (int i = 2; i < 10000; i++)
        zeros &= buf[i] == 0;
    printf("hole_zeros %d ends %c%c %c%c\n", zeros, buf[0], buf[1], buf[10000], buf[10001]);
    show("lseek_past_end", lseek(fd, 20000, SEEK_SET));
    show("write_after_lseek", write(fd, "Z", 1));
    printf("size %ld\n", size(fd));
    show("bad_buffer_past_end", pwrite(fd, (void *)8, 4, 30000)); /* page 0 is never mapped */
    printf("size %ld\n", size(fd));
    show("offset_unchanged", lseek(fd, 0, SEEK_CUR));
    close(fd);
    show("unlink", unlink("/tmp/hole"));
    return 0;
}
