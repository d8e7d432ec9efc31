/*
 * The original design's search, as a baseline for bench_catalog: ggen loads its JSON registry
 * index into memory and, for every query, lower-cases each package's fields and scores every
 * package by substring matching (marketplace/search.rs). The score is the catalog's own
 * implementation of ggen's rules (src/store/catalog_score.c), so only the method differs.
 */
#ifndef GG_CATALOG_BASELINE_H
#define GG_CATALOG_BASELINE_H

#include <stddef.h>
#include <stdint.h>

#include "ggen/catalog.h"
#include "ggen/synth.h"

typedef struct bl_pkg {
  char *id, *desc, *tags, *kw, *author, *category, *license; /* tags, kw '\n'-joined */
  uint64_t downloads, stars;
} bl_pkg;

typedef struct baseline {
  bl_pkg *p;
  size_t n, cap;
  char *scratch;
  size_t scratch_cap;
} baseline;

/* Loads a marketplace index (jansson), as ggen does on every search. 0 or -1. */
int baseline_load_json(baseline *b, const char *buf, size_t len);
/* Fills from the generator directly (for sizes where the JSON would not fit in memory). */
int baseline_from_synth(baseline *b, ggm_synth *g, size_t n);
void baseline_free(baseline *b);

/* Runs one query; writes up to `limit` result ids (pointers into b) to ids. Returns the
 * number of results, or -1 on allocation failure. */
long baseline_search(baseline *b, const ggs_catalog_query *q, const char **ids, size_t limit);

#endif
