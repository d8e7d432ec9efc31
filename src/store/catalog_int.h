/*
 * Internals shared by the catalog's files (catalog.c: schema, ingest, reads;
 * catalog_search.c: vocabulary, typo correction, bounded ranking; catalog_import.c: ggen
 * index import) and by the benchmark baseline and tests, which reuse the ggen scoring
 * function so that the bounded search and the exhaustive scan rank with the same rules.
 */
#ifndef GGS_CATALOG_INT_H
#define GGS_CATALOG_INT_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "ggen/buf.h"
#include "ggen/catalog.h"
#include "ggen/mem.h"
#include "store/catalog_score.h"

/* ---- arena: many small allocations freed at once (results, infos) ---------------------- */
typedef struct ggs__chunk ggs__chunk;
typedef struct ggs__arena {
  const gg_mem *mem;
  ggs__chunk *head;
} ggs__arena;

void *ggs__arena_alloc(ggs__arena *a, size_t n); /* 8-byte aligned, zeroed; NULL on no memory */
char *ggs__arena_strndup(ggs__arena *a, const char *s, size_t n);
char *ggs__arena_strdup(ggs__arena *a, const char *s); /* NULL stays NULL (no error) */
void ggs__arena_free(ggs__arena *a);
/* Moves an arena to the heap (one small allocation) so a public struct can own it. */
void *ggs__arena_detach(ggs__arena *a);
void ggs__arena_free_detached(const gg_mem *mem, void *detached);

/* ---- statements ------------------------------------------------------------------------ */
enum {
  ST_BEGIN,
  ST_COMMIT,
  ST_ROLLBACK,
  ST_PKG_FIND,
  ST_PKG_INSERT,
  ST_PKG_UPDATE,
  ST_DOC_READ,
  ST_DOC_INSERT,
  ST_DOC_UPDATE,
  ST_DOC_MAXRANK,
  ST_FTS_INSERT,
  ST_FTS_DELETE,
  ST_VER_FIND,
  ST_VER_INSERT,
  ST_VER_FILL,
  ST_DEP_INSERT,
  ST_VER_YANK,
  ST_VER_LATEST,
  ST_OWNER_CLAIM,
  ST_OWNER_GET,
  ST_TERM_GET,
  ST_TERM_ADD,
  ST_KEYS_GET,
  ST_KEYS_PUT,
  ST_TERM_BY_ID,
  ST_TERM_PREFIX,
  ST_TERM_UNKEYED,
  ST_TERM_MARK_KEYED,
  ST_DOC_LAST,
  ST_COUNT_PKGS,
  ST_COUNT_VERS,
  ST_COUNT_TERMS,
  ST_PKG_GET,
  ST_VER_LIST,
  ST_DEP_LIST,
  ST_FTS_MATCH,
  ST_EXACT_ID,
  ST_EXACT_NAME,
  ST_DOC_BY_RANK,
  ST_TOP_BY_RANK,
  ST_HIT_DETAILS,
  ST__COUNT
};

/* A hash multiset of terms with signed document-frequency deltas, flushed into the `terms`
 * table at the end of a put (or of a bulk transaction). */
typedef struct ggs__termset {
  const gg_mem *mem;
  char **keys;
  int64_t *delta;
  size_t cap, n;
  /* terms of the current document (to count each once per document) */
  uint32_t *docmark;
  uint32_t docno;
} ggs__termset;

struct ggs_catalog {
  sqlite3 *db;
  const gg_mem *mem;
  sqlite3_stmt *st[ST__COUNT];
  /* the FTS5 tokenizer (unicode61 remove_diacritics 2), shared by vocabulary and queries */
  void *tok_api;  /* fts5_tokenizer* (copied) */
  void *tok;      /* Fts5Tokenizer* */
  int in_bulk;     /* inside ggs_catalog_begin */
  int bulk_failed; /* a put inside the bulk transaction failed: commit rolls back */
  int deferred;    /* bulk: FTS rows built at commit */
  int need_rerank; /* bulk: ranks no longer follow popularity */
  int64_t bulk_last_rank;
  int bulk_had_docs; /* the catalog had documents when the bulk transaction began */
  /* popularity key of the document at bulk_last_rank (to notice an out-of-order append) */
  int have_prev;
  uint64_t prev_downloads, prev_stars;
  char prev_id[GGS_CATALOG_MAX_ID + 1];
  ggs__termset terms;
  gg_buf docbuf[4];      /* reused text buffers of put_package (catalog.c doc) */
  gg_buf ftsbuf;         /* the indexed text being written (catalog.c fts_text) */
  int64_t bulk_max_pid; /* packages above it were added by the bulk transaction */
  int name_index_dropped;
  /* the package of the last put in a bulk transaction (put_version follows it) */
  int64_t cache_pid;
  int cache_new; /* cache_pid was added by this bulk transaction */
  char cache_id[GGS_CATALOG_MAX_ID + 1];
  char errmsg[256];
};

/* Prepared statement i (prepared on first use, then cached); reset and unbound. NULL on
 * failure (message kept in cat->errmsg). */
sqlite3_stmt *ggs__st(ggs_catalog *cat, int i);
/* Maps a SQLite result code to a GG_E* code, remembering the message. */
int ggs__sqlerr(ggs_catalog *cat, int rc);

/* Tokenizes text with the catalog's FTS5 tokenizer; fn gets each token (lower-cased,
 * diacritics removed), returning non-zero stops. query=1 uses query mode. */
int ggs__tokenize(ggs_catalog *cat, const char *text, size_t len, int query,
                  int (*fn)(void *ud, const char *tok, size_t n, size_t start, size_t end),
                  void *ud);

/* Vocabulary maintenance (catalog_search.c). */
void ggs__termset_init(ggs__termset *ts, const gg_mem *mem);
void ggs__termset_free(ggs__termset *ts);
/* Adds (sign=+1) or removes (-1) the distinct terms of one document. */
int ggs__terms_doc(ggs_catalog *cat, const char *const *fields, size_t nfields, int sign);
/* Writes pending deltas into `terms` and adds typo-correction keys for new terms. */
int ggs__terms_flush(ggs_catalog *cat);
/* Recomputes every document frequency from the FTS index (after a bulk rebuild); had_docs=0
 * when the catalog was empty before, which skips clearing old counts. */
int ggs__terms_recompute(ggs_catalog *cat, int had_docs);
/* Adds typo-correction keys (deletion neighbourhoods) for terms that have none yet. */
int ggs__terms_keys(ggs_catalog *cat);
/* Writes the facet token for a filter value (kind 't' tag, 'a' author, 'c' category,
 * 'l' license) NUL-terminated into out. GG_ETOOBIG when cap is too small. */
int ggs__facet_token(char kind, const char *v, char *out, size_t cap);
/* Highest popularity bucket token (catalog.c buckets). */
#define GGS__BUCKET_MAX 12

/* Writes the items of a stored JSON string list '\n'-separated into out (capacity >= len+1),
 * lower-cased when asked. Returns the length. */
size_t ggs__jlist_lines(const char *json, size_t len, char *out, int lower);
/* Runs one or more SQL statements without results. */
int ggs__exec(ggs_catalog *cat, const char *sql);

#endif
