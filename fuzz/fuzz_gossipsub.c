/*
 * Fuzz target: the Gossipsub router fed arbitrary RPCs from its peers, with the fuzzer also
 * choosing timestamps, the validator's answers and an allocation failure point.
 *
 * Input: byte 0 chooses the validator (accept / reject / ignore / pending, or by data), byte 1
 * the allocation that fails first (0: none, else 1..255 * 8). The rest is a sequence of records
 * <op><len:2 little-endian><len bytes>: op & 3 is the sending peer (4 peers: v1.2, v1.1, v1.0,
 * floodsub), op >> 2 the number of 100 ms steps the clock advances first (timers run).
 * Setup: the router is subscribed to two topics, the peers are subscribed, meshes formed, and
 * one message is cached, so that IWANT, GRAFT, PRUNE and duplicates have something to hit.
 */
#include <stdlib.h>
#include <string.h>

#include "ggen/err.h"
#include "ggen/gossipsub.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct fmem {
  gg_mem mem;
  long left; /* allocations before failing; < 0: never */
} fmem;

static int fm_fail(fmem *f) {
  if (f->left < 0) return 0;
  if (f->left == 0) return 1;
  f->left--;
  return 0;
}
static void *f_malloc(size_t n, void *ud) { return fm_fail(ud) ? NULL : malloc(n); }
static void f_free(void *p, void *ud) {
  (void)ud;
  free(p);
}
static void *f_calloc(size_t a, size_t b, void *ud) { return fm_fail(ud) ? NULL : calloc(a, b); }
static void *f_realloc(void *p, size_t n, void *ud) { return fm_fail(ud) ? NULL : realloc(p, n); }

static int mode;
static uint8_t pend[GGP_GOSSIP_MSGID_MAX];
static size_t pend_len;

static int f_send(ggp_gossip *g, const gg_peerid *p, const uint8_t *r, size_t l, void *ud) {
  (void)g, (void)p, (void)r, (void)l, (void)ud;
  return 0;
}

static int f_validate(ggp_gossip *g, const ggp_gossip_msg *m, void *ud) {
  (void)g, (void)ud;
  if (m->msgid_len <= sizeof(pend)) {
    memcpy(pend, m->msgid, m->msgid_len);
    pend_len = m->msgid_len;
  }
  if (mode < 4) return mode;
  return m->len ? m->data[0] & 3 : GGP_GOSSIP_ACCEPT;
}

static void f_px(ggp_gossip *g, const char *t, const ggp_gossip_px *px, size_t n, void *ud) {
  (void)g, (void)t, (void)px, (void)n, (void)ud;
}

static double f_app(ggp_gossip *g, const gg_peerid *p, void *ud) {
  (void)g, (void)ud;
  return p->b[p->len - 1] & 1 ? 2.0 : 0.0;
}

static void key(gg_keypair *kp, uint8_t n) {
  uint8_t seed[32] = {n, 0x42};
  gg_keypair_from_seed(kp, seed);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) return 0;
  mode = data[0] % 5;
  fmem fm = {{NULL, f_malloc, f_free, f_calloc, f_realloc}, data[1] ? (long)data[1] * 8 : -1};
  fm.mem.ud = &fm;
  data += 2;
  size -= 2;
  gg_rand_seeded r;
  gg_rand_seeded_init(&r, 7);
  ggp_gossip_settings s;
  ggp_gossip_settings_default(&s);
  s.do_px = 1;
  s.max_rpc_size = 1 << 16;
  s.max_message_size = 1 << 15;
  ggp_gossip_callbacks cb = {
      .send_rpc = f_send, .validate = f_validate, .px_peers = f_px, .app_score = f_app};
  gg_keypair self, other;
  key(&self, 0);
  ggp_gossip *g;
  if (ggp_gossip_new(&g, &cb, &s, &self, &r.r, &fm.mem, NULL) != GG_OK) return 0;
  gg_ts t = 1000000000000ull;
  ggp_gossip_handle_expiry(g, t);
  ggp_gossip_subscribe(g, "a", t);
  ggp_gossip_subscribe(g, GGP_GOSSIP_TOPIC_PACKAGES, t);
  static const int versions[4] = {GGP_GOSSIP_V12, GGP_GOSSIP_V11, GGP_GOSSIP_V10,
                                  GGP_GOSSIP_FLOODSUB};
  gg_peerid ids[4];
  for (uint8_t i = 0; i < 4; i++) {
    key(&other, (uint8_t)(i + 1));
    gg_peerid_from_ed25519(&ids[i], other.pub);
    ggp_gossip_add_peer(g, &ids[i], versions[i], i & 1 ? GGP_GOSSIP_OUTBOUND : 0, t);
    const uint8_t ip[4] = {10, 0, 0, (uint8_t)(i >> 1)};
    ggp_gossip_set_peer_ip(g, &ids[i], ip, 4);
    /* SubOpts{subscribe: true, topic: "a"} */
    const uint8_t sub[] = {0x0a, 0x05, 0x08, 0x01, 0x12, 0x01, 'a'};
    ggp_gossip_recv_rpc(g, &ids[i], sub, sizeof(sub), t);
  }
  t += GG_MS(1200);
  ggp_gossip_handle_expiry(g, t);
  ggp_gossip_publish(g, "a", (const uint8_t *)"cached", 6, t, NULL, NULL, NULL);
  while (size >= 3) {
    uint8_t op = data[0];
    size_t len = (size_t)data[1] | (size_t)data[2] << 8;
    data += 3;
    size -= 3;
    if (len > size) len = size;
    t += GG_MS(100) * (op >> 2);
    if (op >> 2) ggp_gossip_handle_expiry(g, t);
    ggp_gossip_recv_rpc(g, &ids[op & 3], data, len, t);
    if (mode == GGP_GOSSIP_PENDING && pend_len && (op & 0x40))
      ggp_gossip_validation_result(g, pend, pend_len,
                                   op & 1 ? GGP_GOSSIP_REJECT : GGP_GOSSIP_ACCEPT, t);
    data += len;
    size -= len;
  }
  t += GG_SEC(3);
  ggp_gossip_handle_expiry(g, t);
  ggp_gossip_remove_peer(g, &ids[1], t);
  ggp_gossip_del(g);
  pend_len = 0;
  return 0;
}
