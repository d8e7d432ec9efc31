/*
 * Tests for the /ggen-pkg/ DHT records (src/market/pkgrec.c): key building and parsing, the
 * validator (signed release whose id and version match the key; tampering, mismatch and
 * garbage refused) and the selector (newest publish time, then bytes, whatever the order),
 * and the validator installed in a Kademlia core.
 */
#include "gg_test.h"

#include <string.h>

#include "ggen/err.h"
#include "ggen/kad.h"
#include "ggen/pack.h"
#include "ggen/pkgrec.h"
#include "ggen/release.h"

static void keypair(gg_keypair *kp, uint8_t seed_byte) {
  uint8_t seed[32];
  memset(seed, seed_byte, sizeof(seed));
  gg_keypair_from_seed(kp, seed);
}

/* A signed record for id@version published at t. */
static void record(const char *id, const char *version, uint64_t t, uint8_t key_seed, gg_buf *out) {
  ggm_release r = {0};
  r.id = id;
  r.version = version;
  r.name = "Test package";
  ggm_pack_cid_of((const uint8_t *)"archive", 7, r.archive_cid);
  r.archive_size = 7;
  r.publish_time = t;
  gg_keypair kp;
  keypair(&kp, key_seed);
  gg_buf_init(out, NULL, GGM_RELEASE_MAX);
  assert_int_equal(ggm_release_sign(&r, &kp, out, NULL), GG_OK);
}

static void key_of(const char *id, const char *version, gg_buf *k) {
  gg_buf_init(k, NULL, 1024);
  assert_int_equal(ggm_pkgrec_key(id, version, k), GG_OK);
}

static void test_keys(void **s) {
  (void)s;
  gg_buf k;
  key_of("io.ggen.rust.cli", "1.2.3-rc.1+b5", &k);
  assert_int_equal(gg_buf_len(&k), strlen("/ggen-pkg/io.ggen.rust.cli@1.2.3-rc.1+b5"));
  assert_memory_equal(gg_buf_ptr(&k), "/ggen-pkg/io.ggen.rust.cli@1.2.3-rc.1+b5", gg_buf_len(&k));
  gg_slice id, ver;
  assert_int_equal(ggm_pkgrec_parse_key(gg_buf_ptr(&k), gg_buf_len(&k), &id, &ver), GG_OK);
  assert_int_equal(id.len, strlen("io.ggen.rust.cli"));
  assert_memory_equal(id.p, "io.ggen.rust.cli", id.len);
  assert_int_equal(ver.len, strlen("1.2.3-rc.1+b5"));
  gg_buf_free(&k);
  /* refused: empty parts, separators, control characters, over the caps */
  gg_buf b;
  gg_buf_init(&b, NULL, 1024);
  assert_int_equal(ggm_pkgrec_key("", "1.0.0", &b), GG_EINVAL);
  assert_int_equal(ggm_pkgrec_key("a", "", &b), GG_EINVAL);
  assert_int_equal(ggm_pkgrec_key("a@b", "1.0.0", &b), GG_EINVAL);
  assert_int_equal(ggm_pkgrec_key("a/b", "1.0.0", &b), GG_EINVAL);
  assert_int_equal(ggm_pkgrec_key("a", "1.0\n", &b), GG_EINVAL);
  char longid[GGM_RELEASE_ID_MAX + 2];
  memset(longid, 'a', sizeof(longid) - 1);
  longid[sizeof(longid) - 1] = 0;
  assert_int_equal(ggm_pkgrec_key(longid, "1.0.0", &b), GG_EINVAL);
  assert_int_equal(gg_buf_len(&b), 0);
  /* a buffer too small is left as it was */
  gg_buf tiny;
  gg_buf_init(&tiny, NULL, 8);
  assert_int_equal(ggm_pkgrec_key("abc", "1.0.0", &tiny), GG_ETOOBIG);
  assert_int_equal(gg_buf_len(&tiny), 0);
  gg_buf_free(&tiny);
  static const char *bad[] = {"/ggen-pkg/",   "/ggen-pkg/a",  "/ggen-pkg/@1",    "/ggen-pkg/a@",
                              "/ggen-pk/a@1", "ggen-pkg/a@1", "/ggen-pkg/a@1@2", "/ggen-pkg/a/b@1"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    assert_int_equal(ggm_pkgrec_parse_key((const uint8_t *)bad[i], strlen(bad[i]), NULL, NULL),
                     GG_EINVAL);
  gg_buf_free(&b);
}

static void test_validate(void **s) {
  (void)s;
  gg_buf k, v;
  key_of("io.ggen.demo", "1.0.0", &k);
  record("io.ggen.demo", "1.0.0", 1767225600, 1, &v);
  assert_int_equal(
      ggm_pkgrec_validate(gg_buf_ptr(&k), gg_buf_len(&k), gg_buf_ptr(&v), gg_buf_len(&v)), GG_OK);
  /* the record of another version or package under this key */
  gg_buf k2, k3;
  key_of("io.ggen.demo", "1.0.1", &k2);
  key_of("io.ggen.demox", "1.0.0", &k3);
  assert_int_equal(
      ggm_pkgrec_validate(gg_buf_ptr(&k2), gg_buf_len(&k2), gg_buf_ptr(&v), gg_buf_len(&v)),
      GG_EINVAL);
  assert_int_equal(
      ggm_pkgrec_validate(gg_buf_ptr(&k3), gg_buf_len(&k3), gg_buf_ptr(&v), gg_buf_len(&v)),
      GG_EINVAL);
  /* a flipped byte anywhere: never accepted */
  for (size_t i = 0; i < gg_buf_len(&v); i++) {
    gg_buf_ptr(&v)[i] ^= 0x01;
    assert_int_not_equal(
        ggm_pkgrec_validate(gg_buf_ptr(&k), gg_buf_len(&k), gg_buf_ptr(&v), gg_buf_len(&v)), GG_OK);
    gg_buf_ptr(&v)[i] ^= 0x01;
  }
  /* garbage, empty, malformed key */
  assert_int_not_equal(
      ggm_pkgrec_validate(gg_buf_ptr(&k), gg_buf_len(&k), (const uint8_t *)"xyz", 3), GG_OK);
  assert_int_not_equal(ggm_pkgrec_validate(gg_buf_ptr(&k), gg_buf_len(&k), NULL, 0), GG_OK);
  assert_int_equal(
      ggm_pkgrec_validate((const uint8_t *)"/ggen-pkg/x", 11, gg_buf_ptr(&v), gg_buf_len(&v)),
      GG_EINVAL);
  gg_buf_free(&k);
  gg_buf_free(&k2);
  gg_buf_free(&k3);
  gg_buf_free(&v);
}

static void test_select(void **s) {
  (void)s;
  gg_buf k, old, newer, other, same_t;
  key_of("io.ggen.demo", "1.0.0", &k);
  record("io.ggen.demo", "1.0.0", 1000, 1, &old);
  record("io.ggen.demo", "1.0.0", 2000, 1, &newer);
  record("io.ggen.demo", "1.0.0", 2000, 2, &same_t); /* same time, another key: other bytes */
  gg_buf_init(&other, NULL, 16);
  gg_buf_append(&other, "junk", 4);
  gg_slice a[3] = {{gg_buf_ptr(&old), gg_buf_len(&old)},
                   {gg_buf_ptr(&newer), gg_buf_len(&newer)},
                   {gg_buf_ptr(&other), gg_buf_len(&other)}};
  assert_int_equal(ggm_pkgrec_select(gg_buf_ptr(&k), gg_buf_len(&k), a, 3), 1);
  gg_slice b[3] = {a[2], a[1], a[0]};
  assert_int_equal(ggm_pkgrec_select(gg_buf_ptr(&k), gg_buf_len(&k), b, 3), 1);
  gg_slice c[2] = {a[2], a[0]}; /* junk is never preferred */
  assert_int_equal(ggm_pkgrec_select(gg_buf_ptr(&k), gg_buf_len(&k), c, 2), 1);
  /* equal times: the same choice in both orders */
  gg_slice d[2] = {a[1], {gg_buf_ptr(&same_t), gg_buf_len(&same_t)}};
  gg_slice e[2] = {d[1], d[0]};
  size_t x = ggm_pkgrec_select(gg_buf_ptr(&k), gg_buf_len(&k), d, 2);
  size_t y = ggm_pkgrec_select(gg_buf_ptr(&k), gg_buf_len(&k), e, 2);
  assert_ptr_equal(d[x].p, e[y].p);
  gg_buf_free(&k);
  gg_buf_free(&old);
  gg_buf_free(&newer);
  gg_buf_free(&same_t);
  gg_buf_free(&other);
}

/* ---- in a Kademlia core ---------------------------------------------------------------------- */

static int k_send(ggp_kad *kad, uint64_t reqid, const ggp_kad_peerinfo *peer, const uint8_t *msg,
                  size_t len, int expect_reply, void *ud) {
  (void)kad, (void)reqid, (void)peer, (void)msg, (void)len, (void)expect_reply, (void)ud;
  return -1;
}
static void k_done(ggp_kad *kad, uint64_t qid, const ggp_kad_result *res, void *ud) {
  (void)kad, (void)qid, (void)res, (void)ud;
}

/* A PUT_VALUE request (kad-dht Message: type=1, key=2, record=3 {key=1, value=2}). */
static void put_msg(const gg_buf *k, const gg_buf *v, gg_buf *out) {
  gg_buf rec;
  gg_buf_init(&rec, NULL, 1 << 20);
  gg_buf_append_byte(&rec, 0x0a);
  gg_buf_append_varint(&rec, gg_buf_len(k));
  gg_buf_append(&rec, gg_buf_ptr(k), gg_buf_len(k));
  gg_buf_append_byte(&rec, 0x12);
  gg_buf_append_varint(&rec, gg_buf_len(v));
  gg_buf_append(&rec, gg_buf_ptr(v), gg_buf_len(v));
  gg_buf_init(out, NULL, 1 << 20);
  gg_buf_append(out, "\x08\x00", 2); /* PUT_VALUE = 0 */
  gg_buf_append_byte(out, 0x12);
  gg_buf_append_varint(out, gg_buf_len(k));
  gg_buf_append(out, gg_buf_ptr(k), gg_buf_len(k));
  gg_buf_append_byte(out, 0x1a);
  gg_buf_append_varint(out, gg_buf_len(&rec));
  gg_buf_append(out, gg_buf_ptr(&rec), gg_buf_len(&rec));
  gg_buf_free(&rec);
}

static void test_in_core(void **s) {
  (void)s;
  ggp_kad_callbacks cb = {.send_request = k_send, .query_done = k_done};
  gg_keypair kp;
  keypair(&kp, 9);
  gg_peerid self;
  gg_peerid_from_ed25519(&self, kp.pub);
  ggp_kad *kad;
  assert_int_equal(ggp_kad_new(&kad, &cb, NULL, &self, gg_rand_system(), NULL, NULL), GG_OK);
  gg_buf k, v1, v2;
  key_of("io.ggen.demo", "2.0.0", &k);
  record("io.ggen.demo", "2.0.0", 1000, 1, &v1);
  record("io.ggen.demo", "2.0.0", 3000, 1, &v2);
  gg_ts now = GG_SEC(1767225600);
  /* unknown namespace before registration */
  assert_int_not_equal(ggp_kad_put_value(kad, gg_buf_ptr(&k), gg_buf_len(&k), gg_buf_ptr(&v1),
                                         gg_buf_len(&v1), now, NULL),
                       GG_OK);
  ggp_kad_validator v;
  ggm_pkgrec_validator(&v);
  assert_int_equal(ggp_kad_add_validator(kad, &v), GG_OK);
  assert_int_equal(ggp_kad_put_value(kad, gg_buf_ptr(&k), gg_buf_len(&k), gg_buf_ptr(&v2),
                                     gg_buf_len(&v2), now, NULL),
                   GG_OK);
  assert_int_equal(
      ggp_kad_put_value(kad, gg_buf_ptr(&k), gg_buf_len(&k), (const uint8_t *)"x", 1, now, NULL),
      GG_EPARSE);
  /* a remote PUT of the older record does not replace the newer one (the reply echoes it) */
  gg_buf put, reply;
  put_msg(&k, &v1, &put);
  gg_buf_init(&reply, NULL, 1 << 20);
  gg_keypair okp;
  keypair(&okp, 10);
  gg_peerid other;
  gg_peerid_from_ed25519(&other, okp.pub);
  assert_int_equal(
      ggp_kad_handle_request(kad, &other, gg_buf_ptr(&put), gg_buf_len(&put), now, &reply), GG_OK);
  gg_buf_free(&put);
  /* a remote PUT of a tampered record is refused (the glue resets the stream) */
  gg_buf bad;
  gg_buf_init(&bad, NULL, GGM_RELEASE_MAX);
  gg_buf_append(&bad, gg_buf_ptr(&v2), gg_buf_len(&v2));
  gg_buf_ptr(&bad)[gg_buf_len(&bad) - 1] ^= 0x80;
  put_msg(&k, &bad, &put);
  assert_int_not_equal(
      ggp_kad_handle_request(kad, &other, gg_buf_ptr(&put), gg_buf_len(&put), now, &reply), GG_OK);
  gg_buf_free(&put);
  gg_buf_free(&bad);
  gg_buf_free(&reply);
  gg_buf got;
  gg_buf_init(&got, NULL, GGM_RELEASE_MAX);
  assert_int_equal(ggp_kad_get_local(kad, gg_buf_ptr(&k), gg_buf_len(&k), now, &got), GG_OK);
  assert_int_equal(gg_buf_len(&got), gg_buf_len(&v2));
  assert_memory_equal(gg_buf_ptr(&got), gg_buf_ptr(&v2), gg_buf_len(&v2));
  ggp_kad_handle_expiry(kad, now);
  ggp_kad_del(kad);
  gg_buf_free(&got);
  gg_buf_free(&k);
  gg_buf_free(&v1);
  gg_buf_free(&v2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_keys),
      cmocka_unit_test(test_validate),
      cmocka_unit_test(test_select),
      cmocka_unit_test(test_in_core),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
