/* twinb -- twina with another value(): same addresses, different code. */
#define TWIN_VALUE 1717
#define TWIN_NAME "twinb"
#include "twina.c"
