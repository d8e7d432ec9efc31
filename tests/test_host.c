/*
 * Tests for the host (src/net): several hosts on one uv loop connect, upgrade
 * (multistream-select, Noise, Yamux), identify each other both ways, ping, open streams with
 * a test echo protocol (50 concurrent streams x 1 MiB), hit connection limits and trimming,
 * drop silent peers at the handshake timeout, close connections that send garbage,
 * truncated or oversized input (with a logged reason) while serving the others, answer `na`
 * to unknown protocols, time out dials, and add injected latency and drops. Every test ends
 * with uv_loop_close() == 0: nothing leaks a handle.
 */
#include "gg_test.h"
#include "host_test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ggen/err.h"
#include "ggen/host.h"
#include "ggen/mss.h"
#include "ggen/yamux.h"
#include "net/host_int.h"

static void test_connect_identify_ping(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  ht_node n[2];
  ht_node_start(&n[0], &loop, NULL, 1);
  ht_node_start(&n[1], &loop, NULL, 2);
  ggn_conn *c = ht_connect_nodes(&loop, &n[0], &n[1]);
  assert_non_null(c);
  assert_true(gg_peerid_eq(ggn_conn_peer(c), ggn_host_peer_id(n[1].h)));
  assert_true(ggn_conn_outbound(c));
  assert_true(ggn_conn_muxer_via_noise(c)); /* both list /yamux/1.0.0 in Noise */
  HT_RUN_UNTIL(&loop, n[0].idents && n[1].idents, 5000);
  assert_int_equal(n[0].idents, 1);
  assert_int_equal(n[1].idents, 1);
  assert_int_equal(n[0].ups, 1);
  assert_int_equal(n[1].ups, 1);
  /* each side knows the other's protocols, agent and listen address */
  const gg_peerid *id0 = ggn_host_peer_id(n[0].h), *id1 = ggn_host_peer_id(n[1].h);
  for (int i = 0; i < 2; i++) {
    const gg_peerid *other = i ? id0 : id1;
    ht_node *me = &n[i], *them = &n[1 - i];
    assert_true(ggn_host_peer_supports(me->h, other, "/ipfs/id/1.0.0"));
    assert_true(ggn_host_peer_supports(me->h, other, "/ipfs/ping/1.0.0"));
    assert_true(ggn_host_peer_supports(me->h, other, ECHO_P));
    assert_string_equal(ggn_host_peer_agent(me->h, other), "ggen/" GGEN_VERSION);
    assert_string_equal(ggn_host_peer_protocol_version(me->h, other), "/ggen/1.0.0");
    gg_maddr addrs[8];
    size_t na = ggn_host_peer_addrs(me->h, other, addrs, 8);
    int found = 0;
    for (size_t j = 0; j < na && j < 8; j++) found |= gg_maddr_eq(&addrs[j], &them->addr);
    assert_true(found);
  }
  /* ping both ways */
  ht_ping_res p1 = {0}, p2 = {0};
  assert_int_equal(ggn_host_ping(n[0].h, id1, ht_ping_cb, &p1), GG_OK);
  assert_int_equal(ggn_host_ping(n[1].h, id0, ht_ping_cb, &p2), GG_OK);
  HT_RUN_UNTIL(&loop, p1.done && p2.done, 5000);
  assert_int_equal(p1.err, GG_OK);
  assert_int_equal(p2.err, GG_OK);
  assert_true(p1.rtt > 0 && p1.rtt < GG_SEC(2));
  /* the second ping reuses the connection */
  assert_int_equal(ggn_host_conn_count(n[0].h), 1);
  /* dialing again with /p2p/ reuses the upgraded connection */
  assert_ptr_equal(ht_connect_nodes(&loop, &n[0], &n[1]), c);
  ht_close_nodes(&loop, n, 2);
}

/* ---- observers
 * ----------------------------------------------------------------------------------------- */

typedef struct obs_count {
  int ups, downs, idents;
  int remove_on_ident; /* removes itself from inside its identify callback */
} obs_count;

static void obs_up(ggn_host *h, ggn_conn *c, void *ud) {
  (void)h, (void)c;
  ((obs_count *)ud)->ups++;
}
static void obs_down(ggn_host *h, ggn_conn *c, int err, void *ud) {
  (void)h, (void)c, (void)err;
  ((obs_count *)ud)->downs++;
}
static void obs_ident(ggn_host *h, ggn_conn *c, const ggp_identify_msg *m, void *ud) {
  (void)c;
  obs_count *o = ud;
  o->idents++;
  assert_true(m->n_protocols > 0);
  if (o->remove_on_ident) assert_int_equal(ggn_host_unobserve(h, o), GG_OK);
}

static void test_observers(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  ht_node n[2];
  ht_node_start(&n[0], &loop, NULL, 11);
  ht_node_start(&n[1], &loop, NULL, 12);
  static const ggn_host_callbacks ocb = {obs_up, obs_down, obs_ident};
  obs_count a = {0}, b = {.remove_on_ident = 1};
  assert_int_equal(ggn_host_observe(n[0].h, &ocb, &a), GG_OK);
  assert_int_equal(ggn_host_observe(n[0].h, &ocb, &b), GG_OK);
  assert_int_equal(ggn_host_observe(n[0].h, NULL, &b), GG_EINVAL);
  ht_connect_nodes(&loop, &n[0], &n[1]);
  HT_RUN_UNTIL(&loop, a.idents && n[0].idents, 5000);
  /* the host's own callbacks still run, and every observer saw the same events */
  assert_int_equal(n[0].ups, 1);
  assert_int_equal(n[0].idents, 1);
  assert_int_equal(a.ups, 1);
  assert_int_equal(b.ups, 1);
  assert_int_equal(a.idents, 1);
  assert_int_equal(b.idents, 1);
  /* b removed itself: it sees nothing more; a sees the connection go down */
  assert_int_equal(ggn_host_unobserve(n[0].h, &b), GG_ENOTFOUND);
  ggn_conn_close(ggn_host_conn_to(n[0].h, ggn_host_peer_id(n[1].h)));
  HT_RUN_UNTIL(&loop, a.downs, 5000);
  assert_int_equal(a.downs, 1);
  assert_int_equal(b.downs, 0);
  /* slots are reused; the table has a fixed size */
  obs_count more[GGN_MAX_OBSERVERS];
  int ok = 0;
  for (int i = 0; i < GGN_MAX_OBSERVERS; i++)
    ok += ggn_host_observe(n[0].h, &ocb, &more[i]) == GG_OK;
  assert_int_equal(ok, GGN_MAX_OBSERVERS - 1); /* a still holds one */
  ht_close_nodes(&loop, n, 2);
}

static void test_echo_streams(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  ht_node n[2];
  ht_node_start(&n[0], &loop, NULL, 3);
  ht_node_start(&n[1], &loop, NULL, 4);
  /* open_stream dials by itself from the peer store */
  assert_int_equal(ggn_host_add_addr(n[0].h, ggn_host_peer_id(n[1].h), &n[1].addr), GG_OK);
  ht_run_echo(&loop, n[0].h, ggn_host_peer_id(n[1].h), 1, 1000);
  ht_run_echo(&loop, n[1].h, ggn_host_peer_id(n[0].h), 3, 100000);
  assert_int_equal(ggn_host_conn_count(n[0].h), 1);
  ht_close_nodes(&loop, n, 2);
}

static void test_echo_50x1MiB(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  ht_node n[2];
  ht_node_start(&n[0], &loop, NULL, 5);
  ht_node_start(&n[1], &loop, NULL, 6);
  ht_connect_nodes(&loop, &n[0], &n[1]);
  ht_run_echo(&loop, n[0].h, ggn_host_peer_id(n[1].h), 50, 1 << 20);
  assert_int_equal(n[1].echo_streams, 50);
  ht_close_nodes(&loop, n, 2);
}

/* ---- muxer negotiation
 * ------------------------------------------------------------------------------ */

static void test_muxer_via_mss(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  ht_node n[3];
  ggn_host_settings st = ht_base_settings();
  st.no_noise_muxers = 1;
  ht_node_start(&n[0], &loop, &st, 7);  /* lists no muxer in Noise */
  ht_node_start(&n[1], &loop, NULL, 8); /* lists yamux */
  ht_node_start(&n[2], &loop, &st, 9);  /* lists no muxer */
  /* either side without the extension: multistream-select on the secured channel */
  ggn_conn *c = ht_connect_nodes(&loop, &n[0], &n[1]);
  assert_false(ggn_conn_muxer_via_noise(c));
  c = ht_connect_nodes(&loop, &n[1], &n[2]);
  assert_false(ggn_conn_muxer_via_noise(c));
  HT_RUN_UNTIL(&loop, n[1].idents == 2 && n[2].idents == 1 && n[0].idents == 1, 5000);
  assert_int_equal(n[1].idents, 2);
  /* and the connection works: streams echo */
  ht_run_echo(&loop, n[0].h, ggn_host_peer_id(n[1].h), 2, 300000);
  ht_run_echo(&loop, n[2].h, ggn_host_peer_id(n[1].h), 2, 300000);
  ht_close_nodes(&loop, n, 3);
}

/* ---- protocol negotiation
 * ----------------------------------------------------------------------------- */

typedef struct open_res {
  int done, err;
  ggn_stream *s;
} open_res;

static void open_cb(ggn_stream *s, int err, void *ud) {
  open_res *r = ud;
  r->done++;
  r->err = err;
  r->s = s;
}

typedef struct stream_watch {
  int opened, open_err, closed, err;
  size_t bytes;
} stream_watch;

static void watch_data(ggn_stream *s, const uint8_t *p, size_t n, void *ud) {
  ((stream_watch *)ud)->bytes += n;
}

static void watch_close(ggn_stream *s, int err, void *ud) {
  stream_watch *w = ud;
  w->closed++;
  w->err = err;
}

/* Opens with watching callbacks and writes a line at once (a request). */
static void watch_open(ggn_stream *s, int err, void *ud) {
  static const ggn_stream_callbacks wcb = {.on_data = watch_data, .on_close = watch_close};
  stream_watch *w = ud;
  w->opened++;
  w->open_err = err;
  if (!s) return;
  ggn_stream_set_callbacks(s, &wcb, w);
  assert_int_equal(ggn_stream_write(s, "hello\n", 6), 0);
}

static void test_unknown_protocol_na(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  ht_node n[2];
  ht_node_start(&n[0], &loop, NULL, 10);
  ht_node_start(&n[1], &loop, NULL, 11);
  ht_connect_nodes(&loop, &n[0], &n[1]);
  static const char *const nope[] = {"/nope/1.0.0", "/nope/2.0.0"};
  open_res r = {0};
  assert_int_equal(ggn_host_open_stream(n[0].h, ggn_host_peer_id(n[1].h), nope, 2, open_cb, &r),
                   GG_OK);
  HT_RUN_UNTIL(&loop, r.done, 5000);
  assert_int_equal(r.done, 1);
  assert_int_equal(r.err, GG_ENOPROTO);
  assert_null(r.s);
  /* A handler removed is refused the same way; the connection stays up for the rest. The
   * peer's identify still lists it, so the stream is proposed optimistically: handed over at
   * once, then ended with GG_ENOPROTO when the "na" arrives, before any data is delivered. */
  assert_int_equal(ggn_host_unhandle(n[1].h, ECHO_P), GG_OK);
  static const char *const echo[] = {ECHO_P};
  stream_watch w = {0};
  ggn_host_open_stream(n[0].h, ggn_host_peer_id(n[1].h), echo, 1, watch_open, &w);
  HT_RUN_UNTIL(&loop, w.closed, 5000);
  assert_int_equal(w.opened, 1);
  assert_int_equal(w.open_err, GG_OK);
  assert_int_equal(w.closed, 1);
  assert_int_equal(w.err, GG_ENOPROTO);
  assert_int_equal(w.bytes, 0);
  assert_int_equal(ggn_host_handle(n[1].h, ECHO_P, ht_echo_handler, &n[1]), GG_OK);
  ht_run_echo(&loop, n[0].h, ggn_host_peer_id(n[1].h), 1, 10);
  assert_int_equal(n[0].downs, 0);
  /* invalid names are refused at once */
  static const char *const bad[] = {"/with\nnewline"};
  assert_int_equal(ggn_host_open_stream(n[0].h, ggn_host_peer_id(n[1].h), bad, 1, open_cb, &r),
                   GG_EINVAL);
  ht_close_nodes(&loop, n, 2);
}

/* ---- stream reset, messages
 * ---------------------------------------------------------------------------- */

typedef struct msg_sink {
  int msgs, closed, close_err;
  size_t last_len;
} msg_sink;

static void ms_msg(ggn_stream *s, const uint8_t *m, size_t n, void *ud) {
  (void)s;
  (void)m;
  msg_sink *k = ud;
  k->msgs++;
  k->last_len = n;
}
static void ms_close(ggn_stream *s, int err, void *ud) {
  (void)s;
  msg_sink *k = ud;
  k->closed = 1;
  k->close_err = err;
}
static const ggn_stream_callbacks ms_cbs = {.on_msg = ms_msg, .on_close = ms_close};
static msg_sink server_sink;
static void msg_handler(ggn_stream *s, void *ud) {
  (void)ud;
  ggn_stream_set_callbacks(s, &ms_cbs, &server_sink);
  ggn_stream_read_msgs(s, 1000);
}

static void test_messages_and_reset(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  ht_node n[2];
  ht_node_start(&n[0], &loop, NULL, 12);
  ht_node_start(&n[1], &loop, NULL, 13);
  ggn_host_handle(n[1].h, "/test/msg/1.0.0", msg_handler, NULL);
  ht_connect_nodes(&loop, &n[0], &n[1]);
  static const char *const mp[] = {"/test/msg/1.0.0"};
  ht_log_reset();
  /* three messages, the last one over the server's 1000-byte cap: reset with a reason */
  memset(&server_sink, 0, sizeof(server_sink));
  open_res r = {0};
  ggn_host_open_stream(n[0].h, ggn_host_peer_id(n[1].h), mp, 1, open_cb, &r);
  HT_RUN_UNTIL(&loop, r.done, 5000);
  assert_int_equal(r.err, GG_OK);
  msg_sink client = {0};
  ggn_stream_set_callbacks(r.s, &ms_cbs, &client);
  static uint8_t big[2000];
  assert_int_equal(ggn_stream_write_msg(r.s, "hello", 5), 0);
  assert_int_equal(ggn_stream_write_msg(r.s, "", 0), 0);
  assert_int_equal(ggn_stream_write_msg(r.s, big, sizeof(big)), 0);
  HT_RUN_UNTIL(&loop, server_sink.closed && client.closed, 5000);
  assert_int_equal(server_sink.msgs, 2);
  assert_int_equal(server_sink.last_len, 0);
  assert_int_equal(server_sink.close_err, GG_ETOOBIG);
  assert_int_equal(client.close_err, GG_ERESET);
  assert_true(ht_log_has("over the size limit"));
  /* EOF inside a message: reset, GG_EPROTO */
  memset(&server_sink, 0, sizeof(server_sink));
  memset(&client, 0, sizeof(client));
  memset(&r, 0, sizeof(r));
  ggn_host_open_stream(n[0].h, ggn_host_peer_id(n[1].h), mp, 1, open_cb, &r);
  HT_RUN_UNTIL(&loop, r.done, 5000);
  ggn_stream_set_callbacks(r.s, &ms_cbs, &client);
  ggn_stream_write(r.s, "\x05hel", 4);
  ggn_stream_close_write(r.s);
  HT_RUN_UNTIL(&loop, server_sink.closed && client.closed, 5000);
  assert_int_equal(server_sink.close_err, GG_EPROTO);
  assert_true(ht_log_has("end of stream inside a message"));
  /* a reset by the opener reaches the handler as GG_ERESET, the opener sees GG_ECANCELED */
  memset(&server_sink, 0, sizeof(server_sink));
  memset(&client, 0, sizeof(client));
  memset(&r, 0, sizeof(r));
  ggn_host_open_stream(n[0].h, ggn_host_peer_id(n[1].h), mp, 1, open_cb, &r);
  HT_RUN_UNTIL(&loop, r.done, 5000);
  ggn_stream_set_callbacks(r.s, &ms_cbs, &client);
  ggn_stream_write_msg(r.s, "x", 1);
  HT_RUN_UNTIL(&loop, server_sink.msgs == 1, 5000);
  ggn_stream_reset(r.s);
  assert_int_equal(ggn_stream_write(r.s, "y", 1), GG_ECLOSED);
  HT_RUN_UNTIL(&loop, server_sink.closed && client.closed, 5000);
  assert_int_equal(client.close_err, GG_ECANCELED);
  assert_int_equal(server_sink.close_err, GG_ERESET);
  /* a message over our own cap is refused before anything is sent */
  memset(&r, 0, sizeof(r));
  ggn_host_open_stream(n[0].h, ggn_host_peer_id(n[1].h), mp, 1, open_cb, &r);
  HT_RUN_UNTIL(&loop, r.done, 5000);
  ggn_stream_set_callbacks(r.s, &ms_cbs, &client);
  ggn_stream_read_msgs(r.s, 10);
  assert_int_equal(ggn_stream_write_msg(r.s, big, 11), GG_ETOOBIG);
  assert_int_equal(n[0].downs + n[1].downs, 0); /* the connection survived all of it */
  ht_close_nodes(&loop, n, 2);
}

/* ---- raw sockets for misbehaving peers
 * --------------------------------------------------------------- */

static uint16_t node_port(const ht_node *n) {
  gg_maddr_dial d;
  assert_int_equal(gg_maddr_dial_info(&n->addr, &d), GG_OK);
  return d.port;
}

static int raw_connect(uv_loop_t *loop, uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int rv = connect(fd, (struct sockaddr *)&a, sizeof(a));
  assert_true(rv == 0 || errno == EINPROGRESS);
  ht_run_for(loop, 20); /* let the host accept */
  return fd;
}

static void raw_send(int fd, const void *p, size_t n) {
  assert_int_equal(send(fd, p, n, MSG_NOSIGNAL), (ssize_t)n);
}

/* 1 once the host closed its end (EOF or reset); drains what it sent. */
static int raw_closed(int fd) {
  char b[4096];
  for (;;) {
    ssize_t r = recv(fd, b, sizeof(b), 0);
    if (r == 0) return 1;
    if (r < 0) return errno != EAGAIN && errno != EWOULDBLOCK;
  }
}

static void ping_ok(uv_loop_t *loop, ht_node *a, ht_node *b) {
  ht_ping_res p = {0};
  assert_int_equal(ggn_host_ping(a->h, ggn_host_peer_id(b->h), ht_ping_cb, &p), GG_OK);
  HT_RUN_UNTIL(loop, p.done, 5000);
  assert_int_equal(p.err, GG_OK);
}

static void test_silent_peer_dropped(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  ht_node n[2];
  ggn_host_settings st = ht_base_settings();
  st.handshake_timeout = GG_MS(300);
  ht_node_start(&n[0], &loop, &st, 14);
  ht_node_start(&n[1], &loop, NULL, 15);
  ht_log_reset();
  gg_ts t0 = uv_hrtime();
  int fd = raw_connect(&loop, node_port(&n[0]));
  /* a peer that sends only part of the multistream header is no better */
  int fd2 = raw_connect(&loop, node_port(&n[0]));
  raw_send(fd2, "\x13/multi", 7);
  int c1 = 0, c2 = 0;
  gg_ts end = uv_hrtime() + GG_SEC(5);
  while (!(c1 && c2) && uv_hrtime() < end) {
    ht_run_once(&loop);
    if (!c1 && raw_closed(fd)) c1 = 1;
    if (!c2 && raw_closed(fd2)) c2 = 1;
  }
  assert_true(c1 && c2);
  gg_ts took = uv_hrtime() - t0;
  assert_true(took >= GG_MS(280));
  assert_true(took < GG_MS(2000));
  assert_true(ht_log_has("timed out during the handshake"));
  assert_int_equal(ggn_host_conn_count(n[0].h), 0);
  /* and the ht_node still takes real peers */
  ht_connect_nodes(&loop, &n[1], &n[0]);
  ping_ok(&loop, &n[1], &n[0]);
  close(fd);
  close(fd2);
  ht_close_nodes(&loop, n, 2);
}

/* Sends bad bytes on a raw connection while a real peer stays connected and served. */
static void bad_input_case(uv_loop_t *loop, ht_node *n, const void *bytes, size_t len,
                           int close_after, const char *expect_log) {
  ht_log_reset();
  int fd = raw_connect(loop, node_port(&n[0]));
  raw_send(fd, bytes, len);
  if (close_after) shutdown(fd, SHUT_WR);
  int closed = 0;
  gg_ts end = uv_hrtime() + GG_SEC(5);
  while (!closed && uv_hrtime() < end) {
    ht_run_once(loop);
    closed = raw_closed(fd);
  }
  assert_true(closed);
  HT_RUN_UNTIL(loop, ht_log_has(expect_log), 2000);
  if (!ht_log_has(expect_log)) fprintf(stderr, "log was:\n%s", ht_logbuf);
  assert_true(ht_log_has(expect_log));
  close(fd);
  ping_ok(loop, &n[1], &n[0]); /* the other connection is still served */
  assert_int_equal(n[0].downs, 0);
}

static void test_bad_input_closes_only_that_connection(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  ht_node n[2];
  ht_node_start(&n[0], &loop, NULL, 16);
  ht_node_start(&n[1], &loop, NULL, 17);
  ht_connect_nodes(&loop, &n[1], &n[0]);
  /* garbage: an HTTP request instead of multistream-select */
  /* ('G' reads as a 71-byte length: send more than that) */
  const char http[] = "GET / HTTP/1.1\r\nHost: example.org\r\nUser-Agent: curl/7.88.1\r\n"
                      "Accept: */*\r\nConnection: close\r\n\r\n";
  bad_input_case(&loop, n, http, sizeof(http) - 1, 0,
                 "peer violated the protocol during security negotiation");
  /* oversized: a multistream message announcing 5000 bytes */
  const uint8_t big[] = {0x88, 0x27, '/', 'x', 'x', 'x'};
  bad_input_case(&loop, n, big, sizeof(big), 0, "over the size limit during security negotiation");
  /* truncated: a valid header and /noise, then half a Noise message and EOF */
  const uint8_t trunc[] = "\x13/multistream/1.0.0\n\x07/noise\n\x00\x20\x01\x02\x03";
  bad_input_case(&loop, n, trunc, sizeof(trunc) - 1, 1,
                 "peer closed the connection during the handshake (truncated)");
  /* garbage inside Noise: a well-framed message 1 followed by a bogus message 3 */
  uint8_t noise_bad[22 + 2 + 32 + 2 + 64];
  memcpy(noise_bad, "\x13/multistream/1.0.0\n\x07/noise\n", 28);
  size_t off = 28;
  noise_bad[off++] = 0;
  noise_bad[off++] = 32;
  for (int i = 0; i < 32; i++) noise_bad[off++] = (uint8_t)(9 * i + 1);
  int fd = raw_connect(&loop, node_port(&n[0]));
  raw_send(fd, noise_bad, off);
  ht_run_for(&loop, 50);
  uint8_t m3[2 + 64];
  m3[0] = 0;
  m3[1] = 64;
  memset(m3 + 2, 0xab, 64);
  raw_send(fd, m3, sizeof(m3));
  HT_RUN_UNTIL(&loop, raw_closed(fd), 3000);
  HT_RUN_UNTIL(&loop, ht_log_has("during noise handshake"), 2000);
  assert_true(ht_log_has("message authentication failed during noise handshake"));
  close(fd);
  ping_ok(&loop, &n[1], &n[0]);
  ht_close_nodes(&loop, n, 2);
}

/* Garbage after the upgrade: encrypted bytes that are not Yamux frames. */
static void test_yamux_garbage(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  ht_node n[3];
  ht_node_start(&n[0], &loop, NULL, 18);
  ht_node_start(&n[1], &loop, NULL, 19);
  ht_node_start(&n[2], &loop, NULL, 20);
  ggn_conn *bad = ht_connect_nodes(&loop, &n[1], &n[0]);
  ht_connect_nodes(&loop, &n[2], &n[0]);
  HT_RUN_UNTIL(&loop, n[0].idents == 2, 5000);
  ht_log_reset();
  /* a frame with version 7: ht_node 0 must answer with GoAway and close only this connection */
  const uint8_t frame[12] = {7, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0};
  assert_true(ggn_conn_send_secure(bad, frame, sizeof(frame)) >= 0);
  HT_RUN_UNTIL(&loop, n[0].downs == 1 && n[1].downs == 1, 5000);
  assert_int_equal(n[0].downs, 1);
  assert_int_equal(n[0].last_down_err, GG_EPROTO);
  assert_true(ht_log_has("peer violated the protocol during yamux"));
  ping_ok(&loop, &n[2], &n[0]);
  /* data beyond the window on a stream: flow-control violation */
  bad = ht_connect_nodes(&loop, &n[1], &n[0]);
  HT_RUN_UNTIL(&loop, n[0].idents == 3, 5000);
  ht_log_reset();
  static uint8_t flood[12 + 65536];
  memset(flood, 0, sizeof(flood));
  flood[1] = 0;    /* DATA */
  flood[3] = 1;    /* SYN */
  flood[7] = 101;  /* stream 101 */
  flood[8] = 0x00; /* length 0x00100000 = 1 MiB announced, more than 256 KiB */
  flood[9] = 0x10;
  for (int i = 0; i < 5; i++)
    ggn_conn_send_secure(bad, flood, i == 0 ? sizeof(flood) : sizeof(flood) - 12);
  HT_RUN_UNTIL(&loop, n[0].downs == 2, 5000);
  assert_int_equal(n[0].downs, 2);
  assert_int_equal(n[0].last_down_err, GG_EFLOWCTL);
  ping_ok(&loop, &n[2], &n[0]);
  ht_close_nodes(&loop, n, 3);
}

/* ---- connection manager
 * ------------------------------------------------------------------------------ */

static void test_limits_and_trimming(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  ht_node n[8];
  ggn_host_settings st = ht_base_settings();
  st.conn_high_water = 4;
  st.conn_low_water = 2;
  st.max_conns = 6;
  st.trim_grace = 1; /* 1 ns: no grace */
  ht_node_start(&n[0], &loop, &st, 21);
  for (int i = 1; i < 8; i++) ht_node_start(&n[i], &loop, NULL, 21 + (uint64_t)i);
  /* ht_node 1 keeps an application stream open: trimming prefers the idle connections */
  ht_connect_nodes(&loop, &n[1], &n[0]);
  static const char *const echo[] = {ECHO_P};
  open_res r = {0};
  ggn_host_open_stream(n[1].h, ggn_host_peer_id(n[0].h), echo, 1, open_cb, &r);
  HT_RUN_UNTIL(&loop, r.done, 5000);
  assert_int_equal(r.err, GG_OK);
  for (int i = 2; i <= 4; i++) ht_connect_nodes(&loop, &n[i], &n[0]);
  HT_RUN_UNTIL(&loop, ggn_host_conn_count_open(n[0].h) == 4, 2000);
  assert_int_equal(ggn_host_conn_count_open(n[0].h), 4);
  /* the fifth goes above the high-water mark: trimmed down to 2, ht_node 1's kept */
  ht_connect_nodes(&loop, &n[5], &n[0]);
  HT_RUN_UNTIL(&loop, ggn_host_conn_count(n[0].h) == 2, 3000);
  assert_int_equal(ggn_host_conn_count_open(n[0].h), 2);
  assert_non_null(ggn_host_conn_to(n[0].h, ggn_host_peer_id(n[1].h)));
  assert_true(ht_log_has("trimming"));
  /* the hard cap: with 6 connections in any state the next inbound one is refused */
  ggn_conn_protect(ggn_host_conn_to(n[0].h, ggn_host_peer_id(n[5].h)), 1);
  int fds[4];
  for (int i = 0; i < 4; i++) fds[i] = raw_connect(&loop, node_port(&n[0]));
  assert_int_equal(ggn_host_conn_count(n[0].h), 6);
  ht_log_reset();
  int fd = raw_connect(&loop, node_port(&n[0]));
  HT_RUN_UNTIL(&loop, raw_closed(fd), 2000);
  assert_true(ht_log_has("max_conns"));
  for (int i = 0; i < 4; i++) close(fds[i]);
  close(fd);
  ggn_stream_reset(r.s);
  ht_close_nodes(&loop, n, 8);
}

/* A dial at max_conns closes the oldest idle unprotected connection instead of failing; with
 * every connection protected (or busy) it fails with GG_ELIMIT. */
static void test_dial_makes_room(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  ht_node n[6];
  ggn_host_settings st = ht_base_settings();
  st.max_conns = 3;
  st.conn_high_water = 3;
  st.conn_low_water = 2;
  st.trim_grace = 1; /* 1 ns: no grace */
  ht_node_start(&n[0], &loop, &st, 41);
  for (int i = 1; i < 6; i++) ht_node_start(&n[i], &loop, NULL, 41 + (uint64_t)i);
  for (int i = 1; i <= 3; i++) ht_connect_nodes(&loop, &n[0], &n[i]);
  assert_int_equal(ggn_host_conn_count(n[0].h), 3);
  ggn_host_closes cl0;
  ggn_host_get_closes(n[0].h, &cl0);
  /* the fourth dial goes through; the oldest (to node 1) made room */
  ht_connect_nodes(&loop, &n[0], &n[4]);
  HT_RUN_UNTIL(&loop, ggn_host_conn_count(n[0].h) == 3, 3000);
  assert_int_equal(ggn_host_conn_count(n[0].h), 3);
  assert_null(ggn_host_conn_to(n[0].h, ggn_host_peer_id(n[1].h)));
  assert_non_null(ggn_host_conn_to(n[0].h, ggn_host_peer_id(n[4].h)));
  ggn_host_closes cl;
  ggn_host_get_closes(n[0].h, &cl);
  assert_int_equal(cl.trimmed, cl0.trimmed + 1);
  assert_int_equal(cl.local, cl0.local);
  /* all protected: the next dial fails */
  for (int i = 2; i <= 4; i++)
    ggn_conn_protect(ggn_host_conn_to(n[0].h, ggn_host_peer_id(n[i].h)), 1);
  gg_maddr ma;
  ht_addr_with_peer(&n[5], &ma);
  ht_dial_res r = {0};
  assert_int_equal(ggn_host_dial(n[0].h, &ma, ht_dial_cb, &r), GG_OK);
  HT_RUN_UNTIL(&loop, r.done, 5000);
  assert_int_equal(r.err, GG_ELIMIT);
  assert_int_equal(ggn_host_conn_count(n[0].h), 3);
  ht_close_nodes(&loop, n, 6);
}

static void test_pending_handshake_limit(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  ht_node n[2];
  ggn_host_settings st = ht_base_settings();
  st.max_pending_handshakes = 3;
  ht_node_start(&n[0], &loop, &st, 31);
  ht_node_start(&n[1], &loop, NULL, 32);
  int fds[3];
  for (int i = 0; i < 3; i++) fds[i] = raw_connect(&loop, node_port(&n[0]));
  ht_log_reset();
  int fd = raw_connect(&loop, node_port(&n[0]));
  HT_RUN_UNTIL(&loop, raw_closed(fd), 2000);
  assert_true(ht_log_has("too many pending handshakes"));
  for (int i = 0; i < 3; i++) assert_false(raw_closed(fds[i]));
  close(fd);
  /* once they are gone, real peers get in again */
  for (int i = 0; i < 3; i++) close(fds[i]);
  HT_RUN_UNTIL(&loop, ggn_host_conn_count(n[0].h) == 0, 2000);
  ht_connect_nodes(&loop, &n[1], &n[0]);
  ht_close_nodes(&loop, n, 2);
}

static void test_stream_limit(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  ht_node n[2];
  ggn_host_settings st = ht_base_settings(), st0 = ht_base_settings();
  st.max_streams_per_conn = 2;
  /* eager selection: the remote's refusal (an RST for the SYN) fails the open itself */
  st0.eager_select = 1;
  ht_node_start(&n[0], &loop, &st0, 33);
  ht_node_start(&n[1], &loop, &st, 34);
  ht_connect_nodes(&loop, &n[0], &n[1]);
  HT_RUN_UNTIL(&loop, n[0].idents && n[1].idents, 5000);
  ht_run_for(&loop, 50); /* identify streams finish */
  static const char *const echo[] = {ECHO_P};
  open_res r[3] = {{0}};
  for (int i = 0; i < 3; i++)
    ggn_host_open_stream(n[0].h, ggn_host_peer_id(n[1].h), echo, 1, open_cb, &r[i]);
  HT_RUN_UNTIL(&loop, r[0].done && r[1].done && r[2].done, 5000);
  assert_int_equal(r[0].err, GG_OK);
  assert_int_equal(r[1].err, GG_OK);
  assert_int_equal(r[2].err, GG_ERESET); /* refused by the remote's limit */
  ggn_stream_reset(r[0].s);
  ggn_stream_reset(r[1].s);
  ht_close_nodes(&loop, n, 2);
}

/* Optimistic selection: a protocol the peer announced is handed over before the remote has
 * even seen the stream (its first bytes travel with the proposal); eager selection waits
 * for the answer, which the remote sends after its handler took the stream. */
typedef struct opt_res {
  ht_node *remote;
  int done, err, remote_streams_at_open;
  ggn_stream *s;
} opt_res;

static void opt_open_cb(ggn_stream *s, int err, void *ud) {
  opt_res *r = ud;
  r->done++;
  r->err = err;
  r->s = s;
  r->remote_streams_at_open = r->remote->echo_streams;
}

static void test_optimistic_select(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  ht_node n[6];
  ggn_host_settings eager = ht_base_settings();
  eager.eager_select = 1;
  ht_node_start(&n[0], &loop, NULL, 61);
  ht_node_start(&n[1], &loop, NULL, 62);
  ht_node_start(&n[2], &loop, &eager, 63);
  ht_connect_nodes(&loop, &n[0], &n[1]);
  ht_connect_nodes(&loop, &n[2], &n[1]);
  HT_RUN_UNTIL(&loop, n[0].idents && n[2].idents, 5000);
  assert_true(ggn_host_peer_supports(n[0].h, ggn_host_peer_id(n[1].h), ECHO_P));
  static const char *const echo[] = {"/test/other/1.0.0", ECHO_P};
  opt_res lazy = {.remote = &n[1]}, full = {.remote = &n[1]};
  assert_int_equal(
      ggn_host_open_stream(n[0].h, ggn_host_peer_id(n[1].h), echo, 2, opt_open_cb, &lazy), GG_OK);
  assert_int_equal(lazy.done, 0); /* never from inside the call */
  HT_RUN_UNTIL(&loop, lazy.done, 5000);
  assert_int_equal(lazy.err, GG_OK);
  assert_int_equal(lazy.remote_streams_at_open, 0);
  assert_string_equal(ggn_stream_protocol(lazy.s), ECHO_P); /* the one the peer announced */
  ggn_stream_reset(lazy.s);
  HT_RUN_UNTIL(&loop, n[1].echo_streams == 1, 5000);
  ggn_host_open_stream(n[2].h, ggn_host_peer_id(n[1].h), echo, 2, opt_open_cb, &full);
  HT_RUN_UNTIL(&loop, full.done, 5000);
  assert_int_equal(full.err, GG_OK);
  assert_int_equal(full.remote_streams_at_open, 2);
  assert_string_equal(ggn_stream_protocol(full.s), ECHO_P);
  ggn_stream_reset(full.s);
  /* GGN_OPEN_OPTIMISTIC: to a peer not identified yet (no connection at all), the stream is
   * handed over before the remote has seen it; to one that does not serve the protocol, the
   * refusal ends the stream with GG_ENOPROTO */
  ht_node *m = &n[3], *m2 = &n[5];
  ht_node_start(&m[0], &loop, NULL, 64);
  ht_node_start(&m[1], &loop, NULL, 65);
  ggn_host_add_addr(m[0].h, ggn_host_peer_id(m[1].h), &m[1].addr);
  opt_res fresh = {.remote = &m[1]};
  static const char *const echo1[] = {ECHO_P};
  assert_int_equal(ggn_host_open_stream_ex(m[0].h, ggn_host_peer_id(m[1].h), echo1, 1,
                                           GGN_OPEN_OPTIMISTIC, opt_open_cb, &fresh),
                   GG_OK);
  HT_RUN_UNTIL(&loop, fresh.done, 5000);
  assert_int_equal(fresh.err, GG_OK);
  assert_int_equal(fresh.remote_streams_at_open, 0);
  assert_int_equal(ggn_host_peer_protocols(m[0].h, ggn_host_peer_id(m[1].h), NULL, 0), 0);
  ggn_stream_reset(fresh.s);
  assert_int_equal(ggn_host_unhandle(m[1].h, ECHO_P), GG_OK);
  ht_node_start(m2, &loop, NULL, 66);
  ggn_host_add_addr(m2->h, ggn_host_peer_id(m[1].h), &m[1].addr);
  stream_watch w = {0};
  assert_int_equal(ggn_host_open_stream_ex(m2->h, ggn_host_peer_id(m[1].h), echo1, 1,
                                           GGN_OPEN_OPTIMISTIC, watch_open, &w),
                   GG_OK);
  HT_RUN_UNTIL(&loop, w.closed, 5000);
  assert_int_equal(w.open_err, GG_OK);
  assert_int_equal(w.err, GG_ENOPROTO);
  assert_int_equal(w.bytes, 0);
  /* data flows both ways on optimistic streams */
  ht_run_echo(&loop, n[0].h, ggn_host_peer_id(n[1].h), 4, 100000);
  assert_int_equal(n[0].downs + n[1].downs + n[2].downs, 0);
  ht_close_nodes(&loop, n, 6);
}

/* ---- dialing
 * -------------------------------------------------------------------------------------------- */

static void test_dial_timeout_and_errors(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  ht_node n[1];
  ggn_host_settings st = ht_base_settings();
  st.dial_timeout = GG_MS(300);
  ht_node_start(&n[0], &loop, &st, 35);
  /* a socket that accepts TCP (the kernel's backlog) but never speaks */
  int lfd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
  assert_int_equal(listen(lfd, 8), 0);
  socklen_t al = sizeof(a);
  getsockname(lfd, (struct sockaddr *)&a, &al);
  char text[64];
  snprintf(text, sizeof(text), "/ip4/127.0.0.1/tcp/%d", ntohs(a.sin_port));
  gg_maddr ma;
  assert_int_equal(gg_maddr_parse(&ma, text, strlen(text)), GG_OK);
  ht_dial_res r = {0};
  gg_ts t0 = uv_hrtime();
  assert_int_equal(ggn_host_dial(n[0].h, &ma, ht_dial_cb, &r), GG_OK);
  assert_int_equal(r.done, 0); /* never from inside the call */
  HT_RUN_UNTIL(&loop, r.done, 3000);
  assert_int_equal(r.err, GG_ETIMEDOUT);
  assert_true(uv_hrtime() - t0 >= GG_MS(290));
  close(lfd);
  /* refused: nobody listens there now */
  memset(&r, 0, sizeof(r));
  ggn_host_dial(n[0].h, &ma, ht_dial_cb, &r);
  HT_RUN_UNTIL(&loop, r.done, 3000);
  assert_int_equal(r.err, GG_EUNREACHABLE);
  /* a peer with no known address */
  gg_peerid stranger;
  gg_keypair kp;
  gg_keypair_generate(&kp, gg_rand_system());
  gg_peerid_from_ed25519(&stranger, kp.pub);
  memset(&r, 0, sizeof(r));
  assert_int_equal(ggn_host_connect(n[0].h, &stranger, ht_dial_cb, &r), GG_OK);
  HT_RUN_UNTIL(&loop, r.done, 3000);
  assert_int_equal(r.err, GG_EUNREACHABLE);
  /* not a TCP address; ourselves */
  gg_maddr udp;
  gg_maddr_parse(&udp, "/ip4/127.0.0.1/udp/1", 20);
  assert_int_equal(ggn_host_dial(n[0].h, &udp, ht_dial_cb, &r), GG_EUNSUPPORTED);
  assert_int_equal(ggn_host_connect(n[0].h, ggn_host_peer_id(n[0].h), ht_dial_cb, &r), GG_EINVAL);
  /* a dial still pending when the host closes is canceled */
  int lfd2 = socket(AF_INET, SOCK_STREAM, 0);
  a.sin_port = 0;
  bind(lfd2, (struct sockaddr *)&a, sizeof(a));
  listen(lfd2, 8);
  al = sizeof(a);
  getsockname(lfd2, (struct sockaddr *)&a, &al);
  snprintf(text, sizeof(text), "/ip4/127.0.0.1/tcp/%d", ntohs(a.sin_port));
  gg_maddr_parse(&ma, text, strlen(text));
  memset(&r, 0, sizeof(r));
  ggn_host_dial(n[0].h, &ma, ht_dial_cb, &r);
  ht_run_for(&loop, 20);
  ht_close_nodes(&loop, n, 1);
  assert_int_equal(r.done, 1);
  assert_int_equal(r.err, GG_ECANCELED);
  close(lfd2);
}

static void test_dial_wrong_peer(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  ht_node n[3];
  ht_node_start(&n[0], &loop, NULL, 36);
  ht_node_start(&n[1], &loop, NULL, 37);
  ht_node_start(&n[2], &loop, NULL, 38);
  /* ht_node 1's address with ht_node 2's peer id: Noise proves it is someone else */
  gg_maddr ma = n[1].addr;
  gg_maddr_push_peer(&ma, ggn_host_peer_id(n[2].h));
  ht_dial_res r = {0};
  ggn_host_dial(n[0].h, &ma, ht_dial_cb, &r);
  HT_RUN_UNTIL(&loop, r.done, 3000);
  assert_int_equal(r.err, GG_EPEERID);
  ht_close_nodes(&loop, n, 3);
}

/* ---- latency injection
 * ------------------------------------------------------------------------------------ */

static void test_latency_injection(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  ht_node n[2];
  ggn_host_settings st = ht_base_settings();
  st.latency.delay_ns = GG_MS(40);
  ht_node_start(&n[0], &loop, &st, 39);
  ht_node_start(&n[1], &loop, &st, 40);
  gg_ts t0 = uv_hrtime();
  ht_connect_nodes(&loop, &n[0], &n[1]);
  /* connect (one delay) + one round trip for mss and Noise messages 1-2 at least */
  assert_true(uv_hrtime() - t0 >= GG_MS(40) + GG_MS(80));
  for (int i = 0; i < 3; i++) {
    ht_ping_res p = {0};
    ggn_host_ping(n[0].h, ggn_host_peer_id(n[1].h), ht_ping_cb, &p);
    HT_RUN_UNTIL(&loop, p.done, 5000);
    assert_int_equal(p.err, GG_OK);
    /* 40 ms each way */
    assert_true(p.rtt >= GG_MS(80));
    assert_true(p.rtt < GG_MS(80) + GG_MS(80));
  }
  ht_close_nodes(&loop, n, 2);
}

static void test_drop_fraction(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  gg_rand_seeded rs;
  gg_rand_seeded_init(&rs, 99);
  ht_node n[11];
  ggn_host_settings st = ht_base_settings();
  st.latency.drop_dial = 0.5;
  st.dial_timeout = GG_MS(400);
  st.rand = &rs.r;
  ht_node_start(&n[0], &loop, &st, 41);
  for (int i = 1; i <= 10; i++) ht_node_start(&n[i], &loop, NULL, 41 + (uint64_t)i);
  ht_dial_res r[10] = {{0}};
  for (int i = 0; i < 10; i++) {
    gg_maddr ma;
    ht_addr_with_peer(&n[i + 1], &ma);
    ggn_host_dial(n[0].h, &ma, ht_dial_cb, &r[i]);
  }
  int done = 0;
  gg_ts end = uv_hrtime() + GG_SEC(5);
  while (done < 10 && uv_hrtime() < end) {
    ht_run_once(&loop);
    done = 0;
    for (int i = 0; i < 10; i++) done += r[i].done;
  }
  int ok = 0, lost = 0;
  for (int i = 0; i < 10; i++) {
    assert_int_equal(r[i].done, 1);
    if (r[i].err == GG_OK)
      ok++;
    else if (r[i].err == GG_ETIMEDOUT)
      lost++;
  }
  assert_int_equal(ok + lost, 10);
  assert_true(ok >= 1 && lost >= 1);
  ht_close_nodes(&loop, n, 11);
}

/* ---- allocation failures ----------------------------------------------------------------------------- */

/* Host B allocates through a failing allocator that gives out k allocations, for every k up
 * to what a whole connect + identify + ping + echo + close needs: each run must end cleanly,
 * without a crash, with every allocation freed and every handle closed. */
static void test_allocation_failures(void **state) {
  (void)state;
  long total = -1;
  for (long k = 0;; k++) {
    gg_failmem fm;
    gg_failmem_init(&fm, total < 0 ? -1 : k);
    uv_loop_t loop;
    uv_loop_init(&loop);
    ht_node a;
    ggn_host_settings sta = ht_base_settings();
    sta.dial_timeout = GG_MS(500); /* a peer that lost its state answers nothing */
    ht_node_start(&a, &loop, &sta, 60);
    ht_node b = {0};
    gg_keypair_from_seed(&b.kp, (const uint8_t[32]){61});
    ggn_host_settings st = ht_base_settings();
    ggn_log quiet;
    ggn_log_init(&quiet, GGN_LOG_OFF, NULL);
    st.log = &quiet;
    st.identity = &b.kp;
    st.mem = &fm.mem;
    int ok = ggn_host_new(&b.h, &loop, &st, NULL, &b) == GG_OK;
    gg_maddr la;
    gg_maddr_parse(&la, "/ip4/127.0.0.1/tcp/0", 20);
    if (ok && ggn_host_listen(b.h, &la) == GG_OK &&
        ggn_host_listen_addrs(b.h, &b.addr, 1) == 1 &&
        ggn_host_handle(b.h, ECHO_P, ht_echo_handler, NULL) == GG_OK) {
      gg_maddr ma;
      ht_addr_with_peer(&b, &ma);
      ht_dial_res r = {0};
      ggn_host_dial(a.h, &ma, ht_dial_cb, &r);
      HT_RUN_UNTIL(&loop, r.done, 3000);
      if (r.done != 1) fprintf(stderr, "k=%ld: dial never answered\n", k);
      assert_int_equal(r.done, 1);
      if (r.err == GG_OK) {
        HT_RUN_UNTIL(&loop, a.idents == 1 || !ggn_host_conn_count(a.h), 2000);
        ht_ping_res p = {0};
        ggn_host_ping(a.h, ggn_host_peer_id(b.h), ht_ping_cb, &p);
        HT_RUN_UNTIL(&loop, p.done, 3000);
        assert_int_equal(p.done, 1);
        static const char *const echo[] = {ECHO_P};
        ht_echo_client ec = {.total = 100000, .seed = 1};
        ggn_host_open_stream(a.h, ggn_host_peer_id(b.h), echo, 1, ht_ec_opened, &ec);
        HT_RUN_UNTIL(&loop, ec.closed || (ec.opened && ec.open_err), 3000);
        assert_true(ec.closed || ec.opened);
      }
    } else if (!ok) {
      b.h = NULL;
    }
    ht_node ns[2] = {a, b};
    ht_close_nodes(&loop, ns, b.h ? 2 : 1);
    assert_int_equal(fm.live, 0);
    if (total < 0) {
      total = fm.nallocs; /* the first run, without failures, counts them */
      k = -1;
      continue;
    }
    if (k > total + 5) break;
  }
  assert_true(total > 20);
  fprintf(stderr, "allocation failures: %ld allocation points exercised\n", total);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN); /* as every libuv program must: a peer may close mid-write */
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_connect_identify_ping),
      cmocka_unit_test(test_observers),
      cmocka_unit_test(test_echo_streams),
      cmocka_unit_test(test_echo_50x1MiB),
      cmocka_unit_test(test_muxer_via_mss),
      cmocka_unit_test(test_unknown_protocol_na),
      cmocka_unit_test(test_messages_and_reset),
      cmocka_unit_test(test_silent_peer_dropped),
      cmocka_unit_test(test_bad_input_closes_only_that_connection),
      cmocka_unit_test(test_yamux_garbage),
      cmocka_unit_test(test_limits_and_trimming),
      cmocka_unit_test(test_dial_makes_room),
      cmocka_unit_test(test_pending_handshake_limit),
      cmocka_unit_test(test_stream_limit),
      cmocka_unit_test(test_optimistic_select),
      cmocka_unit_test(test_dial_timeout_and_errors),
      cmocka_unit_test(test_dial_wrong_peer),
      cmocka_unit_test(test_latency_injection),
      cmocka_unit_test(test_drop_fraction),
      cmocka_unit_test(test_allocation_failures),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
