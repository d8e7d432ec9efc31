/*
 * Distributed search: the /ggen/search/1.0.0 messages (proto/market.proto) and the merge of
 * the local catalog's results with peers' answers (docs/p2p-marketplace.md "Searching").
 * No I/O: the market service (src/net/market_search.c) moves the messages.
 *
 * A peer answers a query with signed release records, never with scores or popularity: the
 * asker verifies every record, applies the query's filters and ggen's relevance itself
 * (ggs_catalog_score, the catalog's own rules), refuses records of an id its catalog says
 * belongs to another key, keeps the newest version per id, and ranks everything together
 * with its local results (exact id/name matches first, then relevance, then popularity, then
 * id). What a result came from - the local catalog, which peers - is kept.
 */
#ifndef GGEN_PSEARCH_H
#define GGEN_PSEARCH_H

#include <stddef.h>
#include <stdint.h>

#include "ggen/buf.h"
#include "ggen/catalog.h"
#include "ggen/mem.h"

#define GGM_SEARCH_PROTOCOL "/ggen/search/1.0.0"
#define GGM_SEARCH_REQ_MAX 4096        /* bytes of a SearchRequest */
#define GGM_SEARCH_RESP_MAX (1u << 20) /* bytes of a SearchResponse */
#define GGM_SEARCH_MAX_RESULTS 50      /* records in one answer */
#define GGM_SEARCH_TEXT_MAX 256        /* bytes of the query text, of a filter, of an id */
#define GGM_SEARCH_MAX_TAGS 16
#define GGM_SEARCH_MSG_MAX 256 /* bytes of the answer's message / corrected text */

/* A query. Strings NUL-terminated; NULL or "" means absent. */
typedef struct ggm_psearch_req {
  const char *text;
  const char *tags[GGM_SEARCH_MAX_TAGS];
  size_t n_tags;
  const char *author, *category, *license;
  uint32_t limit; /* 0: the server's default */
  const char *id; /* set: every version of exactly this package instead of a search */
  void *priv_;    /* decoded: the protobuf that owns the strings */
} ggm_psearch_req;

/* Appends the length-prefixed SearchRequest. GG_EINVAL (a field over its cap, too many tags,
 * a control character), gg_buf errors. */
int ggm_psearch_req_encode(const ggm_psearch_req *q, gg_buf *out);

/* Decodes a SearchRequest body. On GG_OK *q owns its strings (ggm_psearch_req_free).
 * GG_ETOOBIG, GG_EPROTO (malformed, a field over its cap, a control character). */
int ggm_psearch_req_decode(const uint8_t *body, size_t len, ggm_psearch_req *q);
void ggm_psearch_req_free(ggm_psearch_req *q);

/* An answer: status (GGM_ST_*, include/ggen/fetch.h), records (SignedRelease bytes). */
typedef struct ggm_psearch_resp {
  int status;
  gg_slice records[GGM_SEARCH_MAX_RESULTS];
  size_t n;
  char corrected[GGM_SEARCH_MSG_MAX + 1]; /* "" when none */
  char message[GGM_SEARCH_MSG_MAX + 1];
  void *priv_;
} ggm_psearch_resp;

/* Appends the length-prefixed SearchResponse. GG_EINVAL (more than GGM_SEARCH_MAX_RESULTS
 * records, unknown status), GG_ETOOBIG (over GGM_SEARCH_RESP_MAX), gg_buf errors. */
int ggm_psearch_resp_encode(int status, const gg_slice *records, size_t n, const char *corrected,
                            const char *message, gg_buf *out);

/* Decodes a SearchResponse body; records point into r's own storage (ggm_psearch_resp_free).
 * GG_ETOOBIG (over the cap), GG_EPROTO (malformed, unknown status, more than
 * GGM_SEARCH_MAX_RESULTS records, an empty record or one over GGM_RELEASE_MAX). Records are
 * not verified here: ggm_psearch_merge does that. */
int ggm_psearch_resp_decode(const uint8_t *body, size_t len, ggm_psearch_resp *r);
void ggm_psearch_resp_free(ggm_psearch_resp *r);

/* ---- merging -----------------------------------------------------------------------------------
 */

/* One peer's answer. */
typedef struct ggm_psearch_answer {
  const char *peer; /* its id (text), kept as a source */
  const gg_slice *records;
  size_t n;
  const char *corrected; /* NULL or "" */
} ggm_psearch_answer;

/* What the merge thought of one answer's records. */
typedef struct ggm_psearch_verdict {
  size_t valid;      /* verified, matching the query (counted once per record) */
  size_t invalid;    /* failed to decode or to verify: the peer lied or is broken */
  size_t irrelevant; /* valid but not matching the query or its filters */
  size_t refused;    /* an id owned by another key here, or a minority key */
} ggm_psearch_verdict;

typedef struct ggm_psearch_result {
  const char *id, *name, *version, *description, *author, *category, *license;
  uint64_t downloads, stars; /* from the local catalog (0 when only peers know it) */
  double score;
  int exact;
  int local;                  /* the local catalog has this id (at this version: local_version) */
  const char *local_version;  /* the local catalog's latest version, NULL when not local */
  const char *const *sources; /* peers that returned this id at this version */
  size_t nsources;
  const uint8_t *record; /* the record of this version from a peer, NULL when local only */
  size_t record_len;
  int conflict; /* peers disagreed on the key that owns this id (the majority was taken) */
} ggm_psearch_result;

typedef struct ggm_psearch_merged {
  ggm_psearch_result *v; /* best first, at most the query's limit */
  size_t n;
  ggm_psearch_verdict *verdicts; /* one per answer, in order */
  const char *as;                /* the query text the relevance was computed for */
  void *priv_;
} ggm_psearch_merged;

/* The owner key of id in this node's catalog: GG_OK (key filled) or GG_ENOTFOUND. */
typedef int (*ggm_psearch_owner_fn)(void *ud, const char *id, uint8_t key[32]);

/*
 * Merges local results (may be NULL) with answers[0..n) for query q (limit 0 = the catalog's
 * default). owner (may be NULL) gives the catalog's owners. *out is owned by the caller
 * (ggm_psearch_merged_free). GG_OK, GG_ENOMEM.
 */
int ggm_psearch_merge(const ggm_psearch_req *q, const ggs_catalog_results *local,
                      const ggm_psearch_answer *answers, size_t n, ggm_psearch_owner_fn owner,
                      void *owner_ud, ggm_psearch_merged **out);
void ggm_psearch_merged_free(ggm_psearch_merged *m);

#endif
