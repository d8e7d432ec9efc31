/*
 * Fuzz target: the Yamux core (src/proto/yamux.c).
 *
 * Input: byte 0 picks the mode and our role, byte 1 the allocation that starts failing
 * (255: none), then a program of one-byte operations with their arguments.
 *   mode 0 ("raw"): the program's RECV operations feed arbitrary bytes into session A, the
 *     others drive A's API (open, write, consume, close, reset, ping, GoAway, timers, send;
 *     an odd output limit byte drains the output with send_pull() instead of send()).
 *     Only memory safety and leaks are checked (ASan/LSan).
 *   mode 1 ("wired"): sessions A and B are wired back to back and the program only drives
 *     their APIs and the clock. Both are correct implementations talking to each other, so a
 *     PEER-class error (protocol, flow control) on either side is a bug: abort().
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ggen/buf.h"
#include "ggen/err.h"
#include "ggen/yamux.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXS 16

typedef struct side {
  ggp_yamux *y;
  gg_buf out;
  uint32_t ids[MAXS];
  int n;
  int dead;
} side;

typedef struct prog {
  const uint8_t *p;
  size_t left;
} prog;

static uint8_t next(prog *g) {
  if (!g->left) return 0;
  g->left--;
  return *g->p++;
}

/* failing allocator: allocation number fail_at and all later ones fail */
typedef struct fmem {
  gg_mem mem;
  long n, fail_at;
} fmem;
static void *f_malloc(size_t n, void *ud) {
  fmem *f = ud;
  return f->fail_at >= 0 && f->n++ >= f->fail_at ? NULL : malloc(n);
}
static void f_free(void *p, void *ud) {
  (void)ud;
  free(p);
}
static void *f_calloc(size_t n, size_t s, void *ud) {
  fmem *f = ud;
  return f->fail_at >= 0 && f->n++ >= f->fail_at ? NULL : calloc(n, s);
}
static void *f_realloc(void *p, size_t n, void *ud) {
  fmem *f = ud;
  return f->fail_at >= 0 && f->n++ >= f->fail_at ? NULL : realloc(p, n);
}

static void track_add(side *s, uint32_t id) {
  if (s->n < MAXS) s->ids[s->n++] = id;
}

static void track_del(side *s, uint32_t id) {
  for (int i = 0; i < s->n; i++)
    if (s->ids[i] == id) {
      s->ids[i] = s->ids[--s->n];
      return;
    }
}

static int cb_open(ggp_yamux *y, uint32_t id, void **sud, void *ud) {
  side *s = ud;
  (void)y;
  (void)sud;
  if (s->n >= MAXS || (id % 7) == 6) return 1; /* refuse some */
  track_add(s, id);
  return 0;
}

static int cb_data(ggp_yamux *y, uint32_t id, const uint8_t *d, size_t n, void *sud, void *ud) {
  (void)y, (void)id, (void)sud, (void)ud;
  volatile uint8_t sink = 0;
  for (size_t i = 0; i < n; i++) sink ^= d[i]; /* the pointer must be readable */
  (void)sink;
  return 0;
}

static void cb_end(ggp_yamux *y, uint32_t id, int how, void *sud, void *ud) {
  (void)y, (void)how, (void)sud;
  track_del(ud, id);
}

static const ggp_yamux_callbacks CB = {cb_open, cb_data, NULL, NULL, cb_end, NULL, NULL};

/* GG_ERATE is the exception: the program may let one side queue refusals without ever
 * letting it send them, which the rate cap is there to stop. */
static void check(int rv, int wired) {
  if (wired && gg_err_is_peer(rv) && rv != GG_ERATE) abort();
}

static uint32_t pick(side *s, prog *g) {
  uint8_t b = next(g);
  if (s->n == 0 || b == 255) return b; /* sometimes an unknown id */
  return s->ids[b % s->n];
}

/* Sends what s wants to send; delivers it to d (when given) in pieces picked by the program. */
static void flow(side *s, side *d, prog *g, gg_ts ts, int wired) {
  if (s->dead) return;
  uint8_t lim = next(g);
  int rv;
  if (lim & 1) { /* pulls of at most lim * 97 bytes until nothing is left */
    s->out.limit = (size_t)1 << 22;
    for (int i = 0; i < 100000; i++) {
      const uint8_t *p;
      size_t n;
      rv = ggp_yamux_send_pull(s->y, (size_t)lim * 97, ts, &p, &n);
      if (n > (size_t)lim * 97) abort();
      if (n && gg_buf_append(&s->out, p, n)) break;
      if (rv || n == 0) break;
    }
  } else {
    s->out.limit = lim ? (size_t)lim * 97 : (size_t)1 << 22;
    rv = ggp_yamux_send(s->y, &s->out, ts);
  }
  check(rv, wired);
  if (rv && rv != GG_ENOMEM) s->dead = 1;
  if (d && !d->dead) {
    size_t split = next(g);
    const uint8_t *p = gg_buf_ptr(&s->out);
    size_t len = gg_buf_len(&s->out);
    for (size_t off = 0; off < len;) {
      size_t n = split && len - off > split ? split : len - off;
      rv = ggp_yamux_recv(d->y, p + off, n, ts);
      check(rv, wired);
      if (rv) {
        d->dead = 1;
        break;
      }
      off += n;
    }
  }
  gg_buf_reset(&s->out);
}

static void op_stream(side *s, prog *g, uint8_t op, int wired) {
  static uint8_t junk[64 * 256];
  uint32_t id;
  switch (op) {
  case 0:
    if (ggp_yamux_open(s->y, &id, NULL) == GG_OK) track_add(s, id);
    break;
  case 1: {
    size_t n = (size_t)next(g) * 64;
    int64_t w = ggp_yamux_write(s->y, pick(s, g), junk, n);
    if (w > (int64_t)n) abort();
    break;
  }
  case 2: {
    id = pick(s, g);
    ggp_yamux_stream_info si;
    if (ggp_yamux_stream_get_info(s->y, id, &si) == GG_OK) {
      size_t n = (size_t)next(g) * 1024;
      if (n > si.unconsumed) n = (size_t)si.unconsumed;
      if (ggp_yamux_consume(s->y, id, n) != GG_OK) abort();
    }
    break;
  }
  case 3: ggp_yamux_close(s->y, pick(s, g)); break;
  case 4: ggp_yamux_reset(s->y, pick(s, g)); break;
  case 5: ggp_yamux_ping(s->y); break;
  case 6:
    if (next(g) < 16) ggp_yamux_goaway(s->y, next(g) % 3);
    break;
  }
  (void)wired;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) return 0;
  prog g = {data + 2, size - 2};
  int client = data[0] & 1, wired = (data[0] >> 1) & 1;
  fmem fm = {{NULL, f_malloc, f_free, f_calloc, f_realloc}, 0, data[1] == 255 ? -1 : data[1]};
  fm.mem.ud = &fm;
  ggp_yamux_settings st;
  memset(&st, 0, sizeof(st));
  st.max_streams_in = 4;
  st.max_streams_out = 8;
  st.max_ack_backlog = 6;
  st.send_buffer = 8192;
  st.max_frame_data = 1024 + (data[0] >> 2) * 61;
  st.keepalive = GG_SEC(1);
  st.ping_timeout = GG_SEC(3);
  st.window_budget = 2u << 20;
  st.max_ctrl_queue = 32;
  st.max_pongs = 4;
  side a, b;
  memset(&a, 0, sizeof(a));
  memset(&b, 0, sizeof(b));
  if (ggp_yamux_new(&a.y, &CB, &st, client, &fm.mem, &a) != GG_OK) return 0;
  gg_buf_init(&a.out, NULL, 1u << 22);
  if (wired) {
    if (ggp_yamux_new(&b.y, &CB, &st, !client, NULL, &b) != GG_OK) abort();
    gg_buf_init(&b.out, NULL, 1u << 22);
  }
  gg_ts ts = 1000;
  while (g.left) {
    uint8_t op = next(&g);
    side *s = wired && (op & 0x80) ? &b : &a;
    switch (op & 0x0f) {
    case 0:
    case 1:
    case 2:
    case 3:
    case 4:
    case 5:
    case 6: op_stream(s, &g, op & 0x0f, wired); break;
    case 7: /* time passes, timers run */
      ts += (gg_ts)next(&g) * 20000000u;
      if (!a.dead && ggp_yamux_handle_expiry(a.y, ts)) a.dead = 1;
      if (wired && !b.dead && ggp_yamux_handle_expiry(b.y, ts)) b.dead = 1;
      break;
    case 8:
    case 9: flow(s, wired ? (s == &a ? &b : &a) : NULL, &g, ts, wired); break;
    default:
      if (!wired && !a.dead) { /* raw bytes into A */
        size_t n = next(&g);
        if (n > g.left) n = g.left;
        if (ggp_yamux_recv(a.y, g.p, n, ts)) a.dead = 1;
        g.p += n;
        g.left -= n;
      }
      break;
    }
    (void)ggp_yamux_expiry(a.y);
  }
  ggp_yamux_del(a.y);
  gg_buf_free(&a.out);
  if (wired) {
    ggp_yamux_del(b.y);
    gg_buf_free(&b.out);
  }
  return 0;
}
