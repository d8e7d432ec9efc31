/*
 * gg_map: a hash map from byte-string keys to pointers, for the protocol cores' tables
 * (peers, records, seen-message caches).
 *
 * Keys are copied; values are the caller's pointers. Hashing is SipHash-2-4 (libsodium
 * crypto_shorthash) keyed with a seed the caller draws from its gg_rand, so a remote peer
 * cannot choose keys that collide (hash flooding). Open addressing with linear probing and
 * backward-shift deletion; grows at 3/4 load, shrinks at 1/8.
 *
 * Iteration order is unspecified. The map must not be modified while iterating: collect
 * what to delete, then delete (backward-shift deletion moves entries across the iterator).
 */
#ifndef GGEN_MAP_H
#define GGEN_MAP_H

#include <stddef.h>
#include <stdint.h>

#include "ggen/mem.h"
#include "ggen/rand.h"

typedef struct gg_map_entry {
  uint64_t hash; /* 0 = empty slot (real hashes have bit 0 set) */
  uint8_t *key;
  size_t klen;
  void *val;
} gg_map_entry;

typedef struct gg_map {
  gg_map_entry *slots;
  size_t cap;   /* power of two, 0 before the first insert */
  size_t count;
  uint8_t seed[16];
  const gg_mem *mem;
} gg_map;

/* Initialises an empty map (allocates nothing) with a hash seed drawn from r. */
void gg_map_init(gg_map *m, const gg_mem *mem, const gg_rand *r);

/* Frees the map's storage and key copies (not the values). */
void gg_map_free(gg_map *m);

/* Returns the value stored under key, or NULL. */
void *gg_map_get(const gg_map *m, const void *key, size_t klen);

/* Stores val under key (copying the key). If the key existed, its value is replaced and the
 * old one returned through *old (may be NULL); else *old gets NULL. GG_ENOMEM. */
int gg_map_put(gg_map *m, const void *key, size_t klen, void *val, void **old);

/* Removes key; returns its value or NULL when absent. */
void *gg_map_del(gg_map *m, const void *key, size_t klen);

static inline size_t gg_map_count(const gg_map *m) { return m->count; }

/* Iteration: size_t it = 0; while ((e = gg_map_next(m, &it))) { ... }. */
const gg_map_entry *gg_map_next(const gg_map *m, size_t *it);

#endif
