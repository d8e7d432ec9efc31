/*
 * Tests for Identify (include/ggen/identify.h): our message byte for byte, a round trip
 * through the length-prefixed reader, a message laid out as js-libp2p writes it (fields in
 * its .proto declaration order, a signed peer record, an address we do not support, an
 * unknown field), the peer-id check, push, malformed and oversized input, and allocation
 * failure at every step.
 */
#include "gg_test.h"

#include <string.h>

#include "ggen/err.h"
#include "ggen/identify.h"
#include "ggen/key.h"
#include "ggen/lpm.h"

static gg_keypair kp;
static uint8_t pubpb[GG_PUBKEY_PB_ED25519];
static gg_peerid me;

static int setup(void **state) {
  (void)state;
  uint8_t seed[32];
  for (int i = 0; i < 32; i++) seed[i] = (uint8_t)i;
  gg_keypair_from_seed(&kp, seed);
  gg_pubkey_encode_ed25519(kp.pub, pubpb);
  gg_peerid_from_ed25519(&me, kp.pub);
  return 0;
}

static gg_maddr ma(const char *s) {
  gg_maddr m;
  if (gg_maddr_parse(&m, s, strlen(s))) fail_msg("bad multiaddr %s", s);
  return m;
}

/* protobuf field with a length-delimited value */
static void field(gg_buf *b, unsigned no, const void *v, size_t n) {
  assert_int_equal(gg_buf_append_byte(b, (uint8_t)(no << 3 | 2)), GG_OK);
  assert_int_equal(gg_buf_append_varint(b, n), GG_OK);
  assert_int_equal(gg_buf_append(b, v, n), GG_OK);
}

static const char *const protos[] = {"/ipfs/id/1.0.0", "/ipfs/ping/1.0.0"};

static void test_encode_exact_and_parse(void **state) {
  (void)state;
  gg_maddr listen[2] = {ma("/ip4/127.0.0.1/tcp/4001"), ma("/ip6/::1/tcp/4001")};
  gg_maddr obs = ma("/ip4/10.0.0.7/tcp/51234");
  ggp_identify_info info = {.pubkey_pb = pubpb,
                            .pubkey_pb_len = sizeof(pubpb),
                            .listen_addrs = listen,
                            .n_listen_addrs = 2,
                            .observed_addr = &obs,
                            .protocols = protos,
                            .n_protocols = 2};
  gg_buf out;
  gg_buf_init(&out, NULL, 1 << 16);
  assert_int_equal(ggp_identify_encode(&info, NULL, &out), GG_OK);

  /* the same message written field by field, in field-number order */
  gg_buf want;
  gg_buf_init(&want, NULL, 1 << 16);
  field(&want, 1, pubpb, sizeof(pubpb));
  field(&want, 2, listen[0].b, listen[0].len);
  field(&want, 2, listen[1].b, listen[1].len);
  field(&want, 3, protos[0], strlen(protos[0]));
  field(&want, 3, protos[1], strlen(protos[1]));
  field(&want, 4, obs.b, obs.len);
  field(&want, 5, "/ggen/1.0.0", 11);
  field(&want, 6, "ggen/" GGEN_VERSION, strlen("ggen/" GGEN_VERSION));
  size_t n = gg_buf_len(&want);
  assert_int_equal(gg_buf_len(&out), gg_varint_len(n) + n);
  uint64_t plen;
  assert_int_equal(gg_varint_decode(gg_buf_ptr(&out), gg_buf_len(&out), &plen),
                   (int)gg_varint_len(n));
  assert_int_equal(plen, n);
  assert_memory_equal(gg_buf_ptr(&out) + gg_varint_len(n), gg_buf_ptr(&want), n);
  gg_buf_free(&want);

  /* read it back as the dialing side does, one byte at a time */
  gg_lpm r;
  gg_lpm_init(&r, NULL, GGP_IDENTIFY_MAX);
  const uint8_t *body = NULL;
  size_t blen = 0, used;
  int rc = GG_EAGAIN;
  for (size_t i = 0; i < gg_buf_len(&out) && rc == GG_EAGAIN; i++)
    rc = gg_lpm_read(&r, gg_buf_ptr(&out) + i, 1, &used, &body, &blen);
  assert_int_equal(rc, GG_OK);
  ggp_identify_msg *m;
  assert_int_equal(ggp_identify_parse(body, blen, &me, 0, NULL, &m), GG_OK);
  assert_string_equal(m->protocol_version, GGP_IDENTIFY_PROTOCOL_VERSION);
  assert_string_equal(m->agent_version, "ggen/" GGEN_VERSION);
  assert_int_equal(m->has_peer, 1);
  assert_true(gg_peerid_eq(&m->peer, &me));
  assert_int_equal(m->pubkey_pb_len, sizeof(pubpb));
  assert_memory_equal(m->pubkey_pb, pubpb, sizeof(pubpb));
  assert_int_equal(m->n_listen_addrs, 2);
  assert_int_equal(m->n_listen_skipped, 0);
  for (int i = 0; i < 2; i++) {
    gg_maddr got;
    assert_int_equal(gg_maddr_from_bytes(&got, m->listen_addrs[i].b, m->listen_addrs[i].len),
                     GG_OK);
    assert_true(gg_maddr_eq(&got, &listen[i]));
  }
  assert_int_equal(m->has_observed, 1);
  assert_true(gg_maddr_eq(&m->observed_addr, &obs));
  assert_int_equal(m->n_protocols, 2);
  assert_string_equal(m->protocols[1], "/ipfs/ping/1.0.0");
  assert_true(ggp_identify_has_protocol(m, "/ipfs/id/1.0.0"));
  assert_false(ggp_identify_has_protocol(m, "/ipfs/kad/1.0.0"));
  assert_null(m->signed_peer_record);
  ggp_identify_msg_free(m);
  gg_lpm_free(&r);
  gg_buf_free(&out);
  ggp_identify_msg_free(NULL);
}

/* A message as js-libp2p lays it out: protons writes fields in the order of its .proto file
 * (protocolVersion 5, agentVersion 6, publicKey 1, listenAddrs 2, observedAddr 4, protocols 3,
 * signedPeerRecord 8). We add an address we cannot parse and an unknown field. */
static void build_js_like(gg_buf *b, const uint8_t *pk, size_t pklen) {
  gg_maddr a1 = ma("/ip4/127.0.0.1/tcp/39415"), a2 = ma("/ip4/127.0.0.1/tcp/39416/ws");
  field(b, 5, "ipfs/0.1.0", 10);
  field(b, 6, "js-libp2p/2.10.0 UserAgent=v20.19.0", 35);
  if (pk) field(b, 1, pk, pklen);
  field(b, 2, a1.b, a1.len);
  static const uint8_t unknown_proto[] = {0xff, 0x7f, 0x01, 0x02}; /* code 0x3fff */
  field(b, 2, unknown_proto, sizeof(unknown_proto));
  field(b, 2, a2.b, a2.len);
  gg_maddr obs = ma("/ip4/127.0.0.1/tcp/50000");
  field(b, 4, obs.b, obs.len);
  field(b, 3, "/ipfs/id/1.0.0", 14);
  field(b, 3, "/ipfs/kad/1.0.0", 15);
  field(b, 3, "/meshsub/1.2.0", 14);
  field(b, 8, "\x0a\x03xyz", 5); /* an opaque envelope */
  field(b, 15, "future", 6);     /* unknown to us: skipped */
}

static void test_js_like_message(void **state) {
  (void)state;
  gg_buf b;
  gg_buf_init(&b, NULL, 1 << 16);
  build_js_like(&b, pubpb, sizeof(pubpb));
  ggp_identify_msg *m;
  assert_int_equal(ggp_identify_parse(gg_buf_ptr(&b), gg_buf_len(&b), &me, 0, NULL, &m), GG_OK);
  assert_string_equal(m->agent_version, "js-libp2p/2.10.0 UserAgent=v20.19.0");
  assert_string_equal(m->protocol_version, "ipfs/0.1.0");
  assert_int_equal(m->n_listen_addrs, 2);
  assert_int_equal(m->n_listen_skipped, 1);
  gg_maddr got;
  assert_int_equal(gg_maddr_from_bytes(&got, m->listen_addrs[1].b, m->listen_addrs[1].len), GG_OK);
  char text[GG_MADDR_STR_MAX];
  gg_maddr_to_str(&got, text, sizeof(text));
  assert_string_equal(text, "/ip4/127.0.0.1/tcp/39416/ws");
  assert_int_equal(m->n_protocols, 3);
  assert_true(ggp_identify_has_protocol(m, "/ipfs/kad/1.0.0"));
  assert_int_equal(m->signed_peer_record_len, 5);
  assert_memory_equal(m->signed_peer_record, "\x0a\x03xyz", 5);
  ggp_identify_msg_free(m);
  gg_buf_free(&b);
}

static void test_peer_checks(void **state) {
  (void)state;
  gg_buf b;
  gg_buf_init(&b, NULL, 1 << 16);
  build_js_like(&b, pubpb, sizeof(pubpb));
  ggp_identify_msg *m = (ggp_identify_msg *)0x1;
  /* someone else's key */
  uint8_t seed[32] = {9};
  gg_keypair other;
  gg_keypair_from_seed(&other, seed);
  gg_peerid them;
  gg_peerid_from_ed25519(&them, other.pub);
  assert_int_equal(ggp_identify_parse(gg_buf_ptr(&b), gg_buf_len(&b), &them, 0, NULL, &m),
                   GG_EPEERID);
  assert_ptr_equal(m, (ggp_identify_msg *)0x1); /* untouched */
  /* no check requested */
  assert_int_equal(ggp_identify_parse(gg_buf_ptr(&b), gg_buf_len(&b), NULL, 0, NULL, &m), GG_OK);
  assert_true(gg_peerid_eq(&m->peer, &me));
  ggp_identify_msg_free(m);
  gg_buf_reset(&b);

  /* no public key: an error for identify, fine for a push */
  build_js_like(&b, NULL, 0);
  assert_int_equal(ggp_identify_parse(gg_buf_ptr(&b), gg_buf_len(&b), &me, 0, NULL, &m), GG_EPROTO);
  assert_int_equal(
      ggp_identify_parse(gg_buf_ptr(&b), gg_buf_len(&b), &me, GGP_IDENTIFY_F_PUSH, NULL, &m),
      GG_OK);
  assert_int_equal(m->has_peer, 0);
  assert_null(m->pubkey_pb);
  ggp_identify_msg_free(m);
  gg_buf_reset(&b);

  /* a push with a key is still checked */
  build_js_like(&b, pubpb, sizeof(pubpb));
  assert_int_equal(
      ggp_identify_parse(gg_buf_ptr(&b), gg_buf_len(&b), &them, GGP_IDENTIFY_F_PUSH, NULL, &m),
      GG_EPEERID);
  gg_buf_reset(&b);

  /* a key that is not a PublicKey protobuf */
  build_js_like(&b,
                (const uint8_t *)"\x08\x01\x12\x03"
                                 "abc",
                7);
  assert_int_equal(ggp_identify_parse(gg_buf_ptr(&b), gg_buf_len(&b), &me, 0, NULL, &m),
                   GG_EBADKEY);
  gg_buf_free(&b);
}

static void test_malformed_and_caps(void **state) {
  (void)state;
  ggp_identify_msg *m;
  /* truncated: a length-delimited field running past the end */
  static const uint8_t trunc[] = {0x0a, 0x24, 0x08, 0x01};
  /* (with F_PUSH, so that a missing key is not what fails) */
  const int push = GGP_IDENTIFY_F_PUSH;
  assert_int_equal(ggp_identify_parse(trunc, sizeof(trunc), &me, push, NULL, &m), GG_EPROTO);
  /* wrong wire type for a known field (varint where bytes are expected) */
  static const uint8_t wt[] = {0x08, 0x01};
  assert_int_equal(ggp_identify_parse(wt, sizeof(wt), &me, push, NULL, &m), GG_EPROTO);
  /* a field number 0, and a truncated varint tag */
  assert_int_equal(ggp_identify_parse((const uint8_t *)"\x02\x00", 2, &me, push, NULL, &m),
                   GG_EPROTO);
  assert_int_equal(ggp_identify_parse((const uint8_t *)"\x80", 1, &me, push, NULL, &m), GG_EPROTO);
  /* empty: a valid protobuf without a key */
  assert_int_equal(ggp_identify_parse((const uint8_t *)"", 0, &me, 0, NULL, &m), GG_EPROTO);
  /* over the cap */
  uint8_t *big = calloc(1, GGP_IDENTIFY_MAX + 1);
  assert_int_equal(ggp_identify_parse(big, GGP_IDENTIFY_MAX + 1, &me, 0, NULL, &m), GG_ETOOBIG);
  free(big);

  /* we refuse to send what js would refuse to read */
  static const char *many[600];
  for (int i = 0; i < 600; i++) many[i] = "/some/protocol/1.0.0";
  ggp_identify_info info = {
      .pubkey_pb = pubpb, .pubkey_pb_len = sizeof(pubpb), .protocols = many, .n_protocols = 600};
  gg_buf out;
  gg_buf_init(&out, NULL, 1 << 20);
  assert_int_equal(ggp_identify_encode(&info, NULL, &out), GG_ETOOBIG);
  assert_int_equal(gg_buf_len(&out), 0);
  info.n_protocols = 300; /* 300 * 22 = 6600 bytes: fits */
  assert_int_equal(ggp_identify_encode(&info, NULL, &out), GG_OK);
  gg_buf_free(&out);
  /* and the caller's cap */
  gg_buf_init(&out, NULL, 100);
  assert_int_equal(ggp_identify_encode(&info, NULL, &out), GG_ETOOBIG);
  assert_int_equal(gg_buf_len(&out), 0);
  gg_buf_free(&out);
  /* no key, or an empty address */
  ggp_identify_info nokey = {0};
  assert_int_equal(ggp_identify_encode(&nokey, NULL, &out), GG_EINVAL);
  gg_maddr empty = {0};
  ggp_identify_info emptyaddr = {.pubkey_pb = pubpb,
                                 .pubkey_pb_len = sizeof(pubpb),
                                 .listen_addrs = &empty,
                                 .n_listen_addrs = 1};
  assert_int_equal(ggp_identify_encode(&emptyaddr, NULL, &out), GG_EINVAL);
}

/* Every allocation of parse and encode may fail: the result is GG_ENOMEM, nothing leaks,
 * and once allocations succeed the result is the normal one. */
static void test_allocation_failures(void **state) {
  (void)state;
  gg_buf b;
  gg_buf_init(&b, NULL, 1 << 16);
  build_js_like(&b, pubpb, sizeof(pubpb));
  int ok = 0;
  for (long k = 0; k < 200 && !ok; k++) {
    gg_failmem fm;
    gg_failmem_init(&fm, k);
    ggp_identify_msg *m = NULL;
    int rc = ggp_identify_parse(gg_buf_ptr(&b), gg_buf_len(&b), &me, 0, &fm.mem, &m);
    if (rc == GG_OK) {
      ok = 1;
      assert_int_equal(m->n_listen_addrs, 2);
      ggp_identify_msg_free(m);
    } else {
      assert_int_equal(rc, GG_ENOMEM);
    }
    assert_int_equal(fm.live, 0);
  }
  assert_true(ok);
  gg_buf_free(&b);

  gg_maddr listen = ma("/ip4/127.0.0.1/tcp/1");
  ggp_identify_info info = {.pubkey_pb = pubpb,
                            .pubkey_pb_len = sizeof(pubpb),
                            .listen_addrs = &listen,
                            .n_listen_addrs = 1};
  gg_failmem fm;
  gg_failmem_init(&fm, 0);
  gg_buf_init(&b, NULL, 1 << 16);
  assert_int_equal(ggp_identify_encode(&info, &fm.mem, &b), GG_ENOMEM);
  assert_int_equal(gg_buf_len(&b), 0);
  gg_failmem_init(&fm, 1);
  assert_int_equal(ggp_identify_encode(&info, &fm.mem, &b), GG_OK);
  assert_int_equal(fm.live, 0);
  gg_buf_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_encode_exact_and_parse),
      cmocka_unit_test(test_js_like_message),
      cmocka_unit_test(test_peer_checks),
      cmocka_unit_test(test_malformed_and_caps),
      cmocka_unit_test(test_allocation_failures),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}
