/*
 * Connection benchmark of the host (src/net), against js-libp2p in the same run:
 *   - full connection setups per second: TCP + multistream-select + Noise + Yamux + Identify
 *     (timed until the dialer has the listener's identify answer), both ends in one process,
 *     8 dials in flight (one per listener, as the js side needs), target >= 1000/s;
 *   - bulk throughput of one stream over loopback, one way, target >= 400 MB/s;
 *   - memory per idle connection with 1000 connections open (mallinfo2 and RSS deltas, both
 *     ends in this process), target <= 64 KiB; idle node RSS of `ggen p2p start`, <= 8 MiB;
 *   - the same setup rate and throughput for js-libp2p 2.10 (interop/js/bench.mjs: both ends in
 *     one Node process), and the ratio ours / js.
 * Rates are also divided by the CPU time the process used ("per CPU-s"; for throughput also
 * "CPU-s/GB", the CPU seconds one GB costs with both ends counted), figures that a loaded
 * machine depresses far less than wall-clock rates.
 * Our setups and throughput run twice: both hosts on one loop in one thread (like the single
 * Node event loop; the ratio uses this), and each end on its own loop and thread.
 * --quick: a small configuration for CI. The js part is skipped (with a note) when node or
 * interop/js/node_modules is missing.
 */
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ggen/err.h"
#include "ggen/host.h"
#include "report.h"

#define SINK "/bench/sink/1.0.0"
#define MAXC 8

/* ---- loops, optionally on a second thread ----------------------------------------------- */

typedef struct side {
  uv_loop_t loop;
  uv_thread_t thr;
  uv_async_t stop;
  int threaded;
  ggn_host *hosts[MAXC];
  int nhosts;
} side;

static void stop_cb(uv_async_t *a) {
  side *s = a->data;
  for (int i = 0; i < s->nhosts; i++) ggn_host_close(s->hosts[i], NULL, NULL);
  uv_close((uv_handle_t *)a, NULL);
}

static void side_thread(void *arg) { uv_run(&((side *)arg)->loop, UV_RUN_DEFAULT); }

static void wake(uv_timer_t *t) { (void)t; }

/* CPU seconds this process used so far (every thread, user + system). */
static double cpu_now(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
         ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6;
}

static void run_once(uv_loop_t *loop) {
  uv_timer_t t;
  uv_timer_init(loop, &t);
  uv_timer_start(&t, wake, 10, 0);
  uv_run(loop, UV_RUN_ONCE);
  uv_close((uv_handle_t *)&t, NULL);
  uv_run(loop, UV_RUN_NOWAIT);
}

static ggn_host *new_host(uv_loop_t *loop, uint64_t seed, int listen, const ggn_host_callbacks *cb,
                          void *ud, const ggn_host_settings *extra) {
  static gg_keypair kps[64];
  static int nk;
  uint8_t s[32] = {0};
  memcpy(s, &seed, sizeof(seed));
  gg_keypair *kp = &kps[nk++ % 64];
  gg_keypair_from_seed(kp, s);
  ggn_host_settings st = extra ? *extra : (ggn_host_settings){0};
  st.identity = kp;
  ggn_log lg;
  ggn_log_init(&lg, GGN_LOG_ERROR, NULL);
  st.log = &lg;
  ggn_host *h = NULL;
  if (ggn_host_new(&h, loop, &st, cb, ud) != GG_OK) abort();
  if (listen) {
    gg_maddr la;
    gg_maddr_parse(&la, "/ip4/127.0.0.1/tcp/0", 20);
    if (ggn_host_listen(h, &la) != GG_OK) abort();
  }
  return h;
}

static void listen_addr(ggn_host *h, gg_maddr *out) {
  ggn_host_listen_addrs(h, out, 1);
  gg_maddr_push_peer(out, ggn_host_peer_id(h));
}

/* ---- setups ---------------------------------------------------------------------------------- */

typedef struct setup_run {
  ggn_host *a;
  gg_maddr targets[MAXC];
  ggn_conn *cur[MAXC];
  int conc, started, done, total, failed;
} setup_run;

static void setup_dial(setup_run *r, int w);

/* Each worker's slot carries its run and index. */
typedef struct worker {
  setup_run *r;
  int w;
} worker;
static worker workers[MAXC];

static void on_connected(ggn_host *h, ggn_conn *c, int err, void *ud) {
  (void)h;
  worker *wk = ud;
  if (err != GG_OK) {
    wk->r->failed++;
    wk->r->done++;
    setup_dial(wk->r, wk->w);
    return;
  }
  wk->r->cur[wk->w] = c;
}

static void on_identify(ggn_host *h, ggn_conn *c, const ggp_identify_msg *m, void *ud) {
  (void)h;
  (void)m;
  setup_run *r = ud;
  for (int w = 0; w < r->conc; w++) {
    if (r->cur[w] != c) continue;
    r->cur[w] = NULL;
    ggn_conn_close(c);
    r->done++;
    setup_dial(r, w);
    return;
  }
}

static void setup_dial(setup_run *r, int w) {
  if (r->started >= r->total) return;
  r->started++;
  workers[w].r = r;
  workers[w].w = w;
  if (ggn_host_dial(r->a, &r->targets[w], on_connected, &workers[w]) != GG_OK) abort();
}

/* Returns setups per second over n setups (after a warm-up of 2 per worker). */
static double bench_setups(int threads, int conc, int n, int *failed, double *per_cpu_s) {
  side s1 = {0}, s2 = {0};
  uv_loop_init(&s1.loop);
  side *ls = &s1;
  if (threads == 2) {
    uv_loop_init(&s2.loop);
    ls = &s2;
  }
  setup_run r = {.conc = conc};
  static const ggn_host_callbacks acb = {NULL, NULL, on_identify};
  r.a = new_host(&s1.loop, 1000, 0, &acb, &r, NULL);
  for (int i = 0; i < conc; i++) {
    ls->hosts[ls->nhosts++] = new_host(&ls->loop, 2000 + (uint64_t)i, 1, NULL, NULL, NULL);
    listen_addr(ls->hosts[i], &r.targets[i]);
  }
  if (threads == 2) {
    uv_async_init(&s2.loop, &s2.stop, stop_cb);
    s2.stop.data = &s2;
    uv_thread_create(&s2.thr, side_thread, &s2);
  }
  for (int phase = 0; phase < 2; phase++) {
    r.started = r.done = r.failed = 0;
    r.total = phase == 0 ? 2 * conc : n;
    gg_ts t0 = uv_hrtime();
    double c0 = cpu_now();
    for (int w = 0; w < conc; w++) setup_dial(&r, w);
    while (r.done < r.total) run_once(&s1.loop);
    if (phase == 1) {
      double secs = (double)(uv_hrtime() - t0) / 1e9;
      *per_cpu_s = (double)(n - r.failed) / (cpu_now() - c0);
      *failed = r.failed;
      ggn_host_close(r.a, NULL, NULL);
      if (threads == 2) {
        uv_run(&s1.loop, UV_RUN_DEFAULT);
        uv_async_send(&s2.stop);
        uv_thread_join(&s2.thr);
      } else {
        for (int i = 0; i < s1.nhosts; i++) ggn_host_close(s1.hosts[i], NULL, NULL);
        uv_run(&s1.loop, UV_RUN_DEFAULT);
      }
      uv_loop_close(&s1.loop);
      if (threads == 2) uv_loop_close(&s2.loop);
      return (double)(n - r.failed) / secs;
    }
  }
  return 0;
}

/* ---- throughput --------------------------------------------------------------------------- */

static void sink_data(ggn_stream *s, const uint8_t *p, size_t n, void *ud) {
  (void)s;
  (void)p;
  *(size_t *)ud += n;
}
static void sink_eof(ggn_stream *s, void *ud) {
  (void)ud;
  ggn_stream_close_write(s);
}
static const ggn_stream_callbacks sink_cbs = {.on_data = sink_data, .on_eof = sink_eof};
static size_t sink_bytes;
static void sink_handler(ggn_stream *s, void *ud) {
  (void)ud;
  ggn_stream_set_callbacks(s, &sink_cbs, &sink_bytes);
}

typedef struct sender {
  ggn_stream *s;
  size_t total, sent;
  int done, err;
  gg_ts t0;
  double c0;
} sender;

static uint8_t chunk[64 * 1024];

static void snd_pump(sender *x) {
  while (x->sent < x->total) {
    size_t n = x->total - x->sent < sizeof(chunk) ? x->total - x->sent : sizeof(chunk);
    int rv = ggn_stream_write(x->s, chunk, n);
    if (rv < 0) abort();
    x->sent += n;
    if (rv == 1) return;
  }
  ggn_stream_close_write(x->s);
}
static void snd_writable(ggn_stream *s, void *ud) {
  (void)s;
  snd_pump(ud);
}
static void snd_close(ggn_stream *s, int err, void *ud) {
  (void)s;
  sender *x = ud;
  x->done = 1;
  x->err = err;
}
static const ggn_stream_callbacks snd_cbs = {.on_writable = snd_writable, .on_close = snd_close};
static void snd_opened(ggn_stream *s, int err, void *ud) {
  sender *x = ud;
  if (err) {
    x->done = 1;
    x->err = err;
    return;
  }
  x->s = s;
  ggn_stream_set_callbacks(s, &snd_cbs, x);
  x->t0 = uv_hrtime();
  x->c0 = cpu_now();
  snd_pump(x);
}

/* MB/s (1e6 bytes) for one stream carrying bytes one way. */
static double bench_throughput(int threads, size_t bytes, double *per_cpu_s) {
  side s1 = {0}, s2 = {0};
  uv_loop_init(&s1.loop);
  side *ls = &s1;
  if (threads == 2) {
    uv_loop_init(&s2.loop);
    ls = &s2;
  }
  ggn_host *a = new_host(&s1.loop, 3000, 0, NULL, NULL, NULL);
  ggn_host *b = new_host(&ls->loop, 3001, 1, NULL, NULL, NULL);
  ls->hosts[ls->nhosts++] = b;
  ggn_host_handle(b, SINK, sink_handler, NULL);
  gg_maddr ba;
  listen_addr(b, &ba);
  ggn_host_add_addr(a, ggn_host_peer_id(b), &ba);
  sink_bytes = 0;
  if (threads == 2) {
    uv_async_init(&s2.loop, &s2.stop, stop_cb);
    s2.stop.data = &s2;
    uv_thread_create(&s2.thr, side_thread, &s2);
  }
  sender x = {.total = bytes};
  static const char *const p[] = {SINK};
  ggn_host_open_stream(a, ggn_host_peer_id(b), p, 1, snd_opened, &x);
  while (!x.done) run_once(&s1.loop);
  double secs = (double)(uv_hrtime() - x.t0) / 1e9;
  *per_cpu_s = (double)bytes / 1e6 / (cpu_now() - x.c0);
  ggn_host_close(a, NULL, NULL);
  if (threads == 2) {
    uv_run(&s1.loop, UV_RUN_DEFAULT);
    uv_async_send(&s2.stop);
    uv_thread_join(&s2.thr);
  } else {
    ggn_host_close(b, NULL, NULL);
    uv_run(&s1.loop, UV_RUN_DEFAULT);
  }
  uv_loop_close(&s1.loop);
  if (threads == 2) uv_loop_close(&s2.loop);
  if (x.err != GG_OK || sink_bytes != bytes) {
    fprintf(stderr, "throughput: stream ended with %s after %zu bytes\n", gg_strerror(x.err),
            sink_bytes);
    return 0;
  }
  return (double)bytes / 1e6 / secs;
}

/* ---- memory per idle connection ------------------------------------------------------------ */

static size_t heap_used(void) {
  struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
}

static size_t rss_bytes_of(const char *statm) {
  FILE *f = fopen(statm, "r");
  if (!f) return 0;
  unsigned long size = 0, res = 0;
  if (fscanf(f, "%lu %lu", &size, &res) != 2) res = 0;
  fclose(f);
  return res * (size_t)sysconf(_SC_PAGESIZE);
}

typedef struct mem_run {
  int up, ident;
} mem_run;

static void mem_connected(ggn_host *h, ggn_conn *c, int err, void *ud) {
  (void)h;
  (void)c;
  mem_run *m = ud;
  if (err != GG_OK) {
    fprintf(stderr, "memory: dial failed: %s\n", gg_strerror(err));
    abort();
  }
  m->up++;
}
static void mem_ident(ggn_host *h, ggn_conn *c, const ggp_identify_msg *msg, void *ud) {
  (void)h;
  (void)c;
  (void)msg;
  ((mem_run *)ud)->ident++;
}

static void bench_memory(int nconns, double *per_conn, double *per_end, double *rss_per_conn) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  ggn_host_settings st = {.max_conns = 4 * (uint32_t)nconns + 64,
                          .conn_high_water = 2 * (uint32_t)nconns + 32,
                          .conn_low_water = 2 * (uint32_t)nconns};
  mem_run ma = {0}, mb = {0};
  static const ggn_host_callbacks cba = {NULL, NULL, mem_ident}, cbb = {NULL, NULL, mem_ident};
  ggn_host *a = new_host(&loop, 4000, 0, &cba, &ma, &st);
  ggn_host *b = new_host(&loop, 4001, 1, &cbb, &mb, &st);
  gg_maddr ba;
  ggn_host_listen_addrs(b, &ba, 1); /* without /p2p: every dial makes a new connection */
  /* one warm-up connection so that lazily allocated buffers (read buffer, ...) exist */
  ggn_host_dial(a, &ba, mem_connected, &ma);
  while (ma.ident < 1 || mb.ident < 1) run_once(&loop);
  for (int i = 0; i < 30; i++) run_once(&loop);
  size_t h0 = heap_used(), r0 = rss_bytes_of("/proc/self/statm");
  int started = 1;
  while (ma.ident < nconns + 1 || mb.ident < nconns + 1) {
    while (started < nconns + 1 && started - ma.up < 32) {
      ggn_host_dial(a, &ba, mem_connected, &ma);
      started++;
    }
    run_once(&loop);
  }
  gg_ts settle = uv_hrtime() + GG_MS(300); /* identify streams end */
  while (uv_hrtime() < settle) run_once(&loop);
  size_t h1 = heap_used(), r1 = rss_bytes_of("/proc/self/statm");
  *per_conn = (double)(h1 - h0) / nconns;
  *per_end = *per_conn / 2;
  *rss_per_conn = r1 > r0 ? (double)(r1 - r0) / nconns : 0;
  ggn_host_close(a, NULL, NULL);
  ggn_host_close(b, NULL, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
}

/* ---- idle node RSS: a real `ggen p2p start`
 * ------------------------------------------------------ */

static double idle_node_rss_mib(const char *ggen) {
  char home[] = "/tmp/ggen-bench-XXXXXX";
  if (!mkdtemp(home)) return 0;
  int fds[2];
  if (pipe(fds) != 0) return 0;
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], 1);
    close(fds[0]);
    execl(ggen, "ggen", "--home", home, "p2p", "start", "--listen", "/ip4/127.0.0.1/tcp/0",
          (char *)NULL);
    _exit(127);
  }
  close(fds[1]);
  char line[512];
  FILE *f = fdopen(fds[0], "r");
  double mib = 0;
  if (f && fgets(line, sizeof(line), f) && !strncmp(line, "listening ", 10)) {
    usleep(300000);
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/statm", (int)pid);
    mib = (double)rss_bytes_of(path) / 1048576.0;
  }
  kill(pid, SIGTERM);
  waitpid(pid, NULL, 0);
  if (f) fclose(f);
  char cmd[128];
  snprintf(cmd, sizeof(cmd), "rm -rf %s", home);
  if (system(cmd) != 0) { /* best effort */
  }
  return mib;
}

/* ---- js-libp2p ---------------------------------------------------------------------------------
 */

typedef struct js_res {
  int ok;
  double setups_per_sec, mb_per_sec, idle_rss_mib, setups_per_cpu, mb_per_cpu;
} js_res;

static double json_num(const char *line, const char *key) {
  const char *p = strstr(line, key);
  return p ? strtod(p + strlen(key), NULL) : 0;
}

static js_res run_js(const char *src, int setups, int conc, size_t bytes) {
  js_res r = {0};
  char dir[4400], cmd[4800];
  snprintf(dir, sizeof(dir), "%s/interop/js/node_modules/libp2p", src);
  struct stat st;
  if (stat(dir, &st) != 0) return r;
  snprintf(cmd, sizeof(cmd),
           "cd '%s/interop/js' && node bench.mjs --setups %d --concurrency %d --bytes %zu", src,
           setups, conc, bytes);
  FILE *f = popen(cmd, "r");
  if (!f) return r;
  char line[1024];
  while (fgets(line, sizeof(line), f)) {
    if (strstr(line, "\"bench\":\"setup\"")) {
      r.setups_per_sec = json_num(line, "\"per_sec\":");
      r.setups_per_cpu = json_num(line, "\"per_cpu_sec\":");
    }
    if (strstr(line, "\"bench\":\"throughput\"")) {
      r.mb_per_sec = json_num(line, "\"mb_per_sec\":");
      r.mb_per_cpu = json_num(line, "\"mb_per_cpu_sec\":");
    }
    if (strstr(line, "\"bench\":\"idle_rss\"")) r.idle_rss_mib = json_num(line, "\"mib\":");
  }
  r.ok = pclose(f) == 0 && r.setups_per_sec > 0;
  return r;
}

/* ---- main
 * ----------------------------------------------------------------------------------------- */

static const bench_opt cli_opts[] = {
    {"--only", "PART", "run one part: setup, throughput, memory, idle or js (for profiling)"}, {0}};
static const bench_usage usage = {
    "Host connection setups/s, one-stream throughput and memory per connection, against "
    "js-libp2p in the same run.",
    cli_opts,
    "The js part is skipped (with a note) without node or interop/js/node_modules; the sources\n"
    "are GGEN_SOURCE_DIR or the parent of this program's directory, the ggen binary the one\n"
    "next to it. Full run: 3000 setups, 1 GiB, 1000 connections; --quick: 200, 64 MiB, 200."};

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  bench_report *r = bench_report_new("conn", &usage, argc, argv);
  int quick = bench_quick(r);
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max; /* 1000 connections, both ends here: 2000 sockets */
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  /* where the ggen binary and the sources are: next to this program, or from the environment */
  char exe[4096] = ".";
  ssize_t el = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  if (el > 0) {
    exe[el] = 0;
    char *slash = strrchr(exe, '/');
    if (slash) *slash = 0;
  }
  char ggen[4200], src[4200];
  snprintf(ggen, sizeof(ggen), "%s/ggen", exe);
  const char *env_src = getenv("GGEN_SOURCE_DIR");
  if (env_src)
    snprintf(src, sizeof(src), "%s", env_src);
  else
    snprintf(src, sizeof(src), "%s/..", exe);

  int n_setups = quick ? 200 : 3000;
  int conc = MAXC;
  size_t bytes = quick ? (size_t)64 << 20 : (size_t)1 << 30;
  int nconns = quick ? 200 : 1000;
  int js_setups = quick ? 40 : 300;
  size_t js_bytes = quick ? (size_t)16 << 20 : (size_t)256 << 20;

  /* --only setup|throughput|memory|idle|js runs one part (for profiling) */
  const char *only = NULL;
  for (int i = 1; i + 1 < argc; i++)
    if (!strcmp(argv[i], "--only")) only = argv[i + 1];
  static const char *const parts[] = {"setup", "throughput", "memory", "idle", "js"};
  int known = !only;
  for (size_t k = 0; k < sizeof parts / sizeof parts[0] && !known; k++)
    known = !strcmp(only, parts[k]);
  if (!known) { /* a misspelt part would run nothing and print an empty table */
    fprintf(stderr, "bench_conn: unknown part '%s' (setup, throughput, memory, idle, js)\n", only);
    return 2;
  }
#define PART(name) (!only || !strcmp(only, name))
  int failed = 0;
  double s1 = 0, s2 = 0, t1 = 0, t2 = 0, pc = 0, pe = 0, rss = 0, idle = 0;
  bench_row *row;
  if (PART("setup")) {
    double cpu;
    s1 = bench_setups(1, conc, n_setups, &failed, &cpu);
    row = bench_row_add(r, "setup/ggen (1 loop, 1 thread)");
    bench_row_num(row, "setups/s", s1);
    bench_row_num(row, "per CPU-s", cpu);
    bench_row_num(row, "ms/setup", 1000.0 * conc / s1);
    bench_row_num(row, "n", n_setups);
    bench_row_num(row, "failed", failed);
    s2 = bench_setups(2, conc, n_setups, &failed, &cpu);
    row = bench_row_add(r, "setup/ggen (2 threads)");
    bench_row_num(row, "setups/s", s2);
    bench_row_num(row, "per CPU-s", cpu);
    bench_row_num(row, "ms/setup", 1000.0 * conc / s2);
    bench_row_num(row, "n", n_setups);
    bench_row_num(row, "failed", failed);
  }
  if (PART("throughput")) {
    double cpu;
    t1 = bench_throughput(1, bytes, &cpu);
    row = bench_row_add(r, "throughput/ggen 1 stream (1 loop)");
    bench_row_num(row, "MB/s", t1);
    bench_row_num(row, "per CPU-s", cpu);
    bench_row_num(row, "CPU-s/GB", cpu > 0 ? 1000.0 / cpu : 0);
    bench_row_num(row, "MiB", (double)(bytes >> 20));
    t2 = bench_throughput(2, bytes, &cpu);
    row = bench_row_add(r, "throughput/ggen 1 stream (2 threads)");
    bench_row_num(row, "MB/s", t2);
    bench_row_num(row, "per CPU-s", cpu);
    bench_row_num(row, "CPU-s/GB", cpu > 0 ? 1000.0 / cpu : 0);
    bench_row_num(row, "MiB", (double)(bytes >> 20));
  }
  if (PART("memory")) {
    bench_memory(nconns, &pc, &pe, &rss);
    row = bench_row_add(r, "memory/idle connection");
    bench_row_num(row, "conns", nconns);
    bench_row_num(row, "heap B/conn (both ends)", pc);
    bench_row_num(row, "heap B/end", pe);
    bench_row_num(row, "RSS B/conn (both ends)", rss);
  }
  if (PART("idle")) {
    idle = idle_node_rss_mib(ggen);
    row = bench_row_add(r, "idle node RSS (ggen p2p start)");
    bench_row_num(row, "MiB", idle);
  }
  js_res js = {0};
  if (PART("js")) js = run_js(src, js_setups, conc, js_bytes);
  if (js.ok) {
    row = bench_row_add(r, "setup/js-libp2p (1 process)");
    bench_row_num(row, "setups/s", js.setups_per_sec);
    bench_row_num(row, "per CPU-s", js.setups_per_cpu);
    bench_row_num(row, "n", js_setups);
    row = bench_row_add(r, "throughput/js-libp2p 1 stream");
    bench_row_num(row, "MB/s", js.mb_per_sec);
    bench_row_num(row, "per CPU-s", js.mb_per_cpu);
    bench_row_num(row, "CPU-s/GB", js.mb_per_cpu > 0 ? 1000.0 / js.mb_per_cpu : 0);
    bench_row_num(row, "MiB", (double)(js_bytes >> 20));
    row = bench_row_add(r, "idle node RSS (js-libp2p, 1 node)");
    bench_row_num(row, "MiB", js.idle_rss_mib);
    row = bench_row_add(r, "ratio ggen/js (1 loop each)");
    bench_row_num(row, "setups", s1 / js.setups_per_sec);
    bench_row_num(row, "throughput", js.mb_per_sec > 0 ? t1 / js.mb_per_sec : 0);
  } else if (PART("js")) {
    bench_note(r,
               "js-libp2p part skipped: node or %s/interop/js/node_modules missing "
               "(scripts/setup.sh installs them)",
               src);
  }
  bench_note(r,
             "targets: setups >= 1000/s (%s), throughput >= 400 MB/s (%s), "
             "<= 64 KiB per idle connection end (%s), idle node RSS <= 8 MiB (%s)",
             s1 >= 1000 || s2 >= 1000 ? "met" : "MISSED", t1 >= 400 || t2 >= 400 ? "met" : "MISSED",
             pe <= 65536 ? "met" : "MISSED", idle > 0 && idle <= 8 ? "met" : "MISSED");
  bench_note(r,
             "setups: %d dials in flight, each to its own listener (js joins concurrent "
             "dials to one peer); timed until the dialer has the identify answer",
             conc);
  return bench_report_finish(r);
}
