/*
 * The marketplace service (include/ggen/market_service.h, docs/p2p-marketplace.md): its life
 * cycle, the per-peer rate limit and transfer caps, reputation bookkeeping, and the server side
 * of /ggen/fetch/1.0.0.
 *
 * Serving an archive: the request (one length-prefixed FetchRequest, at most 128 bytes) must
 * arrive within 10 s; it passes the peer's token bucket (malformed requests count too), then
 * the transfer caps (per peer and
 * in total; BUSY beyond, so the client tries another provider at once), then the blob store
 * (NOT_FOUND) and the size cap (TOO_BIG). The OK header is followed by the file, read in
 * 64 KiB pieces and written only while the stream takes them (ggn_stream_write returning 1
 * pauses until on_writable), so a slow reader costs one piece of memory, not the archive; a
 * transfer that makes no progress for stall_timeout is reset.
 *
 * Invariants: every inbound stream is on m->servers from its handler call to its on_close;
 * a transfer holds its fd and one count in m->per_peer and m->transfers exactly while it is
 * on m->servers with `counted` set.
 */
#include "market_int.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ggen/err.h"
#include "ggen/fetch.h"
#include "ggen/home.h"

#define CHUNK (64u * 1024u)
#define REQUEST_TIMEOUT GG_SEC(10)
#define MAX_BUCKETS 4096

typedef struct bucket {
  double tokens;
  gg_ts at;
} bucket;

typedef struct srv {
  struct srv *prev, *next;
  ggn_market *m;
  ggn_stream *s;
  gg_peerid peer;
  int fd;
  uint64_t size, off;
  int counted, asked, done;
} srv;

/* ---- life cycle ------------------------------------------------------------------------------ */

int64_t ggn__market_wall(void) { return (int64_t)time(NULL); }

static void final_free(uv_handle_t *hd) {
  ggn_market *m = hd->data;
  while (m->kqs) {
    kq *q = m->kqs;
    m->kqs = q->next;
    gg_free(m->mem, q);
  }
  size_t it = 0;
  const gg_map_entry *e;
  while ((e = gg_map_next(&m->buckets, &it))) gg_free(m->mem, e->val);
  gg_map_free(&m->buckets);
  gg_map_free(&m->per_peer);
  ggn__market_search_free(m);
  ggn__market_gossip_free(m);
  ggn__market_gossip_checks_free(m);
  void (*cb)(void *) = m->on_closed;
  void *ud = m->closed_ud;
  gg_free(m->mem, m->home);
  gg_free(m->mem, m->tmp);
  gg_free(m->mem, m);
  if (cb) cb(ud);
}

static void maybe_free(ggn_market *m) {
  if (!m->closing || m->refs || m->freeing) return;
  m->freeing = 1;
  uv_close((uv_handle_t *)&m->closer, final_free);
}

void ggn__market_ref(ggn_market *m) { m->refs++; }

void ggn__market_unref(ggn_market *m) {
  m->refs--;
  maybe_free(m);
}

static void on_fetch_stream(ggn_stream *s, void *ud);

int ggn_market_new(ggn_market **out, ggn_host *h, const ggn_market_settings *st) {
  if (!h || !st || !st->home || !st->catalog || !st->store) return GG_EINVAL;
  const gg_mem *mem = NULL; /* the default allocator (see gg_home_path below) */
  ggn_market *m = gg_calloc(mem, 1, sizeof(*m));
  if (!m) return GG_ENOMEM;
  m->h = h;
  m->kad = st->kad;
  m->cat = st->catalog;
  m->store = st->store;
  m->rep = st->rep;
  m->mem = mem;
  m->log = ggn_host_log(h);
  m->client_mode = st->client_mode;
  m->max_archive = st->max_archive ? st->max_archive : GGM_FETCH_MAX_SIZE;
  m->max_transfers = st->max_transfers ? st->max_transfers : 16;
  m->max_per_peer = st->max_transfers_per_peer ? st->max_transfers_per_peer : 2;
  m->max_providers = st->max_providers ? st->max_providers : 8;
  if (m->max_providers > GGN_MARKET_MAX_ATTEMPTS) m->max_providers = GGN_MARKET_MAX_ATTEMPTS;
  m->rate = st->rate_per_sec > 0 ? st->rate_per_sec : 20;
  m->burst = st->rate_burst > 0 ? st->rate_burst : 40;
  m->fetch_timeout = st->fetch_timeout ? st->fetch_timeout : GG_SEC(5);
  m->stall_timeout = st->stall_timeout ? st->stall_timeout : GG_SEC(10);
  m->fanout = st->search_fanout ? st->search_fanout : 8;
  m->search_deadline = st->search_deadline ? st->search_deadline : GG_SEC(1);
  /* the default allocator is malloc's, which gg_home_path uses too */
  m->home = gg_strdup(mem, st->home);
  m->tmp = m->home ? gg_home_path(m->home, "tmp") : NULL;
  gg_map_init(&m->per_peer, mem, gg_rand_system());
  gg_map_init(&m->buckets, mem, gg_rand_system());
  int rv = m->home && m->tmp ? GG_OK : GG_ENOMEM;
  if (rv == GG_OK && !m->client_mode)
    rv = ggn_host_handle(h, GGM_FETCH_PROTOCOL, on_fetch_stream, m);
  if (rv != GG_OK) {
    gg_map_free(&m->per_peer);
    gg_map_free(&m->buckets);
    gg_free(mem, m->tmp);
    gg_free(mem, m->home);
    gg_free(mem, m);
    return rv;
  }
  m->gs = st->gossip;
  m->on_announce = st->on_announce;
  m->announce_ud = st->announce_ud;
  if ((rv = ggn__market_dht_init(m)) != GG_OK || (rv = ggn__market_search_init(m)) != GG_OK ||
      (rv = ggn__market_gossip_init(m)) != GG_OK) {
    ggn__market_dht_close(m);
    ggn__market_search_close(m);
    ggn__market_search_free(m);
    ggn__market_gossip_close(m);
    ggn__market_gossip_free(m);
    if (!m->client_mode) ggn_host_unhandle(h, GGM_FETCH_PROTOCOL);
    gg_map_free(&m->per_peer);
    gg_map_free(&m->buckets);
    gg_free(mem, m->tmp);
    gg_free(mem, m->home);
    gg_free(mem, m);
    return rv;
  }
  mkdir(m->tmp, 0700);
  uv_timer_init(ggn_host_loop(h), &m->closer);
  m->closer.data = m;
  *out = m;
  return GG_OK;
}

/* ---- generic jobs --------------------------------------------------------------------------- */

static void mjob_begin(uv_timer_t *t) {
  mjob *j = t->data;
  j->begin(j);
}

mjob *ggn__mjob_new(ggn_market *m, size_t size, void (*begin)(mjob *), void (*dispose)(mjob *)) {
  mjob *j = gg_calloc(m->mem, 1, size);
  if (!j) return NULL;
  j->m = m;
  j->begin = begin;
  j->dispose = dispose;
  j->next = m->mjobs;
  if (m->mjobs) m->mjobs->prev = j;
  m->mjobs = j;
  ggn__market_ref(m);
  uv_timer_init(ggn_host_loop(m->h), &j->timer);
  j->timer.data = j;
  uv_timer_start(&j->timer, mjob_begin, 0, 0);
  return j;
}

static void mjob_freed(uv_handle_t *hd) {
  mjob *j = hd->data;
  ggn_market *m = j->m;
  if (j->dispose) j->dispose(j);
  gg_free(m->mem, j);
  ggn__market_unref(m);
}

void ggn__mjob_finish(mjob *j) {
  if (j->finished) return;
  j->finished = 1;
  ggn_market *m = j->m;
  if (j->prev)
    j->prev->next = j->next;
  else
    m->mjobs = j->next;
  if (j->next) j->next->prev = j->prev;
  uv_timer_stop(&j->timer);
  uv_close((uv_handle_t *)&j->timer, mjob_freed);
}

static void srv_finish(srv *t);

void ggn_market_close(ggn_market *m, void (*on_closed)(void *ud), void *ud) {
  if (m->closing) return;
  m->closing = 1;
  m->on_closed = on_closed;
  m->closed_ud = ud;
  if (!m->client_mode) ggn_host_unhandle(m->h, GGM_FETCH_PROTOCOL);
  for (srv *t = m->servers; t; t = t->next) {
    srv_finish(t);
    if (t->s) ggn_stream_reset(t->s);
  }
  ggn__market_fetch_close_all(m);
  for (mjob *j = m->mjobs; j; j = j->next)
    if (j->cancel) j->cancel(j);
  while (m->mjobs) ggn__mjob_finish(m->mjobs); /* their callbacks check m->closing */
  for (kq *q = m->kqs; q; q = q->next) q->target = NULL;
  ggn__market_dht_close(m);
  ggn__market_search_close(m);
  ggn__market_gossip_close(m);
  maybe_free(m);
}

ggn_host *ggn_market_host(const ggn_market *m) { return m->h; }

void ggn_market_get_stats(const ggn_market *m, ggn_market_stats *st) {
  *st = m->stats;
  st->transfers = m->transfers;
}

/* ---- helpers
 * ------------------------------------------------------------------------------------- */

int ggn__market_tmpfile(ggn_market *m) {
  int fd = open(m->tmp, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)) return fd;
  char path[4096];
  snprintf(path, sizeof path, "%s/fetch-XXXXXX", m->tmp);
  fd = mkstemp(path);
  if (fd >= 0) unlink(path);
  return fd;
}

void ggn__market_rep(ggn_market *m, const gg_peerid *peer, int ok, unsigned weight, double ms,
                     int provided, uint64_t bytes, int search) {
  if (!m->rep) return;
  char id[GG_PEERID_TEXT_MAX];
  if (gg_peerid_to_b58(peer, id, sizeof id) < 0) return;
  ggs_peerrep_event ev = {.ok = ok,
                          .weight = weight,
                          .ms = ms,
                          .provided = provided,
                          .bytes = bytes,
                          .search = search,
                          .now = ggn__market_wall()};
  int rv = ggs_peerrep_record(m->rep, id, &ev);
  if (rv != GG_OK) ggn_logf(m->log, GGN_LOG_WARN, "peer reputation not saved: %s", gg_strerror(rv));
}

void ggn__market_order(ggn_market *m, gg_peerid *peers, size_t n) {
  if (!m->rep || n < 2) return;
  char(*text)[GG_PEERID_TEXT_MAX] = gg_malloc(m->mem, n * sizeof(*text));
  const char **order = gg_malloc(m->mem, n * sizeof(*order));
  gg_peerid *copy = gg_malloc(m->mem, n * sizeof(*copy));
  if (text && order && copy) {
    for (size_t i = 0; i < n; i++) {
      gg_peerid_to_b58(&peers[i], text[i], GG_PEERID_TEXT_MAX);
      order[i] = text[i];
      copy[i] = peers[i];
    }
    if (ggs_peerrep_order(m->rep, ggn__market_wall(), order, n) == GG_OK)
      for (size_t i = 0; i < n; i++)
        peers[i] = copy[(size_t)(order[i] - text[0]) / GG_PEERID_TEXT_MAX];
  }
  gg_free(m->mem, text);
  gg_free(m->mem, order);
  gg_free(m->mem, copy);
}

kq *ggn__market_kq_new(ggn_market *m, void (*fn)(ggn_market *, void *, const ggp_kad_result *),
                       void *target) {
  kq *q = gg_calloc(m->mem, 1, sizeof(*q));
  if (!q) return NULL;
  q->m = m;
  q->fn = fn;
  q->target = target;
  q->next = m->kqs;
  if (m->kqs) m->kqs->prev = q;
  m->kqs = q;
  return q;
}

void ggn__market_kq_drop(kq *q) {
  ggn_market *m = q->m;
  if (q->prev)
    q->prev->next = q->next;
  else
    m->kqs = q->next;
  if (q->next) q->next->prev = q->prev;
  gg_free(m->mem, q);
}

void ggn__market_kq_done(ggn_kad *k, const ggp_kad_result *res, void *ud) {
  (void)k;
  kq *q = ud;
  ggn_market *m = q->m;
  void *target = q->target;
  void (*fn)(ggn_market *, void *, const ggp_kad_result *) = q->fn;
  ggn__market_kq_drop(q);
  if (target && !m->closing) fn(m, target, res);
}

/* The peer's token bucket: 1 when a request may pass now. The table is capped: when full it
 * is cleared, which only forgives everyone their debt once. */
int ggn__market_rate_ok(ggn_market *m, const gg_peerid *peer) {
  gg_ts now = uv_hrtime();
  bucket *b = gg_map_get(&m->buckets, peer->b, peer->len);
  if (!b) {
    if (gg_map_count(&m->buckets) >= MAX_BUCKETS) {
      size_t it = 0;
      const gg_map_entry *e;
      while ((e = gg_map_next(&m->buckets, &it))) gg_free(m->mem, e->val);
      gg_map_free(&m->buckets);
      gg_map_init(&m->buckets, m->mem, gg_rand_system());
    }
    b = gg_malloc(m->mem, sizeof(*b));
    if (!b) return 0;
    b->tokens = m->burst;
    b->at = now;
    if (gg_map_put(&m->buckets, peer->b, peer->len, b, NULL) != GG_OK) {
      gg_free(m->mem, b);
      return 0;
    }
  }
  b->tokens = fmin(m->burst, b->tokens + (double)(now - b->at) / 1e9 * m->rate);
  b->at = now;
  if (b->tokens < 1) return 0;
  b->tokens -= 1;
  return 1;
}

/* ---- serving archives ---------------------------------------------------------------------------
 */

static uintptr_t peer_count(ggn_market *m, const gg_peerid *p) {
  return (uintptr_t)gg_map_get(&m->per_peer, p->b, p->len);
}

static void peer_count_set(ggn_market *m, const gg_peerid *p, uintptr_t n) {
  if (n == 0)
    gg_map_del(&m->per_peer, p->b, p->len);
  else
    gg_map_put(&m->per_peer, p->b, p->len, (void *)n, NULL);
}

/* Ends a transfer's hold on the caps and its file (idempotent). */
static void srv_finish(srv *t) {
  ggn_market *m = t->m;
  if (t->counted) {
    t->counted = 0;
    m->transfers--;
    peer_count_set(m, &t->peer, peer_count(m, &t->peer) - 1);
  }
  if (t->fd >= 0) {
    close(t->fd);
    t->fd = -1;
  }
}

/* Writes an error header and closes our side. */
static void srv_refuse(srv *t, int status, const char *msg) {
  gg_buf b;
  gg_buf_init(&b, t->m->mem, GGM_FETCH_HDR_MAX + 16);
  if (ggm_fetch_hdr_encode(status, 0, msg, &b) == GG_OK &&
      ggn_stream_write(t->s, gg_buf_ptr(&b), gg_buf_len(&b)) >= 0)
    ggn_stream_close_write(t->s);
  else
    ggn_stream_reset(t->s);
  gg_buf_free(&b);
  t->done = 1;
}

/* Writes file pieces while the stream takes them. */
static void srv_pump(srv *t) {
  ggn_market *m = t->m;
  uint8_t buf[CHUNK];
  while (t->off < t->size) {
    size_t want = t->size - t->off < CHUNK ? (size_t)(t->size - t->off) : CHUNK;
    ssize_t n = pread(t->fd, buf, want, (off_t)t->off);
    if (n <= 0) { /* the file shrank or failed under us: the client sees a short body */
      ggn_logf(m->log, GGN_LOG_WARN, "serving an archive failed: %s",
               n < 0 ? strerror(errno) : "file truncated");
      srv_finish(t);
      ggn_stream_reset(t->s);
      return;
    }
    int w = ggn_stream_write(t->s, buf, (size_t)n);
    if (w < 0) {
      srv_finish(t);
      ggn_stream_reset(t->s);
      return;
    }
    t->off += (uint64_t)n;
    ggn_stream_set_deadline(t->s, uv_hrtime() + m->stall_timeout);
    if (w == 1) return; /* on_writable continues */
  }
  m->stats.served++;
  m->stats.served_bytes += t->size;
  srv_finish(t);
  t->done = 1;
  ggn_stream_close_write(t->s);
}

static void srv_msg(ggn_stream *s, const uint8_t *msg, size_t n, void *ud) {
  srv *t = ud;
  ggn_market *m = t->m;
  if (t->asked || m->closing) { /* one request per stream */
    ggn_stream_reset(s);
    return;
  }
  t->asked = 1;
  if (!ggn__market_rate_ok(m, &t->peer)) {
    m->stats.refused_rate++;
    srv_refuse(t, GGM_ST_RATE_LIMITED, "too many requests");
    return;
  }
  uint8_t cid[GGM_CID_LEN];
  if (ggm_fetch_req_decode(msg, n, cid) != GG_OK) {
    ggn_logf(m->log, GGN_LOG_INFO, "fetch request from %s refused: malformed",
             gg_peerid_short(&t->peer));
    srv_refuse(t, GGM_ST_BAD_REQUEST, "malformed request");
    return;
  }
  if (m->transfers >= m->max_transfers || peer_count(m, &t->peer) >= m->max_per_peer) {
    m->stats.refused_busy++;
    srv_refuse(t, GGM_ST_BUSY, "too many transfers in progress");
    return;
  }
  uint64_t size = 0;
  int fd = -1;
  int rv = ggs_blob_get(m->store, cid, 0, &fd, &size);
  if (rv != GG_OK) {
    m->stats.refused_missing++;
    srv_refuse(t, rv == GG_ENOTFOUND ? GGM_ST_NOT_FOUND : GGM_ST_ERROR,
               rv == GG_ENOTFOUND ? "no such archive here" : "cannot read the archive");
    return;
  }
  if (size > m->max_archive) {
    close(fd);
    srv_refuse(t, GGM_ST_TOO_BIG, "archive over this node's serving limit");
    return;
  }
  gg_buf b;
  gg_buf_init(&b, m->mem, GGM_FETCH_HDR_MAX + 16);
  rv = ggm_fetch_hdr_encode(GGM_ST_OK, size, NULL, &b);
  if (rv == GG_OK)
    rv = ggn_stream_write(s, gg_buf_ptr(&b), gg_buf_len(&b)) < 0 ? GG_ECLOSED : GG_OK;
  gg_buf_free(&b);
  if (rv != GG_OK) {
    close(fd);
    ggn_stream_reset(s);
    return;
  }
  t->fd = fd;
  t->size = size;
  t->counted = 1;
  m->transfers++;
  peer_count_set(m, &t->peer, peer_count(m, &t->peer) + 1);
  ggn_logf(m->log, GGN_LOG_DEBUG, "serving %llu bytes to %s", (unsigned long long)size,
           gg_peerid_short(&t->peer));
  srv_pump(t);
}

static void srv_writable(ggn_stream *s, void *ud) {
  (void)s;
  srv *t = ud;
  if (t->counted && !t->done) srv_pump(t);
}

static void srv_eof(ggn_stream *s, void *ud) {
  srv *t = ud;
  if (!t->asked) ggn_stream_reset(s); /* closed without asking */
}

static void srv_close(ggn_stream *s, int err, void *ud) {
  (void)s;
  srv *t = ud;
  ggn_market *m = t->m;
  if (err != GG_OK && t->counted)
    ggn_logf(m->log, GGN_LOG_INFO, "transfer to %s ended after %llu of %llu bytes: %s",
             gg_peerid_short(&t->peer), (unsigned long long)t->off, (unsigned long long)t->size,
             gg_strerror(err));
  srv_finish(t);
  if (t->prev)
    t->prev->next = t->next;
  else
    m->servers = t->next;
  if (t->next) t->next->prev = t->prev;
  gg_free(m->mem, t);
  ggn__market_unref(m);
}

static const ggn_stream_callbacks srv_cbs = {
    .on_msg = srv_msg, .on_writable = srv_writable, .on_eof = srv_eof, .on_close = srv_close};

static void on_fetch_stream(ggn_stream *s, void *ud) {
  ggn_market *m = ud;
  srv *t = m->closing ? NULL : gg_calloc(m->mem, 1, sizeof(*t));
  if (!t) {
    ggn_stream_reset(s);
    return;
  }
  t->m = m;
  t->s = s;
  t->fd = -1;
  t->peer = *ggn_stream_peer(s);
  t->next = m->servers;
  if (m->servers) m->servers->prev = t;
  m->servers = t;
  ggn__market_ref(m);
  ggn_stream_set_callbacks(s, &srv_cbs, t);
  if (ggn_stream_read_msgs(s, GGM_FETCH_REQ_MAX) != GG_OK) {
    ggn_stream_reset(s);
    return;
  }
  ggn_stream_set_deadline(s, uv_hrtime() + REQUEST_TIMEOUT);
}
