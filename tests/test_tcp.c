/*
 * Tests for the TCP transport and its latency injection (src/net/tcp.c): listen on port 0,
 * dial, echo, EOF, refused dials, deadlines, injected one-way delay measured by round trips,
 * FIFO order under jitter, dropped dial attempts, write backpressure, and that every handle
 * is closed at the end (uv_loop_close() == 0).
 */
#include "gg_test.h"

#include <arpa/inet.h>
#include <string.h>

#include "ggen/err.h"
#include "net/tcp_int.h"

#define container_of(p, T, m) ((T *)((char *)(p) - offsetof(T, m)))

/* One side of a test: a transport, a listener and up to 8 connections. */
typedef struct conn {
  ggn_sock s;
  struct side *side;
  int used, connected, connect_err, eof, closed, deadline_hits, drained;
  uint8_t in[1 << 16];
  size_t nin;
  int echo;
} conn;

typedef struct side {
  ggn_tcp tcp;
  ggn_listener *l;
  conn c[256];
  int nconn;
  int naccepted;
  int nclosed;
} side;

static conn *conn_of(ggn_sock *s) { return container_of(s, conn, s); }

static conn *new_conn(side *sd) {
  assert_true(sd->nconn < 256);
  conn *c = &sd->c[sd->nconn++];
  memset(c, 0, sizeof(*c));
  c->side = sd;
  c->used = 1;
  return c;
}

static void on_connect(ggn_sock *s, int err) {
  conn *c = conn_of(s);
  c->connected = err == GG_OK;
  c->connect_err = err;
  ggn_sock_set_deadline(s, GG_TS_UNSET); /* the dial timeout, when a test set one */
  if (err != GG_OK) ggn_sock_close(s, 0);
}
static void on_accept(ggn_listener *l) {
  side *sd = l->ud;
  conn *c = new_conn(sd);
  c->echo = 1;
  assert_int_equal(ggn_sock_accept(&sd->tcp, l, &c->s), GG_OK);
  c->connected = 1;
  sd->naccepted++;
}
static void on_read(ggn_sock *s, const uint8_t *p, size_t n) {
  conn *c = conn_of(s);
  if (c->echo) {
    ggn_sock_write_copy(s, p, n);
    return;
  }
  size_t room = sizeof(c->in) - c->nin;
  if (n > room) n = room;
  memcpy(c->in + c->nin, p, n);
  c->nin += n;
}
static void on_eof(ggn_sock *s, int err) {
  conn_of(s)->eof = err;
  ggn_sock_close(s, 0);
}
static void on_drain(ggn_sock *s) { conn_of(s)->drained++; }
static void on_deadline(ggn_sock *s) {
  conn *c = conn_of(s);
  c->deadline_hits++;
  ggn_sock_close(s, 0);
}
static void on_closed(ggn_sock *s) {
  conn *c = conn_of(s);
  c->closed = 1;
  c->side->nclosed++;
}

static const ggn_tcp_cbs cbs = {on_connect, on_accept, on_read, on_eof,
                                on_drain,   on_deadline, on_closed};

static side *side_new(uv_loop_t *loop, const ggn_latency *lat, const gg_rand *r) {
  side *sd = calloc(1, sizeof(*sd));
  ggn_tcp_init(&sd->tcp, loop, &cbs, lat, r, NULL, NULL);
  return sd;
}

static int side_listen(side *sd) {
  struct sockaddr_in a;
  uv_ip4_addr("127.0.0.1", 0, &a);
  assert_int_equal(ggn_listener_open(&sd->tcp, (struct sockaddr *)&a, 0, sd, &sd->l), GG_OK);
  struct sockaddr_storage ss;
  assert_int_equal(ggn_listener_addr(sd->l, &ss), GG_OK);
  int port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
  assert_true(port > 0);
  return port;
}

static void side_free(side *sd) {
  ggn_tcp_free(&sd->tcp);
  free(sd);
}

static void close_all(uv_loop_t *loop, side **sides, int n) {
  for (int i = 0; i < n; i++) {
    if (sides[i]->l) ggn_listener_close(sides[i]->l, NULL);
    sides[i]->l = NULL;
    for (int j = 0; j < sides[i]->nconn; j++)
      if (!sides[i]->c[j].closed) ggn_sock_close(&sides[i]->c[j].s, 0);
  }
  uv_run(loop, UV_RUN_DEFAULT);
  for (int i = 0; i < n; i++) side_free(sides[i]);
  assert_int_equal(uv_loop_close(loop), 0);
}

static void wake_cb(uv_timer_t *t) { (void)t; }

/* Runs one loop iteration, waiting at most 10 ms for something to happen. */
static void run_once(uv_loop_t *loop) {
  uv_timer_t wake;
  uv_timer_init(loop, &wake);
  uv_timer_start(&wake, wake_cb, 10, 0);
  uv_run(loop, UV_RUN_ONCE);
  uv_close((uv_handle_t *)&wake, NULL);
  uv_run(loop, UV_RUN_NOWAIT);
}

/* Runs the loop until *flag becomes nonzero or ms pass. */
static void run_until(uv_loop_t *loop, const volatile int *flag, uint64_t ms) {
  gg_ts end = ggn_now() + GG_MS(ms);
  while (!*flag && ggn_now() < end) run_once(loop);
}

static void run_until_bytes(uv_loop_t *loop, conn *c, size_t n, uint64_t ms) {
  gg_ts end = ggn_now() + GG_MS(ms);
  while (c->nin < n && ggn_now() < end) run_once(loop);
}

static void dial(side *sd, conn *c, int port) {
  struct sockaddr_in a;
  uv_ip4_addr("127.0.0.1", port, &a);
  ggn_sock_dial(&sd->tcp, &c->s, (struct sockaddr *)&a);
}

static void test_echo_and_eof(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  side *srv = side_new(&loop, NULL, NULL), *cli = side_new(&loop, NULL, NULL);
  int port = side_listen(srv);
  conn *c = new_conn(cli);
  dial(cli, c, port);
  run_until(&loop, &c->connected, 2000);
  assert_true(c->connected);
  struct sockaddr_storage la, ra;
  assert_int_equal(ggn_sock_local_addr(&c->s, &la), GG_OK);
  assert_int_equal(ggn_sock_remote_addr(&c->s, &ra), GG_OK);
  assert_int_equal(ntohs(((struct sockaddr_in *)&ra)->sin_port), port);
  assert_true(ggn_sock_write_copy(&c->s, "hello", 5) >= 0);
  run_until_bytes(&loop, c, 5, 2000);
  assert_int_equal(c->nin, 5);
  assert_memory_equal(c->in, "hello", 5);
  /* the server closing its end is seen as EOF by the client */
  assert_int_equal(srv->naccepted, 1);
  ggn_sock_close(&srv->c[0].s, 1);
  run_until(&loop, &c->closed, 2000);
  assert_int_equal(c->eof, GG_ECLOSED);
  side *all[] = {srv, cli};
  close_all(&loop, all, 2);
}

static void test_refused_and_deadline(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  side *srv = side_new(&loop, NULL, NULL), *cli = side_new(&loop, NULL, NULL);
  int port = side_listen(srv);
  ggn_listener_close(srv->l, NULL); /* nobody listens on port any more */
  srv->l = NULL;
  uv_run(&loop, UV_RUN_NOWAIT);
  conn *c = new_conn(cli);
  dial(cli, c, port);
  run_until(&loop, &c->closed, 2000);
  assert_false(c->connected);
  assert_int_equal(c->connect_err, GG_EIO);
  /* a deadline on a connected socket fires once */
  port = side_listen(srv);
  conn *d = new_conn(cli);
  dial(cli, d, port);
  run_until(&loop, &d->connected, 2000);
  gg_ts t0 = ggn_now();
  ggn_sock_set_deadline(&d->s, t0 + GG_MS(30));
  run_until(&loop, &d->closed, 2000);
  assert_int_equal(d->deadline_hits, 1);
  assert_true(ggn_now() - t0 >= GG_MS(30));
  side *all[] = {srv, cli};
  close_all(&loop, all, 2);
}

static void test_listen_errors(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  side *a = side_new(&loop, NULL, NULL);
  int port = side_listen(a);
  struct sockaddr_in sa;
  uv_ip4_addr("127.0.0.1", port, &sa);
  ggn_listener *l2 = NULL;
  assert_int_equal(ggn_listener_open(&a->tcp, (struct sockaddr *)&sa, 0, a, &l2), GG_EEXIST);
  assert_null(l2);
  uv_ip4_addr("192.0.2.1", 0, &sa); /* TEST-NET-1: not a local address */
  assert_int_equal(ggn_listener_open(&a->tcp, (struct sockaddr *)&sa, 0, a, &l2), GG_EINVAL);
  /* ip6 loopback when the machine has it */
  struct sockaddr_in6 s6;
  uv_ip6_addr("::1", 0, &s6);
  if (ggn_listener_open(&a->tcp, (struct sockaddr *)&s6, 0, a, &l2) == GG_OK) {
    struct sockaddr_storage ss;
    assert_int_equal(ggn_listener_addr(l2, &ss), GG_OK);
    assert_int_equal(ss.ss_family, AF_INET6);
    assert_true(ntohs(((struct sockaddr_in6 *)&ss)->sin6_port) > 0);
    side *c6 = side_new(&loop, NULL, NULL);
    conn *c = new_conn(c6);
    s6.sin6_port = ((struct sockaddr_in6 *)&ss)->sin6_port;
    ggn_sock_dial(&c6->tcp, &c->s, (struct sockaddr *)&s6);
    run_until(&loop, &c->connected, 2000);
    assert_true(c->connected);
    ggn_listener_close(l2, NULL);
    side *all[] = {a, c6};
    close_all(&loop, all, 2);
    return;
  }
  side *all[] = {a};
  close_all(&loop, all, 1);
}

/* Round trip of one byte, in ns. */
static uint64_t rtt(uv_loop_t *loop, conn *c) {
  size_t before = c->nin;
  gg_ts t0 = ggn_now();
  ggn_sock_write_copy(&c->s, "x", 1);
  run_until_bytes(loop, c, before + 1, 3000);
  assert_int_equal(c->nin, before + 1);
  return ggn_now() - t0;
}

static void test_latency_fixed(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  ggn_latency lat = {.delay_ns = GG_MS(25)};
  side *srv = side_new(&loop, &lat, NULL), *cli = side_new(&loop, &lat, NULL);
  int port = side_listen(srv);
  conn *c = new_conn(cli);
  gg_ts t0 = ggn_now();
  dial(cli, c, port);
  run_until(&loop, &c->connected, 2000);
  assert_true(c->connected);
  /* the dialer learns of the connection a round trip later (SYN and SYN-ACK) */
  assert_true(ggn_now() - t0 >= GG_MS(50));
  for (int i = 0; i < 3; i++) {
    uint64_t r = rtt(&loop, c);
    /* the server delays the request 25 ms, the client the echo 25 ms */
    assert_true(r >= GG_MS(50));
    assert_true(r < GG_MS(50) + GG_MS(60)); /* slack for a loaded machine */
  }
  side *all[] = {srv, cli};
  close_all(&loop, all, 2);
}

static void test_latency_one_side_and_distribution(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  gg_rand_seeded rs;
  gg_rand_seeded_init(&rs, 7);
  /* uniform per-connection delay in [10, 30] ms on the client only */
  ggn_latency lat = {.delay_ns = GG_MS(20), .spread_ns = GG_MS(10), .dist = GGN_DELAY_UNIFORM};
  side *srv = side_new(&loop, NULL, NULL), *cli = side_new(&loop, &lat, &rs.r);
  int port = side_listen(srv);
  for (int i = 0; i < 4; i++) {
    conn *c = new_conn(cli);
    dial(cli, c, port);
    run_until(&loop, &c->connected, 2000);
    assert_true(c->connected);
    assert_true(c->s.delay_ns >= GG_MS(10) && c->s.delay_ns <= GG_MS(30));
    uint64_t r = rtt(&loop, c);
    assert_true(r >= c->s.delay_ns);
    assert_true(r < c->s.delay_ns + GG_MS(50));
  }
  /* normal distribution: draws spread around the mean, never negative */
  ggn_latency ln = {.delay_ns = GG_MS(5), .spread_ns = GG_MS(5), .dist = GGN_DELAY_NORMAL};
  side *n = side_new(&loop, &ln, &rs.r);
  int below = 0, above = 0;
  for (int i = 0; i < 200; i++) {
    conn *c = new_conn(n);
    ggn_sock_dial(&n->tcp, &c->s, (struct sockaddr *)&(struct sockaddr_in){0}); /* never used */
    if (c->s.delay_ns < GG_MS(5)) below++;
    else above++;
    ggn_sock_close(&c->s, 0);
  }
  assert_true(below > 50 && above > 50);
  side *all[] = {srv, cli, n};
  close_all(&loop, all, 3);
}

static void test_jitter_keeps_order(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  gg_rand_seeded rs;
  gg_rand_seeded_init(&rs, 1);
  ggn_latency lat = {.delay_ns = GG_MS(2), .jitter_ns = GG_MS(20)};
  side *srv = side_new(&loop, &lat, &rs.r), *cli = side_new(&loop, &lat, &rs.r);
  int port = side_listen(srv);
  conn *c = new_conn(cli);
  dial(cli, c, port);
  run_until(&loop, &c->connected, 2000);
  uint8_t expect[200];
  for (int i = 0; i < 200; i++) {
    expect[i] = (uint8_t)i;
    ggn_sock_write_copy(&c->s, &expect[i], 1);
    if (i % 10 == 0) uv_run(&loop, UV_RUN_NOWAIT); /* spread over several reads */
  }
  run_until_bytes(&loop, c, 200, 5000);
  assert_int_equal(c->nin, 200);
  assert_memory_equal(c->in, expect, 200);
  side *all[] = {srv, cli};
  close_all(&loop, all, 2);
}

static void test_drop_dials(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  gg_rand_seeded rs;
  gg_rand_seeded_init(&rs, 3);
  ggn_latency lat = {.drop_dial = 0.5};
  side *srv = side_new(&loop, NULL, NULL), *cli = side_new(&loop, &lat, &rs.r);
  int port = side_listen(srv);
  const int n = 100;
  for (int i = 0; i < n; i++) {
    conn *c = new_conn(cli);
    dial(cli, c, port);
    ggn_sock_set_deadline(&c->s, ggn_now() + GG_MS(300)); /* the dial timeout */
  }
  int done = 0;
  gg_ts end = ggn_now() + GG_SEC(5);
  while (!done && ggn_now() < end) {
    run_once(&loop);
    done = 1;
    for (int i = 0; i < n; i++)
      if (!cli->c[i].connected && !cli->c[i].closed) done = 0;
  }
  int ok = 0, dropped = 0;
  for (int i = 0; i < n; i++) {
    if (cli->c[i].connected) ok++;
    if (cli->c[i].deadline_hits) dropped++;
    assert_true(cli->c[i].connected != (cli->c[i].deadline_hits != 0));
  }
  assert_int_equal(ok + dropped, n);
  assert_true(dropped >= 30 && dropped <= 70);
  /* every connection that got through really reached the server */
  run_until(&loop, &(int){0}, 50);
  assert_int_equal(srv->naccepted, ok);
  side *all[] = {srv, cli};
  close_all(&loop, all, 2);
}

static void test_backpressure(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  side *srv = side_new(&loop, NULL, NULL), *cli = side_new(&loop, NULL, NULL);
  int port = side_listen(srv);
  conn *c = new_conn(cli);
  dial(cli, c, port);
  run_until(&loop, &c->connected, 2000);
  run_until(&loop, &srv->naccepted, 2000);
  conn *sc = &srv->c[0];
  sc->echo = 0;
  ggn_sock_pause(&sc->s, 1); /* the server stops reading: the client's queue must fill */
  int full = 0;
  static uint8_t chunk[65536];
  for (int i = 0; i < 1000 && !full; i++) {
    uint8_t *b = ggn_sock_wbuf(&c->s, sizeof(chunk));
    memcpy(b, chunk, sizeof(chunk));
    int rv = ggn_sock_write(&c->s, b, sizeof(chunk));
    assert_true(rv >= 0);
    full = rv == 1;
    uv_run(&loop, UV_RUN_NOWAIT);
  }
  assert_true(full);
  assert_true(ggn_sock_write_queued(&c->s) >= cli->tcp.write_high);
  ggn_sock_pause(&sc->s, 0);
  run_until(&loop, &c->drained, 5000);
  assert_int_equal(c->drained, 1);
  side *all[] = {srv, cli};
  close_all(&loop, all, 2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_echo_and_eof),
      cmocka_unit_test(test_refused_and_deadline),
      cmocka_unit_test(test_listen_errors),
      cmocka_unit_test(test_latency_fixed),
      cmocka_unit_test(test_latency_one_side_and_distribution),
      cmocka_unit_test(test_jitter_keeps_order),
      cmocka_unit_test(test_drop_dials),
      cmocka_unit_test(test_backpressure),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
