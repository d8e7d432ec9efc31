/*
 * Tests for multiaddr (include/ggen/multiaddr.h): the go-multiaddr and js-multiaddr cases in
 * tests/data/vectors/multiaddr/cases.txt (valid and invalid text, text <-> binary, canonical
 * formatting), invalid binary, the size cap, component iteration, encapsulation and
 * decapsulation, and the dialing helpers.
 */
#include "gg_test.h"

#include <stdio.h>
#include <string.h>

#include "ggen/err.h"
#include "ggen/multiaddr.h"

static gg_maddr parse_ok(const char *s) {
  gg_maddr ma;
  int rc = gg_maddr_parse(&ma, s, strlen(s));
  if (rc) fail_msg("parse %s: %s", s, gg_errname(rc));
  return ma;
}

static void assert_text(const gg_maddr *ma, const char *want) {
  char out[GG_MADDR_STR_MAX];
  int n = gg_maddr_to_str(ma, out, sizeof(out));
  if (n < 0) fail_msg("format for %s: %s", want, gg_errname(n));
  assert_int_equal(n, strlen(want));
  assert_string_equal(out, want);
}

static void test_spec_cases(void **state) {
  (void)state;
  char *path = gg_test_require_data("vectors/multiaddr/cases.txt");
  char *text = gg_test_read_file(path, NULL);
  assert_non_null(text);
  int counts[6] = {0};
  char *save = NULL;
  for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    if (line[0] == '#') continue;
    char *kind = line, *a = strchr(line, ' ');
    assert_non_null(a);
    *a++ = 0;
    char *b = NULL;
    /* "bad" lines may hold blanks inside the case; the others have two plain fields */
    if (strcmp(kind, "bad") != 0 && (b = strchr(a, ' '))) *b++ = 0;
    gg_maddr ma;
    if (strcmp(kind, "good") == 0) {
      ma = parse_ok(a);
      /* the binary form validates and the canonical text parses to the same bytes */
      assert_int_equal(gg_maddr_validate(ma.b, ma.len), GG_OK);
      char out[GG_MADDR_STR_MAX];
      assert_true(gg_maddr_to_str(&ma, out, sizeof(out)) > 0);
      gg_maddr again = parse_ok(out);
      assert_true(gg_maddr_eq(&ma, &again));
      counts[0]++;
    } else if (strcmp(kind, "bad") == 0) {
      memset(&ma, 0xa5, sizeof(ma));
      gg_maddr before = ma;
      int rc = gg_maddr_parse(&ma, a, strlen(a));
      if (rc >= 0) fail_msg("should not parse: %s", a);
      assert_true(rc == GG_EPARSE || rc == GG_EUNSUPPORTED);
      assert_memory_equal(&ma, &before, sizeof(ma)); /* untouched on error */
      counts[1]++;
    } else if (strcmp(kind, "bytes") == 0) {
      assert_non_null(b);
      size_t n;
      uint8_t *want = gg_test_unhex(b, &n);
      ma = parse_ok(a);
      assert_int_equal(ma.len, n);
      assert_memory_equal(ma.b, want, n);
      gg_maddr fb;
      assert_int_equal(gg_maddr_from_bytes(&fb, want, n), GG_OK);
      assert_text(&fb, a);
      free(want);
      counts[2]++;
    } else if (strcmp(kind, "norm") == 0) {
      assert_non_null(b);
      ma = parse_ok(a);
      assert_text(&ma, b);
      counts[3]++;
    } else if (strcmp(kind, "round") == 0) {
      ma = parse_ok(a);
      assert_text(&ma, a);
      counts[4]++;
    } else if (strcmp(kind, "badbytes") == 0) {
      size_t n;
      uint8_t *bin = gg_test_unhex(a, &n);
      assert_non_null(bin);
      int rc = gg_maddr_validate(bin, n);
      if (rc >= 0) fail_msg("should not validate: %s", a);
      assert_true(gg_maddr_from_bytes(&ma, bin, n) < 0);
      gg_buf out;
      gg_buf_init(&out, NULL, 4096);
      assert_true(gg_maddr_format(bin, n, &out) < 0);
      assert_int_equal(gg_buf_len(&out), 0);
      gg_buf_free(&out);
      free(bin);
      counts[5]++;
    } else {
      fail_msg("unknown line kind %s", kind);
    }
  }
  /* every section ran */
  assert_int_equal(counts[0], 73);
  assert_int_equal(counts[1], 37 + 17);
  assert_int_equal(counts[2], 9);
  assert_int_equal(counts[3], 7 + 11);
  assert_int_equal(counts[4], 9);
  assert_int_equal(counts[5], 14);
  free(text);
  free(path);
}

static void test_empty_and_limits(void **state) {
  (void)state;
  gg_maddr ma;
  assert_int_equal(gg_maddr_parse(&ma, "", 0), GG_EPARSE);
  assert_int_equal(gg_maddr_parse(&ma, "/", 1), GG_EPARSE);
  assert_int_equal(gg_maddr_from_bytes(&ma, (const uint8_t *)"", 0), GG_EPARSE);
  /* a DNS name of 255 bytes is fine, 256 is not */
  char s[600];
  memcpy(s, "/dns4/", 6);
  memset(s + 6, 'a', 256);
  memcpy(s + 6 + 255, "/tcp/1", 7);
  assert_int_equal(gg_maddr_parse(&ma, s, strlen(s)), GG_OK);
  memset(s + 6, 'a', 256);
  memcpy(s + 6 + 256, "/tcp/1", 7);
  assert_int_equal(gg_maddr_parse(&ma, s, strlen(s)), GG_EPARSE);
  /* the cap: /dns/<255>/dns/<255> is 2 * 258 = 516 bytes > GG_MADDR_MAX */
  char big[700];
  int n = 0;
  for (int i = 0; i < 2; i++) {
    n += sprintf(big + n, "/dns/");
    memset(big + n, 'b', 255);
    n += 255;
  }
  assert_int_equal(gg_maddr_parse(&ma, big, (size_t)n), GG_ETOOBIG);
  /* the same bytes can still be validated, but not held */
  uint8_t bin[600];
  size_t bl = 0;
  for (int i = 0; i < 2; i++) {
    bin[bl++] = 0x35;
    bin[bl++] = 0xff; /* 255 = varint ff 01 */
    bin[bl++] = 0x01;
    memset(bin + bl, 'b', 255);
    bl += 255;
  }
  assert_int_equal(gg_maddr_validate(bin, bl), GG_OK);
  assert_int_equal(gg_maddr_from_bytes(&ma, bin, bl), GG_ETOOBIG);
  /* to_str reports a short buffer instead of truncating */
  ma = parse_ok("/ip4/127.0.0.1/tcp/4001");
  char small[10];
  assert_int_equal(gg_maddr_to_str(&ma, small, sizeof(small)), GG_EINVAL);
  char exact[24];
  assert_int_equal(gg_maddr_to_str(&ma, exact, sizeof(exact)), 23);
  /* the longest text per byte still fits GG_MADDR_STR_MAX */
  gg_maddr worst = {0};
  while (gg_maddr_push(&worst, GG_MA_P2P_WEBSOCKET_STAR, NULL, 0) == GG_OK) {
  }
  assert_int_equal(worst.len, GG_MADDR_MAX);
  char *out = malloc(GG_MADDR_STR_MAX);
  assert_int_equal(gg_maddr_to_str(&worst, out, GG_MADDR_STR_MAX), 19 * GG_MADDR_MAX / 2);
  free(out);
}

static void test_components(void **state) {
  (void)state;
  gg_maddr ma =
      parse_ok("/ip4/1.2.3.4/tcp/80/ws/p2p/QmbHVEEepCi7rn7VL7Exxpd2Ci9NNB6ifvqwhsrbRMgQFP");
  static const uint32_t want[] = {GG_MA_IP4, GG_MA_TCP, GG_MA_WS, GG_MA_P2P};
  size_t pos = 0, k = 0, total = 0;
  gg_maddr_comp c;
  int rc;
  while ((rc = gg_maddr_next(ma.b, ma.len, &pos, &c)) == 1) {
    assert_true(k < 4);
    assert_int_equal(c.code, want[k]);
    assert_string_equal(c.name, gg_maddr_proto_name(want[k]));
    assert_int_equal(c.off, total);
    total += c.size;
    k++;
  }
  assert_int_equal(rc, 0);
  assert_int_equal(k, 4);
  assert_int_equal(total, ma.len);
  assert_true(gg_maddr_has(&ma, GG_MA_WS));
  assert_false(gg_maddr_has(&ma, GG_MA_UDP));
  /* push checks values as parsing does */
  gg_maddr m = {0};
  assert_int_equal(gg_maddr_push(&m, GG_MA_IP4, "\x7f\0\0\1", 4), GG_OK);
  assert_int_equal(gg_maddr_push(&m, GG_MA_TCP, "\x0f", 1), GG_EPARSE);
  assert_int_equal(gg_maddr_push(&m, GG_MA_DNS, "a/b", 3), GG_EPARSE);
  assert_int_equal(gg_maddr_push(&m, 0x3fff, NULL, 0), GG_EUNSUPPORTED);
  assert_int_equal(gg_maddr_push(&m, GG_MA_TCP, "\x0f\xa1", 2), GG_OK);
  assert_text(&m, "/ip4/127.0.0.1/tcp/4001");
  assert_null(gg_maddr_proto_name(0x3fff));
}

static void test_encap_decap(void **state) {
  (void)state;
  gg_maddr m = parse_ok("/ip4/127.0.0.1/udp/1234");
  gg_maddr t = parse_ok("/udp/5678");
  assert_int_equal(gg_maddr_cat(&m, &t), GG_OK);
  assert_text(&m, "/ip4/127.0.0.1/udp/1234/udp/5678");
  assert_int_equal(gg_maddr_decap(&m, &t), GG_OK);
  assert_text(&m, "/ip4/127.0.0.1/udp/1234");
  gg_maddr ip = parse_ok("/ip4/127.0.0.1");
  assert_int_equal(gg_maddr_decap(&m, &ip), GG_OK);
  assert_int_equal(m.len, 0); /* everything removed */
  assert_text(&m, "");
  /* go-multiaddr TestDecapsulate */
  static const char *cases[][3] = {
      {"/ip4/1.2.3.4/tcp/1234", "/ip4/1.2.3.4", ""},
      {"/ip4/1.2.3.4", "/ip4/1.2.3.4/tcp/1234", "/ip4/1.2.3.4"},
      {"/ip4/1.2.3.5/tcp/1234", "/ip4/5.3.2.1", "/ip4/1.2.3.5/tcp/1234"},
      {"/ip4/1.2.3.5/udp/1234/quic-v1", "/udp/1234", "/ip4/1.2.3.5"},
      {"/ip4/1.2.3.6/udp/1234/quic-v1", "/udp/1234/quic-v1", "/ip4/1.2.3.6"},
      {"/ip4/1.2.3.7/tcp/1234", "/ws", "/ip4/1.2.3.7/tcp/1234"},
      {"/dnsaddr/wss.com/tcp/4001", "/ws", "/dnsaddr/wss.com/tcp/4001"},
      {"/dnsaddr/wss.com/tcp/4001/ws", "/wss", "/dnsaddr/wss.com/tcp/4001/ws"},
      {"/dnsaddr/wss.com/ws", "/wss", "/dnsaddr/wss.com/ws"},
      {"/dnsaddr/wss.com/ws", "/dnsaddr/wss.com", ""},
      {"/dnsaddr/wss.com/tcp/4001/wss", "/wss", "/dnsaddr/wss.com/tcp/4001"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    gg_maddr l = parse_ok(cases[i][0]), r = parse_ok(cases[i][1]);
    int rc = gg_maddr_decap(&l, &r);
    assert_int_equal(rc, strcmp(cases[i][0], cases[i][2]) == 0 ? GG_ENOTFOUND : GG_OK);
    assert_text(&l, cases[i][2]);
  }
  /* A byte match that is not at a component boundary does not count: /tcp/1030/ip4/1.2.3.4
   * is 06 04 06 04 01 02 03 04, and /ip4/6.4.1.2 (04 06 04 01 02) starts at its second byte. */
  gg_maddr x = parse_ok("/tcp/1030/ip4/1.2.3.4");
  gg_maddr y = parse_ok("/ip4/6.4.1.2");
  assert_non_null(memmem(x.b, x.len, y.b, y.len));
  assert_int_equal(gg_maddr_decap(&x, &y), GG_ENOTFOUND);
  /* decap by code cuts at the last occurrence */
  x = parse_ok("/ip4/1.2.3.4/tcp/1/ip4/5.6.7.8/tcp/2");
  assert_int_equal(gg_maddr_decap_code(&x, GG_MA_IP4), GG_OK);
  assert_text(&x, "/ip4/1.2.3.4/tcp/1");
  assert_int_equal(gg_maddr_decap_code(&x, GG_MA_UDP), GG_ENOTFOUND);
  assert_text(&x, "/ip4/1.2.3.4/tcp/1");
  /* cat respects the cap and leaves ma unchanged */
  gg_maddr full = {0};
  while (gg_maddr_push(&full, GG_MA_WS, NULL, 0) == GG_OK) {
  }
  gg_maddr keep = full;
  assert_int_equal(gg_maddr_cat(&full, &t), GG_ETOOBIG);
  assert_true(gg_maddr_eq(&full, &keep));
}

static void test_dialing(void **state) {
  (void)state;
  const char *id = "12D3KooWA4Xop1JaT3MHxwYMkCepYsv4iPVopMXwCz5iHYdBfeSB";
  char s[200];
  snprintf(s, sizeof(s), "/ip4/127.0.0.1/tcp/4001/p2p/%s", id);
  gg_maddr ma = parse_ok(s);
  gg_maddr_dial d;
  assert_int_equal(gg_maddr_dial_info(&ma, &d), GG_OK);
  assert_int_equal(d.host_proto, GG_MA_IP4);
  assert_string_equal(d.host, "127.0.0.1");
  assert_memory_equal(d.ip, "\x7f\0\0\1", 4);
  assert_int_equal(d.transport, GG_MA_TCP);
  assert_int_equal(d.port, 4001);
  assert_int_equal(d.has_peer, 1);
  char idtext[GG_PEERID_TEXT_MAX];
  assert_true(gg_peerid_to_b58(&d.peer, idtext, sizeof(idtext)) > 0);
  assert_string_equal(idtext, id);

  /* split_peer, in place and into another value */
  gg_maddr tr;
  gg_peerid p;
  assert_int_equal(gg_maddr_split_peer(&ma, &tr, &p), GG_OK);
  assert_true(gg_peerid_eq(&p, &d.peer));
  assert_text(&tr, "/ip4/127.0.0.1/tcp/4001");
  gg_maddr same = ma;
  assert_int_equal(gg_maddr_split_peer(&same, &same, &p), GG_OK);
  assert_true(gg_maddr_eq(&same, &tr));
  assert_int_equal(gg_maddr_split_peer(&tr, &same, &p), GG_ENOTFOUND);
  assert_true(gg_maddr_eq(&same, &tr));
  /* no peer wanted: NULL is fine */
  gg_maddr tr2;
  assert_int_equal(gg_maddr_split_peer(&ma, &tr2, NULL), GG_OK);
  assert_true(gg_maddr_eq(&tr2, &tr));
  assert_int_equal(gg_maddr_split_peer(&ma, NULL, NULL), GG_OK);
  assert_int_equal(gg_maddr_split_peer(&tr, NULL, NULL), GG_ENOTFOUND);
  /* on failure *peer is untouched */
  gg_peerid before = p;
  assert_int_equal(gg_maddr_split_peer(&tr, NULL, &p), GG_ENOTFOUND);
  assert_true(gg_peerid_eq(&p, &before));
  /* and back: push_peer */
  assert_int_equal(gg_maddr_push_peer(&tr, &p), GG_OK);
  assert_true(gg_maddr_eq(&tr, &ma));

  ma = parse_ok("/ip6/::1/udp/53");
  assert_int_equal(gg_maddr_dial_info(&ma, &d), GG_OK);
  assert_int_equal(d.host_proto, GG_MA_IP6);
  assert_string_equal(d.host, "::1");
  assert_int_equal(d.transport, GG_MA_UDP);
  assert_int_equal(d.has_peer, 0);
  ma = parse_ok("/ip6zone/eth0/ip6/fe80::1/tcp/1");
  assert_int_equal(gg_maddr_dial_info(&ma, &d), GG_OK);
  assert_string_equal(d.host, "fe80::1%eth0");
  ma = parse_ok("/dns4/example.com/tcp/443");
  assert_int_equal(gg_maddr_dial_info(&ma, &d), GG_OK);
  assert_int_equal(d.host_proto, GG_MA_DNS4);
  assert_string_equal(d.host, "example.com");
  assert_int_equal(d.port, 443);
  static const char *nodial[] = {"/ip4/1.2.3.4",
                                 "/ip4/1.2.3.4/tcp/1/ws",
                                 "/tcp/1",
                                 "/ip4/1.2.3.4/udp/1/quic-v1",
                                 "/ip6zone/x/ip4/1.2.3.4/tcp/1",
                                 "/dnsaddr/example.com/tcp/1",
                                 "/p2p-circuit"};
  for (size_t i = 0; i < sizeof(nodial) / sizeof(nodial[0]); i++) {
    ma = parse_ok(nodial[i]);
    assert_int_equal(gg_maddr_dial_info(&ma, &d), GG_EUNSUPPORTED);
  }

  /* from_ip */
  static const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
  assert_int_equal(gg_maddr_from_ip(&ma, 6, v6, GG_MA_TCP, 4001), GG_OK);
  assert_text(&ma, "/ip6/2001:db8::1/tcp/4001");
  assert_int_equal(gg_maddr_from_ip(&ma, 4, (const uint8_t *)"\x0a\0\0\1", GG_MA_UDP, 0), GG_OK);
  assert_text(&ma, "/ip4/10.0.0.1/udp/0");
  assert_int_equal(gg_maddr_from_ip(&ma, 5, v6, GG_MA_TCP, 1), GG_EINVAL);
  assert_int_equal(gg_maddr_from_ip(&ma, 4, v6, GG_MA_WS, 1), GG_EINVAL);
}

/* Formatting into a gg_buf that hits its cap fails cleanly (nothing half-written). */
static void test_format_cap(void **state) {
  (void)state;
  gg_maddr ma =
      parse_ok("/ip4/127.0.0.1/tcp/4001/p2p/QmbHVEEepCi7rn7VL7Exxpd2Ci9NNB6ifvqwhsrbRMgQFP");
  for (size_t cap = 0; cap < 60; cap++) {
    gg_buf b;
    gg_buf_init(&b, NULL, cap + 3);
    gg_buf_append(&b, "ab:", 3);
    int rc = gg_maddr_format(ma.b, ma.len, &b);
    if (rc == GG_OK) {
      assert_int_equal(gg_buf_len(&b), 3 + 74);
    } else {
      assert_int_equal(rc, GG_ETOOBIG);
      assert_int_equal(gg_buf_len(&b), 3);
    }
    gg_buf_free(&b);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_spec_cases), cmocka_unit_test(test_empty_and_limits),
      cmocka_unit_test(test_components), cmocka_unit_test(test_encap_decap),
      cmocka_unit_test(test_dialing),    cmocka_unit_test(test_format_cap),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
