/*
 * Hash map with byte-string keys (include/ggen/map.h): open addressing, linear probing,
 * backward-shift deletion, SipHash-2-4 keyed per map.
 *
 * Invariants: cap is 0 or a power of two >= 8; count <= 3/4 cap; every occupied slot is
 * reachable from its home slot without crossing an empty slot.
 */
#include "ggen/map.h"

#include <sodium.h>
#include <string.h>

#include "ggen/err.h"

static uint64_t hash_of(const gg_map *m, const void *key, size_t klen) {
  uint64_t h;
  crypto_shorthash((unsigned char *)&h, key, klen, m->seed);
  return h | 1; /* 0 marks empty slots */
}

void gg_map_init(gg_map *m, const gg_mem *mem, const gg_rand *r) {
  memset(m, 0, sizeof(*m));
  m->mem = mem;
  r->fill(r->ud, m->seed, sizeof(m->seed));
}

void gg_map_free(gg_map *m) {
  for (size_t i = 0; i < m->cap; i++)
    if (m->slots[i].hash) gg_free(m->mem, m->slots[i].key);
  gg_free(m->mem, m->slots);
  m->slots = NULL;
  m->cap = m->count = 0;
}

static size_t find(const gg_map *m, uint64_t h, const void *key, size_t klen) {
  size_t mask = m->cap - 1;
  for (size_t i = h & mask;; i = (i + 1) & mask) {
    const gg_map_entry *e = &m->slots[i];
    if (!e->hash) return SIZE_MAX;
    if (e->hash == h && e->klen == klen && memcmp(e->key, key, klen) == 0) return i;
  }
}

void *gg_map_get(const gg_map *m, const void *key, size_t klen) {
  if (!m->count) return NULL;
  size_t i = find(m, hash_of(m, key, klen), key, klen);
  return i == SIZE_MAX ? NULL : m->slots[i].val;
}

/* Places an entry (known absent) into a table with room. */
static void place(gg_map_entry *slots, size_t cap, const gg_map_entry *e) {
  size_t mask = cap - 1;
  size_t i = e->hash & mask;
  while (slots[i].hash) i = (i + 1) & mask;
  slots[i] = *e;
}

static int resize(gg_map *m, size_t ncap) {
  gg_map_entry *ns = gg_calloc(m->mem, ncap, sizeof(*ns));
  if (!ns) return GG_ENOMEM;
  for (size_t i = 0; i < m->cap; i++)
    if (m->slots[i].hash) place(ns, ncap, &m->slots[i]);
  gg_free(m->mem, m->slots);
  m->slots = ns;
  m->cap = ncap;
  return GG_OK;
}

int gg_map_put(gg_map *m, const void *key, size_t klen, void *val, void **old) {
  uint64_t h = hash_of(m, key, klen);
  if (old) *old = NULL;
  if (m->count) {
    size_t i = find(m, h, key, klen);
    if (i != SIZE_MAX) {
      if (old) *old = m->slots[i].val;
      m->slots[i].val = val;
      return GG_OK;
    }
  }
  if ((m->count + 1) * 4 > m->cap * 3) {
    int rv = resize(m, m->cap ? m->cap * 2 : 8);
    if (rv) return rv;
  }
  gg_map_entry e = {h, gg_memdup(m->mem, key, klen), klen, val};
  if (!e.key) return GG_ENOMEM;
  place(m->slots, m->cap, &e);
  m->count++;
  return GG_OK;
}

/* Removes slot i and shifts the following cluster back so lookups still find everything. */
static void remove_slot(gg_map *m, size_t i) {
  size_t mask = m->cap - 1;
  gg_free(m->mem, m->slots[i].key);
  m->slots[i].hash = 0;
  m->count--;
  for (size_t j = (i + 1) & mask; m->slots[j].hash; j = (j + 1) & mask) {
    size_t home = m->slots[j].hash & mask;
    /* move j into the hole at i when its home is not in the cyclic range (i, j] */
    int in_range = i <= j ? (home > i && home <= j) : (home > i || home <= j);
    if (!in_range) {
      m->slots[i] = m->slots[j];
      m->slots[j].hash = 0;
      i = j;
    }
  }
}

static void maybe_shrink(gg_map *m) {
  if (m->cap > 8 && m->count * 8 < m->cap) resize(m, m->cap / 2); /* failure is harmless */
}

void *gg_map_del(gg_map *m, const void *key, size_t klen) {
  if (!m->count) return NULL;
  size_t i = find(m, hash_of(m, key, klen), key, klen);
  if (i == SIZE_MAX) return NULL;
  void *v = m->slots[i].val;
  remove_slot(m, i);
  maybe_shrink(m);
  return v;
}

const gg_map_entry *gg_map_next(const gg_map *m, size_t *it) {
  while (*it < m->cap) {
    const gg_map_entry *e = &m->slots[(*it)++];
    if (e->hash) return e;
  }
  return NULL;
}
