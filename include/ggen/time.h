/*
 * Time as the cores see it: a 64-bit count of nanoseconds from an arbitrary origin, passed in
 * by the caller. GG_TS_UNSET (UINT64_MAX) means "no timer" in expiry results.
 */
#ifndef GGEN_TIME_H
#define GGEN_TIME_H

#include <stdint.h>

typedef uint64_t gg_ts;

#define GG_TS_UNSET UINT64_MAX
#define GG_US(x) ((uint64_t)(x) * 1000ull)
#define GG_MS(x) ((uint64_t)(x) * 1000000ull)
#define GG_SEC(x) ((uint64_t)(x) * 1000000000ull)

/* Monotonic clock in nanoseconds. For glue code, the CLI, tests and benchmarks only:
 * protocol cores never call it. */
gg_ts gg_clock_now(void);

/* Wall-clock time in seconds since the Unix epoch (records, lockfiles). Glue/CLI only. */
int64_t gg_clock_wall(void);

static inline gg_ts gg_ts_min(gg_ts a, gg_ts b) { return a < b ? a : b; }

#endif
