/*
 * Streams (include/ggen/host.h "streams"): Yamux streams with multistream-select protocol
 * negotiation, write queues, read pausing and length-prefixed messages.
 *
 * A stream is negotiating (ST_NEGOTIATING: an mss session answers or proposes protocols,
 * bounded by negotiate_timeout), then open (ST_OPEN: handed to the opener's callback or the
 * protocol's handler, which installs ggn_stream_callbacks), then ended (Yamux reported its
 * end; freed right after on_close).
 *
 * Flow control: received bytes are consumed (reopening the remote's Yamux window) only after
 * the application saw them; while paused they are kept in rq, which the window bounds.
 * Writes go to Yamux as far as its window and send buffer allow; the rest waits in wq (capped
 * by stream_write_buffer) and moves on at each on_writable. So nothing is dropped and memory
 * per stream is bounded on both sides.
 *
 * Invariants: user callbacks of a stream run only after it was handed over and never after
 * on_close; a stream ends exactly once (Yamux on_stream_end, or its connection going down).
 */
#include <string.h>

#include "ggen/err.h"
#include "host_int.h"

static gg_ts now_ns(void) { return ggn_now(); }

/* ---- lifetime ------------------------------------------------------------------------------- */

static ggn_stream *stream_new(ggn_conn *c, int outbound) {
  ggn_host *h = c->h;
  ggn_stream *s = gg_calloc(h->mem, 1, sizeof(*s));
  if (!s) return NULL;
  s->c = c;
  s->outbound = outbound != 0;
  s->deadline = GG_TS_UNSET;
  gg_buf_init(&s->wq, h->mem, h->st.stream_write_buffer);
  gg_buf_init(&s->rq, h->mem, SIZE_MAX); /* bounded by the Yamux window we advertise */
  s->next = c->streams;
  if (c->streams) c->streams->prev = s;
  c->streams = s;
  c->nstreams++;
  return s;
}

static void stream_free(ggn_stream *s) {
  ggn_conn *c = s->c;
  ggn_host *h = c->h;
  if (s->prev) s->prev->next = s->next;
  else c->streams = s->next;
  if (s->next) s->next->prev = s->prev;
  c->nstreams--;
  if (s->handed) c->nuser_streams--;
  ggp_mss_del(s->mss);
  gg_buf_free(&s->wq);
  gg_buf_free(&s->rq);
  if (s->lpm) {
    gg_lpm_free(s->lpm);
    gg_free(h->mem, s->lpm);
  }
  gg_free(h->mem, s->protos_blob);
  gg_free(h->mem, s);
}

static void stream_set_deadline(ggn_stream *s, gg_ts d) {
  s->deadline = d;
  if (d < s->c->stream_deadline) {
    s->c->stream_deadline = d;
    ggn_conn_rearm(s->c);
  }
}

/* Resets s because of err (logged by the caller when it matters); on_close reports err. */
static void stream_abort(ggn_stream *s, int err) {
  if (s->reset || s->state == ST_ENDED) return;
  s->reset = 1;
  s->err = err;
  gg_buf_free(&s->wq);
  gg_buf_free(&s->rq);
  if (s->c->state == C_OPEN) ggp_yamux_reset(s->c->yamux, s->id);
  ggn_host_mark_dirty(s->c);
}

/* Ends s now: reports to its owner and frees it. */
static void stream_end(ggn_stream *s, int err) {
  s->state = ST_ENDED;
  if (s->handed) {
    if (s->cbs.on_close) s->cbs.on_close(s, err, s->ud);
  } else if (s->outbound && s->open_cb) {
    ggn_open_cb cb = s->open_cb;
    s->open_cb = NULL;
    cb(NULL, err == GG_OK ? GG_ECLOSED : err, s->open_ud);
  }
  stream_free(s);
}

/* ---- writing ---------------------------------------------------------------------------------- */

/* Moves queued bytes into Yamux; reports writability and a pending FIN once the queue empties. */
static void stream_pump(ggn_stream *s) {
  ggn_conn *c = s->c;
  while (gg_buf_len(&s->wq)) {
    int64_t k = ggp_yamux_write(c->yamux, s->id, gg_buf_ptr(&s->wq), gg_buf_len(&s->wq));
    if (k <= 0) break;
    gg_buf_consume(&s->wq, (size_t)k);
  }
  if (gg_buf_len(&s->wq)) return;
  gg_buf_free(&s->wq); /* an idle stream keeps no buffer */
  if (s->fin_pending) {
    s->fin_pending = 0;
    ggp_yamux_close(c->yamux, s->id);
  }
  if (s->want_writable && s->handed && s->state == ST_OPEN && !s->reset) {
    s->want_writable = 0;
    if (s->cbs.on_writable) s->cbs.on_writable(s, s->ud);
  }
}

/* Writes without the state checks of the public call (negotiation output). */
static int stream_put(ggn_stream *s, const uint8_t *p, size_t n) {
  ggn_conn *c = s->c;
  if (gg_buf_len(&s->wq) + n > s->wq.limit) return GG_ELIMIT;
  size_t off = 0;
  if (gg_buf_len(&s->wq) == 0) {
    int64_t k = ggp_yamux_write(c->yamux, s->id, p, n);
    if (k < 0) return k == GG_ENOMEM ? GG_ENOMEM : GG_ECLOSED;
    off = (size_t)k;
  }
  if (off < n) {
    int rv = gg_buf_append(&s->wq, p + off, n - off);
    if (rv != GG_OK) return rv;
  }
  ggn_host_mark_dirty(c);
  if (gg_buf_len(&s->wq)) {
    s->want_writable = 1;
    return 1;
  }
  return 0;
}

int ggn_stream_write(ggn_stream *s, const void *p, size_t n) {
  if (s->state != ST_OPEN || s->reset || s->c->state != C_OPEN) return GG_ECLOSED;
  if (s->local_closed) return GG_ESTATE;
  if (n == 0) return gg_buf_len(&s->wq) ? 1 : 0;
  return stream_put(s, p, n);
}

int ggn_stream_write_msg(ggn_stream *s, const void *m, size_t n) {
  size_t max = s->msg_max ? s->msg_max : s->c->h->st.max_msg_size;
  if (n > max) return GG_ETOOBIG;
  if (s->state != ST_OPEN || s->reset || s->c->state != C_OPEN) return GG_ECLOSED;
  if (s->local_closed) return GG_ESTATE;
  uint8_t hdr[GG_VARINT_MAX];
  size_t hl = gg_varint_encode(n, hdr);
  if (gg_buf_len(&s->wq) + hl + n > s->wq.limit) return GG_ELIMIT; /* all or nothing */
  int rv = stream_put(s, hdr, hl);
  if (rv < 0 || n == 0) return rv;
  return stream_put(s, m, n);
}

int ggn_stream_close_write(ggn_stream *s) {
  if (s->state == ST_ENDED || s->reset || s->local_closed) return GG_ESTATE;
  s->local_closed = 1;
  if (s->c->state != C_OPEN) return GG_OK;
  if (gg_buf_len(&s->wq)) s->fin_pending = 1;
  else ggp_yamux_close(s->c->yamux, s->id);
  ggn_host_mark_dirty(s->c);
  return GG_OK;
}

void ggn_stream_reset(ggn_stream *s) { stream_abort(s, GG_ECANCELED); }

/* ---- reading ------------------------------------------------------------------------------------ */

static void stream_eof(ggn_stream *s) {
  s->eof_pending = 0;
  if (s->lpm && !gg_lpm_idle(s->lpm)) {
    ggn_logf(&s->c->h->log, GGN_LOG_INFO, "stream %s with %s reset: end of stream inside a message",
             s->proto ? s->proto : "?", gg_peerid_short(&s->c->peer));
    stream_abort(s, GG_EPROTO);
    return;
  }
  if (s->cbs.on_eof) s->cbs.on_eof(s, s->ud);
}

/* Hands p[0..n) to the application; returns how many bytes it took (less when it paused the
 * stream in the middle of a run of messages, or when the stream was reset). */
static size_t stream_deliver(ggn_stream *s, const uint8_t *p, size_t n) {
  if (!s->lpm) {
    if (s->cbs.on_data) s->cbs.on_data(s, p, n, s->ud);
    return n;
  }
  size_t done = 0;
  while (done < n && !s->reset && !s->paused && s->state == ST_OPEN) {
    size_t used = 0;
    const uint8_t *m = NULL;
    size_t ml = 0;
    int rv = gg_lpm_read(s->lpm, p + done, n - done, &used, &m, &ml);
    done += used;
    if (rv == GG_EAGAIN) break;
    if (rv != GG_OK) {
      ggn_logf(&s->c->h->log, gg_err_is_peer(rv) ? GGN_LOG_WARN : GGN_LOG_INFO,
               "stream %s with %s reset: %s", s->proto ? s->proto : "?",
               gg_peerid_short(&s->c->peer), gg_strerror(rv));
      stream_abort(s, rv);
      return n;
    }
    if (s->cbs.on_msg) s->cbs.on_msg(s, m, ml, s->ud);
  }
  return s->reset ? n : done;
}

/* Data of an open stream: deliver it, or keep it while paused. */
static void stream_recv(ggn_stream *s, const uint8_t *p, size_t n) {
  ggn_conn *c = s->c;
  if (s->paused || gg_buf_len(&s->rq)) {
    if (gg_buf_append(&s->rq, p, n) != GG_OK) stream_abort(s, GG_ENOMEM);
    return;
  }
  s->in_deliver = 1;
  size_t took = stream_deliver(s, p, n);
  s->in_deliver = 0;
  if (took) ggp_yamux_consume(c->yamux, s->id, took);
  if (took < n && !s->reset) {
    /* paused in the middle: keep the rest (not consumed: the window stays closed) */
    if (gg_buf_append(&s->rq, p + took, n - took) != GG_OK) stream_abort(s, GG_ENOMEM);
  }
}

static void stream_hand_over(ggn_stream *s, const uint8_t *rest, size_t n);

void ggn_streams_deliver_pending(ggn_conn *c) {
  c->rq_streams = 0;
  for (ggn_stream *s = c->streams; s; s = s->next) {
    if (s->rq_pending && s->lazy && !s->handed && s->state == ST_NEGOTIATING && !s->reset) {
      s->rq_pending = 0;
      stream_hand_over(s, NULL, 0); /* the remote's answer is checked in stream_lazy_answer */
      continue;
    }
    if (!s->rq_pending || s->paused) continue;
    s->rq_pending = 0;
    while (gg_buf_len(&s->rq) && !s->paused && !s->reset && s->state == ST_OPEN) {
      size_t n = gg_buf_len(&s->rq);
      size_t took = stream_deliver(s, gg_buf_ptr(&s->rq), n);
      if (s->reset) break;
      if (took) {
        ggp_yamux_consume(c->yamux, s->id, took);
        gg_buf_consume(&s->rq, took);
      }
      if (took < n) break;
    }
    if (s->reset) continue;
    if (gg_buf_len(&s->rq) == 0) {
      gg_buf_free(&s->rq);
      if (s->eof_pending && !s->paused) stream_eof(s);
    }
  }
}

void ggn_stream_pause(ggn_stream *s, int paused) {
  if (s->state == ST_ENDED) return;
  s->paused = paused != 0;
  if (!s->paused && (gg_buf_len(&s->rq) || s->eof_pending)) {
    s->rq_pending = 1;
    s->c->rq_streams = 1;
    ggn_host_mark_dirty(s->c);
  }
}

int ggn_stream_read_msgs(ggn_stream *s, size_t max) {
  if (s->lpm) return GG_OK;
  ggn_host *h = s->c->h;
  s->lpm = gg_malloc(h->mem, sizeof(*s->lpm));
  if (!s->lpm) return GG_ENOMEM;
  s->msg_max = max ? max : h->st.max_msg_size;
  gg_lpm_init(s->lpm, h->mem, s->msg_max);
  return GG_OK;
}

/* ---- negotiation -------------------------------------------------------------------------------- */

static int mss_match(const char *name, size_t len, void *ud) {
  ggn_stream *s = ud;
  return ggn_host_find_proto(s->c->h, name, len) != NULL;
}

static const ggp_mss_callbacks mss_cbs = {mss_match};

static void stream_hand_over(ggn_stream *s, const uint8_t *rest, size_t n) {
  ggn_conn *c = s->c;
  ggn_host *h = c->h;
  s->state = ST_OPEN;
  s->deadline = GG_TS_UNSET;
  s->handed = 1;
  c->nuser_streams++;
  if (s->outbound) {
    ggn_open_cb cb = s->open_cb;
    s->open_cb = NULL;
    s->ud = s->open_ud;
    cb(s, GG_OK, s->open_ud);
  } else {
    const ggn_proto *p = ggn_host_find_proto(h, s->proto, strlen(s->proto));
    if (!p) {
      stream_abort(s, GG_ENOPROTO);
    } else {
      p->on_stream(s, p->ud);
    }
  }
  if (s->reset || s->state != ST_OPEN) {
    if (n) ggp_yamux_consume(c->yamux, s->id, n);
    return;
  }
  if (n) stream_recv(s, rest, n);
}

static void stream_negotiate(ggn_stream *s, const uint8_t *p, size_t n) {
  ggn_conn *c = s->c;
  ggn_host *h = c->h;
  gg_buf out;
  gg_buf_init(&out, h->mem, 4 * GGP_MSS_NAME_MAX);
  size_t used = 0;
  int rv = ggp_mss_recv(s->mss, p, n, &used, &out);
  if (gg_buf_len(&out)) {
    int w = stream_put(s, gg_buf_ptr(&out), gg_buf_len(&out));
    if (w < 0 && rv == GG_EAGAIN) rv = w;
  }
  gg_buf_free(&out);
  if (used) ggp_yamux_consume(c->yamux, s->id, used);
  if (rv == GG_EAGAIN) return;
  if (rv != GG_OK) {
    if (n > used) ggp_yamux_consume(c->yamux, s->id, n - used);
    if (rv != GG_ENOPROTO)
      ggn_logf(&h->log, gg_err_is_peer(rv) ? GGN_LOG_INFO : GGN_LOG_DEBUG,
               "stream negotiation with %s failed: %s", gg_peerid_short(&c->peer),
               gg_strerror(rv));
    stream_abort(s, rv);
    return;
  }
  if (s->outbound) {
    int i = ggp_mss_protocol_index(s->mss);
    if (!s->lazy) s->proto = s->protos[i < 0 ? 0 : i];
  } else {
    size_t len = 0;
    const char *name = ggp_mss_protocol(s->mss, &len);
    const ggn_proto *pr = ggn_host_find_proto(h, name, len);
    s->proto = pr ? pr->name : NULL;
    if (!pr) {
      ggp_mss_del(s->mss);
      s->mss = NULL;
      stream_abort(s, GG_ENOPROTO);
      return;
    }
  }
  ggp_mss_del(s->mss);
  s->mss = NULL;
  stream_hand_over(s, p + used, n - used);
}

/* Data on a stream handed over optimistically: the remote's multistream-select answer comes
 * first; only what follows it is the protocol's. */
static void stream_lazy_answer(ggn_stream *s, const uint8_t *p, size_t n) {
  ggn_conn *c = s->c;
  gg_buf out;
  gg_buf_init(&out, c->h->mem, 4 * GGP_MSS_NAME_MAX);
  size_t used = 0;
  int rv = ggp_mss_recv(s->mss, p, n, &used, &out);
  gg_buf_free(&out); /* a lazy dialer with one proposal has nothing more to say */
  if (used) ggp_yamux_consume(c->yamux, s->id, used);
  if (rv == GG_EAGAIN) return;
  if (rv != GG_OK) {
    if (n > used) ggp_yamux_consume(c->yamux, s->id, n - used);
    ggn_logf(&c->h->log, rv == GG_ENOPROTO ? GGN_LOG_DEBUG : GGN_LOG_INFO,
             "optimistic %s to %s refused: %s", s->proto, gg_peerid_short(&c->peer),
             gg_strerror(rv));
    stream_abort(s, rv);
    return;
  }
  ggp_mss_del(s->mss);
  s->mss = NULL;
  if (n > used) stream_recv(s, p + used, n - used);
}

int ggn_stream_open_internal(ggn_conn *c, const char *const *protos, size_t n, unsigned flags,
                             ggn_open_cb cb, void *ud) {
  ggn_host *h = c->h;
  if (n == 0 || !cb) return GG_EINVAL;
  size_t total = n * sizeof(char *);
  for (size_t i = 0; i < n; i++) {
    size_t l = protos[i] ? strlen(protos[i]) : 0;
    if (l == 0 || l > GGP_MSS_NAME_MAX || memchr(protos[i], '\n', l)) return GG_EINVAL;
    total += l + 1;
  }
  if (c->state != C_OPEN) return ggn_host_defer_open(h, cb, GG_ECLOSED, ud);
  ggn_stream *s = stream_new(c, 1);
  if (!s) return GG_ENOMEM;
  s->protos_blob = gg_malloc(h->mem, total);
  if (!s->protos_blob) {
    stream_free(s);
    return GG_ENOMEM;
  }
  const char **arr = (const char **)s->protos_blob;
  char *names = s->protos_blob + n * sizeof(char *);
  for (size_t i = 0; i < n; i++) {
    size_t l = strlen(protos[i]) + 1;
    memcpy(names, protos[i], l);
    arr[i] = names;
    names += l;
  }
  s->protos = arr;
  s->nprotos = n;
  s->open_cb = cb;
  s->open_ud = ud;
  /* Optimistic selection, as go-libp2p's NewStream: when identify said the peer serves one
   * of the protocols, propose only the first such one and hand the stream over at once, so
   * the first message travels with the proposal and a request costs one round trip instead
   * of two. The answer is still checked before any of the remote's bytes reach the opener. */
  int lazy = -1;
  for (size_t i = 0; i < n && lazy < 0 && !h->st.eager_select; i++)
    if (ggn_host_peer_supports(h, &c->peer, arr[i])) lazy = (int)i;
  /* A caller that knows the peer serves protos[0] may skip waiting for identify (on a new
   * connection its answer is a round trip away); once identify told, it decides. */
  if (lazy < 0 && (flags & GGN_OPEN_OPTIMISTIC) && !h->st.eager_select &&
      ggn_host_peer_protocols(h, &c->peer, NULL, 0) == 0)
    lazy = 0;
  ggp_mss_settings ms = {.dialer = 1,
                         .protocols = lazy >= 0 ? &s->protos[lazy] : s->protos,
                         .nprotocols = lazy >= 0 ? 1 : n,
                         .lazy = lazy >= 0};
  int rv = ggp_mss_new(&s->mss, NULL, &ms, h->mem, s);
  if (rv != GG_OK) {
    stream_free(s);
    return rv;
  }
  rv = ggp_yamux_open(c->yamux, &s->id, s);
  if (rv != GG_OK) {
    stream_free(s);
    return rv == GG_ENOMEM ? rv : ggn_host_defer_open(h, cb, rv, ud);
  }
  gg_buf out;
  gg_buf_init(&out, h->mem, 2 * GGP_MSS_NAME_MAX);
  rv = ggp_mss_start(s->mss, &out);
  if (rv == GG_OK) rv = stream_put(s, gg_buf_ptr(&out), gg_buf_len(&out));
  gg_buf_free(&out);
  if (rv < 0) {
    /* the stream exists in Yamux now: reset it; its end reports the failure to cb */
    stream_abort(s, rv);
    return GG_OK;
  }
  stream_set_deadline(s, now_ns() + h->st.negotiate_timeout);
  if (lazy >= 0) {
    /* handed over from the loop (ggn_streams_deliver_pending), never from inside this call */
    s->lazy = 1;
    s->proto = s->protos[lazy];
    s->rq_pending = 1;
    c->rq_streams = 1;
  }
  ggn_host_mark_dirty(c);
  return GG_OK;
}

int ggn_conn_open_stream(ggn_conn *c, const char *const *protos, size_t n, ggn_open_cb cb,
                         void *ud) {
  return ggn_stream_open_internal(c, protos, n, 0, cb, ud);
}

/* ---- Yamux callbacks ------------------------------------------------------------------------------ */

static int y_stream_open(ggp_yamux *y, uint32_t id, void **sud, void *ud) {
  (void)y;
  ggn_conn *c = ud;
  ggn_host *h = c->h;
  if (c->state != C_OPEN || h->closing) return 1;
  ggn_stream *s = stream_new(c, 0);
  if (!s) return 1;
  s->id = id;
  ggp_mss_settings ms = {.dialer = 0};
  gg_buf none;
  gg_buf_init(&none, h->mem, 0); /* a listener's start writes nothing */
  if (ggp_mss_new(&s->mss, &mss_cbs, &ms, h->mem, s) != GG_OK ||
      ggp_mss_start(s->mss, &none) != GG_OK) {
    stream_free(s);
    return 1;
  }
  *sud = s;
  stream_set_deadline(s, now_ns() + h->st.negotiate_timeout);
  return 0;
}

static int y_data(ggp_yamux *y, uint32_t id, const uint8_t *data, size_t len, void *sud,
                  void *ud) {
  ggn_stream *s = sud;
  ggn_conn *c = ud;
  if (!s || s->reset || s->state == ST_ENDED || c->state != C_OPEN) {
    ggp_yamux_consume(y, id, len);
    return 0;
  }
  if (s->state == ST_NEGOTIATING) stream_negotiate(s, data, len);
  else if (s->mss) stream_lazy_answer(s, data, len);
  else stream_recv(s, data, len);
  return 0;
}

static void y_fin(ggp_yamux *y, uint32_t id, void *sud, void *ud) {
  (void)y;
  (void)id;
  (void)ud;
  ggn_stream *s = sud;
  if (!s || s->reset || s->state == ST_ENDED) return;
  s->remote_fin = 1;
  if (s->state == ST_NEGOTIATING) return; /* it ends when both sides closed */
  if (s->mss) {
    /* optimistic stream closed without the answer: the remote did not take the protocol */
    stream_abort(s, GG_ENOPROTO);
    return;
  }
  if (gg_buf_len(&s->rq) || s->paused) s->eof_pending = 1;
  else stream_eof(s);
}

static void y_writable(ggp_yamux *y, uint32_t id, void *sud, void *ud) {
  (void)y;
  (void)id;
  (void)ud;
  ggn_stream *s = sud;
  if (!s || s->reset || s->state == ST_ENDED) return;
  stream_pump(s);
}

static void y_stream_end(ggp_yamux *y, uint32_t id, int how, void *sud, void *ud) {
  (void)y;
  (void)id;
  (void)ud;
  ggn_stream *s = sud;
  if (!s) return;
  int err = how == GGP_YAMUX_END_FIN            ? GG_OK
            : how == GGP_YAMUX_END_RESET_LOCAL ? (s->err ? s->err : GG_ECANCELED)
                                               : GG_ERESET;
  if (s->state == ST_NEGOTIATING && err == GG_OK) err = GG_ECLOSED;
  stream_end(s, err);
}

static void y_goaway(ggp_yamux *y, uint32_t code, void *ud) {
  (void)y;
  ggn_conn *c = ud;
  /* js drops every stream on GoAway; close once our output is flushed */
  ggn_conn_fail(c, GG_ECLOSED,
                code == GGP_YAMUX_GOAWAY_NORMAL     ? NULL
                : code == GGP_YAMUX_GOAWAY_PROTOCOL ? "goaway (the peer says we broke the protocol)"
                                                    : "goaway (internal error at the peer)");
}

const ggp_yamux_callbacks ggn_yamux_cbs = {
    .on_stream_open = y_stream_open,
    .on_data = y_data,
    .on_fin = y_fin,
    .on_writable = y_writable,
    .on_stream_end = y_stream_end,
    .on_goaway = y_goaway,
};

/* ---- connection-level -------------------------------------------------------------------------- */

void ggn_streams_conn_down(ggn_conn *c, int err) {
  while (c->streams) stream_end(c->streams, err);
}

void ggn_streams_expire(ggn_conn *c, gg_ts now) {
  gg_ts next = GG_TS_UNSET;
  for (ggn_stream *s = c->streams; s; s = s->next) {
    if (s->deadline == GG_TS_UNSET) continue;
    if (s->deadline <= now) {
      s->deadline = GG_TS_UNSET;
      if (s->state == ST_NEGOTIATING)
        ggn_logf(&c->h->log, GGN_LOG_DEBUG, "stream negotiation with %s timed out",
                 gg_peerid_short(&c->peer));
      stream_abort(s, GG_ETIMEDOUT);
    } else if (s->deadline < next) {
      next = s->deadline;
    }
  }
  c->stream_deadline = next;
}

/* ---- accessors ---------------------------------------------------------------------------------- */

void ggn_stream_set_callbacks(ggn_stream *s, const ggn_stream_callbacks *cb, void *ud) {
  if (cb) s->cbs = *cb;
  else memset(&s->cbs, 0, sizeof(s->cbs));
  s->ud = ud;
}

void *ggn_stream_ud(const ggn_stream *s) { return s->ud; }
void ggn_stream_set_ud(ggn_stream *s, void *ud) { s->ud = ud; }
const char *ggn_stream_protocol(const ggn_stream *s) { return s->proto; }
ggn_conn *ggn_stream_conn(const ggn_stream *s) { return s->c; }
const gg_peerid *ggn_stream_peer(const ggn_stream *s) { return &s->c->peer; }
int ggn_stream_outbound(const ggn_stream *s) { return s->outbound; }

void ggn_stream_set_deadline(ggn_stream *s, gg_ts deadline) {
  if (s->state == ST_ENDED) return;
  stream_set_deadline(s, deadline);
}
