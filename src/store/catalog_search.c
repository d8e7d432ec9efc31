/*
 * Catalog search: the vocabulary, typo correction and bounded ranking (docs/catalog.md).
 *
 * Vocabulary. `terms` holds every word of the indexed text (as the FTS5 tokenizer produces
 * it) and every facet token, with document frequencies; `term_keys` maps each
 * deletion-neighbourhood key of a word to the word (SymSpell's idea, stored as hashed
 * buckets): a word of 3-5 bytes is stored under itself and every
 * string made by deleting one byte, a longer term also under every string made by deleting
 * two. A query word w of an unknown (or very rare) word is corrected by looking up w and its
 * own deletions (one for 3-5 bytes, up to two for longer words) and keeping the terms whose
 * optimal-string-alignment distance to w is at most that number: every term within 1 edit
 * (2 for words of 6+ bytes), adjacent transpositions included, is found with a few dozen
 * index probes, independent of the vocabulary size. Unknown words also get prefix
 * completions ("temp" -> "template").
 *
 * Ranking. FTS5 rowids are popularity ranks, so `MATCH ... ORDER BY rowid LIMIT K` yields
 * the K most popular matches and stops. For each pattern of fields (id/name, description,
 * tags/keywords and their combinations) we take the K most popular packages matching the
 * words in all those fields, add the exact id/name matches from the unique indexes, and
 * score this union (at most a few hundred packages) with ggen's rules
 * (catalog_score.c). Why that finds the right top results: a package's ggen score is a
 * text part fixed by which fields match plus a popularity part; if a package P is not among
 * the K most popular matches of its own pattern, K packages match at least the same fields
 * and are more popular, so they score at least as high and P is not in the top L <= K.
 * Selective filters are FTS terms too (facet tokens), applied inside the index walk; the
 * others are checked on the candidates (build_filters).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ggen/buf.h"
#include "ggen/err.h"
#include "store/catalog_int.h"

#define TERM_MAX 64     /* longer words are not part of the vocabulary */
#define FUZZY_MIN 3     /* shorter words are never corrected */
#define FUZZY_MAXLEN 24 /* longer words are not corrected (keys grow quadratically) */
#define RARE_DF 3       /* a known word this rare also gets corrections */
#define MAX_ALTS 3      /* alternatives searched per query word */
#define EXTRA_K 32      /* candidates per pattern beyond the limit */
#define MAX_PER_KEY 256 /* terms looked at per deletion key (short keys match many) */

/* ---- term multiset ---------------------------------------------------------------------- */

void ggs__termset_init(ggs__termset *ts, const gg_mem *mem) {
  memset(ts, 0, sizeof(*ts));
  ts->mem = mem;
}

void ggs__termset_free(ggs__termset *ts) {
  for (size_t i = 0; i < ts->cap; i++) gg_free(ts->mem, ts->keys[i]);
  gg_free(ts->mem, ts->keys);
  gg_free(ts->mem, ts->delta);
  gg_free(ts->mem, ts->docmark);
  const gg_mem *mem = ts->mem;
  ggs__termset_init(ts, mem);
}

static uint64_t hash_bytes(const char *p, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)p[i]) * 1099511628211ull;
  return h;
}

static int ts_grow(ggs__termset *ts) {
  size_t ncap = ts->cap ? ts->cap * 2 : 256;
  char **keys = gg_calloc(ts->mem, ncap, sizeof(*keys));
  int64_t *delta = gg_calloc(ts->mem, ncap, sizeof(*delta));
  uint32_t *mark = gg_calloc(ts->mem, ncap, sizeof(*mark));
  if (!keys || !delta || !mark) {
    gg_free(ts->mem, keys);
    gg_free(ts->mem, delta);
    gg_free(ts->mem, mark);
    return GG_ENOMEM;
  }
  for (size_t i = 0; i < ts->cap; i++) {
    if (!ts->keys[i]) continue;
    size_t j = hash_bytes(ts->keys[i], strlen(ts->keys[i])) & (ncap - 1);
    while (keys[j]) j = (j + 1) & (ncap - 1);
    keys[j] = ts->keys[i];
    delta[j] = ts->delta[i];
    mark[j] = ts->docmark[i];
  }
  gg_free(ts->mem, ts->keys);
  gg_free(ts->mem, ts->delta);
  gg_free(ts->mem, ts->docmark);
  ts->keys = keys;
  ts->delta = delta;
  ts->docmark = mark;
  ts->cap = ncap;
  return GG_OK;
}

static int ts_add(ggs__termset *ts, const char *tok, size_t n, int sign) {
  if ((ts->n + 1) * 10 >= ts->cap * 7) {
    int err = ts_grow(ts);
    if (err) return err;
  }
  size_t j = hash_bytes(tok, n) & (ts->cap - 1);
  while (ts->keys[j]) {
    if (strlen(ts->keys[j]) == n && !memcmp(ts->keys[j], tok, n)) break;
    j = (j + 1) & (ts->cap - 1);
  }
  if (!ts->keys[j]) {
    if ((ts->keys[j] = gg_strndup(ts->mem, tok, n)) == NULL) return GG_ENOMEM;
    ts->n++;
  } else if (ts->docmark[j] == ts->docno) {
    return GG_OK; /* counted once per document */
  }
  ts->docmark[j] = ts->docno;
  ts->delta[j] += sign;
  return GG_OK;
}

/* The vocabulary keeps the words of the text fields and the facet tokens (their counts
 * decide which filters the index applies, ggs_catalog_search); not huge tokens. */
static int vocab_word(const char *t, size_t n) {
  (void)t;
  return n > 0 && n <= TERM_MAX;
}

typedef struct doc_ctx {
  ggs__termset *ts;
  int sign;
} doc_ctx;

static int doc_tok(void *ud, const char *tok, size_t n, size_t start, size_t end) {
  (void)start;
  (void)end;
  doc_ctx *c = ud;
  if (!vocab_word(tok, n)) return 0;
  return ts_add(c->ts, tok, n, c->sign);
}

int ggs__terms_doc(ggs_catalog *cat, const char *const *fields, size_t nfields, int sign) {
  ggs__termset *ts = &cat->terms;
  if (++ts->docno == 0) {
    /* wrapped: forget the marks so no term is skipped by mistake */
    if (ts->docmark) memset(ts->docmark, 0, ts->cap * sizeof(*ts->docmark));
    ts->docno = 1;
  }
  doc_ctx c = {ts, sign};
  for (size_t i = 0; i < nfields; i++) {
    int err = ggs__tokenize(cat, fields[i], strlen(fields[i]), 0, doc_tok, &c);
    if (err) return err;
  }
  return GG_OK;
}

int ggs__terms_flush(ggs_catalog *cat) {
  ggs__termset *ts = &cat->terms;
  int err = GG_OK;
  for (size_t i = 0; i < ts->cap && !err; i++) {
    if (!ts->keys[i] || ts->delta[i] == 0) continue;
    sqlite3_stmt *s = ggs__st(cat, ST_TERM_ADD);
    if (s == NULL) {
      err = GG_ESTORAGE;
      break;
    }
    sqlite3_bind_text(s, 1, ts->keys[i], -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, ts->delta[i]);
    int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE) err = ggs__sqlerr(cat, rc);
    sqlite3_reset(s);
  }
  ggs__termset_free(ts);
  return err;
}

/* ---- vocabulary counting (deferred bulk commits) ------------------------------------------ */

/* While a deferred bulk commit rebuilds the full-text index, catalog.c fts_text hands every
 * token of every document to ggs__vocab_add: the document frequencies come out of the same
 * pass that makes the indexed text (which also drops a document's repeated tokens, so FTS5
 * sees fewer of them). Reading them back from the index (fts5vocab, GROUP BY, upserts) cost
 * more than the rebuild itself. */

void ggs__vocab_init(ggs__vocab *v, const gg_mem *mem) {
  memset(v, 0, sizeof(*v));
  v->mem = mem;
}

void ggs__vocab_free(ggs__vocab *v) {
  gg_free(v->mem, v->rec);
  gg_free(v->mem, v->text);
  ggs__vocab_init(v, v->mem);
}

int ggs__vocab_doc(ggs__vocab *v) {
  if (++v->doc == 0) { /* wrapped: forget the marks so no term is skipped by mistake */
    for (size_t i = 0; i < v->nrec; i++) v->rec[i].doc = 0;
    v->doc = 1;
  }
  return GG_OK;
}

/* The token of a record (inline, or in text when long). */
static const char *vrec_text(const ggs__vocab *v, const ggs__vrec *r) {
  if (r->len <= GGS__VREC_INLINE) return r->t;
  uint32_t off;
  memcpy(&off, r->t + 15, sizeof(off));
  return v->text + off;
}

/* The table is probed for every token of every document (three million for 100,000
 * packages) and outgrows the CPU caches: records are probed in place, one memory access
 * for most lookups (an index into separate entries cost two or three, and showed). */
static int vocab_rehash(ggs__vocab *v) {
  size_t nn = v->nrec ? 2 * v->nrec : 8192;
  ggs__vrec *rec = gg_calloc(v->mem, nn, sizeof(*rec));
  if (rec == NULL) return GG_ENOMEM;
  for (size_t i = 0; i < v->nrec; i++) {
    const ggs__vrec *r = &v->rec[i];
    if (r->len == 0) continue;
    size_t j = hash_bytes(vrec_text(v, r), r->len) & (nn - 1);
    while (rec[j].len) j = (j + 1) & (nn - 1);
    rec[j] = *r;
  }
  gg_free(v->mem, v->rec);
  v->rec = rec;
  v->nrec = nn;
  return GG_OK;
}

uint64_t ggs__vocab_hash(const char *t, size_t n) { return hash_bytes(t, n); }

void ggs__vocab_prefetch(const ggs__vocab *v, uint64_t h) {
#if defined(__GNUC__)
  if (v->nrec) __builtin_prefetch(&v->rec[h & (v->nrec - 1)], 1);
#else
  (void)v;
  (void)h;
#endif
}

int ggs__vocab_reserve(ggs__vocab *v, size_t k) {
  while ((v->n + k) * 2 > v->nrec) {
    int err = vocab_rehash(v);
    if (err) return err;
  }
  return GG_OK;
}

int ggs__vocab_add(ggs__vocab *v, const char *t, size_t n, uint64_t h) {
  if (n == 0 || n > GGS__VOCAB_TOKEN_MAX) return GG_EINVAL;
  int err = ggs__vocab_reserve(v, 1);
  if (err) return err;
  uint32_t tag = (uint32_t)(h >> 32);
  size_t j = h & (v->nrec - 1);
  ggs__vrec *r;
  for (; (r = &v->rec[j])->len != 0; j = (j + 1) & (v->nrec - 1)) {
    if (r->tag != tag || r->len != n) continue;
    if (n <= GGS__VREC_INLINE ? memcmp(r->t, t, n) != 0
                              : memcmp(r->t, t, 15) != 0 || memcmp(vrec_text(v, r), t, n) != 0)
      continue;
    if (r->doc == v->doc) return 0;
    r->doc = v->doc;
    r->df++;
    return 1;
  }
  *r = (ggs__vrec){tag, 1, v->doc, (uint8_t)n, {0}};
  if (n <= GGS__VREC_INLINE) {
    memcpy(r->t, t, n);
  } else {
    if (v->tlen + n > UINT32_MAX) return GG_ELIMIT;
    if (v->tlen + n > v->tcap) {
      size_t nc = v->tcap ? 2 * v->tcap : 65536;
      while (nc < v->tlen + n) nc *= 2;
      char *nt = gg_realloc(v->mem, v->text, nc);
      if (nt == NULL) {
        r->len = 0;
        return GG_ENOMEM;
      }
      v->text = nt;
      v->tcap = nc;
    }
    uint32_t off = (uint32_t)v->tlen;
    memcpy(v->text + off, t, n);
    v->tlen += n;
    memcpy(r->t, t, 15);
    memcpy(r->t + 15, &off, sizeof(off));
  }
  v->n++;
  return 1;
}

/* ---- deletion neighbourhoods ------------------------------------------------------------ */

static int has_digit(const char *t, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (t[i] >= '0' && t[i] <= '9') return 1;
  return 0;
}

/* Edits tolerated for a word of n bytes (0: never corrected). */
static int edits_for(const char *t, size_t n) {
  if (n < FUZZY_MIN || n > FUZZY_MAXLEN || has_digit(t, n)) return 0;
  return n >= 6 ? 2 : 1;
}

/* Calls fn with w and every distinct string made by deleting up to k bytes of it. */
static int deletions(const char *w, size_t n, int k, int (*fn)(void *ud, const char *key, size_t kn),
                     void *ud) {
  char buf[FUZZY_MAXLEN + 1];
  int err = fn(ud, w, n);
  for (size_t i = 0; i < n && !err; i++) {
    if (i > 0 && w[i] == w[i - 1]) continue; /* same string as deleting i-1 */
    memcpy(buf, w, i);
    memcpy(buf + i, w + i + 1, n - i - 1);
    err = fn(ud, buf, n - 1);
  }
  if (k < 2) return err;
  for (size_t i = 0; i < n && !err; i++) {
    for (size_t j = i + 1; j < n && !err; j++) {
      size_t o = 0;
      for (size_t x = 0; x < n; x++)
        if (x != i && x != j) buf[o++] = w[x];
      err = fn(ud, buf, n - 2);
    }
  }
  return err;
}

/* The deletion index. A key is a 64-bit hash of the deletion string (a collision only adds a
 * candidate, which the distance check drops). term_keys has 4096 rows, one per value of the
 * hash's top 12 bits, each a sorted array of (hash, term id) entries: a bulk import writes
 * 4096 rows instead of one row per key, and a lookup reads one ~2 KB blob and bisects it. */
#define KEY_BUCKETS_BITS 12
#define KEY_ENTRY 12 /* bytes: hash (8, little-endian), term id (4) */

typedef struct keyent {
  uint64_t h;
  uint32_t tid;
} keyent;

static uint64_t key_hash(const char *k, size_t n) {
  uint64_t h = hash_bytes(k, n);
  return h ^ (h >> 29) ^ (h << 17);
}

static void key_put(uint8_t *p, const keyent *e) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(e->h >> (8 * i));
  for (int i = 0; i < 4; i++) p[8 + i] = (uint8_t)(e->tid >> (8 * i));
}

static keyent key_get(const uint8_t *p) {
  keyent e = {0, 0};
  for (int i = 0; i < 8; i++) e.h |= (uint64_t)p[i] << (8 * i);
  for (int i = 0; i < 4; i++) e.tid |= (uint32_t)p[8 + i] << (8 * i);
  return e;
}

static int keyent_cmp(const void *a, const void *b) {
  const keyent *x = a, *y = b;
  if (x->h != y->h) return x->h < y->h ? -1 : 1;
  return (x->tid > y->tid) - (x->tid < y->tid);
}

typedef struct keypool {
  keyent *e;
  size_t n, cap;
  uint32_t tid; /* the current term */
  const gg_mem *mem;
} keypool;

static int pool_add(void *ud, const char *key, size_t kn) {
  keypool *p = ud;
  if (p->n == p->cap) {
    size_t nc = p->cap ? p->cap * 2 : 4096;
    keyent *ne = gg_realloc(p->mem, p->e, nc * sizeof(*ne));
    if (ne == NULL) return GG_ENOMEM;
    p->e = ne;
    p->cap = nc;
  }
  p->e[p->n++] = (keyent){key_hash(key, kn), p->tid};
  return GG_OK;
}

/* Adds the deletion keys of term tid (none for a term never corrected). */
static int pool_term(keypool *p, uint32_t tid, const char *t, size_t n) {
  int k = edits_for(t, n);
  if (k == 0) return GG_OK;
  p->tid = tid;
  return deletions(t, n, k, pool_add, p);
}

/* Merges the sorted entries e[0..n) of one bucket into its stored row. */
static int bucket_merge(ggs_catalog *cat, int64_t bucket, const keyent *e, size_t n) {
  sqlite3_stmt *s = ggs__st(cat, ST_KEYS_GET);
  if (s == NULL) return GG_ESTORAGE;
  sqlite3_bind_int64(s, 1, bucket);
  int rc = sqlite3_step(s);
  size_t old = rc == SQLITE_ROW ? (size_t)sqlite3_column_bytes(s, 0) / KEY_ENTRY : 0;
  const uint8_t *ob = old ? sqlite3_column_blob(s, 0) : NULL;
  uint8_t *out = gg_malloc(cat->mem, (old + n) * KEY_ENTRY);
  if (out == NULL) {
    sqlite3_reset(s);
    return GG_ENOMEM;
  }
  size_t i = 0, j = 0, o = 0;
  keyent last = {0, 0};
  while (i < old || j < n) {
    keyent x;
    if (j >= n || (i < old && keyent_cmp((keyent[]){key_get(ob + i * KEY_ENTRY)}, &e[j]) <= 0))
      x = key_get(ob + KEY_ENTRY * i++);
    else
      x = e[j++];
    if (o && !keyent_cmp(&x, &last)) continue;
    key_put(out + KEY_ENTRY * o++, &x);
    last = x;
  }
  sqlite3_reset(s);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
    gg_free(cat->mem, out);
    return ggs__sqlerr(cat, rc);
  }
  int err = GG_OK;
  s = ggs__st(cat, ST_KEYS_PUT);
  if (s == NULL) {
    err = GG_ESTORAGE;
  } else {
    sqlite3_bind_int64(s, 1, bucket);
    sqlite3_bind_blob(s, 2, out, (int)(o * KEY_ENTRY), SQLITE_STATIC);
    rc = sqlite3_step(s);
    if (rc != SQLITE_DONE) err = ggs__sqlerr(cat, rc);
    sqlite3_reset(s);
  }
  gg_free(cat->mem, out);
  return err;
}

/* Writes the pool's keys into their buckets: distributed by bucket first (one counting
 * pass), then each bucket (a few hundred entries) sorted on its own, which is far cheaper
 * than sorting the whole pool (a million keys for 100,000 packages). */
static int pool_write(ggs_catalog *cat, keypool *p) {
  if (p->n == 0) return GG_OK;
  enum { NB = 1 << KEY_BUCKETS_BITS };
  size_t *start = gg_calloc(cat->mem, NB + 1, sizeof(*start));
  keyent *sorted = gg_malloc(cat->mem, p->n * sizeof(*sorted));
  int err = start && sorted ? GG_OK : GG_ENOMEM;
  if (!err) {
    for (size_t i = 0; i < p->n; i++) start[(p->e[i].h >> (64 - KEY_BUCKETS_BITS)) + 1]++;
    for (size_t b = 0; b < NB; b++) start[b + 1] += start[b];
    for (size_t i = 0; i < p->n; i++) sorted[start[p->e[i].h >> (64 - KEY_BUCKETS_BITS)]++] = p->e[i];
    /* start[b] is now the end of bucket b, the start of bucket b + 1 */
    for (size_t b = 0, from = 0; b < NB && !err; from = start[b++]) {
      size_t cnt = start[b] - from;
      if (cnt == 0) continue;
      qsort(sorted + from, cnt, sizeof(*sorted), keyent_cmp);
      err = bucket_merge(cat, (int64_t)b, sorted + from, cnt);
    }
  }
  gg_free(cat->mem, start);
  gg_free(cat->mem, sorted);
  return err;
}

int ggs__terms_keys(ggs_catalog *cat) {
  keypool p = {.mem = cat->mem};
  sqlite3_stmt *s = ggs__st(cat, ST_TERM_UNKEYED);
  int err = s ? GG_OK : GG_ESTORAGE, rc = SQLITE_DONE, any = 0;
  while (!err && (rc = sqlite3_step(s)) == SQLITE_ROW) {
    any = 1;
    int64_t tid = sqlite3_column_int64(s, 0);
    if (tid <= 0 || tid > UINT32_MAX) continue;
    err = pool_term(&p, (uint32_t)tid, (const char *)sqlite3_column_text(s, 1),
                    (size_t)sqlite3_column_bytes(s, 1));
  }
  if (s) sqlite3_reset(s);
  if (!err && rc != SQLITE_DONE) err = ggs__sqlerr(cat, rc);
  if (!err) err = pool_write(cat, &p);
  if (!err && any) {
    s = ggs__st(cat, ST_TERM_MARK_KEYED);
    if (s == NULL) {
      err = GG_ESTORAGE;
    } else {
      rc = sqlite3_step(s);
      if (rc != SQLITE_DONE) err = ggs__sqlerr(cat, rc);
      sqlite3_reset(s);
    }
  }
  gg_free(cat->mem, p.e);
  return err;
}

/* SQLite's BINARY order, so that `terms` is written in index order. */
static int vterm_cmp(const void *a, const void *b) {
  const ggs__vterm *x = a, *y = b;
  int c = memcmp(x->t, y->t, x->n < y->n ? x->n : y->n);
  return c ? c : (x->n > y->n) - (x->n < y->n);
}

/* Writes the document frequencies counted in v into `terms` (the old counts of a catalog that
 * had documents are cleared first: the rebuild counted every document). */
int ggs__terms_from_vocab(ggs_catalog *cat, ggs__vocab *v, int had_docs) {
  ggs__vterm *ts = gg_malloc(cat->mem, (v->n ? v->n : 1) * sizeof(*ts));
  if (ts == NULL) return GG_ENOMEM;
  size_t n = 0;
  for (size_t i = 0; i < v->nrec; i++) {
    const ggs__vrec *r = &v->rec[i];
    if (r->len == 0) continue;
    const char *t = vrec_text(v, r);
    size_t len = r->len;
    if (!(len >= 2 && t[0] == '0' && t[1] == '0')) { /* a word: drop the field letter */
      t++;
      len--;
    }
    if (len) ts[n++] = (ggs__vterm){t, len, r->df};
  }
  qsort(ts, n, sizeof(*ts), vterm_cmp);
  /* a word in several fields counts once per field (docs/catalog.md) */
  size_t m = 0;
  for (size_t i = 0; i < n; i++) {
    if (m && !vterm_cmp(&ts[m - 1], &ts[i]))
      ts[m - 1].df += ts[i].df;
    else
      ts[m++] = ts[i];
  }
  int err = GG_OK;
  keypool pool = {.mem = cat->mem};
  if (!had_docs) {
    /* a catalog that was empty: every term is new, inserted in one statement in index
     * order (ggs_stage_terms reads ts), with consecutive tids, and keyed from memory */
    int64_t base = 0;
    sqlite3_stmt *s;
    int rc = sqlite3_prepare_v2(cat->db, "SELECT coalesce(max(tid), 0) FROM terms", -1, &s, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
      base = sqlite3_column_int64(s, 0);
      rc = SQLITE_OK;
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_OK) err = ggs__sqlerr(cat, rc);
    if (!err && (s = ggs__st(cat, ST_STAGE_TERMS)) == NULL) err = GG_ESTORAGE;
    if (!err) {
      cat->vterms = ts;
      cat->nvterms = m;
      rc = sqlite3_step(s);
      cat->vterms = NULL;
      cat->nvterms = 0;
      if (rc != SQLITE_DONE) err = ggs__sqlerr(cat, rc);
      sqlite3_reset(s);
    }
    if (!err && sqlite3_last_insert_rowid(cat->db) != base + (int64_t)m && m) err = GG_EINTERNAL;
    for (size_t i = 0; i < m && !err; i++)
      if (base + 1 + (int64_t)i <= UINT32_MAX)
        err = pool_term(&pool, (uint32_t)(base + 1 + (int64_t)i), ts[i].t, ts[i].n);
  } else {
    /* known terms keep their tids and keys: upserts, and ggs__terms_keys() keys the new
     * ones afterwards */
    err = ggs__exec(cat, "UPDATE terms SET df = 0 WHERE df <> 0");
    for (size_t i = 0; i < m && !err; i++) {
      sqlite3_stmt *s = ggs__st(cat, ST_TERM_SET);
      if (s == NULL) {
        err = GG_ESTORAGE;
        break;
      }
      sqlite3_bind_text(s, 1, ts[i].t, (int)ts[i].n, SQLITE_STATIC);
      sqlite3_bind_int64(s, 2, ts[i].df);
      int rc = sqlite3_step(s);
      if (rc != SQLITE_DONE) err = ggs__sqlerr(cat, rc);
      sqlite3_reset(s);
    }
  }
  if (!err) err = pool_write(cat, &pool);
  gg_free(cat->mem, pool.e);
  gg_free(cat->mem, ts);
  return err;
}

/* ---- typo correction --------------------------------------------------------------------- */

/* Optimal string alignment distance (Levenshtein + adjacent transpositions), capped: returns
 * cap+1 as soon as the distance must exceed cap. */
static int osa(const char *a, size_t an, const char *b, size_t bn, int cap) {
  if ((an > bn ? an - bn : bn - an) > (size_t)cap) return cap + 1;
  int d[TERM_MAX + 1][TERM_MAX + 1];
  if (an > TERM_MAX || bn > TERM_MAX) return cap + 1;
  for (size_t i = 0; i <= an; i++) d[i][0] = (int)i;
  for (size_t j = 0; j <= bn; j++) d[0][j] = (int)j;
  for (size_t i = 1; i <= an; i++) {
    int rowmin = cap + 1;
    for (size_t j = 1; j <= bn; j++) {
      int c = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
      if (d[i - 1][j] + 1 < c) c = d[i - 1][j] + 1;
      if (d[i][j - 1] + 1 < c) c = d[i][j - 1] + 1;
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < c)
        c = d[i - 2][j - 2] + 1;
      d[i][j] = c;
      if (c < rowmin) rowmin = c;
    }
    if (rowmin > cap) return cap + 1;
  }
  return d[an][bn];
}

typedef struct alt {
  char term[TERM_MAX + 1];
  size_t n;
  int dist;
  int64_t df;
} alt;

typedef struct qword {
  char w[TERM_MAX + 1];
  size_t n;
  size_t start, end; /* span in the query text */
  alt alts[MAX_ALTS];
  int nalts;
  int corrected; /* alts[0] differs from the word itself */
} qword;

typedef struct cands {
  alt c[32];
  int n;
} cands;

/* Keeps the 32 best candidates by (distance, -df). */
static void cand_add(cands *cs, const char *t, size_t n, int dist, int64_t df) {
  for (int i = 0; i < cs->n; i++)
    if (cs->c[i].n == n && !memcmp(cs->c[i].term, t, n)) return;
  int at = cs->n;
  if (at == 32) {
    alt *last = &cs->c[31];
    if (dist > last->dist || (dist == last->dist && df <= last->df)) return;
    at = 31;
  } else {
    cs->n++;
  }
  while (at > 0 && (cs->c[at - 1].dist > dist || (cs->c[at - 1].dist == dist && cs->c[at - 1].df < df))) {
    cs->c[at] = cs->c[at - 1];
    at--;
  }
  memcpy(cs->c[at].term, t, n);
  cs->c[at].term[n] = '\0';
  cs->c[at].n = n;
  cs->c[at].dist = dist;
  cs->c[at].df = df;
}

typedef struct probe_ctx {
  ggs_catalog *cat;
  const qword *w;
  int k;
  cands *cs;
  int err;
} probe_ctx;

static int probe_tid(probe_ctx *p, uint32_t tid) {
  sqlite3_stmt *s = ggs__st(p->cat, ST_TERM_BY_ID);
  if (s == NULL) return GG_ESTORAGE;
  sqlite3_bind_int64(s, 1, tid);
  int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) {
    const char *t = (const char *)sqlite3_column_text(s, 0);
    size_t tn = (size_t)sqlite3_column_bytes(s, 0);
    int d = tn <= TERM_MAX ? osa(p->w->w, p->w->n, t, tn, p->k) : p->k + 1;
    if (d <= p->k && d > 0) cand_add(p->cs, t, tn, d, sqlite3_column_int64(s, 1));
  }
  sqlite3_reset(s);
  return rc == SQLITE_ROW || rc == SQLITE_DONE ? GG_OK : ggs__sqlerr(p->cat, rc);
}

static int probe_key(void *ud, const char *key, size_t kn) {
  probe_ctx *p = ud;
  uint64_t h = key_hash(key, kn);
  sqlite3_stmt *s = ggs__st(p->cat, ST_KEYS_GET);
  if (s == NULL) return GG_ESTORAGE;
  sqlite3_bind_int64(s, 1, (int64_t)(h >> (64 - KEY_BUCKETS_BITS)));
  int rc = sqlite3_step(s), err = GG_OK;
  if (rc == SQLITE_ROW) {
    const uint8_t *b = sqlite3_column_blob(s, 0);
    size_t n = (size_t)sqlite3_column_bytes(s, 0) / KEY_ENTRY, lo = 0, hi = n;
    while (lo < hi) { /* first entry with hash >= h */
      size_t mid = (lo + hi) / 2;
      if (key_get(b + mid * KEY_ENTRY).h < h)
        lo = mid + 1;
      else
        hi = mid;
    }
    /* the blob stays valid while this statement is not stepped; probe_tid uses another */
    for (size_t seen = 0; lo < n && seen < MAX_PER_KEY && !err; lo++, seen++) {
      keyent e = key_get(b + lo * KEY_ENTRY);
      if (e.h != h) break;
      err = probe_tid(p, e.tid);
    }
  } else if (rc != SQLITE_DONE) {
    err = ggs__sqlerr(p->cat, rc);
  }
  sqlite3_reset(s);
  return err;
}

static int term_df(ggs_catalog *cat, const char *t, size_t n, int64_t *df) {
  sqlite3_stmt *s = ggs__st(cat, ST_TERM_GET);
  if (s == NULL) return GG_ESTORAGE;
  sqlite3_bind_text(s, 1, t, (int)n, SQLITE_STATIC);
  int rc = sqlite3_step(s);
  *df = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
  sqlite3_reset(s);
  return rc == SQLITE_ROW || rc == SQLITE_DONE ? GG_OK : ggs__sqlerr(cat, rc);
}

/* Prefix completions of w: vocabulary terms that start with w (completion counts as one
 * edit), best by document frequency. */
static int completions(ggs_catalog *cat, const qword *w, cands *cs) {
  char hi[TERM_MAX + 2];
  memcpy(hi, w->w, w->n);
  hi[w->n] = (char)0xff;
  sqlite3_stmt *s = ggs__st(cat, ST_TERM_PREFIX);
  if (s == NULL) return GG_ESTORAGE;
  sqlite3_bind_text(s, 1, w->w, (int)w->n, SQLITE_STATIC);
  sqlite3_bind_text(s, 2, hi, (int)w->n + 1, SQLITE_STATIC);
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    const char *t = (const char *)sqlite3_column_text(s, 0);
    size_t tn = (size_t)sqlite3_column_bytes(s, 0);
    if (tn <= TERM_MAX && tn > w->n) cand_add(cs, t, tn, 1, sqlite3_column_int64(s, 1));
  }
  sqlite3_reset(s);
  return rc == SQLITE_DONE ? GG_OK : ggs__sqlerr(cat, rc);
}

static void alt_set(alt *a, const char *t, size_t n, int dist, int64_t df) {
  memcpy(a->term, t, n);
  a->term[n] = '\0';
  a->n = n;
  a->dist = dist;
  a->df = df;
}

/* Finds the alternatives searched for one query word: the word itself when it is a common
 * enough term, else its corrections (closest edit distance first, then the most frequent)
 * and prefix completions; a rare known word keeps itself and gains far more common
 * corrections. */
static int correct(ggs_catalog *cat, qword *w) {
  w->nalts = 0;
  w->corrected = 0;
  int k = edits_for(w->w, w->n);
  int64_t df = 0;
  int err = term_df(cat, w->w, w->n, &df);
  if (err) return err;
  if (k == 0 || df >= RARE_DF) {
    alt_set(&w->alts[w->nalts++], w->w, w->n, 0, df);
    return GG_OK;
  }
  cands cs = {.n = 0};
  probe_ctx p = {cat, w, k, &cs, 0};
  err = deletions(w->w, w->n, k, probe_key, &p);
  if (!err) err = completions(cat, w, &cs);
  if (err) return err;
  if (df > 0) alt_set(&w->alts[w->nalts++], w->w, w->n, 0, df);
  for (int i = 0; i < cs.n && w->nalts < MAX_ALTS; i++) {
    /* a rare known word only gains alternatives that are far more common */
    if (df > 0 && cs.c[i].df < 10 * df) continue;
    /* keep only the closest class: a 1-edit match beats any 2-edit one */
    if (w->nalts > (df > 0) && cs.c[i].dist > w->alts[df > 0].dist) break;
    w->alts[w->nalts++] = cs.c[i];
  }
  if (w->nalts == 0) alt_set(&w->alts[w->nalts++], w->w, w->n, 0, 0);
  w->corrected = w->alts[0].n != w->n || memcmp(w->alts[0].term, w->w, w->n) != 0;
  return GG_OK;
}

/* ---- query parsing --------------------------------------------------------------------- */

typedef struct parse_ctx {
  qword *words;
  size_t n;
} parse_ctx;

static int parse_tok(void *ud, const char *tok, size_t n, size_t start, size_t end) {
  parse_ctx *p = ud;
  if (p->n >= GGS_CATALOG_MAX_WORDS) return 1;
  if (n == 0 || n > TERM_MAX) return 0;
  qword *w = &p->words[p->n++];
  memcpy(w->w, tok, n);
  w->w[n] = '\0';
  w->n = n;
  w->start = start;
  w->end = end;
  return 0;
}

/* ---- FTS expressions ------------------------------------------------------------------- */

/* Field letters of the indexed words (catalog.c fts_text): bit i of a pattern is field i. */
static const char field_letter[3] = {'n', 'd', 'g'};

/* The alternatives of a word in the given fields: ("nfoo" OR "dfoo" OR "nfo0" ...). */
static int word_group(gg_buf *b, const qword *w, int fields) {
  int err = gg_buf_append_byte(b, '('), first = 1;
  for (int f = 0; f < 3 && !err; f++) {
    if (!(fields & (1 << f))) continue;
    for (int i = 0; i < w->nalts && !err; i++) {
      if (!first) err = gg_buf_append_str(b, " OR ");
      first = 0;
      uint8_t q[2] = {'"', (uint8_t)field_letter[f]};
      if (!err) err = gg_buf_append(b, q, 2);
      if (!err) err = gg_buf_append(b, w->alts[i].term, w->alts[i].n);
      if (!err) err = gg_buf_append_byte(b, '"');
    }
  }
  return err ? err : gg_buf_append_byte(b, ')');
}

/* Every word in every field of the pattern (fields = 0: each word in some field), then the
 * facet filter. */
static int pattern_expr(gg_buf *b, const qword *ws, size_t nw, int fields, const char *facets) {
  gg_buf_reset(b);
  int err = GG_OK, first = 1;
  for (size_t i = 0; i < nw && !err; i++) {
    if (fields == 0) {
      if (!first) err = gg_buf_append_str(b, " AND ");
      if (!err) err = word_group(b, &ws[i], 7);
      first = 0;
      continue;
    }
    for (int f = 0; f < 3 && !err; f++) {
      if (!(fields & (1 << f))) continue;
      if (!first) err = gg_buf_append_str(b, " AND ");
      if (!err) err = word_group(b, &ws[i], 1 << f);
      first = 0;
    }
  }
  if (!err && facets[0]) {
    if (!first) err = gg_buf_append_str(b, " AND ");
    if (!err) err = gg_buf_append_str(b, facets);
  }
  if (!err) err = gg_buf_append_byte(b, '\0');
  return err;
}

/* ---- candidates ------------------------------------------------------------------------ */

typedef struct cand {
  int64_t rank, pid;
  double score, pop;
  uint64_t downloads, stars;
  const char *id;
  int exact;
} cand;

typedef struct search {
  ggs_catalog *cat;
  ggs__arena tmp;
  int64_t *seen; /* open-addressing set of ranks (0 = empty) */
  size_t seen_cap;
  int64_t *ranks;
  size_t nranks, ranks_cap;
  cand *hits;
  size_t nhits;
  char *scratch;
  size_t scratch_cap;
  int saturated; /* some pattern returned its full K: more matches exist */
} search;

static int add_rank(search *s, int64_t rank) {
  if ((s->nranks + 1) * 2 > s->seen_cap) {
    size_t nc = s->seen_cap ? s->seen_cap * 2 : 1024;
    int64_t *ns = gg_calloc(s->cat->mem, nc, sizeof(*ns));
    if (ns == NULL) return GG_ENOMEM;
    for (size_t i = 0; i < s->seen_cap; i++) {
      if (!s->seen[i]) continue;
      size_t j = (size_t)(s->seen[i] * 0x9E3779B97F4A7C15ull) & (nc - 1);
      while (ns[j]) j = (j + 1) & (nc - 1);
      ns[j] = s->seen[i];
    }
    gg_free(s->cat->mem, s->seen);
    s->seen = ns;
    s->seen_cap = nc;
  }
  size_t j = (size_t)((uint64_t)rank * 0x9E3779B97F4A7C15ull) & (s->seen_cap - 1);
  while (s->seen[j]) {
    if (s->seen[j] == rank) return GG_OK;
    j = (j + 1) & (s->seen_cap - 1);
  }
  s->seen[j] = rank;
  if (s->nranks == s->ranks_cap) {
    size_t nc = s->ranks_cap ? s->ranks_cap * 2 : 256;
    int64_t *nr = gg_realloc(s->cat->mem, s->ranks, nc * sizeof(*nr));
    if (nr == NULL) return GG_ENOMEM;
    s->ranks = nr;
    s->ranks_cap = nc;
  }
  s->ranks[s->nranks++] = rank;
  return GG_OK;
}

static int run_match(search *s, const char *expr, size_t k) {
  sqlite3_stmt *st = ggs__st(s->cat, ST_FTS_MATCH);
  if (st == NULL) return GG_ESTORAGE;
  sqlite3_bind_text(st, 1, expr, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, (int64_t)k);
  int rc, err = GG_OK;
  size_t got = 0;
  while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    err = add_rank(s, sqlite3_column_int64(st, 0));
    got++;
  }
  sqlite3_reset(st);
  if (!err && rc != SQLITE_DONE) err = ggs__sqlerr(s->cat, rc);
  if (got == k) s->saturated = 1;
  return err;
}

static int run_ranks(search *s, int which, const char *arg, size_t k) {
  sqlite3_stmt *st = ggs__st(s->cat, which);
  if (st == NULL) return GG_ESTORAGE;
  if (arg)
    sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
  else
    sqlite3_bind_int64(st, 1, (int64_t)k);
  int rc, err = GG_OK;
  while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) err = add_rank(s, sqlite3_column_int64(st, 0));
  sqlite3_reset(st);
  if (!err && rc != SQLITE_DONE) err = ggs__sqlerr(s->cat, rc);
  return err;
}

static char *scratch(search *s, size_t n) {
  if (n + 1 > s->scratch_cap) {
    size_t nc = (n + 1) * 2;
    char *p = gg_realloc(s->cat->mem, s->scratch, nc);
    if (p == NULL) return NULL;
    s->scratch = p;
    s->scratch_cap = nc;
  }
  return s->scratch;
}

/* 1 when the space-separated token list has tok. */
static int has_token(const char *list, const char *tok) {
  size_t n = strlen(tok);
  for (const char *p = list; (p = strstr(p, tok)) != NULL; p += n) {
    int left = p == list || p[-1] == ' ' || p[-1] == '\n';
    int right = p[n] == '\0' || p[n] == ' ' || p[n] == '\n';
    if (left && right) return 1;
  }
  return 0;
}

typedef struct filters {
  char tok[GGS_CATALOG_MAX_LIST + 3][3 * GGS_CATALOG_MAX_ID + 4];
  size_t n;
  uint64_t min_downloads, min_stars;
} filters;

/* Scores every candidate; keeps those that pass the filters and have some relevance. */
static int score_all(search *s, const ggs__squery *sq, const filters *fl, int listing) {
  gg_free(s->cat->mem, s->hits);
  s->hits = gg_malloc(s->cat->mem, (s->nranks ? s->nranks : 1) * sizeof(*s->hits));
  if (s->hits == NULL) return GG_ENOMEM;
  s->nhits = 0;
  for (size_t i = 0; i < s->nranks; i++) {
    sqlite3_stmt *st = ggs__st(s->cat, ST_DOC_BY_RANK);
    if (st == NULL) return GG_ESTORAGE;
    sqlite3_bind_int64(st, 1, s->ranks[i]);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
      sqlite3_reset(st);
      if (rc == SQLITE_DONE) continue;
      return ggs__sqlerr(s->cat, rc);
    }
    uint64_t dl = (uint64_t)sqlite3_column_int64(st, 8), stars = (uint64_t)sqlite3_column_int64(st, 9);
    const char *facets = (const char *)sqlite3_column_text(st, 7);
    int pass = dl >= fl->min_downloads && stars >= fl->min_stars;
    for (size_t f = 0; f < fl->n && pass; f++) pass = has_token(facets ? facets : "", fl->tok[f]);
    if (!pass) {
      sqlite3_reset(st);
      continue;
    }
    /* lower-case copies of id, name, description, tags, keywords, laid end to end */
    size_t len[5], total = 0;
    for (int c = 0; c < 5; c++) total += (len[c] = (size_t)sqlite3_column_bytes(st, c + 1)) + 1;
    char *buf = scratch(s, total);
    if (buf == NULL) {
      sqlite3_reset(st);
      return GG_ENOMEM;
    }
    const char *lc[5];
    char *p = buf;
    for (int c = 0; c < 5; c++) {
      const char *t = (const char *)sqlite3_column_text(st, c + 1);
      if (c >= 3) /* tags and keywords: JSON lists, as '\n'-separated lines */
        len[c] = ggs__jlist_lines(t ? t : "", len[c], p, 1);
      else
        ggs__lower(p, t ? t : "", len[c]);
      lc[c] = p;
      p += len[c] + 1;
    }
    cand *h = &s->hits[s->nhits];
    h->exact = 0;
    h->score = listing ? 0.0
                       : ggs__score(sq, lc[0], len[0], lc[1], len[1], lc[2], len[2], lc[3], len[3],
                                    lc[4], len[4], dl, stars, &h->exact);
    if (listing || h->score > 0.0 || h->exact) {
      h->rank = s->ranks[i];
      h->pid = sqlite3_column_int64(st, 0);
      h->downloads = dl;
      h->stars = stars;
      h->pop = ggs__popularity(dl, stars);
      h->id = ggs__arena_strndup(&s->tmp, (const char *)sqlite3_column_text(st, 1), len[0]);
      if (h->id == NULL) {
        sqlite3_reset(st);
        return GG_ENOMEM;
      }
      s->nhits++;
    }
    sqlite3_reset(st);
  }
  return GG_OK;
}

static int hit_cmp(const void *a, const void *b) {
  const cand *x = a, *y = b;
  if (x->exact != y->exact) return y->exact - x->exact;
  if (x->score != y->score) return x->score < y->score ? 1 : -1;
  if (x->pop != y->pop) return x->pop < y->pop ? 1 : -1;
  if (x->downloads != y->downloads) return x->downloads < y->downloads ? 1 : -1;
  if (x->stars != y->stars) return x->stars < y->stars ? 1 : -1;
  return strcmp(x->id, y->id);
}

/* ---- search ------------------------------------------------------------------------------ */

typedef struct ftok {
  const char *tok;
  int64_t df;
} ftok;

static int ftok_cmp(const void *a, const void *b) {
  const ftok *x = a, *y = b;
  return (x->df > y->df) - (x->df < y->df);
}

/* The filters: facet tokens for tags, author, category, license, and the popularity bucket
 * tokens of the minimums. The index applies the tokens that match at most a tenth of the
 * catalog (and, for a query without words, at least the most selective one); the rest are
 * checked on the candidates (score_all checks every filter). Intersecting a word with a
 * token that is in, say, 40% of the packages (license MIT, tag "data") made FTS5 seek
 * through that token's long doclist for every match of the word, a 30 ms query on a
 * million packages whenever the combination was rare. Sets *post when some filter is left
 * to the candidates. */
static int build_filters(ggs_catalog *cat, const ggs_catalog_query *q, size_t nwords,
                         filters *fl, gg_buf *expr, int *post) {
  fl->n = 0;
  fl->min_downloads = q->min_downloads;
  fl->min_stars = q->min_stars;
  *post = q->min_downloads || q->min_stars;
  if (q->n_tags > GGS_CATALOG_MAX_LIST || (q->n_tags && q->tags == NULL)) return GG_EINVAL;
  for (size_t i = 0; i < q->n_tags; i++) {
    if (q->tags[i] == NULL || strlen(q->tags[i]) > GGS_CATALOG_MAX_ID) return GG_EINVAL;
    if (ggs__facet_token('t', q->tags[i], fl->tok[fl->n++], sizeof(fl->tok[0]))) return GG_EINVAL;
  }
  const struct {
    char kind;
    const char *v;
  } one[] = {{'a', q->author}, {'c', q->category}, {'l', q->license}};
  for (size_t i = 0; i < 3; i++) {
    if (one[i].v == NULL || one[i].v[0] == '\0') continue;
    if (strlen(one[i].v) > GGS_CATALOG_MAX_ID) return GG_EINVAL;
    if (ggs__facet_token(one[i].kind, one[i].v, fl->tok[fl->n++], sizeof(fl->tok[0])))
      return GG_EINVAL;
  }
  /* popularity: the bucket token at or below each minimum */
  char bucket[2][16];
  ftok all[GGS_CATALOG_MAX_LIST + 5];
  size_t na = 0;
  for (size_t i = 0; i < fl->n; i++) all[na++] = (ftok){fl->tok[i], 0};
  const uint64_t mins[2] = {q->min_downloads, q->min_stars};
  for (int i = 0; i < 2; i++) {
    if (mins[i] == 0) continue;
    int b = 0;
    for (uint64_t v = mins[i]; v >= 10 && b < GGS__BUCKET_MAX; v /= 10) b++;
    snprintf(bucket[i], sizeof(bucket[i]), "00%c%d", i ? 's' : 'd', b);
    all[na++] = (ftok){bucket[i], 0};
  }
  int64_t docs = 0;
  sqlite3_stmt *s = ggs__st(cat, ST_DOC_MAXRANK);
  if (s == NULL) return GG_ESTORAGE;
  if (sqlite3_step(s) == SQLITE_ROW) docs = sqlite3_column_int64(s, 0);
  sqlite3_reset(s);
  for (size_t i = 0; i < na; i++) {
    int err = term_df(cat, all[i].tok, strlen(all[i].tok), &all[i].df);
    if (err) return err;
  }
  qsort(all, na, sizeof(*all), ftok_cmp);
  gg_buf_reset(expr);
  int err = GG_OK;
  size_t terms = 0;
  for (size_t i = 0; i < na && !err; i++) {
    if ((i > 0 || nwords > 0) && all[i].df * 10 > docs) {
      *post = 1;
      continue;
    }
    err = gg_buf_append_str(expr, terms++ ? " AND \"" : "(\"");
    if (!err) err = gg_buf_append_str(expr, all[i].tok);
    if (!err) err = gg_buf_append_byte(expr, '"');
  }
  if (!err && terms) err = gg_buf_append_byte(expr, ')');
  if (!err) err = gg_buf_append_byte(expr, '\0');
  return err;
}

/* The query text with each corrected word replaced, lower-cased, whitespace collapsed. */
static char *corrected_text(ggs__arena *a, const char *text, size_t len, const qword *ws, size_t nw,
                            int lower) {
  gg_buf b;
  gg_buf_init(&b, a->mem, SIZE_MAX);
  size_t pos = 0;
  int err = GG_OK;
  for (size_t i = 0; i < nw && !err; i++) {
    if (!ws[i].corrected) continue;
    err = gg_buf_append(&b, text + pos, ws[i].start - pos);
    if (!err) err = gg_buf_append(&b, ws[i].alts[0].term, ws[i].alts[0].n);
    pos = ws[i].end;
  }
  if (!err) err = gg_buf_append(&b, text + pos, len - pos);
  char *out = NULL;
  if (!err) {
    /* collapse whitespace, trim, lower-case */
    const char *p = (const char *)gg_buf_ptr(&b);
    size_t n = gg_buf_len(&b);
    out = ggs__arena_alloc(a, n + 1);
    if (out) {
      size_t o = 0;
      int space = 0;
      for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
          space = o > 0;
          continue;
        }
        if (space) out[o++] = ' ';
        space = 0;
        out[o++] = (char)(lower && c >= 'A' && c <= 'Z' ? c + 32 : c);
      }
      out[o] = '\0';
    }
  }
  gg_buf_free(&b);
  return out;
}

static int fill_results(search *s, ggs__arena *ra, ggs_catalog_results *res, size_t limit) {
  size_t n = s->nhits < limit ? s->nhits : limit;
  res->hits = ggs__arena_alloc(ra, (n ? n : 1) * sizeof(*res->hits));
  if (res->hits == NULL) return GG_ENOMEM;
  int err = GG_OK;
  for (size_t i = 0; i < n && !err; i++) {
    const cand *c = &s->hits[i];
    ggs_catalog_hit *h = &res->hits[i];
    h->downloads = c->downloads;
    h->stars = c->stars;
    h->score = c->score;
    h->exact = c->exact;
    sqlite3_stmt *st = ggs__st(s->cat, ST_DOC_BY_RANK);
    if (st == NULL) return GG_ESTORAGE;
    sqlite3_bind_int64(st, 1, c->rank);
    if (sqlite3_step(st) == SQLITE_ROW) {
      h->id = ggs__arena_strdup(ra, (const char *)sqlite3_column_text(st, 1));
      const char *name = (const char *)sqlite3_column_text(st, 2);
      h->name = ggs__arena_strdup(ra, name && name[0] ? name : h->id);
      h->description = ggs__arena_strdup(ra, (const char *)sqlite3_column_text(st, 3));
      if (!h->id || !h->name || !h->description) err = GG_ENOMEM;
    } else {
      err = ggs__sqlerr(s->cat, sqlite3_errcode(s->cat->db));
    }
    sqlite3_reset(st);
    if (err) break;
    st = ggs__st(s->cat, ST_HIT_DETAILS);
    if (st == NULL) return GG_ESTORAGE;
    sqlite3_bind_int64(st, 1, c->pid);
    if (sqlite3_step(st) == SQLITE_ROW) {
      h->version = ggs__arena_strdup(ra, (const char *)sqlite3_column_text(st, 0));
      h->author = ggs__arena_strdup(ra, (const char *)sqlite3_column_text(st, 1));
      h->category = ggs__arena_strdup(ra, (const char *)sqlite3_column_text(st, 2));
      h->license = ggs__arena_strdup(ra, (const char *)sqlite3_column_text(st, 3));
    }
    sqlite3_reset(st);
  }
  res->n = err ? 0 : n;
  return err;
}

static void search_free(search *s) {
  gg_free(s->cat->mem, s->seen);
  gg_free(s->cat->mem, s->ranks);
  gg_free(s->cat->mem, s->hits);
  gg_free(s->cat->mem, s->scratch);
  ggs__arena_free(&s->tmp);
}

/* Collects candidates for one round with k per pattern. */
static int gather(search *s, const qword *ws, size_t nw, const char *facets, const char *raw,
                  const char *corrected, size_t limit, size_t k, gg_buf *expr) {
  int err = GG_OK;
  s->saturated = 0;
  if (nw == 0) {
    if (facets[0]) return run_match(s, facets, k);
    err = run_ranks(s, ST_TOP_BY_RANK, NULL, k);
    s->saturated = 1;
    return err;
  }
  /* exact id / name matches, from the unique and NOCASE indexes */
  const char *exact[2] = {raw, corrected};
  for (int i = 0; i < 2 && !err; i++) {
    if (exact[i] == NULL || exact[i][0] == '\0' || (i == 1 && !strcmp(raw, corrected))) continue;
    err = run_ranks(s, ST_EXACT_ID, exact[i], 0);
    if (!err) err = run_ranks(s, ST_EXACT_NAME, exact[i], 0);
  }
  /* every combination of fields; with several words also "each word somewhere" */
  for (int fields = 1; fields <= 7 && !err; fields++) {
    err = pattern_expr(expr, ws, nw, fields, facets);
    if (!err) err = run_match(s, (const char *)gg_buf_ptr(expr), k);
  }
  if (!err && nw > 1) {
    /* each word anywhere; then each word alone in each field, for packages that match some
     * words strongly (ggen gives per-word credit for tags, we for names and descriptions) */
    err = pattern_expr(expr, ws, nw, 0, facets);
    if (!err) err = run_match(s, (const char *)gg_buf_ptr(expr), k);
    for (size_t w = 0; w < nw && !err; w++)
      for (int fields = 1; fields <= 4 && !err; fields <<= 1) {
        err = pattern_expr(expr, &ws[w], 1, fields, facets);
        if (!err) err = run_match(s, (const char *)gg_buf_ptr(expr), k);
      }
  }
  return err;
}

int ggs_catalog_search(ggs_catalog *cat, const ggs_catalog_query *q, ggs_catalog_results **out) {
  return ggs__search(cat, q, 0, out);
}

int ggs__search(ggs_catalog *cat, const ggs_catalog_query *q, size_t k_override,
                ggs_catalog_results **out) {
  if (cat == NULL || q == NULL || out == NULL) return GG_EINVAL;
  size_t limit = q->limit ? q->limit : GGS_CATALOG_DEFAULT_LIMIT;
  if (limit > GGS_CATALOG_MAX_LIMIT) return GG_EINVAL;
  const char *text = q->text ? q->text : "";
  size_t tlen = strlen(text);
  if (tlen > GGS_CATALOG_MAX_TEXT) return GG_EINVAL;
  if (cat->stage && ggs__stage_sync(cat) != GG_OK) return cat->bulk_failed;

  search s = {.cat = cat, .tmp = {cat->mem, NULL}};
  ggs__arena ra = {cat->mem, NULL};
  gg_buf expr, fexpr;
  gg_buf_init(&expr, cat->mem, SIZE_MAX);
  gg_buf_init(&fexpr, cat->mem, SIZE_MAX);
  filters *fl = gg_malloc(cat->mem, sizeof(*fl));
  qword *ws = gg_calloc(cat->mem, GGS_CATALOG_MAX_WORDS, sizeof(*ws));
  ggs_catalog_results *res = ggs__arena_alloc(&ra, sizeof(*res));
  int err = fl && ws && res ? GG_OK : GG_ENOMEM;
  int post = 0;

  /* words, each corrected against the vocabulary */
  parse_ctx pc = {ws, 0};
  if (!err) err = ggs__tokenize(cat, text, tlen, 1, parse_tok, &pc);
  if (!err) err = build_filters(cat, q, pc.n, fl, &fexpr, &post);
  int any_corrected = 0;
  for (size_t i = 0; i < pc.n && !err; i++) {
    err = correct(cat, &ws[i]);
    any_corrected |= ws[i].corrected;
  }
  char *raw = NULL, *fixed = NULL, *fixed_lc = NULL;
  if (!err) {
    raw = corrected_text(&s.tmp, text, tlen, ws, 0, 0);
    fixed = corrected_text(&s.tmp, text, tlen, ws, pc.n, 0);
    fixed_lc = corrected_text(&s.tmp, text, tlen, ws, pc.n, 1);
    if (!raw || !fixed || !fixed_lc) err = GG_ENOMEM;
  }
  ggs__squery sq;
  if (!err) ggs__squery_init(&sq, fixed_lc, strlen(fixed_lc));

  /* candidates, scored; one wider round when exact numeric filters starved the first */
  size_t k = k_override ? k_override : limit + EXTRA_K;
  const char *facets = err ? "" : (const char *)gg_buf_ptr(&fexpr);
  for (int round = 0; round < 2 && !err; round++) {
    err = gather(&s, ws, pc.n, facets, raw, fixed, limit, k, &expr);
    if (!err) err = score_all(&s, &sq, fl, pc.n == 0);
    if (err || s.nhits >= limit || !s.saturated || !post) break;
    k *= 8;
  }
  if (!err) {
    qsort(s.hits, s.nhits, sizeof(*s.hits), hit_cmp);
    res->candidates = s.nranks;
    if (any_corrected && (res->corrected = ggs__arena_strdup(&ra, fixed)) == NULL) err = GG_ENOMEM;
  }
  if (!err) err = fill_results(&s, &ra, res, limit);
  if (!err) {
    res->mem_ = cat->mem;
    res->arena_ = ggs__arena_detach(&ra);
    if (res->arena_ == NULL) err = GG_ENOMEM;
  }
  search_free(&s);
  gg_buf_free(&expr);
  gg_buf_free(&fexpr);
  gg_free(cat->mem, fl);
  gg_free(cat->mem, ws);
  if (err) {
    ggs__arena_free(&ra);
    return err;
  }
  *out = res;
  return GG_OK;
}

void ggs_catalog_results_free(ggs_catalog_results *r) {
  if (r) ggs__arena_free_detached(r->mem_, r->arena_);
}
