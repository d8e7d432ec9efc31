/*
 * ggen's search relevance (../shared/GGEN.md "Search ranking"), without SQLite, so that the
 * catalog's bounded search, the benchmark's exhaustive baseline and the tests' oracle all
 * rank with one implementation. Internal to the store layer (ggs__ names).
 */
#ifndef GGS_CATALOG_SCORE_H
#define GGS_CATALOG_SCORE_H

#include <stddef.h>
#include <stdint.h>

#include "ggen/catalog.h"

/* ---- ggen's scoring (GGEN.md), shared with the baseline and the tests ------------------- */

typedef struct ggs__squery {
  const char *text; /* the whole query, lower-case (ASCII) */
  size_t len;
  const char *words[GGS_CATALOG_MAX_WORDS]; /* lower-case words (query split on spaces) */
  size_t wlen[GGS_CATALOG_MAX_WORDS];
  size_t nwords;
} ggs__squery;

/* Splits a lower-case query into words (pointers into text). */
void ggs__squery_init(ggs__squery *q, const char *text_lc, size_t len);

/* The ggen relevance of one package for q. Strings are lower-case (ASCII); tags and
 * keywords are '\n'-separated lists. *exact gets 1 on an exact id/name match. */
double ggs__score(const ggs__squery *q, const char *id, size_t idlen, const char *name,
                  size_t namelen, const char *desc, size_t desclen, const char *tags,
                  size_t tagslen, const char *kw, size_t kwlen, uint64_t downloads,
                  uint64_t stars, int *exact);

/* ggen's popularity bonus: min(10, downloads/1000) + min(5, stars/10). */
double ggs__popularity(uint64_t downloads, uint64_t stars);

/* ASCII lower-case copy into dst (capacity >= n+1). */
void ggs__lower(char *dst, const char *src, size_t n);

/* Semver 2.0 precedence (section 11), for the `semver` collation: negative, 0, positive. Strings
 * that are not semver sort before every valid version, among themselves bytewise. */
int ggs__semver_cmp(const char *a, size_t alen, const char *b, size_t blen);

/* ggs_catalog_search() with k_override candidates per pattern (0 = the normal bound). With a
 * huge k every match is scored: the tests compare that with the bounded search. */
int ggs__search(ggs_catalog *cat, const ggs_catalog_query *q, size_t k_override,
                ggs_catalog_results **out);

#endif
