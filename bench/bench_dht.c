/*
 * DHT on real nodes: N nodes of our full stack (TCP + Noise + Yamux + Identify + Ping) on
 * loopback, spread over worker processes by the harness (bench/support/harness.h,
 * docs/harness.md), with 0 ms and 25 ms one-way injected delay.
 *
 * Per configuration (N, delay), on a fresh network:
 *   conn    - node i dials node 0: TCP + Noise + Yamux until upgraded (what every new
 *             connection costs before the first request);
 *   ping    - a ping to a random node not yet connected (dial + upgrade + ping), then a
 *             second ping to the same node on the open connection (one round trip);
 *   memory  - worker RSS growth and heap in use, per node.
 *
 *   bench_dht [--quick] [--json FILE] [--nodes N[,N...]] [--delays MS[,MS...]] [--ops K]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "report.h"
#include "support/harness.h"

typedef struct opts {
  unsigned nodes[16];
  size_t nnodes;
  double delays[8];
  size_t ndelays;
  unsigned ops;  /* operations of each kind per configuration */
  unsigned conc; /* operations in flight */
  unsigned min_workers;
} opts;

static uint64_t rng = 88172645463325252ull;
static unsigned rnd(unsigned n) {
  rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
  return (unsigned)(rng % n);
}

static void free_ops(bh_op *ops, size_t n) {
  for (size_t i = 0; i < n; i++) bh_op_clear(&ops[i]);
  free(ops);
}

static void row_summary(bench_row *row, const bh_op *ops, size_t n) {
  bh_summary s;
  bh_summarize(ops, n, &s);
  bench_row_num(row, "n", (double)s.n);
  bench_row_num(row, "success_%", s.n ? 100.0 * s.ok / s.n : 0);
  bench_row_num(row, "p50_ms", s.p50);
  bench_row_num(row, "p99_ms", s.p99);
  bench_row_num(row, "max_ms", s.max);
}

/* One configuration on a fresh network. Returns 0, or -1 after printing a harness failure. */
static int run_config(bench_report *rep, const opts *o, unsigned n, double delay) {
  bh *h;
  bh_config cfg = {.nodes = n, .min_workers = o->min_workers};
  if (bh_new(&h, &cfg) != 0) return -1;
  int rv = -1;
  char name[64];
  bh_op *ops = NULL;
  size_t k = 0;
  if (bh_set(h, "delay_ms=%g log=error", delay) != 0 || bh_start(h, n) != 0) goto out;

  /* conn: every node but 0 dials node 0 */
  k = n - 1;
  ops = calloc(k ? k : 1, sizeof(*ops));
  for (unsigned i = 1; i < n; i++)
    bh_op_init(&ops[i - 1], i, "connect %u %s %s", i, bh_peer(h, 0), bh_addr(h, 0));
  if (bh_run(h, ops, k, o->conc, 120) != 0) goto out;
  snprintf(name, sizeof name, "conn/N=%u/delay=%gms", n, delay);
  bench_row *row = bench_row_add(rep, name);
  row_summary(row, ops, k);
  free_ops(ops, k);

  /* ping: random pairs, first on a new connection, then again on it */
  k = o->ops;
  ops = calloc(k, sizeof(*ops));
  bh_op *again = calloc(k, sizeof(*again));
  for (unsigned i = 0; i < k; i++) {
    unsigned a = 1 + rnd(n - 1), b = 1 + rnd(n - 1);
    if (a == b) b = b + 1 < n ? b + 1 : 1;
    bh_op_init(&ops[i], a, "ping %u %s %s", a, bh_peer(h, b), bh_addr(h, b));
    bh_op_init(&again[i], a, "ping %u %s %s", a, bh_peer(h, b), bh_addr(h, b));
  }
  if (bh_run(h, ops, k, o->conc, 120) != 0 || bh_run(h, again, k, o->conc, 120) != 0) {
    free_ops(again, k);
    goto out;
  }
  snprintf(name, sizeof name, "ping-new/N=%u/delay=%gms", n, delay);
  row_summary(bench_row_add(rep, name), ops, k);
  snprintf(name, sizeof name, "ping-open/N=%u/delay=%gms", n, delay);
  row_summary(bench_row_add(rep, name), again, k);
  free_ops(again, k);
  free_ops(ops, k);
  ops = NULL;

  bh_stats st;
  if (bh_stats_get(h, &st) != 0) goto out;
  snprintf(name, sizeof name, "memory/N=%u/delay=%gms", n, delay);
  row = bench_row_add(rep, name);
  bench_row_num(row, "n", st.nodes);
  bench_row_num(row, "workers", bh_workers(h));
  bench_row_num(row, "rss_KiB/node", (st.rss_kb - st.rss_kb0) / st.nodes);
  bench_row_num(row, "heap_KiB/node", (st.heap - st.heap0) / 1024.0 / st.nodes);
  bench_row_num(row, "conns/node", st.open / st.nodes);
  bench_row_num(row, "fds_max_worker", st.max_fds_worker);
  rv = 0;
out:
  if (rv != 0) fprintf(stderr, "bench_dht: N=%u delay=%g ms: %s\n", n, delay, bh_error(h));
  if (ops) free_ops(ops, k);
  bh_free(h);
  return rv;
}

static size_t parse_list(const char *s, double *out, size_t cap) {
  size_t n = 0;
  for (char *end; *s && n < cap; s = *end ? end + 1 : end) {
    out[n++] = strtod(s, &end);
    if (end == s) break;
  }
  return n;
}

int main(int argc, char **argv) {
  int rc = bh_worker_main(argc, argv);
  if (rc >= 0) return rc;
  bench_report *rep = bench_report_new("dht", argc, argv);
  opts o = {.ops = 200, .conc = 8};
  static const unsigned full[] = {10, 50, 100, 500, 1000};
  if (bench_quick(rep)) {
    o.nodes[o.nnodes++] = 16;
    o.ops = 20;
    o.min_workers = 2;
  } else {
    for (size_t i = 0; i < sizeof full / sizeof full[0]; i++) o.nodes[o.nnodes++] = full[i];
  }
  o.delays[o.ndelays++] = 0;
  o.delays[o.ndelays++] = 25;
  for (int i = 1; i < argc; i++) {
    double v[16];
    if (!strcmp(argv[i], "--nodes") && i + 1 < argc) {
      size_t m = parse_list(argv[++i], v, 16);
      for (o.nnodes = 0; o.nnodes < m; o.nnodes++) o.nodes[o.nnodes] = (unsigned)v[o.nnodes];
    } else if (!strcmp(argv[i], "--delays") && i + 1 < argc) {
      o.ndelays = parse_list(argv[++i], o.delays, 8);
    } else if (!strcmp(argv[i], "--ops") && i + 1 < argc) {
      o.ops = (unsigned)atoi(argv[++i]);
    }
  }
  bench_note(rep, "real nodes on 127.0.0.1 (TCP + Noise + Yamux), one-way delay injected in user "
                  "space on every node, so a round trip costs 2x the delay");
  double la[3];
  if (getloadavg(la, 3) == 3)
    bench_note(rep, "load average at start: %.2f %.2f %.2f (%ld cores)", la[0], la[1], la[2],
               sysconf(_SC_NPROCESSORS_ONLN));
  int fail = 0;
  for (size_t d = 0; d < o.ndelays && !fail; d++)
    for (size_t i = 0; i < o.nnodes && !fail; i++)
      if (o.nodes[i] >= 2) fail = run_config(rep, &o, o.nodes[i], o.delays[d]) != 0;
  bench_report_finish(rep);
  return fail ? 1 : 0;
}
