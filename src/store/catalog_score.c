/*
 * ggen's search relevance (../shared/GGEN.md "Search ranking"; ggen's
 * marketplace/search.rs calculate_relevance), computed for one package:
 *
 *   exact id/name match                     +100
 *   else id/name contains the query          +50
 *   else fuzzy similarity s > 0.7            +30 * s   (1 - Levenshtein / longer length)
 *   description contains the query           +20
 *   each (query word, tag or keyword) pair
 *     where the tag contains the word        +10
 *   only when the sum is positive: + min(10, downloads/1000) + min(5, stars/10)
 *
 * One extension, for queries of several words, which ggen scores only as a whole phrase (so
 * "rust web" found nothing unless a name contained exactly "rust web"): when the phrase is
 * not contained, each word contained in the id/name earns 50/n (in place of the fuzzy
 * bonus when larger) and each word contained in the description 20/n. For one-word queries
 * this is exactly ggen's score. Matching is ASCII case-insensitive substring matching, as
 * ggen's to_lowercase + contains on ASCII text.
 */
#include <stdlib.h>
#include <string.h>

#include "store/catalog_score.h"

#define FUZZY_MAX 128 /* longer names are not compared by edit distance */

void ggs__lower(char *dst, const char *src, size_t n) {
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)src[i];
    dst[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
  }
  dst[n] = '\0';
}

void ggs__squery_init(ggs__squery *q, const char *text, size_t len) {
  q->text = text;
  q->len = len;
  q->nwords = 0;
  size_t i = 0;
  while (i < len && q->nwords < GGS_CATALOG_MAX_WORDS) {
    while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r'))
      i++;
    size_t s = i;
    while (i < len && !(text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r'))
      i++;
    if (i > s) {
      q->words[q->nwords] = text + s;
      q->wlen[q->nwords] = i - s;
      q->nwords++;
    }
  }
}

double ggs__popularity(uint64_t downloads, uint64_t stars) {
  double d = (double)downloads / 1000.0, s = (double)stars / 10.0;
  return (d < 10.0 ? d : 10.0) + (s < 5.0 ? s : 5.0);
}

static int contains(const char *h, size_t hn, const char *n, size_t nn) {
  if (nn == 0) return 1;
  if (nn > hn) return 0;
  return memmem(h, hn, n, nn) != NULL;
}

/* 1 - Levenshtein(a, b) / max(len): ggen's similarity. Returns 0 when it cannot exceed 0.7
 * (the length difference alone is too large) or a string is too long to compare. */
static double similarity(const char *a, size_t an, const char *b, size_t bn) {
  size_t mx = an > bn ? an : bn;
  size_t diff = an > bn ? an - bn : bn - an;
  if (mx == 0 || an > FUZZY_MAX || bn > FUZZY_MAX || (double)diff >= 0.3 * (double)mx)
    return 0.0;
  unsigned short row[FUZZY_MAX + 1];
  for (size_t j = 0; j <= bn; j++) row[j] = (unsigned short)j;
  for (size_t i = 1; i <= an; i++) {
    unsigned short diag = row[0];
    row[0] = (unsigned short)i;
    for (size_t j = 1; j <= bn; j++) {
      unsigned short up = row[j];
      unsigned short best = (unsigned short)(diag + (a[i - 1] != b[j - 1]));
      if (up + 1 < best) best = (unsigned short)(up + 1);
      if (row[j - 1] + 1 < best) best = (unsigned short)(row[j - 1] + 1);
      row[j] = best;
      diag = up;
    }
  }
  return 1.0 - (double)row[bn] / (double)mx;
}

/* Number of (word, list item) pairs where the item contains the word. */
static unsigned list_hits(const ggs__squery *q, const char *list, size_t len) {
  unsigned hits = 0;
  size_t i = 0;
  while (i < len) {
    const char *e = memchr(list + i, '\n', len - i);
    size_t n = e ? (size_t)(e - (list + i)) : len - i;
    for (size_t w = 0; w < q->nwords; w++)
      if (contains(list + i, n, q->words[w], q->wlen[w])) hits++;
    i += n + 1;
  }
  return hits;
}

double ggs__score(const ggs__squery *q, const char *id, size_t idlen, const char *name,
                  size_t namelen, const char *desc, size_t desclen, const char *tags,
                  size_t tagslen, const char *kw, size_t kwlen, uint64_t downloads,
                  uint64_t stars, int *exact) {
  double s = 0.0;
  *exact = 0;
  if (q->len == 0) return 0.0;
  if ((namelen == q->len && !memcmp(name, q->text, q->len)) ||
      (idlen == q->len && !memcmp(id, q->text, q->len))) {
    *exact = 1;
    s += 100.0;
  } else if (contains(name, namelen, q->text, q->len) || contains(id, idlen, q->text, q->len)) {
    s += 50.0;
  } else {
    double sim = similarity(name, namelen, q->text, q->len);
    double sim2 = similarity(id, idlen, q->text, q->len);
    if (sim2 > sim) sim = sim2;
    double best = sim > 0.7 ? 30.0 * sim : 0.0;
    if (q->nwords > 1) {
      unsigned in = 0;
      for (size_t w = 0; w < q->nwords; w++)
        if (contains(name, namelen, q->words[w], q->wlen[w]) ||
            contains(id, idlen, q->words[w], q->wlen[w]))
          in++;
      double part = 50.0 * (double)in / (double)q->nwords;
      if (part > best) best = part;
    }
    s += best;
  }
  if (contains(desc, desclen, q->text, q->len)) {
    s += 20.0;
  } else if (q->nwords > 1) {
    unsigned in = 0;
    for (size_t w = 0; w < q->nwords; w++)
      if (contains(desc, desclen, q->words[w], q->wlen[w])) in++;
    s += 20.0 * (double)in / (double)q->nwords;
  }
  s += 10.0 * (double)(list_hits(q, tags, tagslen) + list_hits(q, kw, kwlen));
  if (s > 0.0) s += ggs__popularity(downloads, stars);
  return s;
}

/* ---- the public scoring of one package ------------------------------------------------------ */

/* Lower-case copy of a list as '\n'-separated lines. */
static char *lower_lines(const char *const *v, size_t n, size_t *len) {
  size_t total = 0;
  for (size_t i = 0; i < n; i++) total += strlen(v[i]) + 1;
  char *out = malloc(total + 1), *p = out;
  if (!out) return NULL;
  for (size_t i = 0; i < n; i++) {
    size_t k = strlen(v[i]);
    ggs__lower(p, v[i], k);
    p += k;
    if (i + 1 < n) *p++ = '\n';
  }
  *p = 0;
  *len = (size_t)(p - out);
  return out;
}

static char *lower_dup(const char *s, size_t *len) {
  *len = s ? strlen(s) : 0;
  char *out = malloc(*len + 1);
  if (out) ggs__lower(out, s ? s : "", *len);
  return out;
}

double ggs_catalog_score(const char *text, const ggs_catalog_pkg *pkg, int *exact) {
  int ex = 0;
  if (exact) *exact = 0;
  size_t tn = text ? strlen(text) : 0;
  char *q = malloc(tn + 1);
  if (!q) return -1;
  /* collapse whitespace, trim, lower-case: the text as the catalog searches it */
  size_t o = 0;
  for (size_t i = 0; i < tn; i++) {
    char c = text[i];
    int ws = c == ' ' || c == '\t' || c == '\n' || c == '\r';
    if (ws) {
      if (o && q[o - 1] != ' ') q[o++] = ' ';
      continue;
    }
    q[o++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
  }
  while (o && q[o - 1] == ' ') o--;
  q[o] = 0;
  size_t l[5];
  char *f[5];
  f[0] = lower_dup(pkg->id, &l[0]);
  f[1] = lower_dup(pkg->name ? pkg->name : pkg->id, &l[1]);
  f[2] = lower_dup(pkg->description, &l[2]);
  f[3] = lower_lines(pkg->tags, pkg->n_tags, &l[3]);
  f[4] = lower_lines(pkg->keywords, pkg->n_keywords, &l[4]);
  double s = -1;
  if (f[0] && f[1] && f[2] && f[3] && f[4]) {
    ggs__squery sq;
    ggs__squery_init(&sq, q, o);
    s = ggs__score(&sq, f[0], l[0], f[1], l[1], f[2], l[2], f[3], l[3], f[4], l[4], pkg->downloads,
                   pkg->stars, &ex);
    if (exact) *exact = ex;
  }
  for (int i = 0; i < 5; i++) free(f[i]);
  free(q);
  return s;
}
