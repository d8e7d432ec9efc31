/*
 * Injected randomness. Protocol cores never call a random source themselves: they take a
 * `const gg_rand *` so that tests, fuzzers and the simulator can make them deterministic.
 */
#ifndef GGEN_RAND_H
#define GGEN_RAND_H

#include <stddef.h>
#include <stdint.h>

typedef struct gg_rand {
  /* Fills buf with len random bytes. Must not fail. */
  void (*fill)(void *ud, void *buf, size_t len);
  void *ud;
} gg_rand;

/* The system CSPRNG (libsodium randombytes_buf). For glue code, the CLI and key generation. */
const gg_rand *gg_rand_system(void);

/* A deterministic generator (xoshiro256** seeded by splitmix64) for tests and simulation.
 * Not cryptographically secure. */
typedef struct gg_rand_seeded {
  gg_rand r; /* pass &s.r where a `const gg_rand *` is wanted */
  uint64_t s[4];
} gg_rand_seeded;

void gg_rand_seeded_init(gg_rand_seeded *s, uint64_t seed);

/* Convenience: a uniform 64-bit value / a value in [0, n) (n > 0) from any generator. */
uint64_t gg_rand_u64(const gg_rand *r);
uint64_t gg_rand_below(const gg_rand *r, uint64_t n);

#endif
