/*
 * TCP transport with user-space latency injection (src/net/tcp_int.h, include/ggen/netsim.h).
 *
 * Invariants:
 *  - every socket owns two handles (the TCP handle and one timer) from dial/accept on;
 *    on_closed is called when both close callbacks have run;
 *  - the timer is armed for min(owner deadline, delayed dial completion, head of the delayed
 *    queue when delivery is not paused); timer_at records what it is armed for;
 *  - delayed chunks are delivered in arrival order: each one's delivery time is at least its
 *    predecessor's, so jitter never reorders a stream;
 *  - reading from the kernel is on iff connected, not paused by the owner, the delayed queue
 *    is under delay_cap, no EOF seen and not closing.
 */
#include "tcp_int.h"

#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ggen/err.h"

#define GRACEFUL_CLOSE_NS GG_SEC(2)

/* A block handed to ggn_sock_write: the libuv request, then the bytes. */
typedef struct wblock {
  uv_write_t req;
  ggn_sock *s;
  size_t len;
  _Alignas(16) uint8_t data[];
} wblock;

/* A received chunk held back by latency injection; len 0 with err != 0 marks the end. */
typedef struct ggn_dchunk {
  struct ggn_dchunk *next;
  gg_ts at;
  size_t len;
  int err;
  uint8_t data[];
} ggn_dchunk;

static void sock_update_reading(ggn_sock *s);
static void sock_arm(ggn_sock *s);

void ggn_tcp_init(ggn_tcp *t, uv_loop_t *loop, const ggn_tcp_cbs *cbs, const ggn_latency *lat,
                  const gg_rand *rand, const gg_mem *mem, const ggn_log *log) {
  memset(t, 0, sizeof(*t));
  t->loop = loop;
  t->cbs = *cbs;
  if (lat) t->lat = *lat;
  t->rand = rand ? rand : gg_rand_system();
  t->mem = mem;
  t->log = log;
  /* one buffer per transport, not per socket: 256 KiB reads hold about four whole Noise
   * messages, so most are decrypted in place and few straddle two reads (with 64 KiB reads
   * nearly every 65553-byte message did and was copied), and bulk input needs 4x fewer reads */
  t->rbuf_size = 256 * 1024;
  t->write_high = 256 * 1024;
  t->write_low = 64 * 1024;
  t->delay_cap = 4 * 1024 * 1024;
}

void ggn_tcp_free(ggn_tcp *t) {
  gg_free(t->mem, t->rbuf);
  t->rbuf = NULL;
}

/* ---- latency draws ------------------------------------------------------------------ */

static double rand_unit(const gg_rand *r) { /* uniform in [0, 1) */
  return (double)(gg_rand_u64(r) >> 11) * (1.0 / 9007199254740992.0);
}

static uint64_t draw_conn_delay(ggn_tcp *t) {
  const ggn_latency *l = &t->lat;
  double d = (double)l->delay_ns, sp = (double)l->spread_ns;
  switch (l->dist) {
  case GGN_DELAY_UNIFORM: d += (2.0 * rand_unit(t->rand) - 1.0) * sp; break;
  case GGN_DELAY_NORMAL: { /* Box-Muller */
    double u1 = rand_unit(t->rand), u2 = rand_unit(t->rand);
    if (u1 < 1e-300) u1 = 1e-300;
    d += sp * sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
    break;
  }
  default: break;
  }
  return d <= 0 ? 0 : (uint64_t)d;
}

static uint64_t draw_jitter(ggn_tcp *t) {
  return t->lat.jitter_ns ? gg_rand_below(t->rand, t->lat.jitter_ns + 1) : 0;
}

static int delaying(const ggn_sock *s) { return s->delay_ns > 0 || s->tcp->lat.jitter_ns > 0; }

/* ---- closing -------------------------------------------------------------------------- */

static void sock_handle_closed(uv_handle_t *h) {
  ggn_sock *s = h->data;
  if (--s->nopen == 0) s->tcp->cbs.on_closed(s);
}

static void sock_free_queue(ggn_sock *s) {
  ggn_dchunk *c = s->qhead;
  while (c) {
    ggn_dchunk *n = c->next;
    gg_free(s->tcp->mem, c);
    c = n;
  }
  s->qhead = s->qtail = NULL;
  s->qbytes = 0;
}

static void sock_close_now(ggn_sock *s) {
  sock_free_queue(s);
  s->reading = 0;
  if (!uv_is_closing((uv_handle_t *)&s->h)) uv_close((uv_handle_t *)&s->h, sock_handle_closed);
  if (!uv_is_closing((uv_handle_t *)&s->timer))
    uv_close((uv_handle_t *)&s->timer, sock_handle_closed);
}

static void shutdown_cb(uv_shutdown_t *req, int status) {
  (void)status;
  sock_close_now(req->data);
}

void ggn_sock_close(ggn_sock *s, int graceful) {
  if (s->closing) return;
  s->closing = 1;
  s->connect_at = GG_TS_UNSET;
  sock_free_queue(s);
  sock_update_reading(s);
  if (graceful && s->connected && uv_stream_get_write_queue_size((uv_stream_t *)&s->h) > 0) {
    s->sreq.data = s;
    if (uv_shutdown(&s->sreq, (uv_stream_t *)&s->h, shutdown_cb) == 0) {
      /* bounded: a peer that never reads must not keep the socket open forever */
      s->deadline = ggn_now() + GRACEFUL_CLOSE_NS;
      sock_arm(s);
      return;
    }
  }
  sock_close_now(s);
}

/* ---- timer ----------------------------------------------------------------------------- */

static void deliver_due(ggn_sock *s, gg_ts now);

static void timer_cb(uv_timer_t *tm) {
  ggn_sock *s = tm->data;
  s->timer_at = GG_TS_UNSET;
  gg_ts now = ggn_now();
  if (s->closing) { /* only a graceful close arms the timer now: give up waiting */
    if (s->deadline != GG_TS_UNSET && s->deadline <= now) sock_close_now(s);
    else sock_arm(s);
    return;
  }
  if (s->connect_at != GG_TS_UNSET && s->connect_at <= now) {
    s->connect_at = GG_TS_UNSET;
    int err = s->connect_err;
    s->dialing = 0;
    if (err == GG_OK) {
      s->connected = 1;
      sock_update_reading(s);
    }
    s->tcp->cbs.on_connect(s, err);
    if (s->closing) return;
  }
  deliver_due(s, now);
  if (s->closing) return;
  if (s->deadline != GG_TS_UNSET && s->deadline <= now) {
    s->deadline = GG_TS_UNSET;
    s->tcp->cbs.on_deadline(s);
    if (s->closing) return;
  }
  sock_arm(s);
}

static void sock_arm(ggn_sock *s) {
  if (uv_is_closing((uv_handle_t *)&s->timer)) return;
  gg_ts at = s->deadline;
  if (s->connect_at < at) at = s->connect_at;
  if (!s->closing && !s->paused && s->qhead && s->qhead->at < at) at = s->qhead->at;
  if (at == s->timer_at) return;
  s->timer_at = at;
  if (at == GG_TS_UNSET) {
    uv_timer_stop(&s->timer);
    return;
  }
  /* libuv timers count whole milliseconds from the loop's cached time, which may lag the
   * real clock; round up so a timer never fires before `at` (timer_cb re-arms otherwise). */
  uv_update_time(s->tcp->loop);
  gg_ts now = ggn_now();
  uint64_t ms = at > now ? (at - now + 999999) / 1000000 : 0;
  uv_timer_start(&s->timer, timer_cb, ms, 0);
}

void ggn_sock_set_deadline(ggn_sock *s, gg_ts deadline) {
  if (s->closing) return;
  s->deadline = deadline;
  sock_arm(s);
}

/* ---- reading ----------------------------------------------------------------------------- */

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  (void)suggested;
  ggn_sock *s = h->data;
  ggn_tcp *t = s->tcp;
  if (!t->rbuf) t->rbuf = gg_malloc(t->mem, t->rbuf_size);
  buf->base = (char *)t->rbuf;
  buf->len = t->rbuf ? t->rbuf_size : 0; /* 0 makes libuv report UV_ENOBUFS */
}

static void report_eof(ggn_sock *s, int err) {
  if (s->eof) return;
  s->eof = 1;
  sock_update_reading(s);
  s->tcp->cbs.on_eof(s, err);
}

static int queue_chunk(ggn_sock *s, const uint8_t *p, size_t n, int err) {
  ggn_dchunk *c = gg_malloc(s->tcp->mem, sizeof(*c) + n);
  if (!c) return GG_ENOMEM;
  c->next = NULL;
  c->len = n;
  c->err = err;
  if (n) memcpy(c->data, p, n);
  c->at = ggn_now() + s->delay_ns + draw_jitter(s->tcp);
  if (s->qtail && c->at < s->qtail->at) c->at = s->qtail->at; /* keep FIFO order */
  if (s->qtail) s->qtail->next = c;
  else s->qhead = c;
  s->qtail = c;
  s->qbytes += n;
  if (s->qbytes >= s->tcp->delay_cap) {
    s->qfull = 1;
    sock_update_reading(s);
  }
  sock_arm(s);
  return GG_OK;
}

static void deliver_due(ggn_sock *s, gg_ts now) {
  while (s->qhead && !s->paused && !s->closing && s->qhead->at <= now) {
    ggn_dchunk *c = s->qhead;
    s->qhead = c->next;
    if (!s->qhead) s->qtail = NULL;
    s->qbytes -= c->len;
    if (c->len) s->tcp->cbs.on_read(s, c->data, c->len);
    else report_eof(s, c->err);
    gg_free(s->tcp->mem, c);
  }
  if (s->qfull && s->qbytes < s->tcp->delay_cap / 2) {
    s->qfull = 0;
    sock_update_reading(s);
  }
}

static void read_cb(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf) {
  ggn_sock *s = st->data;
  (void)buf;
  if (nread == 0 || s->closing) return;
  if (nread < 0) {
    int err = nread == UV_EOF ? GG_ECLOSED : GG_EIO;
    if (nread != UV_EOF && s->tcp->log)
      ggn_logf(s->tcp->log, GGN_LOG_DEBUG, "socket read error: %s", uv_strerror((int)nread));
    s->rdone = 1; /* stop reading now; the owner hears of it after the delay */
    sock_update_reading(s);
    if (delaying(s)) {
      if (queue_chunk(s, NULL, 0, err) != GG_OK) report_eof(s, GG_ENOMEM);
    } else {
      report_eof(s, err);
    }
    return;
  }
  if (delaying(s)) {
    if (queue_chunk(s, (const uint8_t *)buf->base, (size_t)nread, 0) != GG_OK)
      report_eof(s, GG_ENOMEM);
    return;
  }
  s->tcp->cbs.on_read(s, (const uint8_t *)buf->base, (size_t)nread);
}

static void sock_update_reading(ggn_sock *s) {
  int want = s->connected && !s->paused && !s->qfull && !s->rdone && !s->eof && !s->closing;
  if (want == s->reading) return;
  if (uv_is_closing((uv_handle_t *)&s->h)) return;
  if (want) {
    if (uv_read_start((uv_stream_t *)&s->h, alloc_cb, read_cb) != 0) return;
  } else {
    uv_read_stop((uv_stream_t *)&s->h);
  }
  s->reading = want;
}

void ggn_sock_pause(ggn_sock *s, int paused) {
  if (s->closing || s->paused == (paused != 0)) return;
  s->paused = paused != 0;
  sock_update_reading(s);
  sock_arm(s); /* resuming: due chunks go out from the timer, never from inside this call */
}

/* ---- set-up ------------------------------------------------------------------------------- */

static void sock_init(ggn_tcp *t, ggn_sock *s) {
  memset(s, 0, sizeof(*s));
  s->tcp = t;
  s->deadline = s->connect_at = s->timer_at = GG_TS_UNSET;
  /* neither init can fail: uv_tcp_init with AF_UNSPEC creates no socket yet */
  uv_tcp_init(t->loop, &s->h);
  uv_timer_init(t->loop, &s->timer);
  s->h.data = s->timer.data = s;
  s->nopen = 2;
  if (ggn_latency_active(&t->lat)) s->delay_ns = draw_conn_delay(t);
}

static void listener_closed(uv_handle_t *h) {
  ggn_listener *l = h->data;
  if (l->on_closed) l->on_closed(l);
  gg_free(l->tcp->mem, l);
}

static void connection_cb(uv_stream_t *server, int status) {
  ggn_listener *l = server->data;
  if (status != 0) {
    if (l->tcp->log)
      ggn_logf(l->tcp->log, GGN_LOG_WARN, "accept failed: %s", uv_strerror(status));
    return;
  }
  l->tcp->cbs.on_accept(l);
}

int ggn_listener_open(ggn_tcp *t, const struct sockaddr *addr, int backlog, void *ud,
                      ggn_listener **out) {
  int fam = addr->sa_family;
  if (fam != AF_INET && fam != AF_INET6) return GG_EINVAL;
  /* bind and listen with plain syscalls first: a failure then leaves no libuv handle that
   * would have to be closed asynchronously */
  int fd = socket(fam, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return GG_EIO;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (fam == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
  socklen_t alen = fam == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
  if (bind(fd, addr, alen) != 0) {
    int e = errno;
    close(fd);
    if (t->log) ggn_logf(t->log, GGN_LOG_WARN, "bind failed: %s", strerror(e));
    return e == EADDRINUSE ? GG_EEXIST : GG_EINVAL;
  }
  if (listen(fd, backlog > 0 ? backlog : 511) != 0) {
    close(fd);
    return GG_EIO;
  }
  ggn_listener *l = gg_calloc(t->mem, 1, sizeof(*l));
  if (!l) {
    close(fd);
    return GG_ENOMEM;
  }
  l->tcp = t;
  l->ud = ud;
  if (uv_tcp_init(t->loop, &l->h) != 0) {
    close(fd);
    gg_free(t->mem, l);
    return GG_EIO;
  }
  l->h.data = l;
  /* uv_tcp_open of a listening socket and uv_listen on it do not fail on Linux; if they
   * ever do, the handle is closed and freed on its own */
  if (uv_tcp_open(&l->h, fd) != 0 ||
      uv_listen((uv_stream_t *)&l->h, backlog > 0 ? backlog : 511, connection_cb) != 0) {
    uv_close((uv_handle_t *)&l->h, listener_closed);
    return GG_EIO;
  }
  *out = l;
  return GG_OK;
}

int ggn_listener_addr(const ggn_listener *l, struct sockaddr_storage *out) {
  int len = sizeof(*out);
  return uv_tcp_getsockname(&l->h, (struct sockaddr *)out, &len) == 0 ? GG_OK : GG_EIO;
}

void ggn_listener_close(ggn_listener *l, void (*on_closed)(ggn_listener *l)) {
  if (uv_is_closing((uv_handle_t *)&l->h)) return;
  l->on_closed = on_closed;
  uv_close((uv_handle_t *)&l->h, listener_closed);
}

static void sock_setopts(ggn_sock *s) {
  uv_tcp_nodelay(&s->h, 1); /* the protocols do their own batching; latency matters */
}

int ggn_sock_accept(ggn_tcp *t, ggn_listener *l, ggn_sock *s) {
  sock_init(t, s);
  if (uv_accept((uv_stream_t *)&l->h, (uv_stream_t *)&s->h) != 0) {
    s->closing = 1;
    sock_close_now(s);
    return GG_EIO;
  }
  sock_setopts(s);
  s->connected = 1;
  sock_update_reading(s);
  return GG_OK;
}

static void connect_cb(uv_connect_t *req, int status) {
  ggn_sock *s = req->data;
  if (s->closing) return;
  int err = status == 0 ? GG_OK : GG_EIO;
  if (status != 0 && s->tcp->log)
    ggn_logf(s->tcp->log, GGN_LOG_DEBUG, "dial failed: %s", uv_strerror(status));
  if (status == 0) sock_setopts(s);
  /* with latency injection the dialer learns of the connection a round trip later: the SYN's
   * trip and the SYN-ACK's, both counted with this connection's delay (the listener's accept
   * is not delayed, and it hears nothing before the dialer's first bytes, which its own delay
   * holds back in turn); errors are delayed alike so that they stay in order */
  s->connect_err = err;
  s->connect_at = ggn_now() + 2 * s->delay_ns;
  if (s->delay_ns == 0) {
    s->connect_at = GG_TS_UNSET;
    s->dialing = 0;
    if (err == GG_OK) {
      s->connected = 1;
      sock_update_reading(s);
    }
    s->tcp->cbs.on_connect(s, err);
    return;
  }
  sock_arm(s);
}

void ggn_sock_dial(ggn_tcp *t, ggn_sock *s, const struct sockaddr *addr) {
  int rv = GG_OK;
  sock_init(t, s);
  s->dialing = 1;
  if (t->lat.drop_dial > 0 && rand_unit(t->rand) < t->lat.drop_dial) {
    if (t->log) ggn_logf(t->log, GGN_LOG_DEBUG, "latency injection: dial dropped");
    return; /* a lost SYN: only the owner's deadline ends this dial */
  }
  s->creq.data = s;
  if (uv_tcp_connect(&s->creq, &s->h, addr, connect_cb) != 0) rv = GG_EIO;
  if (rv != GG_OK) { /* report on the next iteration, as libuv would */
    s->connect_err = rv;
    s->connect_at = ggn_now();
    sock_arm(s);
  }
}

/* ---- writing -------------------------------------------------------------------------------- */

uint8_t *ggn_sock_wbuf(ggn_sock *s, size_t cap) {
  wblock *b = gg_malloc(s->tcp->mem, sizeof(*b) + cap);
  if (!b) return NULL;
  b->s = s;
  return b->data;
}

static wblock *block_of(uint8_t *data) { return (wblock *)(data - offsetof(wblock, data)); }

void ggn_sock_wbuf_free(ggn_sock *s, uint8_t *block) {
  if (block) gg_free(s->tcp->mem, block_of(block));
}

static void write_cb(uv_write_t *req, int status) {
  wblock *b = (wblock *)req;
  ggn_sock *s = b->s;
  gg_free(s->tcp->mem, b);
  if (s->closing) return;
  if (status != 0) {
    if (s->tcp->log)
      ggn_logf(s->tcp->log, GGN_LOG_DEBUG, "socket write error: %s", uv_strerror(status));
    report_eof(s, GG_EIO);
    return;
  }
  if (s->want_drain && uv_stream_get_write_queue_size((uv_stream_t *)&s->h) < s->tcp->write_low) {
    s->want_drain = 0;
    s->tcp->cbs.on_drain(s);
  }
}

int ggn_sock_write(ggn_sock *s, uint8_t *block, size_t len) {
  wblock *b = block_of(block);
  if (s->closing || !s->connected || s->eof) {
    gg_free(s->tcp->mem, b);
    return GG_ECLOSED;
  }
  uv_buf_t buf = uv_buf_init((char *)b->data, (unsigned)len);
  if (uv_stream_get_write_queue_size((uv_stream_t *)&s->h) == 0) {
    int n = uv_try_write((uv_stream_t *)&s->h, &buf, 1);
    if (n == (int)len) {
      gg_free(s->tcp->mem, b);
      return 0;
    }
    if (n > 0) {
      buf.base += n;
      buf.len -= (unsigned)n;
    } else if (n != UV_EAGAIN) {
      gg_free(s->tcp->mem, b);
      return GG_ECLOSED; /* the read side reports the failure */
    }
  }
  b->len = len;
  if (uv_write(&b->req, (uv_stream_t *)&s->h, &buf, 1, write_cb) != 0) {
    gg_free(s->tcp->mem, b);
    return GG_ECLOSED;
  }
  if (uv_stream_get_write_queue_size((uv_stream_t *)&s->h) >= s->tcp->write_high) {
    s->want_drain = 1;
    return 1;
  }
  return 0;
}

int ggn_sock_write_copy(ggn_sock *s, const void *p, size_t len) {
  uint8_t *b = ggn_sock_wbuf(s, len);
  if (!b) return GG_ENOMEM;
  memcpy(b, p, len);
  return ggn_sock_write(s, b, len);
}

size_t ggn_sock_write_queued(const ggn_sock *s) {
  return uv_stream_get_write_queue_size((const uv_stream_t *)&s->h);
}

int ggn_sock_local_addr(const ggn_sock *s, struct sockaddr_storage *out) {
  int len = sizeof(*out);
  return uv_tcp_getsockname(&s->h, (struct sockaddr *)out, &len) == 0 ? GG_OK : GG_EIO;
}

int ggn_sock_remote_addr(const ggn_sock *s, struct sockaddr_storage *out) {
  int len = sizeof(*out);
  return uv_tcp_getpeername(&s->h, (struct sockaddr *)out, &len) == 0 ? GG_OK : GG_EIO;
}
