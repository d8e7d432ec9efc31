/*
 * Tests for the multistream-select core (src/proto/mss.c): both roles, "na", "ls",
 * pipelined and byte-by-byte input, leftover bytes after agreement, size caps, the lazy
 * dialer, the round limit and allocation failures.
 */
#include "gg_test.h"

#include <string.h>

#include "ggen/err.h"
#include "ggen/mss.h"

#define HDR "\x13/multistream/1.0.0\n"

static ggp_mss *mk(int dialer, const char *const *protos, size_t n, const gg_mem *mem) {
  ggp_mss_settings st = {.dialer = dialer, .protocols = protos, .nprotocols = n};
  ggp_mss *s = NULL;
  assert_int_equal(ggp_mss_new(&s, NULL, &st, mem, NULL), GG_OK);
  return s;
}

static void assert_buf(const gg_buf *b, const char *want, size_t wlen) {
  assert_int_equal(gg_buf_len(b), wlen);
  assert_memory_equal(gg_buf_ptr(b), want, wlen);
}

/* Feeds in to s and checks the result code and consumption. */
static int feed(ggp_mss *s, const void *in, size_t len, size_t *used, gg_buf *out) {
  return ggp_mss_recv(s, in, len, used, out);
}

static void test_dialer_first_write(void **state) {
  (void)state;
  const char *protos[] = {"/noise"};
  ggp_mss *d = mk(1, protos, 1, NULL);
  gg_buf out;
  gg_buf_init(&out, NULL, 4096);
  assert_int_equal(ggp_mss_start(d, &out), GG_OK);
  /* exactly what js sends: header and first proposal in one write */
  assert_buf(&out, HDR "\x07/noise\n", 20 + 8);
  assert_int_equal(ggp_mss_start(d, &out), GG_ESTATE);
  assert_false(ggp_mss_may_send(d));
  size_t used;
  /* js answers in two writes */
  assert_int_equal(feed(d, HDR, 20, &used, &out), GG_EAGAIN);
  assert_int_equal(used, 20);
  assert_false(ggp_mss_done(d));
  assert_null(ggp_mss_protocol(d, NULL));
  assert_int_equal(feed(d, "\x07/noise\nXY", 10, &used, &out), GG_OK);
  assert_int_equal(used, 8); /* "XY" belongs to Noise */
  size_t plen;
  assert_string_equal(ggp_mss_protocol(d, &plen), "/noise");
  assert_int_equal(plen, 6);
  assert_int_equal(ggp_mss_protocol_index(d), 0);
  assert_true(ggp_mss_done(d));
  assert_true(ggp_mss_may_send(d));
  assert_int_equal(feed(d, "x", 1, &used, &out), GG_ESTATE);
  ggp_mss_del(d);
  gg_buf_free(&out);
}

static void test_listener_pipelined_leftover(void **state) {
  (void)state;
  const char *protos[] = {"/yamux/1.0.0", "/noise"};
  ggp_mss *l = mk(0, protos, 2, NULL);
  gg_buf out;
  gg_buf_init(&out, NULL, 4096);
  assert_int_equal(ggp_mss_start(l, &out), GG_OK);
  assert_int_equal(gg_buf_len(&out), 0); /* the listener speaks only when spoken to */
  const char in[] = HDR "\x07/noise\n"
                        "\x00\x20noise-msg1";
  size_t used;
  assert_int_equal(feed(l, in, sizeof(in) - 1, &used, &out), GG_OK);
  assert_int_equal(used, 28);
  assert_buf(&out, HDR "\x07/noise\n", 28);
  assert_string_equal(ggp_mss_protocol(l, NULL), "/noise");
  assert_int_equal(ggp_mss_protocol_index(l), 1);
  ggp_mss_del(l);
  gg_buf_free(&out);
}

/* Every split point of a pipelined dialer input, and one byte at a time. */
/* A listener needs no start(): recv() begins it; start() after that is refused, and a dialer
 * still must start first. */
static void test_listener_without_start(void **state) {
  (void)state;
  const char *protos[] = {"/yamux/1.0.0", "/noise"};
  ggp_mss *l = mk(0, protos, 2, NULL);
  gg_buf out;
  gg_buf_init(&out, NULL, 4096);
  size_t used;
  assert_int_equal(feed(l, HDR, 10, &used, &out), GG_EAGAIN); /* split inside the header */
  assert_int_equal(used, 10);
  assert_int_equal(ggp_mss_start(l, &out), GG_ESTATE);
  const char rest[] = HDR "\x07/noise\n";
  assert_int_equal(feed(l, rest + 10, sizeof(rest) - 1 - 10, &used, &out), GG_OK);
  assert_buf(&out, HDR "\x07/noise\n", 28);
  assert_string_equal(ggp_mss_protocol(l, NULL), "/noise");
  ggp_mss_del(l);
  gg_buf_reset(&out);
  ggp_mss *d = mk(1, protos, 1, NULL);
  assert_int_equal(feed(d, HDR, 20, &used, &out), GG_ESTATE);
  assert_int_equal(used, 0);
  ggp_mss_del(d);
  gg_buf_free(&out);
}

static void test_listener_splits(void **state) {
  (void)state;
  const char *protos[] = {"/ipfs/id/1.0.0", "/ipfs/ping/1.0.0"};
  const char in[] = HDR "\x05/foo\n"
                        "\x11/ipfs/ping/1.0.0\n"
                        "PINGDATA";
  size_t total = sizeof(in) - 1, neg = total - 8;
  for (size_t k = 0; k <= total; k++) {
    ggp_mss *l = mk(0, protos, 2, NULL);
    gg_buf out;
    gg_buf_init(&out, NULL, 4096);
    assert_int_equal(ggp_mss_start(l, &out), GG_OK);
    size_t used = 0, used2 = 0;
    int rv = feed(l, in, k, &used, &out);
    if (k < neg) {
      assert_int_equal(rv, GG_EAGAIN);
      assert_int_equal(used, k);
      rv = feed(l, in + k, total - k, &used2, &out);
      assert_int_equal(rv, GG_OK);
      assert_int_equal(k + used2, neg);
    } else {
      assert_int_equal(rv, GG_OK);
      assert_int_equal(used, neg);
    }
    assert_buf(&out,
               HDR "\x03na\n"
                   "\x11/ipfs/ping/1.0.0\n",
               20 + 4 + 18);
    ggp_mss_del(l);
    gg_buf_free(&out);
  }
  /* byte by byte */
  ggp_mss *l = mk(0, protos, 2, NULL);
  gg_buf out;
  gg_buf_init(&out, NULL, 4096);
  assert_int_equal(ggp_mss_start(l, &out), GG_OK);
  size_t i = 0, used;
  int rv = GG_EAGAIN;
  for (; i < total && rv == GG_EAGAIN; i++) {
    rv = feed(l, in + i, 1, &used, &out);
    assert_int_equal(used, 1);
  }
  assert_int_equal(rv, GG_OK);
  assert_int_equal(i, neg);
  ggp_mss_del(l);
  gg_buf_free(&out);
}

/* A dialer and a listener talk through two buffers, chunked at `step` bytes. */
static int converse(ggp_mss *d, ggp_mss *l, size_t step) {
  gg_buf d2l, l2d;
  gg_buf_init(&d2l, NULL, 1 << 16);
  gg_buf_init(&l2d, NULL, 1 << 16);
  assert_int_equal(ggp_mss_start(d, &d2l), GG_OK);
  assert_int_equal(ggp_mss_start(l, &l2d), GG_OK);
  int rd = GG_EAGAIN, rl = GG_EAGAIN;
  for (int guard = 0; guard < 100000 && (rd == GG_EAGAIN || rl == GG_EAGAIN); guard++) {
    size_t used, n;
    if (rl == GG_EAGAIN && gg_buf_len(&d2l)) {
      n = gg_buf_len(&d2l) < step ? gg_buf_len(&d2l) : step;
      rl = ggp_mss_recv(l, gg_buf_ptr(&d2l), n, &used, &l2d);
      gg_buf_consume(&d2l, used);
    } else if (rd == GG_EAGAIN && gg_buf_len(&l2d)) {
      n = gg_buf_len(&l2d) < step ? gg_buf_len(&l2d) : step;
      rd = ggp_mss_recv(d, gg_buf_ptr(&l2d), n, &used, &d2l);
      gg_buf_consume(&l2d, used);
    } else {
      break;
    }
  }
  gg_buf_free(&d2l);
  gg_buf_free(&l2d);
  return rd == GG_OK && rl == GG_OK ? GG_OK : (rd != GG_EAGAIN && rd != GG_OK ? rd : rl);
}

static void test_na_then_agree(void **state) {
  (void)state;
  const char *want[] = {"/tls/1.0.0", "/mplex/6.7.0", "/yamux/1.0.0"};
  const char *have[] = {"/yamux/1.0.0", "/noise"};
  size_t steps[] = {1, 2, 3, 7, 1000};
  for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
    ggp_mss *d = mk(1, want, 3, NULL), *l = mk(0, have, 2, NULL);
    assert_int_equal(converse(d, l, steps[i]), GG_OK);
    assert_string_equal(ggp_mss_protocol(d, NULL), "/yamux/1.0.0");
    assert_int_equal(ggp_mss_protocol_index(d), 2);
    assert_string_equal(ggp_mss_protocol(l, NULL), "/yamux/1.0.0");
    assert_int_equal(ggp_mss_protocol_index(l), 0);
    ggp_mss_del(d);
    ggp_mss_del(l);
  }
}

static void test_all_na(void **state) {
  (void)state;
  const char *want[] = {"/a", "/b"};
  const char *have[] = {"/c"};
  ggp_mss *d = mk(1, want, 2, NULL), *l = mk(0, have, 1, NULL);
  assert_int_equal(converse(d, l, 5), GG_ENOPROTO);
  assert_false(ggp_mss_done(d));
  size_t used;
  gg_buf out;
  gg_buf_init(&out, NULL, 64);
  assert_int_equal(ggp_mss_recv(d, (const uint8_t *)"\x03na\n", 4, &used, &out), GG_ESTATE);
  ggp_mss_del(d);
  ggp_mss_del(l);
  gg_buf_free(&out);
}

static int match_prefix(const char *name, size_t len, void *ud) {
  int *calls = ud;
  (*calls)++;
  assert_int_equal(strlen(name), len);
  return strncmp(name, "/ggen/", 6) == 0;
}

static void test_listener_callback(void **state) {
  (void)state;
  const char *want[] = {"/other", "/ggen/market/2.1.0"};
  int calls = 0;
  ggp_mss_callbacks cb = {.match = match_prefix};
  ggp_mss_settings st = {.dialer = 0};
  ggp_mss *l = NULL, *d = mk(1, want, 2, NULL);
  assert_int_equal(ggp_mss_new(&l, &cb, &st, NULL, &calls), GG_OK);
  assert_int_equal(converse(d, l, 4), GG_OK);
  assert_int_equal(calls, 2);
  assert_string_equal(ggp_mss_protocol(l, NULL), "/ggen/market/2.1.0");
  assert_int_equal(ggp_mss_protocol_index(l), -1);
  ggp_mss_del(d);
  ggp_mss_del(l);
}

static void test_ls(void **state) {
  (void)state;
  const char *have[] = {"/a", "/bc"};
  for (int answer = 0; answer <= 1; answer++) {
    ggp_mss_settings st = {.dialer = 0, .protocols = have, .nprotocols = 2, .answer_ls = answer};
    ggp_mss *l = NULL;
    assert_int_equal(ggp_mss_new(&l, NULL, &st, NULL, NULL), GG_OK);
    gg_buf out;
    gg_buf_init(&out, NULL, 4096);
    assert_int_equal(ggp_mss_start(l, &out), GG_OK);
    size_t used;
    assert_int_equal(feed(l, HDR "\x03ls\n", 24, &used, &out), GG_EAGAIN);
    assert_int_equal(used, 24);
    if (answer) /* body: 03 "/a\n" 04 "/bc\n" "\n" = 10 bytes */
      assert_buf(&out, HDR "\x0a\x03/a\n\x04/bc\n\n", 20 + 11);
    else
      assert_buf(&out, HDR "\x03na\n", 24);
    /* still negotiating after ls */
    gg_buf_reset(&out);
    assert_int_equal(feed(l, "\x04/bc\n", 5, &used, &out), GG_OK);
    assert_buf(&out, "\x04/bc\n", 5);
    ggp_mss_del(l);
    gg_buf_free(&out);
  }
}

static void test_bad_input(void **state) {
  (void)state;
  const char *have[] = {"/a"};
  struct {
    const char *in;
    size_t len;
    int rv;
  } cases[] = {
      {"\x13/multistream/2.0.0\n", 20, GG_EPROTO}, /* wrong header */
      {"\x13/multistream/1.0.0X", 20, GG_EPROTO},  /* no newline */
      {"\x00", 1, GG_EPROTO},                      /* empty message */
      {"\x80\x00", 2, GG_EPROTO},                  /* non-minimal varint */
      {"\x83\x08", 2, GG_ETOOBIG},                 /* 1027 > 1025 */
      {"\x80\x80\x01", 3, GG_ETOOBIG},             /* prefix longer than we accept */
      {"\x03na\n", 4, GG_EPROTO},                  /* no header first */
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    for (size_t step = 1; step <= cases[i].len; step += cases[i].len - 1) {
      ggp_mss *l = mk(0, have, 1, NULL);
      gg_buf out;
      gg_buf_init(&out, NULL, 4096);
      assert_int_equal(ggp_mss_start(l, &out), GG_OK);
      int rv = GG_EAGAIN;
      for (size_t off = 0; off < cases[i].len && rv == GG_EAGAIN; off += step) {
        size_t n = cases[i].len - off < step ? cases[i].len - off : step, used;
        rv = feed(l, cases[i].in + off, n, &used, &out);
      }
      assert_int_equal(rv, cases[i].rv);
      size_t used;
      assert_int_equal(feed(l, "\x02/a", 3, &used, &out), GG_ESTATE); /* failed for good */
      ggp_mss_del(l);
      gg_buf_free(&out);
      if (cases[i].len == 1) break;
    }
  }
  /* a dialer that gets an answer it did not ask for */
  const char *want[] = {"/a"};
  ggp_mss *d = mk(1, want, 1, NULL);
  gg_buf out;
  gg_buf_init(&out, NULL, 4096);
  assert_int_equal(ggp_mss_start(d, &out), GG_OK);
  size_t used;
  assert_int_equal(feed(d, HDR "\x03/b\n", 24, &used, &out), GG_EPROTO);
  ggp_mss_del(d);
  gg_buf_free(&out);
}

static void test_name_caps(void **state) {
  (void)state;
  char big[GGP_MSS_NAME_MAX + 2];
  memset(big, 'x', sizeof(big));
  big[0] = '/';
  big[GGP_MSS_NAME_MAX + 1] = '\0'; /* 1025 bytes: too long */
  const char *p1[] = {big};
  ggp_mss_settings st = {.dialer = 1, .protocols = p1, .nprotocols = 1};
  ggp_mss *s = (ggp_mss *)0x1;
  assert_int_equal(ggp_mss_new(&s, NULL, &st, NULL, NULL), GG_EINVAL);
  assert_ptr_equal(s, (ggp_mss *)0x1); /* untouched on failure */
  const char *p2[] = {"/a\nb"};
  st.protocols = p2;
  assert_int_equal(ggp_mss_new(&s, NULL, &st, NULL, NULL), GG_EINVAL);
  const char *p3[] = {""};
  st.protocols = p3;
  assert_int_equal(ggp_mss_new(&s, NULL, &st, NULL, NULL), GG_EINVAL);
  st.nprotocols = 0;
  assert_int_equal(ggp_mss_new(&s, NULL, &st, NULL, NULL), GG_EINVAL);

  /* a name of exactly the maximum works both ways, in small chunks */
  big[GGP_MSS_NAME_MAX] = '\0';
  const char *p4[] = {big};
  ggp_mss *d = mk(1, p4, 1, NULL), *l = mk(0, p4, 1, NULL);
  assert_int_equal(converse(d, l, 100), GG_OK);
  assert_string_equal(ggp_mss_protocol(l, NULL), big);
  ggp_mss_del(d);
  ggp_mss_del(l);
  gg_buf out;
  gg_buf_init(&out, NULL, 4096);
  assert_int_equal(ggp_mss_write_msg(&out, big, GGP_MSS_NAME_MAX + 1), GG_EINVAL);
  assert_int_equal(ggp_mss_write_msg(&out, big, 0), GG_EINVAL);
  gg_buf_free(&out);
}

static void test_lazy(void **state) {
  (void)state;
  const char *one[] = {"/ipfs/ping/1.0.0"}, *two[] = {"/a", "/b"};
  ggp_mss_settings st = {.dialer = 1, .protocols = two, .nprotocols = 2, .lazy = 1};
  ggp_mss *d = NULL;
  assert_int_equal(ggp_mss_new(&d, NULL, &st, NULL, NULL), GG_EINVAL);
  st.protocols = one;
  st.nprotocols = 1;
  assert_int_equal(ggp_mss_new(&d, NULL, &st, NULL, NULL), GG_OK);
  assert_false(ggp_mss_may_send(d));
  gg_buf out;
  gg_buf_init(&out, NULL, 4096);
  assert_int_equal(ggp_mss_start(d, &out), GG_OK);
  assert_true(ggp_mss_may_send(d)); /* may write data, but nothing is agreed yet */
  assert_false(ggp_mss_done(d));
  assert_null(ggp_mss_protocol(d, NULL));
  size_t used;
  assert_int_equal(feed(d, HDR, 20, &used, &out), GG_EAGAIN);
  /* "na": no second chance, the data already sent would be read as a proposal */
  assert_int_equal(feed(d, "\x03na\n", 4, &used, &out), GG_ENOPROTO);
  assert_false(ggp_mss_may_send(d));
  ggp_mss_del(d);

  /* the listener sees header + proposal + data in one read and hands the data back */
  assert_int_equal(ggp_mss_new(&d, NULL, &st, NULL, NULL), GG_OK);
  gg_buf_reset(&out);
  assert_int_equal(ggp_mss_start(d, &out), GG_OK);
  gg_buf_append(&out, "0123456789abcdef0123456789abcdef", 32);
  ggp_mss *l = mk(0, one, 1, NULL);
  gg_buf back;
  gg_buf_init(&back, NULL, 4096);
  assert_int_equal(ggp_mss_start(l, &back), GG_OK);
  assert_int_equal(feed(l, gg_buf_ptr(&out), gg_buf_len(&out), &used, &back), GG_OK);
  assert_int_equal(gg_buf_len(&out) - used, 32);
  gg_buf_append(&back, "pong", 4);
  assert_int_equal(feed(d, gg_buf_ptr(&back), gg_buf_len(&back), &used, &out), GG_OK);
  assert_int_equal(gg_buf_len(&back) - used, 4);
  ggp_mss_del(d);
  ggp_mss_del(l);
  gg_buf_free(&out);
  gg_buf_free(&back);
}

static void test_rounds_limit(void **state) {
  (void)state;
  const char *have[] = {"/a"};
  ggp_mss_settings st = {.dialer = 0, .protocols = have, .nprotocols = 1, .rounds = 3};
  ggp_mss *l = NULL;
  assert_int_equal(ggp_mss_new(&l, NULL, &st, NULL, NULL), GG_OK);
  gg_buf out;
  gg_buf_init(&out, NULL, 4096);
  assert_int_equal(ggp_mss_start(l, &out), GG_OK);
  size_t used;
  assert_int_equal(feed(l, HDR, 20, &used, &out), GG_EAGAIN);
  assert_int_equal(feed(l, "\x03/x\n\x03/y\n\x03ls\n", 12, &used, &out), GG_EAGAIN);
  assert_int_equal(feed(l, "\x03/a\n", 4, &used, &out), GG_ERATE);
  ggp_mss_del(l);
  gg_buf_free(&out);
}

static void test_output_cap(void **state) {
  (void)state;
  const char *want[] = {"/noise"};
  ggp_mss *d = mk(1, want, 1, NULL);
  gg_buf out;
  gg_buf_init(&out, NULL, 25); /* header fits, proposal does not */
  assert_int_equal(ggp_mss_start(d, &out), GG_ETOOBIG);
  assert_int_equal(gg_buf_len(&out), 0); /* nothing half-written */
  out.limit = 64;
  assert_int_equal(ggp_mss_start(d, &out), GG_OK);
  ggp_mss_del(d);
  gg_buf_free(&out);
}

static void test_failing_allocator(void **state) {
  (void)state;
  const char *have[] = {"/a"};
  const char in[] = HDR "\x03/a\n";
  int succeeded = 0;
  for (long fail = 0; fail < 10 && !succeeded; fail++) {
    gg_failmem fm;
    gg_failmem_init(&fm, fail);
    ggp_mss_settings st = {.dialer = 0, .protocols = have, .nprotocols = 1};
    ggp_mss *l = (ggp_mss *)0x1;
    int rv = ggp_mss_new(&l, NULL, &st, &fm.mem, NULL);
    if (rv) {
      assert_int_equal(rv, GG_ENOMEM);
      assert_ptr_equal(l, (ggp_mss *)0x1);
      assert_int_equal(fm.live, 0);
      continue;
    }
    gg_buf out;
    gg_buf_init(&out, NULL, 4096);
    assert_int_equal(ggp_mss_start(l, &out), GG_OK);
    /* split so the partial-message buffer is needed too */
    size_t used;
    rv = ggp_mss_recv(l, (const uint8_t *)in, 10, &used, &out);
    if (rv == GG_EAGAIN)
      rv = ggp_mss_recv(l, (const uint8_t *)in + 10, sizeof(in) - 11, &used, &out);
    if (rv == GG_OK)
      succeeded = 1;
    else
      assert_int_equal(rv, GG_ENOMEM);
    ggp_mss_del(l);
    gg_buf_free(&out);
    assert_int_equal(fm.live, 0);
  }
  assert_true(succeeded);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_dialer_first_write),
      cmocka_unit_test(test_listener_pipelined_leftover),
      cmocka_unit_test(test_listener_without_start),
      cmocka_unit_test(test_listener_splits),
      cmocka_unit_test(test_na_then_agree),
      cmocka_unit_test(test_all_na),
      cmocka_unit_test(test_listener_callback),
      cmocka_unit_test(test_ls),
      cmocka_unit_test(test_bad_input),
      cmocka_unit_test(test_name_caps),
      cmocka_unit_test(test_lazy),
      cmocka_unit_test(test_rounds_limit),
      cmocka_unit_test(test_output_cap),
      cmocka_unit_test(test_failing_allocator),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
