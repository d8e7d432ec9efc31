/*
 * Yamux core benchmark: two sessions wired back to back in memory (no Noise, no sockets),
 * so the figures are the muxer's own cost - the ceiling it puts under the host's
 * Noise + Yamux throughput target (400 MB/s for one stream).
 *
 *   bulk/1 stream          one stream, the receiver consumes in on_data; input handed to
 *                          recv() whole, and in 65519-byte pieces as Noise would deliver it
 *   echo/50 x 1 MiB        50 streams each writing 1 MiB that the other side echoes back,
 *                          consuming only what it managed to write (flow control applies)
 *   streams/open+close     short streams: open, 100 bytes, FIN, echoed, FIN, ended
 *
 * Each figure is the median of several runs (one in --quick).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ggen/buf.h"
#include "ggen/err.h"
#include "ggen/time.h"
#include "ggen/yamux.h"
#include "report.h"

#define MAXID (1 << 17)

typedef struct side {
  ggp_yamux *y;
  gg_buf out;
  int echo;
  uint64_t received;
  int ended, opened;
  /* echo mode, per stream: bytes received and not written back yet are ep[id][epoff ..
   * epoff + eplen) in an allocation of epcap bytes */
  uint8_t **ep;
  size_t *eplen, *epoff, *epcap;
  char *fin;
} side;

static void die(const char *what, int rv) {
  fprintf(stderr, "bench_yamux: %s: %s\n", what, gg_strerror(rv));
  exit(1);
}

static void echo_flush(side *s, uint32_t id) {
  while (s->eplen[id]) {
    int64_t n = ggp_yamux_write(s->y, id, s->ep[id] + s->epoff[id], s->eplen[id]);
    if (n < 0) die("write", (int)n);
    if (n == 0) break;
    s->epoff[id] += (size_t)n;
    s->eplen[id] -= (size_t)n;
    if (s->eplen[id] == 0) s->epoff[id] = 0;
    ggp_yamux_consume(s->y, id, (size_t)n);
  }
  if (s->eplen[id] == 0 && s->fin[id] == 1) {
    s->fin[id] = 2;
    ggp_yamux_close(s->y, id);
  }
}

static int on_open(ggp_yamux *y, uint32_t id, void **sud, void *ud) {
  (void)y, (void)sud;
  side *s = ud;
  s->opened++;
  return id < MAXID ? 0 : 1;
}

static int on_data(ggp_yamux *y, uint32_t id, const uint8_t *d, size_t n, void *sud, void *ud) {
  (void)sud;
  side *s = ud;
  s->received += n;
  if (!s->echo) return ggp_yamux_consume(y, id, n);
  /* The receive window bounds what can pile up here; a real host keeps the same buffer. */
  if (s->epoff[id] + s->eplen[id] + n > s->epcap[id]) {
    memmove(s->ep[id], s->ep[id] + s->epoff[id], s->eplen[id]);
    s->epoff[id] = 0;
    if (s->eplen[id] + n > s->epcap[id]) {
      s->epcap[id] = (s->eplen[id] + n) * 2;
      s->ep[id] = realloc(s->ep[id], s->epcap[id]);
    }
  }
  memcpy(s->ep[id] + s->epoff[id] + s->eplen[id], d, n);
  s->eplen[id] += n;
  echo_flush(s, id);
  return 0;
}

static void on_fin(ggp_yamux *y, uint32_t id, void *sud, void *ud) {
  (void)y, (void)sud;
  side *s = ud;
  if (!s->echo) return;
  s->fin[id] = 1;
  echo_flush(s, id);
}

static void on_writable(ggp_yamux *y, uint32_t id, void *sud, void *ud) {
  (void)y, (void)sud;
  side *s = ud;
  if (s->echo) echo_flush(s, id);
}

static void on_end(ggp_yamux *y, uint32_t id, int how, void *sud, void *ud) {
  (void)y, (void)sud, (void)how;
  side *s = ud;
  s->ended++;
  if (s->echo) {
    free(s->ep[id]);
    s->ep[id] = NULL;
    s->eplen[id] = s->epoff[id] = s->epcap[id] = 0;
  }
}

static const ggp_yamux_callbacks CB = {on_open, on_data, on_fin, on_writable, on_end, NULL, NULL};

static void side_init(side *s, int client, int echo) {
  memset(s, 0, sizeof(*s));
  ggp_yamux_settings st;
  memset(&st, 0, sizeof(st));
  st.no_initial_ping = 1;
  st.keepalive = GG_TS_UNSET;
  st.max_streams_in = st.max_streams_out = 1000;
  int rv = ggp_yamux_new(&s->y, &CB, &st, client, NULL, s);
  if (rv) die("new", rv);
  gg_buf_init(&s->out, NULL, 4u << 20);
  s->echo = echo;
  s->ep = calloc(MAXID, sizeof(*s->ep));
  s->eplen = calloc(MAXID, sizeof(*s->eplen));
  s->epoff = calloc(MAXID, sizeof(*s->epoff));
  s->epcap = calloc(MAXID, sizeof(*s->epcap));
  s->fin = calloc(MAXID, 1);
}

static void side_free(side *s) {
  ggp_yamux_del(s->y);
  gg_buf_free(&s->out);
  for (int i = 0; i < MAXID; i++) free(s->ep[i]);
  free(s->ep);
  free(s->eplen);
  free(s->epoff);
  free(s->epcap);
  free(s->fin);
}

/* Sends from -> to; piece = 0 hands the whole output to one recv(). */
static void flow(side *from, side *to, size_t piece) {
  if (!ggp_yamux_want_send(from->y)) return;
  int rv = ggp_yamux_send(from->y, &from->out, 0);
  if (rv) die("send", rv);
  const uint8_t *p = gg_buf_ptr(&from->out);
  size_t len = gg_buf_len(&from->out);
  for (size_t off = 0; off < len;) {
    size_t n = piece && len - off > piece ? piece : len - off;
    if ((rv = ggp_yamux_recv(to->y, p + off, n, 0))) die("recv", rv);
    off += n;
  }
  gg_buf_reset(&from->out);
}

static double bulk(uint64_t total, size_t piece) {
  static uint8_t src[1 << 20];
  for (size_t i = 0; i < sizeof(src); i++) src[i] = (uint8_t)(i * 131);
  side a, b;
  side_init(&a, 1, 0);
  side_init(&b, 0, 0);
  uint32_t id;
  int rv = ggp_yamux_open(a.y, &id, NULL);
  if (rv) die("open", rv);
  uint64_t sent = 0;
  gg_ts t0 = gg_clock_now();
  while (b.received < total) {
    while (sent < total) {
      size_t off = (size_t)(sent % sizeof(src));
      int64_t n = ggp_yamux_write(a.y, id, src + off, sizeof(src) - off);
      if (n < 0) die("write", (int)n);
      if (n == 0) break;
      sent += (uint64_t)n;
    }
    flow(&a, &b, piece);
    flow(&b, &a, piece);
  }
  double secs = (double)(gg_clock_now() - t0) / 1e9;
  side_free(&a);
  side_free(&b);
  return (double)total / 1e6 / secs;
}

/* n streams each sending size bytes that come back; returns seconds. */
static double echo(int n, size_t size) {
  side a, b;
  side_init(&a, 1, 0);
  side_init(&b, 0, 1);
  uint8_t *src = malloc(size);
  for (size_t i = 0; i < size; i++) src[i] = (uint8_t)(i * 7);
  uint32_t *ids = calloc((size_t)n, sizeof(*ids));
  size_t *off = calloc((size_t)n, sizeof(*off));
  gg_ts t0 = gg_clock_now();
  for (int i = 0; i < n; i++) {
    int rv = ggp_yamux_open(a.y, &ids[i], NULL);
    if (rv) die("open", rv);
  }
  while (a.ended < n) {
    for (int i = 0; i < n; i++) {
      if (off[i] == size) continue;
      int64_t w = ggp_yamux_write(a.y, ids[i], src + off[i], size - off[i]);
      if (w < 0) die("write", (int)w);
      off[i] += (size_t)w;
      if (off[i] == size) ggp_yamux_close(a.y, ids[i]);
    }
    flow(&a, &b, 0);
    flow(&b, &a, 0);
  }
  double secs = (double)(gg_clock_now() - t0) / 1e9;
  if (a.received != (uint64_t)n * size) die("echo lost bytes", GG_EINTERNAL);
  free(src);
  free(ids);
  free(off);
  side_free(&a);
  side_free(&b);
  return secs;
}

/* Short streams in batches of 100: open, 100 bytes, FIN; echoed, FIN. Returns streams/s. */
static double short_streams(int total) {
  side a, b;
  side_init(&a, 1, 0);
  side_init(&b, 0, 1);
  uint8_t msg[100] = {0};
  gg_ts t0 = gg_clock_now();
  for (int done = 0; done < total; done += 100) {
    for (int i = 0; i < 100; i++) {
      uint32_t id;
      int rv = ggp_yamux_open(a.y, &id, NULL);
      if (rv) die("open", rv);
      if (ggp_yamux_write(a.y, id, msg, sizeof(msg)) != (int64_t)sizeof(msg)) die("write", 0);
      ggp_yamux_close(a.y, id);
    }
    while (a.ended < done + 100 || ggp_yamux_want_send(a.y) || ggp_yamux_want_send(b.y)) {
      flow(&a, &b, 0);
      flow(&b, &a, 0);
    }
  }
  double secs = (double)(gg_clock_now() - t0) / 1e9;
  if (a.received != (uint64_t)total * sizeof(msg) || b.ended != total) die("short streams", 0);
  side_free(&a);
  side_free(&b);
  return total / secs;
}

static int cmp(const void *x, const void *y) {
  double a = *(const double *)x, b = *(const double *)y;
  return a < b ? -1 : a > b;
}

static double med(double *v, int n) {
  qsort(v, (size_t)n, sizeof(*v), cmp);
  return v[n / 2];
}

static const bench_usage usage = {"Yamux core in memory (no Noise, no sockets): bulk throughput, "
                                  "50-stream echo, stream open+close.",
                                  NULL,
                                  "Full run: median of 5 runs, 1 GiB bulk, 50 x 1 MiB echo; "
                                  "--quick: one run, 64 MiB, 50 x 256 KiB."};

int main(int argc, char **argv) {
  bench_report *r = bench_report_new("yamux", &usage, argc, argv);
  int quick = bench_quick(r);
  int runs = quick ? 1 : 5;
  uint64_t total = quick ? 64ull << 20 : 1ull << 30;
  double v[5];

  for (int k = 0; k < runs; k++) v[k] = bulk(total, 0);
  bench_row *row = bench_row_add(r, "bulk/1 stream, whole input");
  bench_row_num(row, "MB/s", med(v, runs));
  bench_row_num(row, "MiB", (double)(total >> 20));

  for (int k = 0; k < runs; k++) v[k] = bulk(total, 65519);
  row = bench_row_add(r, "bulk/1 stream, 65519-byte input pieces");
  bench_row_num(row, "MB/s", med(v, runs));
  bench_row_num(row, "MiB", (double)(total >> 20));

  int n = 50;
  size_t size = quick ? 256u << 10 : 1u << 20;
  for (int k = 0; k < runs; k++) v[k] = echo(n, size);
  double secs = med(v, runs);
  row = bench_row_add(r, quick ? "echo/50 x 256 KiB" : "echo/50 x 1 MiB");
  bench_row_num(row, "ms", secs * 1e3);
  bench_row_num(row, "MB/s", (double)n * (double)size * 2 / 1e6 / secs);

  int ns = quick ? 2000 : 50000;
  for (int k = 0; k < runs; k++) v[k] = short_streams(ns);
  row = bench_row_add(r, "streams/open+100B+close echoed");
  bench_row_num(row, "streams/s", med(v, runs));

  bench_note(r, "two sessions back to back in memory, one thread; no Noise, no sockets");
  bench_note(r, "echo MB/s counts bytes both ways");
  return bench_report_finish(r);
}
