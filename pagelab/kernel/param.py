"""Kernel limits, with xv6's values (kernel/param.h, kernel/fs.h, kernel/pipe.c)."""

NPROC = 64  # processes
NOFILE = 16  # open files per process
NFILE = 100  # open files in the whole system
MAXARG = 32  # exec arguments
MAXPATH = 128  # path length, with its NUL
DIRSIZ = 14  # name length in a directory entry
PIPESIZE = 512  # bytes buffered in a pipe
ROOTDEV = 1
CONSOLE_MAJOR = 1
