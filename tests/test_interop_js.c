/*
 * Interoperability with js-libp2p 2.10 on Node 20 (interop/js/peer.mjs, versions pinned in
 * interop/js/package-lock.json): our host and a js peer, driven over its stdin/stdout, on
 * loopback.
 *   - our node dials js, and js dials ours; identify succeeds both ways (each side sees the
 *     other's protocols and listen addresses); ping both ways;
 *   - the muxer is chosen through the Noise extension when both sides list yamux, and through
 *     multistream-select when either side does not (our no_noise_muxers setting; the js
 *     peer's --no-muxer-ext, which makes its Noise skip the extension);
 *   - 50 concurrent yamux streams each echoing 1 MiB, ours -> js and js -> ours, with the
 *     test echo protocol /test/echo/1.0.0 on both sides.
 * The tests are skipped (not failed) when node or interop/js/node_modules is missing; CI runs
 * scripts/setup.sh, which installs them.
 */
#include "gg_test.h"
#include "host_test.h"
#include "js_peer.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "ggen/err.h"

/* Starts peer.mjs with one optional extra argument. */
static void js_start(uv_loop_t *loop, jspeer *js, const char *extra) {
  const char *args[] = {extra, NULL};
  js_start_script(loop, js, "peer.mjs", args);
}

static ggn_conn *dial_js(uv_loop_t *loop, ht_node *n, jspeer *js) {
  gg_maddr ma;
  assert_int_equal(gg_maddr_parse(&ma, js->addr, strlen(js->addr)), GG_OK);
  ht_dial_res r = {0};
  assert_int_equal(ggn_host_dial(n->h, &ma, ht_dial_cb, &r), GG_OK);
  HT_RUN_UNTIL(loop, r.done, 15000);
  assert_int_equal(r.done, 1);
  assert_int_equal(r.err, GG_OK);
  return r.c;
}

static void our_addr_text(const ht_node *n, char *out, size_t cap) {
  gg_maddr ma;
  ht_addr_with_peer(n, &ma);
  assert_true(gg_maddr_to_str(&ma, out, cap) > 0);
}

/* What we learned about js through identify, and what js learned about us. */
static void check_identify_both_ways(uv_loop_t *loop, ht_node *n, jspeer *js) {
  HT_RUN_UNTIL(loop, n->idents >= 1, 10000);
  assert_true(n->idents >= 1);
  assert_true(ggn_host_peer_supports(n->h, &js->id, "/ipfs/id/1.0.0"));
  assert_true(ggn_host_peer_supports(n->h, &js->id, "/ipfs/ping/1.0.0"));
  assert_true(ggn_host_peer_supports(n->h, &js->id, ECHO_P));
  const char *agent = ggn_host_peer_agent(n->h, &js->id);
  assert_non_null(agent);
  assert_true(!strncmp(agent, "js-libp2p/", 10));
  gg_maddr js_ma, js_t, addrs[16];
  gg_maddr_parse(&js_ma, js->addr, strlen(js->addr));
  gg_peerid pid;
  gg_maddr_split_peer(&js_ma, &js_t, &pid);
  size_t na = ggn_host_peer_addrs(n->h, &js->id, addrs, 16);
  int found = 0;
  for (size_t i = 0; i < na && i < 16; i++) found |= gg_maddr_eq(&addrs[i], &js_t);
  assert_true(found);
  /* js's view of us: its identify event and its peer store */
  char id[GG_PEERID_TEXT_MAX], ours[GG_MADDR_STR_MAX];
  gg_peerid_to_b58(ggn_host_peer_id(n->h), id, sizeof(id));
  gg_maddr_to_str(&n->addr, ours, sizeof(ours));
  char want[256];
  snprintf(want, sizeof(want), "IDENTIFIED %s ggen/", id);
  const char *l = js_wait(loop, js, want, 10000);
  assert_non_null(l);
  js_cmd(js, "peerinfo %s", id);
  l = js_wait(loop, js, "PEERINFO ", 10000);
  assert_non_null(l);
  assert_non_null(strstr(l, "agent=ggen/" GGEN_VERSION));
  assert_non_null(strstr(l, "/ipfs/id/1.0.0"));
  assert_non_null(strstr(l, "/ipfs/ping/1.0.0"));
  assert_non_null(strstr(l, ECHO_P));
  assert_non_null(strstr(l, ours)); /* our listen address */
}

static void ping_both_ways(uv_loop_t *loop, ht_node *n, jspeer *js) {
  ht_ping_res p = {0};
  assert_int_equal(ggn_host_ping(n->h, &js->id, ht_ping_cb, &p), GG_OK);
  HT_RUN_UNTIL(loop, p.done, 10000);
  assert_int_equal(p.err, GG_OK);
  char ours[GG_MADDR_STR_MAX];
  our_addr_text(n, ours, sizeof(ours));
  js_cmd(js, "ping %s", ours);
  assert_non_null(js_wait(loop, js, "PONG ", 10000));
}

static void test_ours_dials_js(void **state) {
  (void)state;
  if (!js_available()) skip();
  uv_loop_t loop;
  uv_loop_init(&loop);
  jspeer js;
  js_start(&loop, &js, NULL);
  ht_node n;
  ht_node_start(&n, &loop, NULL, 101);
  ggn_conn *c = dial_js(&loop, &n, &js);
  assert_true(ggn_conn_outbound(c));
  assert_true(ggn_conn_muxer_via_noise(c)); /* both list /yamux/1.0.0 */
  check_identify_both_ways(&loop, &n, &js);
  ping_both_ways(&loop, &n, &js);
  js_stop(&loop, &js);
  ht_close_nodes(&loop, &n, 1);
}

static void test_js_dials_ours(void **state) {
  (void)state;
  if (!js_available()) skip();
  uv_loop_t loop;
  uv_loop_init(&loop);
  jspeer js;
  js_start(&loop, &js, NULL);
  ht_node n;
  ht_node_start(&n, &loop, NULL, 102);
  char ours[GG_MADDR_STR_MAX];
  our_addr_text(&n, ours, sizeof(ours));
  js_cmd(&js, "dial %s", ours);
  const char *l = js_wait(&loop, &js, "DIALED ", 15000);
  assert_non_null(l);
  assert_non_null(strstr(l, "/yamux/1.0.0"));
  HT_RUN_UNTIL(&loop, n.ups == 1, 5000);
  assert_int_equal(n.ups, 1);
  assert_false(ggn_conn_outbound(n.last_up));
  assert_true(ggn_conn_muxer_via_noise(n.last_up));
  check_identify_both_ways(&loop, &n, &js);
  ping_both_ways(&loop, &n, &js);
  js_stop(&loop, &js);
  ht_close_nodes(&loop, &n, 1);
}

static void test_muxer_via_multistream_select(void **state) {
  (void)state;
  if (!js_available()) skip();
  uv_loop_t loop;
  uv_loop_init(&loop);
  /* our side lists no muxer in Noise: js negotiates yamux with multistream-select */
  jspeer js;
  js_start(&loop, &js, NULL);
  ggn_host_settings st = ht_base_settings();
  st.no_noise_muxers = 1;
  ht_node n[3];
  ht_node_start(&n[0], &loop, &st, 103);
  ht_node_start(&n[1], &loop, NULL, 104);
  ht_node_start(&n[2], &loop, NULL, 107);
  ggn_conn *c = dial_js(&loop, &n[0], &js);
  assert_false(ggn_conn_muxer_via_noise(c));
  js_cmd(&js, "conns");
  const char *l = js_wait(&loop, &js, "CONN ", 5000);
  assert_non_null(l);
  assert_non_null(strstr(l, "/yamux/1.0.0"));
  check_identify_both_ways(&loop, &n[0], &js);
  ping_both_ways(&loop, &n[0], &js);
  ht_run_echo(&loop, n[0].h, &js.id, 2, 100000);
  js_stop(&loop, &js);
  /* the js side lists none: the same, whoever dials */
  js_start(&loop, &js, "--no-muxer-ext");
  c = dial_js(&loop, &n[1], &js);
  assert_false(ggn_conn_muxer_via_noise(c));
  ping_both_ways(&loop, &n[1], &js);
  ht_run_echo(&loop, n[1].h, &js.id, 2, 100000);
  /* js dials a fresh node of ours (js would reuse its connection to n[1]) */
  char ours[GG_MADDR_STR_MAX];
  our_addr_text(&n[2], ours, sizeof(ours));
  js_cmd(&js, "dial %s", ours);
  assert_non_null(js_wait(&loop, &js, "DIALED ", 15000));
  HT_RUN_UNTIL(&loop, n[2].ups == 1, 5000);
  assert_int_equal(n[2].ups, 1);
  assert_false(ggn_conn_outbound(n[2].last_up));
  assert_false(ggn_conn_muxer_via_noise(n[2].last_up));
  js_cmd(&js, "ping %s", ours);
  assert_non_null(js_wait(&loop, &js, "PONG ", 10000));
  js_stop(&loop, &js);
  ht_close_nodes(&loop, n, 3);
}

static void test_echo_50x1MiB_ours_to_js(void **state) {
  (void)state;
  if (!js_available()) skip();
  uv_loop_t loop;
  uv_loop_init(&loop);
  jspeer js;
  js_start(&loop, &js, NULL);
  ht_node n;
  ht_node_start(&n, &loop, NULL, 105);
  dial_js(&loop, &n, &js);
  ht_run_echo(&loop, n.h, &js.id, 50, 1 << 20);
  js_stop(&loop, &js);
  ht_close_nodes(&loop, &n, 1);
}

static void test_echo_50x1MiB_js_to_ours(void **state) {
  (void)state;
  if (!js_available()) skip();
  uv_loop_t loop;
  uv_loop_init(&loop);
  jspeer js;
  js_start(&loop, &js, NULL);
  ht_node n;
  ht_node_start(&n, &loop, NULL, 106);
  char ours[GG_MADDR_STR_MAX];
  our_addr_text(&n, ours, sizeof(ours));
  js_cmd(&js, "echo %s 50 1048576", ours);
  const char *l = js_wait(&loop, &js, "ECHO_", 120000);
  assert_non_null(l);
  if (strncmp(l, "ECHO_OK 50 ", 11)) fprintf(stderr, "js: %s\n", l);
  assert_true(!strncmp(l, "ECHO_OK 50 ", 11));
  assert_int_equal(n.echo_streams, 50);
  js_stop(&loop, &js);
  ht_close_nodes(&loop, &n, 1);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN); /* as every libuv program must: a peer may close mid-write */
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ours_dials_js),
      cmocka_unit_test(test_js_dials_ours),
      cmocka_unit_test(test_muxer_via_multistream_select),
      cmocka_unit_test(test_echo_50x1MiB_ours_to_js),
      cmocka_unit_test(test_echo_50x1MiB_js_to_ours),
  };
  if (!js_available())
    fprintf(stderr, "interop: %s/node_modules missing (run scripts/setup.sh): tests skipped\n",
            JS_DIR);
  return cmocka_run_group_tests(tests, NULL, NULL);
}
