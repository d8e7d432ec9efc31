/*
 * The host (include/ggen/host.h): lifecycle, listeners, dials and connect jobs, the
 * connection manager, the protocol registry, deferred callbacks and the idle flush.
 *
 * Connection manager:
 *  - max_conns caps connections in any state: inbound ones over it are accepted and closed at
 *    once (logged); a dial over it first closes the oldest upgraded connection that trimming
 *    could close and that has no application stream (our own work goes before idle
 *    connections), else fails with GG_ELIMIT;
 *  - max_pending_handshakes caps inbound connections still upgrading, so a flood of silent
 *    sockets cannot hold many; each of them is dropped at handshake_timeout anyway;
 *  - when more than conn_high_water connections are upgraded, the oldest ones beyond
 *    trim_grace are closed down to conn_low_water, those without application streams first;
 *    protected connections are kept.
 *
 * Invariants: conns is ordered by creation (oldest first); nconns counts every conn in the
 * list, nopen the upgraded ones (up_reported), npending_in the inbound ones still upgrading.
 * A closing host accepts nothing new and is freed once its connections, listeners, DNS
 * requests and deferred callbacks are all gone.
 */
#include <arpa/inet.h>
#include <net/if.h>
#include <sodium.h>
#include <string.h>

#include "ggen/err.h"
#include "host_int.h"

/* A DNS resolution for a dial (/dns, /dns4, /dns6). */
struct ggn_dns {
  uv_getaddrinfo_t req;
  struct ggn_dns *prev, *next;
  ggn_host *h;
  uint16_t port;
  int has_peer;
  gg_peerid peer;
  ggn_dialreq *w;   /* the request to answer when it fails (or NULL with job) */
  ggn_dialjob *job; /* or the job to continue */
};

static void host_check_done(ggn_host *h);
static void dial_addr(ggn_host *h, const gg_maddr *ma, ggn_dialreq *w, ggn_dialjob *job);
static void job_next(ggn_host *h, ggn_dialjob *job);


/* ---- idle flush and deferred callbacks ------------------------------------------------------- */

static void idle_cb(uv_idle_t *i) {
  ggn_host *h = i->data;
  /* deferred results first, in order; new ones wait for the next pass */
  ggn_deferred *d = h->deferred;
  h->deferred = NULL;
  while (d) {
    ggn_deferred *n = d->next;
    if (d->connect_cb) d->connect_cb(h, d->c, d->err, d->ud);
    else if (d->open_cb) d->open_cb(NULL, d->err, d->ud);
    gg_free(h->mem, d);
    d = n;
  }
  /* one pass over the connections dirty now; those made dirty meanwhile go next time */
  ggn_conn *c = h->dirty;
  h->dirty = NULL;
  while (c) {
    ggn_conn *n = c->dirty_next;
    c->dirty = 0;
    c->dirty_next = NULL;
    ggn_conn_flush(c);
    c = n;
  }
  if (!h->dirty && !h->deferred) {
    uv_idle_stop(&h->idle);
    h->idle_on = 0;
  }
  host_check_done(h);
}

static void idle_start(ggn_host *h) {
  if (h->idle_on) return;
  h->idle_on = 1;
  uv_idle_start(&h->idle, idle_cb);
}

void ggn_host_mark_dirty(ggn_conn *c) {
  if (c->dirty) return;
  c->dirty = 1;
  c->dirty_next = c->h->dirty;
  c->h->dirty = c;
  idle_start(c->h);
}

static int defer_push(ggn_host *h, ggn_deferred *d) {
  d->next = NULL;
  ggn_deferred **pp = &h->deferred;
  while (*pp) pp = &(*pp)->next;
  *pp = d;
  idle_start(h);
  return GG_OK;
}

int ggn_host_defer_connect(ggn_host *h, ggn_connect_cb cb, ggn_conn *c, int err, void *ud) {
  ggn_deferred *d = gg_calloc(h->mem, 1, sizeof(*d));
  if (!d) return GG_ENOMEM;
  d->connect_cb = cb;
  d->c = c;
  d->err = err;
  d->ud = ud;
  return defer_push(h, d);
}

int ggn_host_defer_open(ggn_host *h, ggn_open_cb cb, int err, void *ud) {
  ggn_deferred *d = gg_calloc(h->mem, 1, sizeof(*d));
  if (!d) return GG_ENOMEM;
  d->open_cb = cb;
  d->err = err;
  d->ud = ud;
  return defer_push(h, d);
}

void ggn_host_defer_forget(ggn_host *h, ggn_conn *c) {
  for (ggn_deferred *d = h->deferred; d; d = d->next) {
    if (d->c == c) {
      d->c = NULL;
      if (d->err == GG_OK) d->err = GG_ECLOSED;
    }
  }
}

/* Answers every request of a list: with c on success, else with err (from the loop when
 * defer is set, because the caller is inside one of our calls). */
static void answer_all(ggn_host *h, ggn_dialreq *w, ggn_conn *c, int err, int defer) {
  while (w) {
    ggn_dialreq *n = w->next;
    if (c && c->state != C_OPEN) {
      c = NULL;
      err = GG_ECLOSED;
    }
    if (defer) {
      if (ggn_host_defer_connect(h, w->cb, c, err, w->ud) != GG_OK) w->cb(h, c, err, w->ud);
    } else {
      w->cb(h, c, err, w->ud);
    }
    gg_free(h->mem, w);
    w = n;
  }
}

/* ---- registry --------------------------------------------------------------------------------- */

const ggn_proto *ggn_host_find_proto(const ggn_host *h, const char *name, size_t len) {
  for (uint32_t i = 0; i < h->nprotos; i++) {
    const ggn_proto *p = &h->protos[i];
    if (!p->removed && p->len == len && !memcmp(p->name, name, len)) return p;
  }
  return NULL;
}

int ggn_host_handle(ggn_host *h, const char *name, void (*on_stream)(ggn_stream *s, void *ud),
                    void *ud) {
  size_t len = name ? strlen(name) : 0;
  if (len == 0 || len > GGP_MSS_NAME_MAX || memchr(name, '\n', len) || !on_stream)
    return GG_EINVAL;
  /* entries are never freed before the host: streams keep pointing at their names */
  for (uint32_t i = 0; i < h->nprotos; i++) {
    ggn_proto *p = &h->protos[i];
    if (p->len == len && !memcmp(p->name, name, len)) {
      p->on_stream = on_stream;
      p->ud = ud;
      p->removed = 0;
      return GG_OK;
    }
  }
  if (h->nprotos == GGN_MAX_PROTOCOLS) return GG_ELIMIT;
  ggn_proto *p = &h->protos[h->nprotos];
  p->name = gg_strdup(h->mem, name);
  if (!p->name) return GG_ENOMEM;
  p->len = len;
  p->on_stream = on_stream;
  p->ud = ud;
  p->removed = 0;
  h->nprotos++;
  return GG_OK;
}

int ggn_host_unhandle(ggn_host *h, const char *name) {
  ggn_proto *p = (ggn_proto *)ggn_host_find_proto(h, name, strlen(name));
  if (!p) return GG_ENOTFOUND;
  p->removed = 1;
  return GG_OK;
}

size_t ggn_host_protocols(const ggn_host *h, const char **out, size_t cap) {
  size_t n = 0;
  for (uint32_t i = 0; i < h->nprotos; i++) {
    if (h->protos[i].removed) continue;
    if (n < cap) out[n] = h->protos[i].name;
    n++;
  }
  return n;
}

/* ---- observers ------------------------------------------------------------------------------------ */

/* Observers are slots that never move, so one may remove itself (or another) from inside its
 * callback: the loops below read each slot when they reach it. */

int ggn_host_observe(ggn_host *h, const ggn_host_callbacks *cb, void *ud) {
  if (!cb) return GG_EINVAL;
  for (int i = 0; i < GGN_MAX_OBSERVERS; i++) {
    if (h->obs[i].used) continue;
    h->obs[i].cb = *cb;
    h->obs[i].ud = ud;
    h->obs[i].used = 1;
    return GG_OK;
  }
  return GG_ELIMIT;
}

int ggn_host_unobserve(ggn_host *h, void *ud) {
  for (int i = 0; i < GGN_MAX_OBSERVERS; i++) {
    if (h->obs[i].used && h->obs[i].ud == ud) {
      memset(&h->obs[i], 0, sizeof(h->obs[i]));
      return GG_OK;
    }
  }
  return GG_ENOTFOUND;
}

void ggn_host_notify_up(ggn_host *h, ggn_conn *c) {
  if (h->cb.on_conn_up) h->cb.on_conn_up(h, c, h->ud);
  for (int i = 0; i < GGN_MAX_OBSERVERS; i++)
    if (h->obs[i].used && h->obs[i].cb.on_conn_up) h->obs[i].cb.on_conn_up(h, c, h->obs[i].ud);
}

void ggn_host_notify_down(ggn_host *h, ggn_conn *c, int err) {
  if (h->cb.on_conn_down) h->cb.on_conn_down(h, c, err, h->ud);
  for (int i = 0; i < GGN_MAX_OBSERVERS; i++)
    if (h->obs[i].used && h->obs[i].cb.on_conn_down)
      h->obs[i].cb.on_conn_down(h, c, err, h->obs[i].ud);
}

void ggn_host_notify_identify(ggn_host *h, ggn_conn *c, const ggp_identify_msg *m) {
  if (h->cb.on_identify) h->cb.on_identify(h, c, m, h->ud);
  for (int i = 0; i < GGN_MAX_OBSERVERS; i++)
    if (h->obs[i].used && h->obs[i].cb.on_identify)
      h->obs[i].cb.on_identify(h, c, m, h->obs[i].ud);
}

/* ---- connections: creation, upgrade, end -------------------------------------------------------- */

static ggn_conn *conn_alloc(ggn_host *h, int outbound) {
  ggn_conn *c = gg_calloc(h->mem, 1, sizeof(*c));
  if (!c) return NULL;
  c->h = h;
  c->outbound = outbound != 0;
  c->created = ggn_now();
  c->deadline = c->created + (outbound ? h->st.dial_timeout : h->st.handshake_timeout);
  c->stream_deadline = GG_TS_UNSET;
  c->prev = h->conns_tail;
  if (h->conns_tail) h->conns_tail->next = c;
  else h->conns = c;
  h->conns_tail = c;
  h->nconns++;
  return c;
}

static void reject_closed(uv_handle_t *hd) {
  ggn_host *h = hd->data;
  h->reject_busy = 0;
  h->nclosing--;
  host_check_done(h);
}

void ggn_host_accept(ggn_listener *l);
void ggn_host_accept(ggn_listener *l) {
  ggn_host *h = l->ud;
  ggn_conn *c = conn_alloc(h, 0);
  if (!c) {
    /* accept and drop it with the host's spare handle, so that the peer learns at once
     * (libuv would otherwise stop accepting until this connection is taken) */
    ggn_logf(&h->log, GGN_LOG_ERROR, "out of memory accepting a connection: dropped");
    if (!h->reject_busy && uv_tcp_init(h->loop, &h->reject) == 0) {
      h->reject_busy = 1;
      h->nclosing++;
      h->reject.data = h;
      uv_accept((uv_stream_t *)&l->h, (uv_stream_t *)&h->reject);
      uv_close((uv_handle_t *)&h->reject, reject_closed);
    }
    return;
  }
  if (ggn_sock_accept(&h->tcp, l, &c->sock) != GG_OK) {
    c->state = C_CLOSING; /* the socket is closing: ggn_host_conn_freed follows */
    c->close_started = 1;
    return;
  }
  struct sockaddr_storage ss;
  if (ggn_sock_remote_addr(&c->sock, &ss) == GG_OK) memcpy(&c->raddr, &ss, sizeof(c->raddr));
  if (h->closing) {
    ggn_conn_fail(c, GG_OK, NULL);
    return;
  }
  if (h->nconns > h->st.max_conns) {
    ggn_conn_fail(c, GG_ELIMIT, "accept (max_conns reached)");
    return;
  }
  if (h->npending_in >= h->st.max_pending_handshakes) {
    ggn_conn_fail(c, GG_ELIMIT, "accept (too many pending handshakes)");
    return;
  }
  c->pending_hs = 1;
  h->npending_in++;
  ggn_conn_start(c);
}

/* 1 when the connection manager may close c: upgraded, unprotected, past trim_grace, and
 * (idle_only) without application streams. */
static int trimmable(const ggn_host *h, const ggn_conn *c, gg_ts now, int idle_only) {
  return c->state == C_OPEN && !c->protected_ && now - c->upgraded >= h->st.trim_grace &&
         !(idle_only && c->nuser_streams > 0);
}

/* Closes c for the connection manager, counted as trimmed rather than as a local close. */
static void trim_conn(ggn_host *h, ggn_conn *c, const char *why) {
  ggn_conn_fail(c, GG_OK, why);
  h->closes.local--;
  h->closes.trimmed++;
}

static void host_trim(ggn_host *h) {
  if (h->nopen <= h->st.conn_high_water) return;
  uint32_t excess = h->nopen - h->st.conn_low_water;
  gg_ts now = ggn_now();
  /* pass 0: connections without application streams; pass 1: any, oldest first */
  for (int pass = 0; pass < 2 && excess > 0; pass++) {
    for (ggn_conn *c = h->conns; c && excess > 0; c = c->next) {
      if (!trimmable(h, c, now, pass == 0)) continue;
      trim_conn(h, c, "trimming (above the high-water mark)");
      excess--;
    }
  }
}

void ggn_host_conn_upgraded(ggn_conn *c) {
  ggn_host *h = c->h;
  c->up_reported = 1;
  h->nopen++;
  ggn_peer *p = ggn_pstore_ensure(&h->ps, &c->peer, c->upgraded);
  if (p) {
    p->nconns++;
    if (c->outbound) {
      gg_maddr ma;
      if (ggn_conn_remote_addr(c, &ma) == GG_OK) ggn_pstore_add_addr(&h->ps, p, ma.b, ma.len);
    }
  }
  ggn_logf(&h->log, GGN_LOG_INFO, "connection %s %s up (muxer via %s)",
           c->outbound ? "to" : "from", gg_peerid_short(&c->peer),
           c->via_noise ? "noise extension" : "multistream-select");
  ggn_dialreq *w = c->waiters;
  c->waiters = NULL;
  if (c->job) {
    ggn_dialjob *job = c->job;
    c->job = NULL;
    ggn_dialreq **pp = &w;
    while (*pp) pp = &(*pp)->next;
    *pp = job->waiters;
    job->waiters = NULL;
    if (job->prev) job->prev->next = job->next;
    else h->jobs = job->next;
    if (job->next) job->next->prev = job->prev;
    gg_free(h->mem, job->addrs);
    gg_free(h->mem, job);
  }
  ggn_services_conn_up(c);
  ggn_host_notify_up(h, c);
  answer_all(h, w, c, GG_OK, 0);
  host_trim(h);
}

void ggn_host_conn_freed(ggn_conn *c) {
  ggn_host *h = c->h;
  int err = c->close_err;
  if (c->pending_hs) {
    c->pending_hs = 0;
    h->npending_in--;
  }
  if (c->up_reported) {
    h->nopen--;
    ggn_peer *p = ggn_pstore_get(&h->ps, &c->peer);
    if (p && p->nconns) {
      p->nconns--;
      p->last_seen = ggn_now();
    }
    ggn_streams_conn_down(c, err == GG_OK ? GG_ECLOSED : err);
    ggn_host_notify_down(h, c, err);
  } else {
    int derr = err == GG_OK ? GG_ECANCELED : err;
    answer_all(h, c->waiters, NULL, derr, 0);
    c->waiters = NULL;
    if (c->job) {
      ggn_dialjob *job = c->job;
      c->job = NULL;
      job->last_err = derr;
      job_next(h, job);
    }
  }
  if (c->dirty) {
    ggn_conn **pp = &h->dirty;
    while (*pp && *pp != c) pp = &(*pp)->dirty_next;
    if (*pp) *pp = c->dirty_next;
  }
  ggn_host_defer_forget(h, c);
  if (c->prev) c->prev->next = c->next;
  else h->conns = c->next;
  if (c->next) c->next->prev = c->prev;
  else h->conns_tail = c->prev;
  h->nconns--;
  ggp_yamux_del(c->yamux);
  ggp_noise_del(c->noise);
  ggp_mss_del(c->mss);
  gg_free(h->mem, c);
  host_check_done(h);
}

/* ---- dialing ------------------------------------------------------------------------------------ */

/* At max_conns: closes the oldest open, unprotected connection past trim_grace without
 * application streams, so that a dial can go ahead (the cap is exceeded by one until its
 * socket is gone). 1 when one was closed. */
static int host_make_room(ggn_host *h) {
  gg_ts now = ggn_now();
  for (ggn_conn *c = h->conns; c; c = c->next) {
    if (!trimmable(h, c, now, 1)) continue;
    trim_conn(h, c, "trimming (room for a dial at max_conns)");
    return 1;
  }
  return 0;
}

static void conn_dial(ggn_host *h, const struct sockaddr *sa, const gg_peerid *expect,
                      ggn_dialreq *w, ggn_dialjob *job) {
  int err = GG_OK;
  if (h->closing) err = GG_ECANCELED;
  else if (h->nconns >= h->st.max_conns && !host_make_room(h)) err = GG_ELIMIT;
  ggn_conn *c = err ? NULL : conn_alloc(h, 1);
  if (!c && !err) err = GG_ENOMEM;
  if (err) {
    if (job) {
      job->last_err = err;
      job_next(h, job);
    }
    answer_all(h, w, NULL, err, 1);
    return;
  }
  if (expect) {
    c->peer = *expect;
    c->has_expected = 1;
  }
  memcpy(&c->raddr, sa,
         sa->sa_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
  c->waiters = w;
  c->job = job;
  c->state = C_DIALING;
  ggn_sock_dial(&h->tcp, &c->sock, sa);
  ggn_conn_rearm(c);
}

static void dns_cb(uv_getaddrinfo_t *req, int status, struct addrinfo *res) {
  ggn_dns *d = container_of(req, ggn_dns, req);
  ggn_host *h = d->h;
  if (d->prev) d->prev->next = d->next;
  else h->dns = d->next;
  if (d->next) d->next->prev = d->prev;
  h->nclosing--;
  struct addrinfo *ai = res;
  while (ai && ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ai = ai->ai_next;
  if (status == 0 && ai && !h->closing) {
    struct sockaddr_in6 sa;
    memcpy(&sa, ai->ai_addr, ai->ai_addrlen < sizeof(sa) ? ai->ai_addrlen : sizeof(sa));
    if (ai->ai_family == AF_INET) ((struct sockaddr_in *)&sa)->sin_port = htons(d->port);
    else sa.sin6_port = htons(d->port);
    conn_dial(h, (struct sockaddr *)&sa, d->has_peer ? &d->peer : NULL, d->w, d->job);
  } else {
    int err = h->closing ? GG_ECANCELED : GG_EUNREACHABLE;
    if (status != 0 && status != UV_ECANCELED)
      ggn_logf(&h->log, GGN_LOG_INFO, "DNS resolution failed: %s", uv_strerror(status));
    if (d->job) {
      d->job->last_err = err;
      job_next(h, d->job);
    }
    answer_all(h, d->w, NULL, err, 0);
  }
  uv_freeaddrinfo(res);
  gg_free(h->mem, d);
  host_check_done(h);
}

/* Dials one multiaddr; failures go to the job (next address) and to w. */
static void dial_addr(ggn_host *h, const gg_maddr *ma, ggn_dialreq *w, ggn_dialjob *job) {
  gg_maddr_dial d;
  int rv = gg_maddr_dial_info(ma, &d);
  if (rv == GG_OK && d.transport != GG_MA_TCP) rv = GG_EUNSUPPORTED;
  const gg_peerid *expect = job ? &job->peer : d.has_peer ? &d.peer : NULL;
  if (rv == GG_OK && (d.host_proto == GG_MA_IP4 || d.host_proto == GG_MA_IP6)) {
    struct sockaddr_in6 sa;
    memset(&sa, 0, sizeof(sa));
    if (d.host_proto == GG_MA_IP4) {
      struct sockaddr_in *a = (struct sockaddr_in *)&sa;
      a->sin_family = AF_INET;
      memcpy(&a->sin_addr, d.ip, 4);
      a->sin_port = htons(d.port);
    } else {
      sa.sin6_family = AF_INET6;
      memcpy(&sa.sin6_addr, d.ip, 16);
      sa.sin6_port = htons(d.port);
      if (strchr(d.host, '%')) sa.sin6_scope_id = if_nametoindex(strchr(d.host, '%') + 1);
    }
    conn_dial(h, (struct sockaddr *)&sa, expect, w, job);
    return;
  }
  if (rv == GG_OK) { /* a DNS name */
    ggn_dns *dn = gg_calloc(h->mem, 1, sizeof(*dn));
    if (dn) {
      dn->h = h;
      dn->port = d.port;
      dn->w = w;
      dn->job = job;
      if (expect) {
        dn->has_peer = 1;
        dn->peer = *expect;
      }
      struct addrinfo hints = {.ai_socktype = SOCK_STREAM};
      hints.ai_family = d.host_proto == GG_MA_DNS4 ? AF_INET
                        : d.host_proto == GG_MA_DNS6 ? AF_INET6
                                                     : AF_UNSPEC;
      if (uv_getaddrinfo(h->loop, &dn->req, dns_cb, d.host, NULL, &hints) == 0) {
        dn->next = h->dns;
        if (h->dns) h->dns->prev = dn;
        h->dns = dn;
        h->nclosing++;
        return;
      }
      gg_free(h->mem, dn);
    }
    rv = dn ? GG_EUNREACHABLE : GG_ENOMEM;
  }
  if (job) {
    job->last_err = rv == GG_EUNSUPPORTED ? GG_EUNREACHABLE : rv;
    job_next(h, job);
  }
  answer_all(h, w, NULL, rv == GG_EUNSUPPORTED ? GG_EUNREACHABLE : rv, 1);
}

static void job_next(ggn_host *h, ggn_dialjob *job) {
  if (job->next_addr < job->naddrs && !h->closing) {
    gg_maddr ma = job->addrs[job->next_addr++];
    dial_addr(h, &ma, NULL, job);
    return;
  }
  if (job->prev) job->prev->next = job->next;
  else h->jobs = job->next;
  if (job->next) job->next->prev = job->prev;
  int err = h->closing ? GG_ECANCELED : job->last_err ? job->last_err : GG_EUNREACHABLE;
  /* job_next runs inside our own calls (a failed dial_addr) as well as from callbacks */
  answer_all(h, job->waiters, NULL, err, 1);
  gg_free(h->mem, job->addrs);
  gg_free(h->mem, job);
}

static ggn_dialreq *dialreq_new(ggn_host *h, ggn_connect_cb cb, void *ud) {
  ggn_dialreq *w = gg_calloc(h->mem, 1, sizeof(*w));
  if (w) {
    w->cb = cb;
    w->ud = ud;
  }
  return w;
}

/* An outbound connection to peer still upgrading, whose waiters we can join. */
static ggn_conn *conn_pending_to(const ggn_host *h, const gg_peerid *peer) {
  for (ggn_conn *c = h->conns_tail; c; c = c->prev)
    if (c->state < C_OPEN && c->outbound && c->has_expected && gg_peerid_eq(&c->peer, peer))
      return c;
  return NULL;
}

int ggn_host_dial(ggn_host *h, const gg_maddr *addr, ggn_connect_cb cb, void *ud) {
  gg_maddr_dial d;
  int rv = gg_maddr_dial_info(addr, &d);
  if (rv != GG_OK || d.transport != GG_MA_TCP) return GG_EUNSUPPORTED;
  if (h->closing) return ggn_host_defer_connect(h, cb, NULL, GG_ECANCELED, ud);
  if (d.has_peer) {
    if (gg_peerid_eq(&d.peer, &h->id)) return GG_EINVAL;
    ggn_conn *c = ggn_host_conn_to(h, &d.peer);
    if (c) return ggn_host_defer_connect(h, cb, c, GG_OK, ud);
  }
  ggn_dialreq *w = dialreq_new(h, cb, ud);
  if (!w) return GG_ENOMEM;
  if (d.has_peer) {
    ggn_conn *pc = conn_pending_to(h, &d.peer);
    if (pc) {
      w->next = pc->waiters;
      pc->waiters = w;
      return GG_OK;
    }
  }
  dial_addr(h, addr, w, NULL);
  return GG_OK;
}

int ggn_host_connect(ggn_host *h, const gg_peerid *peer, ggn_connect_cb cb, void *ud) {
  if (gg_peerid_eq(peer, &h->id)) return GG_EINVAL;
  if (h->closing) return ggn_host_defer_connect(h, cb, NULL, GG_ECANCELED, ud);
  ggn_conn *c = ggn_host_conn_to(h, peer);
  if (c) return ggn_host_defer_connect(h, cb, c, GG_OK, ud);
  ggn_dialreq *w = dialreq_new(h, cb, ud);
  if (!w) return GG_ENOMEM;
  ggn_conn *pc = conn_pending_to(h, peer);
  if (pc) {
    w->next = pc->waiters;
    pc->waiters = w;
    return GG_OK;
  }
  for (ggn_dialjob *j = h->jobs; j; j = j->next) {
    if (gg_peerid_eq(&j->peer, peer)) {
      w->next = j->waiters;
      j->waiters = w;
      return GG_OK;
    }
  }
  ggn_dialjob *job = gg_calloc(h->mem, 1, sizeof(*job));
  size_t n = ggn_host_peer_addrs(h, peer, NULL, 0);
  if (job && n) job->addrs = gg_malloc(h->mem, n * sizeof(gg_maddr));
  if (!job || (n && !job->addrs)) {
    gg_free(h->mem, job);
    gg_free(h->mem, w);
    return GG_ENOMEM;
  }
  /* newest address first: the one most recently learned or seen working */
  gg_maddr *tmp = job->addrs;
  job->naddrs = (uint32_t)ggn_host_peer_addrs(h, peer, tmp, n);
  for (uint32_t i = 0; i < job->naddrs / 2; i++) {
    gg_maddr t = tmp[i];
    tmp[i] = tmp[job->naddrs - 1 - i];
    tmp[job->naddrs - 1 - i] = t;
  }
  job->peer = *peer;
  job->waiters = w;
  job->last_err = GG_EUNREACHABLE;
  job->next = h->jobs;
  if (h->jobs) h->jobs->prev = job;
  h->jobs = job;
  job_next(h, job);
  return GG_OK;
}

ggn_conn *ggn_host_conn_to(const ggn_host *h, const gg_peerid *peer) {
  for (ggn_conn *c = h->conns_tail; c; c = c->prev)
    if (c->state == C_OPEN && gg_peerid_eq(&c->peer, peer)) return c;
  return NULL;
}

/* ---- opening streams by peer id ------------------------------------------------------------------ */

typedef struct open_req {
  ggn_open_cb cb;
  void *ud;
  unsigned flags;
  size_t n;
  char *protos[]; /* n copies */
} open_req;

static void open_req_free(ggn_host *h, open_req *r) {
  for (size_t i = 0; i < r->n; i++) gg_free(h->mem, r->protos[i]);
  gg_free(h->mem, r);
}

static void open_connected(ggn_host *h, ggn_conn *c, int err, void *ud) {
  open_req *r = ud;
  if (err == GG_OK) {
    err = ggn_stream_open_internal(c, (const char *const *)r->protos, r->n, r->flags, r->cb,
                                   r->ud);
    if (err == GG_OK) {
      open_req_free(h, r);
      return;
    }
  }
  r->cb(NULL, err, r->ud);
  open_req_free(h, r);
}

int ggn_host_open_stream(ggn_host *h, const gg_peerid *peer, const char *const *protos,
                         size_t n, ggn_open_cb cb, void *ud) {
  return ggn_host_open_stream_ex(h, peer, protos, n, 0, cb, ud);
}

int ggn_host_open_stream_ex(ggn_host *h, const gg_peerid *peer, const char *const *protos,
                            size_t n, unsigned flags, ggn_open_cb cb, void *ud) {
  if (n == 0 || !cb || gg_peerid_eq(peer, &h->id)) return GG_EINVAL;
  ggn_conn *c = ggn_host_conn_to(h, peer);
  if (c) return ggn_stream_open_internal(c, protos, n, flags, cb, ud);
  open_req *r = gg_calloc(h->mem, 1, sizeof(*r) + n * sizeof(char *));
  if (!r) return GG_ENOMEM;
  r->cb = cb;
  r->ud = ud;
  r->flags = flags;
  for (size_t i = 0; i < n; i++) {
    size_t l = protos[i] ? strlen(protos[i]) : 0;
    if (l == 0 || l > GGP_MSS_NAME_MAX || memchr(protos[i], '\n', l)) {
      open_req_free(h, r);
      return GG_EINVAL;
    }
    r->protos[i] = gg_strdup(h->mem, protos[i]);
    r->n = i + 1;
    if (!r->protos[i]) {
      open_req_free(h, r);
      return GG_ENOMEM;
    }
  }
  int rv = ggn_host_connect(h, peer, open_connected, r);
  if (rv != GG_OK) open_req_free(h, r);
  return rv;
}

/* ---- listening ---------------------------------------------------------------------------------- */

static int sockaddr_to_maddr(const struct sockaddr *sa, gg_maddr *ma) {
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *a = (const struct sockaddr_in *)sa;
    return gg_maddr_from_ip(ma, 4, (const uint8_t *)&a->sin_addr, GG_MA_TCP, ntohs(a->sin_port));
  }
  if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;
    return gg_maddr_from_ip(ma, 6, (const uint8_t *)&a->sin6_addr, GG_MA_TCP,
                            ntohs(a->sin6_port));
  }
  return GG_EINVAL;
}

static int add_laddr(ggn_host *h, const gg_maddr *ma) {
  for (uint32_t i = 0; i < h->nladdrs; i++)
    if (gg_maddr_eq(&h->laddrs[i], ma)) return GG_OK;
  if (h->nladdrs == GGN_MAX_LISTEN_ADDRS) return GG_OK;
  gg_maddr *n = gg_realloc(h->mem, h->laddrs, (h->nladdrs + 1) * sizeof(gg_maddr));
  if (!n) return GG_ENOMEM;
  h->laddrs = n;
  h->laddrs[h->nladdrs++] = *ma;
  return GG_OK;
}

/* Announced addresses for a bound one: an unspecified address (0.0.0.0, ::) stands for every
 * interface address of its family, which is what a remote can dial. */
static int announce(ggn_host *h, const struct sockaddr_storage *bound) {
  int unspec = 0;
  uint16_t port = 0;
  if (bound->ss_family == AF_INET) {
    const struct sockaddr_in *a = (const struct sockaddr_in *)bound;
    unspec = a->sin_addr.s_addr == htonl(INADDR_ANY);
    port = a->sin_port;
  } else {
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)bound;
    unspec = IN6_IS_ADDR_UNSPECIFIED(&a->sin6_addr);
    port = a->sin6_port;
  }
  gg_maddr ma;
  if (!unspec) {
    if (sockaddr_to_maddr((const struct sockaddr *)bound, &ma) != GG_OK) return GG_EINVAL;
    return add_laddr(h, &ma);
  }
  uv_interface_address_t *ifs = NULL;
  int nifs = 0;
  if (uv_interface_addresses(&ifs, &nifs) != 0) return GG_EIO;
  int rv = GG_OK;
  for (int i = 0; i < nifs && rv == GG_OK; i++) {
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    if (ifs[i].address.address4.sin_family != bound->ss_family) continue;
    if (bound->ss_family == AF_INET) {
      memcpy(&ss, &ifs[i].address.address4, sizeof(struct sockaddr_in));
      ((struct sockaddr_in *)&ss)->sin_port = port;
    } else {
      if (IN6_IS_ADDR_LINKLOCAL(&ifs[i].address.address6.sin6_addr)) continue;
      memcpy(&ss, &ifs[i].address.address6, sizeof(struct sockaddr_in6));
      ((struct sockaddr_in6 *)&ss)->sin6_port = port;
    }
    if (sockaddr_to_maddr((const struct sockaddr *)&ss, &ma) == GG_OK) rv = add_laddr(h, &ma);
  }
  uv_free_interface_addresses(ifs, nifs);
  return rv;
}

int ggn_host_listen(ggn_host *h, const gg_maddr *addr) {
  gg_maddr_dial d;
  int rv = gg_maddr_dial_info(addr, &d);
  if (rv != GG_OK || d.transport != GG_MA_TCP ||
      (d.host_proto != GG_MA_IP4 && d.host_proto != GG_MA_IP6) || d.has_peer)
    return GG_EUNSUPPORTED;
  if (h->closing) return GG_ESTATE;
  if (h->nlisteners == GGN_MAX_LISTENERS) return GG_ELIMIT;
  struct sockaddr_in6 sa;
  memset(&sa, 0, sizeof(sa));
  if (d.host_proto == GG_MA_IP4) {
    struct sockaddr_in *a = (struct sockaddr_in *)&sa;
    a->sin_family = AF_INET;
    memcpy(&a->sin_addr, d.ip, 4);
    a->sin_port = htons(d.port);
  } else {
    sa.sin6_family = AF_INET6;
    memcpy(&sa.sin6_addr, d.ip, 16);
    sa.sin6_port = htons(d.port);
  }
  gg_maddr *nb = gg_realloc(h->mem, h->baddrs, (h->nbaddrs + 1) * sizeof(gg_maddr));
  if (!nb) return GG_ENOMEM;
  h->baddrs = nb;
  ggn_listener *l = NULL;
  rv = ggn_listener_open(&h->tcp, (struct sockaddr *)&sa, 0, h, &l);
  if (rv != GG_OK) return rv;
  struct sockaddr_storage bound;
  if (ggn_listener_addr(l, &bound) != GG_OK ||
      sockaddr_to_maddr((struct sockaddr *)&bound, &h->baddrs[h->nbaddrs]) != GG_OK) {
    h->nclosing++;
    ggn_listener_close(l, NULL);
    return GG_EIO;
  }
  h->nbaddrs++;
  h->listeners[h->nlisteners++] = l;
  rv = announce(h, &bound);
  char text[GG_MADDR_STR_MAX];
  gg_maddr_to_str(&h->baddrs[h->nbaddrs - 1], text, sizeof(text));
  ggn_logf(&h->log, GGN_LOG_INFO, "listening on %s", text);
  return rv;
}

size_t ggn_host_listen_addrs(const ggn_host *h, gg_maddr *out, size_t cap) {
  for (uint32_t i = 0; i < h->nbaddrs && i < cap; i++) out[i] = h->baddrs[i];
  return h->nbaddrs;
}

/* ---- life cycle ------------------------------------------------------------------------------------ */

/* ---- life cycle ------------------------------------------------------------------------------------ */

#define DEF(field, v)                                                                              \
  if (!st->field) st->field = (v)

static void apply_defaults(ggn_host_settings *st) {
  DEF(dial_timeout, GG_SEC(10));
  DEF(handshake_timeout, GG_SEC(10));
  DEF(negotiate_timeout, GG_SEC(10));
  DEF(identify_timeout, GG_SEC(5));
  DEF(max_conns, 1024);
  DEF(conn_high_water, st->max_conns < 512 ? st->max_conns : 512);
  DEF(conn_low_water, st->conn_high_water * 3 / 4);
  DEF(trim_grace, GG_SEC(20));
  DEF(max_pending_handshakes, 64);
  DEF(max_streams_per_conn, 1000);
  DEF(max_msg_size, 4u << 20);
  DEF(stream_write_buffer, (4u << 20) + (64u << 10));
  DEF(peerstore_max_peers, 4096);
  DEF(peerstore_max_addrs, 16);
  DEF(peerstore_max_protocols, 128);
}

int ggn_host_new(ggn_host **ph, uv_loop_t *loop, const ggn_host_settings *st_in,
                 const ggn_host_callbacks *cb, void *ud) {
  if (!st_in || !st_in->identity || !loop) return GG_EINVAL;
  ggn_host_settings st = *st_in;
  apply_defaults(&st);
  if (st.conn_low_water > st.conn_high_water || st.conn_high_water > st.max_conns)
    return GG_EINVAL;
  const gg_mem *mem = st.mem;
  ggn_host *h = gg_calloc(mem, 1, sizeof(*h));
  if (!h) return GG_ENOMEM;
  h->loop = loop;
  h->st = st;
  if (cb) h->cb = *cb;
  h->ud = ud;
  h->mem = mem;
  h->rand = st.rand ? st.rand : gg_rand_system();
  h->key = *st.identity;
  h->st.identity = &h->key;
  gg_peerid_from_ed25519(&h->id, h->key.pub);
  gg_pubkey_encode_ed25519(h->key.pub, h->pubkey_pb);
  if (st.log) h->log = *st.log;
  else ggn_log_init(&h->log, GGN_LOG_WARN, NULL);
  if (!h->log.name[0]) snprintf(h->log.name, sizeof(h->log.name), "%s", gg_peerid_short(&h->id));
  h->st.log = &h->log;
  h->agent = gg_strdup(mem, st.agent_version ? st.agent_version : GGP_IDENTIFY_AGENT_VERSION);
  h->pver = gg_strdup(mem, st.protocol_version ? st.protocol_version
                                               : GGP_IDENTIFY_PROTOCOL_VERSION);
  static const char *const muxers[] = {GGP_YAMUX_PROTOCOL_ID};
  int rv = h->agent && h->pver ? GG_OK : GG_ENOMEM;
  if (rv == GG_OK)
    rv = ggp_noise_local_new(&h->noise_local, &h->key, muxers, st.no_noise_muxers ? 0 : 1, NULL,
                             h->rand, mem);
  if (rv != GG_OK) {
    gg_free(mem, h->agent);
    gg_free(mem, h->pver);
    gg_free(mem, h);
    return rv;
  }
  ggn_tcp_init(&h->tcp, loop, &ggn_conn_tcp_cbs, &st.latency, h->rand, mem, &h->log);
  ggn_pstore_init(&h->ps, mem, h->rand, st.peerstore_max_peers, st.peerstore_max_addrs,
                  st.peerstore_max_protocols);
  /* plain holds one read's worth of decrypted bytes plus a frame completed from before */
  gg_buf_init(&h->plain, mem, h->tcp.rbuf_size + 2 * (GGP_NOISE_MSG_MAX + 2));
  gg_buf_init(&h->tmp, mem, 4 * (GGP_MSS_NAME_MAX + 8) + GGP_NOISE_MSG_MAX + 2);
  uv_idle_init(loop, &h->idle);
  h->idle.data = h;
  rv = ggn_services_register(h);
  if (rv != GG_OK) {
    /* the idle handle needs an asynchronous close: hand over to the normal close path */
    ggn_host_close(h, NULL, NULL);
    return rv;
  }
  *ph = h;
  return GG_OK;
}

static void host_free(ggn_host *h) {
  const gg_mem *mem = h->mem;
  void (*cb)(void *) = h->on_closed;
  void *ud = h->closed_ud;
  ggp_noise_local_del(h->noise_local);
  ggn_pstore_free(&h->ps);
  gg_buf_free(&h->plain);
  gg_buf_free(&h->tmp);
  ggn_tcp_free(&h->tcp);
  for (uint32_t i = 0; i < h->nprotos; i++) gg_free(mem, h->protos[i].name);
  gg_free(mem, h->laddrs);
  gg_free(mem, h->baddrs);
  gg_free(mem, h->agent);
  gg_free(mem, h->pver);
  sodium_memzero(&h->key, sizeof(h->key));
  gg_free(mem, h);
  if (cb) cb(ud);
}

static void idle_closed(uv_handle_t *hd) { host_free(hd->data); }

static void host_check_done(ggn_host *h) {
  if (!h->closing || h->nconns || h->nclosing || h->deferred || h->dirty || h->jobs) return;
  if (uv_is_closing((uv_handle_t *)&h->idle)) return;
  uv_close((uv_handle_t *)&h->idle, idle_closed);
}

static void listener_closed(ggn_listener *l) {
  ggn_host *h = l->ud;
  h->nclosing--;
  host_check_done(h);
}

void ggn_host_close(ggn_host *h, void (*on_closed)(void *ud), void *ud) {
  if (h->closing) return;
  h->closing = 1;
  h->on_closed = on_closed;
  h->closed_ud = ud;
  for (uint32_t i = 0; i < h->nlisteners; i++) {
    h->nclosing++;
    ggn_listener_close(h->listeners[i], listener_closed);
  }
  h->nlisteners = 0;
  for (ggn_dns *d = h->dns; d; d = d->next) uv_cancel((uv_req_t *)&d->req);
  for (ggn_conn *c = h->conns; c; c = c->next) ggn_conn_fail(c, GG_OK, NULL);
  idle_start(h); /* runs the closing sequences, then host_check_done */
}

const gg_peerid *ggn_host_peer_id(const ggn_host *h) { return &h->id; }
const gg_keypair *ggn_host_identity(const ggn_host *h) { return &h->key; }
const ggn_log *ggn_host_log(const ggn_host *h) { return &h->log; }
uv_loop_t *ggn_host_loop(const ggn_host *h) { return h->loop; }
size_t ggn_host_conn_count(const ggn_host *h) { return h->nconns; }
size_t ggn_host_conn_count_open(const ggn_host *h) { return h->nopen; }

size_t ggn_host_conn_high_water(const ggn_host *h) { return h->st.conn_high_water; }

void ggn_host_get_closes(const ggn_host *h, ggn_host_closes *out) { *out = h->closes; }

/* ---- connection accessors ------------------------------------------------------------------------- */

void ggn_conn_protect(ggn_conn *c, int protect) { c->protected_ = protect != 0; }
const gg_peerid *ggn_conn_peer(const ggn_conn *c) { return &c->peer; }
ggn_host *ggn_conn_host(const ggn_conn *c) { return c->h; }
int ggn_conn_outbound(const ggn_conn *c) { return c->outbound; }
int ggn_conn_muxer_via_noise(const ggn_conn *c) { return c->via_noise; }
size_t ggn_conn_stream_count(const ggn_conn *c) { return c->nstreams; }

int ggn_conn_remote_addr(const ggn_conn *c, gg_maddr *out) {
  if (c->raddr.sin6_family != AF_INET && c->raddr.sin6_family != AF_INET6) return GG_EIO;
  return sockaddr_to_maddr((const struct sockaddr *)&c->raddr, out) == GG_OK ? GG_OK : GG_EIO;
}

gg_ts ggn_conn_rtt(const ggn_conn *c) {
  if (!c->yamux) return GG_TS_UNSET;
  ggp_yamux_info info;
  ggp_yamux_get_info(c->yamux, &info);
  return info.rtt;
}

/* ---- peer store accessors -------------------------------------------------------------------------- */

int ggn_host_add_addr(ggn_host *h, const gg_peerid *peer, const gg_maddr *addr) {
  gg_maddr t;
  gg_peerid in;
  gg_maddr_split_peer(addr, &t, &in);
  if (t.len == 0 || gg_peerid_eq(peer, &h->id)) return GG_EINVAL;
  ggn_peer *p = ggn_pstore_ensure(&h->ps, peer, ggn_now());
  if (!p) return GG_ENOMEM;
  return ggn_pstore_add_addr(&h->ps, p, t.b, t.len);
}

size_t ggn_host_peer_addrs(const ggn_host *h, const gg_peerid *peer, gg_maddr *out, size_t cap) {
  const ggn_peer *p = ggn_pstore_get(&h->ps, peer);
  if (!p) return 0;
  for (uint32_t i = 0; i < p->naddrs && i < cap; i++) {
    out[i].len = p->addrs[i]->len;
    memcpy(out[i].b, p->addrs[i]->b, p->addrs[i]->len);
  }
  return p->naddrs;
}

size_t ggn_host_peer_protocols(const ggn_host *h, const gg_peerid *peer, const char **out,
                               size_t cap) {
  const ggn_peer *p = ggn_pstore_get(&h->ps, peer);
  if (!p) return 0;
  for (uint32_t i = 0; i < p->nprotos && i < cap; i++) out[i] = p->protos[i];
  return p->nprotos;
}

int ggn_host_peer_supports(const ggn_host *h, const gg_peerid *peer, const char *name) {
  const ggn_peer *p = ggn_pstore_get(&h->ps, peer);
  if (!p) return 0;
  for (uint32_t i = 0; i < p->nprotos; i++)
    if (!strcmp(p->protos[i], name)) return 1;
  return 0;
}

const char *ggn_host_peer_agent(const ggn_host *h, const gg_peerid *peer) {
  const ggn_peer *p = ggn_pstore_get(&h->ps, peer);
  return p ? p->agent : NULL;
}

const char *ggn_host_peer_protocol_version(const ggn_host *h, const gg_peerid *peer) {
  const ggn_peer *p = ggn_pstore_get(&h->ps, peer);
  return p ? p->pver : NULL;
}

size_t ggn_host_peer_count(const ggn_host *h) { return gg_map_count(&h->ps.map); }
