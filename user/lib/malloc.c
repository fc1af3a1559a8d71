/*
 * malloc.c -- a small first-fit allocator on top of sbrk().
 *
 * Every block starts with a 16-byte header holding its total size (header
 * included).  Free blocks are kept in one list sorted by address, so free()
 * can merge a block with the free neighbours on either side and the heap
 * does not fragment into ever smaller pieces.  Memory is never given back
 * to the kernel.
 */
#include "user.h"

struct block {
  unsigned long size;       /* bytes, header included, multiple of 16 */
  struct block *next;       /* next free block (only while free) */
};

#define HDR sizeof(struct block)      /* 16: keeps payloads 16-byte aligned */
#define MIN_GROW (64 * 1024)          /* ask the kernel for at least this */

static struct block *freelist;        /* sorted by address */

/* Put b on the free list, merging it with adjacent free blocks. */
static void insert_free(struct block *b)
{
  struct block *prev = 0, *cur = freelist;
  while (cur && cur < b) {
    prev = cur;
    cur = cur->next;
  }
  /* merge with the following block */
  if (cur && (char *)b + b->size == (char *)cur) {
    b->size += cur->size;
    b->next = cur->next;
  } else {
    b->next = cur;
  }
  /* merge with the preceding block, or link after it */
  if (prev && (char *)prev + prev->size == (char *)b) {
    prev->size += b->size;
    prev->next = b->next;
  } else if (prev) {
    prev->next = b;
  } else {
    freelist = b;
  }
}

/* Get at least `need` more bytes from the kernel onto the free list. */
static int grow(unsigned long need)
{
  if (need < MIN_GROW)
    need = MIN_GROW;
  unsigned long brk = (unsigned long)sbrk(0);
  unsigned long pad = (16 - (brk & 15)) & 15;   /* keep blocks 16-aligned */
  if (need + pad > 0x40000000)
    return -1;
  char *p = sbrk((int)(need + pad));
  if (p == (char *)-1)
    return -1;
  struct block *b = (struct block *)(p + pad);
  b->size = need;
  insert_free(b);
  return 0;
}

void *malloc(unsigned long n)
{
  if (n == 0 || n > 0x3fff0000)
    return 0;
  unsigned long need = (n + HDR + 15) & ~15UL;
  for (;;) {
    struct block *prev = 0, *b = freelist;
    for (; b; prev = b, b = b->next) {
      if (b->size < need)
        continue;
      if (b->size - need >= 2 * HDR) {
        /* split: hand out the front, leave the tail on the list */
        struct block *rest = (struct block *)((char *)b + need);
        rest->size = b->size - need;
        rest->next = b->next;
        b->size = need;
        if (prev)
          prev->next = rest;
        else
          freelist = rest;
      } else if (prev) {
        prev->next = b->next;
      } else {
        freelist = b->next;
      }
      return (char *)b + HDR;
    }
    if (grow(need) < 0)
      return 0;
  }
}

void free(void *p)
{
  if (p)
    insert_free((struct block *)((char *)p - HDR));
}
