/*
 * The marketplace on a libp2p host (src/net/market_*.c, docs/p2p-marketplace.md): the node's
 * catalog, blob store and peer reputation put on the network.
 *
 * What it does:
 *  - serves archives from the blob store on /ggen/fetch/1.0.0 (include/ggen/fetch.h), with a
 *    size cap, a cap on transfers per peer and in total, and a per-peer request rate limit;
 *  - fetches archives: providers found in the DHT by CID (and any peers the caller names) are
 *    tried best reputation first; the bytes are hashed as they arrive and checked against the
 *    CID before anything is stored; a verified archive is ingested with its signed record
 *    (ggm_publish_ingest) and this node then provides it in the DHT (unless client mode);
 *  - answers searches on /ggen/search/1.0.0 (include/ggen/psearch.h) from the catalog with
 *    signed records, and asks peers: the connected ones that serve the protocol and the DHT's
 *    routing table, best reputation first, a bounded number, until a deadline;
 *  - announces published records on Gossipsub (GGM_ANNOUNCE_TOPIC, include/ggen/announce.h)
 *    and validates every announcement before it spreads (signature, owner, immutable version,
 *    size; an id new here is checked with the peers' view of its owner); accepted ones are
 *    cataloged without their archive, their author remembered as a provider hint;
 *  - records every answer in the peer reputation (include/ggen/peerrep.h).
 *
 * Threading and lifetime: the service lives on its host's loop. Create it after the Kademlia
 * service (ggn_kad_new) and before the host listens or dials. Close it with ggn_market_close
 * before ggn_kad_close and ggn_host_close, all in the same loop iteration: DHT queries the
 * market still has in flight are then forgotten by ggn_kad_close (their callbacks never run).
 * Callbacks are never called from inside the ggn_market_* call that started them.
 */
#ifndef GGEN_MARKET_SERVICE_H
#define GGEN_MARKET_SERVICE_H

#include <stddef.h>
#include <stdint.h>

#include "ggen/announce.h"
#include "ggen/blobstore.h"
#include "ggen/catalog.h"
#include "ggen/gossip_service.h"
#include "ggen/host.h"
#include "ggen/kad_service.h"
#include "ggen/pack.h"
#include "ggen/peerrep.h"
#include "ggen/psearch.h"

typedef struct ggn_market ggn_market;

/* An announcement received on GGM_ANNOUNCE_TOPIC (fields valid during the callback). */
typedef struct ggn_market_announcement {
  const ggm_announce_verdict *v; /* id, version, CID, publisher; action and why */
  gg_peerid from;                /* the node that published it (Gossipsub author) */
  gg_peerid via;                 /* the neighbour it came from */
  int ingest_err;                /* accepted: the catalog's verdict (GG_OK: cataloged) */
  int by_peers; /* refused because the peers asked vouch for another key (an id new here) */
} ggn_market_announcement;

/* Every numeric field 0 means the default shown; durations in nanoseconds. */
typedef struct ggn_market_settings {
  const char *home;      /* node home: temporary files in <home>/tmp (required; copied) */
  ggs_catalog *catalog;  /* borrowed (required) */
  ggs_blob_store *store; /* borrowed (required) */
  ggs_peerrep *rep;      /* borrowed; NULL: providers are tried in the order found */
  ggn_kad *kad;          /* borrowed; NULL: no DHT (fetch only from the peers named) */
  ggn_gossip *gossip;    /* borrowed; NULL: no announcements. Outside client mode the service
                            subscribes to GGM_ANNOUNCE_TOPIC and validates it */
  /* Optional: told about every announcement received (accepted or refused). */
  void (*on_announce)(ggn_market *m, const ggn_market_announcement *a, void *ud);
  void *announce_ud;
  int client_mode;                 /* 1: serve nothing and provide nothing (a short-lived node) */
  uint64_t max_archive;            /* largest archive served or fetched (= 256 MiB) */
  uint32_t max_transfers;          /* archives served at once, all peers (= 16) */
  uint32_t max_transfers_per_peer; /* archives served at once to one peer (= 2) */
  double rate_per_sec;    /* requests (fetch and search) one peer may make per second (= 20) */
  double rate_burst;      /* ... in a burst (= 40) */
  gg_ts fetch_timeout;    /* one provider: from the attempt's start to the response header
                             (= 5 s); then the next provider is tried */
  gg_ts stall_timeout;    /* a transfer without progress for this long fails (= 10 s) */
  uint32_t max_providers; /* providers asked for and tried per fetch (= 8) */
  uint32_t search_fanout; /* peers one search asks (= 8, at most 16) */
  gg_ts search_deadline;  /* a search returns what arrived by then (= 1 s) */
} ggn_market_settings;

/*
 * Creates the service on h: registers the fetch handler (unless client_mode). st is copied.
 * GG_OK; GG_EINVAL (no home, catalog or store); GG_ENOMEM; GG_ELIMIT (no protocol slot left).
 * On failure nothing stays registered and *out is untouched.
 */
int ggn_market_new(ggn_market **out, ggn_host *h, const ggn_market_settings *st);

/*
 * Stops the service: unregisters its handlers, resets its streams, fails nothing (callbacks of
 * operations in flight are not called) and frees everything once the host has reported back on
 * every stream it opened; on_closed (may be NULL) runs then, from the loop. See the lifetime
 * rule above. May be called from inside a ggn_market callback.
 */
void ggn_market_close(ggn_market *m, void (*on_closed)(void *ud), void *ud);

/* ---- fetch -------------------------------------------------------------------------------- */

#define GGN_MARKET_MAX_ATTEMPTS 16

/* One provider tried. */
typedef struct ggn_market_attempt {
  gg_peerid peer;
  int err;   /* GG_OK: it served the archive */
  double ms; /* time to its response header, < 0 when none came */
} ggn_market_attempt;

typedef struct ggn_market_fetch_result {
  int err;        /* GG_OK; GG_ENOTFOUND (no provider had it); the last provider's error
                     (GG_EINTEGRITY, GG_ETIMEDOUT, GG_EUNREACHABLE, GG_ELIMIT...); or the
                     ingest's error (GG_EOWNER, GG_EUNSAFE...) for a verified archive */
  char msg[768];  /* on failure: what happened, for a human */
  gg_peerid peer; /* who served it (err == GG_OK) */
  uint64_t bytes;
  double ms;                          /* the whole fetch: lookup, attempts, ingest */
  double lookup_ms;                   /* the DHT provider lookup (< 0: none was made) */
  size_t providers;                   /* candidate providers (DHT and named) */
  const ggn_market_attempt *attempts; /* in order */
  size_t nattempts;
  int existed;              /* the archive was already in the store: nothing was fetched */
  size_t provided;          /* peers that took our provider record afterwards */
  const char *id, *version; /* from the record (NULL for ggn_market_fetch_cid) */
} ggn_market_fetch_result;

/* r and everything it points to are valid during the call only. */
typedef void (*ggn_market_fetch_cb)(ggn_market *m, const ggn_market_fetch_result *r, void *ud);

/*
 * Fetches the archive of a signed release record (rec[0..len), verified first) and ingests it
 * with the record (ggm_publish_ingest, source "p2p"): archive in the store, version in the
 * catalog. Candidates: hints[0..nhints) (peers believed to have it, e.g. the announcer) and
 * the DHT's providers of the archive's CID, ordered by reputation. An archive already in the
 * store is only ingested (res->existed). Outside client mode the node then provides the CID.
 * GG_OK (cb follows); GG_EPARSE / GG_EBADSIG... (record refused), GG_ESTATE (closing),
 * GG_ENOMEM: cb is not called then.
 */
int ggn_market_fetch(ggn_market *m, const uint8_t *rec, size_t len, const gg_peerid *hints,
                     size_t nhints, ggn_market_fetch_cb cb, void *ud);

/* As ggn_market_fetch for a bare CID (expect_size 0 = unknown): the verified archive is put in
 * the blob store only. */
int ggn_market_fetch_cid(ggn_market *m, const uint8_t cid[GGM_CID_LEN], uint64_t expect_size,
                         const gg_peerid *hints, size_t nhints, ggn_market_fetch_cb cb, void *ud);

/* ---- publishing ------------------------------------------------------------------------------ */

typedef struct ggn_market_publish_result {
  int err;           /* GG_OK when at least one peer took the record (GG_EUNREACHABLE: none) */
  const char *key;   /* "/ggen-pkg/<id>@<version>" */
  int put_err;       /* the DHT PUT_VALUE: GG_OK, or why not (GG_EUNSUPPORTED: no DHT) */
  size_t stored;     /* peers that took the record */
  int provide_err;   /* ADD_PROVIDER of the archive: GG_OK, GG_ENOTFOUND (the archive is not
                        in the store), GG_EUNSUPPORTED (client mode or no DHT) */
  size_t provided;   /* peers that took the provider record */
  int announce_err;  /* the Gossipsub announcement: GG_OK, GG_EUNREACHABLE (no subscriber
                       to send it to), GG_EUNSUPPORTED (no Gossipsub) */
  size_t recipients; /* peers the announcement went to */
  double ms;
} ggn_market_publish_result;

typedef void (*ggn_market_publish_cb)(ggn_market *m, const ggn_market_publish_result *r, void *ud);

/*
 * Puts a signed release record on the network: under its versioned key in the DHT (each
 * version has its own key, so a new version never replaces an old one; the DHT service
 * republishes it while it runs), when the archive is in the store and the service is not in
 * client mode this node as a provider of the archive's CID, and the record itself on
 * GGM_ANNOUNCE_TOPIC (after waiting up to 1 s for a subscriber to be known). The record must decode
 * and verify. GG_OK (cb follows); the decoder's errors, GG_ESTATE, GG_ENOMEM otherwise.
 */
int ggn_market_publish(ggn_market *m, const uint8_t *rec, size_t len, ggn_market_publish_cb cb,
                       void *ud);

/* Provides every archive in the store (ggs_blob_each), a few at a time; cb(m, total, ok, ud)
 * once all are done (total 0 at once - from the loop - when the store is empty). A node runs
 * it at start, so what it cached while it was offline becomes fetchable again. GG_OK,
 * GG_EUNSUPPORTED (client mode or no DHT), GG_ESTATE, GG_ENOMEM, the store's errors. */
int ggn_market_reprovide(ggn_market *m,
                         void (*cb)(ggn_market *m, size_t total, size_t ok, void *ud), void *ud);

/* ---- looking records up ------------------------------------------------------------------------
 */

#define GGN_MARKET_MAX_FOUND 64

/* One record a lookup found. */
typedef struct ggn_market_found {
  const char *version;
  const char *from; /* "dht" or the base58 id of the peer that answered */
  int err;          /* the ingest's verdict: GG_OK (new), GG_EEXIST... */
  int existed;      /* it was already in the catalog */
} ggn_market_found;

typedef struct ggn_market_lookup_result {
  int err; /* GG_OK: at least one valid record is now in the catalog; GG_ENOTFOUND */
  const char *id;
  const ggn_market_found *found;
  size_t nfound;
  size_t refused; /* records that failed verification or ownership */
  double ms;
} ggn_market_lookup_result;

typedef void (*ggn_market_lookup_cb)(ggn_market *m, const ggn_market_lookup_result *r, void *ud);

/*
 * Looks up the signed records of package id (version: one exact version, NULL: the versions the
 * network knows) and ingests each valid one into the catalog without its archive
 * (ggm_publish_ingest_record: signature, ownership and immutability are checked; source
 * "p2p"). A version is looked up in the DHT under /ggen-pkg/<id>@<version>; without a version,
 * or when the DHT has none, peers are asked for every version of the id (ggn_market_search).
 * GG_OK (cb follows); GG_EINVAL (bad id or version), GG_ESTATE, GG_ENOMEM.
 */
int ggn_market_lookup(ggn_market *m, const char *id, const char *version, ggn_market_lookup_cb cb,
                      void *ud);

/* ---- searching --------------------------------------------------------------------------------
 */

/* One peer's answer. Records are the ones whose signature verified (the others are dropped
 * and the peer is penalised). */
typedef struct ggn_market_answer {
  gg_peerid peer;
  int err;   /* GG_OK; the peer's refusal (GG_ELIMIT: rate limited or busy...); GG_ETIMEDOUT
                (no answer by the deadline); a stream or protocol error */
  double ms; /* time to the answer, < 0 without one */
  const gg_slice *records;
  size_t n;
  size_t invalid;        /* records dropped: they did not verify */
  const char *corrected; /* the peer's typo correction, "" when none */
} ggn_market_answer;

typedef struct ggn_market_search_result {
  int err; /* GG_OK (even with no answer: see answers); GG_ENOTFOUND: no peer to ask */
  const ggn_market_answer *answers; /* one per peer asked */
  size_t nanswers;
  double ms;
} ggn_market_search_result;

typedef void (*ggn_market_search_cb)(ggn_market *m, const ggn_market_search_result *r, void *ud);

/*
 * Asks up to search_fanout peers (connected peers that announced /ggen/search/1.0.0 and the
 * DHT routing table, best reputation first; a client-mode node with fewer first looks for more
 * with one DHT lookup) and reports when all answered or at search_deadline, whichever is
 * first. q->id set: every version of that package. GG_OK (cb follows), GG_EINVAL (the query
 * does not encode: a field over its cap), GG_ESTATE, GG_ENOMEM.
 */
int ggn_market_search(ggn_market *m, const ggm_psearch_req *q, ggn_market_search_cb cb, void *ud);

/* ---- introspection -------------------------------------------------------------------------- */

typedef struct ggn_market_stats {
  uint64_t served, served_bytes; /* archives served to peers */
  uint64_t refused_busy, refused_rate, refused_missing;
  uint64_t fetched, fetched_bytes;          /* archives fetched from peers */
  uint64_t fetch_failures;                  /* provider attempts that failed */
  uint64_t searches_served, search_refused; /* search requests answered / refused */
  uint64_t announced, announcements_accepted, announcements_rejected;
  uint32_t transfers; /* archives being served now */
} ggn_market_stats;

void ggn_market_get_stats(const ggn_market *m, ggn_market_stats *st);

ggn_host *ggn_market_host(const ggn_market *m);

#endif
