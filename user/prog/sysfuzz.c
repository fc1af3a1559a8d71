/* sysfuzz -- a guest system-call fuzzer (tests/fuzz/README.md).
 *
 *   sysfuzz SEED ROUNDS CALLS TICKS
 *       ROUNDS times: fork a child that makes CALLS random system calls with
 *       wild numbers, pointers, lengths, descriptors and paths (forking more
 *       fuzzers, exiting, waiting as it goes), let it run for TICKS ticks,
 *       then kill every process of the round and reap them all.
 *   sysfuzz -x TICKS PATH...
 *       for each PATH: a child exec()s it (the ELF mutator puts mutants
 *       there); if exec fails the old image must still run, and it says so.
 *
 * Everything comes from a seeded PRNG, so a seed replays the same run.  The
 * host harness (tests/fuzz/syscalls.py, tests/fuzz/elfs.py) counts the calls
 * and checks the kernel's invariants; this program only has to survive as
 * long as it can.  The supervisor (the first process) is never a target. */
#include "user.h"

#define MAXVA (1UL << 38)

static uint64 rs;            /* PRNG state: xorshift64* */
static int supervisor;       /* never kill this pid */
static char scratch[3 * PGSIZE];
static char *argvbuf[40];

static uint64 rnd(void)
{
  rs ^= rs >> 12;
  rs ^= rs << 25;
  rs ^= rs >> 27;
  return rs * 2685821657736338717UL;
}

static int below(int n) { return (int)(rnd() % (uint64)n); }

static long sys(long n, long a0, long a1, long a2, long a3, long a4, long a5)
{
  register long x10 asm("a0") = a0;
  register long x11 asm("a1") = a1;
  register long x12 asm("a2") = a2;
  register long x13 asm("a3") = a3;
  register long x14 asm("a4") = a4;
  register long x15 asm("a5") = a5;
  register long x17 asm("a7") = n;
  asm volatile("ecall"
               : "+r"(x10)
               : "r"(x11), "r"(x12), "r"(x13), "r"(x14), "r"(x15), "r"(x17)
               : "memory");
  return x10;
}

static const char *paths[] = {
  "f0", "f1", "d0", "d0/f2", "d0/d1", "d0/d1/f3", "/", ".", "..", "/f0",
  "/d0/../f1", "echo", "nope", "", "d0/./../d0/f2", "abcdefghijklmn",
  "abcdefghijklmno", "../../../../etc/passwd", "console", "f1/x",
};
#define NPATHS (int)(sizeof(paths) / sizeof(paths[0]))

/* A value that breaks careless code: signs, widths, page edges. */
static long wild_int(void)
{
  switch (below(10)) {
  case 0: return 0;
  case 1: return -1;
  case 2: return below(20);
  case 3: return 0x7fffffff;
  case 4: return -0x7fffffff - 1;
  case 5: return (long)(rnd() & 0xffffffff);
  case 6: return (long)rnd();
  case 7: return 4096 + below(3) - 1;
  case 8: return 1L << (32 + below(31));
  default: return -(long)below(100000);
  }
}

static long wild_ptr(void)
{
  char local;
  long sp = (long)&local;
  switch (below(16)) {
  case 0: return 0;
  case 1: return (long)scratch + below(sizeof(scratch));
  case 2: return (long)scratch;
  case 3: return (long)scratch + sizeof(scratch) - below(64);  /* straddles */
  case 4: return (long)&wild_ptr + below(256);                 /* text: R-X */
  case 5: return (sp & ~4095L) - 4096 * (1 + below(3));        /* guard, below */
  case 6: return (long)sys(12, 0, 0, 0, 0, 0, 0) - below(3 * 4096); /* heap top */
  case 7: return MAXVA - 1 - below(16);
  case 8: return MAXVA + below(4096);
  case 9: return (long)(1UL << 63);
  case 10: return -1L - below(4096);
  case 11: return (long)rnd();
  case 12: return below(1 << 20);
  case 13: return 0x3ffffff000L;                                 /* trampoline */
  case 14: return (long)scratch + 4095;
  default: return (long)scratch + 2 * 4096 - below(8);
  }
}

static long wild_len(void)
{
  switch (below(8)) {
  case 0: return 0;
  case 1: return below(64);
  case 2: return 4096;
  case 3: return 4097;
  case 4: return 1 << 16;
  case 5: return 0x7fffffff;
  case 6: return -1;
  default: return below(3 * 4096);
  }
}

static long wild_fd(void)
{
  if (below(5) == 0)
    return wild_int();
  return below(17);
}

static long wild_path(void)
{
  int k = below(8);
  if (k == 0)
    return wild_ptr();
  if (k == 1) {  /* random bytes, maybe with no NUL in reach */
    int n = below(200);
    for (int i = 0; i < n; i++)
      scratch[i] = 1 + below(255);
    scratch[n] = below(2) ? 0 : 'x';
    return (long)scratch;
  }
  return (long)paths[below(NPATHS)];
}

static long wild_argv(void)
{
  if (below(4) == 0)
    return wild_ptr();
  int n = below(4) == 0 ? 33 + below(4) : below(4);
  argvbuf[0] = "echo";
  for (int i = 1; i < n && i < 39; i++)
    argvbuf[i] = below(6) == 0 ? (char *)wild_ptr() : (char *)paths[below(NPATHS)];
  argvbuf[n < 39 ? n : 39] = below(8) == 0 ? (char *)wild_ptr() : 0;
  return (long)argvbuf;
}

/* Argument kinds per system call: I int, P pointer, L length, F fd, S path,
 * A argv, K pid, N ticks, T pointer-ish length (mmap). */
static const char *kinds[] = {
  [1] = "", [2] = "I", [3] = "P", [4] = "P", [5] = "FPL", [6] = "K",
  [7] = "SA", [8] = "FP", [9] = "S", [10] = "F", [11] = "", [12] = "I",
  [13] = "N", [14] = "", [15] = "SI", [16] = "FPL", [17] = "SII", [18] = "S",
  [19] = "SS", [20] = "S", [21] = "F", [22] = "PTIIFT", [23] = "PT",
};

static long arg(char kind)
{
  if (below(8) == 0)
    return below(2) ? wild_int() : wild_ptr();  /* any argument may be wild */
  switch (kind) {
  case 'I': return wild_int();
  case 'P': return wild_ptr();
  case 'L': return wild_len();
  case 'F': return wild_fd();
  case 'S': return wild_path();
  case 'A': return wild_argv();
  case 'K': return below(4) ? supervisor + 1 + below(300) : wild_int();
  case 'N': return below(10) ? below(3) : wild_int();
  case 'T': return below(2) ? wild_len() : (long)rnd();
  default: return wild_int();
  }
}

static void fuzz(int calls)
{
  while (calls-- > 0) {
    long n;
    int r = below(40);
    if (r < 36)
      n = 1 + below(23);
    else if (r < 38)
      n = below(2) ? 0 : 24 + below(10);
    else
      n = wild_int();
    if (n == 2 && below(20) != 0)
      continue;  /* exit: now and then */
    long a[6];
    const char *k = n >= 1 && n <= 23 ? kinds[n] : "IIIIII";
    int nk = strlen(k);
    for (int i = 0; i < 6; i++)  /* unused registers get noise */
      a[i] = i < nk ? arg(k[i]) : below(4) == 0 ? (long)rnd() : 0;
    if (n == 6 && a[0] == supervisor)
      continue;
    long ret = sys(n, a[0], a[1], a[2], a[3], a[4], a[5]);
    if (n == 1 && ret == 0) {  /* a new fuzzer, on its own stream */
      rs ^= (uint64)sys(11, 0, 0, 0, 0, 0, 0) * 0x9e3779b97f4a7c15UL;
      calls /= 4;
    }
  }
}

static uint64 parse(const char *s)
{
  uint64 v = 0;
  while (*s >= '0' && *s <= '9')
    v = v * 10 + (uint64)(*s++ - '0');
  return v;
}

/* Kill every process made since pid `first` (pids only grow), then reap. */
static void cleanup(int first)
{
  int probe = fork();
  if (probe == 0)
    exit(0);
  int last = probe > 0 ? probe : first + 1000;
  for (int q = first; q < last; q++)
    if (q != supervisor)
      kill(q);
  while (wait(0) >= 0)
    ;
}

static int execmode(int ticks, int n, char **files)
{
  for (int i = 0; i < n; i++) {
    int pid = fork();
    if (pid == 0) {
      char *args[] = {files[i], "a", 0};
      exec(files[i], args);
      printf("sysfuzz: exec %s failed, old image runs\n", files[i]);
      exit(77);
    }
    if (pid < 0) {
      printf("sysfuzz: fork failed\n");
      exit(1);
    }
    sleep(ticks);
    cleanup(pid);
  }
  printf("sysfuzz: %d execs\n", n);
  return 0;
}

int main(int argc, char **argv)
{
  supervisor = getpid();
  if (argc >= 3 && strcmp(argv[1], "-x") == 0)
    exit(execmode(atoi(argv[2]), argc - 3, argv + 3));
  if (argc < 5) {
    fprintf(2, "usage: sysfuzz SEED ROUNDS CALLS TICKS | sysfuzz -x TICKS PATH...\n");
    exit(2);
  }
  uint64 seed = parse(argv[1]);
  int rounds = atoi(argv[2]), calls = atoi(argv[3]), ticks = atoi(argv[4]);
  mkdir("d0");
  mkdir("d0/d1");
  for (int r = 0; r < rounds; r++) {
    int pid = fork();
    if (pid == 0) {
      rs = (seed + 1) * 0x9e3779b97f4a7c15UL + (uint64)r * 0xbf58476d1ce4e5b9UL;
      if (rs == 0)
        rs = 1;
      fuzz(calls);
      exit(0);
    }
    if (pid < 0) {
      cleanup(supervisor + 1);
      continue;
    }
    sleep(ticks);
    cleanup(pid);
  }
  printf("sysfuzz: %d rounds\n", rounds);
  exit(0);
}
