/* insntrap MODE -- execute one instruction that must trap, in this process.
 * The kernel must kill us with xv6's usertrap message (scause, sepc, stval)
 * and keep running; reaching the fprintf means it did not.
 *   ebreak   32-bit ebreak                 scause 3
 *   cebreak  16-bit c.ebreak               scause 3
 *   illegal  an all-ones 32-bit word       scause 2
 *   csr      a supervisor CSR read (sstatus) in user mode: scause 2
 *   amo      amoadd.w on an odd address    scause 6, stval = the address
 *   lr       lr.d on an odd address        scause 4, stval = the address
 */
#include "user.h"

static long buf[4];

int main(int argc, char **argv)
{
  char *m = argc > 1 ? argv[1] : "ebreak";
  char *odd = (char *)buf + 1;
  long r = 0;
  printf("insntrap: %s, odd address %p\n", m, odd);
  if (!strcmp(m, "ebreak"))
    asm volatile(".4byte 0x00100073");
  else if (!strcmp(m, "cebreak"))
    asm volatile(".2byte 0x9002");
  else if (!strcmp(m, "illegal"))
    asm volatile(".4byte 0xffffffff");
  else if (!strcmp(m, "csr"))
    asm volatile("csrr %0, sstatus" : "=r"(r));
  else if (!strcmp(m, "amo"))
    asm volatile("amoadd.w %0, %1, (%2)" : "=r"(r) : "r"(1L), "r"(odd) : "memory");
  else if (!strcmp(m, "lr"))
    asm volatile("lr.d %0, (%1)" : "=r"(r) : "r"(odd) : "memory");
  else {
    fprintf(2, "insntrap: unknown mode %s\n", m);
    return 2;
  }
  fprintf(2, "insntrap %s: FAIL, not killed (%ld)\n", m, r);
  return 1;
}
