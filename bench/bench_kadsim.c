/*
 * Kademlia at scale in the discrete-event simulator: N real ggp_kad cores exchanging real
 * encoded messages on a virtual network (include/ggen/kadsim.h), toward 100,000 nodes.
 *
 * For each N and each latency model: build the network (every node bootstraps from node 0,
 * 5 ms apart, then the network runs one bucket-refresh interval), put R records from random nodes, then get each from random other nodes and
 * look up random peers. Latencies are virtual (what a real network with that delay would
 * see); wall time and memory are real.
 *
 *   bench_kadsim [--quick] [--json FILE] [--nodes N[,N...]]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ggen/err.h"
#include "ggen/kadsim.h"
#include "report.h"

static int v_ok(void *ud, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl) {
  (void)ud, (void)k, (void)kl, (void)v, (void)vl;
  return GG_OK;
}
static size_t v_first(void *ud, const uint8_t *k, size_t kl, const gg_slice *v, size_t n) {
  (void)ud, (void)k, (void)kl, (void)v, (void)n;
  return 0;
}

static double rss_mib(void) {
  long pages = 0, rss = 0;
  FILE *f = fopen("/proc/self/statm", "r");
  if (f) {
    if (fscanf(f, "%ld %ld", &pages, &rss) != 2) rss = 0;
    fclose(f);
  }
  return (double)rss * (double)sysconf(_SC_PAGESIZE) / 1048576.0;
}

static uint64_t lcg(uint64_t *x) {
  *x = *x * 6364136223846793005ull + 1442695040888963407ull;
  return *x >> 33;
}

static void run(bench_report *rep, size_t n, gg_ts latency, gg_ts setup, size_t records, size_t gets) {
  ggsim_kad_settings ss;
  ggsim_kad_settings_default(&ss);
  ss.nodes = n;
  ss.seed = 1000 + n;
  ss.latency = latency;
  ss.jitter = latency / 5;
  ss.setup = setup;
  ss.join_gap = GG_MS(5);
  ss.settle = ss.kad.refresh_interval + GG_SEC(5); /* one refresh round: steady-state tables */
  double rss0 = rss_mib();
  gg_ts w0 = gg_clock_now();
  ggsim_kad *sim;
  if (ggsim_kad_new(&sim, &ss) != GG_OK) return;
  ggp_kad_validator v = {"ggen-pkg", v_ok, v_first, NULL};
  for (size_t i = 0; i < n; i++) ggp_kad_add_validator(ggsim_kad_node(sim, i), &v);
  ggsim_kad_build(sim);
  double build_s = (double)(gg_clock_now() - w0) / 1e9;
  double rss1 = rss_mib();
  size_t rt = 0;
  for (size_t i = 0; i < n; i++) {
    ggp_kad_stats st;
    ggp_kad_get_stats(ggsim_kad_node(sim, i), &st);
    rt += st.routing_peers;
  }
  /* a late joiner: how long its bootstrap takes in the built network */
  uint64_t x = n;
  double *put = calloc(records, sizeof(double)), *get = calloc(gets, sizeof(double));
  double *rounds = calloc(gets, sizeof(double)), *msgs = calloc(gets, sizeof(double));
  double *fp = calloc(gets, sizeof(double));
  char (*keys)[48] = calloc(records, 48);
  uint64_t m0 = ggsim_kad_messages(sim);
  gg_ts w1 = gg_clock_now();
  for (size_t r = 0; r < records; r++) {
    snprintf(keys[r], 48, "/ggen-pkg/pkg-%zu@1.0.%llu", r, (unsigned long long)lcg(&x));
    size_t p = lcg(&x) % n;
    uint64_t q;
    ggp_kad_put_value(ggsim_kad_node(sim, p), (const uint8_t *)keys[r], strlen(keys[r]),
                      (const uint8_t *)"record", 6, ggsim_kad_now(sim), &q);
    const ggsim_kad_res *res = ggsim_kad_wait(sim, p, q, GG_TS_UNSET);
    put[r] = res ? (double)res->duration / 1e6 : 1e9;
  }
  size_t ok = 0, fpok = 0;
  for (size_t g = 0; g < gets; g++) {
    size_t r = g % records, node = lcg(&x) % n;
    uint64_t q;
    uint64_t before = ggsim_kad_messages(sim);
    ggp_kad_get_value(ggsim_kad_node(sim, node), (const uint8_t *)keys[r], strlen(keys[r]), 0,
                      ggsim_kad_now(sim), &q);
    const ggsim_kad_res *res = ggsim_kad_wait(sim, node, q, GG_TS_UNSET);
    get[g] = res ? (double)res->duration / 1e6 : 1e9;
    rounds[g] = res ? res->rounds : 0;
    msgs[g] = (double)(ggsim_kad_messages(sim) - before);
    if (res && res->err == GG_OK) ok++;
    size_t want = lcg(&x) % n;
    if (want == node) want = (want + 1) % n;
    ggp_kad_find_peer(ggsim_kad_node(sim, node), ggsim_kad_id(sim, want), ggsim_kad_now(sim), &q);
    res = ggsim_kad_wait(sim, node, q, GG_TS_UNSET);
    fp[g] = res ? (double)res->duration / 1e6 : 1e9;
    if (res && res->err == GG_OK) fpok++;
  }
  double ops_s = (double)(gg_clock_now() - w1) / 1e9;
  uint64_t ops_msgs = ggsim_kad_messages(sim) - m0;
  char name[96];
  snprintf(name, sizeof(name), "N=%zu delay=%llums setup=%llums", n,
           (unsigned long long)(latency / 1000000), (unsigned long long)(setup / 1000000));
  bench_row *row = bench_row_add(rep, name);
  bench_row_num(row, "nodes", (double)n);
  bench_row_num(row, "rt_avg", (double)rt / (double)n);
  bench_row_num(row, "get_p50_ms", bench_median(get, gets));
  bench_row_num(row, "get_p99_ms", bench_percentile(get, gets, 99));
  bench_row_num(row, "get_ok_%", 100.0 * (double)ok / (double)gets);
  bench_row_num(row, "rounds_p50", bench_median(rounds, gets));
  bench_row_num(row, "msgs/get", bench_median(msgs, gets));
  bench_row_num(row, "findpeer_p50_ms", bench_median(fp, gets));
  bench_row_num(row, "findpeer_p99_ms", bench_percentile(fp, gets, 99));
  bench_row_num(row, "findpeer_ok_%", 100.0 * (double)fpok / (double)gets);
  bench_row_num(row, "put_p50_ms", bench_median(put, records));
  bench_row_num(row, "build_wall_s", build_s);
  bench_row_num(row, "KiB/node", (rss1 - rss0) * 1024.0 / (double)n);
  bench_row_num(row, "us/msg", ops_msgs ? ops_s * 1e6 / (double)ops_msgs : 0);
  free(put), free(get), free(rounds), free(msgs), free(fp), free(keys);
  ggsim_kad_del(sim);
}

static const bench_opt cli_opts[] = {
    {"--nodes", "N[,N...]", "network sizes (default 1000,10000,100000; --quick: 200)"}, {0}};
static const bench_usage usage = {
    "Kademlia at scale in the discrete-event simulator: N real cores on a virtual network.",
    cli_opts,
    "Latencies are virtual; wall time and memory are real. The 100,000-node run is long."};

int main(int argc, char **argv) {
  bench_report *rep = bench_report_new("kadsim", &usage, argc, argv);
  size_t sizes[16], ns = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--nodes") && i + 1 < argc) {
      for (char *t = strtok(argv[++i], ","); t && ns < 16; t = strtok(NULL, ",")) sizes[ns++] = (size_t)atol(t);
    }
  }
  if (!ns) {
    if (bench_quick(rep)) sizes[ns++] = 200;
    else {
      sizes[ns++] = 1000;
      sizes[ns++] = 10000;
      sizes[ns++] = 100000;
    }
  }
  for (size_t i = 0; i < ns; i++) {
    size_t gets = bench_quick(rep) ? 50 : 300;
    run(rep, sizes[i], GG_MS(25), 0, 50, gets);
    run(rep, sizes[i], GG_MS(25), GG_MS(100), 50, gets);
    if (i == 0) run(rep, sizes[i], 0, 0, 50, gets);
  }
  bench_note(rep, "virtual latencies: one-way delay + up to 20%% jitter per message; 'setup' adds "
                  "the cost of a new connection (TCP + Noise + Yamux) to the first message between "
                  "two nodes; alpha=3, k=20, quorum 1");
  return bench_report_finish(rep);
}
