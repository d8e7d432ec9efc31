/*
 * Kademlia DHT core (libp2p/specs kad-dht/README.md), without I/O.
 *
 * The core owns the routing table (256 k-buckets with replacement caches), the record and
 * provider stores (in memory, with caps; a persistence layer mirrors them through callbacks
 * and reloads them with ggp_kad_load_*), and the iterative queries. It never touches a
 * socket: to talk to a peer it calls send_request() with an encoded request, and the glue
 * answers later with ggp_kad_on_reply() or ggp_kad_on_fail(). Inbound requests go through
 * ggp_kad_handle_request(), which returns the encoded reply. Time is a parameter.
 *
 * Time: gg_ts nanoseconds on a clock that is also the wall clock (Unix epoch), because
 * records carry their reception time across restarts and in RFC 3339 on the wire. The glue
 * passes a monotonic clock offset to the epoch once at start; the simulator passes virtual
 * time.
 *
 * Messages passed to and from the glue are single protobuf Messages without the varint
 * length prefix (the glue frames them on the stream).
 */
#ifndef GGEN_KAD_H
#define GGEN_KAD_H

#include <stddef.h>
#include <stdint.h>

#include "ggen/buf.h"
#include "ggen/mem.h"
#include "ggen/peerid.h"
#include "ggen/rand.h"
#include "ggen/time.h"

#define GGP_KAD_PROTOCOL "/ggen/kad/1.0.0"
#define GGP_KAD_PROTOCOL_IPFS "/ipfs/kad/1.0.0"
#define GGP_KAD_KEYBITS 256

typedef struct ggp_kad ggp_kad;

/* Query types (also the kind of ggp_kad_result). */
enum {
  GGP_KAD_Q_FIND_NODE = 1, /* the k closest peers to a key */
  GGP_KAD_Q_FIND_PEER,     /* one peer's addresses; ends as soon as it is found */
  GGP_KAD_Q_GET_VALUE,
  GGP_KAD_Q_PUT_VALUE,
  GGP_KAD_Q_PROVIDE,
  GGP_KAD_Q_GET_PROVIDERS,
  GGP_KAD_Q_BOOTSTRAP, /* self-lookup, then bucket refreshes */
};

typedef struct ggp_kad_settings {
  size_t k;                    /* replication / bucket size; default 20 */
  size_t alpha;                /* in-flight requests per query; default 3 */
  size_t bootstrap_alpha;      /* in-flight requests of the bootstrap's self-lookup, which must
                                  hear from each of the k closest anyway; default 20 (k);
                                  0: alpha */
  int client_mode;             /* 1: do not serve requests (the glue also hides the protocol) */
  gg_ts request_timeout;       /* default 10 s */
  gg_ts query_timeout;         /* default 60 s */
  gg_ts refresh_interval;      /* bucket refresh; default 10 min */
  gg_ts record_ttl;            /* records expire this long after reception; default 48 h */
  gg_ts republish_interval;    /* our own records; default 24 h */
  gg_ts provider_ttl;          /* default 48 h */
  gg_ts reprovide_interval;    /* default 22 h */
  gg_ts liveness_interval;     /* a full bucket's oldest entry is probed if not seen for this
                                  long before a newcomer may replace it; default 1 min */
  unsigned max_failures;       /* consecutive failed requests before eviction; default 2 */
  size_t quorum;               /* GET_VALUE answers wanted; default 1 (records are immutable
                                  or carry their own order: see docs/kad.md) */
  size_t max_record_size;      /* key + value; default 64 KiB */
  size_t max_records;          /* default 16384 */
  size_t max_record_bytes;     /* sum of key + value sizes; default 64 MiB */
  size_t max_records_per_peer; /* records one remote peer may have stored here; default 256 */
  size_t max_providers_per_key;/* default 64 */
  size_t max_provider_keys;    /* default 65536 */
  size_t max_message_size;     /* inbound request or reply; default 128 KiB */
  size_t max_addrs;            /* addresses kept per peer; default 8 */
  size_t max_queries;          /* concurrent user queries; default 256 */
  size_t replacement_cache;    /* per bucket; default 8 */
  double req_rate;             /* inbound requests per second per peer; default 50 */
  double req_burst;            /* token bucket depth; default 100 */
  size_t prepare_ahead;        /* waiting candidates a query announces to prepare_peer; 0 (the
                                  default): k for lookups that must hear from the k closest
                                  (FIND_NODE, puts, provides, bootstrap), alpha for those that
                                  may end early (FIND_PEER, GET_VALUE, GET_PROVIDERS) */
} ggp_kad_settings;

/* Fills s with the defaults above. */
void ggp_kad_settings_default(ggp_kad_settings *s);

/* A peer and its addresses (binary multiaddrs), borrowed for the duration of a callback. */
typedef struct ggp_kad_peerinfo {
  gg_peerid id;
  const gg_slice *addrs;
  size_t naddrs;
} ggp_kad_peerinfo;

/* A stored record. */
typedef struct ggp_kad_record {
  const uint8_t *key;
  size_t klen;
  const uint8_t *val;
  size_t vlen;
  gg_ts received;  /* when this node stored it (epoch ns) */
  int published;   /* 1: this node is its publisher and republishes it */
} ggp_kad_record;

/* What a finished query found. Pointers are valid only during the query_done callback. */
typedef struct ggp_kad_result {
  int type;                    /* GGP_KAD_Q_* */
  int err;                     /* GG_OK, GG_ENOTFOUND, GG_ETIMEDOUT, GG_ECANCELED */
  const uint8_t *val;          /* GET_VALUE: the best record's value */
  size_t vlen;
  const ggp_kad_peerinfo *peers; /* FIND_NODE/PUT/PROVIDE/BOOTSTRAP: closest peers that
                                    answered; FIND_PEER: the peer */
  size_t npeers;
  const ggp_kad_peerinfo *providers; /* GET_PROVIDERS */
  size_t nproviders;
  size_t stored;               /* PUT_VALUE/PROVIDE: peers that took the record */
  /* statistics */
  unsigned rounds;             /* deepest chain of replies the query followed */
  unsigned requests;           /* requests sent */
  unsigned replies;            /* replies received */
  unsigned failures;           /* requests failed or timed out */
  gg_ts duration;
} ggp_kad_result;

/* Validator for one record namespace: keys "/<ns>/...". */
typedef struct ggp_kad_validator {
  const char *ns; /* copied */
  /* GG_OK if the record may be stored or returned; a negative code otherwise. */
  int (*validate)(void *vud, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen);
  /* Index (0..n-1) of the best of n valid records for one key. Must be stable. */
  size_t (*select)(void *vud, const uint8_t *key, size_t klen, const gg_slice *vals, size_t n);
  void *vud;
} ggp_kad_validator;

typedef struct ggp_kad_callbacks {
  /* Send msg to peer (open a stream with the kad protocol, write it length-prefixed). If
   * expect_reply, read one reply and pass it to ggp_kad_on_reply(reqid); else call
   * ggp_kad_on_reply(reqid, NULL, 0) once written. On any failure call ggp_kad_on_fail.
   * Neither may be called from inside this callback. Returning non-zero means "failed at
   * once" (the core treats it as ggp_kad_on_fail). Required. */
  int (*send_request)(ggp_kad *kad, uint64_t reqid, const ggp_kad_peerinfo *peer,
                      const uint8_t *msg, size_t len, int expect_reply, void *ud);
  /* The core no longer wants the reply of reqid (timeout, query done): reset the stream. */
  void (*cancel_request)(ggp_kad *kad, uint64_t reqid, void *ud);
  /* A query started with ggp_kad_* finished. Required. */
  void (*query_done)(ggp_kad *kad, uint64_t qid, const ggp_kad_result *res, void *ud);
  /* Probe whether peer is alive (e.g. libp2p ping); answer with ggp_kad_check_result().
   * Optional: without it, full buckets keep their old entries until they fail requests. */
  void (*check_peer)(ggp_kad *kad, const ggp_kad_peerinfo *peer, void *ud);
  /* The core will probably ask peer soon: it is one of a lookup's closest candidates waiting
   * for a free slot among the alpha requests in flight (at most alpha such peers per query at
   * a time, each announced once). Optional: the glue may connect to it ahead, so that the
   * request does not pay for connection setup (docs/kad.md "Lookups"). */
  void (*prepare_peer)(ggp_kad *kad, const ggp_kad_peerinfo *peer, void *ud);
  /* 1 when a request to peer would go over an open connection (a round trip), 0 when it would
   * pay for a connection setup too. Optional: with it, a free request slot whose closest
   * waiting candidate is not connected goes to the closest connected one waiting in the k
   * window (the closest one is then announced to prepare_peer, and asked once a slot is free
   * again).
   * When a lookup ends does not change, only the order in which candidates are asked. */
  int (*peer_connected)(ggp_kad *kad, const gg_peerid *peer, void *ud);
  /* Persistence mirror (all optional). */
  void (*record_stored)(ggp_kad *kad, const ggp_kad_record *rec, void *ud);
  void (*record_removed)(ggp_kad *kad, const uint8_t *key, size_t klen, void *ud);
  void (*provider_stored)(ggp_kad *kad, const uint8_t *key, size_t klen,
                          const ggp_kad_peerinfo *prov, gg_ts expires, void *ud);
  void (*provider_removed)(ggp_kad *kad, const uint8_t *key, size_t klen,
                           const gg_peerid *prov, void *ud);
  /* Routing table changes (optional; for logs, metrics and keeping connections). */
  void (*peer_added)(ggp_kad *kad, const gg_peerid *peer, void *ud);
  void (*peer_removed)(ggp_kad *kad, const gg_peerid *peer, void *ud);
} ggp_kad_callbacks;

/*
 * Creates a core for the node self. settings may be NULL (defaults); callbacks are copied;
 * rand is borrowed for the core's lifetime (random refresh targets, hash seeds).
 * The /pk namespace validator is built in. GG_ENOMEM, GG_EINVAL (k or alpha 0).
 */
int ggp_kad_new(ggp_kad **out, const ggp_kad_callbacks *cb, const ggp_kad_settings *settings,
                const gg_peerid *self, const gg_rand *rand, const gg_mem *mem, void *ud);

/* Frees everything. Outstanding requests are forgotten without callbacks. */
void ggp_kad_del(ggp_kad *kad);

/* Registers a namespace validator (replaces one with the same ns). GG_ENOMEM, GG_EINVAL. */
int ggp_kad_add_validator(ggp_kad *kad, const ggp_kad_validator *v);

/* Our own addresses, sent in ADD_PROVIDER and in GET_PROVIDERS replies. Copied. */
int ggp_kad_set_self_addrs(ggp_kad *kad, const gg_slice *addrs, size_t n);

/* ---- routing table input from the glue ------------------------------------------------ */

/* peer is a kad server (identify listed our kad protocol) reachable at addrs: add it to the
 * routing table or refresh it. May trigger a liveness check of an old entry. */
int ggp_kad_peer_seen(ggp_kad *kad, const ggp_kad_peerinfo *peer, gg_ts ts);

/* peer is not (or no longer) a kad server - e.g. its identify answer does not list our kad
 * protocol, though it was added as a bootstrap peer before that answer came: drop it from the
 * routing table (promoting a replacement) or from the replacement cache. No-op when unknown. */
void ggp_kad_remove_peer(ggp_kad *kad, const gg_peerid *peer);

/* Answer to check_peer. */
void ggp_kad_check_result(ggp_kad *kad, const gg_peerid *peer, int alive, gg_ts ts);

/* ---- inbound requests ------------------------------------------------------------------- */

/*
 * Handles one request from peer from (authenticated by the secure channel) and appends the
 * reply to reply (nothing for ADD_PROVIDER). Returns GG_OK; GG_EPROTO/GG_ETOOBIG for a bad
 * message, GG_ERATE when from exceeded its request rate, GG_ESTATE in client mode: the glue
 * resets the stream on any error.
 */
int ggp_kad_handle_request(ggp_kad *kad, const gg_peerid *from, const uint8_t *msg, size_t len,
                           gg_ts ts, gg_buf *reply);

/* ---- replies to our requests -------------------------------------------------------------- */

/* The reply to reqid (or NULL/0 when no reply was expected and the request was sent). Unknown
 * or cancelled reqids are ignored. Returns GG_OK, or a PEER-class code when the reply was
 * malformed (the core already counted it as a failure). */
int ggp_kad_on_reply(ggp_kad *kad, uint64_t reqid, const uint8_t *msg, size_t len, gg_ts ts);

/* reqid failed (dial failure, stream reset, timeout in the glue). */
void ggp_kad_on_fail(ggp_kad *kad, uint64_t reqid, int err, gg_ts ts);

/* ---- queries ------------------------------------------------------------------------------ */

/* Each starts a query and stores its id in *qid (may be NULL); query_done reports the end.
 * GG_ELIMIT when max_queries are running, GG_EINVAL for bad arguments, GG_ENOMEM.
 * query_done is never called from inside these functions: a query that can finish at once
 * (e.g. an empty routing table) finishes at the next ggp_kad_handle_expiry(). */
int ggp_kad_find_node(ggp_kad *kad, const uint8_t *key, size_t klen, gg_ts ts, uint64_t *qid);
int ggp_kad_find_peer(ggp_kad *kad, const gg_peerid *peer, gg_ts ts, uint64_t *qid);
/* quorum 0 = settings.quorum. The local store counts as one answer. */
int ggp_kad_get_value(ggp_kad *kad, const uint8_t *key, size_t klen, size_t quorum, gg_ts ts,
                      uint64_t *qid);
/* Stores locally as published (republished every republish_interval) and at the k closest.
 * The record is validated first (GG_EINVAL/validator's code when invalid). */
int ggp_kad_put_value(ggp_kad *kad, const uint8_t *key, size_t klen, const uint8_t *val,
                      size_t vlen, gg_ts ts, uint64_t *qid);
/* Announces this node as a provider of key (a multihash) at the k closest; reprovided every
 * reprovide_interval. */
int ggp_kad_provide(ggp_kad *kad, const uint8_t *key, size_t klen, gg_ts ts, uint64_t *qid);
/* max 0 = k. Ends when max providers are known or the lookup ends. */
int ggp_kad_get_providers(ggp_kad *kad, const uint8_t *key, size_t klen, size_t max, gg_ts ts,
                          uint64_t *qid);
int ggp_kad_bootstrap(ggp_kad *kad, gg_ts ts, uint64_t *qid);
/* Stops a query; query_done is called with GG_ECANCELED at the next expiry handling. */
void ggp_kad_cancel(ggp_kad *kad, uint64_t qid);

/* ---- timers --------------------------------------------------------------------------- */

/* The next time ggp_kad_handle_expiry must be called (GG_TS_UNSET: none). */
gg_ts ggp_kad_expiry(const ggp_kad *kad);
/* Runs timeouts, finishes queries, refreshes buckets, republishes, expires records. */
void ggp_kad_handle_expiry(ggp_kad *kad, gg_ts ts);

/* ---- persistence ------------------------------------------------------------------------ */

/* Reload state saved by a persistence layer (at start, before queries). Expired entries are
 * dropped; caps apply. */
int ggp_kad_load_record(ggp_kad *kad, const ggp_kad_record *rec, gg_ts now);
int ggp_kad_load_provider(ggp_kad *kad, const uint8_t *key, size_t klen,
                          const ggp_kad_peerinfo *prov, gg_ts expires, gg_ts now);

/* ---- introspection ------------------------------------------------------------------------ */

typedef struct ggp_kad_stats {
  size_t routing_peers;
  size_t buckets_used;
  size_t records;
  size_t record_bytes;
  size_t provider_keys;
  size_t providers;
  size_t queries;
  size_t pending_requests;
  uint64_t requests_served;
  uint64_t requests_refused;
} ggp_kad_stats;

void ggp_kad_get_stats(const ggp_kad *kad, ggp_kad_stats *st);

/* Calls fn for each routing table peer (in bucket order). */
void ggp_kad_foreach_peer(const ggp_kad *kad,
                          void (*fn)(const ggp_kad_peerinfo *p, gg_ts last_seen, void *arg),
                          void *arg);

/* Copies the local record for key into val (appending; val may be NULL to test presence).
 * GG_ENOTFOUND. */
int ggp_kad_get_local(const ggp_kad *kad, const uint8_t *key, size_t klen, gg_ts ts, gg_buf *val);

/* This node's peer id. */
const gg_peerid *ggp_kad_self(const ggp_kad *kad);

/* XOR distance helpers (exposed for tests and the simulator): sha256 of a key; the length of
 * the common prefix of two 32-byte hashes (0..256). */
void ggp_kad_hash(const uint8_t *key, size_t klen, uint8_t out[32]);
unsigned ggp_kad_cpl(const uint8_t a[32], const uint8_t b[32]);

/* A sha2-256-multihash key whose hash shares exactly cpl (< 16) leading bits with this node's:
 * the target of a bucket refresh. */
void ggp_kad_refresh_key(ggp_kad *kad, unsigned cpl, uint8_t key[34]);

#endif
