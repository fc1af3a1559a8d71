/* The Linux start-up as a program sees it before any libc runs: a0, sp, argc, argv,
 * envp and the auxiliary vector, printed with raw system calls. Built with -nostdlib. */
typedef unsigned long u64;

static long sys3(long n, long a, long b, long c) {
    register long a0 __asm__("a0") = a;
    register long a1 __asm__("a1") = b;
    register long a2 __asm__("a2") = c;
    register long a7 __asm__("a7") = n;
    __asm__ volatile("ecall" : "+r"(a0) : "r"(a1), "r"(a2), "r"(a7) : "memory");
    return a0;
}

static u64 slen(const char *s) { u64 n = 0; while (s[n]) n++; return n; }
static void out(const char *s) { sys3(64, 1, (long)s, (long)slen(s)); }
static void outhex(u64 v) {
    char b[19]; b[0] = '0'; b[1] = 'x';
    for (int i = 0; i < 16; i++) b[2 + i] = "0123456789abcdef"[(v >> (60 - 4 * i)) & 15];
    b[18] = 0; out(b);
}
static void kv(const char *k, u64 v) { out(k); out("="); outhex(v); out("\n"); }

void cmain(u64 a0, u64 *sp) {
    kv("a0", a0);
    kv("sp_mod16", (u64)sp % 16);
    u64 argc = sp[0];
    kv("argc", argc);
    char **argv = (char **)(sp + 1);
    for (u64 i = 0; i < argc; i++) { out("argv="); out(argv[i]); out("\n"); }
    if (argc > 1 && argv[1][0] == 's') *(volatile int *)8 = 1; /* "segv": die by SIGSEGV */
    kv("argv_null", (u64)argv[argc]);
    char **envp = argv + argc + 1;
    u64 n = 0;
    for (; envp[n]; n++) { out("env="); out(envp[n]); out("\n"); }
    u64 *aux = (u64 *)(envp + n + 1);
    for (; aux[0]; aux += 2) {
        u64 t = aux[0], v = aux[1];
        if (t == 15 || t == 31) { out(t == 15 ? "AT_PLATFORM=" : "AT_EXECFN="); out((char *)v); out("\n"); }
        else if (t == 25) { u64 *r = (u64 *)v; kv("AT_RANDOM_nonzero", (r[0] | r[1]) != 0); }
        else if (t == 3) {
            /* AT_PHDR: the program headers in memory; the first is the one that says so */
            unsigned *ph = (unsigned *)v; kv("AT_PHDR_first_type", ph[0]);
        }
        else { out("aux "); outhex(t); out(" "); outhex(t == 9 || t == 16 || t == 6 || t == 4 || t == 5 || t == 17 || t == 11 || t == 23 ? v : 0); out("\n"); }
    }
    /* stack grows: touch 1 MiB below sp (lazy, growable) */
    volatile char *deep = (volatile char *)sp - (1 << 20);
    *deep = 1;
    kv("deep", *deep);
    sys3(94, 0, 0, 0);
}

__asm__(
    ".globl _start\n"
    "_start:\n"
    "  mv a1, sp\n"
    "  call cmain\n");
