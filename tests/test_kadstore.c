/*
 * Kademlia persistence: a core mirrored into SQLite, closed, and a new core reloaded from the
 * file has the same records and providers; expired rows are dropped on load; the file passes
 * PRAGMA integrity_check (read through a second connection).
 */
#include "gg_test.h"

#include <sqlite3.h>
#include <string.h>

#include "ggen/err.h"
#include "ggen/kad.h"
#include "ggen/kadstore.h"

static int ok_validate(void *ud, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl) {
  (void)ud, (void)k, (void)kl, (void)v, (void)vl;
  return GG_OK;
}
static size_t first(void *ud, const uint8_t *k, size_t kl, const gg_slice *v, size_t n) {
  (void)ud, (void)k, (void)kl, (void)v, (void)n;
  return 0;
}
static int nosend(ggp_kad *k, uint64_t r, const ggp_kad_peerinfo *p, const uint8_t *m, size_t l, int e, void *ud) {
  (void)k, (void)r, (void)p, (void)m, (void)l, (void)e, (void)ud;
  return -1; /* no network: lookups end at once */
}
static void done(ggp_kad *k, uint64_t q, const ggp_kad_result *r, void *ud) { (void)k, (void)q, (void)r, (void)ud; }
static void rec_stored(ggp_kad *k, const ggp_kad_record *r, void *ud) {
  (void)k;
  assert_int_equal(ggs_kadstore_record_put(ud, r), GG_OK);
}
static void rec_removed(ggp_kad *k, const uint8_t *key, size_t kl, void *ud) {
  (void)k;
  assert_int_equal(ggs_kadstore_record_del(ud, key, kl), GG_OK);
}
static void prov_stored(ggp_kad *k, const uint8_t *key, size_t kl, const ggp_kad_peerinfo *p, gg_ts exp, void *ud) {
  (void)k;
  assert_int_equal(ggs_kadstore_provider_put(ud, key, kl, p, exp), GG_OK);
}
static void prov_removed(ggp_kad *k, const uint8_t *key, size_t kl, const gg_peerid *p, void *ud) {
  (void)k;
  assert_int_equal(ggs_kadstore_provider_del(ud, key, kl, p), GG_OK);
}

static ggp_kad *core(ggs_kadstore *st, const gg_peerid *self) {
  ggp_kad_callbacks cb = {.send_request = nosend, .query_done = done, .record_stored = rec_stored,
                          .record_removed = rec_removed, .provider_stored = prov_stored,
                          .provider_removed = prov_removed};
  ggp_kad *k;
  assert_int_equal(ggp_kad_new(&k, &cb, NULL, self, gg_rand_system(), NULL, st), GG_OK);
  ggp_kad_validator v = {"test", ok_validate, first, NULL};
  assert_int_equal(ggp_kad_add_validator(k, &v), GG_OK);
  const uint8_t addr[8] = {0x04, 127, 0, 0, 1, 0x06, 0x0f, 0xa1};
  gg_slice a = {addr, 8};
  ggp_kad_set_self_addrs(k, &a, 1);
  return k;
}

static void test_reload(void **s) {
  (void)s;
  char *dir = gg_test_mkdtemp();
  char path[512];
  snprintf(path, sizeof(path), "%s/dht.db", dir);
  uint8_t seed[32] = {4};
  gg_keypair kp;
  gg_keypair_from_seed(&kp, seed);
  gg_peerid self;
  gg_peerid_from_ed25519(&self, kp.pub);
  gg_ts t = GG_SEC(1700000000);

  ggs_kadstore *st;
  assert_int_equal(ggs_kadstore_open(&st, path), GG_OK);
  ggp_kad *k = core(st, &self);
  uint64_t q;
  assert_int_equal(ggp_kad_put_value(k, (const uint8_t *)"/test/one", 9, (const uint8_t *)"1", 1, t, &q), GG_OK);
  const uint8_t mh[34] = {0x12, 0x20, 9};
  assert_int_equal(ggp_kad_provide(k, mh, sizeof(mh), t, &q), GG_OK);
  /* a record received from a peer, stored via the wire */
  ggp_kad_record rec = {(const uint8_t *)"/test/two", 9, (const uint8_t *)"2", 1, t, 0};
  assert_int_equal(ggp_kad_load_record(k, &rec, t), GG_OK);
  assert_int_equal(ggs_kadstore_record_put(st, &rec), GG_OK);
  ggp_kad_handle_expiry(k, t + 1);
  ggp_kad_del(k);
  ggs_kadstore_close(st);

  /* restart one hour later: everything is back */
  assert_int_equal(ggs_kadstore_open(&st, path), GG_OK);
  k = core(st, &self);
  size_t nr, np;
  assert_int_equal(ggs_kadstore_load(st, k, t + GG_SEC(3600), &nr, &np), GG_OK);
  assert_int_equal(nr, 2);
  assert_int_equal(np, 1);
  gg_buf v;
  gg_buf_init(&v, NULL, 64);
  assert_int_equal(ggp_kad_get_local(k, (const uint8_t *)"/test/one", 9, t + GG_SEC(3600), &v), GG_OK);
  assert_memory_equal(gg_buf_ptr(&v), "1", 1);
  ggp_kad_stats ks;
  ggp_kad_get_stats(k, &ks);
  assert_int_equal(ks.provider_keys, 1);
  ggp_kad_del(k);
  ggs_kadstore_close(st);

  /* three days later: the received record and the provider record have expired, ours has not */
  assert_int_equal(ggs_kadstore_open(&st, path), GG_OK);
  k = core(st, &self);
  assert_int_equal(ggs_kadstore_load(st, k, t + GG_SEC(72 * 3600), &nr, &np), GG_OK);
  assert_int_equal(nr, 1);
  assert_int_equal(np, 0);
  ggp_kad_del(k);
  ggs_kadstore_close(st);

  sqlite3 *db;
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  sqlite3_stmt *stmt;
  sqlite3_prepare_v2(db, "SELECT count(*) FROM records", -1, &stmt, NULL);
  assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
  assert_int_equal(sqlite3_column_int(stmt, 0), 1); /* the expired row was deleted */
  sqlite3_finalize(stmt);
  sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &stmt, NULL);
  assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
  assert_string_equal((const char *)sqlite3_column_text(stmt, 0), "ok");
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  gg_buf_free(&v);
  gg_test_rmtree(dir);
  free(dir);
}

static void test_open_failure(void **s) {
  (void)s;
  ggs_kadstore *st = NULL;
  assert_int_equal(ggs_kadstore_open(&st, "/nonexistent-dir/x/dht.db"), GG_ESTORAGE);
  assert_null(st);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_reload), cmocka_unit_test(test_open_failure)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
