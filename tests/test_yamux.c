/*
 * Tests for the Yamux core (src/proto/yamux.c): two sessions wired back to back in memory
 * with a fake clock, plus hand-made frames injected into one session to check what it does
 * with peer behaviour a correct implementation would never produce.
 */
#include "gg_test.h"

#include <string.h>

#include "ggen/err.h"
#include "ggen/yamux.h"

#define MAXID 4096
#define KiB 1024u
#define MiB (1024u * 1024u)

/* ---- harness --------------------------------------------------------------------------- */
typedef struct sst {
  int known, opened_by_peer, fin, ended, how, writable_calls;
  uint8_t *rx;
  size_t rxlen, rxcap;
  /* echo mode: bytes received and not yet written back */
  uint8_t *ep;
  size_t eplen;
  int close_when_drained;
} sst;

/* 0: peers write with ggp_yamux_send(); else with ggp_yamux_send_pull() and this max, so a
 * test run with it set checks the pull path against the same expectations. */
static size_t pull_max;

typedef struct peer {
  ggp_yamux *y;
  gg_buf out;
  size_t pull; /* pull_max when the peer was made */
  sst st[MAXID];
  int refuse;     /* refuse every inbound stream */
  int no_consume; /* leave received data unconsumed */
  int echo;       /* write everything back, consume as it is written */
  int goaways;
  uint32_t goaway_code;
  int rtts;
  gg_ts rtt;
  int opens, ends, data_calls;
  int data_fail; /* on_data returns this when nonzero */
} peer;

static void rx_append(sst *s, const uint8_t *p, size_t n) {
  if (s->rxlen + n > s->rxcap) {
    s->rxcap = (s->rxlen + n) * 2;
    s->rx = realloc(s->rx, s->rxcap);
  }
  memcpy(s->rx + s->rxlen, p, n);
  s->rxlen += n;
}

static void echo_flush(peer *p, uint32_t id) {
  sst *s = &p->st[id];
  while (s->eplen) {
    int64_t n = ggp_yamux_write(p->y, id, s->ep, s->eplen);
    if (n <= 0) break;
    memmove(s->ep, s->ep + n, s->eplen - (size_t)n);
    s->eplen -= (size_t)n;
    assert_int_equal(ggp_yamux_consume(p->y, id, (size_t)n), GG_OK);
  }
  if (s->eplen == 0 && s->close_when_drained) {
    s->close_when_drained = 0;
    assert_int_equal(ggp_yamux_close(p->y, id), GG_OK);
  }
}

static int cb_open(ggp_yamux *y, uint32_t id, void **sud, void *ud) {
  peer *p = ud;
  assert_ptr_equal(p->y, y);
  assert_true(id < MAXID);
  if (p->refuse) return 1;
  assert_false(p->st[id].known);
  p->st[id].known = 1;
  p->st[id].opened_by_peer = 1;
  p->opens++;
  *sud = &p->st[id];
  return 0;
}

static int cb_data(ggp_yamux *y, uint32_t id, const uint8_t *d, size_t n, void *sud, void *ud) {
  peer *p = ud;
  assert_ptr_equal(sud, &p->st[id]);
  assert_true(n > 0);
  p->data_calls++;
  if (p->data_fail) return p->data_fail;
  sst *s = &p->st[id];
  if (p->echo) {
    s->ep = realloc(s->ep, s->eplen + n);
    memcpy(s->ep + s->eplen, d, n);
    s->eplen += n;
    echo_flush(p, id);
    return 0;
  }
  rx_append(s, d, n);
  if (!p->no_consume) assert_int_equal(ggp_yamux_consume(y, id, n), GG_OK);
  return 0;
}

static void cb_fin(ggp_yamux *y, uint32_t id, void *sud, void *ud) {
  peer *p = ud;
  (void)y;
  assert_ptr_equal(sud, &p->st[id]);
  p->st[id].fin++;
  if (p->echo) {
    p->st[id].close_when_drained = 1;
    echo_flush(p, id);
  }
}

static void cb_writable(ggp_yamux *y, uint32_t id, void *sud, void *ud) {
  peer *p = ud;
  (void)y;
  (void)sud;
  p->st[id].writable_calls++;
  if (p->echo) echo_flush(p, id);
}

static void cb_end(ggp_yamux *y, uint32_t id, int how, void *sud, void *ud) {
  peer *p = ud;
  (void)y;
  assert_ptr_equal(sud, &p->st[id]);
  assert_false(p->st[id].ended);
  p->st[id].ended = 1;
  p->st[id].how = how;
  p->ends++;
}

static void cb_goaway(ggp_yamux *y, uint32_t code, void *ud) {
  peer *p = ud;
  (void)y;
  p->goaways++;
  p->goaway_code = code;
}

static void cb_rtt(ggp_yamux *y, gg_ts rtt, void *ud) {
  peer *p = ud;
  (void)y;
  p->rtts++;
  p->rtt = rtt;
}

static const ggp_yamux_callbacks CB = {cb_open, cb_data,   cb_fin, cb_writable,
                                       cb_end,  cb_goaway, cb_rtt};

static peer *peer_new(int client, const ggp_yamux_settings *st, const gg_mem *mem) {
  peer *p = calloc(1, sizeof(*p));
  assert_int_equal(ggp_yamux_new(&p->y, &CB, st, client, mem, p), GG_OK);
  gg_buf_init(&p->out, NULL, 1u << 30);
  p->pull = pull_max;
  return p;
}

/* Checks that run is whole frames and, when it holds a DATA frame, only that frame. */
static void check_run(const uint8_t *d, size_t n) {
  for (size_t off = 0; off < n;) {
    assert_true(n - off >= 12);
    uint32_t len = (uint32_t)d[off + 8] << 24 | (uint32_t)d[off + 9] << 16 |
                   (uint32_t)d[off + 10] << 8 | d[off + 11];
    if (d[off + 1] == 0) {
      assert_int_equal(off, 0);
      assert_int_equal(n, 12 + len);
    }
    off += 12 + (d[off + 1] == 0 ? len : 0);
  }
}

/* Appends what p has to send to out: one send(), or pulls until nothing is left. */
static int take_output(peer *p, gg_buf *out, gg_ts ts) {
  if (!p->pull) return ggp_yamux_send(p->y, out, ts);
  for (;;) {
    const uint8_t *d;
    size_t n;
    int rv = ggp_yamux_send_pull(p->y, p->pull, ts, &d, &n);
    assert_true(n <= p->pull);
    check_run(d, n);
    if (n && gg_buf_append(out, d, n)) return GG_ENOMEM;
    if (rv || n == 0) return rv;
  }
}

static void peer_free(peer *p) {
  ggp_yamux_del(p->y);
  gg_buf_free(&p->out);
  for (int i = 0; i < MAXID; i++) {
    free(p->st[i].rx);
    free(p->st[i].ep);
  }
  free(p);
}

/* Opens a stream from p and registers it in p's table. */
static uint32_t peer_open(peer *p) {
  uint32_t id;
  assert_int_equal(ggp_yamux_open(p->y, &id, NULL), GG_OK);
  assert_true(id < MAXID);
  p->st[id].known = 1;
  assert_int_equal(ggp_yamux_set_stream_ud(p->y, id, &p->st[id]), GG_OK);
  return id;
}

/* Moves everything `from` wants to send into `to`, in pieces of at most `split` bytes
 * (0 = all at once). Returns to's recv code. */
static int deliver(peer *from, peer *to, gg_ts ts_send, gg_ts ts_recv, size_t split) {
  if (ggp_yamux_want_send(from->y)) {
    int rv = take_output(from, &from->out, ts_send);
    if (rv) return rv;
  }
  size_t len = gg_buf_len(&from->out);
  const uint8_t *d = gg_buf_ptr(&from->out);
  int rv = GG_OK;
  for (size_t off = 0; off < len && rv == GG_OK;) {
    size_t n = split && len - off > split ? split : len - off;
    rv = ggp_yamux_recv(to->y, d + off, n, ts_recv);
    off += n;
  }
  gg_buf_reset(&from->out);
  return rv;
}

/* Runs both directions until neither side has anything to send. Fails the test on an error. */
static void pump_split(peer *a, peer *b, gg_ts ts, size_t split) {
  for (int i = 0; i < 100000; i++) {
    if (!ggp_yamux_want_send(a->y) && !ggp_yamux_want_send(b->y)) return;
    assert_int_equal(deliver(a, b, ts, ts, split), GG_OK);
    assert_int_equal(deliver(b, a, ts, ts, split), GG_OK);
  }
  fail_msg("pump did not settle");
}

static void pump(peer *a, peer *b, gg_ts ts) { pump_split(a, b, ts, 0); }

/* Frame helpers for injection. */
static void frame(uint8_t *p, uint8_t ver, uint8_t type, uint16_t flags, uint32_t id,
                  uint32_t len) {
  p[0] = ver;
  p[1] = type;
  p[2] = (uint8_t)(flags >> 8);
  p[3] = (uint8_t)flags;
  for (int i = 0; i < 4; i++) p[4 + i] = (uint8_t)(id >> (24 - 8 * i));
  for (int i = 0; i < 4; i++) p[8 + i] = (uint8_t)(len >> (24 - 8 * i));
}

static int inject(peer *p, uint8_t type, uint16_t flags, uint32_t id, uint32_t len, gg_ts ts) {
  uint8_t h[12];
  frame(h, 0, type, flags, id, len);
  return ggp_yamux_recv(p->y, h, 12, ts);
}

/* Sends p's output and returns it as frames: *n frames, each 12 bytes header + payload. */
typedef struct fr {
  uint8_t type;
  uint16_t flags;
  uint32_t id, len;
} fr;

static size_t parse_out(peer *p, gg_ts ts, fr *f, size_t max) {
  take_output(p, &p->out, ts);
  const uint8_t *d = gg_buf_ptr(&p->out);
  size_t len = gg_buf_len(&p->out), n = 0;
  for (size_t off = 0; off + 12 <= len && n < max; n++) {
    assert_int_equal(d[off], 0);
    f[n].type = d[off + 1];
    f[n].flags = (uint16_t)(d[off + 2] << 8 | d[off + 3]);
    f[n].id = (uint32_t)d[off + 4] << 24 | (uint32_t)d[off + 5] << 16 | (uint32_t)d[off + 6] << 8 |
              d[off + 7];
    f[n].len = (uint32_t)d[off + 8] << 24 | (uint32_t)d[off + 9] << 16 |
               (uint32_t)d[off + 10] << 8 | d[off + 11];
    off += 12 + (f[n].type == 0 ? f[n].len : 0);
  }
  gg_buf_reset(&p->out);
  return n;
}

static ggp_yamux_settings quiet(void) {
  ggp_yamux_settings s;
  memset(&s, 0, sizeof(s));
  s.no_initial_ping = 1;
  s.keepalive = GG_TS_UNSET;
  return s;
}

static void pattern(uint8_t *d, size_t n, uint32_t seed) {
  uint32_t x = seed * 2654435761u + 1;
  for (size_t i = 0; i < n; i++) {
    x = x * 1103515245u + 12345u;
    d[i] = (uint8_t)(x >> 16);
  }
}

/* ---- tests ----------------------------------------------------------------------------- */
static void test_open_accept_data(void **state) {
  (void)state;
  ggp_yamux_settings st = quiet();
  peer *a = peer_new(1, &st, NULL), *b = peer_new(0, &st, NULL);
  uint32_t id = peer_open(a);
  assert_int_equal(id, 1); /* client: odd ids */
  assert_int_equal(ggp_yamux_write(a->y, id, "hello", 5), 5);
  pump(a, b, 0);
  assert_true(b->st[1].known && b->st[1].opened_by_peer);
  assert_int_equal(b->st[1].rxlen, 5);
  assert_memory_equal(b->st[1].rx, "hello", 5);
  ggp_yamux_stream_info si;
  assert_int_equal(ggp_yamux_stream_get_info(a->y, id, &si), GG_OK);
  assert_true(si.outbound && si.acked);
  /* the other way: server-opened streams are even */
  uint32_t sid = peer_open(b);
  assert_int_equal(sid, 2);
  assert_int_equal(ggp_yamux_write(b->y, sid, "world!", 6), 6);
  assert_int_equal(ggp_yamux_write(b->y, id, "back", 4), 4);
  pump(a, b, 0);
  assert_int_equal(a->st[2].rxlen, 6);
  assert_memory_equal(a->st[2].rx, "world!", 6);
  assert_int_equal(a->st[1].rxlen, 4);
  assert_memory_equal(a->st[1].rx, "back", 4);
  ggp_yamux_info info;
  ggp_yamux_get_info(a->y, &info);
  assert_int_equal(info.streams_in, 1);
  assert_int_equal(info.streams_out, 1);
  peer_free(a);
  peer_free(b);
}

static void test_refuse(void **state) {
  (void)state;
  ggp_yamux_settings st = quiet();
  peer *a = peer_new(1, &st, NULL), *b = peer_new(0, &st, NULL);
  b->refuse = 1;
  uint32_t id = peer_open(a);
  assert_int_equal(ggp_yamux_write(a->y, id, "x", 1), 1);
  pump(a, b, 0);
  assert_true(a->st[id].ended);
  assert_int_equal(a->st[id].how, GGP_YAMUX_END_RESET_REMOTE);
  assert_int_equal(ggp_yamux_write(a->y, id, "x", 1), GG_ENOTFOUND);
  ggp_yamux_info info;
  ggp_yamux_get_info(b->y, &info);
  assert_int_equal(info.streams_in, 0);
  ggp_yamux_get_info(a->y, &info);
  assert_int_equal(info.streams_out, 0);
  peer_free(a);
  peer_free(b);
}

/* What we send: a bare open is WINDOW_UPDATE|SYN (as js); written data carries the SYN. An
 * accept is acknowledged at once with WINDOW_UPDATE|ACK. */
static void test_syn_frames_sent(void **state) {
  (void)state;
  ggp_yamux_settings st = quiet();
  peer *a = peer_new(1, &st, NULL), *b = peer_new(0, &st, NULL);
  fr f[8];
  uint32_t id = peer_open(a);
  size_t n = parse_out(a, 0, f, 8);
  assert_int_equal(n, 1);
  assert_int_equal(f[0].type, 1);
  assert_int_equal(f[0].flags, 1);
  assert_int_equal(f[0].id, id);
  assert_int_equal(f[0].len, 0);
  uint32_t id2 = peer_open(a);
  assert_int_equal(id2, 3);
  assert_int_equal(ggp_yamux_write(a->y, id2, "abc", 3), 3);
  assert_int_equal(ggp_yamux_close(a->y, id2), GG_OK);
  n = parse_out(a, 0, f, 8);
  assert_int_equal(n, 2);
  assert_int_equal(f[0].type, 0);
  assert_int_equal(f[0].flags, 1); /* DATA|SYN */
  assert_int_equal(f[0].len, 3);
  /* the FIN follows on a WINDOW_UPDATE: js 7.0.4 drops the payload of a DATA|FIN frame */
  assert_int_equal(f[1].type, 1);
  assert_int_equal(f[1].flags, 4);
  assert_int_equal(f[1].id, id2);
  /* b accepts a WINDOW_UPDATE|SYN and answers WINDOW_UPDATE|ACK */
  assert_int_equal(inject(b, 1, 1, 1, 0, 0), GG_OK);
  assert_true(b->st[1].known);
  n = parse_out(b, 0, f, 8);
  assert_int_equal(n, 1);
  assert_int_equal(f[0].type, 1);
  assert_int_equal(f[0].flags, 2);
  assert_int_equal(f[0].id, 1);
  /* and a DATA|SYN with its payload */
  uint8_t buf[12 + 4];
  frame(buf, 0, 0, 1, 3, 4);
  memcpy(buf + 12, "data", 4);
  assert_int_equal(ggp_yamux_recv(b->y, buf, sizeof(buf), 0), GG_OK);
  assert_int_equal(b->st[3].rxlen, 4);
  assert_memory_equal(b->st[3].rx, "data", 4);
  /* a DATA|FIN (which we never send) delivers its payload, then the FIN */
  frame(buf, 0, 0, 4, 3, 4);
  memcpy(buf + 12, "last", 4);
  assert_int_equal(ggp_yamux_recv(b->y, buf, sizeof(buf), 0), GG_OK);
  assert_int_equal(b->st[3].rxlen, 8);
  assert_memory_equal(b->st[3].rx + 4, "last", 4);
  assert_int_equal(b->st[3].fin, 1);
  /* a larger initial window is advertised on the SYN */
  ggp_yamux_settings big = quiet();
  big.initial_window = 1 * MiB;
  peer *c = peer_new(1, &big, NULL);
  peer_open(c);
  n = parse_out(c, 0, f, 8);
  assert_int_equal(n, 1);
  assert_int_equal(f[0].type, 1);
  assert_int_equal(f[0].flags, 1);
  assert_int_equal(f[0].len, 1 * MiB - 256 * KiB);
  peer_free(a);
  peer_free(b);
  peer_free(c);
}

/* The sender stops at the window and resumes after the receiver consumes. */
static void test_flow_control(void **state) {
  (void)state;
  ggp_yamux_settings st = quiet();
  peer *a = peer_new(1, &st, NULL), *b = peer_new(0, &st, NULL);
  b->no_consume = 1;
  uint32_t id = peer_open(a);
  static uint8_t big[1 * MiB];
  pattern(big, sizeof(big), 7);
  size_t sent = 0;
  for (int round = 0; round < 10; round++) {
    int64_t n = ggp_yamux_write(a->y, id, big + sent, sizeof(big) - sent);
    assert_true(n >= 0);
    sent += (size_t)n;
    pump(a, b, 0);
  }
  assert_int_equal(sent, 256 * KiB); /* exactly one window */
  assert_int_equal(b->st[id].rxlen, 256 * KiB);
  assert_int_equal(ggp_yamux_writable(a->y, id), 0);
  assert_int_equal(ggp_yamux_write(a->y, id, big, 10), 0);
  int calls = a->st[id].writable_calls;
  /* consuming less than half the window sends nothing */
  assert_int_equal(ggp_yamux_consume(b->y, id, 100 * KiB), GG_OK);
  pump(a, b, 0);
  assert_int_equal(a->st[id].writable_calls, calls);
  assert_int_equal(ggp_yamux_consume(b->y, id, 300 * KiB), GG_EINVAL); /* more than held */
  assert_int_equal(ggp_yamux_consume(b->y, id, 28 * KiB), GG_OK);      /* half now free */
  pump(a, b, 0);
  assert_int_equal(a->st[id].writable_calls, calls + 1);
  assert_int_equal(ggp_yamux_writable(a->y, id), 128 * KiB);
  int64_t n = ggp_yamux_write(a->y, id, big + sent, sizeof(big) - sent);
  assert_int_equal(n, 128 * KiB);
  sent += (size_t)n;
  pump(a, b, 0);
  assert_int_equal(b->st[id].rxlen, sent);
  assert_memory_equal(b->st[id].rx, big, sent);
  ggp_yamux_stream_info si;
  assert_int_equal(ggp_yamux_stream_get_info(b->y, id, &si), GG_OK);
  assert_int_equal(si.recv_avail, 0);
  assert_int_equal(si.unconsumed, 256 * KiB);
  assert_int_equal(si.recv_window, 256 * KiB); /* no RTT known: no growth */
  peer_free(a);
  peer_free(b);
}

/* A small send buffer limits write() too, and on_writable follows when send() drains it. */
static void test_send_buffer_cap(void **state) {
  (void)state;
  ggp_yamux_settings st = quiet();
  st.send_buffer = 10000;
  peer *a = peer_new(1, &st, NULL), *b = peer_new(0, &st, NULL);
  uint32_t id = peer_open(a);
  static uint8_t d[50000];
  pattern(d, sizeof(d), 3);
  assert_int_equal(ggp_yamux_write(a->y, id, d, sizeof(d)), 10000);
  assert_int_equal(ggp_yamux_write(a->y, id, d, sizeof(d)), 0);
  assert_int_equal(a->st[id].writable_calls, 0);
  pump(a, b, 0);
  assert_int_equal(a->st[id].writable_calls, 1);
  assert_int_equal(ggp_yamux_write(a->y, id, d + 10000, 40000), 10000);
  pump(a, b, 0);
  assert_int_equal(b->st[id].rxlen, 20000);
  assert_memory_equal(b->st[id].rx, d, 20000);
  peer_free(a);
  peer_free(b);
}

/* A drained send buffer is given back unless its writer waits for room (idle connections
 * should cost little), and kept while a bulk writer is blocked. */
static void test_send_buffer_release(void **state) {
  (void)state;
  ggp_yamux_settings st = quiet();
  gg_failmem fm;
  gg_failmem_init(&fm, -1);
  peer *a = calloc(1, sizeof(*a));
  assert_int_equal(ggp_yamux_new(&a->y, &CB, &st, 1, &fm.mem, a), GG_OK);
  gg_buf_init(&a->out, NULL, 1u << 30);
  peer *b = peer_new(0, &st, NULL);
  uint32_t id = peer_open(a);
  pump(a, b, 0);
  long idle = fm.live;
  static uint8_t d[300 * 1024];
  assert_int_equal(ggp_yamux_write(a->y, id, d, 10000), 10000);
  assert_int_equal(fm.live, idle + 1);
  pump(a, b, 0);
  assert_int_equal(fm.live, idle); /* released */
  assert_int_equal(ggp_yamux_write(a->y, id, d, sizeof(d)), 256 * KiB - 10000);
  pump(a, b, 0);
  assert_int_equal(fm.live, idle + 1); /* blocked writer: kept */
  assert_int_equal(b->st[id].rxlen, 256 * KiB);
  peer_free(a);
  peer_free(b);
  assert_int_equal(fm.live, 0);
}

/* Learns an RTT of 10 ms on both sides with the fake clock. */
static void establish_rtt(peer *a, peer *b) {
  assert_int_equal(ggp_yamux_ping(a->y), GG_OK);
  assert_int_equal(ggp_yamux_ping(b->y), GG_OK);
  assert_int_equal(deliver(a, b, 0, GG_MS(5), 0), GG_OK);
  assert_int_equal(deliver(b, a, 0, GG_MS(10), 0), GG_OK); /* b's ping and its pong */
  assert_int_equal(deliver(a, b, GG_MS(10), GG_MS(10), 0), GG_OK);
  assert_int_equal(a->rtts, 1);
  assert_int_equal(b->rtts, 1);
  assert_int_equal(a->rtt, GG_MS(10));
  assert_int_equal(b->rtt, GG_MS(10));
}

/* Fast consumption doubles the window at each update, up to 16 MiB and no further; the
 * sender never goes beyond it. */
static void test_window_growth(void **state) {
  (void)state;
  ggp_yamux_settings st = quiet();
  st.send_buffer = 16 * MiB;
  peer *a = peer_new(1, &st, NULL), *b = peer_new(0, &st, NULL);
  establish_rtt(a, b);
  uint32_t id = peer_open(a);
  static uint8_t chunk[1 * MiB];
  pattern(chunk, sizeof(chunk), 11);
  gg_ts t = GG_MS(20);
  uint64_t total = 0, max_credit = 0;
  uint32_t last_win = 0;
  int doublings = 0;
  b->no_consume = 1; /* consume by hand below, checking unconsumed <= window first */
  for (int i = 0; i < 400; i++) {
    int64_t n = ggp_yamux_write(a->y, id, chunk, sizeof(chunk));
    assert_true(n >= 0);
    total += (uint64_t)n;
    ggp_yamux_stream_info si;
    assert_int_equal(ggp_yamux_stream_get_info(a->y, id, &si), GG_OK);
    if (si.send_credit + si.send_buffered > max_credit)
      max_credit = si.send_credit + si.send_buffered;
    assert_int_equal(deliver(a, b, t, t, 0), GG_OK);
    assert_int_equal(ggp_yamux_stream_get_info(b->y, id, &si), GG_OK);
    assert_true(si.unconsumed <= si.recv_window);
    if (si.recv_window != last_win) {
      if (last_win) assert_int_equal(si.recv_window, last_win * 2);
      last_win = si.recv_window;
      doublings++;
    }
    if (si.unconsumed) assert_int_equal(ggp_yamux_consume(b->y, id, (size_t)si.unconsumed), GG_OK);
    b->st[id].rxlen = 0;
    assert_int_equal(deliver(b, a, t, t, 0), GG_OK);
  }
  ggp_yamux_stream_info si;
  assert_int_equal(ggp_yamux_stream_get_info(b->y, id, &si), GG_OK);
  assert_int_equal(si.recv_window, 16 * MiB);
  assert_int_equal(doublings, 1 + 6); /* 256 KiB .. 16 MiB */
  assert_true(max_credit <= 16 * MiB);
  assert_true(total > 100ull * MiB);
  ggp_yamux_info info;
  ggp_yamux_get_info(b->y, &info);
  assert_int_equal(info.window_grown, 16 * MiB - 256 * KiB);
  peer_free(a);
  peer_free(b);
}

/* Slow consumption (more than 4 RTTs per half window) keeps the window where it is, and the
 * session-wide budget stops growth for a second stream. */
static void test_window_no_growth(void **state) {
  (void)state;
  ggp_yamux_settings st = quiet();
  st.window_budget = 1 * MiB;
  peer *a = peer_new(1, &st, NULL), *b = peer_new(0, &st, NULL);
  establish_rtt(a, b);
  uint32_t s1 = peer_open(a), s2 = peer_open(a);
  static uint8_t chunk[256 * KiB];
  gg_ts t = GG_MS(20);
  for (int i = 0; i < 20; i++) { /* slow: 100 ms per round with a 10 ms RTT */
    t += GG_MS(100);
    ggp_yamux_write(a->y, s1, chunk, sizeof(chunk));
    pump(a, b, t);
  }
  ggp_yamux_stream_info si;
  assert_int_equal(ggp_yamux_stream_get_info(b->y, s1, &si), GG_OK);
  assert_int_equal(si.recv_window, 256 * KiB);
  for (int i = 0; i < 40; i++) { /* fast: both streams compete for a 1 MiB budget */
    ggp_yamux_write(a->y, s1, chunk, sizeof(chunk));
    ggp_yamux_write(a->y, s2, chunk, sizeof(chunk));
    pump(a, b, t);
  }
  ggp_yamux_stream_info s2i;
  assert_int_equal(ggp_yamux_stream_get_info(b->y, s1, &si), GG_OK);
  assert_int_equal(ggp_yamux_stream_get_info(b->y, s2, &s2i), GG_OK);
  assert_true(si.recv_window + s2i.recv_window - 512 * KiB <= 1 * MiB);
  assert_true(si.recv_window > 256 * KiB);
  ggp_yamux_info info;
  ggp_yamux_get_info(b->y, &info);
  assert_true(info.window_grown <= 1 * MiB);
  /* the budget comes back when a stream ends */
  assert_int_equal(ggp_yamux_reset(a->y, s1), GG_OK);
  pump(a, b, t);
  ggp_yamux_get_info(b->y, &info);
  assert_int_equal(info.window_grown, s2i.recv_window - 256 * KiB);
  peer_free(a);
  peer_free(b);
}

/* A peer that sends beyond our window: GG_EFLOWCTL, GoAway "protocol error", dead session. */
static void test_window_overrun(void **state) {
  (void)state;
  ggp_yamux_settings st = quiet();
  peer *b = peer_new(0, &st, NULL);
  b->no_consume = 1;
  assert_int_equal(inject(b, 1, 1, 1, 0, 0), GG_OK);
  static uint8_t big[12 + 256 * KiB];
  frame(big, 0, 0, 0, 1, 256 * KiB);
  assert_int_equal(ggp_yamux_recv(b->y, big, sizeof(big), 0), GG_OK); /* exactly the window */
  assert_int_equal(inject(b, 0, 0, 1, 1, 0), GG_EFLOWCTL);            /* one byte more */
  assert_int_equal(ggp_yamux_recv(b->y, big, 1, 0), GG_EFLOWCTL);     /* stays dead */
  assert_true(ggp_yamux_want_send(b->y));
  fr f[4];
  size_t n = parse_out(b, 0, f, 4);
  assert_int_equal(n, 1); /* only the GoAway: the pending ACK is moot */
  assert_int_equal(f[0].type, 3);
  assert_int_equal(f[0].len, GGP_YAMUX_GOAWAY_PROTOCOL);
  assert_false(ggp_yamux_want_send(b->y));
  uint32_t id;
  assert_int_equal(ggp_yamux_open(b->y, &id, NULL), GG_ECLOSED);
  /* a window grown by an update is the new limit */
  peer *c = peer_new(0, &st, NULL);
  c->no_consume = 1;
  assert_int_equal(inject(c, 1, 1, 1, 0, 0), GG_OK);
  assert_int_equal(ggp_yamux_recv(c->y, big, sizeof(big), 0), GG_OK);
  assert_int_equal(ggp_yamux_consume(c->y, 1, 200 * KiB), GG_OK);
  n = parse_out(c, 0, f, 4);
  assert_int_equal(n, 1);
  assert_int_equal(f[0].type, 1);
  assert_int_equal(f[0].flags, 2);
  assert_int_equal(f[0].len, 200 * KiB);
  assert_int_equal(inject(c, 0, 0, 1, 200 * KiB + 1, 0), GG_EFLOWCTL);
  peer_free(b);
  peer_free(c);
}

/* FIN both ways: each side still receives after its own FIN; the stream ends (and frees)
 * once both FINs passed and everything was consumed. */
static void test_half_close(void **state) {
  (void)state;
  ggp_yamux_settings st = quiet();
  peer *a = peer_new(1, &st, NULL), *b = peer_new(0, &st, NULL);
  b->no_consume = 1;
  uint32_t id = peer_open(a);
  assert_int_equal(ggp_yamux_write(a->y, id, "request", 7), 7);
  assert_int_equal(ggp_yamux_close(a->y, id), GG_OK);
  assert_int_equal(ggp_yamux_close(a->y, id), GG_ESTATE);
  assert_int_equal(ggp_yamux_write(a->y, id, "more", 4), GG_ESTATE);
  pump(a, b, 0);
  assert_int_equal(b->st[id].fin, 1);
  assert_int_equal(b->st[id].rxlen, 7);
  assert_int_equal(ggp_yamux_write(b->y, id, "response", 8), 8);
  assert_int_equal(ggp_yamux_close(b->y, id), GG_OK);
  pump(a, b, 0);
  assert_int_equal(a->st[id].fin, 1);
  assert_int_equal(a->st[id].rxlen, 8);
  assert_true(a->st[id].ended); /* a consumed everything at once */
  assert_int_equal(a->st[id].how, GGP_YAMUX_END_FIN);
  assert_false(b->st[id].ended); /* b still holds 7 unconsumed bytes */
  assert_int_equal(ggp_yamux_consume(b->y, id, 7), GG_OK);
  assert_false(b->st[id].ended); /* reported by the next recv/send/handle_expiry */
  assert_true(ggp_yamux_want_send(b->y));
  pump(a, b, 0);
  assert_true(b->st[id].ended);
  assert_int_equal(b->st[id].how, GGP_YAMUX_END_FIN);
  assert_int_equal(ggp_yamux_consume(b->y, id, 0), GG_ENOTFOUND);
  ggp_yamux_info info;
  ggp_yamux_get_info(a->y, &info);
  assert_int_equal(info.streams_out + info.streams_in, 0);
  ggp_yamux_get_info(b->y, &info);
  assert_int_equal(info.streams_out + info.streams_in, 0);
  /* our ids are not reused */
  assert_int_equal(peer_open(a), 3);
  peer_free(a);
  peer_free(b);
}

static void test_reset(void **state) {
  (void)state;
  ggp_yamux_settings st = quiet();
  peer *a = peer_new(1, &st, NULL), *b = peer_new(0, &st, NULL);
  uint32_t id = peer_open(a);
  assert_int_equal(ggp_yamux_write(a->y, id, "abc", 3), 3);
  pump(a, b, 0);
  /* b writes, a resets before reading it: b's data in flight is ignored */
  assert_int_equal(ggp_yamux_write(b->y, id, "late", 4), 4);
  assert_int_equal(ggp_yamux_send(b->y, &b->out, 0), GG_OK);
  assert_int_equal(ggp_yamux_reset(a->y, id), GG_OK);
  assert_int_equal(ggp_yamux_reset(a->y, id), GG_ENOTFOUND);
  assert_int_equal(ggp_yamux_write(a->y, id, "x", 1), GG_ESTATE);
  assert_int_equal(deliver(b, a, 0, 0, 0), GG_OK);
  assert_int_equal(a->st[id].rxlen, 0);
  pump(a, b, 0);
  assert_true(a->st[id].ended);
  assert_int_equal(a->st[id].how, GGP_YAMUX_END_RESET_LOCAL);
  assert_true(b->st[id].ended);
  assert_int_equal(b->st[id].how, GGP_YAMUX_END_RESET_REMOTE);
  /* more frames for the ended stream are ignored */
  assert_int_equal(inject(a, 1, 0, id, 100, 0), GG_OK);
  /* a reset before the SYN left sends nothing at all */
  uint32_t id2 = peer_open(a);
  assert_int_equal(ggp_yamux_write(a->y, id2, "zz", 2), 2);
  assert_int_equal(ggp_yamux_reset(a->y, id2), GG_OK);
  fr f[4];
  assert_int_equal(parse_out(a, 0, f, 4), 0);
  assert_true(a->st[id2].ended);
  peer_free(a);
  peer_free(b);
}

static void test_stream_limits(void **state) {
  (void)state;
  ggp_yamux_settings sa = quiet(), sb = quiet();
  sa.max_streams_out = 3;
  sa.max_ack_backlog = 2;
  sb.max_streams_in = 2;
  peer *a = peer_new(1, &sa, NULL), *b = peer_new(0, &sb, NULL);
  uint32_t ids[3], id;
  for (int i = 0; i < 2; i++) ids[i] = peer_open(a);
  assert_int_equal(ggp_yamux_open(a->y, &id, NULL), GG_ELIMIT); /* 2 unacknowledged */
  pump(a, b, 0);
  ids[2] = peer_open(a);                                        /* both ACKed */
  assert_int_equal(ggp_yamux_open(a->y, &id, NULL), GG_ELIMIT); /* 3 open */
  pump(a, b, 0);
  assert_int_equal(b->opens, 2); /* the third is over b's inbound limit */
  assert_true(a->st[ids[2]].ended);
  assert_int_equal(a->st[ids[2]].how, GGP_YAMUX_END_RESET_REMOTE);
  ggp_yamux_info info;
  ggp_yamux_get_info(a->y, &info);
  assert_int_equal(info.streams_out, 2);
  /* closing one on both sides makes room on b */
  assert_int_equal(ggp_yamux_close(a->y, ids[0]), GG_OK);
  assert_int_equal(ggp_yamux_close(b->y, ids[0]), GG_OK);
  pump(a, b, 0);
  assert_true(b->st[ids[0]].ended);
  id = peer_open(a);
  pump(a, b, 0);
  assert_int_equal(b->opens, 3);
  assert_false(a->st[id].ended);
  peer_free(a);
  peer_free(b);
}

static void test_ping(void **state) {
  (void)state;
  ggp_yamux_settings st = quiet();
  peer *b = peer_new(0, &st, NULL);
  /* a SYN ping is answered with an ACK carrying the same value, and nothing else */
  assert_int_equal(inject(b, 2, 1, 0, 0xdeadbeef, 0), GG_OK);
  fr f[4];
  size_t n = parse_out(b, 0, f, 4);
  assert_int_equal(n, 1);
  assert_int_equal(f[0].type, 2);
  assert_int_equal(f[0].flags, 2);
  assert_int_equal(f[0].id, 0);
  assert_int_equal(f[0].len, 0xdeadbeef);
  /* our ping, then its answer: RTT from the send() that emitted it */
  assert_int_equal(ggp_yamux_ping(b->y), GG_OK);
  assert_int_equal(ggp_yamux_ping(b->y), GG_OK); /* piggybacks: still one ping */
  n = parse_out(b, GG_MS(100), f, 4);
  assert_int_equal(n, 1);
  assert_int_equal(f[0].flags, 1);
  assert_int_equal(ggp_yamux_ping(b->y), GG_OK); /* in flight: nothing new */
  assert_false(ggp_yamux_want_send(b->y));
  assert_int_equal(inject(b, 2, 2, 0, f[0].len, GG_MS(107)), GG_OK);
  assert_int_equal(b->rtts, 1);
  assert_int_equal(b->rtt, GG_MS(7));
  ggp_yamux_info info;
  ggp_yamux_get_info(b->y, &info);
  assert_int_equal(info.rtt, GG_MS(7));
  /* an answer we did not ask for is a protocol error, as js 7.0.4 treats it */
  assert_int_equal(inject(b, 2, 2, 0, f[0].len, GG_MS(108)), GG_EPROTO);
  n = parse_out(b, 0, f, 4);
  assert_int_equal(f[0].type, 3);
  assert_int_equal(f[0].len, GGP_YAMUX_GOAWAY_PROTOCOL);
  peer_free(b);
  /* a mismatched value too */
  b = peer_new(0, &st, NULL);
  ggp_yamux_ping(b->y);
  n = parse_out(b, 0, f, 4);
  assert_int_equal(inject(b, 2, 2, 0, f[0].len + 1, 0), GG_EPROTO);
  peer_free(b);
  /* a ping with neither or both flags is malformed */
  b = peer_new(0, &st, NULL);
  assert_int_equal(inject(b, 2, 3, 0, 1, 0), GG_EPROTO);
  peer_free(b);
  /* the initial ping (default) goes out at the first send, wired sessions measure the RTT */
  ggp_yamux_settings d;
  memset(&d, 0, sizeof(d));
  peer *a = peer_new(1, &d, NULL);
  b = peer_new(0, &d, NULL);
  assert_int_equal(deliver(a, b, GG_MS(1), GG_MS(2), 0), GG_OK);
  assert_int_equal(deliver(b, a, GG_MS(3), GG_MS(4), 0), GG_OK);
  assert_int_equal(deliver(a, b, GG_MS(4), GG_MS(5), 0), GG_OK);
  assert_int_equal(a->rtt, GG_MS(3));
  assert_int_equal(b->rtt, GG_MS(2));
  peer_free(a);
  peer_free(b);
}

/* What the peer makes us owe it is bounded while send() is not called: ping answers beyond
 * max_pongs are dropped, refusals beyond max_ctrl_queue end the session. */
static void test_ping_flood(void **state) {
  (void)state;
  ggp_yamux_settings st = quiet();
  st.max_pongs = 4;
  peer *b = peer_new(0, &st, NULL);
  for (int i = 0; i < 4; i++) assert_int_equal(inject(b, 2, 1, 0, (uint32_t)i, 0), GG_OK);
  fr f[8];
  assert_int_equal(parse_out(b, 0, f, 8), 4); /* drained: room again */
  for (int i = 0; i < 4; i++) assert_int_equal(inject(b, 2, 1, 0, (uint32_t)i, 0), GG_OK);
  assert_int_equal(inject(b, 2, 1, 0, 5, 0), GG_OK); /* unanswered, not queued */
  assert_int_equal(parse_out(b, 0, f, 8), 4);
  assert_int_equal(f[3].len, 3);
  peer_free(b);
  /* refusals too */
  st = quiet();
  st.max_ctrl_queue = 8;
  b = peer_new(0, &st, NULL);
  b->refuse = 1;
  int rv = GG_OK;
  uint32_t id = 1;
  for (int i = 0; i < 20 && rv == GG_OK; i++, id += 2) rv = inject(b, 1, 1, id, 0, 0);
  assert_int_equal(rv, GG_ERATE);
  assert_int_equal(id, 1 + 2 * 9);
  peer_free(b);
}

static void test_keepalive(void **state) {
  (void)state;
  ggp_yamux_settings st;
  memset(&st, 0, sizeof(st));
  st.keepalive = GG_SEC(1);
  st.ping_timeout = GG_SEC(2);
  peer *a = peer_new(1, &st, NULL), *b = peer_new(0, &st, NULL);
  assert_int_equal(ggp_yamux_expiry(a->y), GG_TS_UNSET);
  fr f[4];
  gg_ts t0 = GG_SEC(100);
  assert_int_equal(parse_out(a, t0, f, 4), 1); /* initial ping, lost */
  assert_int_equal(ggp_yamux_expiry(a->y), t0 + GG_SEC(2));
  assert_int_equal(ggp_yamux_handle_expiry(a->y, t0 + GG_SEC(1)), GG_OK);
  assert_int_equal(ggp_yamux_handle_expiry(a->y, t0 + GG_SEC(2)), GG_ETIMEDOUT);
  assert_int_equal(ggp_yamux_recv(a->y, (const uint8_t *)"x", 1, t0), GG_ETIMEDOUT);
  assert_false(ggp_yamux_want_send(a->y)); /* no GoAway to a peer that does not answer */
  assert_int_equal(ggp_yamux_expiry(a->y), GG_TS_UNSET);
  peer_free(a);
  /* answered pings: the next one goes out one interval after the previous left */
  a = peer_new(1, &st, NULL);
  assert_int_equal(deliver(a, b, t0, t0, 0), GG_OK);
  assert_int_equal(deliver(b, a, t0, t0 + GG_MS(1), 0), GG_OK);
  assert_int_equal(a->rtts, 1);
  assert_int_equal(deliver(a, b, t0 + GG_MS(1), t0 + GG_MS(1), 0), GG_OK); /* pong for b */
  assert_int_equal(b->rtts, 1);
  assert_int_equal(ggp_yamux_expiry(a->y), t0 + GG_SEC(1));
  assert_int_equal(ggp_yamux_handle_expiry(a->y, t0 + GG_MS(999)), GG_OK);
  assert_false(ggp_yamux_want_send(a->y));
  assert_int_equal(ggp_yamux_handle_expiry(a->y, t0 + GG_SEC(1)), GG_OK);
  assert_true(ggp_yamux_want_send(a->y));
  assert_int_equal(deliver(a, b, t0 + GG_SEC(1), t0 + GG_SEC(1), 0), GG_OK);
  assert_int_equal(deliver(b, a, 0, t0 + GG_SEC(1) + GG_MS(2), 0), GG_OK);
  assert_int_equal(a->rtts, 2);
  assert_int_equal(a->rtt, GG_MS(2));
  assert_int_equal(ggp_yamux_expiry(a->y), t0 + GG_SEC(2));
  peer_free(a);
  /* without the initial ping, the first send() starts the keepalive clock */
  st.no_initial_ping = 1;
  a = peer_new(1, &st, NULL);
  assert_true(ggp_yamux_want_send(a->y));
  assert_int_equal(parse_out(a, t0, f, 4), 0);
  assert_false(ggp_yamux_want_send(a->y));
  assert_int_equal(ggp_yamux_expiry(a->y), t0 + GG_SEC(1));
  assert_int_equal(ggp_yamux_handle_expiry(a->y, t0 + GG_SEC(1)), GG_OK);
  assert_int_equal(parse_out(a, t0 + GG_SEC(1), f, 4), 1);
  assert_int_equal(f[0].type, 2);
  peer_free(a);
  peer_free(b);
}

static void test_goaway(void **state) {
  (void)state;
  ggp_yamux_settings st = quiet();
  peer *a = peer_new(1, &st, NULL), *b = peer_new(0, &st, NULL);
  uint32_t id = peer_open(a);
  pump(a, b, 0);
  assert_int_equal(ggp_yamux_write(a->y, id, "last", 4), 4);
  assert_int_equal(ggp_yamux_goaway(a->y, GGP_YAMUX_GOAWAY_NORMAL), GG_OK);
  assert_int_equal(ggp_yamux_goaway(a->y, GGP_YAMUX_GOAWAY_NORMAL), GG_ESTATE);
  uint32_t x;
  assert_int_equal(ggp_yamux_open(a->y, &x, NULL), GG_ECLOSED);
  fr f[4];
  assert_int_equal(ggp_yamux_send(a->y, &a->out, 0), GG_OK);
  /* the data already queued goes first */
  assert_int_equal(gg_buf_len(&a->out), 12 + 4 + 12);
  assert_int_equal(gg_buf_ptr(&a->out)[16 + 1], 3);
  assert_int_equal(deliver(a, b, 0, 0, 0), GG_OK);
  assert_int_equal(b->goaways, 1);
  assert_int_equal(b->goaway_code, 0);
  assert_int_equal(b->st[id].rxlen, 4);
  assert_int_equal(ggp_yamux_open(b->y, &x, NULL), GG_ECLOSED);
  assert_int_equal(ggp_yamux_ping(b->y), GG_ECLOSED);
  ggp_yamux_info info;
  ggp_yamux_get_info(b->y, &info);
  assert_true(info.goaway_received);
  ggp_yamux_get_info(a->y, &info);
  assert_true(info.goaway_sent);
  /* existing streams keep working */
  assert_int_equal(ggp_yamux_write(b->y, id, "ok", 2), 2);
  pump(a, b, 0);
  assert_int_equal(a->st[id].rxlen, 2);
  /* after our GoAway, streams the peer opens are refused */
  assert_int_equal(inject(a, 1, 1, 2, 0, 0), GG_OK);
  assert_int_equal(parse_out(a, 0, f, 4), 1);
  assert_int_equal(f[0].flags, 8);
  assert_int_equal(f[0].id, 2);
  assert_int_equal(a->opens, 0);
  /* error codes are passed through */
  assert_int_equal(inject(a, 3, 0, 0, GGP_YAMUX_GOAWAY_INTERNAL, 0), GG_OK);
  assert_int_equal(a->goaway_code, GGP_YAMUX_GOAWAY_INTERNAL);
  peer_free(a);
  peer_free(b);
}

static void test_protocol_errors(void **state) {
  (void)state;
  ggp_yamux_settings st = quiet();
  struct {
    uint8_t ver, type;
    uint16_t flags;
    uint32_t id, len;
    int want;
  } cases[] = {
      {1, 0, 0, 1, 0, GG_EPROTO}, /* version */
      {0, 4, 0, 0, 0, GG_EPROTO}, /* type */
      {0, 0, 1, 0, 0, GG_EPROTO}, /* data on stream 0 */
      {0, 1, 0, 0, 5, GG_EPROTO}, /* window update on stream 0 */
      {0, 2, 1, 3, 0, GG_EPROTO}, /* ping on a stream */
      {0, 3, 0, 3, 0, GG_EPROTO}, /* GoAway on a stream */
      {0, 1, 1, 2, 0, GG_EPROTO}, /* SYN with our (server) parity */
      {0, 0, 0, 7, 0, GG_OK},     /* unknown stream without SYN: ignored, as js */
      {0, 1, 0, 9, 99, GG_OK},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    peer *b = peer_new(0, &st, NULL);
    uint8_t h[12];
    frame(h, cases[i].ver, cases[i].type, cases[i].flags, cases[i].id, cases[i].len);
    assert_int_equal(ggp_yamux_recv(b->y, h, 12, 0), cases[i].want);
    if (cases[i].want != GG_OK) {
      fr f[2];
      assert_int_equal(parse_out(b, 0, f, 2), 1);
      assert_int_equal(f[0].type, 3);
      assert_int_equal(f[0].len, GGP_YAMUX_GOAWAY_PROTOCOL);
    }
    peer_free(b);
  }
  /* data after the peer's FIN */
  peer *b = peer_new(0, &st, NULL);
  b->no_consume = 1;
  assert_int_equal(inject(b, 1, 1 | 4, 1, 0, 0), GG_OK);
  assert_int_equal(b->st[1].fin, 1);
  assert_int_equal(inject(b, 0, 0, 1, 3, 0), GG_EPROTO);
  peer_free(b);
  /* a SYN on one of our own open streams */
  peer *a = peer_new(1, &st, NULL);
  uint32_t id = peer_open(a);
  fr f[2];
  parse_out(a, 0, f, 2);
  assert_int_equal(inject(a, 1, 1, id, 0, 0), GG_EPROTO);
  peer_free(a);
  /* a repeated SYN on the peer's open stream is ignored (js) */
  b = peer_new(0, &st, NULL);
  assert_int_equal(inject(b, 1, 1, 5, 0, 0), GG_OK);
  assert_int_equal(inject(b, 1, 1, 5, 0, 0), GG_OK);
  assert_int_equal(b->opens, 1);
  /* SYNs may arrive out of order (rust-yamux opens lazily, with the first data) */
  assert_int_equal(inject(b, 1, 1, 3, 0, 0), GG_OK);
  assert_int_equal(b->opens, 2);
  peer_free(b);
  /* on_data failing aborts the session with GoAway "internal error" */
  b = peer_new(0, &st, NULL);
  b->data_fail = GG_ENOMEM;
  uint8_t buf[12 + 2];
  frame(buf, 0, 0, 1, 1, 2);
  assert_int_equal(ggp_yamux_recv(b->y, buf, sizeof(buf), 0), GG_ENOMEM);
  assert_int_equal(parse_out(b, 0, f, 2), 1);
  assert_int_equal(f[0].type, 3);
  assert_int_equal(f[0].len, GGP_YAMUX_GOAWAY_INTERNAL);
  peer_free(b);
}

/* A payload split across recv calls is delivered piece by piece, nothing buffered. */
static void test_byte_by_byte(void **state) {
  (void)state;
  ggp_yamux_settings st = quiet();
  peer *a = peer_new(1, &st, NULL), *b = peer_new(0, &st, NULL);
  static uint8_t d[200000];
  pattern(d, sizeof(d), 5);
  uint32_t s1 = peer_open(a), s2 = peer_open(a);
  assert_int_equal(ggp_yamux_write(a->y, s1, d, sizeof(d)), sizeof(d));
  assert_int_equal(ggp_yamux_write(a->y, s2, d + 1000, 3000), 3000);
  assert_int_equal(ggp_yamux_close(a->y, s2), GG_OK);
  assert_int_equal(ggp_yamux_ping(b->y), GG_OK);
  pump_split(a, b, 0, 1);
  assert_int_equal(b->st[s1].rxlen, sizeof(d));
  assert_memory_equal(b->st[s1].rx, d, sizeof(d));
  assert_int_equal(b->st[s2].rxlen, 3000);
  assert_memory_equal(b->st[s2].rx, d + 1000, 3000);
  assert_int_equal(b->st[s2].fin, 1);
  assert_int_equal(b->rtts, 1);
  assert_true(b->data_calls > 200000 - 100); /* one byte at a time, delivered at once */
  pump_split(a, b, 0, 7);
  peer_free(a);
  peer_free(b);
}

/* Frames cut to fit a small output buffer, and the round robin between streams. */
static void test_small_output(void **state) {
  (void)state;
  ggp_yamux_settings st = quiet();
  st.max_frame_data = 1024;
  peer *a = peer_new(1, &st, NULL), *b = peer_new(0, &st, NULL);
  uint32_t s1 = peer_open(a), s2 = peer_open(a);
  static uint8_t d[5000];
  pattern(d, sizeof(d), 9);
  assert_int_equal(ggp_yamux_write(a->y, s1, d, sizeof(d)), sizeof(d));
  assert_int_equal(ggp_yamux_write(a->y, s2, d, sizeof(d)), sizeof(d));
  gg_buf small;
  gg_buf_init(&small, NULL, 700);
  int frames = 0;
  uint32_t last = 0;
  int alternations = 0;
  while (ggp_yamux_want_send(a->y)) {
    assert_int_equal(ggp_yamux_send(a->y, &small, 0), GG_OK);
    assert_true(gg_buf_len(&small) <= 700);
    const uint8_t *p = gg_buf_ptr(&small);
    for (size_t off = 0; off < gg_buf_len(&small);) {
      uint32_t id = p[off + 7], len = (uint32_t)p[off + 10] << 8 | p[off + 11];
      if (p[off + 1] == 0) {
        assert_true(len <= 1024);
        if (last && id != last) alternations++;
        last = id;
      }
      off += 12 + (p[off + 1] == 0 ? len : 0);
      frames++;
    }
    assert_int_equal(ggp_yamux_recv(b->y, gg_buf_ptr(&small), gg_buf_len(&small), 0), GG_OK);
    gg_buf_reset(&small);
  }
  gg_buf_free(&small);
  assert_true(alternations >= 8);
  assert_int_equal(b->st[s1].rxlen, sizeof(d));
  assert_memory_equal(b->st[s1].rx, d, sizeof(d));
  assert_memory_equal(b->st[s2].rx, d, sizeof(d));
  peer_free(a);
  peer_free(b);
}

/* 50 streams, each echoing 1 MiB through the windows, then closing both ways. */
static void test_50_streams_echo(void **state) {
  (void)state;
  ggp_yamux_settings st = quiet();
  peer *a = peer_new(1, &st, NULL), *b = peer_new(0, &st, NULL);
  b->echo = 1;
  enum { N = 50, SZ = 1 * MiB };
  uint8_t *src = malloc(SZ);
  pattern(src, SZ, 42);
  uint32_t ids[N];
  size_t off[N];
  for (int i = 0; i < N; i++) {
    ids[i] = peer_open(a);
    off[i] = 0;
  }
  int done = 0;
  for (int round = 0; round < 100000 && done < N; round++) {
    done = 0;
    for (int i = 0; i < N; i++) {
      if (off[i] < SZ) {
        int64_t n = ggp_yamux_write(a->y, ids[i], src + off[i], SZ - off[i]);
        assert_true(n >= 0);
        off[i] += (size_t)n;
        if (off[i] == SZ) assert_int_equal(ggp_yamux_close(a->y, ids[i]), GG_OK);
      }
      if (a->st[ids[i]].ended) done++;
    }
    assert_int_equal(deliver(a, b, 0, 0, 0), GG_OK);
    assert_int_equal(deliver(b, a, 0, 0, 0), GG_OK);
  }
  assert_int_equal(done, N);
  for (int i = 0; i < N; i++) {
    sst *s = &a->st[ids[i]];
    assert_int_equal(s->rxlen, SZ);
    assert_memory_equal(s->rx, src, SZ);
    assert_int_equal(s->how, GGP_YAMUX_END_FIN);
    assert_int_equal(s->fin, 1);
  }
  pump(a, b, 0);
  for (int i = 0; i < N; i++) assert_true(b->st[ids[i]].ended);
  ggp_yamux_info info;
  ggp_yamux_get_info(b->y, &info);
  assert_int_equal(info.streams_in, 0);
  free(src);
  peer_free(a);
  peer_free(b);
}

/* Fails every allocation in turn during a scenario with streams both ways: each call fails
 * cleanly (GG_ENOMEM, or a refused stream) and nothing leaks. */
static void test_failing_allocator(void **state) {
  (void)state;
  ggp_yamux_settings st = quiet();
  st.send_buffer = 4096;
  int completed = 0;
  for (long k = 0; k < 400; k++) {
    gg_failmem fm;
    gg_failmem_init(&fm, k);
    peer *p = calloc(1, sizeof(*p));
    p->pull = pull_max;
    int rv = ggp_yamux_new(&p->y, &CB, &st, 1, &fm.mem, p);
    if (rv) {
      assert_int_equal(rv, GG_ENOMEM);
      assert_int_equal(fm.live, 0);
      free(p);
      continue;
    }
    gg_buf_init(&p->out, &fm.mem, 1u << 20);
    peer *b = peer_new(0, &st, NULL);
    b->echo = 1;
    uint8_t d[10000];
    pattern(d, sizeof(d), 1);
    int dead = 0;
    for (int i = 0; i < 30 && !dead; i++) {
      uint32_t id;
      rv = ggp_yamux_open(p->y, &id, NULL);
      if (rv == GG_OK) {
        p->st[id].known = 1;
        ggp_yamux_set_stream_ud(p->y, id, &p->st[id]);
        int64_t n = ggp_yamux_write(p->y, id, d, sizeof(d));
        assert_true(n == GG_ENOMEM || n >= 0);
        if (i % 3 == 0) ggp_yamux_close(p->y, id);
        if (i % 5 == 0) ggp_yamux_reset(p->y, id);
      } else {
        assert_int_equal(rv, GG_ENOMEM);
      }
      if (i % 4 == 0) { /* streams from b: p may have to refuse them */
        uint32_t bid = peer_open(b);
        assert_int_equal(ggp_yamux_write(b->y, bid, d, 100), 100);
        ggp_yamux_close(b->y, bid);
        ggp_yamux_ping(b->y);
      }
      if (ggp_yamux_want_send(p->y)) {
        rv = take_output(p, &p->out, 0);
        assert_true(rv == GG_OK || rv == GG_ENOMEM);
      }
      assert_int_equal(ggp_yamux_recv(b->y, gg_buf_ptr(&p->out), gg_buf_len(&p->out), 0), GG_OK);
      gg_buf_reset(&p->out);
      if (ggp_yamux_want_send(b->y)) assert_int_equal(ggp_yamux_send(b->y, &b->out, 0), GG_OK);
      rv = ggp_yamux_recv(p->y, gg_buf_ptr(&b->out), gg_buf_len(&b->out), 0);
      gg_buf_reset(&b->out);
      if (rv) {
        assert_int_equal(rv, GG_ENOMEM);
        dead = 1;
      }
    }
    if (!dead && fm.nallocs < k) completed++;
    ggp_yamux_del(p->y);
    gg_buf_free(&p->out);
    assert_int_equal(fm.live, 0);
    p->y = NULL;
    for (int i = 0; i < MAXID; i++) free(p->st[i].rx);
    free(p);
    peer_free(b);
  }
  assert_true(completed > 0); /* the scenario also ran without any failure */
}

/* ---- the pull path ---------------------------------------------------------------------- */

/* Runs a test with both peers pulling their output in runs of at most max bytes. */
#define PULLED(name, max)                                                                        \
  static void name##_pulled_##max(void **state) {                                               \
    pull_max = max;                                                                              \
    name(state);                                                                                 \
    pull_max = 0;                                                                                \
  }
PULLED(test_open_accept_data, 65519)
PULLED(test_half_close, 65519)
PULLED(test_reset, 65519)
PULLED(test_goaway, 65519)
PULLED(test_flow_control, 65519)
PULLED(test_window_growth, 65519)
PULLED(test_send_buffer_release, 65519)
PULLED(test_50_streams_echo, 65519)
PULLED(test_50_streams_echo, 1000)
PULLED(test_failing_allocator, 65519)

/* The same session state drained by send() and by pulls gives the same bytes; a DATA run
 * points into the stream's buffer (no copy) and the callbacks for it wait for the next pull. */
static void test_pull_same_bytes(void **state) {
  (void)state;
  ggp_yamux_settings st = quiet();
  peer *a[2], *b = peer_new(0, &st, NULL);
  static uint8_t d[300 * KiB];
  pattern(d, sizeof(d), 3);
  gg_buf out[2];
  for (int k = 0; k < 2; k++) {
    a[k] = peer_new(1, &st, NULL);
    gg_buf_init(&out[k], NULL, 1u << 26);
    uint32_t s1 = peer_open(a[k]), s2 = peer_open(a[k]), s3 = peer_open(a[k]);
    assert_int_equal(ggp_yamux_write(a[k]->y, s1, d, 100 * KiB), 100 * KiB);
    assert_int_equal(ggp_yamux_write(a[k]->y, s2, d, 10), 10);
    assert_int_equal(ggp_yamux_close(a[k]->y, s2), GG_OK);
    assert_int_equal(ggp_yamux_close(a[k]->y, s3), GG_OK);
    /* more than the window: s1's writer waits */
    assert_int_equal(ggp_yamux_write(a[k]->y, s1, d, sizeof(d)), 156 * KiB);
    assert_int_equal(ggp_yamux_ping(a[k]->y), GG_OK);
    a[k]->pull = k ? 1 * MiB : 0; /* DATA frames cut by max_frame_data only, as send() does */
    assert_int_equal(take_output(a[k], &out[k], 5), GG_OK);
    assert_int_equal(ggp_yamux_want_send(a[k]->y), 0);
    assert_int_equal(a[k]->st[s1].writable_calls, 0); /* no window update came */
  }
  assert_int_equal(gg_buf_len(&out[0]), gg_buf_len(&out[1]));
  assert_memory_equal(gg_buf_ptr(&out[0]), gg_buf_ptr(&out[1]), gg_buf_len(&out[0]));
  assert_int_equal(ggp_yamux_recv(b->y, gg_buf_ptr(&out[1]), gg_buf_len(&out[1]), 5), GG_OK);
  assert_int_equal(b->st[1].rxlen, 256 * KiB);
  assert_memory_equal(b->st[1].rx + 100 * KiB, d, 156 * KiB);
  assert_int_equal(b->st[3].fin, 1);
  assert_int_equal(b->st[5].fin, 1);

  /* a DATA run lies in the stream's send buffer: header right before the payload */
  peer *c = a[1];
  uint32_t s4 = peer_open(c);
  assert_int_equal(ggp_yamux_write(c->y, s4, d, 1000), 1000);
  const uint8_t *r1, *r2;
  size_t n1, n2;
  assert_int_equal(ggp_yamux_send_pull(c->y, 65519, 6, &r1, &n1), GG_OK);
  assert_int_equal(n1, 12 + 1000);
  assert_int_equal(r1[1], 0);                    /* DATA */
  assert_int_equal(r1[3], 1);                    /* with the SYN */
  assert_memory_equal(r1 + 12, d, 1000);
  assert_int_equal(ggp_yamux_want_send(c->y), 1); /* the drained buffer is noted */
  assert_int_equal(ggp_yamux_send_pull(c->y, 65519, 6, &r2, &n2), GG_OK);
  assert_int_equal(n2, 0);
  assert_int_equal(ggp_yamux_want_send(c->y), 0);
  /* a run too small for a header gives nothing; over max a DATA frame is cut */
  assert_int_equal(ggp_yamux_write(c->y, s4, d, 100), 100);
  assert_int_equal(ggp_yamux_send_pull(c->y, 12, 6, &r1, &n1), GG_OK);
  assert_int_equal(n1, 0);
  assert_int_equal(ggp_yamux_send_pull(c->y, 50, 6, &r1, &n1), GG_OK);
  assert_int_equal(n1, 50);
  assert_int_equal(ggp_yamux_send_pull(c->y, 1000, 6, &r1, &n1), GG_OK);
  assert_int_equal(n1, 12 + 62);
  assert_memory_equal(r1 + 12, d + 38, 62);
  for (int k = 0; k < 2; k++) {
    gg_buf_free(&out[k]);
    peer_free(a[k]);
  }
  peer_free(b);
}

/* A writer waiting for room hears on_writable from the pull after the one that drained its
 * buffer, and a pull from inside a callback is refused. */
static int pull_in_cb;
static void cb_writable_pull(ggp_yamux *y, uint32_t id, void *sud, void *ud) {
  const uint8_t *p;
  size_t n;
  pull_in_cb = ggp_yamux_send_pull(y, 65519, 0, &p, &n);
  cb_writable(y, id, sud, ud);
}

static void test_pull_writable(void **state) {
  (void)state;
  ggp_yamux_settings st = quiet();
  st.send_buffer = 100 * KiB;
  st.max_frame_data = 128 * KiB; /* one pull drains the buffer */
  ggp_yamux_callbacks cb = CB;
  cb.on_writable = cb_writable_pull;
  peer *a = calloc(1, sizeof(*a));
  assert_int_equal(ggp_yamux_new(&a->y, &cb, &st, 1, NULL, a), GG_OK);
  gg_buf_init(&a->out, NULL, 1u << 20);
  static uint8_t d[200 * KiB];
  uint32_t id = peer_open(a);
  assert_int_equal(ggp_yamux_write(a->y, id, d, sizeof(d)), 100 * KiB);
  const uint8_t *p;
  size_t n;
  assert_int_equal(ggp_yamux_send_pull(a->y, 1 * MiB, 0, &p, &n), GG_OK);
  assert_int_equal(n, 12 + 100 * KiB);
  assert_int_equal(a->st[id].writable_calls, 0); /* not while the run is in use */
  assert_int_equal(ggp_yamux_want_send(a->y), 1);
  assert_int_equal(ggp_yamux_send_pull(a->y, 65519, 0, &p, &n), GG_OK);
  assert_int_equal(a->st[id].writable_calls, 1);
  assert_int_equal(pull_in_cb, GG_ESTATE);
  assert_int_equal(n, 0); /* the callback wrote nothing: nothing to send */
  assert_int_equal(ggp_yamux_write(a->y, id, d, 10), 10);
  ggp_yamux_del(a->y);
  gg_buf_free(&a->out);
  free(a);
}

/* A dead session gives its GoAway once through a pull, then only its error. */
static void test_pull_fatal(void **state) {
  (void)state;
  ggp_yamux_settings st = quiet();
  peer *a = peer_new(1, &st, NULL);
  assert_int_equal(inject(a, 7, 0, 0, 0, 0), GG_EPROTO); /* unknown frame type */
  const uint8_t *p;
  size_t n;
  assert_int_equal(ggp_yamux_send_pull(a->y, 65519, 0, &p, &n), GG_EPROTO);
  assert_int_equal(n, 12);
  assert_int_equal(p[1], 3); /* GoAway */
  assert_int_equal(p[11], GGP_YAMUX_GOAWAY_PROTOCOL);
  assert_int_equal(ggp_yamux_send_pull(a->y, 65519, 0, &p, &n), GG_EPROTO);
  assert_int_equal(n, 0);
  peer_free(a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_open_accept_data),
      cmocka_unit_test(test_refuse),
      cmocka_unit_test(test_syn_frames_sent),
      cmocka_unit_test(test_flow_control),
      cmocka_unit_test(test_send_buffer_cap),
      cmocka_unit_test(test_send_buffer_release),
      cmocka_unit_test(test_window_growth),
      cmocka_unit_test(test_window_no_growth),
      cmocka_unit_test(test_window_overrun),
      cmocka_unit_test(test_half_close),
      cmocka_unit_test(test_reset),
      cmocka_unit_test(test_stream_limits),
      cmocka_unit_test(test_ping),
      cmocka_unit_test(test_ping_flood),
      cmocka_unit_test(test_keepalive),
      cmocka_unit_test(test_goaway),
      cmocka_unit_test(test_protocol_errors),
      cmocka_unit_test(test_byte_by_byte),
      cmocka_unit_test(test_small_output),
      cmocka_unit_test(test_50_streams_echo),
      cmocka_unit_test(test_failing_allocator),
      cmocka_unit_test(test_open_accept_data_pulled_65519),
      cmocka_unit_test(test_half_close_pulled_65519),
      cmocka_unit_test(test_reset_pulled_65519),
      cmocka_unit_test(test_goaway_pulled_65519),
      cmocka_unit_test(test_flow_control_pulled_65519),
      cmocka_unit_test(test_window_growth_pulled_65519),
      cmocka_unit_test(test_send_buffer_release_pulled_65519),
      cmocka_unit_test(test_50_streams_echo_pulled_65519),
      cmocka_unit_test(test_50_streams_echo_pulled_1000),
      cmocka_unit_test(test_failing_allocator_pulled_65519),
      cmocka_unit_test(test_pull_same_bytes),
      cmocka_unit_test(test_pull_writable),
      cmocka_unit_test(test_pull_fatal),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
