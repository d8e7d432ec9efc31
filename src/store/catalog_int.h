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
/* Hash of a package id for in-memory tables: FNV-1a of the ASCII-lower-cased id (ids compare
 * case-insensitively, as the packages table's NOCASE collation: ASCII letters only), with the
 * high bits folded in for tables indexed by the low bits. */
uint64_t ggs__id_hash(const char *s);
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
  ST_TERM_SET,
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
  ST_STAGE_PKG,
  ST_STAGE_DOC,
  ST_STAGE_VER,
  ST_STAGE_DEP,
  ST_STAGE_FTS,
  ST_STAGE_TERMS,
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

/* The distinct tokens of a set of documents with their document frequencies, counted while
 * a deferred bulk commit rebuilds the full-text index (catalog_search.c ggs__vocab_*). An
 * open-addressing table of 32-byte records with the token inline (long ones also in text). */
#define GGS__VREC_INLINE 19
typedef struct ggs__vrec {
  uint32_t tag; /* high half of the token's hash */
  uint32_t df;
  uint32_t doc;    /* the last document that counted it */
  uint8_t len;     /* 0 = empty slot */
  char t[GGS__VREC_INLINE]; /* the token; when longer: its first 15 bytes + offset in text */
} ggs__vrec;

typedef struct ggs__vocab {
  const gg_mem *mem;
  ggs__vrec *rec; /* nrec slots (a power of two), at most half used */
  size_t nrec, n;
  char *text; /* tokens longer than GGS__VREC_INLINE */
  size_t tlen, tcap;
  uint32_t doc;
} ggs__vocab;

/* The tokens of an indexed text: offsets (after the token's space) and lengths in the text,
 * and their hashes (catalog.c fts_text). */
typedef struct ggs__ftoks {
  uint32_t *off, *len;
  uint64_t *hash;
  size_t n, cap;
} ggs__ftoks;

/* A vocabulary term being written: the index token without its field letter. */
typedef struct ggs__vterm {
  const char *t;
  size_t n;
  int64_t df;
} ggs__vterm;

/* Write-behind staging of a deferred bulk transaction into an empty catalog
 * (catalog_stage.c). */
typedef struct ggs__stage ggs__stage;
typedef struct ggs__stage_aux { /* what each staging virtual table reads */
  ggs_catalog *cat;
  int kind;
} ggs__stage_aux;
/* A package's search_doc text as catalog.c builds it (lists as JSON, facet tokens). */
typedef struct ggs__stage_doc {
  const char *description, *tags, *keywords, *authors, *facets;
  uint64_t downloads, stars;
} ggs__stage_doc;

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
  ggs__vocab *counting;  /* set while a deferred commit rebuilds: fts_text counts terms */
  ggs__ftoks ftoks;      /* the tokens of the text fts_text is building, while counting */
  int64_t bulk_max_pid; /* packages above it were added by the bulk transaction */
  int name_index_dropped;
  /* the package of the last put in a bulk transaction (put_version follows it) */
  int64_t cache_pid;
  int cache_new; /* cache_pid was added by this bulk transaction */
  char cache_id[GGS_CATALOG_MAX_ID + 1];
  ggs__stage *stage;      /* non-NULL while a bulk transaction stages its rows */
  int64_t stage_last_pid; /* the pid of the last package staged */
  ggs__stage_aux stage_aux[6];
  const ggs__vterm *vterms; /* the terms ggs_stage_terms reads while they are inserted */
  size_t nvterms;
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
/* Vocabulary counting: init/free, start a document, add one token of it with its hash
 * (ggs__vocab_hash; 1 when it is new in the document, 0 when the document had it already,
 * GG_ENOMEM / GG_ELIMIT). ggs__vocab_reserve() makes room for k more terms, after which
 * ggs__vocab_prefetch() can bring a token's slot into the cache ahead of its add. */
void ggs__vocab_init(ggs__vocab *v, const gg_mem *mem);
void ggs__vocab_free(ggs__vocab *v);
int ggs__vocab_doc(ggs__vocab *v);
uint64_t ggs__vocab_hash(const char *t, size_t n);
int ggs__vocab_reserve(ggs__vocab *v, size_t k);
void ggs__vocab_prefetch(const ggs__vocab *v, uint64_t h);
int ggs__vocab_add(ggs__vocab *v, const char *t, size_t n, uint64_t h);
/* Replaces every document frequency in `terms` with the counts of v (tokens as the index
 * holds them: field-tagged words, facet tokens), keying the new terms for typo correction
 * at once. had_docs=0 when the catalog was empty before, which skips clearing old counts. */
int ggs__terms_from_vocab(ggs_catalog *cat, ggs__vocab *v, int had_docs);
/* Longest field-tagged token counted in the vocabulary (words of TERM_MAX bytes + the tag). */
#define GGS__VOCAB_TOKEN_MAX 65
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
/* Staging (catalog_stage.c): the virtual tables (registered on every connection), start and
 * end (discarding what was not flushed), and writing everything staged into the tables.
 * ggs__stage_sync() flushes before a statement that must see the batch's rows, and on
 * failure poisons the batch. */
int ggs__stage_register(ggs_catalog *cat);
int ggs__stage_begin(ggs_catalog *cat);
void ggs__stage_end(ggs_catalog *cat);
int ggs__stage_flush(ggs_catalog *cat);
int ggs__stage_sync(ggs_catalog *cat);
/* 1 when nothing was flushed yet: all the batch's rows are staged. */
int ggs__stage_whole(const ggs_catalog *cat);
/* Flushes and also indexes the staged documents (INSERT INTO fts from ggs_stage_fts, whose
 * text is ggs__fts_text's, which counts the vocabulary while cat->counting is set). */
int ggs__stage_flush_indexed(ggs_catalog *cat);
/* 1 when the staged rows have grown enough to be flushed before the next package: past
 * ggs__stage_flush_bytes (64 MiB; tests lower it to flush often). */
extern size_t ggs__stage_flush_bytes;
int ggs__stage_full(const ggs_catalog *cat);
/* Stages a new package with the given pid and rank, or replaces the rows of a staged one
 * (*changed: its popularity changed). *out_pid gets the package's pid. GG_EEXIST when the
 * batch put the package before and its rows are in the tables already (nothing staged),
 * GG_ENOMEM. Strings are copied. */
int ggs__stage_put_package(ggs_catalog *cat, const ggs_catalog_pkg *p, const ggs__stage_doc *d,
                           int64_t pid, int64_t rank, int64_t *out_pid, int *changed);
/* Adds a version to a staged package with catalog.c's rules (same version: no-op, fill in
 * digests, or GG_EEXIST when they differ). GG_ENOTFOUND when the package is not staged. */
int ggs__stage_put_version(ggs_catalog *cat, const char *id, const ggs_catalog_version *v);
/* The indexed text of a document f = {id, name, description, tags, keywords, facets}
 * (catalog.c), NUL-terminated in out. */
int ggs__fts_text(ggs_catalog *cat, const char *const f[6], gg_buf *out);
/* Runs one or more SQL statements without results. */
int ggs__exec(ggs_catalog *cat, const char *sql);

#endif
