/* insnfuzz FIRST COUNT [TICKS] -- run instruction slots FIRST..FIRST+COUNT-1, each in a
 * child process of its own (tests/fuzz/insns.py fills the slots with random words).
 *
 * A slot is 16 bytes of text: the word under test (a 32-bit instruction, or a 16-bit one
 * followed by c.nop), then `li a0,0; li a7,2; ecall`, so a child whose word does nothing
 * fatal exits 0. Whatever the word does (trap, loop, jump away, make a system call with
 * whatever is in the registers), the parent waits TICKS ticks, kills the child and reaps
 * it: the kernel must survive all of it. The child closes its descriptors first so that
 * a random write cannot reach the console. */
#include "user.h"

#define NSLOTS 512

/* The slots, in the text segment, after a 16-byte tag the host looks for. */
asm(".section .text.insnslots,\"ax\",@progbits\n"
    ".balign 16\n"
    ".ascii \"INSNFUZZ-SLOTS:\\0\"\n"
    ".globl insn_slots\n"
    "insn_slots:\n"
    ".rept 512\n"
    ".4byte 0x00000013\n" /* nop: replaced by the word under test */
    ".4byte 0x00000513\n" /* li a0, 0 */
    ".4byte 0x00200893\n" /* li a7, 2 (exit) */
    ".4byte 0x00000073\n" /* ecall */
    ".endr\n"
    ".text\n");
extern char insn_slots[];

int main(int argc, char **argv)
{
  int first = argc > 1 ? atoi(argv[1]) : 0;
  int count = argc > 2 ? atoi(argv[2]) : NSLOTS;
  int ticks = argc > 3 ? atoi(argv[3]) : 1;
  if (first < 0 || count < 0 || first + count > NSLOTS) {
    fprintf(2, "insnfuzz: slots %d..%d out of range\n", first, first + count);
    exit(2);
  }
  for (int i = first; i < first + count; i++) {
    int pid = fork();
    if (pid < 0) {
      fprintf(2, "insnfuzz: fork failed at slot %d\n", i);
      exit(1);
    }
    if (pid == 0) {
      for (int fd = 0; fd < NOFILE; fd++)
        close(fd);
      ((void (*)(void))(insn_slots + 16 * i))();
      exit(0); /* the word returned (e.g. a jump to ra): fine too */
    }
    sleep(ticks);
    kill(pid); /* fails if it has exited already */
    if (wait(0) != pid) {
      fprintf(2, "insnfuzz: wait failed at slot %d\n", i);
      exit(1);
    }
  }
  printf("insnfuzz: %d slots run\n", count);
  exit(0);
}
