/* args -- print argc and every argument, argv[0] included, one per line:
 * shows what exec and `pagelab run` pass to a program. */
#include "user.h"

int main(int argc, char **argv)
{
  printf("argc=%d\n", argc);
  for (int i = 0; i < argc; i++)
    printf("argv[%d]=%s\n", i, argv[i]);
  return 0;
}
