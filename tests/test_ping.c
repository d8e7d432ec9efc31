/*
 * Tests for the Ping core (include/ggen/ping.h): a dialer and a listener wired back to back
 * with a fake clock, split delivery, repeated pings, mismatched and unsolicited bytes, both
 * timeouts, the listener's flood limit, and allocation and output-cap failures.
 */
#include "gg_test.h"

#include <string.h>

#include "ggen/err.h"
#include "ggen/ping.h"

struct ctx {
  int calls;
  gg_ts rtt;
};

static void on_rtt(ggp_ping *p, gg_ts rtt, void *ud) {
  (void)p;
  struct ctx *c = ud;
  c->calls++;
  c->rtt = rtt;
}

static const ggp_ping_callbacks cbs = {on_rtt};

static void pair(ggp_ping **d, ggp_ping **l, struct ctx *c, gg_rand_seeded *rs) {
  gg_rand_seeded_init(rs, 7);
  ggp_ping_settings ds = {.dialer = 1, .rand = &rs->r};
  ggp_ping_settings ls = {.dialer = 0};
  assert_int_equal(ggp_ping_new(d, &cbs, &ds, NULL, c), GG_OK);
  assert_int_equal(ggp_ping_new(l, NULL, &ls, NULL, NULL), GG_OK);
}

/* Moves everything s has to send into a fresh buffer. */
static gg_buf drain(ggp_ping *s) {
  gg_buf b;
  gg_buf_init(&b, NULL, 1 << 16);
  assert_int_equal(ggp_ping_send(s, &b), GG_OK);
  return b;
}

static void test_round_trips(void **state) {
  (void)state;
  ggp_ping *d, *l;
  struct ctx c = {0};
  gg_rand_seeded rs;
  pair(&d, &l, &c, &rs);
  assert_int_equal(ggp_ping_start(l, 0), GG_OK);
  assert_true(ggp_ping_last_rtt(d) == GG_TS_UNSET);
  assert_true(ggp_ping_expiry(d) == GG_TS_UNSET); /* nothing outstanding */
  uint8_t prev[GGP_PING_LEN] = {0};
  for (int round = 0; round < 3; round++) {
    gg_ts t0 = GG_SEC(1) * (gg_ts)round;
    assert_int_equal(ggp_ping_start(d, t0), GG_OK);
    assert_int_equal(ggp_ping_start(d, t0), GG_ESTATE); /* one at a time */
    assert_true(ggp_ping_expiry(d) == t0 + GGP_PING_TIMEOUT);
    gg_buf ping = drain(d);
    assert_int_equal(gg_buf_len(&ping), GGP_PING_LEN);
    assert_memory_not_equal(gg_buf_ptr(&ping), prev, GGP_PING_LEN); /* fresh random bytes */
    memcpy(prev, gg_buf_ptr(&ping), GGP_PING_LEN);
    /* listener gets it in two pieces */
    assert_int_equal(ggp_ping_recv(l, gg_buf_ptr(&ping), 10, t0 + GG_MS(1)), GG_OK);
    gg_buf none = drain(l);
    assert_int_equal(gg_buf_len(&none), 0); /* no echo of an incomplete chunk */
    gg_buf_free(&none);
    assert_int_equal(ggp_ping_recv(l, gg_buf_ptr(&ping) + 10, 22, t0 + GG_MS(2)), GG_OK);
    gg_buf echo = drain(l);
    assert_int_equal(gg_buf_len(&echo), GGP_PING_LEN);
    assert_memory_equal(gg_buf_ptr(&echo), gg_buf_ptr(&ping), GGP_PING_LEN);
    /* dialer gets the echo byte by byte; the last byte completes it */
    for (size_t i = 0; i < GGP_PING_LEN; i++) {
      assert_int_equal(ggp_ping_recv(d, gg_buf_ptr(&echo) + i, 1, t0 + GG_MS(5) + round), GG_OK);
      assert_int_equal(c.calls, round + (i + 1 == GGP_PING_LEN));
    }
    assert_true(c.rtt == GG_MS(5) + (gg_ts)round);
    assert_true(ggp_ping_last_rtt(d) == c.rtt);
    assert_true(ggp_ping_expiry(d) == GG_TS_UNSET);
    assert_true(ggp_ping_expiry(l) == t0 + GG_MS(2) + GGP_PING_TIMEOUT);
    gg_buf_free(&ping);
    gg_buf_free(&echo);
  }
  ggp_ping_del(d);
  ggp_ping_del(l);
  ggp_ping_del(NULL);
}

static void test_dialer_rejects_bad_echo(void **state) {
  (void)state;
  ggp_ping *d, *l;
  struct ctx c = {0};
  gg_rand_seeded rs;
  pair(&d, &l, &c, &rs);
  /* bytes before any ping */
  assert_int_equal(ggp_ping_recv(d, (const uint8_t *)"x", 1, 0), GG_EPROTO);
  assert_int_equal(ggp_ping_start(d, 0), GG_EPROTO); /* the session is over */
  assert_true(ggp_ping_expiry(d) == GG_TS_UNSET);
  ggp_ping_del(d);

  gg_rand_seeded_init(&rs, 8);
  ggp_ping_settings ds = {.dialer = 1, .rand = &rs.r};
  assert_int_equal(ggp_ping_new(&d, &cbs, &ds, NULL, &c), GG_OK);
  assert_int_equal(ggp_ping_start(d, 0), GG_OK);
  gg_buf ping = drain(d);
  uint8_t bad[GGP_PING_LEN];
  memcpy(bad, gg_buf_ptr(&ping), GGP_PING_LEN);
  bad[20] ^= 1;
  /* the first 20 bytes are right; the 21st fails at once */
  assert_int_equal(ggp_ping_recv(d, bad, 20, 1), GG_OK);
  assert_int_equal(ggp_ping_recv(d, bad + 20, 12, 2), GG_EPROTO);
  assert_int_equal(c.calls, 0);
  assert_int_equal(ggp_ping_recv(d, bad, 1, 3), GG_EPROTO); /* sticky */
  gg_buf_free(&ping);
  ggp_ping_del(d);

  /* a correct echo followed by one byte too many, in the same read */
  gg_rand_seeded_init(&rs, 9);
  assert_int_equal(ggp_ping_new(&d, &cbs, &ds, NULL, &c), GG_OK);
  assert_int_equal(ggp_ping_start(d, 0), GG_OK);
  ping = drain(d);
  uint8_t more[GGP_PING_LEN + 1];
  memcpy(more, gg_buf_ptr(&ping), GGP_PING_LEN);
  more[GGP_PING_LEN] = 0;
  assert_int_equal(ggp_ping_recv(d, more, sizeof(more), 4), GG_EPROTO);
  assert_int_equal(c.calls, 1); /* the good ping still counted */
  gg_buf_free(&ping);
  ggp_ping_del(d);
  ggp_ping_del(l);
}

static void test_timeouts(void **state) {
  (void)state;
  ggp_ping *d, *l;
  struct ctx c = {0};
  gg_rand_seeded rs;
  pair(&d, &l, &c, &rs);
  gg_ts t0 = GG_SEC(100);
  assert_int_equal(ggp_ping_start(d, t0), GG_OK);
  assert_int_equal(ggp_ping_handle_expiry(d, t0 + GGP_PING_TIMEOUT - 1), GG_OK);
  assert_int_equal(ggp_ping_handle_expiry(d, t0 + GGP_PING_TIMEOUT), GG_ETIMEDOUT);
  assert_int_equal(ggp_ping_recv(d, (const uint8_t *)"x", 1, t0), GG_ETIMEDOUT);
  assert_true(ggp_ping_expiry(d) == GG_TS_UNSET);

  /* listener: no timer before start(); then one per expected ping */
  assert_true(ggp_ping_expiry(l) == GG_TS_UNSET);
  assert_int_equal(ggp_ping_handle_expiry(l, UINT64_MAX - 1), GG_OK);
  assert_int_equal(ggp_ping_start(l, 0), GG_OK);
  uint8_t chunk[GGP_PING_LEN + 5] = {1};
  assert_int_equal(ggp_ping_recv(l, chunk, sizeof(chunk), GG_SEC(3)), GG_OK);
  assert_true(ggp_ping_expiry(l) == GG_SEC(13)); /* the partial 5 bytes do not count */
  assert_int_equal(ggp_ping_handle_expiry(l, GG_SEC(12)), GG_OK);
  assert_int_equal(ggp_ping_handle_expiry(l, GG_SEC(13)), GG_ETIMEDOUT);
  ggp_ping_del(d);
  ggp_ping_del(l);

  /* a custom timeout, and one so large the deadline saturates instead of wrapping */
  ggp_ping_settings ls = {.dialer = 0, .timeout = GG_MS(1)};
  assert_int_equal(ggp_ping_new(&l, NULL, &ls, NULL, NULL), GG_OK);
  assert_int_equal(ggp_ping_start(l, 5), GG_OK);
  assert_true(ggp_ping_expiry(l) == 5 + GG_MS(1));
  ggp_ping_del(l);
  ls.timeout = UINT64_MAX - 3;
  assert_int_equal(ggp_ping_new(&l, NULL, &ls, NULL, NULL), GG_OK);
  assert_int_equal(ggp_ping_start(l, GG_SEC(1)), GG_OK);
  assert_true(ggp_ping_expiry(l) == UINT64_MAX - 1);
  assert_int_equal(ggp_ping_handle_expiry(l, GG_SEC(2)), GG_OK);
  ggp_ping_del(l);
}

static void test_listener_queue_limit(void **state) {
  (void)state;
  ggp_ping *l;
  ggp_ping_settings ls = {.dialer = 0};
  assert_int_equal(ggp_ping_new(&l, NULL, &ls, NULL, NULL), GG_OK);
  uint8_t *many = calloc(1, GGP_PING_QUEUE_MAX + GGP_PING_LEN);
  for (size_t i = 0; i < GGP_PING_QUEUE_MAX + GGP_PING_LEN; i++) many[i] = (uint8_t)i;
  /* several pings in one read are all echoed, in order */
  assert_int_equal(ggp_ping_recv(l, many, 3 * GGP_PING_LEN, 0), GG_OK);
  gg_buf e = drain(l);
  assert_int_equal(gg_buf_len(&e), 3 * GGP_PING_LEN);
  assert_memory_equal(gg_buf_ptr(&e), many, 3 * GGP_PING_LEN);
  gg_buf_free(&e);
  /* a peer that pings without ever reading fills the queue, then is refused */
  assert_int_equal(ggp_ping_recv(l, many, GGP_PING_QUEUE_MAX, 1), GG_OK);
  assert_int_equal(ggp_ping_recv(l, many, GGP_PING_LEN, 2), GG_ERATE);
  assert_true(gg_err_is_peer(GG_ERATE));
  free(many);
  ggp_ping_del(l);
}

static void test_alloc_and_caps(void **state) {
  (void)state;
  ggp_ping *p = (ggp_ping *)0x1;
  ggp_ping_settings bad = {.dialer = 1};
  assert_int_equal(ggp_ping_new(&p, NULL, &bad, NULL, NULL), GG_EINVAL);
  assert_ptr_equal(p, (ggp_ping *)0x1);
  gg_failmem fm;
  gg_failmem_init(&fm, 0);
  gg_rand_seeded rs;
  gg_rand_seeded_init(&rs, 1);
  ggp_ping_settings ds = {.dialer = 1, .rand = &rs.r};
  assert_int_equal(ggp_ping_new(&p, NULL, &ds, &fm.mem, NULL), GG_ENOMEM);
  assert_ptr_equal(p, (ggp_ping *)0x1);
  /* the session allocates, then its output buffer fails */
  gg_failmem_init(&fm, 1);
  assert_int_equal(ggp_ping_new(&p, NULL, &ds, &fm.mem, NULL), GG_OK);
  assert_int_equal(ggp_ping_start(p, 0), GG_ENOMEM);
  assert_true(ggp_ping_expiry(p) == GG_TS_UNSET); /* nothing outstanding after the failure */
  fm.fail_after = -1;
  assert_int_equal(ggp_ping_start(p, 0), GG_OK); /* not fatal: retry works */
  /* the caller's output cap: nothing moves, and it can be retried */
  gg_buf small;
  gg_buf_init(&small, NULL, 16);
  assert_int_equal(ggp_ping_send(p, &small), GG_ETOOBIG);
  assert_int_equal(gg_buf_len(&small), 0);
  gg_buf_free(&small);
  gg_buf ok = drain(p);
  assert_int_equal(gg_buf_len(&ok), GGP_PING_LEN);
  gg_buf_free(&ok);
  ggp_ping_del(p);
  assert_int_equal(fm.live, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trips),    cmocka_unit_test(test_dialer_rejects_bad_echo),
      cmocka_unit_test(test_timeouts),       cmocka_unit_test(test_listener_queue_limit),
      cmocka_unit_test(test_alloc_and_caps),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
