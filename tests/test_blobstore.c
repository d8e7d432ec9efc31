/*
 * Blob store: put/get/has/path/remove, hash checked on put, atomic writes (no partial blob or
 * leftover temp on failure, abandoned temps collected, live ones kept), least-recently-used
 * eviction order under a budget, corrupt entries detected (on demand and by gc) and removed,
 * index reconciliation after a crash between rename and index insert, counters persisted
 * across reopen, clean, several handles on one store, allocation failures.
 */
#include "gg_test.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "ggen/blobstore.h"
#include "ggen/err.h"
#include "ggen/pack.h"

typedef struct blob {
  uint8_t data[1000];
  size_t len;
  uint8_t cid[GGS_BLOB_CID_LEN];
} blob;

static void make_blob(blob *b, int seed, size_t len) {
  for (size_t i = 0; i < len; i++) b->data[i] = (uint8_t)(seed * 31 + i * 7);
  b->len = len;
  ggm_pack_cid_of(b->data, len, b->cid);
}

static ggs_blob_store *open_store(const char *dir, uint64_t budget) {
  ggs_blob_store *st = NULL;
  ggs_blob_settings s = {.budget = budget};
  assert_int_equal(ggs_blob_open(&st, dir, &s, NULL), GG_OK);
  assert_non_null(st);
  return st;
}

static int count_dir(const char *dir) {
  DIR *d = opendir(dir);
  if (d == NULL) return -1;
  int n = 0;
  struct dirent *de;
  while ((de = readdir(d)) != NULL)
    if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) n++;
  closedir(d);
  return n;
}

static int temps(const char *dir) {
  char p[512];
  snprintf(p, sizeof(p), "%s/tmp", dir);
  return count_dir(p);
}

static void expect_content(ggs_blob_store *st, const blob *b) {
  int fd;
  uint64_t size;
  assert_int_equal(ggs_blob_get(st, b->cid, 0, &fd, &size), GG_OK);
  assert_int_equal(size, b->len);
  uint8_t buf[1100];
  assert_int_equal(read(fd, buf, sizeof(buf)), (ssize_t)b->len);
  assert_memory_equal(buf, b->data, b->len);
  close(fd);
}

static void test_put_get(void **s) {
  (void)s;
  char *dir = gg_test_mkdtemp();
  ggs_blob_store *st = open_store(dir, 0);
  blob a, b;
  make_blob(&a, 1, 1000);
  make_blob(&b, 2, 10);
  assert_int_equal(ggs_blob_has(st, a.cid), GG_ENOTFOUND);
  assert_int_equal(ggs_blob_put(st, a.cid, a.data, a.len), GG_OK);
  assert_int_equal(ggs_blob_put(st, a.cid, a.data, a.len), GG_OK); /* again: a touch */
  assert_int_equal(ggs_blob_has(st, a.cid), GG_OK);
  expect_content(st, &a);
  int fd;
  assert_int_equal(ggs_blob_get(st, b.cid, 0, &fd, NULL), GG_ENOTFOUND);
  /* the path is blobs/<last two chars>/<cid text> */
  char path[512], text[GGM_CID_TEXT_MAX], want[600];
  assert_int_equal(ggs_blob_path(st, a.cid, path, sizeof(path)), GG_OK);
  ggm_pack_cid_text(a.cid, text);
  snprintf(want, sizeof(want), "%s/blobs/%s/%s", dir, text + strlen(text) - 2, text);
  assert_string_equal(path, want);
  struct stat sb;
  assert_int_equal(stat(path, &sb), 0);
  assert_int_equal(ggs_blob_path(st, a.cid, path, 10), GG_ETOOBIG);

  ggs_blob_stats stats;
  assert_int_equal(ggs_blob_stats_get(st, &stats), GG_OK);
  assert_int_equal(stats.entries, 1);
  assert_int_equal(stats.bytes, 1000);
  assert_int_equal(stats.hits, 1);
  assert_int_equal(stats.misses, 1);
  assert_true(stats.hit_rate > 0.49 && stats.hit_rate < 0.51);
  assert_int_equal(stats.budget, GGS_BLOB_DEF_BUDGET);

  /* wrong content for a CID, wrong kind of CID */
  assert_int_equal(ggs_blob_put(st, b.cid, a.data, 10), GG_EINTEGRITY);
  assert_int_equal(ggs_blob_has(st, b.cid), GG_ENOTFOUND);
  uint8_t dagpb[GGS_BLOB_CID_LEN];
  memcpy(dagpb, a.cid, sizeof(dagpb));
  dagpb[1] = 0x70;
  assert_int_equal(ggs_blob_put(st, dagpb, a.data, a.len), GG_EINVAL);
  assert_int_equal(ggs_blob_get(st, dagpb, 0, &fd, NULL), GG_EINVAL);

  /* from a file, with and without an expected CID */
  char f[512];
  snprintf(f, sizeof(f), "%s/input", dir);
  int w = open(f, O_WRONLY | O_CREAT, 0644);
  assert_int_equal(write(w, b.data, b.len), (ssize_t)b.len);
  close(w);
  uint8_t got[GGS_BLOB_CID_LEN];
  assert_int_equal(ggs_blob_put_file(st, f, a.cid, got), GG_EINTEGRITY);
  assert_int_equal(ggs_blob_has(st, b.cid), GG_ENOTFOUND);
  assert_int_equal(ggs_blob_put_file(st, f, NULL, got), GG_OK);
  assert_memory_equal(got, b.cid, GGS_BLOB_CID_LEN);
  expect_content(st, &b);
  assert_int_equal(ggs_blob_put_file(st, "/nonexistent-ggen", NULL, got), GG_ENOTFOUND);
  assert_int_equal(temps(dir), 0);

  assert_int_equal(ggs_blob_remove(st, b.cid), GG_OK);
  assert_int_equal(ggs_blob_remove(st, b.cid), GG_ENOTFOUND);
  assert_int_equal(ggs_blob_stats_get(st, &stats), GG_OK);
  assert_int_equal(stats.entries, 1);
  assert_int_equal(stats.bytes, 1000);
  ggs_blob_close(st);

  /* counters and rows survive a reopen */
  st = open_store(dir, 0);
  assert_int_equal(ggs_blob_stats_get(st, &stats), GG_OK);
  assert_int_equal(stats.entries, 1);
  assert_int_equal(stats.hits, 2);
  assert_int_equal(stats.misses, 1);
  ggs_blob_close(st);
  gg_test_rmtree(dir);
  free(dir);
}

static void test_lru_eviction(void **s) {
  (void)s;
  char *dir = gg_test_mkdtemp();
  ggs_blob_store *st = open_store(dir, 3000);
  blob v[6];
  for (int i = 0; i < 6; i++) make_blob(&v[i], 10 + i, 1000);
  assert_int_equal(ggs_blob_put(st, v[0].cid, v[0].data, 1000), GG_OK);
  assert_int_equal(ggs_blob_put(st, v[1].cid, v[1].data, 1000), GG_OK);
  assert_int_equal(ggs_blob_put(st, v[2].cid, v[2].data, 1000), GG_OK);
  int fd;
  assert_int_equal(ggs_blob_get(st, v[0].cid, 0, &fd, NULL), GG_OK); /* 0 is now newest */
  close(fd);
  assert_int_equal(ggs_blob_put(st, v[3].cid, v[3].data, 1000), GG_OK); /* evicts 1 */
  assert_int_equal(ggs_blob_has(st, v[1].cid), GG_ENOTFOUND);
  assert_int_equal(ggs_blob_has(st, v[0].cid), GG_OK);
  assert_int_equal(ggs_blob_has(st, v[2].cid), GG_OK);
  assert_int_equal(ggs_blob_has(st, v[3].cid), GG_OK);
  assert_int_equal(ggs_blob_get(st, v[2].cid, 0, &fd, NULL), GG_OK); /* order: 0, 3, 2 */
  close(fd);
  assert_int_equal(ggs_blob_put(st, v[4].cid, v[4].data, 1000), GG_OK); /* evicts 0 */
  assert_int_equal(ggs_blob_has(st, v[0].cid), GG_ENOTFOUND);
  assert_int_equal(ggs_blob_has(st, v[3].cid), GG_OK);
  ggs_blob_stats stats;
  assert_int_equal(ggs_blob_stats_get(st, &stats), GG_OK);
  assert_int_equal(stats.entries, 3);
  assert_int_equal(stats.bytes, 3000);
  /* bigger than the budget: refused, nothing evicted */
  uint8_t big[3001] = {0};
  uint8_t bigcid[GGS_BLOB_CID_LEN];
  ggm_pack_cid_of(big, sizeof(big), bigcid);
  assert_int_equal(ggs_blob_put(st, bigcid, big, sizeof(big)), GG_ELIMIT);
  assert_int_equal(ggs_blob_stats_get(st, &stats), GG_OK);
  assert_int_equal(stats.entries, 3);
  ggs_blob_close(st);

  /* a smaller budget applies at the next gc: least recently used go first (3, then 2) */
  st = open_store(dir, 1000);
  ggs_blob_gc_result g;
  assert_int_equal(ggs_blob_gc(st, 0, &g), GG_OK);
  assert_int_equal(g.evicted, 2);
  assert_int_equal(g.evicted_bytes, 2000);
  assert_int_equal(ggs_blob_has(st, v[4].cid), GG_OK);
  assert_int_equal(ggs_blob_has(st, v[3].cid), GG_ENOTFOUND);
  assert_int_equal(ggs_blob_has(st, v[2].cid), GG_ENOTFOUND);
  assert_int_equal(ggs_blob_stats_get(st, &stats), GG_OK);
  assert_int_equal(stats.budget, 1000);
  assert_int_equal(stats.bytes, 1000);
  ggs_blob_close(st);
  /* the budget was stored: reopening without one keeps it */
  st = open_store(dir, 0);
  assert_int_equal(ggs_blob_stats_get(st, &stats), GG_OK);
  assert_int_equal(stats.budget, 1000);
  ggs_blob_close(st);
  gg_test_rmtree(dir);
  free(dir);
}

static void corrupt_file(ggs_blob_store *st, const blob *b, int truncate_it) {
  char path[512];
  assert_int_equal(ggs_blob_path(st, b->cid, path, sizeof(path)), GG_OK);
  int fd = open(path, O_WRONLY);
  assert_true(fd >= 0);
  if (truncate_it)
    assert_int_equal(ftruncate(fd, 5), 0);
  else
    assert_int_equal(pwrite(fd, "X", 1, 17), 1);
  close(fd);
}

static void test_corrupt_entries(void **s) {
  (void)s;
  char *dir = gg_test_mkdtemp();
  ggs_blob_store *st = open_store(dir, 0);
  blob v[4];
  for (int i = 0; i < 4; i++) {
    make_blob(&v[i], 20 + i, 100);
    assert_int_equal(ggs_blob_put(st, v[i].cid, v[i].data, 100), GG_OK);
  }
  /* same-size corruption: the fast path does not hash, VERIFY does and removes the entry */
  corrupt_file(st, &v[0], 0);
  int fd;
  assert_int_equal(ggs_blob_get(st, v[0].cid, 0, &fd, NULL), GG_OK);
  close(fd);
  assert_int_equal(ggs_blob_get(st, v[0].cid, GGS_BLOB_VERIFY, &fd, NULL), GG_EINTEGRITY);
  assert_int_equal(ggs_blob_has(st, v[0].cid), GG_ENOTFOUND);
  /* verify on demand */
  corrupt_file(st, &v[1], 0);
  assert_int_equal(ggs_blob_verify(st, v[2].cid), GG_OK);
  assert_int_equal(ggs_blob_verify(st, v[1].cid), GG_EINTEGRITY);
  assert_int_equal(ggs_blob_verify(st, v[1].cid), GG_ENOTFOUND);
  /* VERIFY on a good blob leaves the descriptor at the start */
  assert_int_equal(ggs_blob_get(st, v[2].cid, GGS_BLOB_VERIFY, &fd, NULL), GG_OK);
  uint8_t buf[100];
  assert_int_equal(read(fd, buf, 100), 100);
  assert_memory_equal(buf, v[2].data, 100);
  close(fd);
  /* gc: a truncated blob (size disagrees with the index) is found without hashing; with
   * GGS_BLOB_GC_VERIFY a same-size corruption too */
  corrupt_file(st, &v[3], 1);
  ggs_blob_gc_result g;
  assert_int_equal(ggs_blob_gc(st, 0, &g), GG_OK);
  assert_int_equal(g.corrupt, 1);
  assert_int_equal(ggs_blob_has(st, v[3].cid), GG_ENOTFOUND);
  corrupt_file(st, &v[2], 0);
  assert_int_equal(ggs_blob_gc(st, 0, &g), GG_OK);
  assert_int_equal(g.corrupt, 0);
  assert_int_equal(ggs_blob_gc(st, GGS_BLOB_GC_VERIFY, &g), GG_OK);
  assert_int_equal(g.corrupt, 1);
  ggs_blob_stats stats;
  assert_int_equal(ggs_blob_stats_get(st, &stats), GG_OK);
  assert_int_equal(stats.entries, 0);
  assert_int_equal(stats.bytes, 0);
  /* a corrupt blob is replaced by a correct put */
  assert_int_equal(ggs_blob_put(st, v[0].cid, v[0].data, 100), GG_OK);
  corrupt_file(st, &v[0], 0);
  assert_int_equal(ggs_blob_put(st, v[0].cid, v[0].data, 100), GG_OK); /* same size: touch */
  corrupt_file(st, &v[0], 1);
  assert_int_equal(ggs_blob_put(st, v[0].cid, v[0].data, 100), GG_OK); /* size differs: rewrite */
  assert_int_equal(ggs_blob_verify(st, v[0].cid), GG_OK);
  ggs_blob_close(st);
  gg_test_rmtree(dir);
  free(dir);
}

/* Crash leftovers: temp files (abandoned or live) and blobs whose index row is missing. */
static void test_atomicity_and_recovery(void **s) {
  (void)s;
  char *dir = gg_test_mkdtemp();
  ggs_blob_store *st = open_store(dir, 0);
  blob a, b;
  make_blob(&a, 30, 500);
  make_blob(&b, 31, 600);
  assert_int_equal(ggs_blob_put(st, a.cid, a.data, a.len), GG_OK);

  /* a put whose stream ends early never shows a blob and leaves no temp */
  int p[2];
  assert_int_equal(pipe(p), 0);
  assert_int_equal(write(p[1], b.data, 300), 300);
  close(p[1]);
  assert_int_equal(ggs_blob_put_fd(st, p[0], b.cid, NULL), GG_EINTEGRITY);
  close(p[0]);
  assert_int_equal(ggs_blob_has(st, b.cid), GG_ENOTFOUND);
  assert_int_equal(temps(dir), 0);

  /* leftovers of a killed writer: an old unlocked temp (collected), an old temp a live writer
   * still holds (kept), a young temp (kept by gc: its writer may not have locked it yet) */
  char t1[512], t2[512], t3[512];
  snprintf(t1, sizeof(t1), "%s/tmp/put-dead", dir);
  snprintf(t2, sizeof(t2), "%s/tmp/put-live", dir);
  snprintf(t3, sizeof(t3), "%s/tmp/put-young", dir);
  int f1 = open(t1, O_WRONLY | O_CREAT, 0600), f2 = open(t2, O_WRONLY | O_CREAT, 0600);
  int f3 = open(t3, O_WRONLY | O_CREAT, 0600);
  assert_true(f1 >= 0 && f2 >= 0 && f3 >= 0);
  assert_int_equal(write(f1, "partial", 7), 7);
  close(f1);
  close(f3);
  assert_int_equal(flock(f2, LOCK_EX), 0);
  struct timeval old[2] = {{1000000000, 0}, {1000000000, 0}};
  assert_int_equal(utimes(t1, old), 0);
  assert_int_equal(utimes(t2, old), 0);

  /* a blob renamed into place whose row never got written */
  char path[512];
  assert_int_equal(ggs_blob_path(st, b.cid, path, sizeof(path)), GG_OK);
  char shard[512];
  snprintf(shard, sizeof(shard), "%s", path);
  *strrchr(shard, '/') = '\0';
  mkdir(shard, 0700);
  int w = open(path, O_WRONLY | O_CREAT, 0644);
  assert_int_equal(write(w, b.data, b.len), (ssize_t)b.len);
  close(w);
  /* and a stray file that is not a blob */
  char stray[600];
  snprintf(stray, sizeof(stray), "%s/not-a-cid", shard);
  close(open(stray, O_WRONLY | O_CREAT, 0644));

  ggs_blob_stats stats;
  assert_int_equal(ggs_blob_stats_get(st, &stats), GG_OK);
  assert_int_equal(stats.entries, 1);               /* the index does not know b yet */
  assert_int_equal(ggs_blob_has(st, b.cid), GG_OK); /* the file system does */
  ggs_blob_gc_result g;
  assert_int_equal(ggs_blob_gc(st, 0, &g), GG_OK);
  assert_int_equal(g.temps, 1);
  assert_int_equal(g.reconciled, 2); /* b adopted, stray removed */
  assert_int_equal(access(t1, F_OK), -1);
  assert_int_equal(access(t2, F_OK), 0);
  assert_int_equal(access(t3, F_OK), 0);
  assert_int_equal(access(stray, F_OK), -1);
  assert_int_equal(ggs_blob_stats_get(st, &stats), GG_OK);
  assert_int_equal(stats.entries, 2);
  assert_int_equal(stats.bytes, 1100);
  /* a row whose file vanished is dropped */
  assert_int_equal(unlink(path), 0);
  assert_int_equal(ggs_blob_gc(st, 0, &g), GG_OK);
  assert_int_equal(g.reconciled, 1);
  assert_int_equal(ggs_blob_stats_get(st, &stats), GG_OK);
  assert_int_equal(stats.entries, 1);
  assert_int_equal(stats.bytes, 500);
  close(f2);

  /* clean: everything goes, counters too (the young temp is unlocked: removed) */
  assert_int_equal(ggs_blob_clean(st), GG_OK);
  assert_int_equal(ggs_blob_stats_get(st, &stats), GG_OK);
  assert_int_equal(stats.entries, 0);
  assert_int_equal(stats.bytes, 0);
  assert_int_equal(stats.hits + stats.misses, 0);
  assert_int_equal(temps(dir), 0);
  snprintf(path, sizeof(path), "%s/blobs", dir);
  assert_int_equal(count_dir(path), 0);
  /* usable after clean */
  assert_int_equal(ggs_blob_put(st, a.cid, a.data, a.len), GG_OK);
  expect_content(st, &a);
  ggs_blob_close(st);
  gg_test_rmtree(dir);
  free(dir);
}

static void test_two_handles(void **s) {
  (void)s;
  char *dir = gg_test_mkdtemp();
  ggs_blob_store *x = open_store(dir, 0), *y = open_store(dir, 0);
  blob a;
  make_blob(&a, 40, 700);
  assert_int_equal(ggs_blob_put(x, a.cid, a.data, a.len), GG_OK);
  expect_content(y, &a);
  ggs_blob_stats sx, sy;
  assert_int_equal(ggs_blob_stats_get(y, &sy), GG_OK);
  assert_int_equal(ggs_blob_stats_get(x, &sx), GG_OK);
  assert_int_equal(sx.entries, 1);
  assert_int_equal(sx.hits, 1); /* y's hit, flushed by y's stats */
  assert_int_equal(ggs_blob_remove(y, a.cid), GG_OK);
  assert_int_equal(ggs_blob_has(x, a.cid), GG_ENOTFOUND);
  ggs_blob_close(x);
  ggs_blob_close(y);
  gg_test_rmtree(dir);
  free(dir);
}

/* Many reads: touches are batched (256 per flush) and all counted. */
static void test_many_reads(void **s) {
  (void)s;
  char *dir = gg_test_mkdtemp();
  ggs_blob_store *st = open_store(dir, 0);
  blob a;
  make_blob(&a, 50, 64);
  assert_int_equal(ggs_blob_put(st, a.cid, a.data, a.len), GG_OK);
  for (int i = 0; i < 1000; i++) {
    int fd;
    assert_int_equal(ggs_blob_get(st, a.cid, 0, &fd, NULL), GG_OK);
    close(fd);
  }
  ggs_blob_stats stats;
  assert_int_equal(ggs_blob_stats_get(st, &stats), GG_OK);
  assert_int_equal(stats.hits, 1000);
  ggs_blob_close(st);
  gg_test_rmtree(dir);
  free(dir);
}

typedef struct walk {
  uint8_t cids[8][GGS_BLOB_CID_LEN];
  uint64_t sizes[8];
  int n, stop_at;
} walk;

static int walk_fn(void *ud, const uint8_t cid[GGS_BLOB_CID_LEN], uint64_t size) {
  walk *w = ud;
  if (w->n == w->stop_at) return 7;
  memcpy(w->cids[w->n], cid, GGS_BLOB_CID_LEN);
  w->sizes[w->n++] = size;
  return 0;
}

/* ggs_blob_each walks the blobs present, most recently used first, skips index rows whose
 * file is gone and stops on a non-zero return. */
static void test_each(void **s) {
  (void)s;
  char *dir = gg_test_mkdtemp();
  ggs_blob_store *st = open_store(dir, 0);
  blob a, b, c;
  make_blob(&a, 1, 100);
  make_blob(&b, 2, 200);
  make_blob(&c, 3, 300);
  walk w = {.stop_at = -1};
  assert_int_equal(ggs_blob_each(st, walk_fn, &w), GG_OK);
  assert_int_equal(w.n, 0);
  assert_int_equal(ggs_blob_put(st, a.cid, a.data, a.len), GG_OK);
  assert_int_equal(ggs_blob_put(st, b.cid, b.data, b.len), GG_OK);
  assert_int_equal(ggs_blob_put(st, c.cid, c.data, c.len), GG_OK);
  expect_content(st, &a); /* a is now the most recently used */
  assert_int_equal(ggs_blob_each(st, walk_fn, &w), GG_OK);
  assert_int_equal(w.n, 3);
  assert_memory_equal(w.cids[0], a.cid, GGS_BLOB_CID_LEN);
  assert_int_equal(w.sizes[0], 100);
  /* a file removed behind the index's back is not reported */
  char path[512];
  assert_int_equal(ggs_blob_path(st, b.cid, path, sizeof(path)), GG_OK);
  assert_int_equal(unlink(path), 0);
  w = (walk){.stop_at = -1};
  assert_int_equal(ggs_blob_each(st, walk_fn, &w), GG_OK);
  assert_int_equal(w.n, 2);
  for (int i = 0; i < w.n; i++) assert_memory_not_equal(w.cids[i], b.cid, GGS_BLOB_CID_LEN);
  w = (walk){.stop_at = 1};
  assert_int_equal(ggs_blob_each(st, walk_fn, &w), 7);
  assert_int_equal(w.n, 1);
  ggs_blob_close(st);
  gg_test_rmtree(dir);
  free(dir);
}

static void test_nomem(void **s) {
  (void)s;
  char *dir = gg_test_mkdtemp();
  blob a;
  make_blob(&a, 60, 100);
  int ok = 0;
  for (long k = 0; k < 20 && !ok; k++) {
    gg_failmem fm;
    gg_failmem_init(&fm, k);
    ggs_blob_store *st = NULL;
    int rv = ggs_blob_open(&st, dir, NULL, &fm.mem);
    if (rv == GG_OK) {
      rv = ggs_blob_put(st, a.cid, a.data, a.len);
      if (rv == GG_OK)
        ok = 1;
      else
        assert_int_equal(rv, GG_ENOMEM);
      ggs_blob_close(st);
    } else {
      assert_int_equal(rv, GG_ENOMEM);
      assert_null(st);
    }
    assert_int_equal(fm.live, 0);
  }
  assert_true(ok);
  gg_test_rmtree(dir);
  free(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_put_get),         cmocka_unit_test(test_lru_eviction),
      cmocka_unit_test(test_corrupt_entries), cmocka_unit_test(test_atomicity_and_recovery),
      cmocka_unit_test(test_two_handles),     cmocka_unit_test(test_many_reads),
      cmocka_unit_test(test_nomem),           cmocka_unit_test(test_each),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
