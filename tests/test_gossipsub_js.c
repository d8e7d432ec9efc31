/*
 * Gossipsub wire compatibility with js-libp2p gossipsub 14.1.2 (pinned in interop/js), without a
 * network: interop/js/gossipsub-vectors.mjs uses js's own encoder, signer, validator and message
 * id function.
 *   - a message we sign is valid for js, and js computes the same message id as we do;
 *   - a message js signs has the id js says under our GGP_GOSSIP_MSGID_JS;
 *   - an RPC encoded by js (a subscription, that message and one control message of every kind)
 *     is processed by our router without error, and the message is delivered.
 * Skipped (not failed) when node or interop/js/node_modules is missing.
 */
#include "gg_test.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "ggen/err.h"
#include "ggen/gossipsub.h"

#define JS_DIR GGEN_SOURCE_DIR "/interop/js"

static char *line_after(char *out, const char *key) {
  size_t kl = strlen(key);
  for (char *p = out; p && *p;) {
    if (strncmp(p, key, kl) == 0 && p[kl] == ' ') {
      char *v = p + kl + 1, *e = strchr(v, '\n');
      size_t n = e ? (size_t)(e - v) : strlen(v);
      char *r = malloc(n + 1);
      memcpy(r, v, n);
      r[n] = 0;
      return r;
    }
    p = strchr(p, '\n');
    if (p) p++;
  }
  return NULL;
}

static int deliveries;
static char delivered[64];

static int t_send(ggp_gossip *g, const gg_peerid *p, const uint8_t *r, size_t l, void *ud) {
  (void)g, (void)p, (void)r, (void)l, (void)ud;
  return 0;
}

static void t_deliver(ggp_gossip *g, const ggp_gossip_msg *m, void *ud) {
  (void)g, (void)ud;
  deliveries++;
  size_t n = m->len < sizeof(delivered) - 1 ? m->len : sizeof(delivered) - 1;
  memcpy(delivered, m->data, n);
  delivered[n] = 0;
}

static void test_js_vectors(void **state) {
  (void)state;
  struct stat st;
  if (stat(JS_DIR "/node_modules/@chainsafe/libp2p-gossipsub", &st) != 0 ||
      system("node --version >/dev/null 2>&1") != 0)
    skip();
  uint8_t seed[32];
  for (int i = 0; i < 32; i++) seed[i] = (uint8_t)(100 + i);
  gg_keypair kp;
  gg_keypair_from_seed(&kp, seed);
  gg_buf ours;
  gg_buf_init(&ours, NULL, 4096);
  assert_int_equal(ggp_gossip_sign_message(&kp, GGP_GOSSIP_TOPIC_PACKAGES,
                                           (const uint8_t *)"hello from ggen", 15, 7, 0, &ours),
                   GG_OK);
  char *ours_hex = gg_test_hex(gg_buf_ptr(&ours), gg_buf_len(&ours));
  char cmd[8192];
  snprintf(cmd, sizeof(cmd), "cd '%s' && node gossipsub-vectors.mjs %s", JS_DIR, ours_hex);
  FILE *f = popen(cmd, "r");
  assert_non_null(f);
  static char out[65536];
  size_t n = fread(out, 1, sizeof(out) - 1, f);
  out[n] = 0;
  assert_int_equal(pclose(f), 0);

  /* js validates our message and computes our id */
  uint8_t id[GGP_GOSSIP_MSGID_MAX];
  int il = ggp_gossip_message_id(GGP_GOSSIP_MSGID_JS, gg_buf_ptr(&ours), gg_buf_len(&ours), id);
  assert_true(il > 0);
  char *id_hex = gg_test_hex(id, (size_t)il);
  char *js_ours = line_after(out, "ours");
  assert_non_null(js_ours);
  char want[512];
  snprintf(want, sizeof(want), "true %s", id_hex);
  assert_string_equal(js_ours, want);

  /* js's message: our id function gives js's id */
  char *mhex = line_after(out, "message"), *idhex = line_after(out, "msgid"),
       *rpchex = line_after(out, "rpc");
  assert_non_null(mhex);
  assert_non_null(idhex);
  assert_non_null(rpchex);
  size_t mlen, rlen;
  uint8_t *m = gg_test_unhex(mhex, &mlen), *rpc = gg_test_unhex(rpchex, &rlen);
  il = ggp_gossip_message_id(GGP_GOSSIP_MSGID_JS, m, mlen, id);
  char *jsid = gg_test_hex(id, (size_t)il);
  assert_string_equal(jsid, idhex);

  /* js's RPC through our router */
  gg_rand_seeded r;
  gg_rand_seeded_init(&r, 3);
  ggp_gossip_callbacks cb = {.send_rpc = t_send, .deliver = t_deliver};
  gg_keypair self;
  uint8_t s2[32] = {7};
  gg_keypair_from_seed(&self, s2);
  ggp_gossip *g;
  assert_int_equal(ggp_gossip_new(&g, &cb, NULL, &self, &r.r, NULL, NULL), GG_OK);
  gg_ts t = GG_SEC(10);
  ggp_gossip_handle_expiry(g, t);
  assert_int_equal(ggp_gossip_subscribe(g, GGP_GOSSIP_TOPIC_PACKAGES, t), GG_OK);
  gg_keypair other;
  uint8_t s3[32] = {8};
  gg_keypair_from_seed(&other, s3);
  gg_peerid js;
  gg_peerid_from_ed25519(&js, other.pub);
  assert_int_equal(ggp_gossip_add_peer(g, &js, GGP_GOSSIP_V12, 0, t), GG_OK);
  assert_int_equal(ggp_gossip_recv_rpc(g, &js, rpc, rlen, t), GG_OK);
  ggp_gossip_stats sts;
  ggp_gossip_get_stats(g, &sts);
  assert_int_equal(sts.rpcs_malformed, 0);
  assert_int_equal(sts.msgs_invalid, 0);
  assert_int_equal(deliveries, 1);
  assert_string_equal(delivered, "hello from js");
  assert_int_equal(ggp_gossip_topic_peers(g, GGP_GOSSIP_TOPIC_PACKAGES), 1);
  assert_int_equal(ggp_gossip_mesh_peers(g, GGP_GOSSIP_TOPIC_PACKAGES, 0, NULL, 0), 1);
  assert_int_equal(sts.ihave_in, 1);
  assert_int_equal(sts.iwant_in, 1);
  assert_int_equal(sts.graft_in, 1);
  assert_int_equal(sts.prune_in, 1);
  assert_int_equal(sts.idontwant_in, 1);
  ggp_gossip_del(g);
  free(m);
  free(rpc);
  free(jsid);
  free(mhex);
  free(idhex);
  free(rpchex);
  free(js_ours);
  free(id_hex);
  free(ours_hex);
  gg_buf_free(&ours);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_js_vectors)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
