/*
 * The Kademlia DHT on real nodes: N nodes of our full stack (TCP + Noise + Yamux + Identify +
 * Ping + Kad) on loopback, spread over worker processes by the harness
 * (bench/support/harness.h, docs/harness.md), with 0 ms and 25 ms one-way delay injected on
 * every node (a round trip between two nodes costs twice the delay).
 *
 * Per configuration (N, delay), on a fresh network:
 *   rtt      ping on an open connection (a new stream: multistream-select + ping);
 *   conn     a new connection: TCP + Noise + Yamux until upgraded;
 *   build    nodes 1..N-1 join through up to 3 of B bootstrap nodes, 8 at a time (each join:
 *            dial, self-lookup, bucket refreshes);
 *   settle   every node refreshes its buckets once more, as the core does every 10 minutes
 *            (a network in its steady state; --no-settle skips it);
 *   put      records from random nodes;  get: each record from another random node;
 *   lookup   find-peer of a random node from a random node (ends when found);
 *   join     J new nodes join the full network one at a time: the bootstrap time (dial and
 *            self-lookup); join-alpha10: J more with lookup concurrency 10, and gets and
 *            lookups from them (get+lookup-alpha10);
 *   memory   RSS growth and heap in use per node, connections per node.
 * Latencies are p50/p99/max over the operations; rounds and messages (requests sent) per
 * operation come from the core's query statistics (ggp_kad_result).
 *
 * Then the OpenDHT baseline at the same N (bench/opendht/opendht_bench.py, 0 ms delay): get
 * latency, next to ours and the ratio. Skipped with a note when python3-opendht is missing.
 *
 *   bench_dht [--quick] [--json FILE] [--nodes N[,N...]] [--delays MS[,MS...]] [--ops K]
 *             [--alpha A] [--ahead P] [--eager] [--no-settle] [--redial] [--no-warm-first]
 *             [--max-conns C] [--no-opendht]
 * --alpha: lookup concurrency (default the core's 3); --ahead: candidates each lookup dials
 * ahead (the core's prepare_ahead; default alpha for gets and find-peer, k for the others); --eager: no optimistic
 * multistream-select (every request waits for the protocol answer first, for comparison);
 * --redial: the kad service redials routing-table peers that close the connection (off by
 * default); --no-warm-first: lookups ask in distance order only (docs/kad.md); for comparison;
 * GG_BENCH_DUMP=FILE appends every put, get and lookup reply (latency, rounds, requests) to FILE.
 * --max-conns: each node's connection cap (default 256; trimming from 3/4 of it).
 */
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "report.h"
#include "support/harness.h"

typedef struct opts {
  unsigned nodes[16];
  size_t nnodes;
  double delays[8];
  size_t ndelays;
  unsigned ops;   /* operations of each kind per configuration */
  unsigned joins; /* new nodes joining the full network, one at a time */
  unsigned conc;  /* operations in flight */
  unsigned min_workers;
  unsigned max_conns;
  unsigned alpha; /* 0: the core's default (3) */
  unsigned ahead; /* candidates dialed ahead per lookup; 0: the core's default */
  int eager;      /* 1: no optimistic multistream-select (for comparison) */
  int redial;     /* 1: routing-table peers that close the connection are dialed again */
  int no_warm;    /* 1: lookups ask the closest waiting candidate, connected or not */
  int settle;     /* 1: every node refreshes once after the build (default) */
  int opendht;
  const char *self;
} opts;

/* Figures kept for the comparison with OpenDHT: our get p50 at 0 ms per N. */
typedef struct ours {
  unsigned n;
  double get_p50, get_p99;
} ours;

static uint64_t rng = 88172645463325252ull;
static unsigned rnd(unsigned n) {
  rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
  return (unsigned)(rng % n);
}

static void free_ops(bh_op *ops, size_t n) {
  for (size_t i = 0; ops && i < n; i++) bh_op_clear(&ops[i]);
  free(ops);
}

static bench_row *row_lat(bench_report *rep, const char *what, unsigned n, double delay,
                          const bh_op *ops, size_t k, int kad) {
  char name[96];
  snprintf(name, sizeof name, "%s/N=%u/%gms", what, n, delay);
  bench_row *row = bench_row_add(rep, name);
  bh_summary s;
  bh_summarize(ops, k, &s);
  bench_row_num(row, "ops", (double)s.n);
  bench_row_num(row, "ok_%", s.n ? 100.0 * s.ok / s.n : 0);
  bench_row_num(row, "p50_ms", s.p50);
  bench_row_num(row, "p99_ms", s.p99);
  bench_row_num(row, "max_ms", s.max);
  if (kad) {
    bench_row_num(row, "rounds", bh_mean_field(ops, k, "rounds"));
    bench_row_num(row, "msgs", bh_mean_field(ops, k, "requests"));
    bench_row_num(row, "fail/op", bh_mean_field(ops, k, "failures"));
  }
  return row;
}

/* Prints the first failure of a batch (what went wrong is worth a line on stderr). */
static void first_failure(const char *what, const bh_op *ops, size_t k) {
  for (size_t i = 0; i < k; i++)
    if (ops[i].done && !ops[i].ok) {
      fprintf(stderr, "bench_dht: %s: e.g. '%.80s' -> %s\n", what, ops[i].line, ops[i].fields);
      return;
    }
}

/* GG_BENCH_DUMP=FILE: appends every operation's reply ("KIND N DELAY ok|err FIELDS" lines),
 * to look at the tail behind a p99. */
static void dump_ops(const char *what, unsigned n, double delay, const bh_op *ops, size_t k) {
  const char *path = getenv("GG_BENCH_DUMP");
  FILE *f = path && *path ? fopen(path, "a") : NULL;
  if (!f) return;
  for (size_t i = 0; i < k; i++)
    if (ops[i].done)
      fprintf(f, "%s %u %g %s %s\n", what, n, delay, ops[i].ok ? "ok" : "err",
              ops[i].fields ? ops[i].fields : "");
  fclose(f);
}

/* A join through up to 3 distinct random nodes among the first nboot (never itself): a real
 * node has a list of bootstrap peers, and one of them may be at its connection cap. */
static int boot_cmd(bh *h, bh_op *op, unsigned node, unsigned nboot) {
  unsigned pick[3], np = 0;
  unsigned want = nboot < 3 ? nboot : 3;
  for (unsigned tries = 0; np < want && tries < 64; tries++) {
    unsigned b = rnd(nboot), dup = b == node;
    for (unsigned j = 0; j < np; j++) dup |= pick[j] == b;
    if (!dup) pick[np++] = b;
  }
  char args[3 * 200] = "";
  size_t len = 0;
  for (unsigned j = 0; j < np; j++)
    len += (size_t)snprintf(args + len, sizeof args - len, " %s/p2p/%s", bh_addr(h, pick[j]),
                            bh_peer(h, pick[j]));
  return bh_op_init(op, node, "bootstrap %u%s", node, args);
}

static void progress(unsigned n, double delay, const char *what) {
  fprintf(stderr, "bench_dht: N=%u %g ms: %s\n", n, delay, what);
}

/* Row "routing": per node, routing-table size, the share of it connected, connections, and
 * upgraded connections ended so far by cause. */
static int row_routing(bench_report *rep, bh *h, unsigned n, double delay, double quiet_s) {
  bh_stats st;
  if (bh_stats_get(h, &st) != 0) return -1;
  char name[96];
  snprintf(name, sizeof name, "routing/N=%u/%gms", n, delay);
  bench_row *row = bench_row_add(rep, name);
  double nodes = st.nodes ? st.nodes : 1;
  bench_row_num(row, "rt/node", st.rt / nodes);
  bench_row_num(row, "rt_connected_%", st.rt ? 100.0 * st.rt_conn / st.rt : 0);
  bench_row_num(row, "conns/node", st.open / nodes);
  bench_row_num(row, "trimmed/node", st.closed_trimmed / nodes);
  bench_row_num(row, "closed_local/node", st.closed_local / nodes);
  bench_row_num(row, "closed_peer/node", st.closed_peer / nodes);
  bench_row_num(row, "closed_error/node", st.closed_error / nodes);
  bench_row_num(row, "redials/node", st.redials / nodes);
  bench_row_num(row, "quiesce_s", quiet_s);
  return 0;
}

/* Waits until the workers use under half a core in all (over half a second; the keepalives
 * and delayed deliveries of ~85,000 connections alone take a share) or 10 s have passed: work
 * the nodes start by themselves, such as the bucket refreshes that follow a bootstrap's
 * self-lookup, would otherwise run into the next measurement. Returns the seconds waited, or
 * -1 on a harness failure. */
static double quiesce(bh *h) {
  double t0 = bh_now_s();
  bh_stats a, b;
  if (bh_stats_get(h, &a) != 0) return -1;
  for (;;) {
    usleep(500 * 1000);
    if (bh_stats_get(h, &b) != 0) return -1;
    double cores = (b.cpu_ms - a.cpu_ms) / 500.0;
    if (cores < 0.5 || bh_now_s() - t0 > 10) break;
    a = b;
  }
  return bh_now_s() - t0;
}

/* One configuration on a fresh network. 0, or -1 after printing a harness failure. */
static int run_config(bench_report *rep, const opts *o, unsigned n, double delay, ours *our) {
  bh *h;
  unsigned total = n + 3 * o->joins;
  /* Bootstrap nodes get the host's default cap (1024): every newcomer dials them and many
   * routing tables hold them, and a real network's bootstrap nodes are provisioned for it.
   * Round-robin puts at most 2 on a worker (nboot <= N/50 < 2 x workers): keep room. */
  unsigned boot_conns = o->max_conns < 1024 ? 1024 : o->max_conns;
  bh_config cfg = {.nodes = total,
                   .min_workers = o->min_workers,
                   .fds_per_node = o->max_conns + 2,
                   .reserve_fds = 2 * (boot_conns - o->max_conns)};
  if (bh_new(&h, &cfg) != 0) return -1;
  int rv = -1;
  bh_op *ops = NULL;
  size_t k = 0;
  double t0;
  unsigned nboot = n < 8 ? 1 : n < 100 ? 2 : n / 50; /* bootstrap nodes */
  if (nboot > 20) nboot = 20;
  if (bh_set(h,
             "delay_ms=%g log=error kad=1 kad_alpha=%u kad_prepare_ahead=%u eager=%d kad_redial=%d "
             "kad_warm_first=%d "
             "max_conns=%u high_water=%u low_water=%u",
             delay, o->alpha, o->ahead, o->eager, o->redial, !o->no_warm, boot_conns,
             boot_conns / 2, boot_conns * 3 / 8) != 0 ||
      bh_start(h, nboot) != 0 ||
      bh_set(h, "max_conns=%u high_water=%u low_water=%u", o->max_conns, o->max_conns * 3 / 4,
             o->max_conns / 2) != 0 ||
      bh_start(h, n - nboot) != 0)
    goto out;

  progress(n, delay, "conn, rtt");
  /* conn: node i dials node i+1 (a new connection); rtt: then pings it on that connection */
  k = n - 1 < o->ops ? n - 1 : o->ops;
  ops = calloc(k, sizeof(*ops));
  for (unsigned i = 0; i < k; i++)
    bh_op_init(&ops[i], i + 1, "connect %u %s %s", i + 1, bh_peer(h, (i + 2) % n),
               bh_addr(h, (i + 2) % n));
  if (bh_run(h, ops, k, o->conc, 120) != 0) goto out;
  row_lat(rep, "conn", n, delay, ops, k, 0);
  for (unsigned i = 0; i < k; i++) {
    bh_op_clear(&ops[i]);
    bh_op_init(&ops[i], i + 1, "ping %u %s %s", i + 1, bh_peer(h, (i + 2) % n),
               bh_addr(h, (i + 2) % n));
  }
  if (bh_run(h, ops, k, o->conc, 120) != 0) goto out;
  row_lat(rep, "rtt", n, delay, ops, k, 0);
  free_ops(ops, k);
  ops = NULL;

  progress(n, delay, "build");
  /* build: the bootstrap nodes join through node 0, the others through a random one */
  k = n - 1;
  ops = calloc(k ? k : 1, sizeof(*ops));
  for (unsigned i = 1; i < n; i++) boot_cmd(h, &ops[i - 1], i, i < nboot ? i : nboot);
  t0 = bh_now_s();
  if (bh_run(h, ops, nboot > 1 ? nboot - 1 : 0, 1, 120) != 0 ||
      bh_run(h, ops + (nboot - 1), k - (nboot - 1), o->conc, 60 + n * 0.5) != 0)
    goto out;
  double build_s = bh_now_s() - t0;
  first_failure("build", ops, k);
  bench_row *row = row_lat(rep, "build-join", n, delay, ops, k, 1);
  bench_row_num(row, "wall_s", build_s);
  bench_row_num(row, "rt_size", bh_mean_field(ops, k, "rt"));
  free_ops(ops, k);
  ops = NULL;
  /* settle: every node refreshes once from its routing table, as the core does every 10
   * minutes; without it (--no-settle) the early nodes' tables fill only through later joins */
  if (o->settle) {
    progress(n, delay, "settle");
    k = n;
    ops = calloc(k, sizeof(*ops));
    for (unsigned i = 0; i < n; i++) bh_op_init(&ops[i], i, "bootstrap %u", i);
    t0 = bh_now_s();
    if (bh_run(h, ops, k, o->conc, 60 + n * 2.0) != 0) goto out;
    row = row_lat(rep, "settle", n, delay, ops, k, 1);
    bench_row_num(row, "wall_s", bh_now_s() - t0);
    bench_row_num(row, "rt_size", bh_mean_field(ops, k, "rt"));
    free_ops(ops, k);
    ops = NULL;
  }
  /* the refreshes each bootstrap starts after its self-lookup */
  double quiet_s = quiesce(h);
  if (quiet_s < 0) goto out;

  /* the state the operations start from: how many routing-table peers have an open connection
   * (a request to one costs a round trip, to any other a connection setup as well) */
  if (row_routing(rep, h, n, delay, quiet_s) != 0) goto out;

  progress(n, delay, "put, get, lookup");
  /* put, then get each record from another node */
  k = o->ops;
  ops = calloc(k, sizeof(*ops));
  unsigned *writer = calloc(k, sizeof(*writer));
  for (unsigned i = 0; i < k; i++) {
    writer[i] = rnd(n);
    bh_op_init(&ops[i], writer[i], "put %u /bench/key-%u value-%u-%u", writer[i], i, i, n);
  }
  if (bh_run(h, ops, k, o->conc, 60 + k * 2.0) != 0) {
    free(writer);
    goto out;
  }
  first_failure("put", ops, k);
  dump_ops("put", n, delay, ops, k);
  row = row_lat(rep, "put", n, delay, ops, k, 1);
  bench_row_num(row, "stored", bh_mean_field(ops, k, "stored"));
  for (unsigned i = 0; i < k; i++) {
    unsigned r = rnd(n);
    if (r == writer[i]) r = (r + 1) % n;
    bh_op_clear(&ops[i]);
    bh_op_init(&ops[i], r, "get %u /bench/key-%u value-%u-%u", r, i, i, n);
  }
  free(writer);
  if (bh_run(h, ops, k, o->conc, 60 + k * 2.0) != 0) goto out;
  first_failure("get", ops, k);
  dump_ops("get", n, delay, ops, k);
  row_lat(rep, "get", n, delay, ops, k, 1);
  if (delay == 0) {
    bh_summary s;
    bh_summarize(ops, k, &s);
    our->n = n;
    our->get_p50 = s.p50;
    our->get_p99 = s.p99;
  }

  /* lookup: find-peer of a random other node */
  for (unsigned i = 0; i < k; i++) {
    unsigned a = rnd(n), b = rnd(n);
    if (a == b) b = (b + 1) % n;
    bh_op_clear(&ops[i]);
    bh_op_init(&ops[i], a, "findpeer %u %s", a, bh_peer(h, b));
  }
  if (bh_run(h, ops, k, o->conc, 60 + k * 2.0) != 0) goto out;
  first_failure("lookup", ops, k);
  dump_ops("lookup", n, delay, ops, k);
  row_lat(rep, "lookup", n, delay, ops, k, 1);
  free_ops(ops, k);
  ops = NULL;

  progress(n, delay, "join");
  /* join: new nodes bootstrap into the full network, one at a time: J with the settings of
   * the others (the self-lookup at the core's bootstrap_alpha), J whose self-lookup keeps to
   * alpha (3) like every other lookup, and J with alpha = 10 for everything (go-libp2p's
   * default), which then also look up random nodes: the same network, three settings */
  for (int variant = 0; variant < 3; variant++) {
    unsigned alpha = variant == 2 ? 10 : o->alpha ? o->alpha : 3;
    unsigned first = bh_nodes(h);
    if (variant == 2 && alpha == (o->alpha ? o->alpha : 3)) break;
    if (variant == 1 && bh_set(h, "kad_bootstrap_alpha=%u", alpha) != 0) goto out;
    if (variant == 2 && bh_set(h, "kad_alpha=%u kad_bootstrap_alpha=%u", alpha, alpha) != 0)
      goto out;
    k = o->joins;
    if (bh_start(h, k) != 0) goto out;
    ops = calloc(k, sizeof(*ops));
    for (unsigned i = 0; i < k; i++) boot_cmd(h, &ops[i], first + i, nboot);
    if (bh_run(h, ops, k, 1, 60 + k * 10.0) != 0) goto out;
    first_failure("join", ops, k);
    char what[32];
    snprintf(what, sizeof what, variant ? "join-alpha%u" : "join", alpha);
    row = row_lat(rep, what, n, delay, ops, k, 1);
    bench_row_num(row, "rt_size", bh_mean_field(ops, k, "rt"));
    /* the self-lookup alone, as the core timed it (the rest is the dial) */
    bench_row_num(row, "lookup_p50_ms", bh_pct_field(ops, k, "dur", 50) / 1e6);
    free_ops(ops, k);
    ops = NULL;
    if (variant < 2) continue;
    if (quiesce(h) < 0) goto out; /* the joiners' refreshes */
    /* lookups and gets from the alpha = 10 joiners */
    k = o->ops;
    ops = calloc(k, sizeof(*ops));
    for (unsigned i = 0; i < k; i++) {
      unsigned a = first + i % o->joins, b = rnd(n);
      if (i % 2)
        bh_op_init(&ops[i], a, "findpeer %u %s", a, bh_peer(h, b));
      else
        bh_op_init(&ops[i], a, "get %u /bench/key-%u value-%u-%u", a, i, i, n);
    }
    if (bh_run(h, ops, k, o->conc, 60 + k * 2.0) != 0) goto out;
    first_failure("lookup-alpha", ops, k);
    snprintf(what, sizeof what, "get+lookup-alpha%u", alpha);
    row_lat(rep, what, n, delay, ops, k, 1);
    free_ops(ops, k);
    ops = NULL;
  }

  bh_stats st;
  if (bh_stats_get(h, &st) != 0) goto out;
  char name[96];
  snprintf(name, sizeof name, "memory/N=%u/%gms", n, delay);
  row = bench_row_add(rep, name);
  bench_row_num(row, "nodes", st.nodes);
  bench_row_num(row, "workers", bh_workers(h));
  bench_row_num(row, "rss_MiB/node", (st.rss_kb - st.rss_kb0) / 1024.0 / st.nodes);
  bench_row_num(row, "heap_MiB/node", (st.heap - st.heap0) / 1048576.0 / st.nodes);
  bench_row_num(row, "conns/node", st.open / st.nodes);
  bench_row_num(row, "fds_max_worker", st.max_fds_worker);
  rv = 0;
out:
  if (rv != 0) fprintf(stderr, "bench_dht: N=%u delay=%g ms: %s\n", n, delay, bh_error(h));
  free_ops(ops, k);
  bh_free(h);
  return rv;
}

/* bench/opendht/opendht_bench.py: $GGEN_SOURCE_DIR, else next to the build directory that
 * holds this program (build/bench_dht -> bench/opendht/), else the working directory. */
static int find_script(char *out, size_t cap) {
  const char *rel = "bench/opendht/opendht_bench.py";
  const char *env = getenv("GGEN_SOURCE_DIR");
  if (env && snprintf(out, cap, "%s/%s", env, rel) < (int)cap && access(out, R_OK) == 0) return 0;
  char exe[PATH_MAX];
  ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (k > 0) {
    exe[k] = 0;
    char *dir = dirname(dirname(exe));
    if (snprintf(out, cap, "%s/%s", dir, rel) < (int)cap && access(out, R_OK) == 0) return 0;
  }
  if (snprintf(out, cap, "%s", rel) < (int)cap && access(out, R_OK) == 0) return 0;
  return -1;
}

/* The OpenDHT baseline at n nodes (0 ms delay), next to our get at 0 ms. Returns 0, or -1
 * when it could not run (noted in the report; the benchmark goes on). */
static int run_opendht(bench_report *rep, const opts *o, const ours *our) {
  char script[PATH_MAX], cmd[PATH_MAX + 256];
  if (find_script(script, sizeof script) != 0) {
    bench_note(rep, "OpenDHT baseline skipped: bench/opendht/opendht_bench.py not found "
                    "(set GGEN_SOURCE_DIR)");
    return -1;
  }
  const char *py = getenv("GGEN_PYTHON") ? getenv("GGEN_PYTHON") : "/usr/bin/python3";
  snprintf(cmd, sizeof cmd, "'%s' '%s' --nodes %u --ops %u --conc %u", py, script, our->n, o->ops,
           o->conc);
  fflush(NULL);
  FILE *f = popen(cmd, "r");
  char buf[8192];
  size_t len = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
  int st = f ? pclose(f) : -1;
  buf[len] = 0;
  if (st != 0) {
    if (WIFEXITED(st) && WEXITSTATUS(st) == 2)
      bench_note(rep, "OpenDHT baseline skipped: python3-opendht is not installed "
                      "(scripts/setup.sh installs it)");
    else
      bench_note(rep, "OpenDHT baseline at N=%u failed (status %d): see stderr", our->n, st);
    return -1;
  }
  json_error_t je;
  json_t *j = json_loads(buf, 0, &je);
  if (!j) {
    bench_note(rep, "OpenDHT baseline at N=%u printed no JSON", our->n);
    return -1;
  }
  double ops = json_number_value(json_object_get(j, "ops"));
  double ok = json_number_value(json_object_get(j, "get_ok"));
  json_t *g = json_object_get(j, "get_ms");
  double p50 = json_number_value(json_object_get(g, "p50"));
  double p99 = json_number_value(json_object_get(g, "p99"));
  char name[96];
  snprintf(name, sizeof name, "opendht-get/N=%u/0ms", our->n);
  bench_row *row = bench_row_add(rep, name);
  bench_row_num(row, "ops", ops);
  bench_row_num(row, "ok_%", ops > 0 ? 100.0 * ok / ops : 0);
  bench_row_num(row, "p50_ms", p50);
  bench_row_num(row, "p99_ms", p99);
  bench_row_num(row, "max_ms", json_number_value(json_object_get(g, "max")));
  bench_row_num(row, "ours_p50_ms", our->get_p50);
  bench_row_num(row, "ours/theirs_p50", p50 > 0 ? our->get_p50 / p50 : 0);
  bench_row_num(row, "ours/theirs_p99", p99 > 0 ? our->get_p99 / p99 : 0);
  bench_row_num(row, "rss_MiB/node",
                json_number_value(json_object_get(j, "rss_kib_per_node")) / 1024.0);
  bench_row_num(row, "workers", json_number_value(json_object_get(j, "procs")));
  json_decref(j);
  return 0;
}

static size_t parse_list(const char *s, double *out, size_t cap) {
  size_t n = 0;
  for (char *end; *s && n < cap; s = *end ? end + 1 : end) {
    out[n++] = strtod(s, &end);
    if (end == s) break;
  }
  return n;
}

static const bench_opt cli_opts[] = {
    {"--nodes", "N[,N...]", "network sizes (default 10,50,100,500,1000; --quick: 16)"},
    {"--delays", "MS[,MS...]", "one-way delays injected on every node (default 0,25)"},
    {"--ops", "K", "operations of each kind per configuration (default 200; --quick: 20)"},
    {"--alpha", "A", "lookup concurrency (default the core's 3)"},
    {"--ahead", "P",
     "candidates each lookup dials ahead (default alpha for gets and find-peer, k for others)"},
    {"--eager", NULL, "no optimistic multistream-select (for comparison)"},
    {"--no-settle", NULL, "skip the bucket refresh of every node after the build"},
    {"--no-warm-first", NULL,
     "lookups ask the closest waiting candidate even when a connected one is next (comparison)"},
    {"--redial", NULL,
     "dial routing-table peers again when they close the connection (kad redial_interval 60 s)"},
    {"--max-conns", "C", "each node's connection cap (default 256; trimming from 3/4 of it)"},
    {"--no-opendht", NULL, "skip the OpenDHT baseline"},
    {0}};
static const bench_usage usage = {
    "The Kademlia DHT on N real nodes on loopback (worker processes), with the OpenDHT "
    "baseline.",
    cli_opts,
    "The full run takes tens of minutes. OpenDHT runs through GGEN_PYTHON (default\n"
    "/usr/bin/python3) and is skipped with a note when python3-opendht is missing.\n"
    "GG_BENCH_DUMP=FILE appends every put, get and lookup reply (latency, rounds, requests)."};

int main(int argc, char **argv) {
  int rc = bh_worker_main(argc, argv);
  if (rc >= 0) return rc;
  bench_report *rep = bench_report_new("dht", &usage, argc, argv);
  opts o = {.ops = 200, .joins = 20, .conc = 8, .max_conns = 256, .opendht = 1, .settle = 1};
  static const unsigned full[] = {10, 50, 100, 500, 1000};
  if (bench_quick(rep)) {
    o.nodes[o.nnodes++] = 16;
    o.ops = 20;
    o.joins = 4;
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
    } else if (!strcmp(argv[i], "--alpha") && i + 1 < argc) {
      o.alpha = (unsigned)atoi(argv[++i]);
    } else if (!strcmp(argv[i], "--ahead") && i + 1 < argc) {
      o.ahead = (unsigned)atoi(argv[++i]);
    } else if (!strcmp(argv[i], "--no-settle")) {
      o.settle = 0;
    } else if (!strcmp(argv[i], "--redial")) {
      o.redial = 1;
    } else if (!strcmp(argv[i], "--no-warm-first")) {
      o.no_warm = 1;
    } else if (!strcmp(argv[i], "--eager")) {
      o.eager = 1;
    } else if (!strcmp(argv[i], "--max-conns") && i + 1 < argc) {
      o.max_conns = (unsigned)atoi(argv[++i]);
    } else if (!strcmp(argv[i], "--no-opendht")) {
      o.opendht = 0;
    }
  }
  bench_note(rep,
             "real nodes on 127.0.0.1 (TCP + Noise + Yamux + Kad), one-way delay injected "
             "on every node: a round trip costs 2x the delay; %u operations of each kind, "
             "%u in flight; msgs = requests sent per operation; alpha %u, k 20, %s "
             "multistream-select, %u connections per node at most",
             o.ops, o.conc, o.alpha ? o.alpha : 3, o.eager ? "eager" : "optimistic", o.max_conns);
  double la[3];
  if (getloadavg(la, 3) == 3)
    bench_note(rep, "load average at start: %.2f %.2f %.2f (%ld cores)", la[0], la[1], la[2],
               sysconf(_SC_NPROCESSORS_ONLN));
  ours our[16];
  memset(our, 0, sizeof our);
  int fail = 0;
  for (size_t d = 0; d < o.ndelays && !fail; d++)
    for (size_t i = 0; i < o.nnodes && !fail; i++)
      if (o.nodes[i] >= 2) fail = run_config(rep, &o, o.nodes[i], o.delays[d], &our[i]) != 0;
  /* the baseline, where our 0 ms figures exist */
  for (size_t i = 0; i < o.nnodes && !fail && o.opendht; i++)
    if (our[i].n && run_opendht(rep, &o, &our[i]) != 0) break;
  bench_report_finish(rep);
  return fail ? 1 : 0;
}
