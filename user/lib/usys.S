# usys.S -- system call stubs, following the xv6-riscv ABI:
# number in a7, arguments already in a0..a5, `ecall`, result in a0.
# Each stub lives in its own section so --gc-sections drops unused ones.

.macro syscall name, num
    .section .text.\name, "ax", @progbits
    .globl \name
    .type \name, @function
\name:
    li a7, \num
    ecall
    ret
    .size \name, . - \name
.endm

syscall fork,    1
syscall wait,    3
syscall pipe,    4
syscall read,    5
syscall kill,    6
syscall exec,    7
syscall fstat,   8
syscall chdir,   9
syscall dup,     10
syscall getpid,  11
syscall sbrk,    12
syscall sleep,   13
syscall uptime,  14
syscall open,    15
syscall write,   16
syscall mknod,   17
syscall unlink,  18
syscall link,    19
syscall mkdir,   20
syscall close,   21
syscall mmap,    22
syscall munmap,  23

# exit never returns; if a kernel bug ever made it return, spin rather than
# `ret` into whatever ra happens to hold.
    .section .text.exit, "ax", @progbits
    .globl exit
    .type exit, @function
exit:
    li a7, 2
    ecall
1:  j 1b
    .size exit, . - exit
