/* textwrite -- store into our own code.  Text is mapped read-only, so the
 * kernel must kill us; reaching the printf means it did not. */
#include "user.h"

int main(void)
{
  *(volatile int *)(unsigned long)main = 0;
  fprintf(2, "textwrite: FAIL\n");
  return 1;
}
