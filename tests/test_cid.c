/*
 * Tests for CIDs (include/ggen/cid.h): the examples of the CID spec README, the v0/v1 pair of
 * the empty dag-pb node, the CIDv1 peer ids of the libp2p peer-ids vectors, every multibase
 * round trip, and the spec's decoding rules (no multibase v0, no version-0 varint, reserved
 * versions).
 */
#include "gg_test.h"

#include <jansson.h>
#include <string.h>

#include "ggen/cid.h"
#include "ggen/err.h"
#include "ggen/multibase.h"

static gg_cid parse_ok(const char *s) {
  gg_cid c;
  int rc = gg_cid_parse(&c, s, strlen(s));
  if (rc) fail_msg("parse %s: %s", s, gg_errname(rc));
  return c;
}

static void assert_str(const gg_cid *c, const char *want) {
  char out[GG_CID_STR_MAX];
  int n = gg_cid_to_str(c, out, sizeof(out));
  assert_int_equal(n, strlen(want));
  assert_string_equal(out, want);
}

static void assert_digest(const gg_cid *c, uint64_t code, const char *hex) {
  gg_mh mh;
  gg_cid_mh(c, &mh);
  assert_true(mh.code == code);
  size_t n;
  uint8_t *d = gg_test_unhex(hex, &n);
  assert_int_equal(mh.dlen, n);
  assert_memory_equal(mh.digest, d, n);
  free(d);
}

static void test_v0_and_v1(void **state) {
  (void)state;
  /* the empty unixfs directory: sha2-256 of the empty string, dag-pb */
  gg_cid c0 = parse_ok("QmdfTbBqBPQ7VNxZEYEj14VmRuZBkqFbiwReogJgS1zR1n");
  assert_int_equal(c0.version, 0);
  assert_true(c0.codec == GG_CODEC_DAG_PB);
  assert_int_equal(c0.len, 34);
  assert_digest(&c0, GG_MH_SHA2_256,
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  assert_str(&c0, "QmdfTbBqBPQ7VNxZEYEj14VmRuZBkqFbiwReogJgS1zR1n");
  gg_cid c1;
  gg_cid_to_v1(&c0, &c1);
  assert_int_equal(c1.version, 1);
  assert_str(&c1, "bafybeihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku");
  gg_cid p1 = parse_ok("bafybeihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku");
  assert_true(gg_cid_eq(&p1, &c1));
  assert_false(gg_cid_eq(&p1, &c0));
  assert_string_equal(gg_codec_name(p1.codec), "dag-pb");

  /* the CID spec README example: base58btc, cidv1, raw, sha2-256 */
  gg_cid r = parse_ok("zb2rhe5P4gXftAwvA4eXQ5HJwsER2owDyS9sKaQRRVQPn93bA");
  assert_int_equal(r.version, 1);
  assert_true(r.codec == GG_CODEC_RAW);
  assert_digest(&r, GG_MH_SHA2_256,
                "6e6ff7950a36187a801613426e858dce686cd7d7e3c0fc42ee0330072d245c95");
  assert_str(&r, "bafkreidon73zkcrwdb5iafqtijxildoonbwnpv7dyd6ef3qdgads2jc4su");
  gg_buf b;
  gg_buf_init(&b, NULL, 200);
  assert_int_equal(gg_cid_format(&r, 'z', &b), GG_OK);
  assert_int_equal(gg_buf_len(&b), 49);
  assert_memory_equal(gg_buf_ptr(&b), "zb2rhe5P4gXftAwvA4eXQ5HJwsER2owDyS9sKaQRRVQPn93bA", 49);
  gg_buf_free(&b);

  /* dag-cbor, base32 (an upper-case B prefix reads the same) */
  gg_cid d = parse_ok("BAFYREIHDB57FDYSX5H35URVXZ64ROS7ZVYWSHBER7ID6T6C6FEK37JGYFE");
  assert_true(d.codec == GG_CODEC_DAG_CBOR);
  assert_digest(&d, GG_MH_SHA2_256,
                "e30f7e51e257e9f7da46b7cfb9174bf9ae2d238491fa07e9f85e2915bfa4d829");
  assert_str(&d, "bafyreihdb57fdysx5h35urvxz64ros7zvywshber7id6t6c6fek37jgyfe");

  /* built from a hash: raw block "hello" */
  uint8_t mh[GG_MH_SHA256_LEN];
  gg_mh_sha256((const uint8_t *)"hello", 5, mh);
  gg_cid h;
  assert_int_equal(gg_cid_new(&h, 1, GG_CODEC_RAW, mh, sizeof(mh)), GG_OK);
  assert_str(&h, "bafkreibm6jg3ux5qumhcn2b3flc3tyu6dmlb4xa7u5bf44yegnrjhc4yeq");
  assert_int_equal(gg_cid_new(&h, 0, GG_CODEC_DAG_PB, mh, sizeof(mh)), GG_OK);
  assert_int_equal(h.version, 0);
}

/* CIDv1 libp2p-key peer ids of the peer-ids spec vectors: the multihash inside is the peer id
 * whose base58btc form the vectors give. */
static void test_peer_id_cids(void **state) {
  (void)state;
  char *path = gg_test_require_data("vectors/libp2p-peer-ids.json");
  json_error_t e;
  json_t *j = json_load_file(path, 0, &e);
  assert_non_null(j);
  const char *name;
  json_t *k;
  int n = 0;
  json_object_foreach(json_object_get(j, "keys"), name, k) {
    const char *cidtext = json_string_value(json_object_get(k, "derived_peer_id_cidv1_base32"));
    const char *b58 = json_string_value(json_object_get(k, "derived_peer_id_base58btc"));
    if (!cidtext || !b58) continue;
    gg_cid c = parse_ok(cidtext);
    assert_int_equal(c.version, 1);
    assert_true(c.codec == GG_CODEC_LIBP2P_KEY);
    gg_buf b;
    gg_buf_init(&b, NULL, 200);
    assert_int_equal(gg_base58btc_encode(c.b + c.mh_off, c.len - c.mh_off, &b), GG_OK);
    assert_int_equal(gg_buf_len(&b), strlen(b58));
    assert_memory_equal(gg_buf_ptr(&b), b58, strlen(b58));
    gg_buf_free(&b);
    assert_str(&c, cidtext);
    n++;
  }
  assert_int_equal(n, 4);
  json_decref(j);
  free(path);
}

static void test_all_bases_round_trip(void **state) {
  (void)state;
  gg_cid c = parse_ok("bafybeihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku");
  static const char bases[] = "079fFbBcCvVtTkKzZmMuU";
  for (const char *p = bases; *p; p++) {
    gg_buf b;
    gg_buf_init(&b, NULL, GG_CID_STR_MAX);
    assert_int_equal(gg_cid_format(&c, *p, &b), GG_OK);
    assert_int_equal(gg_buf_ptr(&b)[0], *p);
    gg_cid back;
    assert_int_equal(gg_cid_parse(&back, (const char *)gg_buf_ptr(&b), gg_buf_len(&b)), GG_OK);
    assert_true(gg_cid_eq(&back, &c));
    gg_buf_free(&b);
  }
  /* a v0 has only its bare base58btc form */
  gg_cid c0 = parse_ok("QmdfTbBqBPQ7VNxZEYEj14VmRuZBkqFbiwReogJgS1zR1n");
  gg_buf b;
  gg_buf_init(&b, NULL, GG_CID_STR_MAX);
  assert_int_equal(gg_cid_format(&c0, 'b', &b), GG_EINVAL);
  assert_int_equal(gg_cid_format(&c0, 'z', &b), GG_OK);
  assert_int_equal(gg_buf_ptr(&b)[0], 'Q');
  gg_buf_free(&b);
  assert_int_equal(gg_cid_format(&c, '?', &b), GG_EUNSUPPORTED);
}

static void test_decoding_rules(void **state) {
  (void)state;
  gg_cid c, keep;
  memset(&c, 0x5a, sizeof(c));
  keep = c;
  /* a multibase-encoded CIDv0 is not a CID (spec: first decoded byte 0x12) */
  gg_cid v0 = parse_ok("QmdfTbBqBPQ7VNxZEYEj14VmRuZBkqFbiwReogJgS1zR1n");
  gg_buf b;
  gg_buf_init(&b, NULL, 200);
  assert_int_equal(gg_multibase_encode('b', v0.b, v0.len, &b), GG_OK);
  assert_int_equal(gg_cid_parse(&c, (const char *)gg_buf_ptr(&b), gg_buf_len(&b)), GG_EPARSE);
  gg_buf_free(&b);
  /* a 46-character "Qm" string with a character outside base58 */
  assert_int_equal(gg_cid_parse(&c, "QmdfTbBqBPQ7VNxZEYEj14VmRuZBkqFbiwReogJgS1zR10", 46),
                   GG_EPARSE);
  assert_int_equal(gg_cid_parse(&c, "", 0), GG_EPARSE);
  assert_int_equal(gg_cid_parse(&c, "b", 1), GG_EPARSE);
  assert_int_equal(gg_cid_parse(&c, "?abc", 4), GG_EPARSE);
  assert_memory_equal(&c, &keep, sizeof(c)); /* untouched by every failure */

  uint8_t bin[40];
  memcpy(bin + 2, v0.b, 34);
  bin[0] = 0x00; /* version 0 written as a varint is malformed */
  bin[1] = 0x70;
  assert_int_equal(gg_cid_from_bytes(&c, bin, 36), GG_EPARSE);
  bin[0] = 0x02; /* reserved */
  assert_int_equal(gg_cid_from_bytes(&c, bin, 36), GG_EUNSUPPORTED);
  bin[0] = 0x01;
  assert_int_equal(gg_cid_from_bytes(&c, bin, 36), GG_OK);
  assert_int_equal(c.mh_off, 2);
  assert_int_equal(gg_cid_from_bytes(&c, bin, 35), GG_EPARSE); /* truncated multihash */
  assert_int_equal(gg_cid_from_bytes(&c, bin, 1), GG_EPARSE);
  assert_int_equal(gg_cid_from_bytes(&c, v0.b, 33), GG_EUNSUPPORTED); /* 0x12 = version 18 */

  /* gg_cid_new rules */
  uint8_t mh[GG_MH_SHA256_LEN];
  gg_mh_sha256((const uint8_t *)"x", 1, mh);
  assert_int_equal(gg_cid_new(&c, 0, GG_CODEC_RAW, mh, sizeof(mh)), GG_EINVAL);
  assert_int_equal(gg_cid_new(&c, 2, GG_CODEC_RAW, mh, sizeof(mh)), GG_EINVAL);
  assert_int_equal(gg_cid_new(&c, 1, GG_CODEC_RAW, mh, sizeof(mh) - 1), GG_EPARSE);
  uint8_t trunc[12] = {0x12, 10};
  assert_int_equal(gg_cid_new(&c, 0, GG_CODEC_DAG_PB, trunc, sizeof(trunc)), GG_EINVAL);
  assert_int_equal(gg_cid_new(&c, 1, GG_CODEC_DAG_PB, trunc, sizeof(trunc)), GG_OK);
  /* an inline identity CID over the cap */
  uint8_t big[3 + 200] = {0x00, 0xc8, 0x01};
  assert_int_equal(gg_cid_new(&c, 1, GG_CODEC_RAW, big, sizeof(big)), GG_ETOOBIG);
  assert_null(gg_codec_name(0x3fff));
}

static void test_to_str_and_alloc(void **state) {
  (void)state;
  gg_cid c = parse_ok("zb2rhe5P4gXftAwvA4eXQ5HJwsER2owDyS9sKaQRRVQPn93bA");
  char small[59];
  assert_int_equal(gg_cid_to_str(&c, small, sizeof(small)), GG_EINVAL);
  char fits[60];
  assert_int_equal(gg_cid_to_str(&c, fits, sizeof(fits)), 59);
  gg_failmem fm;
  gg_failmem_init(&fm, 0);
  gg_buf b;
  gg_buf_init(&b, &fm.mem, 1000);
  assert_int_equal(gg_cid_format(&c, 'b', &b), GG_ENOMEM);
  gg_buf_free(&b);
  assert_int_equal(fm.live, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_v0_and_v1),
      cmocka_unit_test(test_peer_id_cids),
      cmocka_unit_test(test_all_bases_round_trip),
      cmocka_unit_test(test_decoding_rules),
      cmocka_unit_test(test_to_str_and_alloc),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
