/*
 * Install benchmark (the original design's install, cache and concurrency suites;
 * docs/install.md "Benchmarks").
 *
 *   install/<deps>/<case>: a root pack with 0, 3, 6 or 50 dependencies (5 files each, 2-6 KiB
 *     templates), through ggm_install_run() with catalog and store already open ("api") and
 *     through the ggen binary ("cli", process start and opening included):
 *       cold       empty project, archives in the store, unpacked cache empty (extract + link)
 *       cold-copy  empty project, --copy (extraction straight into staging)
 *       warm-new   empty project, unpacked cache filled (links only)
 *       warm-noop  already installed, lock present: the repeated install
 *       warm-force already installed, --force (everything linked again)
 *     Targets: 50 dependencies <= 200 ms cold and <= 30 ms warm (noop).
 *   cache/...: the unpacked-tree cache (hit: check + link one pack; miss: extract into the cache,
 *     then link; cleanup: gc verifying every entry, clean). The blob store's own hit, miss,
 *     write and cleanup figures are bench_store's (bench/bench_store.c), not repeated here.
 *   concurrent/...: real processes (fork) against one home (SQLite WAL): 10 parallel searches
 *     over a synthetic catalog, the same with the original design's method (each process loads
 *     the JSON index and scans it with lower-case substring matching: bench/support/
 *     catalog_baseline.c) as the baseline, 5 parallel installs of the 50-dependency pack into
 *     different projects (cold shared cache), and 10 mixed processes (6 searching, 3
 *     installing, 1 publishing).
 * Medians (and p99 for searches) are printed; --quick runs a small configuration for CI.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ggen/err.h"
#include "ggen/install.h"
#include "ggen/publish.h"
#include "ggen/rand.h"
#include "ggen/release.h"
#include "ggen/synth.h"
#include "market/install_int.h"
#include "report.h"
#include "support/catalog_baseline.h"

static char root[512], home[600], catpath[700], storepath[700], srcdir[700];
static ggs_catalog *cat;
static ggs_blob_store *st;
static gg_keypair kp;
static int quick;

static void die(const char *what, int rv) {
  fprintf(stderr, "bench_install: %s: %s\n", what, rv ? gg_strerror(rv) : strerror(errno));
  exit(1);
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb;
  (void)ftw;
  return flag == FTW_DP || flag == FTW_D ? rmdir(p) : unlink(p);
}
static void rmtree(const char *p) { nftw(p, rm_cb, 16, FTW_DEPTH | FTW_PHYS); }

static void open_home(void) {
  int rv = ggs_catalog_open(&cat, catpath, GGS_CATALOG_CREATE, NULL);
  if (rv) die("catalog open", rv);
  ggs_blob_settings s = {.budget = 1ull << 34};
  if ((rv = ggs_blob_open(&st, storepath, &s, NULL))) die("store open", rv);
}
static void close_home(void) {
  ggs_catalog_close(cat);
  ggs_blob_close(st);
  cat = NULL;
  st = NULL;
}

static void write_text(const char *path, const char *text, size_t len) {
  FILE *f = fopen(path, "w");
  if (!f) die(path, 0);
  fwrite(text, 1, len, f);
  fclose(f);
}

/* A pack with 5 files: manifest, README, three templates of 2-6 KiB. */
static void make_pack(const char *id, const char *const *deps, size_t nd) {
  char dir[1024], p[1200], text[8192];
  snprintf(dir, sizeof dir, "%s/%s", srcdir, id);
  mkdir(dir, 0755);
  snprintf(p, sizeof p, "%s/templates", dir);
  mkdir(p, 0755);
  int k = snprintf(
      text, sizeof text,
      "[gpack]\nid = \"%s\"\nname = \"%s\"\nversion = \"1.0.0\"\ndescription = \"Benchmark "
      "pack %s: templates for a generated service\"\nlicense = \"MIT\"\ntags = "
      "[\"bench\", \"templates\"]\n",
      id, id, id);
  if (nd) k += snprintf(text + k, sizeof text - (size_t)k, "\n[dependencies]\n");
  for (size_t i = 0; i < nd; i++)
    k += snprintf(text + k, sizeof text - (size_t)k, "\"%s\" = \"^1\"\n", deps[i]);
  snprintf(p, sizeof p, "%s/gpack.toml", dir);
  write_text(p, text, (size_t)k);
  k = snprintf(text, sizeof text, "# %s\n\nBenchmark pack.\n", id);
  snprintf(p, sizeof p, "%s/README.md", dir);
  write_text(p, text, (size_t)k);
  uint32_t x = 2166136261u;
  for (const char *c = id; *c; c++) x = (x ^ (uint8_t)*c) * 16777619u;
  for (int f = 0; f < 3; f++) {
    size_t len = 2048 + (size_t)f * 2048;
    size_t n = 0;
    while (n < len) {
      x ^= x << 13, x ^= x >> 17, x ^= x << 5;
      static const char *words[] = {"{{ name }}", "fn",          "struct", "impl",   "pub", "let",
                                    "{% if x %}", "{% endif %}", "return", "Result", "\n",  "    "};
      n += (size_t)snprintf(text + n, sizeof text - n, "%s ", words[x % 12]);
    }
    snprintf(p, sizeof p, "%s/templates/t%d.tmpl", dir, f);
    write_text(p, text, len);
  }
  ggm_publish_env pe = {home, cat, st};
  ggm_publish_result res;
  int rv = ggm_publish_dir(dir, &pe, &kp, 1767225600, 0, &res);
  if (rv) {
    fprintf(stderr, "publish %s: %s\n", id, res.msg);
    exit(1);
  }
}

/* Roots: solo (0 deps), s3 (3), m6 (6 in two levels), l50 (10 direct, each with 4). */
static void make_packs(void) {
  make_pack("io.bench.solo", NULL, 0);
  const char *s3[] = {"io.bench.s3.a", "io.bench.s3.b", "io.bench.s3.c"};
  for (int i = 0; i < 3; i++) make_pack(s3[i], NULL, 0);
  make_pack("io.bench.s3", s3, 3);
  const char *m6l[] = {"io.bench.m6.c", "io.bench.m6.d", "io.bench.m6.e", "io.bench.m6.f"};
  for (int i = 0; i < 4; i++) make_pack(m6l[i], NULL, 0);
  make_pack("io.bench.m6.a", m6l, 2);
  make_pack("io.bench.m6.b", m6l + 2, 2);
  const char *m6[] = {"io.bench.m6.a", "io.bench.m6.b"};
  make_pack("io.bench.m6", m6, 2);
  char names[50][40];
  const char *direct[10];
  for (int d = 0; d < 10; d++) {
    const char *leaves[4];
    for (int l = 0; l < 4; l++) {
      snprintf(names[10 + d * 4 + l], 40, "io.bench.l50.d%d.l%d", d, l);
      make_pack(names[10 + d * 4 + l], NULL, 0);
      leaves[l] = names[10 + d * 4 + l];
    }
    snprintf(names[d], 40, "io.bench.l50.d%d", d);
    make_pack(names[d], leaves, 4);
    direct[d] = names[d];
  }
  make_pack("io.bench.l50", direct, 10);
}

static char *new_project(void) {
  static int n;
  char *p = malloc(700);
  snprintf(p, 700, "%s/proj%d", root, n++);
  if (mkdir(p, 0755)) die("mkdir project", 0);
  return p;
}

static double api_install(const char *proj, const char *id, unsigned flags) {
  ggm_install_env env = {home, cat, st};
  ggm_install_opts o = {flags, 0, NULL, NULL};
  ggm_install_req req = {id, NULL};
  ggm_install_result *r = NULL;
  double t0 = now_ms();
  int rv = ggm_install_run(proj, &env, &req, 1, &o, &r);
  double t = now_ms() - t0;
  if (rv) {
    fprintf(stderr, "install %s: %s\n", id, r ? r->msg : "");
    exit(1);
  }
  ggm_install_result_free(r);
  return t;
}

static char ggen_bin[1024];

static double cli_install(const char *proj, const char *id, const char *extra) {
  double t0 = now_ms();
  pid_t pid = fork();
  if (pid == 0) {
    int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 1);
    execl(ggen_bin, "ggen", "--home", home, "marketplace", "install", "--dir", proj, id,
          extra ? extra : (char *)NULL, (char *)NULL);
    _exit(127);
  }
  int status;
  waitpid(pid, &status, 0);
  double t = now_ms() - t0;
  if (!WIFEXITED(status) || WEXITSTATUS(status)) {
    fprintf(stderr, "ggen install %s failed (%d)\n", id, status);
    exit(1);
  }
  return t;
}

static void cache_clean(void) {
  ggm_install_cache_stats s;
  ggm_install_cache_clean(home, &s);
}

static void row_ms(bench_report *r, const char *name, double *v, size_t n, double target) {
  bench_row *row = bench_row_add(r, name);
  bench_row_num(row, "runs", (double)n);
  double med = bench_median(v, n);
  bench_row_num(row, "median_ms", med);
  bench_row_num(row, "min_ms", v[0]);
  bench_row_num(row, "max_ms", v[n - 1]);
  if (target > 0) {
    bench_row_num(row, "target_ms", target);
    bench_row_str(row, "target", med <= target ? "met" : "missed");
  }
}

static void bench_installs(bench_report *r) {
  static const struct {
    const char *id;
    const char *label;
    int deps;
  } roots[] = {{"io.bench.solo", "0deps", 0},
               {"io.bench.s3", "3deps", 3},
               {"io.bench.m6", "6deps", 6},
               {"io.bench.l50", "50deps", 50}};
  int iters = quick ? 3 : 15;
  double v[64];
  char name[128];
  for (size_t k = 0; k < 4; k++) {
    const char *id = roots[k].id;
    int is50 = roots[k].deps == 50;
    /* cold: nothing unpacked */
    for (int i = 0; i < iters; i++) {
      cache_clean();
      char *p = new_project();
      v[i] = api_install(p, id, 0);
      rmtree(p);
      free(p);
    }
    snprintf(name, sizeof name, "install/%s/api/cold", roots[k].label);
    row_ms(r, name, v, (size_t)iters, is50 ? 200 : 0);
    for (int i = 0; i < iters; i++) {
      char *p = new_project();
      v[i] = api_install(p, id, GGM_INSTALL_COPY);
      rmtree(p);
      free(p);
    }
    snprintf(name, sizeof name, "install/%s/api/cold-copy", roots[k].label);
    row_ms(r, name, v, (size_t)iters, is50 ? 200 : 0);
    /* warm: the cache is full now */
    api_install(new_project(), id, 0);
    for (int i = 0; i < iters; i++) {
      char *p = new_project();
      v[i] = api_install(p, id, 0);
      rmtree(p);
      free(p);
    }
    snprintf(name, sizeof name, "install/%s/api/warm-new", roots[k].label);
    row_ms(r, name, v, (size_t)iters, 0);
    char *p = new_project();
    api_install(p, id, 0);
    for (int i = 0; i < iters; i++) v[i] = api_install(p, id, 0);
    snprintf(name, sizeof name, "install/%s/api/warm-noop", roots[k].label);
    row_ms(r, name, v, (size_t)iters, is50 ? 30 : 0);
    for (int i = 0; i < iters; i++) v[i] = api_install(p, id, GGM_INSTALL_FORCE);
    snprintf(name, sizeof name, "install/%s/api/warm-force", roots[k].label);
    row_ms(r, name, v, (size_t)iters, 0);
    rmtree(p);
    free(p);
    if (!ggen_bin[0]) continue;
    /* the command, end to end */
    close_home();
    for (int i = 0; i < iters; i++) {
      cache_clean();
      char *q = new_project();
      v[i] = cli_install(q, id, NULL);
      rmtree(q);
      free(q);
    }
    snprintf(name, sizeof name, "install/%s/cli/cold", roots[k].label);
    row_ms(r, name, v, (size_t)iters, is50 ? 200 : 0);
    char *q = new_project();
    cli_install(q, id, NULL);
    for (int i = 0; i < iters; i++) v[i] = cli_install(q, id, NULL);
    snprintf(name, sizeof name, "install/%s/cli/warm-noop", roots[k].label);
    row_ms(r, name, v, (size_t)iters, is50 ? 30 : 0);
    rmtree(q);
    free(q);
    open_home();
  }
}

/* ---- the unpacked cache ------------------------------------------------------------------- */

static void bench_cache(bench_report *r) {
  /* the 50 leaf-level packs of l50 and its directs: 60 archives */
  ggs_catalog_info *info = NULL;
  char ids[64][48];
  char cids[64][GGM_CID_TEXT_MAX];
  size_t n = 0;
  for (int d = 0; d < 10; d++)
    for (int l = -1; l < 4; l++) {
      if (l < 0)
        snprintf(ids[n], 48, "io.bench.l50.d%d", d);
      else
        snprintf(ids[n], 48, "io.bench.l50.d%d.l%d", d, l);
      if (ggs_catalog_get(cat, ids[n], "1.0.0", &info)) die("catalog get", GG_ENOTFOUND);
      snprintf(cids[n], GGM_CID_TEXT_MAX, "%s", info->versions[0].cid);
      ggs_catalog_info_free(info);
      n++;
    }
  int rounds = quick ? 1 : 5;
  double *miss = malloc(sizeof(double) * n * (size_t)rounds),
         *hit = malloc(sizeof(double) * n * (size_t)rounds);
  size_t nm = 0, nh = 0;
  double gc_ms[8], clean_ms[8];
  for (int rd = 0; rd < rounds; rd++) {
    cache_clean();
    char *p = new_project();
    int pfd = open(p, O_RDONLY | O_DIRECTORY);
    for (int pass = 0; pass < 2; pass++) {
      for (size_t i = 0; i < n; i++) {
        uint8_t cid[GGM_CID_LEN];
        ggm_pack_cid_parse(cids[i], cid);
        int fd;
        if (ggs_blob_get(st, cid, 0, &fd, NULL)) die("blob get", GG_ENOTFOUND);
        char nm_[64];
        snprintf(nm_, sizeof nm_, "%s.%d", ids[i], pass);
        ggm__tree_stats ts = {0};
        char msg[256];
        double t0 = now_ms();
        int rv = ggm__tree_place(home, cids[i], fd, pfd, p, nm_, 1, &ts, msg, sizeof msg);
        double t = (now_ms() - t0) * 1000.0;
        close(fd);
        if (rv) die(msg, rv);
        if (pass == 0)
          miss[nm++] = t;
        else
          hit[nh++] = t;
      }
    }
    close(pfd);
    rmtree(p);
    free(p);
    ggm_install_cache_stats cs;
    double t0 = now_ms();
    ggm_install_cache_gc(home, st, &cs);
    gc_ms[rd] = now_ms() - t0;
    t0 = now_ms();
    ggm_install_cache_clean(home, &cs);
    clean_ms[rd] = now_ms() - t0;
  }
  bench_row *row = bench_row_add(r, "cache/unpacked/hit (check + link one pack)");
  bench_row_num(row, "ops", (double)nh);
  bench_row_num(row, "median_us", bench_median(hit, nh));
  bench_row_num(row, "p99_us", bench_percentile(hit, nh, 99));
  row = bench_row_add(r, "cache/unpacked/miss (extract into cache + link)");
  bench_row_num(row, "ops", (double)nm);
  bench_row_num(row, "median_us", bench_median(miss, nm));
  bench_row_num(row, "p99_us", bench_percentile(miss, nm, 99));
  row = bench_row_add(r, "cache/unpacked/gc (verify 50 entries)");
  bench_row_num(row, "runs", rounds);
  bench_row_num(row, "median_ms", bench_median(gc_ms, (size_t)rounds));
  row = bench_row_add(r, "cache/unpacked/clean (50 entries)");
  bench_row_num(row, "runs", rounds);
  bench_row_num(row, "median_ms", bench_median(clean_ms, (size_t)rounds));
  bench_note(r, "blob store cache figures (hit, miss, write, cleanup): see bench_store");
  free(miss);
  free(hit);
}

/* ---- concurrency --------------------------------------------------------------------------- */

enum { ROLE_SEARCH, ROLE_BASELINE, ROLE_INSTALL, ROLE_PUBLISH };

static ggm_synth *synth;
static size_t synth_n;
static char jsonpath[700];

static void make_query(size_t i, ggs_catalog_query *q, char *word, const char **tag) {
  memset(q, 0, sizeof(*q));
  /* a mix of very common, common and rare words, one in four with a tag filter */
  size_t rank = i % 4 == 0 ? 0 : i % 4 == 1 ? 5 + i % 20 : 200 + (i * 37) % 5000;
  snprintf(word, 64, "%s", ggm_synth_word(synth, rank));
  q->text = word;
  q->limit = 20;
  if (i % 4 == 3) {
    *tag = ggm_synth_word(synth, 1);
    q->tags = tag;
    q->n_tags = 1;
  }
}

/* Child: runs its role and writes its latencies (ms) to fd. */
static void child(int role, int idx, int fd, int nq) {
  double *lat = malloc(sizeof(double) * (size_t)(nq + 1));
  int n = 0;
  if (role == ROLE_SEARCH) {
    ggs_catalog *c;
    if (ggs_catalog_open(&c, catpath, GGS_CATALOG_READONLY, NULL)) _exit(2);
    for (int i = 0; i < nq; i++) {
      ggs_catalog_query q;
      char w[64];
      const char *tag;
      make_query((size_t)(i + idx * 7919), &q, w, &tag);
      ggs_catalog_results *res;
      double t0 = now_ms();
      if (ggs_catalog_search(c, &q, &res)) _exit(3);
      lat[n++] = now_ms() - t0;
      ggs_catalog_results_free(res);
    }
    ggs_catalog_close(c);
  } else if (role == ROLE_BASELINE) {
    /* the original design: every search process loads the JSON index, then scans it */
    size_t len;
    double t0 = now_ms();
    FILE *f = fopen(jsonpath, "rb");
    if (!f) _exit(2);
    fseek(f, 0, SEEK_END);
    len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc(len);
    if (fread(buf, 1, len, f) != len) _exit(2);
    fclose(f);
    baseline bl = {0};
    if (baseline_load_json(&bl, buf, len)) _exit(2);
    free(buf);
    lat[nq] = now_ms() - t0; /* load time, sent last */
    const char *ids[20];
    for (int i = 0; i < nq; i++) {
      ggs_catalog_query q;
      char w[64];
      const char *tag;
      make_query((size_t)(i + idx * 7919), &q, w, &tag);
      t0 = now_ms();
      baseline_search(&bl, &q, ids, 20);
      lat[n++] = now_ms() - t0;
    }
    baseline_free(&bl);
    n++; /* include the load time */
  } else if (role == ROLE_INSTALL) {
    open_home();
    char p[700];
    snprintf(p, sizeof p, "%s/child-%d", root, (int)getpid());
    if (mkdir(p, 0755)) _exit(2);
    lat[n++] = api_install(p, "io.bench.l50", 0);
    close_home();
  } else {
    open_home();
    ggm_publish_env pe = {home, cat, st};
    for (int i = 0; i < nq; i++) {
      char dir[1024], path[1200], text[512];
      snprintf(dir, sizeof dir, "%s/pub-%d-%d", srcdir, getpid(), i);
      mkdir(dir, 0755);
      snprintf(path, sizeof path, "%s/gpack.toml", dir);
      int k = snprintf(text, sizeof text,
                       "[gpack]\nid = \"io.bench.pub%d\"\nversion = \"1.0.%d\"\ndescription = "
                       "\"concurrently published\"\n",
                       idx, i);
      write_text(path, text, (size_t)k);
      ggm_publish_result res;
      double t0 = now_ms();
      if (ggm_publish_dir(dir, &pe, &kp, 1767225600, 0, &res)) {
        fprintf(stderr, "publish: %s\n", res.msg);
        _exit(3);
      }
      lat[n++] = now_ms() - t0;
    }
    close_home();
  }
  if (write(fd, &n, sizeof n) != sizeof n || write(fd, lat, sizeof(double) * (size_t)n) < 0)
    _exit(4);
  _exit(0);
}

typedef struct group {
  int role, count, nq;
  double *lat;
  size_t nlat;
  double *extra; /* baseline: load times */
  size_t nextra;
} group;

/* Runs every group's processes at once; returns the wall time (ms). */
static double run_groups(group *g, int ng) {
  close_home();
  pid_t pids[64];
  int fds[64], who[64], np = 0;
  double t0 = now_ms();
  for (int k = 0; k < ng; k++)
    for (int i = 0; i < g[k].count; i++) {
      int pp[2];
      if (pipe(pp)) die("pipe", 0);
      pid_t pid = fork();
      if (pid == 0) {
        close(pp[0]);
        child(g[k].role, i, pp[1], g[k].nq);
      }
      close(pp[1]);
      pids[np] = pid;
      fds[np] = pp[0];
      who[np++] = k;
    }
  for (int k = 0; k < ng; k++) {
    g[k].lat = malloc(sizeof(double) * (size_t)(g[k].count * (g[k].nq + 2)));
    g[k].extra = malloc(sizeof(double) * (size_t)(g[k].count + 1));
    g[k].nlat = g[k].nextra = 0;
  }
  for (int i = 0; i < np; i++) {
    int n = 0;
    group *gg = &g[who[i]];
    if (read(fds[i], &n, sizeof n) != sizeof n) die("child failed", GG_EIO);
    double *tmp = malloc(sizeof(double) * (size_t)n);
    size_t got = 0;
    while (got < sizeof(double) * (size_t)n) {
      ssize_t k = read(fds[i], (char *)tmp + got, sizeof(double) * (size_t)n - got);
      if (k <= 0) die("child pipe", GG_EIO);
      got += (size_t)k;
    }
    int nn = n;
    if (gg->role == ROLE_BASELINE) gg->extra[gg->nextra++] = tmp[--nn];
    memcpy(gg->lat + gg->nlat, tmp, sizeof(double) * (size_t)nn);
    gg->nlat += (size_t)nn;
    free(tmp);
    close(fds[i]);
  }
  for (int i = 0; i < np; i++) {
    int status;
    waitpid(pids[i], &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status)) die("child exit", GG_EIO);
  }
  double wall = now_ms() - t0;
  open_home();
  return wall;
}

static void group_rows(bench_report *r, const char *name, group *g, double wall) {
  bench_row *row = bench_row_add(r, name);
  bench_row_num(row, "processes", g->count);
  bench_row_num(row, "ops", (double)g->nlat);
  bench_row_num(row, "median_ms", bench_median(g->lat, g->nlat));
  bench_row_num(row, "p99_ms", bench_percentile(g->lat, g->nlat, 99));
  bench_row_num(row, "wall_ms", wall);
  if (g->nextra) bench_row_num(row, "index_load_median_ms", bench_median(g->extra, g->nextra));
  free(g->lat);
  free(g->extra);
}

static void bench_concurrency(bench_report *r) {
  ggm_synth_settings ss = {.seed = 7, .packages = synth_n};
  int rv = ggm_synth_new(&synth, &ss, NULL);
  if (rv) die("synth", rv);
  gg_buf json;
  gg_buf_init(&json, NULL, (size_t)1 << 31);
  if ((rv = ggm_synth_json(synth, 0, synth_n, &json))) die("synth json", rv);
  ggs_catalog_import_stats is;
  if ((rv = ggs_catalog_import_json_buf(cat, (const char *)gg_buf_ptr(&json), gg_buf_len(&json),
                                        &is)))
    die("import", rv);
  write_text(jsonpath, (const char *)gg_buf_ptr(&json), gg_buf_len(&json));
  gg_buf_free(&json);
  bench_note(r, "concurrency: synthetic catalog of %zu packages (+ the install packs), one home",
             synth_n);
  int nq = quick ? 20 : 200;

  group s = {ROLE_SEARCH, 10, nq, NULL, 0, NULL, 0};
  double wall = run_groups(&s, 1);
  double med_ours = bench_median(s.lat, s.nlat);
  group_rows(r, "concurrent/10-searches", &s, wall);
  group b = {ROLE_BASELINE, 10, nq, NULL, 0, NULL, 0};
  wall = run_groups(&b, 1);
  double med_base = bench_median(b.lat, b.nlat);
  group_rows(r, "concurrent/10-searches/baseline (JSON index + substring scan)", &b, wall);
  bench_note(r,
             "10 parallel searches: median %.3f ms vs baseline %.3f ms per query (%.1fx), "
             "baseline also loads the index in every process",
             med_ours, med_base, med_ours > 0 ? med_base / med_ours : 0);

  cache_clean();
  group in = {ROLE_INSTALL, 5, 1, NULL, 0, NULL, 0};
  wall = run_groups(&in, 1);
  group_rows(r, "concurrent/5-installs (50 deps each, cold shared cache)", &in, wall);

  cache_clean();
  group mixed[3] = {{ROLE_SEARCH, 6, nq, NULL, 0, NULL, 0},
                    {ROLE_INSTALL, 3, 1, NULL, 0, NULL, 0},
                    {ROLE_PUBLISH, 1, quick ? 3 : 10, NULL, 0, NULL, 0}};
  wall = run_groups(mixed, 3);
  group_rows(r, "concurrent/10-mixed/search (6 procs)", &mixed[0], wall);
  group_rows(r, "concurrent/10-mixed/install (3 procs, 50 deps)", &mixed[1], wall);
  group_rows(r, "concurrent/10-mixed/publish (1 proc)", &mixed[2], wall);
  ggm_synth_del(synth);
}

static const bench_usage usage = {
    "Install, unpacked-cache and concurrent-process figures of the marketplace (ggm_install_run "
    "and the ggen CLI).",
    NULL,
    "Work files under $TMPDIR; the ggen binary is GGEN_BIN or the one next to this program\n"
    "(cli rows are skipped without it). --quick: 1,000-package catalog instead of 20,000."};

int main(int argc, char **argv) {
  bench_report *r = bench_report_new("install", &usage, argc, argv);
  quick = bench_quick(r);
  synth_n = quick ? 1000 : 20000;
  const char *tmp = getenv("TMPDIR");
  snprintf(root, sizeof root, "%s/ggen-bench-install-XXXXXX", tmp ? tmp : "/tmp");
  if (!mkdtemp(root)) die("mkdtemp", 0);
  snprintf(home, sizeof home, "%s/home", root);
  snprintf(catpath, sizeof catpath, "%s/catalog.db", home);
  snprintf(storepath, sizeof storepath, "%s/store", home);
  snprintf(srcdir, sizeof srcdir, "%s/src", root);
  snprintf(jsonpath, sizeof jsonpath, "%s/index.json", root);
  mkdir(home, 0700);
  mkdir(srcdir, 0755);
  struct statfs fs;
  if (statfs(root, &fs) == 0)
    bench_note(r,
               "home and projects in %s (file system magic 0x%lx); each install ends with "
               "syncfs",
               root, (long)fs.f_type);
  const char *bin = getenv("GGEN_BIN");
  if (bin)
    snprintf(ggen_bin, sizeof ggen_bin, "%s", bin);
  else {
    char self[900];
    ssize_t k = readlink("/proc/self/exe", self, sizeof self - 1);
    if (k > 0) {
      self[k] = 0;
      *strrchr(self, '/') = 0;
      snprintf(ggen_bin, sizeof ggen_bin, "%s/ggen", self);
    }
  }
  if (ggen_bin[0] && access(ggen_bin, X_OK) != 0) ggen_bin[0] = 0;
  if (!ggen_bin[0]) bench_note(r, "no ggen binary found (GGEN_BIN): cli rows skipped");
  gg_rand_seeded rs;
  gg_rand_seeded_init(&rs, 1);
  char keypath[700];
  snprintf(keypath, sizeof keypath, "%s/publisher.key", home);
  if (ggm_release_key_create(keypath, &rs.r, &kp)) die("key", 0);
  open_home();
  double t0 = now_ms();
  make_packs();
  bench_note(r, "published 68 packs in %.0f ms (pack at zstd level 19, sign, ingest)",
             now_ms() - t0);
  bench_installs(r);
  bench_cache(r);
  bench_concurrency(r);
  close_home();
  rmtree(root);
  return bench_report_finish(r);
}
