/*
 * filetest -- exercise the file system calls and their error cases.
 *
 * Works inside a fresh directory "ftdir" and removes everything it made.
 * Every check that fails prints "filetest: FAIL <what>" on fd 2 and exits 1.
 */
#include "user.h"

static void fail(const char *what)
{
  fprintf(2, "filetest: FAIL %s\n", what);
  exit(1);
}

#define CHECK(cond, what) do { if (!(cond)) fail(what); } while (0)

static char buf[512];

/* Create `name` holding exactly `data`. */
static void put_file(const char *name, const char *data)
{
  int fd = open(name, O_CREATE | O_RDWR);
  CHECK(fd >= 0, "create");
  CHECK(write(fd, data, strlen(data)) == (int)strlen(data), "write");
  CHECK(close(fd) == 0, "close");
}

/* Does file `name` hold exactly `data`? */
static int has_contents(const char *name, const char *data)
{
  int fd = open(name, O_RDONLY);
  if (fd < 0)
    return 0;
  int n = read(fd, buf, sizeof(buf));
  close(fd);
  return n == (int)strlen(data) && memcmp(buf, data, n) == 0;
}

static void basic_io(void)
{
  struct stat st;
  put_file("a", "hello world");
  CHECK(has_contents("a", "hello world"), "data did not persist after close");

  int fd = open("a", O_RDONLY);
  CHECK(fd >= 0, "open existing file");
  CHECK(fstat(fd, &st) == 0, "fstat");
  CHECK(st.type == T_FILE && st.size == 11 && st.nlink == 1, "fstat fields");
  CHECK(read(fd, buf, 5) == 5 && memcmp(buf, "hello", 5) == 0, "read 5");
  CHECK(read(fd, buf, sizeof(buf)) == 6 && memcmp(buf, " world", 6) == 0,
        "read continues at the offset");
  CHECK(read(fd, buf, sizeof(buf)) == 0, "read at end of file returns 0");
  CHECK(write(fd, "x", 1) == -1, "write to an O_RDONLY fd");
  CHECK(close(fd) == 0, "close");

  fd = open("a", O_WRONLY);
  CHECK(fd >= 0, "open O_WRONLY");
  CHECK(read(fd, buf, 1) == -1, "read from an O_WRONLY fd");
  close(fd);

  CHECK(open("nosuchfile", O_RDONLY) == -1, "open a missing file");
}

static void bad_fds(void)
{
  struct stat st;
  int bad[] = {-1, NOFILE, 99, 1000};
  for (int i = 0; i < (int)(sizeof(bad) / sizeof(bad[0])); i++) {
    CHECK(read(bad[i], buf, 1) == -1, "read on a bad fd");
    CHECK(write(bad[i], buf, 1) == -1, "write on a bad fd");
    CHECK(close(bad[i]) == -1, "close on a bad fd");
    CHECK(fstat(bad[i], &st) == -1, "fstat on a bad fd");
    CHECK(dup(bad[i]) == -1, "dup on a bad fd");
  }
  int fd = open("a", O_RDONLY);
  CHECK(fd >= 0 && close(fd) == 0, "open+close");
  CHECK(read(fd, buf, 1) == -1, "read on a closed fd");
  CHECK(close(fd) == -1, "close twice");
}

static void sharing(void)
{
  /* dup: both descriptors move one shared offset */
  int fd = open("a", O_RDONLY);
  int fd2 = dup(fd);
  CHECK(fd >= 0 && fd2 >= 0 && fd2 != fd, "dup");
  CHECK(read(fd, buf, 5) == 5, "read via original");
  CHECK(read(fd2, buf, 6) == 6 && memcmp(buf, " world", 6) == 0,
        "dup does not share the offset");
  close(fd);
  close(fd2);

  /* fork: the child's writes move the parent's offset too */
  fd = open("b", O_CREATE | O_RDWR);
  CHECK(fd >= 0, "create b");
  int pid = fork();
  CHECK(pid >= 0, "fork");
  if (pid == 0) {
    exit(write(fd, "child", 5) == 5 ? 0 : 1);
  }
  int st;
  CHECK(wait(&st) == pid && st == 0, "child write");
  CHECK(write(fd, "parent", 6) == 6, "parent write");
  close(fd);
  CHECK(has_contents("b", "childparent"), "fork does not share the offset");

  /* O_TRUNC empties the file */
  fd = open("b", O_WRONLY | O_TRUNC);
  struct stat s;
  CHECK(fd >= 0 && fstat(fd, &s) == 0 && s.size == 0, "O_TRUNC");
  CHECK(write(fd, "xy", 2) == 2, "write after O_TRUNC");
  close(fd);
  CHECK(has_contents("b", "xy"), "contents after O_TRUNC");
}

static void fd_table(void)
{
  /* fds are handed out lowest-first, so filling the table must end with
   * fd NOFILE-1, after which open fails */
  int fds[NOFILE], n = 0, last = -1;
  for (;;) {
    int fd = open("a", O_RDONLY);
    if (fd < 0)
      break;
    CHECK(n < NOFILE, "more than NOFILE files open");
    fds[n++] = last = fd;
  }
  CHECK(last == NOFILE - 1, "open failed before the fd table was full");
  CHECK(dup(0) == -1, "dup with a full fd table");
  while (n > 0)
    CHECK(close(fds[--n]) == 0, "close");
}

static void names_and_dirs(void)
{
  struct stat st, st2;

  /* a directory is readable, as 16-byte dirents, but not writable */
  CHECK(open(".", O_WRONLY) == -1, "open a directory O_WRONLY");
  CHECK(open(".", O_RDWR) == -1, "open a directory O_RDWR");
  int fd = open(".", O_RDONLY);
  CHECK(fd >= 0, "open a directory O_RDONLY");
  CHECK(sizeof(struct dirent) == 16, "dirent size");
  struct dirent de;
  int dot = 0, dotdot = 0, a = 0;
  while (read(fd, &de, sizeof(de)) == sizeof(de)) {
    if (de.inum == 0)
      continue;
    dot |= strncmp(de.name, ".", DIRSIZ) == 0;
    dotdot |= strncmp(de.name, "..", DIRSIZ) == 0;
    a |= strncmp(de.name, "a", DIRSIZ) == 0;
  }
  close(fd);
  CHECK(dot && dotdot && a, "directory listing lacks . or .. or a");

  /* names: a longer one is cut to DIRSIZ (14) bytes; paths: under MAXPATH (128) */
  put_file("abcdefghijklmnopq", "cut");
  CHECK(has_contents("abcdefghijklmn", "cut"), "a long name is cut to DIRSIZ");
  CHECK(unlink("abcdefghijklmnXYZ") == 0, "unlink by a long name with the same 14 bytes");
  char path[MAXPATH + 32];
  for (int i = 0; i < (int)sizeof(path) - 2; i += 2) {
    path[i] = '.';
    path[i + 1] = '/';
  }
  path[sizeof(path) - 2] = 'a';            /* "././././.../a", about 160 bytes */
  path[sizeof(path) - 1] = 0;
  CHECK(open(path, O_RDONLY) == -1, "path longer than MAXPATH");
  put_file("abcdefghijklmn", "14");        /* exactly DIRSIZ is fine */
  CHECK(has_contents("abcdefghijklmn", "14"), "name of exactly DIRSIZ bytes");
  CHECK(unlink("abcdefghijklmn") == 0, "unlink");

  /* link: two names, one inode */
  CHECK(link("b", "c") == 0, "link");
  CHECK(stat("b", &st) == 0 && stat("c", &st2) == 0, "stat linked files");
  CHECK(st.ino == st2.ino && st.nlink == 2, "link: same inode, nlink 2");
  CHECK(unlink("b") == 0, "unlink b");
  CHECK(open("b", O_RDONLY) == -1, "unlinked name still opens");
  CHECK(has_contents("c", "xy"), "data lost after unlinking the other name");
  CHECK(stat("c", &st) == 0 && st.nlink == 1, "nlink after unlink");
  CHECK(unlink("c") == 0, "unlink c");

  /* directories: mkdir, chdir, relative names, no unlink while non-empty */
  CHECK(mkdir("d") == 0, "mkdir d");
  CHECK(stat("d", &st) == 0 && st.type == T_DIR, "stat d");
  CHECK(chdir("d") == 0, "chdir d");
  put_file("f", "in d");
  CHECK(chdir("..") == 0, "chdir ..");
  CHECK(has_contents("d/f", "in d"), "file in subdirectory");
  CHECK(unlink("d") == -1, "unlink a non-empty directory");
  CHECK(unlink("d/f") == 0, "unlink d/f");
  CHECK(unlink("d") == 0, "unlink an empty directory");
  CHECK(chdir("d") == -1, "chdir into a removed directory");

  /* a device node */
  CHECK(mknod("dev", 1, 0) == 0, "mknod");
  CHECK(stat("dev", &st) == 0 && st.type == T_DEVICE, "stat device");
  CHECK(unlink("dev") == 0, "unlink device");
}

int main(void)
{
  CHECK(mkdir("ftdir") == 0, "mkdir ftdir");
  CHECK(chdir("ftdir") == 0, "chdir ftdir");
  basic_io();
  bad_fds();
  sharing();
  fd_table();
  names_and_dirs();
  CHECK(unlink("a") == 0, "unlink a");
  CHECK(chdir("..") == 0, "chdir ..");
  CHECK(unlink("ftdir") == 0, "remove ftdir");
  printf("filetest OK\n");
  return 0;
}
