/*
 * Fuzz target: the Kademlia core's two parsers of remote input. The first byte selects:
 * even - the rest is an inbound request from a peer (ggp_kad_handle_request);
 * odd  - the rest is the reply to an outstanding GET_VALUE/GET_PROVIDERS/FIND_PEER query.
 * The core has a few routing-table entries and records so that replies have content.
 */
#include <stdlib.h>
#include <string.h>

#include "ggen/err.h"
#include "ggen/kad.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t last_req;

static int f_send(ggp_kad *k, uint64_t r, const ggp_kad_peerinfo *p, const uint8_t *m, size_t l, int e, void *ud) {
  (void)k, (void)p, (void)m, (void)l, (void)e, (void)ud;
  last_req = r;
  return 0;
}
static void f_done(ggp_kad *k, uint64_t q, const ggp_kad_result *r, void *ud) { (void)k, (void)q, (void)r, (void)ud; }
static int f_val(void *ud, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl) {
  (void)ud, (void)k, (void)kl;
  return vl && v[0] == 0 ? GG_EBADSIG : GG_OK;
}
static size_t f_sel(void *ud, const uint8_t *k, size_t kl, const gg_slice *v, size_t n) {
  (void)ud, (void)k, (void)kl, (void)v;
  return n - 1;
}

static void peer(gg_peerid *id, uint8_t n) {
  uint8_t seed[32] = {n};
  gg_keypair kp;
  gg_keypair_from_seed(&kp, seed);
  gg_peerid_from_ed25519(id, kp.pub);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  gg_rand_seeded r;
  gg_rand_seeded_init(&r, 1);
  ggp_kad_callbacks cb = {.send_request = f_send, .query_done = f_done};
  gg_peerid self, other;
  peer(&self, 1);
  ggp_kad *k;
  if (ggp_kad_new(&k, &cb, NULL, &self, &r.r, NULL, NULL)) return 0;
  ggp_kad_validator v = {"test", f_val, f_sel, NULL};
  ggp_kad_add_validator(k, &v);
  gg_ts t = 1000000000000ull;
  const uint8_t addr[8] = {0x04, 127, 0, 0, 1, 0x06, 0x0f, 0xa1};
  gg_slice a = {addr, 8};
  for (uint8_t i = 2; i < 12; i++) {
    peer(&other, i);
    ggp_kad_peerinfo pi = {other, &a, 1};
    ggp_kad_peer_seen(k, &pi, t);
  }
  peer(&other, 2);
  ggp_kad_record rec = {(const uint8_t *)"/test/a", 7, (const uint8_t *)"x", 1, t, 0};
  ggp_kad_load_record(k, &rec, t);
  gg_buf reply;
  gg_buf_init(&reply, NULL, 1 << 20);
  if (data[0] % 2 == 0) {
    ggp_kad_handle_request(k, &other, data + 1, size - 1, t, &reply);
  } else {
    uint64_t q;
    const uint8_t mh[34] = {0x12, 0x20};
    switch ((data[0] >> 1) % 3) {
    case 0: ggp_kad_get_value(k, (const uint8_t *)"/test/b", 7, 0, t, &q); break;
    case 1: ggp_kad_get_providers(k, mh, sizeof(mh), 0, t, &q); break;
    default: ggp_kad_find_peer(k, &other, t, &q); break;
    }
    ggp_kad_on_reply(k, last_req, data + 1, size - 1, t);
    ggp_kad_handle_expiry(k, t + 100000000000ull);
  }
  gg_buf_free(&reply);
  ggp_kad_del(k);
  return 0;
}
