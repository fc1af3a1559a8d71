/*
 * string.c -- string and memory helpers, plus gets() and stat().
 *
 * Built with -fno-builtin so the compiler neither replaces these loops by
 * calls to themselves nor assumes libc semantics elsewhere.  The compiler
 * may still emit calls to memcpy/memset/memmove for struct copies, which
 * is why those three exist with their standard signatures.
 */
#include "user.h"

uint strlen(const char *s)
{
  const char *p = s;
  while (*p)
    p++;
  return p - s;
}

char *strcpy(char *dst, const char *src)
{
  char *d = dst;
  while ((*d++ = *src++) != 0)
    ;
  return dst;
}

int strcmp(const char *a, const char *b)
{
  while (*a && *a == *b) {
    a++;
    b++;
  }
  return (uchar)*a - (uchar)*b;
}

int strncmp(const char *a, const char *b, unsigned long n)
{
  for (; n > 0; n--, a++, b++) {
    if (*a != *b || *a == 0)
      return (uchar)*a - (uchar)*b;
  }
  return 0;
}

char *strchr(const char *s, int c)
{
  for (; *s; s++)
    if (*s == (char)c)
      return (char *)s;
  return 0;
}

void *memset(void *dst, int c, unsigned long n)
{
  uchar *d = dst;
  while (n-- > 0)
    *d++ = (uchar)c;
  return dst;
}

/* memmove copies correctly even if the ranges overlap. */
void *memmove(void *dst, const void *src, unsigned long n)
{
  uchar *d = dst;
  const uchar *s = src;
  if (d == s || n == 0)
    return dst;
  if (d < s || d >= s + n) {
    while (n-- > 0)
      *d++ = *s++;
  } else {               /* dst overlaps the tail of src: copy backwards */
    d += n;
    s += n;
    while (n-- > 0)
      *--d = *--s;
  }
  return dst;
}

void *memcpy(void *dst, const void *src, unsigned long n)
{
  return memmove(dst, src, n);
}

int memcmp(const void *a, const void *b, unsigned long n)
{
  const uchar *x = a, *y = b;
  for (; n > 0; n--, x++, y++)
    if (*x != *y)
      return *x - *y;
  return 0;
}

/* Decimal string to int.  Like xv6 it stops at the first non-digit; unlike
 * xv6 it also accepts a leading '-', so "exittest -1" works. */
int atoi(const char *s)
{
  int neg = 0, n = 0;
  if (*s == '-') {
    neg = 1;
    s++;
  }
  while (*s >= '0' && *s <= '9')
    n = n * 10 + (*s++ - '0');
  return neg ? -n : n;
}

/* A size such as "64", "300K", "16M" or "1G": digits, then an optional
 * binary suffix (K, M or G, either case).  Used by the memory test programs. */
unsigned long parse_size(const char *s)
{
  unsigned long n = 0;
  for (; *s >= '0' && *s <= '9'; s++)
    n = n * 10 + (*s - '0');
  switch (*s) {
  case 'k': case 'K': n <<= 10; break;
  case 'm': case 'M': n <<= 20; break;
  case 'g': case 'G': n <<= 30; break;
  }
  return n;
}

/* Read one line (including its '\n') from fd 0, at most max-1 bytes.
 * Returns buf; buf[0] == 0 means end of input. */
char *gets(char *buf, int max)
{
  int i = 0;
  char c;
  while (i + 1 < max) {
    if (read(0, &c, 1) < 1)
      break;
    buf[i++] = c;
    if (c == '\n' || c == '\r')
      break;
  }
  buf[i] = 0;
  return buf;
}

int stat(const char *path, struct stat *st)
{
  int fd = open(path, O_RDONLY);
  if (fd < 0)
    return -1;
  int r = fstat(fd, st);
  close(fd);
  return r;
}
