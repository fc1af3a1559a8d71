/* ls [path...] -- list directories, xv6 style: one line per entry,
 * "name type inum size", the name padded with spaces to DIRSIZ columns.
 * A file argument prints just its own line. */
#include "user.h"

/* The last component of path, space-padded to DIRSIZ (never truncated). */
static const char *fmtname(const char *path)
{
  static char name[DIRSIZ + 1];
  const char *p = path + strlen(path);
  while (p > path && p[-1] != '/')
    p--;
  int n = strlen(p);
  if (n >= DIRSIZ)
    return p;
  memmove(name, p, n);
  memset(name + n, ' ', DIRSIZ - n);
  name[DIRSIZ] = 0;
  return name;
}

static void show(const char *path, struct stat *st)
{
  printf("%s %d %d %d\n", fmtname(path), st->type, st->ino, (int)st->size);
}

static void ls(const char *path)
{
  struct stat st;
  int fd = open(path, O_RDONLY);
  if (fd < 0) {
    fprintf(2, "ls: cannot open %s\n", path);
    return;
  }
  if (fstat(fd, &st) < 0) {
    fprintf(2, "ls: cannot stat %s\n", path);
    close(fd);
    return;
  }
  if (st.type != T_DIR) {
    show(path, &st);
    close(fd);
    return;
  }

  /* a directory: stat each entry through the path "dir/name" */
  char buf[MAXPATH];
  int plen = strlen(path);
  if (plen + 1 + DIRSIZ + 1 > (int)sizeof(buf)) {
    fprintf(2, "ls: path too long\n");
    close(fd);
    return;
  }
  memmove(buf, path, plen);
  buf[plen] = '/';
  char *name = buf + plen + 1;
  struct dirent de;
  while (read(fd, &de, sizeof(de)) == sizeof(de)) {
    if (de.inum == 0)
      continue;                      /* free slot */
    memmove(name, de.name, DIRSIZ);
    name[DIRSIZ] = 0;
    if (stat(buf, &st) < 0) {
      fprintf(2, "ls: cannot stat %s\n", buf);
      continue;
    }
    show(buf, &st);
  }
  close(fd);
}

int main(int argc, char **argv)
{
  if (argc < 2)
    ls(".");
  for (int i = 1; i < argc; i++)
    ls(argv[i]);
  return 0;
}
