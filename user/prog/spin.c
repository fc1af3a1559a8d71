/* spin [N] -- a CPU-bound loop of N iterations (default 10000000).
 * Each step of a 64-bit linear congruential generator depends on the last
 * one and the result is printed, so the loop cannot be optimised away. */
#include "user.h"

int main(int argc, char **argv)
{
  long n = argc > 1 ? atoi(argv[1]) : 10000000;
  unsigned long x = 1;
  for (long i = 0; i < n; i++) {
    x = x * 6364136223846793005UL + 1442695040888963407UL;
    x ^= x >> 29;
  }
  printf("spin: done %lu\n", x);
  return 0;
}
