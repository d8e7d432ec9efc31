/*
 * The Gossipsub service on real hosts (include/ggen/gossip_service.h): several nodes on one uv
 * loop talking over TCP loopback with the whole stack (Noise, Yamux, identify).
 *   - publish and delivery over several hops, meshes formed both ways, one stream each way
 *     per peer, subscriptions seen through the streams;
 *   - connection loss removes the peer from the router;
 *   - validators per topic: reject (not forwarded, the sender penalised), ignore, pending;
 *   - a peer that does not read: RPCs to it are dropped beyond the queue bound and it is dropped
 *     when the queue stalls;
 *   - misbehaving peers through real connections (a raw host that speaks the wire by hand):
 *     invalid signatures, malformed RPCs and message floods each push its score below the
 *     graylist threshold, after which its RPCs are ignored, while honest nodes keep delivering
 *     and the router's tables stay within their caps;
 *   - closing the service from inside a message handler; allocation failures in creation.
 */
#include "gg_test.h"
#include "host_test.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "ggen/err.h"
#include "ggen/gossip_service.h"
#include "gossipsub.pb-c.h"

#define TOPIC "/ggen/test/v1"
#define MAXN 8

typedef struct gnode {
  ggn_gossip *gs;
  int got;        /* messages delivered */
  char last[256]; /* data of the last one */
  gg_peerid last_from;
  int closed;
  int close_in_handler;
} gnode;

static ht_node hn[MAXN];
static gnode gn[MAXN];

static void on_msg(ggn_gossip *gs, const ggp_gossip_msg *m, void *ud) {
  gnode *g = ud;
  g->got++;
  size_t n = m->len < sizeof(g->last) - 1 ? m->len : sizeof(g->last) - 1;
  memcpy(g->last, m->data, n);
  g->last[n] = 0;
  g->last_from = m->from;
  if (g->close_in_handler) {
    g->close_in_handler = 0;
    ggn_gossip_close(gs, NULL, NULL);
    g->gs = NULL;
  }
}

static void gs_closed(void *ud) { ((gnode *)ud)->closed = 1; }

/* Router settings for tests: a fast heartbeat so meshes form within a few hundred ms. */
static ggp_gossip_settings fast_router(void) {
  ggp_gossip_settings r;
  ggp_gossip_settings_default(&r);
  r.heartbeat_interval = GG_MS(100);
  r.heartbeat_initial_delay = GG_MS(10);
  return r;
}

static void start_nodes(uv_loop_t *loop, int n, uint64_t seed, const ggn_gossip_settings *st) {
  memset(gn, 0, sizeof(gn));
  ggp_gossip_settings r = fast_router();
  ggn_gossip_settings d = {.router = &r};
  for (int i = 0; i < n; i++) {
    ht_node_start(&hn[i], loop, NULL, seed + (uint64_t)i);
    assert_int_equal(ggn_gossip_new(&gn[i].gs, hn[i].h, st ? st : &d), GG_OK);
  }
}

static void subscribe_all(int n) {
  for (int i = 0; i < n; i++)
    assert_int_equal(ggn_gossip_subscribe(gn[i].gs, TOPIC, on_msg, &gn[i]), GG_OK);
}

/* Closes the services (waiting for them), then the hosts and the loop. */
static void close_all(uv_loop_t *loop, int n) {
  for (int i = 0; i < n; i++)
    if (gn[i].gs) ggn_gossip_close(gn[i].gs, gs_closed, &gn[i]);
  for (int i = 0; i < n; i++)
    if (gn[i].gs) HT_RUN_UNTIL(loop, gn[i].closed, 5000);
  for (int i = 0; i < n; i++)
    if (gn[i].gs) assert_true(gn[i].closed);
  ht_close_nodes(loop, hn, n);
}

static int in_mesh(int a, int b) {
  gg_peerid ids[32];
  size_t k = ggp_gossip_mesh_peers(ggn_gossip_router(gn[a].gs), TOPIC, 0, ids, 32);
  for (size_t i = 0; i < k && i < 32; i++)
    if (gg_peerid_eq(&ids[i], ggn_host_peer_id(hn[b].h))) return 1;
  return 0;
}

static ggp_gossip_stats router_stats(int i) {
  ggp_gossip_stats st;
  ggp_gossip_get_stats(ggn_gossip_router(gn[i].gs), &st);
  return st;
}

static size_t router_peers(int i) { return router_stats(i).peers; }

static int publish(int i, const char *text, size_t *recipients) {
  return ggn_gossip_publish(gn[i].gs, TOPIC, (const uint8_t *)text, strlen(text), recipients, NULL,
                            NULL);
}

/* ---- delivery and mesh ---------------------------------------------------------------------- */

static void test_line_of_five(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  start_nodes(&loop, 5, 1000, NULL);
  subscribe_all(5);
  for (int i = 0; i + 1 < 5; i++) ht_connect_nodes(&loop, &hn[i], &hn[i + 1]);
  /* every neighbour is in the mesh, both ways (fewer than D_lo candidates: all are grafted) */
  int ok = 0;
  gg_ts end = uv_hrtime() + GG_SEC(10);
  while (!ok && uv_hrtime() < end) {
    ht_run_once(&loop);
    ok = 1;
    for (int i = 0; i + 1 < 5; i++) ok &= in_mesh(i, i + 1) && in_mesh(i + 1, i);
  }
  assert_true(ok);
  for (int i = 0; i < 5; i++) {
    ggn_gossip_stats st;
    ggn_gossip_get_stats(gn[i].gs, &st);
    int deg = (i == 0 || i == 4) ? 1 : 2;
    assert_int_equal(st.peers, deg);
    assert_int_equal(st.out_streams, deg);
    assert_int_equal(st.in_streams, deg);
    assert_int_equal(ggp_gossip_topic_peers(ggn_gossip_router(gn[i].gs), TOPIC), deg);
  }
  size_t rec = 99;
  assert_int_equal(publish(0, "hello from 0", &rec), GG_OK);
  assert_int_equal(rec, 1);
  HT_RUN_UNTIL(&loop, gn[4].got == 1, 5000);
  for (int i = 1; i < 5; i++) {
    assert_int_equal(gn[i].got, 1);
    assert_string_equal(gn[i].last, "hello from 0");
    assert_true(gg_peerid_eq(&gn[i].last_from, ggn_host_peer_id(hn[0].h)));
  }
  assert_int_equal(gn[0].got, 0); /* our own messages are not delivered to us */
  assert_int_equal(publish(4, "hello from 4", &rec), GG_OK);
  HT_RUN_UNTIL(&loop, gn[0].got == 1, 5000);
  for (int i = 0; i < 4; i++) assert_string_equal(gn[i].last, "hello from 4");
  /* a line has no redundant path: no duplicates anywhere */
  for (int i = 0; i < 5; i++) {
    ggp_gossip_stats st;
    ggp_gossip_get_stats(ggn_gossip_router(gn[i].gs), &st);
    assert_int_equal(st.msgs_dup, 0);
    assert_int_equal(st.rpcs_malformed, 0);
  }
  close_all(&loop, 5);
}

/* A dense group: every message reaches everyone exactly once (duplicates are absorbed). */
static void test_full_mesh_of_eight(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  start_nodes(&loop, 8, 2000, NULL);
  for (int i = 0; i < 8; i++)
    for (int j = i + 1; j < 8; j++) ht_connect_nodes(&loop, &hn[i], &hn[j]);
  subscribe_all(8);
  /* publish once every node knows every subscription (a message published before a subscriber
   * is known may legitimately miss it) */
  int known = 0;
  gg_ts end0 = uv_hrtime() + GG_SEC(10);
  while (!known && uv_hrtime() < end0) {
    ht_run_once(&loop);
    known = 1;
    for (int i = 0; i < 8; i++)
      known &= ggp_gossip_topic_peers(ggn_gossip_router(gn[i].gs), TOPIC) == 7;
  }
  assert_true(known);
  for (int k = 0; k < 8; k++) {
    char text[32];
    snprintf(text, sizeof text, "message %d", k);
    assert_int_equal(publish(k, text, NULL), GG_OK);
  }
  int all = 0;
  gg_ts end = uv_hrtime() + GG_SEC(10);
  while (!all && uv_hrtime() < end) {
    ht_run_once(&loop);
    all = 1;
    for (int i = 0; i < 8; i++) all &= gn[i].got == 7;
  }
  for (int i = 0; i < 8; i++) {
    ggp_gossip_stats rs = router_stats(i);
    if (gn[i].got != 7)
      fprintf(stderr, "node %d got %d: %llu in, %llu duplicates, %llu IHAVE\n", i, gn[i].got,
              (unsigned long long)rs.msgs_in, (unsigned long long)rs.msgs_dup,
              (unsigned long long)rs.ihave_in);
  }
  for (int i = 0; i < 8; i++) assert_int_equal(gn[i].got, 7);
  ht_run_for(&loop, 300);
  for (int i = 0; i < 8; i++) assert_int_equal(gn[i].got, 7); /* each exactly once */
  close_all(&loop, 8);
}

/* ---- peers come and go --------------------------------------------------------------------------
 */

static void test_connection_loss_removes_peer(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  start_nodes(&loop, 3, 3000, NULL);
  subscribe_all(3);
  ggn_conn *c = ht_connect_nodes(&loop, &hn[0], &hn[1]);
  ht_connect_nodes(&loop, &hn[1], &hn[2]);
  HT_RUN_UNTIL(&loop, router_peers(0) == 1 && router_peers(1) == 2, 5000);
  assert_int_equal(router_peers(1), 2);
  ggn_conn_close(c);
  HT_RUN_UNTIL(&loop, router_peers(0) == 0 && router_peers(1) == 1, 5000);
  assert_int_equal(router_peers(0), 0);
  assert_int_equal(router_peers(1), 1);
  ggn_gossip_stats st;
  ggn_gossip_get_stats(gn[0].gs, &st);
  assert_int_equal(st.peers, 0);
  assert_int_equal(st.out_streams, 0);
  assert_int_equal(st.in_streams, 0);
  /* reconnecting brings it back */
  ht_connect_nodes(&loop, &hn[0], &hn[1]);
  /* (a message reaching node 1 before node 2 is in its mesh would not be forwarded, and no
   * IHAVE goes to a mesh peer later: wait for both links) */
  HT_RUN_UNTIL(&loop, router_peers(0) == 1 && in_mesh(0, 1) && in_mesh(1, 2), 5000);
  assert_true(in_mesh(0, 1) && in_mesh(1, 2));
  assert_int_equal(publish(0, "after reconnect", NULL), GG_OK);
  HT_RUN_UNTIL(&loop, gn[2].got == 1, 5000);
  assert_string_equal(gn[2].last, "after reconnect");
  close_all(&loop, 3);
}

/* A node that does not speak gossipsub is left alone; one subscribed later is found. */
static void test_non_gossip_peer_and_late_subscribe(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  start_nodes(&loop, 2, 3500, NULL);
  ht_node plain;
  ht_node_start(&plain, &loop, NULL, 3599);
  ht_connect_nodes(&loop, &hn[0], &plain);
  ht_connect_nodes(&loop, &hn[0], &hn[1]);
  HT_RUN_UNTIL(&loop, router_peers(0) == 1 && router_peers(1) == 1, 5000);
  ht_run_for(&loop, 200);
  assert_int_equal(router_peers(0), 1); /* not the plain host */
  ggn_gossip_stats st;
  ggn_gossip_get_stats(gn[0].gs, &st);
  assert_int_equal(st.open_failed, 0);
  /* node 1 subscribes after the streams are up: node 0 learns it and can publish to it */
  assert_int_equal(ggn_gossip_subscribe(gn[1].gs, TOPIC, on_msg, &gn[1]), GG_OK);
  HT_RUN_UNTIL(&loop, ggp_gossip_topic_peers(ggn_gossip_router(gn[0].gs), TOPIC) == 1, 5000);
  size_t rec = 0;
  assert_int_equal(publish(0, "to a late subscriber", &rec), GG_OK);
  assert_int_equal(rec, 1);
  HT_RUN_UNTIL(&loop, gn[1].got == 1, 5000);
  assert_int_equal(gn[1].got, 1);
  /* unsubscribing is seen too */
  assert_int_equal(ggn_gossip_unsubscribe(gn[1].gs, TOPIC), GG_OK);
  assert_int_equal(ggn_gossip_unsubscribe(gn[1].gs, TOPIC), GG_ENOTFOUND);
  HT_RUN_UNTIL(&loop, ggp_gossip_topic_peers(ggn_gossip_router(gn[0].gs), TOPIC) == 0, 5000);
  assert_int_equal(ggp_gossip_topic_peers(ggn_gossip_router(gn[0].gs), TOPIC), 0);
  ggn_host_close(plain.h, ht_node_closed, &plain);
  close_all(&loop, 2);
  assert_true(plain.closed);
}

/* ---- validation ---------------------------------------------------------------------------------
 */

typedef struct vstate {
  int calls;
  uint8_t pending_id[GGP_GOSSIP_MSGID_MAX];
  size_t pending_len;
} vstate;

static int validator(ggn_gossip *gs, const ggp_gossip_msg *m, void *ud) {
  (void)gs;
  vstate *v = ud;
  v->calls++;
  if (m->len >= 3 && !memcmp(m->data, "bad", 3)) return GGP_GOSSIP_REJECT;
  if (m->len >= 3 && !memcmp(m->data, "meh", 3)) return GGP_GOSSIP_IGNORE;
  if (m->len >= 5 && !memcmp(m->data, "later", 5)) {
    memcpy(v->pending_id, m->msgid, m->msgid_len);
    v->pending_len = m->msgid_len;
    return GGP_GOSSIP_PENDING;
  }
  return GGP_GOSSIP_ACCEPT;
}

static void test_validator(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  start_nodes(&loop, 3, 4000, NULL);
  vstate v = {0};
  assert_int_equal(ggn_gossip_set_validator(gn[1].gs, TOPIC, validator, &v), GG_OK);
  subscribe_all(3);
  ht_connect_nodes(&loop, &hn[0], &hn[1]);
  ht_connect_nodes(&loop, &hn[1], &hn[2]);
  HT_RUN_UNTIL(&loop, in_mesh(1, 2) && in_mesh(1, 0), 5000);
  const gg_peerid *id0 = ggn_host_peer_id(hn[0].h);
  assert_int_equal(publish(0, "bad one", NULL), GG_OK);
  assert_int_equal(publish(0, "meh", NULL), GG_OK);
  HT_RUN_UNTIL(&loop, v.calls == 2, 5000);
  ht_run_for(&loop, 300);
  assert_int_equal(gn[1].got, 0);
  assert_int_equal(gn[2].got, 0);                        /* neither was forwarded */
  assert_true(ggn_gossip_peer_score(gn[1].gs, id0) < 0); /* P4 for the rejected one */
  assert_int_equal(publish(0, "later", NULL), GG_OK);
  HT_RUN_UNTIL(&loop, v.pending_len > 0, 5000);
  ht_run_for(&loop, 200);
  assert_int_equal(gn[2].got, 0); /* held until the answer */
  assert_int_equal(
      ggn_gossip_validation_result(gn[1].gs, v.pending_id, v.pending_len, GGP_GOSSIP_ACCEPT),
      GG_OK);
  HT_RUN_UNTIL(&loop, gn[2].got == 1, 5000);
  assert_string_equal(gn[2].last, "later");
  assert_int_equal(gn[1].got, 1);
  assert_int_equal(
      ggn_gossip_validation_result(gn[1].gs, v.pending_id, v.pending_len, GGP_GOSSIP_ACCEPT),
      GG_ENOTFOUND);
  /* removing the validator lets everything through */
  assert_int_equal(ggn_gossip_set_validator(gn[1].gs, TOPIC, NULL, NULL), GG_OK);
  assert_int_equal(publish(0, "bad but unchecked", NULL), GG_OK);
  HT_RUN_UNTIL(&loop, gn[2].got == 2, 5000);
  assert_int_equal(gn[2].got, 2);
  close_all(&loop, 3);
}

/* ---- raw peers: speaking the wire by hand ------------------------------------------------------
 */

typedef struct raw {
  ht_node n;
  ggn_stream *out; /* our stream to the victim */
  int opened, open_err;
  int in_streams; /* streams the victim opened to us */
  int pause;      /* 1: never read them */
  size_t in_bytes;
  int in_closed;
} raw;

static void raw_in_data(ggn_stream *s, const uint8_t *p, size_t n, void *ud) {
  (void)s;
  (void)p;
  ((raw *)ud)->in_bytes += n;
}
static void raw_in_close(ggn_stream *s, int err, void *ud) {
  (void)s;
  (void)err;
  ((raw *)ud)->in_closed++;
}

static void raw_handler(ggn_stream *s, void *ud) {
  raw *r = ud;
  static const ggn_stream_callbacks cbs = {.on_data = raw_in_data, .on_close = raw_in_close};
  ggn_stream_set_callbacks(s, &cbs, r);
  r->in_streams++;
  if (r->pause) ggn_stream_pause(s, 1);
}

static void raw_opened(ggn_stream *s, int err, void *ud) {
  raw *r = ud;
  r->opened = 1;
  r->open_err = err;
  r->out = s;
}

static void raw_out_close(ggn_stream *s, int err, void *ud) {
  (void)s;
  (void)err;
  ((raw *)ud)->out = NULL;
}

static void raw_start(uv_loop_t *loop, raw *r, uint64_t seed, int pause) {
  memset(r, 0, sizeof(*r));
  r->pause = pause;
  ht_node_start(&r->n, loop, NULL, seed);
  assert_int_equal(ggn_host_handle(r->n.h, GGP_GOSSIP_PROTO_V11, raw_handler, r), GG_OK);
}

/* Connects r to a node and opens r's stream to it. */
static void raw_open(uv_loop_t *loop, raw *r, ht_node *victim) {
  ht_connect_nodes(loop, &r->n, victim);
  const char *protos[] = {GGP_GOSSIP_PROTO_V11};
  assert_int_equal(
      ggn_host_open_stream(r->n.h, ggn_host_peer_id(victim->h), protos, 1, raw_opened, r), GG_OK);
  HT_RUN_UNTIL(loop, r->opened, 5000);
  assert_int_equal(r->open_err, GG_OK);
  static const ggn_stream_callbacks cbs = {.on_close = raw_out_close};
  ggn_stream_set_callbacks(r->out, &cbs, r);
}

static void raw_send(raw *r, const GossipsubPb__RPC *rpc) {
  size_t len = gossipsub_pb__rpc__get_packed_size(rpc);
  uint8_t *b = malloc(len + 1);
  gossipsub_pb__rpc__pack(rpc, b);
  assert_non_null(r->out);
  assert_true(ggn_stream_write_msg(r->out, b, len) >= 0);
  free(b);
}

static void raw_send_bytes(raw *r, const void *p, size_t n) {
  assert_non_null(r->out);
  assert_true(ggn_stream_write_msg(r->out, p, n) >= 0);
}

static void raw_subscribe_graft(raw *r, const char *topic) {
  GossipsubPb__RPC__SubOpts so = GOSSIPSUB_PB__RPC__SUB_OPTS__INIT, *sop = &so;
  so.has_subscribe = 1;
  so.subscribe = 1;
  so.topic = (char *)topic;
  GossipsubPb__ControlGraft gr = GOSSIPSUB_PB__CONTROL_GRAFT__INIT, *grp = &gr;
  gr.topicid = (char *)topic;
  GossipsubPb__ControlMessage c = GOSSIPSUB_PB__CONTROL_MESSAGE__INIT;
  c.n_graft = 1;
  c.graft = &grp;
  GossipsubPb__RPC rpc = GOSSIPSUB_PB__RPC__INIT;
  rpc.n_subscriptions = 1;
  rpc.subscriptions = &sop;
  rpc.control = &c;
  raw_send(r, &rpc);
}

/* Sends count messages of r's key in one RPC; corrupt: the signature is broken. */
static void raw_publish(raw *r, const char *topic, uint64_t seqno0, size_t count, size_t size,
                        int corrupt) {
  GossipsubPb__Message **pm = calloc(count, sizeof(*pm));
  uint8_t *data = calloc(1, size + 1);
  for (size_t i = 0; i < count; i++) {
    gg_buf b;
    gg_buf_init(&b, NULL, 1 << 20);
    snprintf((char *)data, size + 1, "raw %llu", (unsigned long long)(seqno0 + i));
    assert_int_equal(ggp_gossip_sign_message(&r->n.kp, topic, data, size, seqno0 + i, 0, &b),
                     GG_OK);
    pm[i] = gossipsub_pb__message__unpack(NULL, gg_buf_len(&b), gg_buf_ptr(&b));
    assert_non_null(pm[i]);
    if (corrupt) pm[i]->signature.data[3] ^= 0x40;
    gg_buf_free(&b);
  }
  GossipsubPb__RPC rpc = GOSSIPSUB_PB__RPC__INIT;
  rpc.n_publish = count;
  rpc.publish = pm;
  raw_send(r, &rpc);
  for (size_t i = 0; i < count; i++) gossipsub_pb__message__free_unpacked(pm[i], NULL);
  free(pm);
  free(data);
}

/* ---- a peer that does not read ----------------------------------------------------------------
 */

static void test_slow_reader_dropped(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  ggp_gossip_settings r = fast_router();
  ggn_gossip_settings st = {.router = &r, .max_queue = 256 * 1024, .stall_timeout = GG_MS(800)};
  start_nodes(&loop, 1, 5000, &st);
  raw slow;
  raw_start(&loop, &slow, 5099, 1);
  raw_open(&loop, &slow, &hn[0]);
  raw_subscribe_graft(&slow, TOPIC);
  HT_RUN_UNTIL(&loop, ggp_gossip_topic_peers(ggn_gossip_router(gn[0].gs), TOPIC) == 1, 5000);
  assert_int_equal(slow.in_streams, 1);
  /* 32 KiB messages, 10 every 20 ms, towards a peer that reads nothing: Yamux takes what the
   * peer's window allows, the queue 256 KiB more, the rest is dropped; the queue never drains,
   * so after stall_timeout the peer is dropped */
  static uint8_t big[32 * 1024];
  ggn_gossip_stats gst;
  int i = 0;
  gg_ts end = uv_hrtime() + GG_SEC(5);
  while (router_peers(0) == 1 && uv_hrtime() < end) {
    for (int k = 0; k < 10; k++, i++) {
      big[0] = (uint8_t)i;
      big[1] = (uint8_t)(i >> 8);
      assert_int_equal(ggn_gossip_publish(gn[0].gs, TOPIC, big, sizeof big, NULL, NULL, NULL),
                       GG_OK);
    }
    ht_run_for(&loop, 20);
  }
  assert_int_equal(router_peers(0), 0);
  ggn_gossip_get_stats(gn[0].gs, &gst);
  assert_int_equal(gst.stalled, 1);
  assert_int_equal(gst.out_streams, 0);
  assert_true(gst.rpcs_dropped > 50);
  assert_true(gst.bytes_dropped > 50u * sizeof big);
  /* what was taken: at most the peer's window and Yamux's buffer (<= 512 KiB here) plus the
   * queue bound (256 KiB) plus one RPC */
  assert_true((gst.rpcs_sent - 3) * (sizeof big + 100) <= (512 + 256 + 33) * 1024);
  assert_int_equal(slow.in_bytes, 0);
  ggn_host_close(slow.n.h, ht_node_closed, &slow.n);
  close_all(&loop, 1);
}

/* ---- misbehaving peers ------------------------------------------------------------------------
 */

/* Four honest nodes in a ring and an attacker connected to nodes 0 and 1. */
static void attack_setup(uv_loop_t *loop, raw *evil, uint64_t seed) {
  start_nodes(loop, 4, seed, NULL);
  subscribe_all(4);
  for (int i = 0; i < 4; i++) ht_connect_nodes(loop, &hn[i], &hn[(i + 1) % 4]);
  /* the ring's meshes are complete before the attack (a message published while they form
   * may miss a node that joins a mesh after the message passed) */
  int ok = 0;
  gg_ts end = uv_hrtime() + GG_SEC(10);
  while (!ok && uv_hrtime() < end) {
    ht_run_once(loop);
    ok = 1;
    for (int i = 0; i < 4; i++) ok &= in_mesh(i, (i + 1) % 4) && in_mesh((i + 1) % 4, i);
  }
  assert_true(ok);
  raw_start(loop, evil, seed + 99, 0);
  raw_open(loop, evil, &hn[0]);
  raw_subscribe_graft(evil, TOPIC);
  HT_RUN_UNTIL(loop, ggp_gossip_topic_peers(ggn_gossip_router(gn[0].gs), TOPIC) == 3, 5000);
  assert_int_equal(ggp_gossip_topic_peers(ggn_gossip_router(gn[0].gs), TOPIC), 3);
}

/* After an attack: the attacker is graylisted at node 0, what it sends now is ignored, honest
 * messages still reach every honest node, and node 0's tables are within their caps. */
static void attack_check(uv_loop_t *loop, raw *evil) {
  const gg_peerid *eid = ggn_host_peer_id(evil->n.h);
  ggp_gossip_settings def;
  ggp_gossip_settings_default(&def);
  HT_RUN_UNTIL(loop, ggn_gossip_peer_score(gn[0].gs, eid) < def.score.graylist_threshold, 5000);
  double score = ggn_gossip_peer_score(gn[0].gs, eid);
  assert_true(score < def.score.graylist_threshold);
  ggp_gossip_stats before, after;
  ggp_gossip_get_stats(ggn_gossip_router(gn[0].gs), &before);
  raw_publish(evil, TOPIC, 900000, 10, 32, 0); /* valid messages, but from a graylisted peer */
  HT_RUN_UNTIL(loop, router_stats(0).rpcs_graylisted > before.rpcs_graylisted, 5000);
  ggp_gossip_get_stats(ggn_gossip_router(gn[0].gs), &after);
  assert_true(after.rpcs_graylisted > before.rpcs_graylisted);
  assert_int_equal(after.msgs_in, before.msgs_in);
  /* honest delivery goes on */
  int got0[4];
  for (int i = 0; i < 4; i++) got0[i] = gn[i].got;
  assert_int_equal(publish(2, "honest after the attack", NULL), GG_OK);
  int all = 0;
  /* (10 s: after a flood, honest relayers may have drained one another's message budgets; the
   * next copy or the IWANT after a heartbeat gets through once they refill) */
  gg_ts end = uv_hrtime() + GG_SEC(10);
  while (!all && uv_hrtime() < end) {
    ht_run_once(loop);
    all = 1;
    for (int i = 0; i < 4; i++)
      if (i != 2) all &= gn[i].got == got0[i] + 1 && !strcmp(gn[i].last, "honest after the attack");
  }
  for (int i = 0; i < 4; i++)
    if (!all)
      fprintf(stderr, "node %d: %d messages (%d before), last '%s'\n", i, gn[i].got, got0[i],
              gn[i].last);
  assert_true(all);
  /* memory: every table within its cap */
  assert_true(after.mcache_msgs <= def.mcache_cap);
  assert_true(after.mcache_bytes <= def.mcache_bytes);
  assert_true(after.seen <= def.seen_cap);
  assert_true(after.pending <= def.max_pending);
  assert_true(after.promises <= def.max_promises);
  assert_true(after.peers <= 5);
}

static void test_attack_invalid_signatures(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  raw evil;
  attack_setup(&loop, &evil, 6000);
  for (int i = 0; i < 8; i++) raw_publish(&evil, TOPIC, 100 + (uint64_t)i * 10, 1, 64, 1);
  attack_check(&loop, &evil);
  ggp_gossip_stats st;
  ggp_gossip_get_stats(ggn_gossip_router(gn[0].gs), &st);
  assert_true(st.msgs_invalid >= 5);
  for (int i = 0; i < 4; i++) assert_null(strstr(gn[i].last, "raw ")); /* none delivered */
  ggn_host_close(evil.n.h, ht_node_closed, &evil.n);
  close_all(&loop, 4);
}

static void test_attack_malformed_rpcs(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  raw evil;
  attack_setup(&loop, &evil, 7000);
  static const uint8_t junk[][8] = {
      {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, /* bad varint */
      {0x12, 0x7f, 0x01, 0x02},                         /* length past the end */
      {0x0f, 0x00},                                     /* wire type 7 */
      {0x22, 0x03, 0x0a, 0x05, 0x41},                   /* nested overrun */
  };
  static const size_t jl[] = {8, 4, 2, 5};
  for (int i = 0; i < 8; i++) raw_send_bytes(&evil, junk[i % 4], jl[i % 4]);
  /* three malformed RPCs cost 3 x P7 (-10 x 3^2 = -90): graylisted, the rest is ignored */
  HT_RUN_UNTIL(&loop, router_stats(0).rpcs_graylisted >= 1, 5000);
  assert_int_equal(router_stats(0).rpcs_malformed, 3);
  attack_check(&loop, &evil);
  ggn_host_close(evil.n.h, ht_node_closed, &evil.n);
  close_all(&loop, 4);
}

static void test_attack_flood(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  raw evil;
  attack_setup(&loop, &evil, 8000);
  /* 6,000 valid messages in 60 RPCs at once: far over the per-peer message rate (500/s,
   * burst 2,000) */
  gg_ts t0 = uv_hrtime();
  for (int i = 0; i < 60; i++) raw_publish(&evil, TOPIC, 10000 + (uint64_t)i * 100, 100, 40, 0);
  attack_check(&loop, &evil);
  double secs = (double)(uv_hrtime() - t0) / 1e9;
  ggp_gossip_stats st;
  ggp_gossip_get_stats(ggn_gossip_router(gn[0].gs), &st);
  assert_true(st.rpcs_rate_limited > 0);
  /* node 0 took the burst and the refill while the flood lasted, not the flood */
  assert_true((double)st.msgs_first <= 2000 + 500 * secs + 1);
  assert_true(st.msgs_first < 6000);
  ggn_host_close(evil.n.h, ht_node_closed, &evil.n);
  close_all(&loop, 4);
}

/* Peer exchange: A prunes B (leaving the topic) and offers C; B, which knows C's address but
 * is not connected to it, dials C and gossips with it. */
static void test_px_dial(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  memset(gn, 0, sizeof(gn));
  ggp_gossip_settings ra = fast_router(), rb = fast_router(), rc = fast_router();
  ra.do_px = 1;
  rb.score.accept_px_threshold = 0; /* A's score at B is 0 at first: take its offers */
  const ggp_gossip_settings *rs[3] = {&ra, &rb, &rc};
  for (int i = 0; i < 3; i++) {
    ggn_gossip_settings st = {.router = rs[i]};
    ht_node_start(&hn[i], &loop, NULL, 9500 + (uint64_t)i);
    assert_int_equal(ggn_gossip_new(&gn[i].gs, hn[i].h, &st), GG_OK);
  }
  subscribe_all(3);
  ht_connect_nodes(&loop, &hn[0], &hn[1]);
  ht_connect_nodes(&loop, &hn[0], &hn[2]);
  assert_int_equal(ggn_host_add_addr(hn[1].h, ggn_host_peer_id(hn[2].h), &hn[2].addr), GG_OK);
  HT_RUN_UNTIL(&loop, in_mesh(0, 1) && in_mesh(0, 2), 5000);
  assert_true(in_mesh(0, 1) && in_mesh(0, 2));
  assert_int_equal(router_peers(1), 1);
  assert_int_equal(ggn_gossip_unsubscribe(gn[0].gs, TOPIC), GG_OK);
  HT_RUN_UNTIL(&loop, router_peers(1) == 2 && in_mesh(1, 2), 5000);
  assert_int_equal(router_peers(1), 2);
  ggn_gossip_stats st;
  ggn_gossip_get_stats(gn[1].gs, &st);
  assert_int_equal(st.px_dials, 1);
  assert_non_null(ggn_host_conn_to(hn[1].h, ggn_host_peer_id(hn[2].h)));
  assert_int_equal(publish(2, "over the exchanged link", NULL), GG_OK);
  HT_RUN_UNTIL(&loop, gn[1].got == 1, 5000);
  assert_string_equal(gn[1].last, "over the exchanged link");
  close_all(&loop, 3);
}

/* ---- life cycle ---------------------------------------------------------------------------------
 */

static void test_close_inside_handler(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  start_nodes(&loop, 2, 9000, NULL);
  subscribe_all(2);
  ht_connect_nodes(&loop, &hn[0], &hn[1]);
  HT_RUN_UNTIL(&loop, ggp_gossip_topic_peers(ggn_gossip_router(gn[0].gs), TOPIC) == 1, 5000);
  gn[1].close_in_handler = 1;
  assert_int_equal(publish(0, "close me", NULL), GG_OK);
  HT_RUN_UNTIL(&loop, gn[1].gs == NULL, 5000);
  assert_null(gn[1].gs);
  /* node 0 loses the peer when node 1's streams are reset */
  HT_RUN_UNTIL(&loop, router_peers(0) == 0, 5000);
  assert_int_equal(router_peers(0), 0);
  close_all(&loop, 2);
}

static void test_new_errors_and_alloc_failures(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  ht_node n;
  ht_node_start(&n, &loop, NULL, 9900);
  ggn_gossip *gs = NULL;
  ggn_gossip_settings bad = {.max_version = 13};
  assert_int_equal(ggn_gossip_new(&gs, n.h, &bad), GG_EINVAL);
  ggp_gossip_settings r;
  ggp_gossip_settings_default(&r);
  r.d_lo = 9; /* > d */
  ggn_gossip_settings bad2 = {.router = &r};
  assert_int_equal(ggn_gossip_new(&gs, n.h, &bad2), GG_EINVAL);
  assert_null(gs);
  /* only 1.1 and 1.0 offered */
  ggn_gossip_settings v11 = {.max_version = GGP_GOSSIP_V11};
  assert_int_equal(ggn_gossip_new(&gs, n.h, &v11), GG_OK);
  const char *p[32];
  size_t np = ggn_host_protocols(n.h, p, 32);
  int has12 = 0, has11 = 0;
  for (size_t i = 0; i < np; i++) {
    has12 |= !strcmp(p[i], GGP_GOSSIP_PROTO_V12);
    has11 |= !strcmp(p[i], GGP_GOSSIP_PROTO_V11);
  }
  assert_false(has12);
  assert_true(has11);
  assert_int_equal(ggn_gossip_subscribe(gs, "", NULL, NULL), GG_EINVAL);
  gnode g = {0};
  ggn_gossip_close(gs, gs_closed, &g);
  HT_RUN_UNTIL(&loop, g.closed, 2000);
  assert_true(g.closed);
  /* the handlers are gone with the service */
  np = ggn_host_protocols(n.h, p, 32);
  for (size_t i = 0; i < np; i++) assert_null(strstr(p[i], "meshsub"));
  ht_close_nodes(&loop, &n, 1);
}

/* Every allocation of ggn_gossip_new failing in turn: an error, nothing leaked, nothing left
 * registered; then a service made with the same allocator works and frees everything. */
static void test_alloc_failures(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  gg_failmem fm;
  gg_failmem_init(&fm, -1);
  ggn_host_settings hs = ht_base_settings();
  hs.mem = &fm.mem;
  ht_node n;
  ht_node_start(&n, &loop, &hs, 9950);
  const char *p[32];
  size_t np0 = ggn_host_protocols(n.h, p, 32);
  long live0 = fm.live;
  ggn_gossip *gs = NULL;
  int rv = GG_ENOMEM;
  long k;
  for (k = 0; k < 200 && rv != GG_OK; k++) {
    fm.fail_after = fm.nallocs + k;
    rv = ggn_gossip_new(&gs, n.h, NULL);
    if (rv != GG_OK) {
      assert_int_equal(rv, GG_ENOMEM);
      assert_null(gs);
      /* the host keeps the names of protocols once registered until it closes (streams may
       * point at them): at most our three */
      assert_true(fm.live >= live0 && fm.live <= live0 + 3);
      assert_int_equal(ggn_host_protocols(n.h, p, 32), np0);
    }
  }
  assert_int_equal(rv, GG_OK);
  assert_true(k > 3);
  fm.fail_after = -1;
  assert_int_equal(ggn_gossip_subscribe(gs, TOPIC, NULL, NULL), GG_OK);
  gnode g = {0};
  ggn_gossip_close(gs, gs_closed, &g);
  HT_RUN_UNTIL(&loop, g.closed, 2000);
  assert_true(g.closed);
  assert_true(fm.live <= live0 + 3);
  ht_close_nodes(&loop, &n, 1);
  assert_int_equal(fm.live, 0);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_line_of_five),
      cmocka_unit_test(test_full_mesh_of_eight),
      cmocka_unit_test(test_connection_loss_removes_peer),
      cmocka_unit_test(test_non_gossip_peer_and_late_subscribe),
      cmocka_unit_test(test_validator),
      cmocka_unit_test(test_slow_reader_dropped),
      cmocka_unit_test(test_attack_invalid_signatures),
      cmocka_unit_test(test_attack_malformed_rpcs),
      cmocka_unit_test(test_attack_flood),
      cmocka_unit_test(test_px_dial),
      cmocka_unit_test(test_close_inside_handler),
      cmocka_unit_test(test_new_errors_and_alloc_failures),
      cmocka_unit_test(test_alloc_failures),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
