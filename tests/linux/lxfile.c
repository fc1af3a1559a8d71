/* File system calls with Linux flags and errno values, record locks between two
 * processes, and close-on-exec across execve. Each line: "what result errno". */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void show(const char *what, long r) {
    printf("%s %ld %d\n", what, r, r < 0 ? errno : 0);
    errno = 0;
}

static int lockit(int fd, int cmd, short type, off_t start, off_t len) {
    struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
    return fcntl(fd, cmd, &fl);
}

int main(int argc, char **argv) {
    setvbuf(stdout, 0, _IONBF, 0);
    if (argc > 2 && strcmp(argv[1], "cloexec") == 0) {
        /* after execve: the O_CLOEXEC descriptor is gone, the other one stays */
        int fd = atoi(argv[2]), keep = atoi(argv[3]);
        show("after_exec_cloexec_fd", fcntl(fd, F_GETFD));
        show("after_exec_kept_fd", fcntl(keep, F_GETFD));
        return 0;
    }
    show("open_missing", open("/no/such", O_RDONLY));
    show("mkdir", mkdir("/work", 0755));
    show("mkdir_exists", mkdir("/work", 0755));
    show("chdir", chdir("/work"));
    char cwd[128];
    printf("getcwd %s\n", getcwd(cwd, sizeof cwd));
    show("getcwd_small", getcwd(cwd, 3) ? 0 : -1);

    int fd = open("a_rather_long_file_name_for_xv6.txt", O_CREAT | O_RDWR | O_TRUNC, 0644);
    show("creat_longname", fd >= 0);
    show("creat_excl", open("a_rather_long_file_name_for_xv6.txt", O_CREAT | O_EXCL | O_WRONLY, 0644));
    show("write", write(fd, "hello world\n", 12));
    show("pwrite", pwrite(fd, "HELLO", 5, 0));
    char buf[64] = {0};
    show("pread", pread(fd, buf, 5, 6));
    printf("pread_data %s\n", buf);
    show("lseek_end", lseek(fd, 0, SEEK_END));
    show("lseek_bad", lseek(fd, -100, SEEK_SET));
    struct stat st;
    show("fstat", fstat(fd, &st));
    printf("stat size %ld reg %d blksize %ld\n", (long)st.st_size, S_ISREG(st.st_mode), (long)st.st_blksize);
    show("ftruncate", ftruncate(fd, 3));
    show("stat_path", stat("a_rather_long_file_name_for_xv6.txt", &st));
    printf("stat size_after_truncate %ld\n", (long)st.st_size);
    show("fsync", fsync(fd));
    show("fdatasync", fdatasync(fd));
    show("fcntl_getfl_rdwr", fcntl(fd, F_GETFL) & O_ACCMODE);
    close(fd);

    fd = open("app", O_CREAT | O_WRONLY | O_APPEND, 0644);
    write(fd, "one", 3);
    lseek(fd, 0, SEEK_SET);
    write(fd, "two", 3);
    close(fd);
    fd = open("app", O_RDONLY);
    memset(buf, 0, sizeof buf);
    read(fd, buf, sizeof buf);
    printf("append %s\n", buf);
    show("write_rdonly", write(fd, "x", 1));
    show("open_dir_for_write", open("/work", O_WRONLY));
    show("o_directory_on_file", open("app", O_RDONLY | O_DIRECTORY));
    close(fd);

    show("rename", rename("app", "app2"));
    show("access_gone", access("app", F_OK));
    show("access_there", access("app2", R_OK | W_OK | X_OK));
    show("open_notdir", open("/tmp/../work/app2/x", O_RDONLY));
    show("link", link("app2", "app3"));
    show("unlink", unlink("app3"));
    show("unlink_dir", unlink("/work"));
    show("rmdir_notempty", rmdir("/work"));
    show("rmdir_file", rmdir("app2"));
    mkdir("sub", 0755);
    show("rename_file_over_dir", rename("app2", "sub"));

    /* getdents64 through readdir, from an openat-relative directory */
    int dfd = open("/work", O_RDONLY | O_DIRECTORY);
    show("openat_rel", openat(dfd, "app2", O_RDONLY) >= 0);
    DIR *d = fdopendir(dfd);
    struct dirent *e;
    printf("dir");
    while ((e = readdir(d)) != 0) printf(" %s:%d", e->d_name, e->d_type);
    printf("\n");
    closedir(d);

    /* fchdir to a directory opened by name, and names with any bytes */
    int sub = open("sub", O_RDONLY | O_DIRECTORY);
    show("fchdir", fchdir(sub));
    printf("getcwd_after_fchdir %s\n", getcwd(cwd, sizeof cwd));
    show("odd_name", open("100% caf\xc3\xa9 \x01", O_CREAT | O_WRONLY, 0644) >= 0);
    d = fdopendir(open(".", O_RDONLY | O_DIRECTORY));
    printf("subdir");
    while ((e = readdir(d)) != 0) {
        printf(" [");
        for (const unsigned char *c = (const unsigned char *)e->d_name; *c; c++) printf(*c >= 32 && *c < 127 ? "%c" : "\\x%02x", *c);
        printf("]");
    }
    printf("\n");
    closedir(d);
    chdir("/work");

    /* /tmp and /var/tmp are there and writable */
    show("tmp", open("/tmp/t", O_CREAT | O_WRONLY, 0644) >= 0);
    show("vartmp", open("/var/tmp/t", O_CREAT | O_WRONLY, 0644) >= 0);

    /* dup, dup3, fcntl DUPFD and FD_CLOEXEC, pipe2 */
    int p[2];
    show("pipe2", pipe2(p, O_CLOEXEC));
    show("pipe_cloexec", fcntl(p[0], F_GETFD));
    show("dup3", dup3(p[1], 40, 0));
    show("dup3_same", dup3(40, 40, 0));
    show("dupfd_min", fcntl(p[1], F_DUPFD, 100));
    show("dupfd_cloexec", fcntl(fcntl(p[1], F_DUPFD_CLOEXEC, 0), F_GETFD));
    show("lseek_pipe", lseek(p[0], 0, SEEK_SET));
    write(40, "via dup", 7);
    memset(buf, 0, sizeof buf);
    read(p[0], buf, sizeof buf);
    printf("pipe_data %s\n", buf);
    show("nonblock_setfl", fcntl(p[0], F_SETFL, O_NONBLOCK));
    show("nonblock_read", read(p[0], buf, 1));
    show("sendfile_einval", (long)syscall(71, 1, p[0], 0, 10));
    show("bad_fd_fcntl", fcntl(999, F_GETFD));
    show("ebadf_high", dup3(p[0], 100000, 0));

    /* record locks between two processes */
    fd = open("locked", O_CREAT | O_RDWR, 0644);
    write(fd, "0123456789", 10);
    show("lock_parent", lockit(fd, F_SETLK, F_WRLCK, 0, 5));
    int sync[2];
    pipe(sync);
    pid_t pid = fork();
    if (pid == 0) {
        int cfd = open("locked", O_RDWR);
        show("child_lock_conflict", lockit(cfd, F_SETLK, F_WRLCK, 2, 2));
        show("child_lock_other_range", lockit(cfd, F_SETLK, F_WRLCK, 5, 5));
        struct flock q = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
        fcntl(cfd, F_GETLK, &q);
        printf("child_getlk type_wr %d owner_is_parent %d start %ld len %ld\n", q.l_type == F_WRLCK, q.l_pid == getppid(), (long)q.l_start, (long)q.l_len);
        write(sync[1], "x", 1);
        show("child_lock_wait", lockit(cfd, F_SETLKW, F_WRLCK, 0, 5)); /* sleeps until the parent unlocks */
        printf("child got the lock\n");
        _exit(0);
    }
    read(sync[0], buf, 1);
    printf("parent unlocks\n");
    show("unlock_parent", lockit(fd, F_SETLK, F_UNLCK, 0, 0));
    int status;
    waitpid(pid, &status, 0);
    show("child_exit", WEXITSTATUS(status));
    show("relock_after_child_exit", lockit(fd, F_SETLK, F_WRLCK, 0, 0));

    /* a cycle of waiters: the child holds byte 1 and waits for byte 0, which the parent
     * holds; the parent asking for byte 1 would wait forever: EDEADLK */
    lockit(fd, F_SETLK, F_UNLCK, 0, 0);
    show("hold_byte0", lockit(fd, F_SETLK, F_WRLCK, 0, 1));
    pid = fork();
    if (pid == 0) {
        int cfd = open("locked", O_RDWR);
        lockit(cfd, F_SETLK, F_WRLCK, 1, 1);
        write(sync[1], "y", 1);
        show("child_waits_byte0", lockit(cfd, F_SETLKW, F_WRLCK, 0, 1));
        _exit(0);
    }
    read(sync[0], buf, 1);
    struct timespec pause = {0, 10000000};
    nanosleep(&pause, 0); /* the child is asleep in F_SETLKW by now */
    show("deadlock", lockit(fd, F_SETLKW, F_WRLCK, 1, 1));
    lockit(fd, F_SETLK, F_UNLCK, 0, 0);
    waitpid(pid, &status, 0);
    show("deadlock_child_exit", WEXITSTATUS(status));

    /* close-on-exec across execve */
    int ce = open("app2", O_RDONLY | O_CLOEXEC);
    int keep = open("app2", O_RDONLY);
    pid = fork();
    if (pid == 0) {
        char a[16], b[16];
        snprintf(a, sizeof a, "%d", ce);
        snprintf(b, sizeof b, "%d", keep);
        char *args[] = {"lxfile", "cloexec", a, b, 0};
        execv("/proc/self/exe", args);
        _exit(99);
    }
    waitpid(pid, &status, 0);
    show("efault_path", open((char *)16, O_RDONLY));
    char longp[5000];
    memset(longp, 'a', sizeof longp - 1);
    longp[sizeof longp - 1] = 0;
    show("enametoolong", open(longp, O_RDONLY));
    return 0;
}
