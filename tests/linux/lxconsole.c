/* What the console looks like to a Linux program: fstat of stdout (a terminal or a pipe,
 * as pagelab's own output is), which glibc uses to choose stdout's buffering. */
#include <stdio.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

int main(void) {
    struct stat st;
    if (fstat(1, &st) != 0) return 1;
    fprintf(stderr, "type=%s major=%u blksize=%ld\n",
            S_ISCHR(st.st_mode) ? "chr" : S_ISFIFO(st.st_mode) ? "fifo" : S_ISREG(st.st_mode) ? "reg" : "other",
            major(st.st_rdev), (long)st.st_blksize);
    return 0;
}
