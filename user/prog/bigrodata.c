/*
 * bigrodata [PAGE] -- a program with 8 MiB of read-only data, for `pagelab bench`.
 *
 * Under demand paging exec reads none of it: only the pages touched fault in
 * (here one page, PAGE, default 1000). With --no-demand exec reads all 8 MiB.
 * Exits with the byte found there, which is PAGE % 251, so a wrong page shows.
 */
#include "user.h"

#define NPAGES 2048

/* One distinct byte at the start of each page; the rest is zero. Built at compile
 * time so the data is in the ELF file, not in BSS. */
#define P1(i) [(i) * PGSIZE] = (unsigned char)((i) % 251),
#define P4(i) P1(i) P1(i + 1) P1(i + 2) P1(i + 3)
#define P16(i) P4(i) P4(i + 4) P4(i + 8) P4(i + 12)
#define P64(i) P16(i) P16(i + 16) P16(i + 32) P16(i + 48)
#define P256(i) P64(i) P64(i + 64) P64(i + 128) P64(i + 192)
#define P1024(i) P256(i) P256(i + 256) P256(i + 512) P256(i + 768)
static const unsigned char big[NPAGES * PGSIZE] = { P1024(0) P1024(1024) };

int main(int argc, char **argv)
{
  int page = argc > 1 ? atoi(argv[1]) : 1000;
  if (page < 0 || page >= NPAGES) {
    fprintf(2, "bigrodata: page out of range\n");
    exit(255);
  }
  exit(big[(unsigned long)page * PGSIZE]);
}
