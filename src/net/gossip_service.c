/*
 * The Gossipsub service (include/ggen/gossip_service.h, docs/gossip-service.md): drives the
 * router (src/proto/gossipsub.c) over the host's streams, identify results and one uv timer.
 *
 * Wire (libp2p/specs pubsub/gossipsub): varint-length-prefixed RPC protobufs. Each side writes
 * on the one stream it opened to the other and reads the stream the other opened; nothing is
 * ever written on an inbound stream.
 *
 * Invariants:
 *  - a peer (gpeer) is in gs->peers from its first stream (or open) until it has no outbound
 *    stream, no open in flight and no inbound stream; it is in the router (in_core) only while
 *    it has an outbound stream or one being opened, so every RPC the router sends it has a
 *    stream or the pending queue to go to;
 *  - nothing calls ggp_gossip_remove_peer or frees a peer from inside a router callback: peers
 *    leave from stream callbacks and the timer, which the host calls from the loop;
 *  - the service is freed only when every peer is gone (the host has reported back on every
 *    stream and open it started), the timer is closed and no router call is on the stack;
 *    the router is deleted then. After ggn_gossip_close nothing new calls into the router.
 *  - per peer, at most max_queue bytes wait above Yamux (an empty queue always takes one RPC,
 *    which the router caps at max_rpc_size), so the memory a peer that does not read can pin
 *    is bounded; one that does not drain for stall_timeout is dropped.
 */
#include "ggen/gossip_service.h"

#include <string.h>
#include <time.h>

#include "ggen/err.h"
#include "ggen/log.h"
#include "ggen/map.h"
#include "ggen/rand.h"
#include "ggen/varint.h"
#include "host_int.h"

#define MAX_TOPICS 64            /* subscriptions and validators held by the service */
#define DEFAULT_QUEUE (1u << 20) /* bytes waiting per peer above Yamux */
#define DEFAULT_STALL GG_SEC(30)
#define DEFAULT_PX_DIALS 16

typedef struct gpeer {
  ggn_gossip *gs;
  gg_peerid id;
  ggn_stream *out; /* our stream to it; NULL while opening or when there is none */
  ggn_stream *in;  /* its stream to us */
  int opening;     /* an open is in flight */
  int in_core;
  int version;
  unsigned flags;
  gg_buf pending;      /* framed RPCs waiting for the outbound stream to open */
  size_t queued;       /* bytes written since the stream last drained (bounds its queue) */
  gg_ts stalled_since; /* core time the queue became non-empty, GG_TS_UNSET when empty */
} gpeer;

typedef struct gtopic {
  char *name;
  ggn_gossip_msg_cb cb;       /* subscriptions */
  ggn_gossip_validate_cb vcb; /* validators */
  void *ud;
} gtopic;

typedef struct pxdial { /* a peer-exchange dial; outlives the service if need be */
  struct pxdial *prev, *next;
  ggn_gossip *gs; /* NULL once the service closed */
  const gg_mem *mem;
} pxdial;

struct ggn_gossip {
  ggn_host *h;
  ggp_gossip *core;
  const gg_mem *mem;
  const ggn_log *log;
  ggp_gossip_settings rst;
  const char *protos[4]; /* offered, best first, NULL-terminated */
  size_t nprotos;
  size_t max_queue;
  gg_ts stall_timeout;
  uint32_t max_px, npx;
  int px_dial, local_ips;
  gg_ts offset; /* core time = uv_hrtime() + offset: epoch nanoseconds */
  uv_timer_t timer;
  gg_ts armed;
  gg_map peers; /* peer id bytes -> gpeer */
  gtopic subs[MAX_TOPICS], vals[MAX_TOPICS];
  size_t nsubs, nvals;
  pxdial *px;
  ggn_gossip_stats st;
  int core_depth; /* > 0 while inside a router call */
  int closing, timer_closed, freed;
  void (*on_closed)(void *ud);
  void *closed_ud;
};

static gg_ts now_core(const ggn_gossip *gs) { return uv_hrtime() + gs->offset; }
gg_ts ggn_gossip_now(const ggn_gossip *gs) { return now_core(gs); }
ggn_host *ggn_gossip_host(const ggn_gossip *gs) { return gs->h; }
const ggp_gossip *ggn_gossip_router(const ggn_gossip *gs) { return gs->core; }

static void maybe_free(ggn_gossip *gs);
static void rearm(ggn_gossip *gs);

/* Every router call goes through these two, so the timer follows the router's expiry and a
 * close requested from inside a handler completes once the call is over. */
static void core_enter(ggn_gossip *gs) { gs->core_depth++; }
static void core_leave(ggn_gossip *gs) {
  gs->core_depth--;
  if (gs->closing)
    maybe_free(gs);
  else if (gs->core_depth == 0)
    rearm(gs);
}

/* ---- peers --------------------------------------------------------------------------------- */

static gpeer *peer_get(ggn_gossip *gs, const gg_peerid *id) {
  return gg_map_get(&gs->peers, id->b, id->len);
}

static gpeer *peer_add(ggn_gossip *gs, const gg_peerid *id) {
  gpeer *p = peer_get(gs, id);
  if (p) return p;
  p = gg_calloc(gs->mem, 1, sizeof(*p));
  if (!p) return NULL;
  p->gs = gs;
  p->id = *id;
  p->stalled_since = GG_TS_UNSET;
  gg_buf_init(&p->pending, gs->mem, gs->max_queue + gs->rst.max_rpc_size + GG_VARINT_MAX);
  if (gg_map_put(&gs->peers, id->b, id->len, p, NULL) != GG_OK) {
    gg_free(gs->mem, p);
    return NULL;
  }
  return p;
}

/* Takes the peer out of the router when it has no outbound stream left, and frees it when it
 * has no stream at all. Never called from inside a router callback. */
static void peer_check(gpeer *p) {
  ggn_gossip *gs = p->gs;
  if (!p->out && !p->opening) {
    if (p->in_core) {
      p->in_core = 0;
      if (!gs->closing) {
        core_enter(gs);
        ggp_gossip_remove_peer(gs->core, &p->id, now_core(gs));
        core_leave(gs);
      }
      if (gs->st.peers) gs->st.peers--;
    }
    gg_buf_free(&p->pending);
    p->queued = 0;
    p->stalled_since = GG_TS_UNSET;
  }
  if (p->out || p->opening || p->in) return;
  gg_map_del(&gs->peers, p->id.b, p->id.len);
  gg_buf_free(&p->pending);
  gg_free(gs->mem, p);
  if (gs->closing) maybe_free(gs);
}

/* The remote IP of c for P6, unless it is a loopback address (every local test peer would
 * share it and be penalised). */
static void report_ip(ggn_gossip *gs, const gpeer *p, ggn_conn *c) {
  gg_maddr ma;
  gg_maddr_dial d;
  if (ggn_conn_remote_addr(c, &ma) != GG_OK || gg_maddr_dial_info(&ma, &d) != GG_OK) return;
  size_t len = d.host_proto == GG_MA_IP4 ? 4 : d.host_proto == GG_MA_IP6 ? 16 : 0;
  if (!len) return;
  static const uint8_t v6lo[16] = {[15] = 1};
  int loop = (len == 4 && d.ip[0] == 127) || (len == 16 && !memcmp(d.ip, v6lo, 16));
  if (loop && !gs->local_ips) return;
  ggp_gossip_set_peer_ip(gs->core, &p->id, d.ip, len);
}

/* Adds the peer to the router (or updates its version) as seen on connection c. */
static void peer_to_core(ggn_gossip *gs, gpeer *p, int version, ggn_conn *c) {
  unsigned flags = ggn_conn_outbound(c) ? GGP_GOSSIP_OUTBOUND : 0;
  if (p->in_core && p->version == version && p->flags == flags) return;
  int was = p->in_core;
  p->in_core = 1;
  p->version = version;
  p->flags = flags;
  core_enter(gs);
  int rv = ggp_gossip_add_peer(gs->core, &p->id, version, flags, now_core(gs));
  if (rv == GG_OK && !was) report_ip(gs, p, c);
  core_leave(gs);
  if (rv != GG_OK) {
    ggn_logf(gs->log, GGN_LOG_INFO, "gossip: peer %s not added: %s", gg_peerid_short(&p->id),
             gg_strerror(rv));
    p->in_core = 0;
    return;
  }
  if (!was) gs->st.peers++;
}

/* ---- writing ------------------------------------------------------------------------------- */

static void drop(ggn_gossip *gs, size_t len) {
  gs->st.rpcs_dropped++;
  gs->st.bytes_dropped += len;
}

static int send_rpc(ggp_gossip *g, const gg_peerid *peer, const uint8_t *rpc, size_t len,
                    void *ud) {
  (void)g;
  ggn_gossip *gs = ud;
  gpeer *p = peer_get(gs, peer);
  size_t framed = gg_varint_len(len) + len;
  if (!p || !p->in_core || gs->closing) {
    drop(gs, len);
    return -1;
  }
  if (!p->out) {
    /* the stream is being opened: keep the RPC (framed) until it is; an empty queue takes
     * one RPC whatever its size, as the stream's would */
    size_t have = gg_buf_len(&p->pending);
    if ((have && have + framed > gs->max_queue) || gg_buf_reserve(&p->pending, framed) != GG_OK) {
      drop(gs, len);
      return -1;
    }
    gg_buf_append_varint(&p->pending, len); /* room was reserved: these cannot fail */
    gg_buf_append(&p->pending, rpc, len);
    gs->st.rpcs_sent++;
    return 0;
  }
  if (p->queued > 0 && p->queued + framed > gs->max_queue) {
    drop(gs, len);
    return -1;
  }
  int rv = ggn_stream_write_msg(p->out, rpc, len);
  if (rv < 0) {
    drop(gs, len);
    return -1;
  }
  gs->st.rpcs_sent++;
  if (rv == 1) {
    p->queued += framed;
    if (p->stalled_since == GG_TS_UNSET) p->stalled_since = now_core(gs);
  } else {
    p->queued = 0;
    p->stalled_since = GG_TS_UNSET;
  }
  return 0;
}

static void out_writable(ggn_stream *s, void *ud) {
  (void)s;
  gpeer *p = ud;
  p->queued = 0;
  p->stalled_since = GG_TS_UNSET;
}

static void out_close(ggn_stream *s, int err, void *ud) {
  gpeer *p = ud;
  ggn_gossip *gs = p->gs;
  if (p->out != s) return;
  p->out = NULL;
  if (gs->st.out_streams) gs->st.out_streams--;
  if (!gs->closing)
    ggn_logf(gs->log, err == GG_OK || err == GG_ECLOSED ? GGN_LOG_DEBUG : GGN_LOG_INFO,
             "gossip: stream to %s ended: %s", gg_peerid_short(&p->id), gg_strerror(err));
  peer_check(p);
}

/* ---- opening our stream ---------------------------------------------------------------------- */

static void on_open(ggn_stream *s, int err, void *ud) {
  gpeer *p = ud;
  ggn_gossip *gs = p->gs;
  p->opening = 0;
  if (err != GG_OK || gs->closing) {
    if (s) ggn_stream_reset(s);
    if (err != GG_OK && !gs->closing) {
      gs->st.open_failed++;
      ggn_logf(gs->log, GGN_LOG_INFO, "gossip: cannot open a stream to %s: %s",
               gg_peerid_short(&p->id), gg_strerror(err));
    }
    peer_check(p);
    return;
  }
  static const ggn_stream_callbacks cbs = {
      .on_writable = out_writable,
      .on_close = out_close,
  };
  p->out = s;
  gs->st.out_streams++;
  ggn_stream_set_callbacks(s, &cbs, p);
  const char *proto = ggn_stream_protocol(s);
  int version = ggp_gossip_version(proto, strlen(proto));
  /* what the router said before the stream existed goes first */
  if (gg_buf_len(&p->pending)) {
    int rv = ggn_stream_write(s, gg_buf_ptr(&p->pending), gg_buf_len(&p->pending));
    if (rv == 1) {
      p->queued = gg_buf_len(&p->pending);
      p->stalled_since = now_core(gs);
    }
    gg_buf_free(&p->pending);
  }
  peer_to_core(gs, p, version, ggn_stream_conn(s));
}

/* Opens our stream to the peer on c unless there is one. */
static void ensure_outbound(ggn_gossip *gs, const gg_peerid *id, ggn_conn *c) {
  if (gs->closing) return;
  gpeer *p = peer_add(gs, id);
  if (!p) return;
  if (p->out || p->opening) return;
  p->opening = 1;
  int rv = ggn_conn_open_stream(c, gs->protos, gs->nprotos, on_open, p);
  if (rv != GG_OK) {
    p->opening = 0;
    gs->st.open_failed++;
    peer_check(p);
  }
}

/* ---- reading the peer's stream --------------------------------------------------------------- */

static void in_msg(ggn_stream *s, const uint8_t *m, size_t n, void *ud) {
  (void)s;
  gpeer *p = ud;
  ggn_gossip *gs = p->gs;
  if (gs->closing || !p->in_core) return;
  core_enter(gs);
  int rv = ggp_gossip_recv_rpc(gs->core, &p->id, m, n, now_core(gs));
  core_leave(gs);
  if (rv != GG_OK && GGN_LOG_ON(gs->log, GGN_LOG_DEBUG))
    ggn_logf(gs->log, GGN_LOG_DEBUG, "gossip: RPC from %s: %s", gg_peerid_short(&p->id),
             gg_strerror(rv));
}

static void in_eof(ggn_stream *s, void *ud) {
  (void)ud;
  ggn_stream_close_write(s); /* we never write here: let the stream end cleanly */
}

static void in_close(ggn_stream *s, int err, void *ud) {
  (void)err;
  gpeer *p = ud;
  ggn_gossip *gs = p->gs;
  if (gs->st.in_streams) gs->st.in_streams--;
  if (p->in == s) p->in = NULL;
  peer_check(p);
}

static void on_inbound(ggn_stream *s, void *ud) {
  ggn_gossip *gs = ud;
  const char *proto = ggn_stream_protocol(s);
  int version = ggp_gossip_version(proto, strlen(proto));
  gpeer *p = gs->closing || !version ? NULL : peer_add(gs, ggn_stream_peer(s));
  if (!p || ggn_stream_read_msgs(s, gs->rst.max_rpc_size) != GG_OK) {
    ggn_stream_reset(s);
    if (p) peer_check(p);
    return;
  }
  static const ggn_stream_callbacks cbs = {
      .on_msg = in_msg,
      .on_eof = in_eof,
      .on_close = in_close,
  };
  ggn_stream_set_callbacks(s, &cbs, p);
  gs->st.in_streams++;
  if (p->in) {
    /* the newer stream is the peer's current one (js replaces its inbound stream the same way) */
    gs->st.in_replaced++;
    ggn_stream_reset(p->in);
  }
  p->in = s;
  ggn_conn *c = ggn_stream_conn(s);
  /* The peer talks to us: answer on our own stream. Until it is open, the router's RPCs wait
   * in the peer's queue; the peer's subscriptions must not be lost meanwhile. */
  ensure_outbound(gs, &p->id, c);
  if (!p->in_core && (p->out || p->opening)) peer_to_core(gs, p, version, c);
}

/* ---- host events ---------------------------------------------------------------------------- */

static int peer_speaks_gossip(ggn_gossip *gs, const gg_peerid *id) {
  for (size_t i = 0; i < gs->nprotos; i++)
    if (ggn_host_peer_supports(gs->h, id, gs->protos[i])) return 1;
  return 0;
}

static void obs_identify(ggn_host *h, ggn_conn *c, const ggp_identify_msg *m, void *ud) {
  (void)h;
  (void)m;
  ggn_gossip *gs = ud;
  if (gs->closing || !peer_speaks_gossip(gs, ggn_conn_peer(c))) return;
  ensure_outbound(gs, ggn_conn_peer(c), c);
}

static void obs_down(ggn_host *h, ggn_conn *c, int err, void *ud) {
  (void)err;
  ggn_gossip *gs = ud;
  const gg_peerid *id = ggn_conn_peer(c);
  if (gs->closing) return;
  /* Our stream on c has ended already (streams end before the connection reports). When
   * another connection to the peer remains (simultaneous dials), move to it. */
  gpeer *p = peer_get(gs, id);
  if (p && (p->out || p->opening)) return;
  ggn_conn *other = ggn_host_conn_to(h, id);
  if (other && other != c && peer_speaks_gossip(gs, id)) ensure_outbound(gs, id, other);
}

/* ---- router callbacks -------------------------------------------------------------------------
 */

static gtopic *topic_find(gtopic *t, size_t n, const char *name) {
  for (size_t i = 0; i < n; i++)
    if (!strcmp(t[i].name, name)) return &t[i];
  return NULL;
}

static void deliver(ggp_gossip *g, const ggp_gossip_msg *m, void *ud) {
  (void)g;
  ggn_gossip *gs = ud;
  if (gs->closing) return;
  gtopic *t = topic_find(gs->subs, gs->nsubs, m->topic);
  if (t && t->cb) t->cb(gs, m, t->ud);
}

static int validate(ggp_gossip *g, const ggp_gossip_msg *m, void *ud) {
  (void)g;
  ggn_gossip *gs = ud;
  if (gs->closing) return GGP_GOSSIP_IGNORE;
  gtopic *t = topic_find(gs->vals, gs->nvals, m->topic);
  return t && t->vcb ? t->vcb(gs, m, t->ud) : GGP_GOSSIP_ACCEPT;
}

static void px_done(ggn_host *h, ggn_conn *c, int err, void *ud) {
  (void)h;
  (void)c;
  (void)err;
  pxdial *d = ud;
  ggn_gossip *gs = d->gs;
  if (gs) {
    gs->npx--;
    if (d->prev)
      d->prev->next = d->next;
    else
      gs->px = d->next;
    if (d->next) d->next->prev = d->prev;
  }
  gg_free(d->mem, d);
  /* identify on the new connection opens the stream */
}

static void px_peers(ggp_gossip *g, const char *topic, const ggp_gossip_px *peers, size_t n,
                     void *ud) {
  (void)g;
  (void)topic;
  ggn_gossip *gs = ud;
  if (!gs->px_dial || gs->closing) return;
  /* Without signed peer records the addresses come from our peer store (identify, the DHT);
   * a peer we know no address of fails the connect quietly. */
  for (size_t i = 0; i < n && gs->npx < gs->max_px; i++) {
    if (ggn_host_conn_to(gs->h, &peers[i].id) || peer_get(gs, &peers[i].id)) continue;
    pxdial *d = gg_calloc(gs->mem, 1, sizeof(*d));
    if (!d) return;
    d->gs = gs;
    d->mem = gs->mem;
    if (ggn_host_connect(gs->h, &peers[i].id, px_done, d) != GG_OK) {
      gg_free(gs->mem, d);
      continue;
    }
    d->next = gs->px;
    if (gs->px) gs->px->prev = d;
    gs->px = d;
    gs->npx++;
    gs->st.px_dials++;
  }
}

static void mesh_changed(ggp_gossip *g, const char *topic, const gg_peerid *peer, int joined,
                         void *ud) {
  (void)g;
  ggn_gossip *gs = ud;
  ggn_logf(gs->log, GGN_LOG_DEBUG, "gossip: %s %s the mesh of %s", gg_peerid_short(peer),
           joined ? "joined" : "left", topic);
}

/* ---- timer ------------------------------------------------------------------------------------
 */

static void on_timer(uv_timer_t *t);

static void rearm(ggn_gossip *gs) {
  if (gs->closing) return;
  gg_ts e = ggp_gossip_expiry(gs->core);
  if (e == GG_TS_UNSET) {
    if (gs->armed != GG_TS_UNSET) uv_timer_stop(&gs->timer);
    gs->armed = GG_TS_UNSET;
    return;
  }
  if (e == gs->armed) return;
  gg_ts now = now_core(gs);
  uint64_t ms = e > now ? (e - now + GG_MS(1) - 1) / GG_MS(1) : 0;
  gs->armed = e;
  uv_timer_start(&gs->timer, on_timer, ms, 0);
}

/* Drops peers whose queue has not drained for stall_timeout: their outbound stream is reset
 * and they leave the router when its on_close comes. */
static void check_stalls(ggn_gossip *gs, gg_ts now) {
  size_t it = 0;
  const gg_map_entry *e;
  while ((e = gg_map_next(&gs->peers, &it))) {
    gpeer *p = e->val;
    if (!p->out || p->stalled_since == GG_TS_UNSET || now - p->stalled_since < gs->stall_timeout)
      continue;
    ggn_logf(gs->log, GGN_LOG_INFO, "gossip: %s has not read for %llu s: dropped",
             gg_peerid_short(&p->id), (unsigned long long)((now - p->stalled_since) / GG_SEC(1)));
    gs->st.stalled++;
    p->stalled_since = GG_TS_UNSET;
    ggn_stream_reset(p->out); /* out_close follows from the loop */
  }
}

static void on_timer(uv_timer_t *t) {
  ggn_gossip *gs = t->data;
  if (gs->closing) return;
  gs->armed = GG_TS_UNSET;
  gg_ts now = now_core(gs);
  core_enter(gs);
  ggp_gossip_handle_expiry(gs->core, now);
  core_leave(gs);
  if (!gs->closing) check_stalls(gs, now);
}

/* ---- life cycle ---------------------------------------------------------------------------------
 */

static void topics_free(ggn_gossip *gs, gtopic *t, size_t n) {
  for (size_t i = 0; i < n; i++) gg_free(gs->mem, t[i].name);
}

static void final_free(ggn_gossip *gs) {
  gs->freed = 1;
  void (*cb)(void *) = gs->on_closed;
  void *cud = gs->closed_ud;
  ggp_gossip_del(gs->core);
  gg_map_free(&gs->peers);
  topics_free(gs, gs->subs, gs->nsubs);
  topics_free(gs, gs->vals, gs->nvals);
  gg_free(gs->mem, gs);
  if (cb) cb(cud);
}

static void maybe_free(ggn_gossip *gs) {
  if (!gs->closing || gs->freed || !gs->timer_closed || gs->core_depth > 0) return;
  if (gg_map_count(&gs->peers)) return;
  final_free(gs);
}

static void timer_closed(uv_handle_t *h) {
  ggn_gossip *gs = h->data;
  gs->timer_closed = 1;
  maybe_free(gs);
}

int ggn_gossip_new(ggn_gossip **out, ggn_host *h, const ggn_gossip_settings *st) {
  ggn_gossip_settings d = {0};
  if (!st) st = &d;
  if (!out || !h) return GG_EINVAL;
  int maxv = st->max_version ? st->max_version : GGP_GOSSIP_V12;
  if (maxv != GGP_GOSSIP_V12 && maxv != GGP_GOSSIP_V11 && maxv != GGP_GOSSIP_V10) return GG_EINVAL;
  ggn_gossip *gs = gg_calloc(h->mem, 1, sizeof(*gs));
  if (!gs) return GG_ENOMEM;
  gs->h = h;
  gs->mem = h->mem;
  gs->log = ggn_host_log(h);
  if (st->router)
    gs->rst = *st->router;
  else
    ggp_gossip_settings_default(&gs->rst);
  for (const char *const *p = ggp_gossip_protocols; *p; p++) {
    int v = ggp_gossip_version(*p, strlen(*p));
    if (v <= maxv && gs->nprotos < 3) gs->protos[gs->nprotos++] = *p;
  }
  gs->max_queue = st->max_queue ? st->max_queue : DEFAULT_QUEUE;
  gs->stall_timeout = st->stall_timeout ? st->stall_timeout : DEFAULT_STALL;
  gs->max_px = st->max_px_dials ? st->max_px_dials : DEFAULT_PX_DIALS;
  gs->px_dial = !st->no_px_dial;
  gs->local_ips = st->report_local_ips;
  gs->armed = GG_TS_UNSET;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  gs->offset = (gg_ts)ts.tv_sec * GG_SEC(1) + (gg_ts)ts.tv_nsec - uv_hrtime();
  gg_map_init(&gs->peers, gs->mem, h->rand);
  static const ggp_gossip_callbacks rcb = {
      .send_rpc = send_rpc,
      .deliver = deliver,
      .validate = validate,
      .px_peers = px_peers,
      .mesh_changed = mesh_changed,
  };
  /* Nodes started together (a process running many, a benchmark) would beat in step: give
   * each heartbeat its own phase within the interval. */
  if (gs->rst.heartbeat_interval)
    gs->rst.heartbeat_initial_delay += gg_rand_below(h->rand, gs->rst.heartbeat_interval);
  int rv = ggp_gossip_new(&gs->core, &rcb, &gs->rst, ggn_host_identity(h), h->rand, gs->mem, gs);
  if (rv != GG_OK) {
    gg_free(gs->mem, gs);
    return rv;
  }
  size_t nh = 0;
  for (; nh < gs->nprotos; nh++)
    if ((rv = ggn_host_handle(h, gs->protos[nh], on_inbound, gs)) != GG_OK) break;
  static const ggn_host_callbacks obs = {
      .on_conn_down = obs_down,
      .on_identify = obs_identify,
  };
  if (rv == GG_OK) rv = ggn_host_observe(h, &obs, gs);
  if (rv != GG_OK) {
    while (nh > 0) ggn_host_unhandle(h, gs->protos[--nh]);
    ggp_gossip_del(gs->core);
    gg_map_free(&gs->peers);
    gg_free(gs->mem, gs);
    return rv;
  }
  uv_timer_init(ggn_host_loop(h), &gs->timer);
  gs->timer.data = gs;
  /* the router starts its heartbeat at the first handle_expiry */
  core_enter(gs);
  ggp_gossip_handle_expiry(gs->core, now_core(gs));
  core_leave(gs);
  *out = gs;
  return GG_OK;
}

void ggn_gossip_close(ggn_gossip *gs, void (*on_closed)(void *ud), void *ud) {
  if (!gs || gs->closing) return;
  gs->closing = 1;
  gs->on_closed = on_closed;
  gs->closed_ud = ud;
  for (size_t i = 0; i < gs->nprotos; i++) ggn_host_unhandle(gs->h, gs->protos[i]);
  ggn_host_unobserve(gs->h, gs);
  for (pxdial *d = gs->px; d; d = d->next) d->gs = NULL; /* they free themselves */
  gs->px = NULL;
  size_t it = 0;
  const gg_map_entry *e;
  while ((e = gg_map_next(&gs->peers, &it))) {
    gpeer *p = e->val;
    if (p->out) ggn_stream_reset(p->out);
    if (p->in) ggn_stream_reset(p->in);
  }
  uv_close((uv_handle_t *)&gs->timer, timer_closed);
}

/* ---- application ------------------------------------------------------------------------------
 */

static int topic_set(ggn_gossip *gs, gtopic *t, size_t *n, const char *name, gtopic **out) {
  gtopic *f = topic_find(t, *n, name);
  if (f) {
    *out = f;
    return GG_OK;
  }
  if (*n >= MAX_TOPICS) return GG_ELIMIT;
  size_t len = strlen(name);
  char *copy = gg_malloc(gs->mem, len + 1);
  if (!copy) return GG_ENOMEM;
  memcpy(copy, name, len + 1);
  t[*n] = (gtopic){.name = copy};
  *out = &t[(*n)++];
  return GG_OK;
}

static void topic_del(ggn_gossip *gs, gtopic *t, size_t *n, gtopic *f) {
  gg_free(gs->mem, f->name);
  *f = t[--*n];
}

int ggn_gossip_subscribe(ggn_gossip *gs, const char *topic, ggn_gossip_msg_cb cb, void *ud) {
  if (!gs || !topic) return GG_EINVAL;
  if (gs->closing) return GG_ESTATE;
  size_t len = strlen(topic);
  if (!len || len > GGP_GOSSIP_TOPIC_MAX) return GG_EINVAL;
  gtopic *t;
  int existed = topic_find(gs->subs, gs->nsubs, topic) != NULL;
  int rv = topic_set(gs, gs->subs, &gs->nsubs, topic, &t);
  if (rv != GG_OK) return rv;
  core_enter(gs);
  rv = ggp_gossip_subscribe(gs->core, topic, now_core(gs));
  core_leave(gs);
  if (rv != GG_OK) {
    if (!existed) topic_del(gs, gs->subs, &gs->nsubs, t);
    return rv;
  }
  t->cb = cb;
  t->ud = ud;
  return GG_OK;
}

int ggn_gossip_unsubscribe(ggn_gossip *gs, const char *topic) {
  if (!gs || !topic) return GG_EINVAL;
  if (gs->closing) return GG_ESTATE;
  gtopic *t = topic_find(gs->subs, gs->nsubs, topic);
  if (!t) return GG_ENOTFOUND;
  topic_del(gs, gs->subs, &gs->nsubs, t);
  core_enter(gs);
  int rv = ggp_gossip_unsubscribe(gs->core, topic, now_core(gs));
  core_leave(gs);
  return rv;
}

int ggn_gossip_publish(ggn_gossip *gs, const char *topic, const uint8_t *data, size_t len,
                       size_t *recipients, uint8_t *msgid, size_t *msgid_len) {
  if (!gs) return GG_EINVAL;
  if (gs->closing) return GG_ESTATE;
  core_enter(gs);
  int rv =
      ggp_gossip_publish(gs->core, topic, data, len, now_core(gs), recipients, msgid, msgid_len);
  core_leave(gs);
  return rv;
}

int ggn_gossip_set_validator(ggn_gossip *gs, const char *topic, ggn_gossip_validate_cb cb,
                             void *ud) {
  if (!gs || !topic || !*topic || strlen(topic) > GGP_GOSSIP_TOPIC_MAX) return GG_EINVAL;
  if (!cb) {
    gtopic *f = topic_find(gs->vals, gs->nvals, topic);
    if (f) topic_del(gs, gs->vals, &gs->nvals, f);
    return GG_OK;
  }
  gtopic *t;
  int rv = topic_set(gs, gs->vals, &gs->nvals, topic, &t);
  if (rv != GG_OK) return rv;
  t->vcb = cb;
  t->ud = ud;
  return GG_OK;
}

int ggn_gossip_validation_result(ggn_gossip *gs, const uint8_t *msgid, size_t len, int result) {
  if (!gs) return GG_EINVAL;
  if (gs->closing) return GG_ESTATE;
  core_enter(gs);
  int rv = ggp_gossip_validation_result(gs->core, msgid, len, result, now_core(gs));
  core_leave(gs);
  return rv;
}

int ggn_gossip_set_topic_score(ggn_gossip *gs, const char *topic, const ggp_gossip_topic_score *p) {
  if (!gs) return GG_EINVAL;
  if (gs->closing) return GG_ESTATE;
  core_enter(gs);
  int rv = ggp_gossip_set_topic_score(gs->core, topic, p);
  core_leave(gs);
  return rv;
}

double ggn_gossip_peer_score(ggn_gossip *gs, const gg_peerid *peer) {
  return ggp_gossip_peer_score(gs->core, peer);
}

void ggn_gossip_get_stats(const ggn_gossip *gs, ggn_gossip_stats *st) { *st = gs->st; }
