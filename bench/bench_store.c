/*
 * Blob store micro-benchmark (the original design's "cache" suite): hit (get -> open
 * descriptor of an existing blob, then close), miss, write (put of 4 KiB and 256 KiB blobs,
 * hash + temp file + fsync + rename + index), cleanup (gc with and without eviction, clean).
 * Target: cache hit <= 50 us. The store lives under $TMPDIR; its fsyncs make writes depend
 * heavily on the file system, which is noted in the output.
 */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "ggen/blobstore.h"
#include "ggen/err.h"
#include "ggen/pack.h"
#include "ggen/time.h"
#include "report.h"

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb;
  (void)ftw;
  return flag == FTW_DP || flag == FTW_D ? rmdir(p) : unlink(p);
}

static void make_blob(uint8_t *buf, size_t len, uint32_t seed, uint8_t cid[GGM_CID_LEN]) {
  uint32_t x = seed * 2654435761u + 1;
  for (size_t i = 0; i < len; i++) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    buf[i] = (uint8_t)x;
  }
  ggm_pack_cid_of(buf, len, cid);
}

static void check(int rv, const char *what) {
  if (rv != GG_OK) {
    fprintf(stderr, "bench_store: %s: %s\n", what, gg_strerror(rv));
    exit(1);
  }
}

/* Records per-op latencies (us) as median and p99 in one row. */
static void row_lat(bench_report *r, const char *name, double *us, size_t n) {
  bench_row *row = bench_row_add(r, name);
  double sum = 0;
  for (size_t i = 0; i < n; i++) sum += us[i];
  bench_row_num(row, "ops", (double)n);
  bench_row_num(row, "mean_us", sum / (double)n);
  bench_row_num(row, "median_us", bench_median(us, n));
  bench_row_num(row, "p99_us", bench_percentile(us, n, 99));
}

static const bench_usage usage = {
    "Blob store: hit, miss, write (4 KiB and 256 KiB, fsync) and cleanup costs.", NULL,
    "Store under $TMPDIR (writes depend heavily on its file system).\n"
    "Full run: 2,000 blobs, 200,000 reads, 500 writes; --quick: 64, 2,000, 32."};

int main(int argc, char **argv) {
  bench_report *r = bench_report_new("store", &usage, argc, argv);
  int quick = bench_quick(r);
  size_t nblobs = quick ? 64 : 2000;
  size_t nreads = quick ? 2000 : 200000;
  size_t nwrites = quick ? 32 : 500;

  const char *tmp = getenv("TMPDIR");
  char dir[512];
  snprintf(dir, sizeof(dir), "%s/ggen-bench-store-XXXXXX", tmp ? tmp : "/tmp");
  if (mkdtemp(dir) == NULL) {
    perror("mkdtemp");
    return 1;
  }
  struct statfs fs;
  if (statfs(dir, &fs) == 0)
    bench_note(r, "store in %s (file system magic 0x%lx)", dir, (long)fs.f_type);

  ggs_blob_store *st;
  ggs_blob_settings set = {.budget = 1ull << 34};
  check(ggs_blob_open(&st, dir, &set, NULL), "open");
  size_t small = 4096, large = 256 * 1024;
  uint8_t *buf = malloc(large);
  uint8_t(*cids)[GGM_CID_LEN] = malloc(nblobs * GGM_CID_LEN);
  double *us = malloc(sizeof(double) * (nreads > nwrites ? nreads : nwrites));

  /* writes: small blobs (these are also the population for the reads) */
  for (size_t i = 0; i < nblobs; i++) {
    make_blob(buf, small, (uint32_t)i, cids[i]);
    gg_ts t0 = gg_clock_now();
    check(ggs_blob_put(st, cids[i], buf, small), "put");
    if (i < nwrites) us[i] = (double)(gg_clock_now() - t0) / 1e3;
  }
  row_lat(r, "write 4 KiB", us, nwrites < nblobs ? nwrites : nblobs);
  for (size_t i = 0; i < nwrites; i++) {
    uint8_t cid[GGM_CID_LEN];
    make_blob(buf, large, (uint32_t)(1000000 + i), cid);
    gg_ts t0 = gg_clock_now();
    check(ggs_blob_put(st, cid, buf, large), "put large");
    us[i] = (double)(gg_clock_now() - t0) / 1e3;
  }
  row_lat(r, "write 256 KiB", us, nwrites);

  /* hits: get (descriptor of an existing blob) + close, random blobs */
  uint64_t x = 88172645463325252ull;
  for (size_t i = 0; i < nreads; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    int fd;
    gg_ts t0 = gg_clock_now();
    check(ggs_blob_get(st, cids[x % nblobs], 0, &fd, NULL), "get");
    close(fd);
    us[i] = (double)(gg_clock_now() - t0) / 1e3;
  }
  row_lat(r, "hit (get + close)", us, nreads);
  double hit_p99 = bench_percentile(us, nreads, 99);

  /* hits with verification (hash of 4 KiB) */
  size_t nv = nreads / 10;
  for (size_t i = 0; i < nv; i++) {
    int fd;
    gg_ts t0 = gg_clock_now();
    check(ggs_blob_get(st, cids[i % nblobs], GGS_BLOB_VERIFY, &fd, NULL), "get verify");
    close(fd);
    us[i] = (double)(gg_clock_now() - t0) / 1e3;
  }
  row_lat(r, "hit + verify 4 KiB", us, nv);

  /* misses */
  for (size_t i = 0; i < nreads; i++) {
    uint8_t cid[GGM_CID_LEN];
    memcpy(cid, cids[i % nblobs], GGM_CID_LEN);
    cid[10] ^= 0x5a;
    int fd;
    gg_ts t0 = gg_clock_now();
    if (ggs_blob_get(st, cid, 0, &fd, NULL) != GG_ENOTFOUND) {
      fprintf(stderr, "bench_store: unexpected hit\n");
      return 1;
    }
    us[i] = (double)(gg_clock_now() - t0) / 1e3;
  }
  row_lat(r, "miss", us, nreads);

  ggs_blob_stats stats;
  check(ggs_blob_stats_get(st, &stats), "stats");
  bench_row *row = bench_row_add(r, "store after reads");
  bench_row_num(row, "entries", (double)stats.entries);
  bench_row_num(row, "MiB", (double)stats.bytes / (1 << 20));
  bench_row_num(row, "hit_rate", stats.hit_rate);

  /* cleanup: gc with nothing to do, gc evicting half, clean */
  ggs_blob_gc_result g;
  gg_ts t0 = gg_clock_now();
  check(ggs_blob_gc(st, 0, &g), "gc");
  row = bench_row_add(r, "gc (no eviction)");
  bench_row_num(row, "entries", (double)stats.entries);
  bench_row_num(row, "ms", (double)(gg_clock_now() - t0) / 1e6);
  ggs_blob_close(st);
  set.budget = stats.bytes / 2;
  check(ggs_blob_open(&st, dir, &set, NULL), "reopen");
  t0 = gg_clock_now();
  check(ggs_blob_gc(st, 0, &g), "gc evict");
  row = bench_row_add(r, "gc (evict half)");
  bench_row_num(row, "evicted", (double)g.evicted);
  bench_row_num(row, "ms", (double)(gg_clock_now() - t0) / 1e6);
  check(ggs_blob_stats_get(st, &stats), "stats");
  t0 = gg_clock_now();
  check(ggs_blob_clean(st), "clean");
  row = bench_row_add(r, "clean");
  bench_row_num(row, "entries", (double)stats.entries);
  bench_row_num(row, "ms", (double)(gg_clock_now() - t0) / 1e6);
  ggs_blob_close(st);

  bench_note(r, "target: cache hit <= 50 us; p99 hit here %.1f us (%s)", hit_p99,
             hit_p99 <= 50 ? "met" : "MISSED");
  nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
  free(buf);
  free(cids);
  free(us);
  return bench_report_finish(r);
}
