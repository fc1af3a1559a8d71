/*
 * user.h -- the whole pagelab user-space API in one header.
 *
 * System calls follow the xv6-riscv ABI (number in a7, arguments in a0-a5,
 * result in a0, -1 on error); the library functions behave like xv6's.
 */
#ifndef PAGELAB_USER_H
#define PAGELAB_USER_H

typedef unsigned char uchar;
typedef unsigned short ushort;
typedef unsigned int uint;
typedef unsigned long uint64;

#define NULL ((void *)0)

/* open() flags */
#define O_RDONLY 0x000
#define O_WRONLY 0x001
#define O_RDWR   0x002
#define O_CREATE 0x200
#define O_TRUNC  0x400

/* mmap() */
#define PROT_READ   1
#define PROT_WRITE  2
#define PROT_EXEC   4
#define MAP_SHARED  1
#define MAP_PRIVATE 2
#define MAP_ANONYMOUS 0x20  /* no file: fd -1, zero-filled memory */
#define MAP_FAILED  ((void *)-1)

/* inode types, as in struct stat.type */
#define T_DIR    1
#define T_FILE   2
#define T_DEVICE 3

/* kernel limits (docs/xv6.md, "The user ABI"; pagelab/kernel/param.py) */
#define NPROC   64
#define NOFILE  16
#define MAXARG  32
#define MAXPATH 128
#define DIRSIZ  14
#define PGSIZE  4096

struct stat {
  int dev;             /* file system's disk device */
  uint ino;            /* inode number */
  short type;          /* T_DIR, T_FILE or T_DEVICE */
  short nlink;         /* number of links to the file */
  uint64 size;         /* size in bytes */
};

/* a directory is a file made of these 16-byte records; inum 0 = free slot */
struct dirent {
  ushort inum;
  char name[DIRSIZ];   /* NUL-terminated only if shorter than DIRSIZ */
};

/* ---- system calls (lib/usys.S) ---- */
int fork(void);
void exit(int status) __attribute__((noreturn));
int wait(int *status);
int pipe(int *fds);
int write(int fd, const void *buf, int n);
int read(int fd, void *buf, int n);
int close(int fd);
int kill(int pid);
int exec(const char *path, char **argv);
int open(const char *path, int flags);
int mknod(const char *path, short major, short minor);
int unlink(const char *path);
int fstat(int fd, struct stat *st);
int link(const char *oldpath, const char *newpath);
int mkdir(const char *path);
int chdir(const char *path);
int dup(int fd);
int getpid(void);
char *sbrk(int n);
int sleep(int ticks);
int uptime(void);
void *mmap(void *addr, unsigned long len, int prot, int flags, int fd,
           unsigned long off);
int munmap(void *addr, unsigned long len);

/* ---- library (lib/string.c, lib/printf.c, lib/malloc.c) ---- */
uint strlen(const char *s);
char *strcpy(char *dst, const char *src);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, unsigned long n);
char *strchr(const char *s, int c);
void *memset(void *dst, int c, unsigned long n);
void *memmove(void *dst, const void *src, unsigned long n);
void *memcpy(void *dst, const void *src, unsigned long n);
int memcmp(const void *a, const void *b, unsigned long n);
int atoi(const char *s);
unsigned long parse_size(const char *s);  /* digits, then K, M or G */
char *gets(char *buf, int max);
int stat(const char *path, struct stat *st);

int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int fprintf(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void *malloc(unsigned long n);
void free(void *p);

#endif
