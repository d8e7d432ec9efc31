/*
 * Keys and peer ids: RFC 8032 Ed25519 vectors, the libp2p peer-ids spec vectors (all four key
 * types, both text forms), private key files, and malformed key protobufs.
 */
#include "gg_test.h"

#include <jansson.h>
#include <string.h>

#include "ggen/err.h"
#include "ggen/key.h"
#include "ggen/peerid.h"

static json_t *load_json(const char *rel) {
  char *path = gg_test_require_data(rel);
  json_error_t e;
  json_t *j = json_load_file(path, 0, &e);
  free(path);
  assert_non_null(j);
  return j;
}

static uint8_t *hexfield(json_t *o, const char *k, size_t *n) {
  json_t *v = json_object_get(o, k);
  assert_non_null(v);
  uint8_t *b = gg_test_unhex(json_string_value(v), n);
  assert_non_null(b);
  return b;
}

static void test_rfc8032(void **s) {
  (void)s;
  json_t *j = load_json("vectors/ed25519-rfc8032.json");
  json_t *vs = json_object_get(j, "vectors");
  size_t i;
  json_t *v;
  int n = 0;
  json_array_foreach(vs, i, v) {
    size_t ls, lp, lm, lsig;
    uint8_t *seed = hexfield(v, "secret_seed", &ls);
    uint8_t *pub = hexfield(v, "public_key", &lp);
    uint8_t *msg = hexfield(v, "message", &lm);
    uint8_t *sig = hexfield(v, "signature", &lsig);
    gg_keypair kp;
    gg_keypair_from_seed(&kp, seed);
    assert_memory_equal(kp.pub, pub, 32);
    uint8_t got[64];
    gg_sign(&kp, msg, lm, got);
    assert_memory_equal(got, sig, 64);
    assert_int_equal(gg_verify(pub, msg, lm, sig, lsig), GG_OK);
    sig[lsig / 2] ^= 1;
    assert_int_equal(gg_verify(pub, msg, lm, sig, lsig), GG_EBADSIG);
    assert_int_equal(gg_verify(pub, msg, lm, sig, 63), GG_EBADSIG);
    free(seed), free(pub), free(msg), free(sig);
    n++;
  }
  assert_true(n >= 4);
  json_decref(j);
}

static void check_text_forms(const gg_peerid *id, const char *b58, const char *cid) {
  char out[GG_PEERID_TEXT_MAX];
  assert_true(gg_peerid_to_b58(id, out, sizeof(out)) > 0);
  assert_string_equal(out, b58);
  assert_true(gg_peerid_to_cid(id, out, sizeof(out)) > 0);
  assert_string_equal(out, cid);
  gg_peerid a, b;
  assert_int_equal(gg_peerid_parse(&a, b58, strlen(b58)), GG_OK);
  assert_int_equal(gg_peerid_parse(&b, cid, strlen(cid)), GG_OK);
  assert_true(gg_peerid_eq(&a, id));
  assert_true(gg_peerid_eq(&b, id));
}

static void test_peer_id_vectors(void **s) {
  (void)s;
  json_t *j = load_json("vectors/libp2p-peer-ids.json");
  const char *name;
  json_t *k;
  int n = 0;
  json_object_foreach(json_object_get(j, "keys"), name, k) {
    size_t len;
    uint8_t *pb = hexfield(json_object_get(k, "public"), "protobuf_hex", &len);
    gg_pubkey pk;
    assert_int_equal(gg_pubkey_decode(pb, len, &pk), GG_OK);
    assert_int_equal(pk.type, json_integer_value(json_object_get(json_object_get(k, "public"), "key_type")));
    gg_peerid id;
    assert_int_equal(gg_peerid_from_pubkey_pb(&id, pb, len), GG_OK);
    check_text_forms(&id, json_string_value(json_object_get(k, "derived_peer_id_base58btc")),
                     json_string_value(json_object_get(k, "derived_peer_id_cidv1_base32")));
    const uint8_t *inl;
    size_t inl_len;
    int identity = !strcmp(json_string_value(json_object_get(k, "derived_multihash")), "identity");
    assert_int_equal(gg_peerid_pubkey_pb(&id, &inl, &inl_len), identity ? GG_OK : GG_ENOTFOUND);
    if (identity) assert_memory_equal(inl, pb, len);
    if (!strcmp(name, "ed25519")) {
      size_t plen;
      uint8_t *priv = hexfield(json_object_get(k, "private"), "protobuf_hex", &plen);
      gg_keypair kp;
      assert_int_equal(gg_privkey_decode(priv, plen, &kp), GG_OK);
      assert_memory_equal(kp.pub, pb + 4, 32);
      uint8_t enc[GG_PRIVKEY_PB_ED25519];
      gg_privkey_encode(&kp, enc);
      assert_int_equal(plen, sizeof(enc));
      assert_memory_equal(enc, priv, plen);
      json_t *chk = json_object_get(k, "derived_check");
      size_t sl;
      uint8_t *sig = hexfield(chk, "signature_of_empty_message_hex", &sl);
      uint8_t got[64];
      gg_sign(&kp, (const uint8_t *)"", 0, got);
      assert_memory_equal(got, sig, 64);
      assert_int_equal(gg_pubkey_verify(&pk, (const uint8_t *)"", 0, sig, sl), GG_OK);
      /* a private key whose public half does not match its seed is refused */
      priv[plen - 1] ^= 1;
      assert_int_equal(gg_privkey_decode(priv, plen, &kp), GG_EBADKEY);
      free(sig);
      free(priv);
    } else {
      assert_int_equal(gg_pubkey_verify(&pk, (const uint8_t *)"", 0, (const uint8_t *)"", 0),
                       GG_EUNSUPPORTED);
    }
    free(pb);
    n++;
  }
  assert_int_equal(n, 4);
  /* the spec's text examples */
  size_t i;
  json_t *ex;
  json_array_foreach(json_object_get(j, "examples"), i, ex) {
    const char *str = json_string_value(json_object_get(ex, "string"));
    json_t *dec = json_object_get(ex, "decoded");
    size_t mlen;
    uint8_t *mh = hexfield(dec, "multihash_hex", &mlen);
    gg_peerid id;
    assert_int_equal(gg_peerid_parse(&id, str, strlen(str)), GG_OK);
    assert_int_equal(id.len, mlen);
    assert_memory_equal(id.b, mh, mlen);
    free(mh);
  }
  json_decref(j);
}

static void test_interop_seed(void **s) {
  (void)s;
  /* INTEROP.md: seed 00..1f gives this key and id in js-libp2p */
  uint8_t seed[32];
  for (int i = 0; i < 32; i++) seed[i] = (uint8_t)i;
  gg_keypair kp;
  gg_keypair_from_seed(&kp, seed);
  char *hex = gg_test_hex(kp.pub, 32);
  assert_string_equal(hex, "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8");
  free(hex);
  gg_peerid id;
  gg_peerid_from_ed25519(&id, kp.pub);
  char out[GG_PEERID_TEXT_MAX];
  gg_peerid_to_b58(&id, out, sizeof(out));
  assert_string_equal(out, "12D3KooWA4Xop1JaT3MHxwYMkCepYsv4iPVopMXwCz5iHYdBfeSB");
  /* from_ed25519 and from_pubkey_pb agree */
  uint8_t pb[GG_PUBKEY_PB_ED25519];
  gg_pubkey_encode_ed25519(kp.pub, pb);
  gg_peerid id2;
  assert_int_equal(gg_peerid_from_pubkey_pb(&id2, pb, sizeof(pb)), GG_OK);
  assert_true(gg_peerid_eq(&id, &id2));
  assert_int_equal(gg_peerid_cmp(&id, &id2), 0);
  assert_string_equal(gg_peerid_short(&id), "12D3Koo…dBfeSB");
  /* too small an output buffer */
  assert_int_equal(gg_peerid_to_b58(&id, out, 10), GG_EINVAL);
}

static void test_generate_is_random(void **s) {
  (void)s;
  gg_keypair a, b;
  gg_keypair_generate(&a, gg_rand_system());
  gg_keypair_generate(&b, gg_rand_system());
  assert_memory_not_equal(a.pub, b.pub, 32);
  gg_rand_seeded r1, r2;
  gg_rand_seeded_init(&r1, 7);
  gg_rand_seeded_init(&r2, 7);
  gg_keypair_generate(&a, &r1.r);
  gg_keypair_generate(&b, &r2.r);
  assert_memory_equal(a.sk, b.sk, 64);
}

static void test_malformed_keys(void **s) {
  (void)s;
  struct { const char *hex; } bad[] = {
      {""},                                   /* empty */
      {"0801"},                               /* no Data */
      {"12020000"},                           /* no Type */
      {"0805120100"},                         /* unknown key type 5 */
      {"08011203000000"},                     /* Ed25519 key of 3 bytes */
      {"080112ff01"},                         /* Data longer than the message */
      {"0801128080808080808080808001"},       /* huge length */
      {"0f01"},                               /* wire type 7 */
      {"000100"},                             /* field number 0 */
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    size_t n;
    uint8_t *b = gg_test_unhex(bad[i].hex, &n);
    gg_pubkey k;
    if (gg_pubkey_decode(b, n, &k) != GG_EBADKEY) fail_msg("case %zu (%s) accepted", i, bad[i].hex);
    gg_peerid id;
    assert_int_equal(gg_peerid_from_pubkey_pb(&id, b, n), GG_EBADKEY);
    free(b);
  }
  /* fields in the other order and an unknown field are fine */
  size_t n;
  uint8_t *b = gg_test_unhex("1a0161"
                             "12201ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e"
                             "0801", &n);
  gg_pubkey k;
  assert_int_equal(gg_pubkey_decode(b, n, &k), GG_OK);
  assert_int_equal(k.type, GG_KEY_ED25519);
  assert_int_equal(k.len, 32);
  free(b);
  /* peer id text that is not one */
  const char *badtext[] = {"", "Qm", "12D3KooWA4Xop1JaT3MHxwYMkCepYsv4iPVopMXwCz5iHYdBfeS0",
                           "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi",
                           "zzzz"};
  for (size_t i = 0; i < sizeof(badtext) / sizeof(badtext[0]); i++) {
    gg_peerid id;
    if (gg_peerid_parse(&id, badtext[i], strlen(badtext[i])) != GG_EPARSE)
      fail_msg("peer id text %zu accepted", i);
  }
  gg_peerid id;
  const uint8_t md5[] = {0xd5, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  assert_int_equal(gg_peerid_from_bytes(&id, md5, sizeof(md5)), GG_EPARSE);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rfc8032),         cmocka_unit_test(test_peer_id_vectors),
      cmocka_unit_test(test_interop_seed),    cmocka_unit_test(test_generate_is_random),
      cmocka_unit_test(test_malformed_keys),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
