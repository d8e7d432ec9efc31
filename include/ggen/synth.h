/*
 * A synthetic package catalog, deterministic from a seed, for benchmarks and tests: realistic
 * package records in ggen's marketplace index format with a Zipf-distributed vocabulary
 * (a head of real software words, a tail of generated pronounceable words), so a few terms
 * appear in a large share of the packages (the "very common term" case) and most are rare.
 * Tags come from the head of the vocabulary, authors and categories are Zipf-distributed,
 * downloads are heavy-tailed and stars follow downloads.
 *
 * Package i is a pure function of (seed, i): any package can be generated on its own, so a
 * test can check search results against the records without keeping them all in memory.
 * No I/O, no clock, no global randomness.
 */
#ifndef GGEN_SYNTH_H
#define GGEN_SYNTH_H

#include <stddef.h>
#include <stdint.h>

#include "ggen/buf.h"
#include "ggen/mem.h"

typedef struct ggm_synth ggm_synth;

typedef struct ggm_synth_settings {
  uint64_t seed;
  size_t packages; /* how many packages the catalog has (authors scale with it) */
  size_t vocab;    /* vocabulary size (0 = 20000) */
  double zipf_s;   /* Zipf exponent of description words (0 = 1.0) */
} ggm_synth_settings;

/* One generated package; strings point into the generator and stay valid until the next
 * ggm_synth_package() call. */
typedef struct ggm_synth_pkg {
  const char *id; /* also the name: "<word>-<word>-<author>" */
  const char *version;
  const char *description;
  const char *tags[8];
  size_t n_tags;
  const char *keywords[8];
  size_t n_keywords;
  const char *author;
  const char *category;
  const char *license;
  const char *deps[4]; /* ids of lower-numbered packages */
  size_t n_deps;
  uint64_t downloads, stars;
} ggm_synth_pkg;

/* Creates a generator (vocabulary, distributions). GG_EINVAL, GG_ENOMEM. */
int ggm_synth_new(ggm_synth **out, const ggm_synth_settings *s, const gg_mem *mem);
void ggm_synth_del(ggm_synth *g);

/* Generates package i (0 <= i < packages). */
void ggm_synth_package(ggm_synth *g, size_t i, ggm_synth_pkg *out);

/* Vocabulary word of Zipf rank r (0 = most frequent); NULL when r >= vocab size. */
const char *ggm_synth_word(const ggm_synth *g, size_t r);

/* The expected share of descriptions containing the word of rank r (0..1). */
double ggm_synth_word_share(const ggm_synth *g, size_t r);

/* Appends packages [first, first+count) as a ggen marketplace index JSON document
 * ({version, updated_at, package_count, packages: [...]}) to out. GG_ETOOBIG, GG_ENOMEM. */
int ggm_synth_json(ggm_synth *g, size_t first, size_t count, gg_buf *out);

#endif
