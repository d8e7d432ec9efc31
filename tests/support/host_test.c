/*
 * Helpers for tests that run hosts (tests/support/host_test.h).
 */
#include "host_test.h"

#include <stdio.h>
#include <string.h>

#include "ggen/err.h"

/* ---- captured log ------------------------------------------------------------------------- */

char ht_logbuf[1 << 16];
size_t ht_loglen;

void ht_log_sink(void *ud, int level, const char *name, const char *msg) {
  (void)ud;
  int n = snprintf(ht_logbuf + ht_loglen, sizeof(ht_logbuf) - ht_loglen, "[%s] %s: %s\n", name,
                   ggn_log_level_name(level), msg);
  if (n > 0 && ht_loglen + (size_t)n < sizeof(ht_logbuf)) ht_loglen += (size_t)n;
  if (getenv("GGEN_TEST_LOG")) fprintf(stderr, "[%s] %s: %s\n", name, ggn_log_level_name(level), msg);
}

void ht_log_reset(void) {
  ht_loglen = 0;
  ht_logbuf[0] = 0;
}

int ht_log_has(const char *s) { return strstr(ht_logbuf, s) != NULL; }

/* ---- nodes -------------------------------------------------------------------------------------- */


static void ht_on_up(ggn_host *h, ggn_conn *c, void *ud) {
  (void)h;
  ht_node *n = ud;
  n->ups++;
  n->last_up = c;
}
static void ht_on_down(ggn_host *h, ggn_conn *c, int err, void *ud) {
  (void)h;
  (void)c;
  ht_node *n = ud;
  n->downs++;
  n->last_down_err = err;
}
static void ht_on_ident(ggn_host *h, ggn_conn *c, const ggp_identify_msg *m, void *ud) {
  (void)h;
  (void)c;
  (void)m;
  ((ht_node *)ud)->idents++;
}
static const ggn_host_callbacks ht_node_cbs = {ht_on_up, ht_on_down, ht_on_ident};

/* echo protocol: writes back what it reads, pausing its input while its output is queued */
static void ht_echo_data(ggn_stream *s, const uint8_t *p, size_t n, void *ud) {
  (void)ud;
  int rv = ggn_stream_write(s, p, n);
  if (rv == 1) ggn_stream_pause(s, 1);
  else if (rv < 0) ggn_stream_reset(s);
}
static void ht_echo_writable(ggn_stream *s, void *ud) {
  (void)ud;
  ggn_stream_pause(s, 0);
}
static void ht_echo_eof(ggn_stream *s, void *ud) {
  (void)ud;
  ggn_stream_close_write(s);
}
static const ggn_stream_callbacks ht_echo_cbs = {
    .on_data = ht_echo_data, .on_writable = ht_echo_writable, .on_eof = ht_echo_eof};
void ht_echo_handler(ggn_stream *s, void *ud) {
  if (ud) ((ht_node *)ud)->echo_streams++;
  ggn_stream_set_callbacks(s, &ht_echo_cbs, NULL);
}

ggn_host_settings ht_base_settings(void) {
  static ggn_log lg;
  ggn_log_init(&lg, GGN_LOG_DEBUG, "");
  lg.sink = ht_log_sink;
  ggn_host_settings st = {0};
  st.log = &lg;
  return st;
}

void ht_node_start(ht_node *n, uv_loop_t *loop, const ggn_host_settings *st_in, uint64_t seed) {
  memset(n, 0, sizeof(*n));
  uint8_t s[32] = {0};
  memcpy(s, &seed, sizeof(seed));
  s[31] = 0x5a;
  gg_keypair_from_seed(&n->kp, s);
  ggn_host_settings st = st_in ? *st_in : ht_base_settings();
  st.identity = &n->kp;
  assert_int_equal(ggn_host_new(&n->h, loop, &st, &ht_node_cbs, n), GG_OK);
  gg_maddr la;
  assert_int_equal(gg_maddr_parse(&la, "/ip4/127.0.0.1/tcp/0", 20), GG_OK);
  assert_int_equal(ggn_host_listen(n->h, &la), GG_OK);
  assert_int_equal(ggn_host_listen_addrs(n->h, &n->addr, 1), 1);
  assert_int_equal(ggn_host_handle(n->h, ECHO_P, ht_echo_handler, n), GG_OK);
}

void ht_node_closed(void *ud) { ((ht_node *)ud)->closed = 1; }

static void ht_wake_cb(uv_timer_t *t) { (void)t; }

void ht_run_once(uv_loop_t *loop) {
  uv_timer_t wake;
  uv_timer_init(loop, &wake);
  uv_timer_start(&wake, ht_wake_cb, 10, 0);
  uv_run(loop, UV_RUN_ONCE);
  uv_close((uv_handle_t *)&wake, NULL);
  uv_run(loop, UV_RUN_NOWAIT);
}


void ht_run_for(uv_loop_t *loop, uint64_t ms) {
  gg_ts end = uv_hrtime() + GG_MS(ms);
  while (uv_hrtime() < end) ht_run_once(loop);
}

void ht_close_nodes(uv_loop_t *loop, ht_node *ns, int n) {
  for (int i = 0; i < n; i++)
    if (ns[i].h) ggn_host_close(ns[i].h, ht_node_closed, &ns[i]);
  uv_run(loop, UV_RUN_DEFAULT);
  for (int i = 0; i < n; i++)
    if (ns[i].h) assert_true(ns[i].closed);
  assert_int_equal(uv_loop_close(loop), 0);
}

/* dial b from a with /p2p/<b> */

void ht_dial_cb(ggn_host *h, ggn_conn *c, int err, void *ud) {
  (void)h;
  ht_dial_res *r = ud;
  r->done++;
  r->err = err;
  r->c = c;
}

void ht_addr_with_peer(const ht_node *n, gg_maddr *out) {
  *out = n->addr;
  assert_int_equal(gg_maddr_push_peer(out, ggn_host_peer_id(n->h)), GG_OK);
}

ggn_conn *ht_connect_nodes(uv_loop_t *loop, ht_node *a, ht_node *b) {
  gg_maddr ma;
  ht_addr_with_peer(b, &ma);
  ht_dial_res r = {0};
  assert_int_equal(ggn_host_dial(a->h, &ma, ht_dial_cb, &r), GG_OK);
  HT_RUN_UNTIL(loop, r.done, 5000);
  assert_int_equal(r.done, 1);
  assert_int_equal(r.err, GG_OK);
  return r.c;
}

/* ---- connect, identify, ping ------------------------------------------------------------------ */


void ht_ping_cb(ggn_host *h, const gg_peerid *peer, int err, gg_ts rtt, void *ud) {
  (void)h;
  (void)peer;
  ht_ping_res *r = ud;
  r->done++;
  r->err = err;
  r->rtt = rtt;
}

/* ---- echo streams ------------------------------------------------------------------------------------ */


static uint8_t ht_pattern(uint32_t seed, size_t i) { return (uint8_t)((i * 131u + seed * 7u) >> 3); }

static void ht_ec_pump(ht_echo_client *e) {
  uint8_t buf[16384];
  while (e->sent < e->total) {
    size_t n = e->total - e->sent < sizeof(buf) ? e->total - e->sent : sizeof(buf);
    for (size_t i = 0; i < n; i++) buf[i] = ht_pattern(e->seed, e->sent + i);
    int rv = ggn_stream_write(e->s, buf, n);
    assert_true(rv >= 0);
    e->sent += n;
    if (rv == 1) return; /* wait for on_writable */
  }
  ggn_stream_close_write(e->s);
}
static void ht_ec_data(ggn_stream *s, const uint8_t *p, size_t n, void *ud) {
  (void)s;
  ht_echo_client *e = ud;
  for (size_t i = 0; i < n; i++)
    if (p[i] != ht_pattern(e->seed, e->recvd + i)) e->mismatch = 1;
  e->recvd += n;
}
static void ht_ec_writable(ggn_stream *s, void *ud) {
  (void)s;
  ht_ec_pump(ud);
}
static void ht_ec_eof(ggn_stream *s, void *ud) {
  (void)s;
  ((ht_echo_client *)ud)->eof = 1;
}
static void ht_ec_close(ggn_stream *s, int err, void *ud) {
  (void)s;
  ht_echo_client *e = ud;
  e->closed = 1;
  e->close_err = err;
}
static const ggn_stream_callbacks ht_ec_cbs = {
    .on_data = ht_ec_data, .on_writable = ht_ec_writable, .on_eof = ht_ec_eof, .on_close = ht_ec_close};

void ht_ec_opened(ggn_stream *s, int err, void *ud) {
  ht_echo_client *e = ud;
  e->opened = 1;
  e->open_err = err;
  if (err) return;
  assert_string_equal(ggn_stream_protocol(s), ECHO_P);
  e->s = s;
  ggn_stream_set_callbacks(s, &ht_ec_cbs, e);
  ht_ec_pump(e);
}

void ht_run_echo(uv_loop_t *loop, ggn_host *a, const gg_peerid *b, int nstreams, size_t bytes) {
  ht_echo_client *ec = calloc((size_t)nstreams, sizeof(*ec));
  static const char *const protos[] = {"/test/none/1.0.0", ECHO_P};
  for (int i = 0; i < nstreams; i++) {
    ec[i].total = bytes;
    ec[i].seed = (uint32_t)i + 1;
    assert_int_equal(
        ggn_host_open_stream(a, b, protos, 2, ht_ec_opened, &ec[i]), GG_OK);
  }
  int done = 0;
  gg_ts end = uv_hrtime() + GG_SEC(60);
  while (!done && uv_hrtime() < end) {
    ht_run_once(loop);
    done = 1;
    for (int i = 0; i < nstreams; i++) done &= ec[i].closed || (ec[i].opened && ec[i].open_err);
  }
  for (int i = 0; i < nstreams; i++) {
    assert_int_equal(ec[i].open_err, GG_OK);
    assert_true(ec[i].closed);
    assert_int_equal(ec[i].close_err, GG_OK);
    assert_true(ec[i].eof);
    assert_int_equal(ec[i].recvd, bytes);
    assert_false(ec[i].mismatch);
  }
  free(ec);
}

