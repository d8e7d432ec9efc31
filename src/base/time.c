/*
 * Clock readers for glue code (include/ggen/time.h). Protocol cores take time as a parameter.
 */
#include "ggen/time.h"

#include <time.h>

gg_ts gg_clock_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (gg_ts)ts.tv_sec * 1000000000ull + (gg_ts)ts.tv_nsec;
}

int64_t gg_clock_wall(void) { return (int64_t)time(NULL); }
