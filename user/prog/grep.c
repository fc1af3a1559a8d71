/* grep PATTERN [file...] -- print the lines that contain PATTERN.
 * Patterns: c (itself), . (any char), x* (zero or more x), ^ (anchor at
 * start), $ (anchor at end).  Lines longer than the buffer are split. */
#include "user.h"

/* Does re match a prefix of s?  (re anchored at s.) */
static int match_here(const char *re, const char *s)
{
  while (*re) {
    if (re[1] == '*') {
      /* try to match the rest after 0, 1, 2... copies of re[0] */
      for (const char *t = s;; t++) {
        if (match_here(re + 2, t))
          return 1;
        if (*t == 0 || (re[0] != '.' && re[0] != *t))
          return 0;
      }
    }
    if (re[0] == '$' && re[1] == 0)
      return *s == 0;
    if (*s == 0 || (re[0] != '.' && re[0] != *s))
      return 0;
    re++;
    s++;
  }
  return 1;
}

static int match(const char *re, const char *line)
{
  if (re[0] == '^')
    return match_here(re + 1, line);
  do {
    if (match_here(re, line))
      return 1;
  } while (*line++);
  return 0;
}

static char buf[1024];

static void grep(const char *re, int fd)
{
  int have = 0, n;
  while ((n = read(fd, buf + have, sizeof(buf) - 1 - have)) > 0) {
    have += n;
    char *line = buf, *nl;
    buf[have] = 0;
    while ((nl = strchr(line, '\n')) != 0) {
      *nl = 0;
      if (match(re, line)) {
        *nl = '\n';
        write(1, line, nl + 1 - line);
      }
      line = nl + 1;
    }
    have -= line - buf;
    if (have == (int)sizeof(buf) - 1) {   /* no newline in a full buffer */
      if (match(re, buf)) {
        write(1, buf, have);
        write(1, "\n", 1);
      }
      have = 0;
    }
    memmove(buf, line, have);
  }
  if (have > 0) {                 /* last line without a newline */
    buf[have] = 0;
    if (match(re, buf)) {
      write(1, buf, have);
      write(1, "\n", 1);
    }
  }
}

int main(int argc, char **argv)
{
  if (argc < 2) {
    fprintf(2, "usage: grep pattern [file ...]\n");
    exit(1);
  }
  if (argc == 2) {
    grep(argv[1], 0);
    return 0;
  }
  for (int i = 2; i < argc; i++) {
    int fd = open(argv[i], O_RDONLY);
    if (fd < 0) {
      fprintf(2, "grep: cannot open %s\n", argv[i]);
      exit(1);
    }
    grep(argv[1], fd);
    close(fd);
  }
  return 0;
}
