/*
 * Gossipsub interoperability with js-libp2p (@chainsafe/libp2p-gossipsub 14.1.2 on libp2p
 * 2.10, Node 20; interop/js/gossip.mjs runs one or more js nodes in one process and reports
 * messages, GRAFT/PRUNE and IHAVE/IWANT it receives):
 *   - publish on ours, receive on js, and the other way, over meshsub 1.2, 1.1 and 1.0, whoever
 *     dials; the mesh forms both ways (js's getMeshPeers lists ours, ours lists js);
 *   - a message that does not travel on the mesh is recovered through IHAVE/IWANT, both ways
 *     (meshes of degree 0 and no flood publishing on both sides: the publisher sends to nobody
 *     and the other side must ask for the message after the heartbeat's IHAVE);
 *   - PRUNE backoff: js prunes us with a 3 s backoff; our next GRAFT comes after it, not before;
 *   - a mixed network of 10 of our nodes and 10 js nodes: every message reaches every node.
 * Skipped (not failed) when node or interop/js/node_modules is missing; CI installs them.
 */
#include "gg_test.h"
#include "host_test.h"
#include "js_peer.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ggen/err.h"
#include "ggen/gossip_service.h"

#define TOPIC "/ggen/interop/v1"

typedef struct onode {
  ht_node n;
  ggn_gossip *gs;
  int got;
  uint64_t mask; /* "mixed-K" messages received */
  char last[256];
  gg_peerid last_from;
  int closed;
} onode;

static void on_msg(ggn_gossip *gs, const ggp_gossip_msg *m, void *ud) {
  (void)gs;
  onode *o = ud;
  o->got++;
  size_t n = m->len < sizeof(o->last) - 1 ? m->len : sizeof(o->last) - 1;
  memcpy(o->last, m->data, n);
  o->last[n] = 0;
  o->last_from = m->from;
  int k;
  if (sscanf(o->last, "mixed-%d", &k) == 1 && k >= 0 && k < 64) o->mask |= 1ull << k;
}

static void o_closed(void *ud) { ((onode *)ud)->closed = 1; }

static ggp_gossip_settings router(gg_ts heartbeat) {
  ggp_gossip_settings r;
  ggp_gossip_settings_default(&r);
  r.heartbeat_interval = heartbeat;
  return r;
}

static void o_start(uv_loop_t *loop, onode *o, uint64_t seed, const ggn_gossip_settings *st) {
  memset(o, 0, sizeof(*o));
  ht_node_start(&o->n, loop, NULL, seed);
  assert_int_equal(ggn_gossip_new(&o->gs, o->n.h, st), GG_OK);
  assert_int_equal(ggn_gossip_subscribe(o->gs, TOPIC, on_msg, o), GG_OK);
}

static void o_close_all(uv_loop_t *loop, onode *o, int n) {
  for (int i = 0; i < n; i++) ggn_gossip_close(o[i].gs, o_closed, &o[i]);
  for (int i = 0; i < n; i++) HT_RUN_UNTIL(loop, o[i].closed, 5000);
  ht_node *hs = calloc((size_t)n, sizeof(*hs));
  for (int i = 0; i < n; i++) {
    assert_true(o[i].closed);
    hs[i] = o[i].n;
  }
  ht_close_nodes(loop, hs, n);
  free(hs);
}

static const char *id_text(const gg_peerid *id) {
  static char b[4][GG_PEERID_TEXT_MAX];
  static int k;
  k = (k + 1) % 4;
  gg_peerid_to_b58(id, b[k], sizeof b[k]);
  return b[k];
}

static const char *o_addr(const onode *o) {
  static char b[4][GG_MADDR_STR_MAX];
  static int k;
  k = (k + 1) % 4;
  gg_maddr ma;
  ht_addr_with_peer(&o->n, &ma);
  assert_true(gg_maddr_to_str(&ma, b[k], sizeof b[k]) > 0);
  return b[k];
}

static ggp_gossip_stats ostats(const onode *o) {
  ggp_gossip_stats st;
  ggp_gossip_get_stats(ggn_gossip_router(o->gs), &st);
  return st;
}

static int o_has_in_mesh(const onode *o, const gg_peerid *peer) {
  gg_peerid ids[64];
  size_t k = ggp_gossip_mesh_peers(ggn_gossip_router(o->gs), TOPIC, 0, ids, 64);
  for (size_t i = 0; i < k && i < 64; i++)
    if (gg_peerid_eq(&ids[i], peer)) return 1;
  return 0;
}

/* Polls js node i's mesh until it lists every peer of want (NULL-terminated). */
static int js_mesh_has(uv_loop_t *loop, jspeer *js, int i, const char *const *want, uint64_t ms) {
  gg_ts end = uv_hrtime() + GG_MS(ms);
  while (uv_hrtime() < end) {
    js_cmd(js, "mesh %d %s", i, TOPIC);
    char pfx[64];
    snprintf(pfx, sizeof pfx, "MESH %d ", i);
    const char *l = js_wait(loop, js, pfx, 5000);
    if (!l) return 0;
    int all = 1;
    for (int k = 0; want[k]; k++) all &= strstr(l, want[k]) != NULL;
    if (all) return 1;
    ht_run_for(loop, 100);
  }
  return 0;
}

static void dial_ours_to(uv_loop_t *loop, onode *o, const char *addr) {
  gg_maddr ma;
  assert_int_equal(gg_maddr_parse(&ma, addr, strlen(addr)), GG_OK);
  ht_dial_res r = {0};
  assert_int_equal(ggn_host_dial(o->n.h, &ma, ht_dial_cb, &r), GG_OK);
  HT_RUN_UNTIL(loop, r.done, 15000);
  assert_int_equal(r.err, GG_OK);
}

/* ---- publish and receive both ways, every version ---------------------------------------------
 */

static void test_pub_sub_both_ways(void **state) {
  (void)state;
  if (!js_available()) skip();
  uv_loop_t loop;
  uv_loop_init(&loop);
  jspeer js;
  js_start_script(&loop, &js, "gossip.mjs", (const char *[]){"--heartbeat", "300", NULL});
  js_cmd(&js, "sub 0 %s", TOPIC);
  assert_non_null(js_wait(&loop, &js, "SUBSCRIBED 0", 5000));
  ggp_gossip_settings r = router(GG_MS(300));
  static const int versions[3] = {GGP_GOSSIP_V12, GGP_GOSSIP_V11, GGP_GOSSIP_V10};
  onode o[3];
  for (int i = 0; i < 3; i++) {
    ggn_gossip_settings st = {.router = &r, .max_version = versions[i]};
    o_start(&loop, &o[i], 200 + (uint64_t)i, &st);
  }
  /* ours dial js (1.2, 1.1); js dials ours (1.0) */
  dial_ours_to(&loop, &o[0], js.addr);
  dial_ours_to(&loop, &o[1], js.addr);
  js_cmd(&js, "dial 0 %s", o_addr(&o[2]));
  assert_non_null(js_wait(&loop, &js, "DIALED 0", 15000));
  /* the mesh forms both ways */
  const char *ids[4] = {NULL};
  for (int i = 0; i < 3; i++) ids[i] = strdup(id_text(ggn_host_peer_id(o[i].n.h)));
  assert_true(js_mesh_has(&loop, &js, 0, ids, 10000));
  int ok = 0;
  gg_ts end = uv_hrtime() + GG_SEC(10);
  while (!ok && uv_hrtime() < end) {
    ht_run_once(&loop);
    ok = 1;
    for (int i = 0; i < 3; i++) ok &= o_has_in_mesh(&o[i], &js.id);
  }
  assert_true(ok);
  /* each version was negotiated (js's outbound stream to each of ours) */
  static const char *const protos[3] = {"/meshsub/1.2.0", "/meshsub/1.1.0", "/meshsub/1.0.0"};
  for (int i = 0; i < 3; i++) {
    js_cmd(&js, "proto 0 %s", ids[i]);
    const char *l = js_wait(&loop, &js, "PROTO 0 ", 5000);
    assert_non_null(l);
    assert_non_null(strstr(l, protos[i]));
  }
  /* ours -> js (and through js to the other two of ours) */
  size_t rec = 0;
  const char *text = "hello from ours";
  assert_int_equal(
      ggn_gossip_publish(o[0].gs, TOPIC, (const uint8_t *)text, strlen(text), &rec, NULL, NULL),
      GG_OK);
  assert_int_equal(rec, 1);
  const char *l = js_wait(&loop, &js, "MSG 0 ", 10000);
  assert_non_null(l);
  char want[256];
  snprintf(want, sizeof want, "MSG 0 %s %s hello from ours", TOPIC, ids[0]);
  assert_string_equal(l, want);
  HT_RUN_UNTIL(&loop, o[1].got == 1 && o[2].got == 1, 10000);
  assert_string_equal(o[1].last, "hello from ours");
  assert_string_equal(o[2].last, "hello from ours");
  /* js -> ours */
  js_cmd(&js, "pub 0 %s hello from js", TOPIC);
  l = js_wait(&loop, &js, "PUBLISHED 0", 5000);
  assert_non_null(l);
  assert_string_equal(l, "PUBLISHED 0 recipients=3");
  HT_RUN_UNTIL(&loop, o[0].got == 1 && o[1].got == 2 && o[2].got == 2, 10000);
  for (int i = 0; i < 3; i++) {
    assert_string_equal(o[i].last, "hello from js");
    assert_true(gg_peerid_eq(&o[i].last_from, &js.id));
  }
  /* a large message (IDONTWANT size on 1.2) both ways */
  char *big = malloc(100001);
  memset(big, 'x', 100000);
  big[100000] = 0;
  memcpy(big, "big-ours-", 9);
  assert_int_equal(
      ggn_gossip_publish(o[0].gs, TOPIC, (const uint8_t *)big, 100000, NULL, NULL, NULL), GG_OK);
  l = js_wait(&loop, &js, "MSG 0 ", 10000);
  assert_non_null(l);
  assert_non_null(strstr(l, " big-ours-xxxxxxxx")); /* the line is cut at 8 KiB */
  assert_true(js_count(&js, "MSG 0 ") == 2);
  HT_RUN_UNTIL(&loop, o[1].got == 3 && o[2].got == 3, 10000);
  assert_int_equal(o[2].got, 3);
  free(big);
  for (int i = 0; i < 3; i++) {
    ggp_gossip_stats st = ostats(&o[i]);
    assert_int_equal(st.rpcs_malformed, 0);
    assert_int_equal(st.msgs_invalid, 0);
    free((void *)ids[i]);
  }
  js_stop(&loop, &js);
  o_close_all(&loop, o, 3);
}

/* ---- IHAVE/IWANT recovery
 * ------------------------------------------------------------------------- */

static void test_iwant_recovery_both_ways(void **state) {
  (void)state;
  if (!js_available()) skip();
  uv_loop_t loop;
  uv_loop_init(&loop);
  /* Ours has meshes of degree 0 and does not flood its own messages, so what it publishes goes
   * to nobody at once. js node 0 keeps a mesh of one (js node 1) and does not flood either; it
   * dialed ours, and ours refuses its GRAFT (an inbound peer while our mesh is full at D_hi =
   * 0), so what js node 0 publishes goes to js node 1 only. Each side can get the other's
   * message only through the heartbeat's IHAVE and the IWANT that follows. */
  jspeer js;
  js_start_script(&loop, &js, "gossip.mjs",
                  (const char *[]){"--nodes", "2", "--heartbeat", "300", "--D", "1", "--Dlo", "1",
                                   "--Dhi", "1", "--Dout", "0", "--flood-publish", "0", NULL});
  const char *l = js_wait(&loop, &js, "READY 1 ", 5000);
  assert_non_null(l);
  char j1id[128], j1addr[512];
  assert_int_equal(sscanf(l, "READY 1 %127s %511s", j1id, j1addr), 2);
  js_cmd(&js, "sub 0 %s", TOPIC);
  js_cmd(&js, "sub 1 %s", TOPIC);
  js_cmd(&js, "dial 1 %s", js.addr);
  assert_non_null(js_wait(&loop, &js, "DIALED 1", 10000));
  ggp_gossip_settings r = router(GG_MS(300));
  r.d = r.d_lo = r.d_hi = r.d_score = r.d_out = 0;
  r.flood_publish = 0;
  ggn_gossip_settings st = {.router = &r};
  onode o;
  o_start(&loop, &o, 300, &st);
  js_cmd(&js, "dial 0 %s", o_addr(&o));
  assert_non_null(js_wait(&loop, &js, "DIALED 0", 10000));
  const char *oid = id_text(ggn_host_peer_id(o.n.h));
  /* js node 0's mesh is js node 1, ours knows js node 0's subscription, js knows ours */
  const char *want[] = {j1id, NULL};
  assert_true(js_mesh_has(&loop, &js, 0, want, 10000));
  HT_RUN_UNTIL(&loop, ggp_gossip_topic_peers(ggn_gossip_router(o.gs), TOPIC) == 1, 10000);
  assert_int_equal(ggp_gossip_topic_peers(ggn_gossip_router(o.gs), TOPIC), 1);
  int known = 0;
  for (int t = 0; t < 50 && !known; t++) {
    js_cmd(&js, "subs 0 %s", TOPIC);
    l = js_wait(&loop, &js, "SUBSCRIBERS 0 ", 5000);
    known = l && strstr(l, oid);
    if (!known) ht_run_for(&loop, 100);
  }
  assert_true(known);
  js_cmd(&js, "mesh 0 %s", TOPIC);
  l = js_wait(&loop, &js, "MESH 0 ", 5000);
  assert_non_null(l);
  assert_null(strstr(l, oid));
  /* js -> ours */
  js_cmd(&js, "pub 0 %s js-via-gossip", TOPIC);
  l = js_wait(&loop, &js, "PUBLISHED 0", 5000);
  assert_non_null(l);
  assert_string_equal(l, "PUBLISHED 0 recipients=1"); /* js node 1 */
  HT_RUN_UNTIL(&loop, o.got == 1, 10000);
  assert_int_equal(o.got, 1);
  assert_string_equal(o.last, "js-via-gossip");
  ggp_gossip_stats s = ostats(&o);
  assert_true(s.ihave_in >= 1);
  assert_true(s.iwant_out >= 1);
  assert_int_equal(s.mesh_links, 0);
  l = js_wait(&loop, &js, "IWANT_IN 0 ", 5000);
  assert_non_null(l);
  assert_non_null(strstr(l, oid));
  assert_non_null(strstr(l, "served=1"));
  /* ours -> js */
  size_t rec = 99;
  const char *text = "ours-via-gossip";
  assert_int_equal(
      ggn_gossip_publish(o.gs, TOPIC, (const uint8_t *)text, strlen(text), &rec, NULL, NULL),
      GG_OK);
  assert_int_equal(rec, 0);
  l = js_wait(&loop, &js, "MSG 0 ", 10000);
  assert_non_null(l);
  assert_non_null(strstr(l, "ours-via-gossip"));
  /* js node 1 gets it from js node 0, by its mesh (after js-via-gossip, from node 0 too) */
  l = js_wait(&loop, &js, "MSG 1 ", 10000);
  assert_non_null(l);
  assert_non_null(strstr(l, "js-via-gossip"));
  l = js_wait(&loop, &js, "MSG 1 ", 10000);
  assert_non_null(l);
  assert_non_null(strstr(l, "ours-via-gossip"));
  s = ostats(&o);
  assert_true(s.iwant_in >= 1);
  int asked = 0;
  while ((l = js_wait(&loop, &js, "IHAVE_IN 0 ", 100)))
    asked |= strstr(l, oid) && strstr(l, "iwant=1");
  assert_true(asked);
  js_stop(&loop, &js);
  o_close_all(&loop, &o, 1);
}

/* ---- PRUNE backoff
 * ---------------------------------------------------------------------------------- */

static void test_prune_backoff(void **state) {
  (void)state;
  if (!js_available()) skip();
  uv_loop_t loop;
  uv_loop_init(&loop);
  /* js never grafts on its own (D_lo = 0, D_out = 0) but accepts our GRAFTs; its PRUNEs carry a
   * 3 s backoff */
  jspeer js;
  js_start_script(&loop, &js, "gossip.mjs",
                  (const char *[]){"--heartbeat", "300", "--D", "1", "--Dlo", "0", "--Dhi", "2",
                                   "--Dout", "0", "--prune-backoff", "3000", NULL});
  js_cmd(&js, "sub 0 %s", TOPIC);
  ggp_gossip_settings r = router(GG_MS(300));
  ggn_gossip_settings st = {.router = &r};
  onode o;
  o_start(&loop, &o, 400, &st);
  dial_ours_to(&loop, &o, js.addr);
  const char *oid = strdup(id_text(ggn_host_peer_id(o.n.h)));
  const char *want[] = {oid, NULL};
  char pfx[128];
  snprintf(pfx, sizeof pfx, "GRAFT_IN 0 %s %s ", oid, TOPIC);
  assert_non_null(js_wait(&loop, &js, pfx, 10000));
  assert_true(js_mesh_has(&loop, &js, 0, want, 5000));
  HT_RUN_UNTIL(&loop, o_has_in_mesh(&o, &js.id), 5000);
  assert_true(o_has_in_mesh(&o, &js.id));
  /* js prunes us */
  js_cmd(&js, "prune 0 %s %s", oid, TOPIC);
  const char *l = js_wait(&loop, &js, "PRUNED 0 ", 5000);
  assert_non_null(l);
  long long t_prune = atoll(strrchr(l, ' ') + 1);
  HT_RUN_UNTIL(&loop, !o_has_in_mesh(&o, &js.id), 5000);
  assert_false(o_has_in_mesh(&o, &js.id));
  assert_true(ostats(&o).prune_in >= 1);
  /* our next GRAFT: after the backoff (plus a heartbeat), never before */
  l = js_wait(&loop, &js, pfx, 10000);
  assert_non_null(l);
  long long t_graft = atoll(strrchr(l, ' ') + 1);
  long long dt = t_graft - t_prune;
  assert_true(dt >= 3000);
  assert_true(dt <= 3000 + 4000); /* backoff + a heartbeat, with room for a loaded machine */
  /* js took it without a backoff penalty */
  js_cmd(&js, "score 0 %s", oid);
  l = js_wait(&loop, &js, "SCORE 0 ", 5000);
  assert_non_null(l);
  assert_true(atof(strrchr(l, ' ') + 1) >= 0);
  assert_true(js_mesh_has(&loop, &js, 0, want, 5000));
  free((void *)oid);
  js_stop(&loop, &js);
  o_close_all(&loop, &o, 1);
}

/* ---- a mixed network
 * ------------------------------------------------------------------------------- */

#define NOURS 10
#define NJS 10
#define NALL (NOURS + NJS)

static void test_mixed_network_10_10(void **state) {
  (void)state;
  if (!js_available()) skip();
  uv_loop_t loop;
  uv_loop_init(&loop);
  jspeer js;
  js_start_script(&loop, &js, "gossip.mjs", (const char *[]){"--nodes", "10", NULL});
  /* every js node's id and address from its READY line */
  char jid[NJS][128], jaddr[NJS][512];
  for (int i = 0; i < NJS; i++) {
    char pfx[32];
    snprintf(pfx, sizeof pfx, "READY %d ", i);
    const char *l = i == 0 ? NULL : js_wait(&loop, &js, pfx, 30000);
    if (i == 0) {
      gg_peerid_to_b58(&js.id, jid[0], sizeof jid[0]);
      snprintf(jaddr[0], sizeof jaddr[0], "%s", js.addr);
      continue;
    }
    assert_non_null(l);
    assert_int_equal(sscanf(l + strlen(pfx), "%127s %511s", jid[i], jaddr[i]), 2);
    char *comma = strchr(jaddr[i], ',');
    if (comma) *comma = 0;
  }
  ggn_gossip_settings st = {0};
  onode *o = calloc(NOURS, sizeof(*o));
  for (int i = 0; i < NOURS; i++) o_start(&loop, &o[i], 500 + (uint64_t)i, &st);
  for (int i = 0; i < NJS; i++) js_cmd(&js, "sub %d %s", i, TOPIC);
  /* nodes 0..9 ours, 10..19 js; node k dials k+1, k+5 and k+8 (mod 20): degree 6, connected */
  static const int offs[3] = {1, 5, 8};
  int js_dials = 0;
  for (int k = 0; k < NALL; k++) {
    for (int d = 0; d < 3; d++) {
      int t = (k + offs[d]) % NALL;
      const char *taddr = t < NOURS ? o_addr(&o[t]) : jaddr[t - NOURS];
      if (k < NOURS) {
        dial_ours_to(&loop, &o[k], taddr);
      } else {
        js_cmd(&js, "dial %d %s", k - NOURS, taddr);
        js_dials++;
      }
    }
  }
  for (int i = 0; i < js_dials; i++) assert_non_null(js_wait(&loop, &js, "DIALED ", 15000));
  /* every node of ours knows its six neighbours' subscriptions, and meshes have formed */
  int ready = 0;
  gg_ts end = uv_hrtime() + GG_SEC(15);
  while (!ready && uv_hrtime() < end) {
    ht_run_once(&loop);
    ready = 1;
    for (int i = 0; i < NOURS; i++)
      ready &= ggp_gossip_topic_peers(ggn_gossip_router(o[i].gs), TOPIC) == 6 &&
               ostats(&o[i]).mesh_links >= 4;
  }
  assert_true(ready);
  ht_run_for(&loop, 1500); /* js's heartbeat (1 s) has run on its side too */
  /* every node publishes one message */
  for (int k = 0; k < NALL; k++) {
    if (k < NOURS) {
      char text[32];
      int n = snprintf(text, sizeof text, "mixed-%d", k);
      assert_int_equal(
          ggn_gossip_publish(o[k].gs, TOPIC, (const uint8_t *)text, (size_t)n, NULL, NULL, NULL),
          GG_OK);
    } else {
      js_cmd(&js, "pub %d %s mixed-%d", k - NOURS, TOPIC, k);
    }
    ht_run_for(&loop, 50);
  }
  /* every node gets the 19 others' messages */
  uint64_t all = (1ull << NALL) - 1;
  uint64_t jmask[NJS];
  int done = 0;
  end = uv_hrtime() + GG_SEC(20);
  while (!done && uv_hrtime() < end) {
    ht_run_once(&loop);
    done = 1;
    for (int i = 0; i < NOURS; i++) done &= o[i].mask == (all & ~(1ull << i));
    memset(jmask, 0, sizeof jmask);
    size_t pos = 0;
    while (js.buf && pos < js.len) {
      const char *nl = memchr(js.buf + pos, '\n', js.len - pos);
      if (!nl) break;
      int ji, mk;
      char topic[64];
      if (sscanf(js.buf + pos, "MSG %d %63s %*s mixed-%d", &ji, topic, &mk) == 3 && ji >= 0 &&
          ji < NJS && mk >= 0 && mk < NALL)
        jmask[ji] |= 1ull << mk;
      pos = (size_t)(nl - js.buf) + 1;
    }
    for (int i = 0; i < NJS; i++) done &= jmask[i] == (all & ~(1ull << (i + NOURS)));
  }
  for (int i = 0; i < NOURS; i++)
    if (o[i].mask != (all & ~(1ull << i)))
      fprintf(stderr, "ours %d: mask %llx\n", i, (unsigned long long)o[i].mask);
  for (int i = 0; i < NJS; i++)
    if (jmask[i] != (all & ~(1ull << (i + NOURS))))
      fprintf(stderr, "js %d: mask %llx\n", i, (unsigned long long)jmask[i]);
  assert_true(done);
  /* each delivered once; duplicates stay within D + 2 per node per message */
  for (int i = 0; i < NOURS; i++) {
    assert_int_equal(o[i].got, NALL - 1);
    ggp_gossip_stats s = ostats(&o[i]);
    assert_true(s.msgs_dup <= (uint64_t)(NALL - 1) * 8);
    assert_int_equal(s.msgs_invalid, 0);
    assert_int_equal(s.rpcs_malformed, 0);
  }
  assert_int_equal(js_count(&js, "MSG "), NJS * (NALL - 1));
  js_stop(&loop, &js);
  o_close_all(&loop, o, NOURS);
  free(o);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_pub_sub_both_ways),
      cmocka_unit_test(test_iwant_recovery_both_ways),
      cmocka_unit_test(test_prune_backoff),
      cmocka_unit_test(test_mixed_network_10_10),
  };
  if (!js_available())
    fprintf(stderr, "interop: %s/node_modules missing (run scripts/setup.sh): tests skipped\n",
            JS_DIR);
  return cmocka_run_group_tests(tests, NULL, NULL);
}
