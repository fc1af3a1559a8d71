# crt0.S -- process entry point for pagelab programs.
#
# The kernel starts us with a0 = argc, a1 = argv, sp = argv (16-byte
# aligned, as in xv6 exec).  We call main(argc, argv) and pass its return
# value to exit().  We never set gp: the runtime is linked without linker
# relaxation against gp (lld only does that with --relax-gp), so no code
# uses it.

    .section .text.start, "ax", @progbits
    .globl _start
    .type _start, @function
_start:
    andi sp, sp, -16        # defensive: the psABI wants a 16-byte aligned sp
    call main               # a0, a1 are already argc, argv
    call exit               # exit(main's return value); does not return
1:  j 1b
    .size _start, . - _start
