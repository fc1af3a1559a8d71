/*
 * xv6start.c -- entry point used only by the xv6-layout build (xv6echo).
 *
 * xv6 links user programs with `-e start` (older: `-e main`) and gives them
 * a C function as entry rather than an assembly _start.  This is our own
 * equivalent: the kernel enters here with a0 = argc, a1 = argv, which are
 * exactly this function's arguments under the RISC-V calling convention.
 */
#include "user.h"

int main(int argc, char **argv);

void start(int argc, char **argv)
{
  exit(main(argc, argv));
}
