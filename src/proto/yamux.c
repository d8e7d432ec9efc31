/*
 * Yamux session core (include/ggen/yamux.h): framing, stream state, flow control, ping and
 * GoAway per hashicorp/yamux spec.md (= libp2p/specs yamux/README.md), with the choices
 * js-libp2p (@chainsafe/libp2p-yamux 7.0.4) makes where the spec is silent. docs/yamux.md
 * explains the design; this comment lists the invariants the code keeps.
 *
 * Receive side, per stream:
 *   rwin   the window we aim to keep open (initial_window .. max_window, only grows);
 *   ravail the bytes the peer may still send (its view of our window);
 *   rheld  bytes announced by received DATA headers and not yet consumed by the application
 *          (rdeliv <= rheld of them were already handed to on_data);
 *   ravail + rheld <= rwin always; rwin - ravail - rheld is the credit a window update
 *   returns. A DATA header longer than ravail is a flow-control violation.
 * Send side: `credit` is the peer's window minus every byte write() accepted, so all of
 * `sbuf` (<= send_buffer) can go out at once; write() never accepts beyond it.
 *
 * Streams are found by id in an open-addressing table. A stream that ends (both FINs and
 * rheld == 0, an RST either way) is "retired": removed from the table and the send lists
 * at once, so later frames for its id are ignored, and freed only by reap() at the end of
 * recv/send/handle_expiry after on_stream_end - never while a callback might still be using
 * it. Our ids only grow, so we never reuse one. The peer's SYNs may come out of order
 * (rust-yamux sends the SYN with a stream's first data), so any unknown id of its parity opens
 * a stream.
 *
 * Everything the peer can make us queue is bounded: control frames we owe it (ping answers,
 * refusals) by max_ctrl_queue/max_pongs, streams by max_streams_in, the bytes per stream by
 * its window, and window growth across streams by window_budget.
 */
#include "ggen/yamux.h"

#include <string.h>

#include "ggen/err.h"

/* ---- wire constants ------------------------------------------------------------------- */
enum { T_DATA = 0, T_WINDOW = 1, T_PING = 2, T_GOAWAY = 3 };
enum { F_SYN = 1, F_ACK = 2, F_FIN = 4, F_RST = 8 };

#define HDR GGP_YAMUX_HEADER_LEN
#define SPEC_WINDOW ((uint64_t)GGP_YAMUX_INITIAL_WINDOW)

/* ---- stream ---------------------------------------------------------------------------- */
enum {
  S_OUT = 1 << 0,      /* we opened it */
  S_SYN = 1 << 1,      /* SYN still to send */
  S_SYN_SENT = 1 << 2, /* SYN has gone out (or the peer opened the stream) */
  S_ACK = 1 << 3,      /* ACK still to send */
  S_ACKED = 1 << 4,    /* outbound: the peer ACKed */
  S_FIN_PEND = 1 << 5, /* close() called, FIN not sent yet */
  S_FIN_SENT = 1 << 6, /* our FIN went out */
  S_FIN_RECV = 1 << 7, /* the peer's FIN arrived */
  S_RST_PEND = 1 << 8, /* reset() called, RST not sent yet */
  S_WU_DUE = 1 << 9,   /* a window update should go out */
  S_WANT_W = 1 << 10,  /* write() was short: tell on_writable */
  S_IN_CTRL = 1 << 11, /* on y->ctrl */
  S_IN_DATA = 1 << 12, /* on y->data */
  S_IN_NOTE = 1 << 13, /* on send()'s writable-notification list */
  S_DEAD = 1 << 14,    /* retired, waiting for reap() */
};

/* A stream's send buffer: live bytes p[head .. tail). While allocated, head >= HDR, so the
 * header of the DATA frame that carries the front bytes can be written right in front of them:
 * ggp_yamux_send_pull() hands out header and payload as one run without copying either. */
typedef struct sbuf {
  uint8_t *p;
  size_t head, tail, alloc;
} sbuf;

typedef struct stream stream;
typedef struct slink {
  stream *prev, *next;
} slink;
typedef struct slist {
  stream *head, *tail;
} slist;

struct stream {
  uint32_t id;
  uint32_t flags;
  void *ud;
  uint32_t rwin;
  int end_how;
  uint64_t ravail, rheld, rdeliv;
  uint64_t credit;
  gg_ts epoch; /* when our last window update (or the SYN/ACK) left; GG_TS_UNSET before */
  sbuf sb;
  slink ctrl, data; /* membership of y->ctrl / y->data */
  stream *note;     /* send()'s notification list, then reap list */
};

struct ggp_yamux {
  ggp_yamux_callbacks cb;
  void *ud;
  const gg_mem *mem;
  int client;
  int err;   /* fatal code once the session failed, else 0 */
  int depth; /* > 0 while a callback runs: recv/send/handle_expiry refuse to nest */

  /* resolved settings */
  uint32_t initial_window, max_window, max_frame, max_in, max_out, max_backlog, sbuf_cap;
  uint32_t max_ctrl, max_pongs;
  uint64_t budget;
  gg_ts keepalive, ping_timeout;

  /* streams */
  stream **tab;
  uint32_t tab_bits, tab_count;
  uint32_t n_in, n_out, backlog;
  uint64_t next_id;
  uint64_t grown;
  slist ctrl, data;
  stream *reap;
  stream *notes; /* streams a send_pull() drained: told at the next pull (see run_notes) */

  /* receive state: a partial header, or the rest of a DATA payload */
  uint8_t hdr[HDR];
  size_t hdr_len;
  int in_payload;
  uint64_t frame_left;
  uint16_t frame_flags;
  stream *frame_s; /* NULL: the payload is discarded */

  /* control frames owed to the peer, encoded, FIFO */
  gg_buf ctrlq;
  uint32_t pongs;
  gg_buf scratch; /* control frames a send_pull() hands out; freed when nothing is pending */

  /* ping */
  int ping_queued, ping_out;
  uint32_t ping_id, next_ping_id;
  gg_ts ping_sent, rtt, ka_next;

  /* GoAway */
  int ga_pending, ga_sent, ga_local, ga_recv;
  uint32_t ga_code, ga_recv_code;
};

/* ---- helpers --------------------------------------------------------------------------- */
static void put_hdr(uint8_t *p, uint8_t type, uint16_t flags, uint32_t id, uint32_t len) {
  p[0] = 0;
  p[1] = type;
  p[2] = (uint8_t)(flags >> 8);
  p[3] = (uint8_t)flags;
  p[4] = (uint8_t)(id >> 24);
  p[5] = (uint8_t)(id >> 16);
  p[6] = (uint8_t)(id >> 8);
  p[7] = (uint8_t)id;
  p[8] = (uint8_t)(len >> 24);
  p[9] = (uint8_t)(len >> 16);
  p[10] = (uint8_t)(len >> 8);
  p[11] = (uint8_t)len;
}

static uint32_t get32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t min64(uint64_t a, uint64_t b) { return a < b ? a : b; }

/* t + d, saturating below GG_TS_UNSET (timestamps come from the fuzzer too). */
static gg_ts ts_add(gg_ts t, gg_ts d) { return t > GG_TS_UNSET - 1 - d ? GG_TS_UNSET - 1 : t + d; }

static void list_push(slist *l, stream *s, slink *(*lk)(stream *)) {
  lk(s)->prev = l->tail;
  lk(s)->next = NULL;
  if (l->tail)
    lk(l->tail)->next = s;
  else
    l->head = s;
  l->tail = s;
}

static void list_unlink(slist *l, stream *s, slink *(*lk)(stream *)) {
  slink *e = lk(s);
  if (e->prev)
    lk(e->prev)->next = e->next;
  else
    l->head = e->next;
  if (e->next)
    lk(e->next)->prev = e->prev;
  else
    l->tail = e->prev;
  e->prev = e->next = NULL;
}

static slink *ctrl_link(stream *s) { return &s->ctrl; }
static slink *data_link(stream *s) { return &s->data; }

static void ctrl_add(ggp_yamux *y, stream *s) {
  if (s->flags & S_IN_CTRL) return;
  s->flags |= S_IN_CTRL;
  list_push(&y->ctrl, s, ctrl_link);
}

static void ctrl_del(ggp_yamux *y, stream *s) {
  if (!(s->flags & S_IN_CTRL)) return;
  s->flags &= ~(uint32_t)S_IN_CTRL;
  list_unlink(&y->ctrl, s, ctrl_link);
}

static void data_add(ggp_yamux *y, stream *s) {
  if (s->flags & S_IN_DATA) return;
  s->flags |= S_IN_DATA;
  list_push(&y->data, s, data_link);
}

static void data_del(ggp_yamux *y, stream *s) {
  if (!(s->flags & S_IN_DATA)) return;
  s->flags &= ~(uint32_t)S_IN_DATA;
  list_unlink(&y->data, s, data_link);
}

/* ---- send buffer ----------------------------------------------------------------------- */
static size_t sb_len(const sbuf *b) { return b->tail - b->head; }

static void sb_free(ggp_yamux *y, sbuf *b) {
  gg_free(y->mem, b->p);
  memset(b, 0, sizeof(*b));
}

static void sb_reset(sbuf *b) { b->head = b->tail = b->p ? HDR : 0; }

static void sb_consume(sbuf *b, size_t n) {
  b->head += n;
  if (b->head == b->tail) sb_reset(b); /* moves no memory: a pulled run stays valid */
}

/* Appends n bytes; the caller keeps the live bytes within y->sbuf_cap. The consumed front is
 * reclaimed before the buffer grows, as gg_buf does. */
static int sb_append(ggp_yamux *y, sbuf *b, const void *data, size_t n) {
  size_t len = sb_len(b), need = HDR + len + n;
  if (b->alloc - b->tail < n) {
    if (need <= b->alloc) {
      memmove(b->p + HDR, b->p + b->head, len);
    } else {
      size_t na = b->alloc ? b->alloc : 64, top = HDR + (size_t)y->sbuf_cap;
      while (na < need) na *= 2;
      if (na > top) na = top; /* need <= top */
      uint8_t *np = gg_malloc(y->mem, na);
      if (!np) return GG_ENOMEM;
      if (len) memcpy(np + HDR, b->p + b->head, len);
      gg_free(y->mem, b->p);
      b->p = np;
      b->alloc = na;
    }
    b->head = HDR;
    b->tail = HDR + len;
  }
  memcpy(b->p + b->tail, data, n);
  b->tail += n;
  return GG_OK;
}

/* ---- stream table (open addressing, linear probing, backward-shift deletion) ---------- */
static uint32_t slot_of(const ggp_yamux *y, uint32_t id) {
  return (uint32_t)((id * 2654435769u) >> (32 - y->tab_bits));
}

static stream *lookup(const ggp_yamux *y, uint32_t id) {
  if (!y->tab) return NULL;
  uint32_t mask = (1u << y->tab_bits) - 1;
  for (uint32_t i = slot_of(y, id);; i = (i + 1) & mask) {
    stream *s = y->tab[i];
    if (!s) return NULL;
    if (s->id == id) return s;
  }
}

static void tab_put(stream **tab, uint32_t bits, stream *s) {
  uint32_t mask = (1u << bits) - 1;
  uint32_t i = (uint32_t)((s->id * 2654435769u) >> (32 - bits));
  while (tab[i]) i = (i + 1) & mask;
  tab[i] = s;
}

/* Keeps the load at most 1/2 so probes stay short. GG_ENOMEM leaves the table as it was. */
static int tab_insert(ggp_yamux *y, stream *s) {
  if (!y->tab || (y->tab_count + 1) * 2 > (1u << y->tab_bits)) {
    uint32_t bits = y->tab ? y->tab_bits + 1 : 4;
    stream **nt = gg_calloc(y->mem, (size_t)1 << bits, sizeof(*nt));
    if (!nt) return GG_ENOMEM;
    if (y->tab)
      for (uint32_t i = 0; i < (1u << y->tab_bits); i++)
        if (y->tab[i]) tab_put(nt, bits, y->tab[i]);
    gg_free(y->mem, y->tab);
    y->tab = nt;
    y->tab_bits = bits;
  }
  tab_put(y->tab, y->tab_bits, s);
  y->tab_count++;
  return GG_OK;
}

static void tab_remove(ggp_yamux *y, stream *s) {
  uint32_t mask = (1u << y->tab_bits) - 1;
  uint32_t i = slot_of(y, s->id);
  while (y->tab[i] != s) i = (i + 1) & mask;
  y->tab[i] = NULL;
  y->tab_count--;
  /* Move later entries of the probe run back so lookups never stop at the hole. */
  for (uint32_t j = (i + 1) & mask; y->tab[j]; j = (j + 1) & mask) {
    uint32_t k = slot_of(y, y->tab[j]->id);
    int stays = (j > i) ? (k > i && k <= j) : (k > i || k <= j);
    if (stays) continue;
    y->tab[i] = y->tab[j];
    y->tab[j] = NULL;
    i = j;
  }
}

/* ---- stream lifecycle ------------------------------------------------------------------ */
static stream *stream_alloc(ggp_yamux *y, uint32_t id) {
  stream *s = gg_calloc(y->mem, 1, sizeof(*s));
  if (!s) return NULL;
  s->id = id;
  s->rwin = y->initial_window;
  s->ravail = SPEC_WINDOW; /* both sides start from the spec's window... */
  s->credit = SPEC_WINDOW;
  s->epoch = GG_TS_UNSET;
  if (s->rwin > SPEC_WINDOW) s->flags |= S_WU_DUE; /* ...a larger one goes with the SYN/ACK */
  if (lookup(y, id) || tab_insert(y, s)) {
    gg_free(y->mem, s);
    return NULL;
  }
  return s;
}

/* Takes s out of every structure that can reach it by id and queues it for reap(). */
static void retire(ggp_yamux *y, stream *s, int how) {
  if (s->flags & S_DEAD) return;
  tab_remove(y, s);
  ctrl_del(y, s);
  data_del(y, s);
  if (s->flags & S_OUT) {
    y->n_out--;
    if (!(s->flags & S_ACKED)) y->backlog--;
  } else {
    y->n_in--;
  }
  y->grown -= s->rwin - y->initial_window;
  if (y->frame_s == s) y->frame_s = NULL;
  sb_free(y, &s->sb);
  s->flags |= S_DEAD;
  s->end_how = how;
  if (!(s->flags & S_IN_NOTE)) { /* on send()'s list, reap() takes it after that pass */
    s->note = y->reap;
    y->reap = s;
  }
}

/* A stream ends normally once both sides sent FIN and the application consumed it all. */
static void check_end(ggp_yamux *y, stream *s) {
  if ((s->flags & (S_FIN_SENT | S_FIN_RECV)) == (S_FIN_SENT | S_FIN_RECV) &&
      !(s->flags & (S_RST_PEND | S_DEAD)) && s->rheld == 0)
    retire(y, s, GGP_YAMUX_END_FIN);
}

static void reap(ggp_yamux *y) {
  while (y->reap) {
    stream *s = y->reap;
    y->reap = s->note;
    if (y->cb.on_stream_end) {
      y->depth++;
      y->cb.on_stream_end(y, s->id, s->end_how, s->ud, y->ud);
      y->depth--;
    }
    gg_free(y->mem, s);
  }
}

static uint64_t writable(const ggp_yamux *y, const stream *s) {
  if (s->flags & (S_FIN_PEND | S_FIN_SENT | S_RST_PEND | S_DEAD)) return 0;
  size_t used = sb_len(&s->sb);
  return used >= y->sbuf_cap ? 0 : min64(s->credit, y->sbuf_cap - used);
}

/* Marks the session dead with err and, unless a GoAway already left, queues the GoAway that
 * tells the peer why. Returns err. */
static int fail(ggp_yamux *y, int err) {
  if (y->err) return y->err;
  y->err = err;
  if (err != GG_ETIMEDOUT && !y->ga_sent) {
    y->ga_pending = 1;
    y->ga_code = gg_err_is_peer(err) ? GGP_YAMUX_GOAWAY_PROTOCOL : GGP_YAMUX_GOAWAY_INTERNAL;
  }
  return err;
}

/* The keepalive interval counts from the first recv() or send(): the core has no other way
 * to learn the time. Until then want_send() is 1 so that the host calls send() once. */
static void start_clock(ggp_yamux *y, gg_ts ts) {
  if (y->ka_next == GG_TS_UNSET && y->keepalive != GG_TS_UNSET)
    y->ka_next = ts_add(ts, y->keepalive);
}

/* ---- creation ------------------------------------------------------------------------- */
int ggp_yamux_new(ggp_yamux **py, const ggp_yamux_callbacks *cb, const ggp_yamux_settings *st,
                  int is_client, const gg_mem *mem, void *ud) {
  ggp_yamux_settings d;
  memset(&d, 0, sizeof(d));
  if (!st) st = &d;
  uint32_t iw = st->initial_window ? st->initial_window : GGP_YAMUX_INITIAL_WINDOW;
  uint32_t mw = st->max_window ? st->max_window : 16u * 1024 * 1024;
  uint32_t mf = st->max_frame_data ? st->max_frame_data : 64u * 1024 - HDR;
  if (iw < GGP_YAMUX_INITIAL_WINDOW || mw < iw || mf < 1024 || mf > 16u * 1024 * 1024)
    return GG_EINVAL;
  ggp_yamux *y = gg_calloc(mem, 1, sizeof(*y));
  if (!y) return GG_ENOMEM;
  if (cb) y->cb = *cb;
  y->ud = ud;
  y->mem = mem;
  y->client = is_client ? 1 : 0;
  y->initial_window = iw;
  y->max_window = mw;
  y->max_frame = mf;
  y->max_in = st->max_streams_in ? st->max_streams_in : 1000;
  y->max_out = st->max_streams_out ? st->max_streams_out : 1000;
  y->max_backlog = st->max_ack_backlog ? st->max_ack_backlog : 256;
  y->sbuf_cap = st->send_buffer ? st->send_buffer : 256u * 1024;
  y->budget = st->window_budget ? st->window_budget : 64ull * 1024 * 1024;
  y->max_ctrl = st->max_ctrl_queue ? st->max_ctrl_queue : 1024;
  y->max_pongs = st->max_pongs ? st->max_pongs : 16;
  y->keepalive = st->keepalive ? st->keepalive : GG_SEC(30);
  y->ping_timeout = st->ping_timeout ? st->ping_timeout : GG_SEC(10);
  y->next_id = is_client ? 1 : 2;
  y->rtt = y->ka_next = GG_TS_UNSET;
  y->ping_queued = !st->no_initial_ping;
  gg_buf_init(&y->ctrlq, mem, (size_t)y->max_ctrl * HDR);
  *py = y;
  return GG_OK;
}

void ggp_yamux_del(ggp_yamux *y) {
  if (!y) return;
  /* retired streams wait on the reap list, or on the notes list when a pull drained them;
   * live ones on the notes list are freed with the table */
  while (y->notes) {
    stream *s = y->notes;
    y->notes = s->note;
    if (s->flags & S_DEAD) gg_free(y->mem, s);
  }
  while (y->reap) {
    stream *s = y->reap;
    y->reap = s->note;
    gg_free(y->mem, s);
  }
  if (y->tab)
    for (uint32_t i = 0; i < (1u << y->tab_bits); i++)
      if (y->tab[i]) {
        sb_free(y, &y->tab[i]->sb);
        gg_free(y->mem, y->tab[i]);
      }
  gg_free(y->mem, y->tab);
  gg_buf_free(&y->ctrlq);
  gg_buf_free(&y->scratch);
  gg_free(y->mem, y);
}

/* ---- receiving ------------------------------------------------------------------------- */
/* Queues a control frame we owe the peer; GG_ERATE when it has made us owe too many. */
static int ctrlq_push(ggp_yamux *y, uint8_t type, uint16_t flags, uint32_t id, uint32_t len) {
  uint8_t *p = gg_buf_tail(&y->ctrlq, HDR);
  if (!p) return gg_buf_len(&y->ctrlq) + HDR > y->ctrlq.limit ? GG_ERATE : GG_ENOMEM;
  put_hdr(p, type, flags, id, len);
  gg_buf_commit(&y->ctrlq, HDR);
  return GG_OK;
}

static int refuse(ggp_yamux *y, uint32_t id) { return ctrlq_push(y, T_WINDOW, F_RST, id, 0); }

/* A SYN for an id we do not know. *ps gets the new stream, or NULL when it was refused. */
static int incoming(ggp_yamux *y, uint32_t id, gg_ts ts, stream **ps) {
  *ps = NULL;
  /* The client opens odd ids, the server even: a SYN with our own parity means both sides
   * think they are the client (js: "both endpoints are clients"). */
  if ((id & 1u) == (uint32_t)y->client) return GG_EPROTO;
  if (y->ga_local || y->ga_recv || y->n_in >= y->max_in || !y->cb.on_stream_open)
    return refuse(y, id);
  stream *s = stream_alloc(y, id);
  if (!s) return refuse(y, id); /* our memory, not the peer's fault: refuse just this one */
  s->flags |= S_SYN_SENT | S_ACK;
  s->epoch = ts;
  y->n_in++;
  void *sud = NULL;
  y->depth++;
  int rv = y->cb.on_stream_open(y, id, &sud, y->ud);
  y->depth--;
  if (rv != 0 || (s->flags & S_DEAD)) {
    if (!(s->flags & S_DEAD)) { /* never shown to anyone: drop without on_stream_end */
      tab_remove(y, s);
      ctrl_del(y, s);
      data_del(y, s);
      y->n_in--;
      sb_free(y, &s->sb);
      gg_free(y->mem, s);
    }
    return refuse(y, id);
  }
  s->ud = sud;
  ctrl_add(y, s);
  *ps = s;
  return GG_OK;
}

/* FIN and RST take effect once a frame (with its payload) is complete. */
static void stream_end_flags(ggp_yamux *y, stream *s, uint16_t flags) {
  if (!s || (s->flags & S_DEAD)) return;
  if (flags & F_RST) {
    retire(y, s, GGP_YAMUX_END_RESET_REMOTE);
    return;
  }
  if ((flags & F_FIN) && !(s->flags & S_FIN_RECV)) {
    s->flags |= S_FIN_RECV;
    s->flags &= ~(uint32_t)S_WU_DUE; /* the peer will send nothing more */
    if (!(s->flags & S_RST_PEND) && y->cb.on_fin) {
      y->depth++;
      y->cb.on_fin(y, s->id, s->ud, y->ud);
      y->depth--;
    }
    check_end(y, s);
  }
}

static void on_ack(ggp_yamux *y, stream *s, uint16_t flags) {
  if ((flags & F_ACK) && (s->flags & S_OUT) && !(s->flags & S_ACKED)) {
    s->flags |= S_ACKED;
    y->backlog--;
  }
}

static int frame_done(ggp_yamux *y) {
  stream *s = y->frame_s;
  y->frame_s = NULL;
  y->in_payload = 0;
  stream_end_flags(y, s, y->frame_flags);
  return GG_OK;
}

static int on_stream_frame(ggp_yamux *y, uint8_t type, uint16_t flags, uint32_t id, uint32_t len,
                           gg_ts ts) {
  stream *s = lookup(y, id);
  if ((flags & F_SYN) && !s) {
    int rv = incoming(y, id, ts, &s);
    if (rv) return rv;
  } else if ((flags & F_SYN) && (id & 1u) == (uint32_t)y->client) {
    return GG_EPROTO; /* a SYN on one of our own streams */
  }
  /* Frames for unknown ids are ignored, as js does: they are in flight for a stream that
   * ended (we reset it) or that we refused. A DATA payload is skipped. */
  if (s) on_ack(y, s, flags);
  if (type == T_DATA) {
    y->frame_s = NULL;
    if (s && !(s->flags & S_RST_PEND)) {
      if ((s->flags & S_FIN_RECV) && len > 0) return GG_EPROTO;
      if (len > s->ravail) return GG_EFLOWCTL;
      s->ravail -= len;
      s->rheld += len;
      y->frame_s = s;
    }
    y->frame_flags = flags;
    y->frame_left = len;
    if (len) {
      y->in_payload = 1;
      return GG_OK;
    }
    return frame_done(y);
  }
  /* WINDOW_UPDATE */
  if (!s) return GG_OK;
  if (!(s->flags & S_RST_PEND)) {
    s->credit += len;
    if ((s->flags & S_WANT_W) && writable(y, s) > 0) {
      s->flags &= ~(uint32_t)S_WANT_W;
      if (y->cb.on_writable) {
        y->depth++;
        y->cb.on_writable(y, id, s->ud, y->ud);
        y->depth--;
      }
    }
  }
  stream_end_flags(y, s, flags);
  return GG_OK;
}

static int on_ping(ggp_yamux *y, uint16_t flags, uint32_t value, gg_ts ts) {
  switch (flags & (F_SYN | F_ACK)) {
  case F_SYN: /* answer with the same opaque value */
    /* A peer keeps one ping in flight; one that floods us while we cannot send gets no
     * more answers (go-yamux drops them too) rather than growing our queue. */
    if (y->pongs >= y->max_pongs) return GG_OK;
    int rv = ctrlq_push(y, T_PING, F_ACK, 0, value);
    if (rv) return rv;
    y->pongs++;
    return GG_OK;
  case F_ACK:
    /* js 7.0.4 treats an answer to a ping it did not send, or with another value, as a
     * protocol error (UnrequestedPingError, NotMatchingPingError); we do the same. */
    if (!y->ping_out || value != y->ping_id) return GG_EPROTO;
    y->ping_out = 0;
    y->rtt = ts >= y->ping_sent ? ts - y->ping_sent : 0;
    if (y->cb.on_ping_rtt) {
      y->depth++;
      y->cb.on_ping_rtt(y, y->rtt, y->ud);
      y->depth--;
    }
    return GG_OK;
  default: return GG_EPROTO;
  }
}

static int on_header(ggp_yamux *y, const uint8_t *h, gg_ts ts) {
  uint8_t type = h[1];
  uint16_t flags = (uint16_t)(h[2] << 8 | h[3]);
  uint32_t id = get32(h + 4), len = get32(h + 8);
  if (h[0] != 0) return GG_EPROTO;
  switch (type) {
  case T_DATA:
  case T_WINDOW:
    if (id == 0) return GG_EPROTO;
    return on_stream_frame(y, type, flags, id, len, ts);
  case T_PING:
    if (id != 0) return GG_EPROTO;
    return on_ping(y, flags, len, ts);
  case T_GOAWAY:
    if (id != 0) return GG_EPROTO;
    if (!y->ga_recv) {
      y->ga_recv = 1;
      y->ga_recv_code = len;
      if (y->cb.on_goaway) {
        y->depth++;
        y->cb.on_goaway(y, len, y->ud);
        y->depth--;
      }
    }
    return GG_OK;
  default: return GG_EPROTO;
  }
}

int ggp_yamux_recv(ggp_yamux *y, const uint8_t *in, size_t len, gg_ts ts) {
  if (y->depth) return GG_ESTATE;
  if (y->err) return y->err;
  start_clock(y, ts);
  int rv = GG_OK;
  while (len > 0 && rv == GG_OK) {
    if (y->in_payload) {
      size_t n = (size_t)min64(len, y->frame_left);
      stream *s = y->frame_s;
      if (s && !(s->flags & S_RST_PEND)) {
        s->rdeliv += n;
        if (y->cb.on_data) {
          y->depth++;
          int cr = y->cb.on_data(y, s->id, in, n, s->ud, y->ud);
          y->depth--;
          if (cr) rv = cr < 0 ? cr : GG_EINTERNAL;
        }
      }
      in += n;
      len -= n;
      y->frame_left -= n;
      if (y->frame_left == 0 && rv == GG_OK) rv = frame_done(y);
      continue;
    }
    const uint8_t *h;
    if (y->hdr_len == 0 && len >= HDR) { /* the usual case: the header is in the input */
      h = in;
      in += HDR;
      len -= HDR;
    } else {
      size_t n = (size_t)min64(HDR - y->hdr_len, len);
      memcpy(y->hdr + y->hdr_len, in, n);
      y->hdr_len += n;
      in += n;
      len -= n;
      if (y->hdr_len < HDR) break;
      y->hdr_len = 0;
      h = y->hdr;
    }
    rv = on_header(y, h, ts);
  }
  if (rv) fail(y, rv);
  reap(y);
  return rv;
}

/* ---- sending --------------------------------------------------------------------------- */
/* The credit a window update returns now, growing the window first when the application
 * took less than 4 round trips to consume the last half window (the rule go-yamux and js use;
 * bounded per stream by max_window and across streams by window_budget). */
static uint64_t window_delta(ggp_yamux *y, stream *s, gg_ts ts) {
  if (s->flags & S_FIN_RECV) return 0;
  if ((s->flags & S_WU_DUE) && !(s->flags & (S_SYN | S_ACK)) && y->rtt != GG_TS_UNSET &&
      s->epoch != GG_TS_UNSET && ts >= s->epoch && ts - s->epoch < 4 * y->rtt &&
      s->rwin < y->max_window) {
    uint32_t nw = s->rwin > y->max_window / 2 ? y->max_window : s->rwin * 2;
    if (y->grown + (nw - s->rwin) <= y->budget) {
      y->grown += nw - s->rwin;
      s->rwin = nw;
    }
  }
  uint64_t used = s->ravail + s->rheld;
  return s->rwin > used ? s->rwin - used : 0;
}

/* Room left in out for whole frames. */
static size_t room(const gg_buf *out) {
  return out->limit > gg_buf_len(out) ? out->limit - gg_buf_len(out) : 0;
}

static int emit(gg_buf *out, uint8_t type, uint16_t flags, uint32_t id, uint32_t len) {
  uint8_t *p = gg_buf_tail(out, HDR);
  if (!p) return GG_ENOMEM;
  put_hdr(p, type, flags, id, len);
  gg_buf_commit(out, HDR);
  return GG_OK;
}

/* Pending SYN/ACK go on whatever frame of the stream leaves first. */
static uint16_t open_flags(const stream *s) {
  return (uint16_t)(((s->flags & S_SYN) ? F_SYN : 0) | ((s->flags & S_ACK) ? F_ACK : 0));
}

/* Records that a frame carrying open_flags(s) left at ts. */
static void opened(stream *s, uint16_t f, gg_ts ts) {
  if (!f) return;
  s->flags &= ~(uint32_t)(S_SYN | S_ACK);
  s->flags |= S_SYN_SENT;
  if (s->epoch == GG_TS_UNSET) s->epoch = ts;
}

/* Window updates with SYN/ACK/FIN/RST for streams on y->ctrl. 1 when out is full. */
static int send_ctrl(ggp_yamux *y, gg_buf *out, gg_ts ts, int *rv) {
  stream *next;
  for (stream *s = y->ctrl.head; s; s = next) {
    next = s->ctrl.next;
    if (room(out) < HDR) return 1;
    if (s->flags & S_RST_PEND) {
      if ((*rv = emit(out, T_WINDOW, F_RST, s->id, 0))) return 1;
      retire(y, s, GGP_YAMUX_END_RESET_LOCAL);
      continue;
    }
    int empty = sb_len(&s->sb) == 0;
    int fin = (s->flags & S_FIN_PEND) && empty;
    int open = (s->flags & (S_SYN | S_ACK)) && empty;
    uint64_t delta = (s->flags & S_WU_DUE) ? window_delta(y, s, ts) : 0;
    if (!fin && !open && delta == 0) {
      s->flags &= ~(uint32_t)S_WU_DUE;
      ctrl_del(y, s);
      continue;
    }
    /* The window update carries the SYN/ACK even when data follows: a frame for a stream
     * the peer has not seen opened would be ignored. */
    uint16_t f = (uint16_t)((fin ? F_FIN : 0) | open_flags(s));
    if ((*rv = emit(out, T_WINDOW, f, s->id, (uint32_t)delta))) return 1;
    opened(s, f & (F_SYN | F_ACK), ts);
    if (delta) {
      s->ravail += delta;
      s->epoch = ts;
    }
    s->flags &= ~(uint32_t)S_WU_DUE;
    if (fin) s->flags = (s->flags & ~(uint32_t)S_FIN_PEND) | S_FIN_SENT;
    ctrl_del(y, s);
    if (fin) check_end(y, s);
  }
  return 0;
}

/* Takes the first n buffered bytes of s as a DATA frame: writes its header at hdr, consumes
 * them, moves s to the back of the data list (streams take turns) or off it when drained, and
 * puts it on the notes list when its writer may want to hear (see run_notes). Returns 1 when
 * the buffer drained. */
static int data_frame(ggp_yamux *y, stream *s, size_t n, gg_ts ts, uint8_t *hdr) {
  uint16_t f = open_flags(s);
  opened(s, f, ts);
  put_hdr(hdr, T_DATA, f, s->id, (uint32_t)n);
  sb_consume(&s->sb, n);
  int last = sb_len(&s->sb) == 0;
  data_del(y, s);
  if (!last) data_add(y, s);
  if ((last || (s->flags & S_WANT_W)) && !(s->flags & S_IN_NOTE)) {
    s->flags |= S_IN_NOTE;
    s->note = y->notes;
    y->notes = s;
  }
  return last;
}

/* DATA frames, one per stream in turn. 1 when out is full. */
static int send_data(ggp_yamux *y, gg_buf *out, gg_ts ts, int *rv) {
  while (y->data.head) {
    stream *s = y->data.head;
    size_t r = room(out);
    if (r <= HDR) return 1;
    size_t n = sb_len(&s->sb);
    if (n > y->max_frame) n = y->max_frame;
    if (n > r - HDR) n = r - HDR;
    uint8_t *p = gg_buf_tail(out, HDR + n);
    if (!p) {
      *rv = GG_ENOMEM;
      return 1;
    }
    memcpy(p + HDR, s->sb.p + s->sb.head, n);
    int last = data_frame(y, s, n, ts, p);
    gg_buf_commit(out, HDR + n);
    if (last && (s->flags & S_FIN_PEND)) {
      /* The FIN follows on its own WINDOW_UPDATE, never on the DATA frame: js 7.0.4 handles
       * a frame's FIN before its payload and drops that payload. */
      if (room(out) < HDR || (*rv = emit(out, T_WINDOW, F_FIN, s->id, 0))) {
        ctrl_add(y, s);
        return 1;
      }
      s->flags = (s->flags & ~(uint32_t)S_FIN_PEND) | S_FIN_SENT;
      check_end(y, s);
    }
  }
  return 0;
}

/* Frames owed to the peer, our ping, then stream control frames (send() steps 1-3). 1 when out
 * is full. */
static int send_control(ggp_yamux *y, gg_buf *out, gg_ts ts, int *rv) {
  /* 1. frames the peer made us owe it, in order */
  size_t q = gg_buf_len(&y->ctrlq);
  size_t take = q < room(out) ? q : room(out) - room(out) % HDR;
  if (take) {
    uint8_t *p = gg_buf_tail(out, take);
    if (!p) {
      *rv = GG_ENOMEM;
      return 1;
    }
    memcpy(p, gg_buf_ptr(&y->ctrlq), take);
    gg_buf_commit(out, take);
    for (size_t i = 0; i < take; i += HDR)
      if (p[i + 1] == T_PING) y->pongs--;
    gg_buf_consume(&y->ctrlq, take);
  }
  if (gg_buf_len(&y->ctrlq) > 0) return 1;

  /* 2. our ping: its RTT is measured from here */
  if (y->ping_queued && !y->ping_out) {
    if (room(out) < HDR || (*rv = emit(out, T_PING, F_SYN, 0, y->next_ping_id))) return 1;
    y->ping_queued = 0;
    y->ping_out = 1;
    y->ping_id = y->next_ping_id++;
    y->ping_sent = ts;
    if (y->keepalive != GG_TS_UNSET) y->ka_next = ts_add(ts, y->keepalive);
  }

  /* 3. window updates with SYN/ACK/FIN/RST */
  return send_ctrl(y, out, ts, rv);
}

/* 5. a GoAway we were asked for, once everything before it left. */
static int send_goaway(ggp_yamux *y, gg_buf *out) {
  if (!y->ga_pending || y->ga_sent || y->ctrl.head || y->data.head || room(out) < HDR)
    return GG_OK;
  int rv = emit(out, T_GOAWAY, 0, 0, y->ga_code);
  if (rv == GG_OK) {
    y->ga_pending = 0;
    y->ga_sent = 1;
  }
  return rv;
}

/* The GoAway a dead session owes, if it fits. */
static void send_fatal_goaway(ggp_yamux *y, gg_buf *out) {
  if (y->ga_pending && !y->ga_sent && room(out) >= HDR &&
      emit(out, T_GOAWAY, 0, 0, y->ga_code) == GG_OK) {
    y->ga_pending = 0;
    y->ga_sent = 1;
  }
}

/* After a send: tells streams whose buffer half drained that they may write again, and gives back
 * the buffer of a drained stream whose writer is not waiting for room (an idle connection should
 * cost little; a bulk writer is waiting and keeps its buffer). Streams retired meanwhile go to
 * reap(). */
static void run_notes(ggp_yamux *y) {
  y->depth++;
  while (y->notes) {
    stream *s = y->notes;
    y->notes = s->note;
    s->flags &= ~(uint32_t)S_IN_NOTE;
    if (s->flags & S_DEAD) {
      s->note = y->reap;
      y->reap = s;
      continue;
    }
    if (s->flags & S_WANT_W) {
      /* once at least half the buffer is free: a writer woken for every frame that left
       * would hand over its data in frame-sized pieces (and a host queueing the rest of each
       * piece would copy most bytes twice) */
      if (writable(y, s) > 0 && sb_len(&s->sb) <= y->sbuf_cap / 2) {
        s->flags &= ~(uint32_t)S_WANT_W;
        if (y->cb.on_writable) y->cb.on_writable(y, s->id, s->ud, y->ud);
      }
    } else if (sb_len(&s->sb) == 0 && s->sb.alloc > 4096) {
      sb_free(y, &s->sb);
    }
  }
  y->depth--;
}

int ggp_yamux_send(ggp_yamux *y, gg_buf *out, gg_ts ts) {
  if (y->depth) return GG_ESTATE;
  if (y->err) {
    send_fatal_goaway(y, out);
    return y->err;
  }
  start_clock(y, ts);
  int rv = GG_OK;
  int full = send_control(y, out, ts, &rv);
  /* 4. data */
  if (!full && rv == GG_OK) full = send_data(y, out, ts, &rv);
  if (!full && rv == GG_OK) rv = send_goaway(y, out);
  /* 6. streams whose buffer drained */
  run_notes(y);
  reap(y);
  return rv;
}

/* Control frames per pull: a few KiB, so many window updates share one Noise message. */
#define PULL_SCRATCH 4096

int ggp_yamux_send_pull(ggp_yamux *y, size_t max, gg_ts ts, const uint8_t **p, size_t *len) {
  *p = NULL;
  *len = 0;
  if (y->depth) return GG_ESTATE;
  /* what the previous pull drained or ended is told now, when its run is no longer in use */
  run_notes(y);
  reap(y);
  gg_buf_reset(&y->scratch);
  y->scratch.limit = max < PULL_SCRATCH ? max : PULL_SCRATCH;
  /* reserved first so that no frame is taken from the session and then lost; not needed when
   * only DATA is pending (bulk transfer) */
  int ctl = y->err || gg_buf_len(&y->ctrlq) > 0 || (y->ping_queued && !y->ping_out) ||
            y->ctrl.head || (y->ga_pending && !y->ga_sent);
  if (ctl && y->scratch.limit >= HDR && gg_buf_reserve(&y->scratch, y->scratch.limit))
    return GG_ENOMEM;
  int rv = GG_OK;
  if (y->err) {
    send_fatal_goaway(y, &y->scratch);
    rv = y->err;
  } else {
    start_clock(y, ts);
    int full = send_control(y, &y->scratch, ts, &rv);
    if (!full && gg_buf_len(&y->scratch) == 0 && y->data.head && max > HDR) {
      stream *s = y->data.head;
      size_t n = sb_len(&s->sb);
      if (n > y->max_frame) n = y->max_frame;
      if (n > max - HDR) n = max - HDR;
      uint8_t *h = s->sb.p + s->sb.head - HDR; /* the headroom invariant makes this ours */
      if (data_frame(y, s, n, ts, h) && (s->flags & S_FIN_PEND))
        ctrl_add(y, s); /* the FIN goes on its own frame with the next pull */
      *p = h;
      *len = HDR + n;
      return GG_OK;
    }
    if (!full && rv == GG_OK && gg_buf_len(&y->scratch) == 0) send_goaway(y, &y->scratch);
  }
  if (gg_buf_len(&y->scratch)) {
    *p = gg_buf_ptr(&y->scratch);
    *len = gg_buf_len(&y->scratch);
  } else {
    gg_buf_free(&y->scratch); /* an idle session keeps none */
  }
  return rv;
}

int ggp_yamux_want_send(const ggp_yamux *y) {
  if (y->err) return y->ga_pending && !y->ga_sent;
  return gg_buf_len(&y->ctrlq) > 0 || (y->ping_queued && !y->ping_out) || y->ctrl.head ||
         y->data.head || (y->ga_pending && !y->ga_sent) || y->reap || y->notes ||
         (y->ka_next == GG_TS_UNSET && y->keepalive != GG_TS_UNSET);
}

/* ---- streams --------------------------------------------------------------------------- */
int ggp_yamux_open(ggp_yamux *y, uint32_t *id, void *stream_ud) {
  if (y->err || y->ga_local || y->ga_recv) return GG_ECLOSED;
  if (y->n_out >= y->max_out || y->backlog >= y->max_backlog || y->next_id > UINT32_MAX)
    return GG_ELIMIT;
  stream *s = stream_alloc(y, (uint32_t)y->next_id);
  if (!s) return GG_ENOMEM;
  y->next_id += 2;
  s->flags |= S_OUT | S_SYN;
  s->ud = stream_ud;
  y->n_out++;
  y->backlog++;
  ctrl_add(y, s);
  *id = s->id;
  return GG_OK;
}

int64_t ggp_yamux_write(ggp_yamux *y, uint32_t id, const void *data, size_t len) {
  if (y->err) return y->err;
  stream *s = lookup(y, id);
  if (!s) return GG_ENOTFOUND;
  if (s->flags & (S_FIN_PEND | S_FIN_SENT | S_RST_PEND)) return GG_ESTATE;
  uint64_t n = min64(len, writable(y, s));
  if (n < len) s->flags |= S_WANT_W;
  if (n == 0) return 0;
  if (sb_append(y, &s->sb, data, (size_t)n)) return GG_ENOMEM;
  s->credit -= n;
  data_add(y, s);
  return (int64_t)n;
}

size_t ggp_yamux_writable(const ggp_yamux *y, uint32_t id) {
  const stream *s = lookup(y, id);
  return s && !y->err ? (size_t)writable(y, s) : 0;
}

int ggp_yamux_close(ggp_yamux *y, uint32_t id) {
  stream *s = lookup(y, id);
  if (!s) return GG_ENOTFOUND;
  if (s->flags & (S_FIN_PEND | S_FIN_SENT | S_RST_PEND)) return GG_ESTATE;
  s->flags |= S_FIN_PEND;
  s->flags &= ~(uint32_t)S_WANT_W;
  if (sb_len(&s->sb) == 0) ctrl_add(y, s); /* else it follows the last DATA frame */
  return GG_OK;
}

int ggp_yamux_reset(ggp_yamux *y, uint32_t id) {
  stream *s = lookup(y, id);
  if (!s || (s->flags & S_RST_PEND)) return GG_ENOTFOUND;
  sb_reset(&s->sb);
  data_del(y, s);
  s->flags &= ~(uint32_t)(S_WANT_W | S_WU_DUE | S_FIN_PEND);
  if (!(s->flags & S_SYN_SENT)) { /* the peer never heard of it: nothing to send */
    retire(y, s, GGP_YAMUX_END_RESET_LOCAL);
    return GG_OK;
  }
  s->flags |= S_RST_PEND;
  ctrl_add(y, s);
  return GG_OK;
}

int ggp_yamux_consume(ggp_yamux *y, uint32_t id, size_t n) {
  stream *s = lookup(y, id);
  if (!s) return GG_ENOTFOUND;
  if (n > s->rdeliv) return GG_EINVAL;
  s->rdeliv -= n;
  s->rheld -= n;
  if (s->flags & S_FIN_RECV) {
    check_end(y, s);
  } else if (!(s->flags & S_RST_PEND) && s->rwin - s->ravail - s->rheld >= s->rwin / 2) {
    /* Half the window is free: return it in one update (go-yamux does the same) rather than
     * one frame per read as js does. */
    s->flags |= S_WU_DUE;
    ctrl_add(y, s);
  }
  return GG_OK;
}

void *ggp_yamux_stream_ud(const ggp_yamux *y, uint32_t id) {
  const stream *s = lookup(y, id);
  return s ? s->ud : NULL;
}

int ggp_yamux_set_stream_ud(ggp_yamux *y, uint32_t id, void *stream_ud) {
  stream *s = lookup(y, id);
  if (!s) return GG_ENOTFOUND;
  s->ud = stream_ud;
  return GG_OK;
}

int ggp_yamux_stream_get_info(const ggp_yamux *y, uint32_t id, ggp_yamux_stream_info *si) {
  const stream *s = lookup(y, id);
  if (!s) return GG_ENOTFOUND;
  memset(si, 0, sizeof(*si));
  si->outbound = !!(s->flags & S_OUT);
  si->acked = !!(s->flags & S_ACKED);
  si->local_fin = !!(s->flags & (S_FIN_PEND | S_FIN_SENT));
  si->remote_fin = !!(s->flags & S_FIN_RECV);
  si->recv_window = s->rwin;
  si->recv_avail = s->ravail;
  si->unconsumed = s->rdeliv;
  si->send_credit = s->credit;
  si->send_buffered = sb_len(&s->sb);
  return GG_OK;
}

void ggp_yamux_get_info(const ggp_yamux *y, ggp_yamux_info *info) {
  memset(info, 0, sizeof(*info));
  info->streams_in = y->n_in;
  info->streams_out = y->n_out;
  info->rtt = y->rtt;
  info->goaway_sent = y->ga_sent;
  info->goaway_received = y->ga_recv;
  info->goaway_code = y->ga_recv_code;
  info->window_grown = y->grown;
}

/* ---- ping, GoAway, timers -------------------------------------------------------------- */
int ggp_yamux_ping(ggp_yamux *y) {
  if (y->err || y->ga_local || y->ga_recv) return GG_ECLOSED;
  if (!y->ping_out) y->ping_queued = 1;
  return GG_OK;
}

int ggp_yamux_goaway(ggp_yamux *y, uint32_t code) {
  if (y->ga_pending || y->ga_sent || y->err) return GG_ESTATE;
  y->ga_pending = 1;
  y->ga_local = 1;
  y->ga_code = code;
  return GG_OK;
}

/* When our ping in flight times out (GG_TS_UNSET: never). */
static gg_ts ping_deadline(const ggp_yamux *y) {
  if (!y->ping_out || y->ping_timeout == GG_TS_UNSET) return GG_TS_UNSET;
  return y->ping_sent > GG_TS_UNSET - y->ping_timeout ? GG_TS_UNSET - 1
                                                      : y->ping_sent + y->ping_timeout;
}

gg_ts ggp_yamux_expiry(const ggp_yamux *y) {
  if (y->err) return GG_TS_UNSET;
  gg_ts t = GG_TS_UNSET;
  if (y->ping_out)
    t = ping_deadline(y);
  else if (!y->ping_queued && !y->ga_local && !y->ga_recv)
    t = y->ka_next;
  return t;
}

int ggp_yamux_handle_expiry(ggp_yamux *y, gg_ts ts) {
  if (y->depth) return GG_ESTATE;
  if (y->err) return y->err;
  if (y->ping_out && ts >= ping_deadline(y)) return fail(y, GG_ETIMEDOUT);
  if (!y->ping_out && !y->ga_local && !y->ga_recv && y->ka_next != GG_TS_UNSET && ts >= y->ka_next)
    y->ping_queued = 1;
  reap(y);
  return GG_OK;
}
