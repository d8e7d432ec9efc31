/*
 * Random sources (include/ggen/rand.h): the system CSPRNG via libsodium and a seeded
 * xoshiro256** for reproducible tests and simulations.
 */
#include "ggen/rand.h"

#include <sodium.h>
#include <string.h>

static void sys_fill(void *ud, void *buf, size_t len) {
  (void)ud;
  randombytes_buf(buf, len);
}

static const gg_rand sys_rand = {sys_fill, NULL};

const gg_rand *gg_rand_system(void) { return &sys_rand; }

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t xoshiro_next(uint64_t *s) {
  uint64_t result = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

static void seeded_fill(void *ud, void *buf, size_t len) {
  gg_rand_seeded *s = ud;
  uint8_t *p = buf;
  while (len) {
    uint64_t v = xoshiro_next(s->s);
    size_t n = len < 8 ? len : 8;
    memcpy(p, &v, n);
    p += n;
    len -= n;
  }
}

void gg_rand_seeded_init(gg_rand_seeded *s, uint64_t seed) {
  for (int i = 0; i < 4; i++) { /* splitmix64 */
    uint64_t z = (seed += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    s->s[i] = z ^ (z >> 31);
  }
  s->r.fill = seeded_fill;
  s->r.ud = s;
}

uint64_t gg_rand_u64(const gg_rand *r) {
  uint64_t v;
  r->fill(r->ud, &v, sizeof(v));
  return v;
}

uint64_t gg_rand_below(const gg_rand *r, uint64_t n) {
  /* rejection sampling keeps the result unbiased */
  uint64_t lim = UINT64_MAX - UINT64_MAX % n;
  uint64_t v;
  do v = gg_rand_u64(r);
  while (v >= lim);
  return v % n;
}
