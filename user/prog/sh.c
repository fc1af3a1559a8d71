/*
 * sh -- a small shell with the behaviour of xv6's.
 *
 *   line     := list
 *   list     := pipeline { (';' | '&') [pipeline] }     '&' backgrounds
 *   pipeline := command { '|' command }
 *   command  := ( '(' list ')' | word... ) with '<' file and '>' file
 *               anywhere among the words
 *
 * Words may be quoted with '...' or "..." to include blanks and specials.
 * The prompt "$ " goes to fd 2, as in xv6.  `cd` is built in.  A command
 * name without '/' that fails to exec is retried as "/name".
 *
 * The shell parses a line into a tree of struct cmd, then runs the
 * top-level ';' list itself: foreground commands are forked and waited
 * for, background ones are forked and left running, and `cd` runs in the
 * shell process so that it has an effect.  Everything below that level
 * (pipes, parentheses, redirections) runs in forked children.
 */
#include "user.h"

enum { EXEC, PIPE, LIST, BACK, GROUP };

struct cmd {
  int type;
  char *argv[MAXARG];        /* EXEC: NULL-terminated, at most MAXARG-1 words */
  int argc;
  struct cmd *left, *right;  /* PIPE, LIST: both; BACK, GROUP: left only */
  char *in, *out;            /* '<' and '>' files, or 0 */
};

/* ---------------- lexing ---------------- */

#define MAXTOK 128
enum { T_WORD = 'w', T_END = 0 };   /* other tokens are their own char */

static char line[1024];
static char words[2048];            /* unquoted copies of the words */
static int tokkind[MAXTOK];
static char *tokword[MAXTOK];
static int ntok, pos;

static int isblank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v'; }
static int isspecial(char c) { return c && strchr("|<>;&()", c) != 0; }

/* Split `s` into tokens; returns -1 on an unterminated quote or overflow. */
static int lex(const char *s)
{
  char *w = words, *wend = words + sizeof(words) - 1;
  ntok = 0;
  for (;;) {
    while (isblank(*s))
      s++;
    if (ntok == MAXTOK - 1)
      return -1;
    if (*s == 0 || *s == '#') {           /* '#' starts a comment */
      tokkind[ntok++] = T_END;
      return 0;
    }
    if (isspecial(*s)) {
      tokkind[ntok++] = *s++;
      continue;
    }
    tokkind[ntok] = T_WORD;
    tokword[ntok++] = w;
    while (*s && !isblank(*s) && !isspecial(*s)) {
      if (*s == '\'' || *s == '"') {        /* quoted part of a word */
        char q = *s++;
        while (*s && *s != q) {
          if (w == wend)
            return -1;
          *w++ = *s++;
        }
        if (*s++ != q)
          return -1;
      } else {
        if (w == wend)
          return -1;
        *w++ = *s++;
      }
    }
    *w++ = 0;
  }
}

/* ---------------- parsing ---------------- */

static struct cmd pool[64];
static int npool;
static const char *parse_error;

static struct cmd *node(int type, struct cmd *left, struct cmd *right)
{
  if (npool == (int)(sizeof(pool) / sizeof(pool[0]))) {
    parse_error = "line too complex";
    return 0;
  }
  struct cmd *c = &pool[npool++];
  memset(c, 0, sizeof(*c));
  c->type = type;
  c->left = left;
  c->right = right;
  return c;
}

static int peek(void) { return tokkind[pos]; }
static int starts_command(int t) { return t == T_WORD || t == '(' || t == '<' || t == '>'; }
static struct cmd *parse_list(void);

/* If the next tokens are "< file" or "> file", record them in c. */
static int parse_redirect(struct cmd *c)
{
  int t = peek();
  if (t != '<' && t != '>')
    return 0;
  pos++;
  if (peek() != T_WORD) {
    parse_error = "missing file name after < or >";
    return 0;
  }
  if (t == '<')
    c->in = tokword[pos++];
  else
    c->out = tokword[pos++];
  return 1;
}

static struct cmd *parse_command(void)
{
  struct cmd *c;
  if (peek() == '(') {
    pos++;
    struct cmd *inner = parse_list();
    if (!inner)
      return 0;
    if (peek() != ')') {
      parse_error = "missing )";
      return 0;
    }
    pos++;
    c = node(GROUP, inner, 0);
    while (c && parse_redirect(c))
      ;
    return parse_error ? 0 : c;
  }
  c = node(EXEC, 0, 0);
  if (!c)
    return 0;
  for (;;) {
    if (peek() == T_WORD) {
      if (c->argc == MAXARG - 1) {
        parse_error = "too many arguments";
        return 0;
      }
      c->argv[c->argc++] = tokword[pos++];
    } else if (!parse_redirect(c)) {
      break;
    }
  }
  if (parse_error)
    return 0;
  if (c->argc == 0 && !c->in && !c->out) {
    parse_error = "missing command";
    return 0;
  }
  return c;
}

static struct cmd *parse_pipeline(void)
{
  struct cmd *left = parse_command();
  if (left && peek() == '|') {
    pos++;
    struct cmd *right = parse_pipeline();
    return right ? node(PIPE, left, right) : 0;
  }
  return left;
}

static struct cmd *parse_list(void)
{
  struct cmd *left = parse_pipeline();
  if (!left)
    return 0;
  int t = peek();
  if (t != ';' && t != '&')
    return left;
  pos++;
  if (t == '&')
    left = node(BACK, left, 0);
  if (!left || !starts_command(peek()))
    return left;                      /* "a ;" and "a &" end the list */
  struct cmd *right = parse_list();
  return right ? node(LIST, left, right) : 0;
}

/* Parse the whole line; 0 with parse_error == 0 means an empty line. */
static struct cmd *parse(const char *s)
{
  npool = 0;
  pos = 0;
  parse_error = 0;
  if (lex(s) < 0) {
    parse_error = "bad quoting or line too long";
    return 0;
  }
  if (peek() == T_END)
    return 0;
  struct cmd *c = parse_list();
  if (c && peek() != T_END)
    parse_error = "unexpected token";
  return parse_error ? 0 : c;
}

/* ---------------- running ---------------- */

static int fork1(void)
{
  int pid = fork();
  if (pid < 0)
    fprintf(2, "sh: fork failed\n");
  return pid;
}

/* Open `file` so that it becomes file descriptor `fd`. */
static void redirect(int fd, const char *file, int mode)
{
  close(fd);
  if (open(file, mode) != fd) {
    fprintf(2, "open %s failed\n", file);
    exit(1);
  }
}

static void runcmd(struct cmd *c) __attribute__((noreturn));

/* Run c in a new child with `fd` connected to pipe end p[end]. */
static int spawn_piped(struct cmd *c, int fd, int *p, int end)
{
  int pid = fork1();
  if (pid == 0) {
    close(fd);
    dup(p[end]);             /* lowest free fd, i.e. fd */
    close(p[0]);
    close(p[1]);
    runcmd(c);
  }
  return pid;
}

static void runcmd(struct cmd *c)
{
  if (c->in)
    redirect(0, c->in, O_RDONLY);
  if (c->out)
    redirect(1, c->out, O_WRONLY | O_CREATE | O_TRUNC);

  switch (c->type) {
  case EXEC: {
    if (c->argc == 0)
      exit(0);
    char *name = c->argv[0];
    exec(name, c->argv);
    if (!strchr(name, '/') && strlen(name) + 2 <= MAXPATH) {
      char path[MAXPATH];            /* programs live in the root directory */
      path[0] = '/';
      strcpy(path + 1, name);
      exec(path, c->argv);
    }
    fprintf(2, "exec %s failed\n", name);
    exit(1);
  }
  case PIPE: {
    int p[2];
    if (pipe(p) < 0) {
      fprintf(2, "sh: pipe failed\n");
      exit(1);
    }
    spawn_piped(c->left, 1, p, 1);
    spawn_piped(c->right, 0, p, 0);
    close(p[0]);
    close(p[1]);
    while (wait(0) >= 0)
      ;
    exit(0);
  }
  case LIST: {
    int pid = fork1();
    if (pid == 0)
      runcmd(c->left);
    if (pid > 0)
      while (wait(0) >= 0)
        ;
    runcmd(c->right);
  }
  case BACK:
    if (fork1() == 0)
      runcmd(c->left);
    exit(0);
  case GROUP:
    runcmd(c->left);
  }
  exit(1);
}

/* Wait until the child `pid` exits, reaping finished background jobs too. */
static void waitfor(int pid)
{
  int w;
  while ((w = wait(0)) >= 0 && w != pid)
    ;
}

static void cd(struct cmd *c)
{
  const char *dir = c->argc > 1 ? c->argv[1] : "/";
  if (chdir(dir) < 0)
    fprintf(2, "cannot cd %s\n", dir);
}

/* Run one element of the top-level list in (or from) the shell itself. */
static void run_top(struct cmd *c)
{
  if (c->type == LIST) {
    run_top(c->left);
    run_top(c->right);
  } else if (c->type == BACK) {
    if (fork1() == 0)
      runcmd(c->left);               /* not waited for; reaped later */
  } else if (c->type == EXEC && c->argc > 0 && strcmp(c->argv[0], "cd") == 0 &&
             !c->in && !c->out) {
    cd(c);
  } else {
    int pid = fork1();
    if (pid == 0)
      runcmd(c);
    if (pid > 0)
      waitfor(pid);
  }
}

int main(void)
{
  for (;;) {
    fprintf(2, "$ ");
    memset(line, 0, sizeof(line));
    gets(line, sizeof(line));
    if (line[0] == 0)
      break;                          /* end of input */
    struct cmd *c = parse(line);
    if (c)
      run_top(c);
    else if (parse_error)
      fprintf(2, "sh: syntax error: %s\n", parse_error);
  }
  /* let background jobs finish, so their output is not cut off */
  while (wait(0) >= 0)
    ;
  return 0;
}
