/*
 * The Kademlia service (include/ggen/kad_service.h, docs/kad-service.md): drives the kad core
 * (src/proto/kad.c) over the host's streams, identify results, pings and one uv timer, and
 * mirrors the core's stores into SQLite (src/store/kadstore.c).
 *
 * Wire (libp2p/specs kad-dht/README.md "RPC messages"): varint-length-prefixed protobuf
 * Messages. Outbound: one request per stream, one reply read (ADD_PROVIDER has none), then our
 * write side is closed, as js does. Inbound: requests are read in a loop, each reply written
 * before the next request is taken (the core answers synchronously), 10 s idle timeout.
 *
 * Invariants:
 *  - every stream the service handles (kst) is on k->streams from its creation to its
 *    on_close, or, for an outbound request, from send_request to its open callback when the
 *    open fails; the service is freed only when that list is empty, no ping or bootstrap dial
 *    is outstanding and the timer is closed, so no host callback ever sees freed memory;
 *  - an outbound request is in k->reqs exactly while the core waits for its answer: it leaves
 *    the map when the core is told (on_reply/on_fail) or gives up (cancel_request), so the
 *    core hears about each request at most once and never from inside one of its own calls
 *    (host callbacks come from the loop);
 *  - after ggn_kad_close nothing calls into the core; the core is deleted at the final free,
 *    which runs from a loop callback, never inside a core call.
 */
#include "ggen/kad_service.h"

#include <string.h>
#include <time.h>

#include "ggen/err.h"
#include "ggen/kadstore.h"
#include "ggen/log.h"
#include "ggen/map.h"
#include "ggen/pkgrec.h"
#include "host_int.h"

#define DEFAULT_IDLE GG_SEC(10)
#define DEFAULT_MAX_INBOUND 1024
#define MAX_SEEN_ADDRS 8 /* listen addresses of a peer handed to the core (its own cap applies) */

typedef struct kst {
  struct kst *prev, *next;
  ggn_kad *k;
  ggn_stream *s;  /* NULL while an outbound stream is being opened */
  uint64_t reqid; /* outbound */
  uint8_t *msg;   /* outbound request until written */
  size_t len;
  unsigned outbound : 1, expect_reply : 1, waiting : 1, /* in k->reqs: the core waits */
      written : 1;
} kst;

typedef struct uquery {
  ggn_kad_done_cb cb;
  void *ud;
} uquery;

typedef struct bsjob { /* ggn_kad_bootstrap: dials in flight, then the core's bootstrap */
  ggn_kad *k;
  ggn_kad_done_cb cb;
  void *ud;
  size_t pending, ok;
  int lookup; /* 0: ggn_kad_connect (no lookups) */
} bsjob;

typedef struct bsdial {
  bsjob *job;
  gg_maddr addr; /* the transport part that was dialed */
} bsdial;

typedef struct pingreq {
  ggn_kad *k;
  gg_peerid peer;
} pingreq;

struct ggn_kad {
  ggn_host *h;
  ggp_kad *core;
  ggs_kadstore *store;
  const gg_mem *mem;
  const ggn_log *log;
  char *proto;
  int client_mode, protect, no_ahead;
  gg_ts idle_timeout, req_timeout;
  size_t max_msg;
  uint32_t max_in, nin;
  gg_ts offset; /* core time = uv_hrtime() + offset */
  uv_timer_t timer;
  gg_ts armed;           /* core time the timer is set for, GG_TS_UNSET when stopped */
  gg_map reqs;           /* reqid -> kst */
  gg_map queries;        /* qid -> uquery */
  gg_map rt;             /* routing-table peer ids -> rt_val: when we last redialed them */
  gg_ts redial_interval; /* GG_TS_UNSET: never (settings 0) */
  kst *streams;
  gg_buf reply; /* inbound replies: the core answers synchronously, so one buffer serves all */
  ggn_kad_counters ctr;
  unsigned outstanding; /* pings, bootstrap and ahead dials not yet reported by the host */
  int core_depth;       /* > 0 while inside a core call (the final free must wait) */
  int closing, timer_closed, freed;
  void (*on_closed)(void *ud);
  void *closed_ud;
};

static gg_ts now_core(const ggn_kad *k) { return uv_hrtime() + k->offset; }

gg_ts ggn_kad_now(const ggn_kad *k) { return now_core(k); }

static void maybe_free(ggn_kad *k);

/* ---- timer ----------------------------------------------------------------------------------- */

static void on_timer(uv_timer_t *t);

/* Re-arms the timer from the core's next expiry; called after every call into the core. */
static void rearm(ggn_kad *k) {
  if (k->closing) return;
  gg_ts e = ggp_kad_expiry(k->core);
  if (e == GG_TS_UNSET) {
    if (k->armed != GG_TS_UNSET) uv_timer_stop(&k->timer);
    k->armed = GG_TS_UNSET;
    return;
  }
  if (e == k->armed) return;
  gg_ts now = now_core(k);
  uint64_t ms = e > now ? (e - now + GG_MS(1) - 1) / GG_MS(1) : 0;
  k->armed = e;
  uv_timer_start(&k->timer, on_timer, ms, 0);
}

static void on_timer(uv_timer_t *t) {
  ggn_kad *k = t->data;
  if (k->closing) return;
  k->armed = GG_TS_UNSET;
  k->core_depth++;
  ggp_kad_handle_expiry(k->core, now_core(k));
  k->core_depth--;
  rearm(k);
}

/* ---- streams --------------------------------------------------------------------------------- */

static kst *kst_new(ggn_kad *k) {
  kst *t = gg_calloc(k->mem, 1, sizeof(*t));
  if (!t) return NULL;
  t->k = k;
  t->next = k->streams;
  if (k->streams) k->streams->prev = t;
  k->streams = t;
  return t;
}

static void kst_free(kst *t) {
  ggn_kad *k = t->k;
  if (t->prev)
    t->prev->next = t->next;
  else
    k->streams = t->next;
  if (t->next) t->next->prev = t->prev;
  if (t->waiting) gg_map_del(&k->reqs, &t->reqid, sizeof(t->reqid));
  gg_free(k->mem, t->msg);
  gg_free(k->mem, t);
  maybe_free(k);
}

/* Tells the core that an outbound request failed (once). */
static void req_fail(kst *t, int err) {
  ggn_kad *k = t->k;
  if (!t->waiting) return;
  t->waiting = 0;
  gg_map_del(&k->reqs, &t->reqid, sizeof(t->reqid));
  if (k->closing) return;
  k->core_depth++;
  ggp_kad_on_fail(k->core, t->reqid, err, now_core(k));
  k->core_depth--;
  rearm(k);
}

/* ---- inbound: requests in a loop ------------------------------------------------------------- */

static void in_msg(ggn_stream *s, const uint8_t *m, size_t n, void *ud) {
  kst *t = ud;
  ggn_kad *k = t->k;
  if (k->closing) {
    ggn_stream_reset(s);
    return;
  }
  gg_buf_reset(&k->reply);
  k->core_depth++;
  int rv = ggp_kad_handle_request(k->core, ggn_stream_peer(s), m, n, now_core(k), &k->reply);
  k->core_depth--;
  rearm(k);
  if (rv != GG_OK) {
    ggn_logf(k->log, gg_err_is_peer(rv) ? GGN_LOG_INFO : GGN_LOG_DEBUG,
             "kad request from %s refused: %s", gg_peerid_short(ggn_stream_peer(s)),
             gg_strerror(rv));
    ggn_stream_reset(s);
    return;
  }
  if (gg_buf_len(&k->reply) > 0) {
    int w = ggn_stream_write_msg(s, gg_buf_ptr(&k->reply), gg_buf_len(&k->reply));
    if (w < 0) {
      ggn_stream_reset(s);
      return;
    }
    if (w == 1) ggn_stream_pause(s, 1); /* no new request until the reply is on its way */
  }
  ggn_stream_set_deadline(s, uv_hrtime() + k->idle_timeout);
}

static void in_writable(ggn_stream *s, void *ud) {
  (void)ud;
  ggn_stream_pause(s, 0);
}

static void in_eof(ggn_stream *s, void *ud) {
  (void)ud;
  ggn_stream_close_write(s); /* the remote is done asking: end our side too */
}

static void in_close(ggn_stream *s, int err, void *ud) {
  (void)s, (void)err;
  kst *t = ud;
  t->k->nin--;
  kst_free(t);
}

static const ggn_stream_callbacks in_cbs = {
    .on_msg = in_msg, .on_eof = in_eof, .on_writable = in_writable, .on_close = in_close};

static void on_kad_stream(ggn_stream *s, void *ud) {
  ggn_kad *k = ud;
  kst *t = NULL;
  if (!k->closing && k->nin < k->max_in) t = kst_new(k);
  if (!t) {
    ggn_logf(k->log, GGN_LOG_DEBUG, "kad stream from %s refused (%u open)",
             gg_peerid_short(ggn_stream_peer(s)), k->nin);
    ggn_stream_reset(s);
    return;
  }
  t->s = s;
  k->nin++;
  ggn_stream_set_callbacks(s, &in_cbs, t);
  if (ggn_stream_read_msgs(s, k->max_msg) != GG_OK) {
    ggn_stream_reset(s);
    return;
  }
  ggn_stream_set_deadline(s, uv_hrtime() + k->idle_timeout);
}

/* ---- outbound: one request, one reply -------------------------------------------------------- */

/* The request is written (taken by Yamux or queued): a request without reply is complete. */
static void out_written(kst *t) {
  ggn_kad *k = t->k;
  t->written = 1;
  gg_free(k->mem, t->msg);
  t->msg = NULL;
  if (t->expect_reply) return;
  ggn_stream_close_write(t->s);
  if (!t->waiting) return;
  t->waiting = 0;
  gg_map_del(&k->reqs, &t->reqid, sizeof(t->reqid));
  if (k->closing) return;
  k->core_depth++;
  ggp_kad_on_reply(k->core, t->reqid, NULL, 0, now_core(k));
  k->core_depth--;
  rearm(k);
}

static void out_msg(ggn_stream *s, const uint8_t *m, size_t n, void *ud) {
  kst *t = ud;
  ggn_kad *k = t->k;
  if (!t->waiting || !t->expect_reply) { /* a second reply, or one nobody asked for */
    ggn_stream_reset(s);
    return;
  }
  t->waiting = 0;
  gg_map_del(&k->reqs, &t->reqid, sizeof(t->reqid));
  ggn_stream_close_write(s);
  if (k->closing) return;
  k->core_depth++;
  int rv = ggp_kad_on_reply(k->core, t->reqid, m, n, now_core(k));
  k->core_depth--;
  rearm(k);
  if (rv != GG_OK)
    ggn_logf(k->log, GGN_LOG_INFO, "bad kad reply from %s: %s", gg_peerid_short(ggn_stream_peer(s)),
             gg_strerror(rv));
}

static void out_writable(ggn_stream *s, void *ud) {
  (void)s;
  kst *t = ud;
  if (!t->written) out_written(t);
}

static void out_eof(ggn_stream *s, void *ud) {
  kst *t = ud;
  if (t->waiting && t->expect_reply) { /* closed without answering */
    req_fail(t, GG_ECLOSED);
    ggn_stream_reset(s);
  }
}

static void out_close(ggn_stream *s, int err, void *ud) {
  (void)s;
  kst *t = ud;
  req_fail(t, err == GG_OK ? GG_ECLOSED : err);
  kst_free(t);
}

static const ggn_stream_callbacks out_cbs = {
    .on_msg = out_msg, .on_eof = out_eof, .on_writable = out_writable, .on_close = out_close};

static void out_opened(ggn_stream *s, int err, void *ud) {
  kst *t = ud;
  ggn_kad *k = t->k;
  if (!s) {
    req_fail(t, err);
    kst_free(t);
    return;
  }
  t->s = s;
  ggn_stream_set_callbacks(s, &out_cbs, t);
  if (!t->waiting) { /* cancelled, or the service is closing */
    ggn_stream_reset(s);
    return;
  }
  int rv = ggn_stream_read_msgs(s, k->max_msg);
  int w = rv == GG_OK ? ggn_stream_write_msg(s, t->msg, t->len) : rv;
  if (w < 0) {
    req_fail(t, w);
    ggn_stream_reset(s);
    return;
  }
  /* The core times the request out itself; the deadline only bounds the stream's life. */
  ggn_stream_set_deadline(s, uv_hrtime() + k->req_timeout + GG_SEC(1));
  if (w == 0) out_written(t);
}

/* Adds a peer's addresses (binary multiaddrs from the core) to the host's peer store. */
static void learn_addrs(ggn_kad *k, const ggp_kad_peerinfo *p) {
  for (size_t i = 0; i < p->naddrs; i++) {
    gg_maddr ma;
    if (gg_maddr_from_bytes(&ma, p->addrs[i].p, p->addrs[i].len) == GG_OK)
      ggn_host_add_addr(k->h, &p->id, &ma);
  }
}

static int cb_send(ggp_kad *kad, uint64_t reqid, const ggp_kad_peerinfo *peer, const uint8_t *msg,
                   size_t len, int expect_reply, void *ud) {
  (void)kad;
  ggn_kad *k = ud;
  if (k->closing) return GG_ESTATE;
  kst *t = kst_new(k);
  if (!t) return GG_ENOMEM;
  t->outbound = 1;
  t->expect_reply = expect_reply ? 1 : 0;
  t->reqid = reqid;
  t->msg = gg_memdup(k->mem, msg, len);
  t->len = len;
  int rv = t->msg ? gg_map_put(&k->reqs, &reqid, sizeof(reqid), t, NULL) : GG_ENOMEM;
  if (rv != GG_OK) {
    kst_free(t);
    return rv;
  }
  t->waiting = 1;
  learn_addrs(k, peer);
  k->ctr.requests++;
  if (!ggn_host_conn_to(k->h, &peer->id)) {
    k->ctr.cold++;
    if (gg_map_get(&k->rt, peer->id.b, peer->id.len)) k->ctr.cold_rt++;
  }
  const char *protos[1] = {k->proto};
  /* Peers the core asks are DHT servers (its routing table holds only identified servers, and
   * replies list other servers' tables), so the request may go out with the protocol
   * proposal before identify has answered on a new connection: one round trip less. */
  rv = ggn_host_open_stream_ex(k->h, &peer->id, protos, 1, GGN_OPEN_OPTIMISTIC, out_opened, t);
  if (rv != GG_OK) {
    t->waiting = 0; /* the core counts the non-zero return as the failure */
    kst_free(t);
    return rv;
  }
  return GG_OK;
}

static void cb_cancel(ggp_kad *kad, uint64_t reqid, void *ud) {
  (void)kad;
  ggn_kad *k = ud;
  kst *t = gg_map_del(&k->reqs, &reqid, sizeof(reqid));
  if (!t) return;
  t->waiting = 0;
  if (t->s) ggn_stream_reset(t->s); /* else out_opened resets it */
}

/* ---- liveness checks ------------------------------------------------------------------------- */

static void ping_done(ggn_host *h, const gg_peerid *peer, int err, gg_ts rtt, void *ud) {
  (void)h, (void)peer, (void)rtt;
  pingreq *p = ud;
  ggn_kad *k = p->k;
  k->outstanding--;
  if (!k->closing) {
    k->core_depth++;
    ggp_kad_check_result(k->core, &p->peer, err == GG_OK, now_core(k));
    k->core_depth--;
    rearm(k);
  }
  gg_free(k->mem, p);
  maybe_free(k);
}

static void cb_check(ggp_kad *kad, const ggp_kad_peerinfo *peer, void *ud) {
  (void)kad;
  ggn_kad *k = ud;
  if (k->closing) return;
  pingreq *p = gg_calloc(k->mem, 1, sizeof(*p));
  if (!p) return; /* the core times the check out: the peer counts as dead */
  p->k = k;
  p->peer = peer->id;
  learn_addrs(k, peer);
  if (ggn_host_ping(k->h, &peer->id, ping_done, p) != GG_OK) {
    gg_free(k->mem, p);
    return;
  }
  k->outstanding++;
}

/* ---- connecting ahead ------------------------------------------------------------------------ */

static void ahead_done(ggn_host *h, ggn_conn *c, int err, void *ud) {
  (void)h, (void)c, (void)err;
  ggn_kad *k = ud;
  k->outstanding--;
  maybe_free(k);
}

/* A lookup's next candidate (the core asks it once a request in flight is answered): dial it
 * now, so that the request finds an open connection instead of paying for TCP + Noise too.
 * A failure here only means the request will dial (and fail) itself. */
static void cb_prepare(ggp_kad *kad, const ggp_kad_peerinfo *peer, void *ud) {
  (void)kad;
  ggn_kad *k = ud;
  if (k->closing || k->no_ahead || ggn_host_conn_to(k->h, &peer->id)) return;
  /* Optional connections stop at the connection manager's high-water mark: beyond it they
   * would be trimmed, or take the room requests need below the hard cap. */
  if (ggn_host_conn_count(k->h) >= ggn_host_conn_high_water(k->h)) return;
  learn_addrs(k, peer);
  if (ggn_host_connect(k->h, &peer->id, ahead_done, k) == GG_OK) {
    k->outstanding++;
    k->ctr.ahead++;
  }
}

static int cb_connected(ggp_kad *kad, const gg_peerid *peer, void *ud) {
  (void)kad;
  ggn_kad *k = ud;
  return ggn_host_conn_to(k->h, peer) != NULL;
}

/* ---- queries --------------------------------------------------------------------------------- */

static void cb_done(ggp_kad *kad, uint64_t qid, const ggp_kad_result *res, void *ud) {
  (void)kad;
  ggn_kad *k = ud;
  uquery *q = gg_map_del(&k->queries, &qid, sizeof(qid));
  if (!q) return; /* the core's own (refresh, republish) */
  ggn_kad_done_cb cb = q->cb;
  void *qud = q->ud;
  gg_free(k->mem, q);
  if (!k->closing && cb) cb(k, res, qud);
}

/* Registers a started query's callback; on failure the query is cancelled (its end is then
 * ignored) and GG_ENOMEM returned. */
static int track(ggn_kad *k, uint64_t qid, ggn_kad_done_cb cb, void *ud) {
  uquery *q = gg_malloc(k->mem, sizeof(*q));
  if (q) {
    q->cb = cb;
    q->ud = ud;
    if (gg_map_put(&k->queries, &qid, sizeof(qid), q, NULL) == GG_OK) return GG_OK;
    gg_free(k->mem, q);
  }
  ggp_kad_cancel(k->core, qid);
  return GG_ENOMEM;
}

/* Our addresses as the core announces them (ADD_PROVIDER, our own provider entries): the
 * host's listen addresses, refreshed before each query because listeners may be added late. */
static void sync_self_addrs(ggn_kad *k) {
  ggn_host *h = k->h;
  gg_slice sl[GGN_MAX_LISTEN_ADDRS];
  size_t n = 0;
  for (uint32_t i = 0; i < h->nladdrs && n < GGN_MAX_LISTEN_ADDRS; i++)
    sl[n++] = (gg_slice){h->laddrs[i].b, h->laddrs[i].len};
  ggp_kad_set_self_addrs(k->core, sl, n);
}

#define START(k, call)                                                                             \
  do {                                                                                             \
    if ((k)->closing) return GG_ESTATE;                                                            \
    sync_self_addrs(k);                                                                            \
    uint64_t qid_ = 0;                                                                             \
    gg_ts now_ = now_core(k);                                                                      \
    (void)now_;                                                                                    \
    (k)->core_depth++;                                                                             \
    int rv_ = (call);                                                                              \
    if (rv_ == GG_OK) rv_ = track((k), qid_, cb, ud);                                              \
    (k)->core_depth--;                                                                             \
    rearm(k);                                                                                      \
    return rv_;                                                                                    \
  } while (0)

int ggn_kad_put(ggn_kad *k, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                ggn_kad_done_cb cb, void *ud) {
  START(k, ggp_kad_put_value(k->core, key, klen, val, vlen, now_, &qid_));
}

int ggn_kad_get(ggn_kad *k, const uint8_t *key, size_t klen, size_t quorum, ggn_kad_done_cb cb,
                void *ud) {
  START(k, ggp_kad_get_value(k->core, key, klen, quorum, now_, &qid_));
}

int ggn_kad_provide(ggn_kad *k, const uint8_t *mh, size_t mhlen, ggn_kad_done_cb cb, void *ud) {
  START(k, ggp_kad_provide(k->core, mh, mhlen, now_, &qid_));
}

int ggn_kad_find_providers(ggn_kad *k, const uint8_t *mh, size_t mhlen, size_t max,
                           ggn_kad_done_cb cb, void *ud) {
  START(k, ggp_kad_get_providers(k->core, mh, mhlen, max, now_, &qid_));
}

int ggn_kad_find_peer(ggn_kad *k, const gg_peerid *peer, ggn_kad_done_cb cb, void *ud) {
  START(k, ggp_kad_find_peer(k->core, peer, now_, &qid_));
}

int ggn_kad_find_node(ggn_kad *k, const uint8_t *key, size_t klen, ggn_kad_done_cb cb, void *ud) {
  START(k, ggp_kad_find_node(k->core, key, klen, now_, &qid_));
}

/* ---- bootstrap ------------------------------------------------------------------------------- */

/* Runs the core's bootstrap and tracks it; GG_OK or why it could not start. */
static int bs_core(ggn_kad *k, ggn_kad_done_cb cb, void *ud) {
  START(k, ggp_kad_bootstrap(k->core, now_, &qid_));
}

/* Every bootstrap dial has reported: go on with the core's bootstrap (from the loop). */
static void bs_run(bsjob *j) {
  ggn_kad *k = j->k;
  ggn_kad_done_cb cb = j->cb;
  void *ud = j->ud;
  size_t ok = j->ok;
  int lookup = j->lookup;
  gg_free(k->mem, j);
  if (k->closing) return;
  int rv = ok == 0 && ggn_kad_routing_size(k) == 0 ? GG_EUNREACHABLE : GG_OK;
  if (rv == GG_OK && lookup) rv = bs_core(k, cb, ud);
  if (rv != GG_OK || !lookup) {
    ggp_kad_result res = {.type = GGP_KAD_Q_BOOTSTRAP, .err = rv};
    if (cb) cb(k, &res, ud);
  }
}

static void bs_dialed(ggn_host *h, ggn_conn *c, int err, void *ud) {
  (void)h;
  bsdial *d = ud;
  bsjob *j = d->job;
  ggn_kad *k = j->k;
  k->outstanding--;
  const gg_peerid *peer = c ? ggn_conn_peer(c) : NULL;
  const char *protos[1];
  if (c && ggn_host_peer_protocols(k->h, peer, protos, 1) > 0 &&
      !ggn_host_peer_supports(k->h, peer, k->proto)) {
    ggn_logf(k->log, GGN_LOG_WARN, "bootstrap peer %s does not serve %s", gg_peerid_short(peer),
             k->proto);
  } else if (c && !k->closing) {
    /* The dialed address works and the peer was named as a DHT node: it goes into the routing
     * table now, before its identify answer, so the bootstrap lookup can start at once (the
     * answer removes it again if it does not list our protocol). */
    j->ok++;
    gg_slice sl = {d->addr.b, d->addr.len};
    ggp_kad_peerinfo pi = {*peer, &sl, 1};
    k->core_depth++;
    ggp_kad_peer_seen(k->core, &pi, now_core(k));
    k->core_depth--;
    rearm(k);
  } else if (!c) {
    char text[GG_MADDR_STR_MAX];
    gg_maddr_to_str(&d->addr, text, sizeof(text));
    ggn_logf(k->log, GGN_LOG_WARN, "bootstrap peer %s unreachable: %s", text, gg_strerror(err));
  }
  gg_free(k->mem, d);
  if (--j->pending == 0) bs_run(j);
  maybe_free(k);
}

static int join(ggn_kad *k, const gg_maddr *peers, size_t n, int lookup, ggn_kad_done_cb cb,
                void *ud) {
  if (k->closing) return GG_ESTATE;
  if (n == 0 && lookup) return bs_core(k, cb, ud);
  if (n == 0) return GG_EINVAL;
  bsjob *j = gg_calloc(k->mem, 1, sizeof(*j));
  if (!j) return GG_ENOMEM;
  j->lookup = lookup;
  j->k = k;
  j->cb = cb;
  j->ud = ud;
  j->pending = 1; /* held until every dial is started, so no dial can finish the job early */
  for (size_t i = 0; i < n; i++) {
    bsdial *d = gg_calloc(k->mem, 1, sizeof(*d));
    if (!d) break;
    d->job = j;
    gg_peerid ignored;
    gg_maddr_split_peer(&peers[i], &d->addr, &ignored);
    int rv = ggn_host_dial(k->h, &peers[i], bs_dialed, d);
    if (rv != GG_OK) {
      char text[GG_MADDR_STR_MAX];
      gg_maddr_to_str(&peers[i], text, sizeof(text));
      ggn_logf(k->log, GGN_LOG_WARN, "cannot dial bootstrap peer %s: %s", text, gg_strerror(rv));
      gg_free(k->mem, d);
      continue;
    }
    j->pending++;
    k->outstanding++;
  }
  if (--j->pending > 0) return GG_OK; /* bs_dialed goes on */
  /* no dial could start: refresh from what the routing table holds, if anything */
  gg_free(k->mem, j);
  if (ggn_kad_routing_size(k) == 0 || !lookup) return GG_EUNREACHABLE;
  return bs_core(k, cb, ud);
}

int ggn_kad_bootstrap(ggn_kad *k, const gg_maddr *peers, size_t n, ggn_kad_done_cb cb, void *ud) {
  return join(k, peers, n, 1, cb, ud);
}

int ggn_kad_connect(ggn_kad *k, const gg_maddr *peers, size_t n, ggn_kad_done_cb cb, void *ud) {
  return join(k, peers, n, 0, cb, ud);
}

/* ---- routing table, identify, connection protection ------------------------------------------ */

static void set_protect(ggn_kad *k, const gg_peerid *peer, int on) {
  if (!k->protect) return;
  ggn_conn *c = ggn_host_conn_to(k->h, peer);
  if (c) ggn_conn_protect(c, on);
}

/* The routing-table map's value: the second (uv_hrtime) of the peer's last redial, plus one
 * (values must not be NULL), held in the pointer itself: no allocation per peer. */
#define RT_NEVER ((void *)(uintptr_t)1)
static uint64_t rt_secs(void) { return uv_hrtime() / GG_SEC(1); }

static void cb_peer_added(ggp_kad *kad, const gg_peerid *peer, void *ud) {
  (void)kad;
  ggn_kad *k = ud;
  /* on ENOMEM the peer just stays unprotected */
  gg_map_put(&k->rt, peer->b, peer->len, RT_NEVER, NULL);
  set_protect(k, peer, 1);
}

static void cb_peer_removed(ggp_kad *kad, const gg_peerid *peer, void *ud) {
  (void)kad;
  ggn_kad *k = ud;
  gg_map_del(&k->rt, peer->b, peer->len);
  set_protect(k, peer, 0);
}

/* A routing-table peer closed our connection: usually its connection manager trimmed it
 * (we are not in its table, so it does not protect the connection as we do). Dial it again,
 * at most once per redial_interval, so that requests to it keep costing one round trip; if it
 * left, the dial fails and the core's liveness checks evict it as before. Not after errors
 * (timeouts: probably dead) or our own closes, nor above the high-water mark. */
static void obs_down(ggn_host *h, ggn_conn *c, int err, void *ud) {
  ggn_kad *k = ud;
  if (k->closing || !k->protect || err != GG_ECLOSED || k->redial_interval == GG_TS_UNSET) return;
  const gg_peerid *p = ggn_conn_peer(c);
  void *v = gg_map_get(&k->rt, p->b, p->len);
  if (!v || ggn_host_conn_to(h, p)) return;
  uint64_t now = rt_secs(), last = (uintptr_t)v - 1;
  if (v != RT_NEVER && now - last < k->redial_interval / GG_SEC(1)) return;
  if (ggn_host_conn_count(h) >= ggn_host_conn_high_water(h)) return;
  gg_map_put(&k->rt, p->b, p->len, (void *)(uintptr_t)(now + 1), NULL);
  if (ggn_host_connect(h, p, ahead_done, k) == GG_OK) {
    k->outstanding++;
    k->ctr.redials++;
  }
}

static void obs_up(ggn_host *h, ggn_conn *c, void *ud) {
  (void)h;
  ggn_kad *k = ud;
  const gg_peerid *p = ggn_conn_peer(c);
  if (k->protect && gg_map_get(&k->rt, p->b, p->len)) ggn_conn_protect(c, 1);
}

static void obs_identify(ggn_host *h, ggn_conn *c, const ggp_identify_msg *m, void *ud) {
  (void)h;
  ggn_kad *k = ud;
  if (k->closing) return;
  int serves = 0;
  for (size_t i = 0; i < m->n_protocols && !serves; i++)
    serves = !strcmp(m->protocols[i], k->proto);
  const gg_peerid *peer = ggn_conn_peer(c);
  if (!serves) { /* e.g. a bootstrap peer added before this answer, or one gone client */
    if (gg_map_get(&k->rt, peer->b, peer->len)) {
      ggn_logf(k->log, GGN_LOG_INFO, "%s does not serve %s: removed from the routing table",
               gg_peerid_short(peer), k->proto);
      k->core_depth++;
      ggp_kad_remove_peer(k->core, peer);
      k->core_depth--;
      rearm(k);
    }
    return;
  }
  gg_slice sl[MAX_SEEN_ADDRS];
  size_t n = 0;
  for (size_t i = 0; i < m->n_listen_addrs && n < MAX_SEEN_ADDRS; i++)
    sl[n++] = (gg_slice){m->listen_addrs[i].b, m->listen_addrs[i].len};
  ggp_kad_peerinfo pi = {*peer, sl, n};
  k->core_depth++;
  ggp_kad_peer_seen(k->core, &pi, now_core(k));
  k->core_depth--;
  rearm(k);
}

static const ggn_host_callbacks obs_cbs = {
    .on_conn_up = obs_up, .on_conn_down = obs_down, .on_identify = obs_identify};

/* ---- persistence ----------------------------------------------------------------------------- */

static void store_err(ggn_kad *k, int rv, const char *what) {
  if (rv != GG_OK)
    ggn_logf(k->log, GGN_LOG_WARN, "dht store: cannot %s: %s", what, gg_strerror(rv));
}

static void cb_rec_stored(ggp_kad *kad, const ggp_kad_record *rec, void *ud) {
  (void)kad;
  ggn_kad *k = ud;
  if (k->store) store_err(k, ggs_kadstore_record_put(k->store, rec), "save a record");
}

static void cb_rec_removed(ggp_kad *kad, const uint8_t *key, size_t klen, void *ud) {
  (void)kad;
  ggn_kad *k = ud;
  if (k->store) store_err(k, ggs_kadstore_record_del(k->store, key, klen), "remove a record");
}

static void cb_prov_stored(ggp_kad *kad, const uint8_t *key, size_t klen,
                           const ggp_kad_peerinfo *prov, gg_ts expires, void *ud) {
  (void)kad;
  ggn_kad *k = ud;
  if (k->store)
    store_err(k, ggs_kadstore_provider_put(k->store, key, klen, prov, expires), "save a provider");
}

static void cb_prov_removed(ggp_kad *kad, const uint8_t *key, size_t klen, const gg_peerid *prov,
                            void *ud) {
  (void)kad;
  ggn_kad *k = ud;
  if (k->store)
    store_err(k, ggs_kadstore_provider_del(k->store, key, klen, prov), "remove a provider");
}

/* ---- life cycle ------------------------------------------------------------------------------ */

static gg_ts epoch_offset(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  gg_ts wall = (gg_ts)ts.tv_sec * GG_SEC(1) + (gg_ts)ts.tv_nsec;
  return wall - uv_hrtime();
}

static void free_all(ggn_kad *k) {
  size_t it = 0;
  const gg_map_entry *e;
  while ((e = gg_map_next(&k->queries, &it))) gg_free(k->mem, e->val);
  gg_map_free(&k->queries);
  gg_map_free(&k->reqs);
  gg_map_free(&k->rt);
  if (k->core) ggp_kad_del(k->core);
  if (k->store) ggs_kadstore_close(k->store);
  gg_buf_free(&k->reply);
  gg_free(k->mem, k->proto);
  gg_free(k->mem, k);
}

static void maybe_free(ggn_kad *k) {
  if (!k->closing || k->freed || !k->timer_closed || k->streams || k->outstanding || k->core_depth)
    return;
  k->freed = 1;
  void (*cb)(void *) = k->on_closed;
  void *ud = k->closed_ud;
  free_all(k);
  if (cb) cb(ud);
}

static void timer_closed(uv_handle_t *t) {
  ggn_kad *k = t->data;
  k->timer_closed = 1;
  maybe_free(k);
}

static const gg_rand *host_rand(const ggn_host *h) { return h->rand; }

int ggn_kad_new(ggn_kad **out, ggn_host *h, const ggn_kad_settings *st_in) {
  ggn_kad_settings st = {0};
  if (st_in) st = *st_in;
  if (!st.protocol) st.protocol = GGP_KAD_PROTOCOL;
  size_t plen = strlen(st.protocol);
  if (plen == 0 || plen > 1024 || strchr(st.protocol, '\n')) return GG_EINVAL;
  if (st.kad.k == 0) ggp_kad_settings_default(&st.kad);
  st.kad.client_mode = st.client_mode;
  const gg_mem *mem = h->mem;
  ggn_kad *k = gg_calloc(mem, 1, sizeof(*k));
  if (!k) return GG_ENOMEM;
  k->h = h;
  k->mem = mem;
  k->log = ggn_host_log(h);
  k->client_mode = st.client_mode;
  k->protect = !st.no_protect;
  k->no_ahead = st.no_connect_ahead;
  k->redial_interval = st.redial_interval ? st.redial_interval : GG_TS_UNSET;
  k->idle_timeout = st.idle_timeout ? st.idle_timeout : DEFAULT_IDLE;
  k->req_timeout = st.kad.request_timeout ? st.kad.request_timeout : GG_SEC(10);
  k->max_msg = st.kad.max_message_size ? st.kad.max_message_size : 128 * 1024;
  k->max_in = st.max_inbound_streams ? st.max_inbound_streams : DEFAULT_MAX_INBOUND;
  k->offset = epoch_offset();
  k->armed = GG_TS_UNSET;
  k->timer_closed = 1; /* until the timer is initialised */
  const gg_rand *r = host_rand(h);
  gg_map_init(&k->reqs, mem, r);
  gg_map_init(&k->queries, mem, r);
  gg_map_init(&k->rt, mem, r);
  gg_buf_init(&k->reply, mem, k->max_msg + 1024);
  k->proto = gg_strdup(mem, st.protocol);
  ggp_kad_callbacks cb = {
      .send_request = cb_send,
      .cancel_request = cb_cancel,
      .query_done = cb_done,
      .check_peer = cb_check,
      .prepare_peer = cb_prepare,
      .peer_connected = st.no_warm_first ? NULL : cb_connected,
      .record_stored = cb_rec_stored,
      .record_removed = cb_rec_removed,
      .provider_stored = cb_prov_stored,
      .provider_removed = cb_prov_removed,
      .peer_added = cb_peer_added,
      .peer_removed = cb_peer_removed,
  };
  int rv = k->proto ? GG_OK : GG_ENOMEM;
  if (rv == GG_OK) rv = ggp_kad_new(&k->core, &cb, &st.kad, ggn_host_peer_id(h), r, mem, k);
  ggp_kad_validator pv;
  ggm_pkgrec_validator(&pv);
  if (rv == GG_OK) rv = ggp_kad_add_validator(k->core, &pv);
  for (size_t i = 0; rv == GG_OK && i < st.nvalidators; i++)
    rv = ggp_kad_add_validator(k->core, &st.validators[i]);
  if (rv == GG_OK && st.db_path) {
    rv = ggs_kadstore_open(&k->store, st.db_path);
    size_t nrec = 0, nprov = 0;
    if (rv == GG_OK) rv = ggs_kadstore_load(k->store, k->core, now_core(k), &nrec, &nprov);
    if (rv == GG_OK)
      ggn_logf(k->log, GGN_LOG_INFO, "dht store %s: %zu records, %zu provider records loaded",
               st.db_path, nrec, nprov);
  }
  int handled = 0, observed = 0;
  if (rv == GG_OK && !k->client_mode) {
    rv = ggn_host_handle(h, k->proto, on_kad_stream, k);
    handled = rv == GG_OK;
  }
  if (rv == GG_OK) {
    rv = ggn_host_observe(h, &obs_cbs, k);
    observed = rv == GG_OK;
  }
  if (rv != GG_OK) {
    if (handled) ggn_host_unhandle(h, k->proto);
    if (observed) ggn_host_unobserve(h, k);
    free_all(k);
    return rv;
  }
  uv_timer_init(ggn_host_loop(h), &k->timer);
  k->timer.data = k;
  k->timer_closed = 0;
  sync_self_addrs(k);
  rearm(k);
  *out = k;
  return GG_OK;
}

void ggn_kad_close(ggn_kad *k, void (*on_closed)(void *ud), void *ud) {
  if (k->closing) return;
  k->closing = 1;
  k->on_closed = on_closed;
  k->closed_ud = ud;
  if (!k->client_mode) ggn_host_unhandle(k->h, k->proto);
  ggn_host_unobserve(k->h, k);
  /* reset what is open; requests still being opened are reset by out_opened */
  for (kst *t = k->streams; t; t = t->next) {
    t->waiting = 0;
    if (t->s) ggn_stream_reset(t->s);
  }
  gg_map_free(&k->reqs);
  gg_map_init(&k->reqs, k->mem, host_rand(k->h));
  uv_timer_stop(&k->timer);
  uv_close((uv_handle_t *)&k->timer, timer_closed);
}

int ggn_kad_add_validator(ggn_kad *k, const ggp_kad_validator *v) {
  if (k->closing) return GG_ESTATE;
  return ggp_kad_add_validator(k->core, v);
}

const ggp_kad *ggn_kad_core(const ggn_kad *k) { return k->core; }

const char *ggn_kad_protocol(const ggn_kad *k) { return k->proto; }

size_t ggn_kad_routing_size(const ggn_kad *k) {
  ggp_kad_stats st;
  ggp_kad_get_stats(k->core, &st);
  return st.routing_peers;
}

void ggn_kad_get_counters(const ggn_kad *k, ggn_kad_counters *out) { *out = k->ctr; }

size_t ggn_kad_routing_connected(const ggn_kad *k) {
  size_t it = 0, n = 0;
  const gg_map_entry *e;
  while ((e = gg_map_next(&k->rt, &it))) {
    gg_peerid id;
    if (gg_peerid_from_bytes(&id, e->key, e->klen) == GG_OK && ggn_host_conn_to(k->h, &id)) n++;
  }
  return n;
}
