/*
 * printf.c -- formatted output to a file descriptor.
 *
 * Conversions: %d %u %x %p %s %c %%, with an optional l / ll modifier on
 * d, u and x (a bare %l prints a long in decimal).  Output is collected in
 * a buffer and handed to write() once per call (or once per 256 bytes), so
 * lines from different processes do not interleave character by character.
 */
#include "user.h"

struct out {
  int fd;
  int len;
  int total;
  char buf[256];
};

static void flush(struct out *o)
{
  if (o->len > 0)
    write(o->fd, o->buf, o->len);
  o->total += o->len;
  o->len = 0;
}

static void putc(struct out *o, char c)
{
  if (o->len == sizeof(o->buf))
    flush(o);
  o->buf[o->len++] = c;
}

static void puts(struct out *o, const char *s)
{
  if (s == 0)
    s = "(null)";
  while (*s)
    putc(o, *s++);
}

/* Print an unsigned 64-bit value in base 10 or 16, with a '-' if neg. */
static void putnum(struct out *o, unsigned long v, int base, int neg)
{
  char tmp[24];
  int n = 0;
  do {
    tmp[n++] = "0123456789abcdef"[v % base];
    v /= base;
  } while (v != 0);
  if (neg)
    putc(o, '-');
  while (n > 0)
    putc(o, tmp[--n]);
}

static void format(struct out *o, const char *fmt, __builtin_va_list ap)
{
  for (; *fmt; fmt++) {
    if (*fmt != '%') {
      putc(o, *fmt);
      continue;
    }
    fmt++;
    int islong = 0;
    while (*fmt == 'l') {
      islong = 1;
      fmt++;
    }
    switch (*fmt) {
    case 'd': {
      long v = islong ? __builtin_va_arg(ap, long) : __builtin_va_arg(ap, int);
      putnum(o, v < 0 ? -(unsigned long)v : (unsigned long)v, 10, v < 0);
      break;
    }
    case 'u':
      putnum(o, islong ? __builtin_va_arg(ap, unsigned long)
                       : __builtin_va_arg(ap, unsigned int), 10, 0);
      break;
    case 'x':
      putnum(o, islong ? __builtin_va_arg(ap, unsigned long)
                       : __builtin_va_arg(ap, unsigned int), 16, 0);
      break;
    case 'p': {
      unsigned long v = (unsigned long)__builtin_va_arg(ap, void *);
      puts(o, "0x");
      for (int shift = 60; shift >= 0; shift -= 4)   /* all 16 digits, as xv6 */
        putc(o, "0123456789abcdef"[(v >> shift) & 15]);
      break;
    }
    case 's':
      puts(o, __builtin_va_arg(ap, const char *));
      break;
    case 'c':
      putc(o, (char)__builtin_va_arg(ap, int));
      break;
    case '%':
      putc(o, '%');
      break;
    case 0:                      /* format ends in '%' or "%l" */
      return;
    default:
      if (islong) {              /* bare %l: a long in decimal */
        long v = __builtin_va_arg(ap, long);
        putnum(o, v < 0 ? -(unsigned long)v : (unsigned long)v, 10, v < 0);
        fmt--;                   /* reprocess this char as plain text */
      } else {                   /* unknown conversion: print it verbatim */
        putc(o, '%');
        putc(o, *fmt);
      }
      break;
    }
  }
}

static int vprint(int fd, const char *fmt, __builtin_va_list ap)
{
  struct out o;
  o.fd = fd;
  o.len = 0;
  o.total = 0;
  format(&o, fmt, ap);
  flush(&o);
  return o.total;
}

int fprintf(int fd, const char *fmt, ...)
{
  __builtin_va_list ap;
  __builtin_va_start(ap, fmt);
  int n = vprint(fd, fmt, ap);
  __builtin_va_end(ap);
  return n;
}

int printf(const char *fmt, ...)
{
  __builtin_va_list ap;
  __builtin_va_start(ap, fmt);
  int n = vprint(1, fmt, ap);
  __builtin_va_end(ap);
  return n;
}
