/*
 * Internals shared by the marketplace service's files (src/net/market_*.c):
 * market_service.c (life cycle, rate limits, reputation, the servers), market_fetch.c (the
 * fetch client).
 *
 * Lifetime: m->refs counts everything that will call back into the service - streams being
 * opened or open, uv handles being closed. ggn_market_close() resets the streams and, once
 * refs drops to zero, closes m->closer, whose close callback frees the service: the free
 * always happens from a loop callback. DHT queries are not counted (ggn_kad_close forgets
 * them, see market_service.h); their contexts live on m->kqs and are freed with the service.
 */
#ifndef GGN_MARKET_INT_H
#define GGN_MARKET_INT_H

#include "ggen/log.h"
#include "ggen/map.h"
#include "ggen/market_service.h"

typedef struct fjob fjob;
typedef struct mjob mjob;

/* A generic job (publish, lookup, reprovide): begun from its timer (never inside the call that
 * created it), freed in the timer's close callback. The concrete job embeds it first. */
struct mjob {
  mjob *prev, *next;
  ggn_market *m;
  uv_timer_t timer;
  void (*begin)(mjob *j);
  void (*dispose)(mjob *j); /* frees what the concrete job owns (not the job itself) */
  void (*cancel)(mjob *j);  /* optional: the service closes (nothing is reported) */
  int finished;
};

/* Allocates a job of size bytes (>= sizeof(mjob)), links it and schedules begin. NULL when out
 * of memory. */
mjob *ggn__mjob_new(ggn_market *m, size_t size, void (*begin)(mjob *), void (*dispose)(mjob *));
/* Unlinks the job and frees it from the loop (idempotent). */
void ggn__mjob_finish(mjob *j);

/* A DHT query's context: the callback target, cleared when the target goes away. */
typedef struct kq {
  struct kq *prev, *next;
  ggn_market *m;
  void (*fn)(ggn_market *m, void *target, const ggp_kad_result *res);
  void *target; /* NULL: abandoned (the callback only frees the context) */
} kq;

struct ggn_market {
  ggn_host *h;
  ggn_kad *kad;
  ggs_catalog *cat;
  ggs_blob_store *store;
  ggs_peerrep *rep;
  char *home, *tmp; /* tmp: <home>/tmp */
  const gg_mem *mem;
  const ggn_log *log;
  int client_mode;
  uint64_t max_archive;
  uint32_t max_transfers, max_per_peer, max_providers;
  double rate, burst;
  gg_ts fetch_timeout, stall_timeout;
  uint32_t fanout;
  gg_ts search_deadline;
  gg_map searchers;    /* connected peers that announced the search protocol (values unused) */
  struct sst *ssrv;    /* inbound search streams */
  int observing;       /* registered as a host observer */
  ggn_gossip *gs;
  int subscribed;
  gg_map hints; /* archive CID -> gg_peerid* (an announcement's author), capped */
  struct ocheck *checks; /* announcements of new ids waiting for the peers' view */
  size_t nchecks;
  void (*on_announce)(ggn_market *, const ggn_market_announcement *, void *);
  void *announce_ud;
  gg_map per_peer; /* peer id bytes -> transfers in progress (as uintptr_t) */
  gg_map buckets;  /* peer id bytes -> bucket* (rate limits) */
  uint32_t transfers;
  struct srv *servers; /* inbound streams */
  fjob *jobs;          /* fetches in progress */
  mjob *mjobs;         /* other jobs in progress */
  kq *kqs;             /* DHT queries in flight */
  ggn_market_stats stats;
  unsigned refs;
  uv_timer_t closer;
  int closing, freeing;
  void (*on_closed)(void *ud);
  void *closed_ud;
};

/* Reference counting of callbacks to come (see the file comment). */
void ggn__market_ref(ggn_market *m);
void ggn__market_unref(ggn_market *m);

/* Records an answer of peer in the reputation store (no-op without one). */
void ggn__market_rep(ggn_market *m, const gg_peerid *peer, int ok, unsigned weight, double ms,
                     int provided, uint64_t bytes, int search);

/* Orders peers[0..n) by reputation, best first (stable). */
void ggn__market_order(ggn_market *m, gg_peerid *peers, size_t n);

/* Starts a DHT query through a kq context: start(kad, ..., kq_done, ctx). Returns the context
 * (on m->kqs) or NULL when out of memory. */
kq *ggn__market_kq_new(ggn_market *m, void (*fn)(ggn_market *, void *, const ggp_kad_result *),
                       void *target);
void ggn__market_kq_done(ggn_kad *k, const ggp_kad_result *res, void *ud);
/* The query could not start: frees the context without calling back. */
void ggn__market_kq_drop(kq *q);

/* Opens an unnamed temporary file in <home>/tmp (O_TMPFILE, else mkstemp + unlink). -1 on
 * failure (errno set). */
int ggn__market_tmpfile(ggn_market *m);

/* Unix seconds now (reputation timestamps). */
int64_t ggn__market_wall(void);

/* The fetch client's teardown on close (market_fetch.c). */
void ggn__market_fetch_close_all(ggn_market *m);

/* The search side (market_search.c): server handler, peer tracking, teardown. */
int ggn__market_search_init(ggn_market *m);
void ggn__market_search_close(ggn_market *m);
void ggn__market_search_free(ggn_market *m);

/* Announcements (market_gossip.c). */
int ggn__market_gossip_init(ggn_market *m);
void ggn__market_gossip_close(ggn_market *m);
void ggn__market_gossip_free(ggn_market *m);
void ggn__market_gossip_checks_free(ggn_market *m);
/* The peer that announced cid, or NULL. */
const gg_peerid *ggn__market_hint(ggn_market *m, const uint8_t cid[GGM_CID_LEN]);

/* The peer's token bucket (market_service.c): 1 when a request may pass now. */
int ggn__market_rate_ok(ggn_market *m, const gg_peerid *peer);

/* The /ggen-pkg/ validator that also checks the catalog (market_dht.c); installed at creation,
 * the plain one put back at close. */
int ggn__market_dht_init(ggn_market *m);
void ggn__market_dht_close(ggn_market *m);

#endif
