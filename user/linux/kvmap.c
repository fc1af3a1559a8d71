/* kvmap [N] [SEED]: kvstore over a MAP_SHARED mapping of its file (the
 * kernel's page cache is the buffer pool); the same as `kvstore N SEED --mmap`. */
#define KV_MMAP 1
#include "kvstore.c"
