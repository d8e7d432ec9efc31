/*
 * Gossipsub on real nodes: N nodes of our full stack (TCP + Noise + Yamux + Identify + the
 * gossip service) on loopback, spread over worker processes by the harness
 * (bench/support/harness.h, docs/harness.md), with 0 ms and 25 ms one-way delay injected on
 * every node (every byte a node receives waits that long: one hop costs the delay).
 *
 * Per configuration (N, delay), on a fresh network:
 *   topology  each node dials min(N-1, 5) random others (edges deduplicated: about 10
 *             connections per node), all subscribe, and the meshes settle for a few
 *             heartbeats (1 s, the default);
 *   messages  M messages of 1 KiB, each from a random node, one at a time (200 ms + 6 x the
 *             delay + N ms apart, so each has spread before the next): local publish
 *             latency (the publish call: sign, encode, queue), propagation to every other node
 *             (delivery time minus the publisher's start, both read from CLOCK_MONOTONIC,
 *             which all workers share) p50/p99/max over all (message, receiver) pairs,
 *             delivery ratio, duplicates per node per message, bytes sent (gossip RPC
 *             bytes, all topics, control included) per node per message, and the CPU time
 *             one message costs all the workers together (their CPU over the phase minus
 *             the idle rate measured just before: heartbeats and timers, idle_cpu_%);
 *   announce  K package announcements: a signed release record of about 2 KiB
 *             (include/ggen/release.h) built and signed by the publisher, validated
 *             (decoded, signature verified) by every node before it is delivered or
 *             forwarded; end-to-end latency from the start of signing to delivery.
 * Targets (issue 5): at 1000 nodes and 25 ms, p99 <= 250 ms, max <= 400 ms, 100 % delivery,
 * <= D + 2 duplicates per node per message; at 50 nodes and 0 ms, p99 <= 20 ms.
 *
 *   bench_gossip [--quick] [--json FILE] [--nodes N[,N...]] [--delays MS[,MS...]]
 *                [--msgs M] [--size BYTES]
 * GG_BENCH_DUMP=FILE appends every message latency ("N DELAY MS" lines) to FILE.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "report.h"
#include "support/harness.h"

#define TOPIC "/ggen/bench/v1"
#define RTOPIC "/ggen/packages/v1"
#define DEG_OUT 5  /* dials per node */
#define D_PLUS_2 8 /* the duplicate target: D + 2 with D = 6 */

typedef struct opts {
  unsigned nodes[16];
  size_t nnodes;
  double delays[8];
  size_t ndelays;
  unsigned msgs, records;
  unsigned size;
  unsigned min_workers;
} opts;

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static unsigned rnd(unsigned n) {
  rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
  return (unsigned)(rng % n);
}

static void sleep_ms(double ms) {
  struct timespec ts = {(time_t)(ms / 1000),
                        (long)((ms - (double)(time_t)(ms / 1000) * 1000) * 1e6)};
  nanosleep(&ts, NULL);
}

static void free_ops(bh_op *ops, size_t n) {
  for (size_t i = 0; ops && i < n; i++) bh_op_clear(&ops[i]);
  free(ops);
}

static void first_failure(const char *what, const bh_op *ops, size_t k) {
  for (size_t i = 0; i < k; i++)
    if (ops[i].done && !ops[i].ok) {
      fprintf(stderr, "bench_gossip: %s: e.g. '%.80s' -> %s\n", what, ops[i].line, ops[i].fields);
      return;
    }
}

/* Runs one command on every node; 0 when all answered ok. */
static int all_nodes(bh *h, unsigned n, const char *fmt_topic, bh_op **out) {
  bh_op *ops = calloc(n, sizeof(*ops));
  for (unsigned i = 0; i < n; i++) bh_op_init(&ops[i], i, fmt_topic, i);
  int rv = bh_run(h, ops, n, 256, 120);
  if (rv == 0)
    for (unsigned i = 0; i < n; i++) rv |= !ops[i].ok;
  if (rv) first_failure(fmt_topic, ops, n);
  *out = ops;
  return rv;
}

/* Counters summed over the nodes (gstats). */
typedef struct gsum {
  double dup, bytes_out, first, ihave_in, iwant_out, dropped, mesh, peers;
  unsigned zero_mesh; /* nodes without a mesh peer */
} gsum;

static int gstats(bh *h, unsigned n, gsum *s) {
  bh_op *ops;
  memset(s, 0, sizeof(*s));
  if (all_nodes(h, n, "gstats %u", &ops) != 0) {
    free_ops(ops, n);
    return -1;
  }
  for (unsigned i = 0; i < n; i++) {
    s->dup += bh_op_num(&ops[i], "dup", 0);
    s->bytes_out += bh_op_num(&ops[i], "bytes_out", 0);
    s->first += bh_op_num(&ops[i], "first", 0);
    s->ihave_in += bh_op_num(&ops[i], "ihave_in", 0);
    s->iwant_out += bh_op_num(&ops[i], "iwant_out", 0);
    s->dropped += bh_op_num(&ops[i], "dropped", 0);
    double m = bh_op_num(&ops[i], "mesh", 0);
    s->mesh += m;
    s->peers += bh_op_num(&ops[i], "peers", 0);
    s->zero_mesh += m == 0;
  }
  free_ops(ops, n);
  return 0;
}

/* One phase's publications: publisher, start time, publish call latency. */
typedef struct pubrec {
  unsigned node;
  double t0;     /* ns, uv_hrtime of the publisher's worker */
  double pub_ms; /* the publish call */
} pubrec;

/* Publishes count messages (msgno from base), one at a time, gap_ms apart. */
static int publish_phase(bh *h, unsigned n, const char *topic, unsigned base, unsigned count,
                         const char *what, double gap_ms, pubrec *out) {
  for (unsigned j = 0; j < count; j++) {
    bh_op op = {0};
    unsigned p = rnd(n);
    bh_op_init(&op, p, "gpub %u %s %u %s", p, topic, base + j, what);
    if (bh_run(h, &op, 1, 1, 30) != 0) return -1;
    if (!op.ok) {
      first_failure("gpub", &op, 1);
      bh_op_clear(&op);
      return -1;
    }
    out[j] = (pubrec){p, bh_op_num(&op, "t0", 0), op.ms};
    bh_op_clear(&op);
    sleep_ms(gap_ms);
  }
  return 0;
}

/* Collects deliveries since *from[i] on every node and fills lat (ms, one per delivery of
 * messages base..base+count-1) and the count delivered. */
static int collect(bh *h, unsigned n, unsigned base, unsigned count, const pubrec *pubs,
                   size_t *from, double *lat, size_t *nlat) {
  bh_op *ops = calloc(n, sizeof(*ops));
  for (unsigned i = 0; i < n; i++) bh_op_init(&ops[i], i, "grecv %u %zu", i, from[i]);
  int rv = bh_run(h, ops, n, 256, 120);
  char *rx = malloc(70000);
  *nlat = 0;
  for (unsigned i = 0; rv == 0 && i < n; i++) {
    if (!ops[i].ok || bh_op_str(&ops[i], "rx", rx, 70000) != 0) {
      first_failure("grecv", &ops[i], 1);
      rv = -1;
      break;
    }
    from[i] = (size_t)bh_op_num(&ops[i], "next", (double)from[i]);
    if (!strcmp(rx, "-")) continue;
    for (char *s = rx; *s;) {
      char *end;
      unsigned long msgno = strtoul(s, &end, 10);
      if (*end != ':') break;
      double t = strtod(end + 1, &end);
      if (msgno >= base && msgno < base + count && pubs[msgno - base].node != i)
        lat[(*nlat)++] = (t - pubs[msgno - base].t0) / 1e6;
      s = *end == ',' ? end + 1 : end;
    }
  }
  free(rx);
  free_ops(ops, n);
  return rv;
}

static double pct(double *v, size_t n, double p) { return n ? bench_percentile(v, n, p) : 0; }

/* One configuration on a fresh network. 0, or -1 after printing a harness failure. */
static int run_config(bench_report *rep, const opts *o, unsigned n, double delay) {
  bh *h;
  unsigned mw = o->min_workers < n ? o->min_workers : n;
  bh_config cfg = {.nodes = n, .min_workers = mw, .fds_per_node = 64};
  if (bh_new(&h, &cfg) != 0) return -1;
  int rv = -1;
  bh_op *ops = NULL;
  size_t k = 0;
  pubrec *pubs = NULL;
  double *lat = NULL, *pubms = NULL;
  size_t *from = calloc(n, sizeof(*from));
  char name[96];
  if (bh_set(h,
             "seed=%u delay_ms=%g log=error gossip=1 max_conns=60 high_water=56 "
             "low_water=48",
             n, delay) != 0 ||
      bh_start(h, n) != 0)
    goto out;

  /* topology: node i dials min(n-1, DEG_OUT) random others; an edge is dialed once */
  unsigned deg = n - 1 < DEG_OUT ? n - 1 : DEG_OUT;
  unsigned char *adj = calloc((size_t)n * n, 1);
  ops = calloc((size_t)n * deg, sizeof(*ops));
  for (unsigned i = 0; i < n; i++) {
    for (unsigned d = 0, tries = 0; d < deg && tries < 100 * deg; tries++) {
      unsigned j = rnd(n);
      if (j == i || adj[(size_t)i * n + j]) continue;
      d++;
      adj[(size_t)i * n + j] = adj[(size_t)j * n + i] = 1;
      bh_op_init(&ops[k++], i, "connect %u %s %s", i, bh_peer(h, j), bh_addr(h, j));
    }
  }
  free(adj);
  double t_conn = bh_now_s();
  if (bh_run(h, ops, k, 32, 120 + n * 0.2) != 0) goto out;
  size_t conn_ok = 0;
  for (size_t i = 0; i < k; i++) conn_ok += ops[i].ok;
  if (conn_ok < k) first_failure("connect", ops, k);
  t_conn = bh_now_s() - t_conn;
  free_ops(ops, k);
  ops = NULL;

  /* subscribe everyone, then let the meshes form (a few heartbeats) */
  if (all_nodes(h, n, "gsub %u " TOPIC, &ops) != 0) goto out;
  free_ops(ops, n);
  if (all_nodes(h, n, "gsub %u " RTOPIC " record", &ops) != 0) goto out;
  free_ops(ops, n);
  ops = NULL;
  gsum s0, s1, s2;
  for (int t = 0; t < 15; t++) {
    sleep_ms(1000);
    if (gstats(h, n, &s0) != 0) goto out;
    if (t >= 2 && s0.zero_mesh == 0) break; /* every node meshed in both topics */
  }

  /* the workers' CPU time while idle (heartbeats, timers) and around the messages: what one
   * message costs the machine, all nodes together */
  bh_stats ci, c0, c1;
  if (bh_stats_get(h, &ci) != 0) goto out;
  double ti = bh_now_s();
  sleep_ms(2000);
  if (bh_stats_get(h, &c0) != 0) goto out;
  double t0 = bh_now_s();
  double idle_ms_per_s = (c0.cpu_ms - ci.cpu_ms) / (t0 - ti);
  /* one message at a time: the previous one has spread and every node is idle again (at 1000
   * nodes on two cores a message costs the whole machine a few hundred ms of CPU) */
  double gap = 200 + 6 * delay + n;
  pubs = calloc(o->msgs + o->records, sizeof(*pubs));
  lat = calloc((size_t)(o->msgs + o->records) * n + 1, sizeof(*lat));
  char size[32];
  snprintf(size, sizeof size, "%u", o->size);
  if (publish_phase(h, n, TOPIC, 0, o->msgs, size, gap, pubs) != 0) goto out;
  if (bh_stats_get(h, &c1) != 0) goto out;
  double t1 = bh_now_s();
  sleep_ms(2500); /* stragglers: IHAVE/IWANT at the next heartbeats */
  if (gstats(h, n, &s1) != 0) goto out;
  size_t nl;
  if (collect(h, n, 0, o->msgs, pubs, from, lat, &nl) != 0) goto out;
  double want = (double)o->msgs * (n - 1);
  if (getenv("GG_BENCH_DUMP")) { /* every latency, for a histogram */
    FILE *f = fopen(getenv("GG_BENCH_DUMP"), "a");
    for (size_t i = 0; f && i < nl; i++) fprintf(f, "%u %g %.3f\n", n, delay, lat[i]);
    if (f) fclose(f);
  }
  pubms = calloc(o->msgs + o->records, sizeof(double));
  for (unsigned j = 0; j < o->msgs; j++) pubms[j] = pubs[j].pub_ms;
  snprintf(name, sizeof name, "msgs/N=%u/%gms", n, delay);
  bench_row *row = bench_row_add(rep, name);
  bench_row_num(row, "conns/node", 2.0 * (double)conn_ok / n);
  bench_row_num(row, "mesh/node", s0.mesh / n / 2);
  bench_row_num(row, "msgs", o->msgs);
  bench_row_num(row, "pub_p50_ms", pct(pubms, o->msgs, 50));
  bench_row_num(row, "pub_max_ms", pct(pubms, o->msgs, 100));
  bench_row_num(row, "deliv_%", want > 0 ? 100.0 * (double)nl / want : 0);
  bench_row_num(row, "p50_ms", pct(lat, nl, 50));
  bench_row_num(row, "p99_ms", pct(lat, nl, 99));
  bench_row_num(row, "max_ms", pct(lat, nl, 100));
  double dups = (s1.dup - s0.dup) / ((double)n * o->msgs);
  bench_row_num(row, "dup/node/msg", dups);
  bench_row_num(row, "B/node/msg", (s1.bytes_out - s0.bytes_out) / ((double)n * o->msgs));
  bench_row_num(row, "iwant", s1.iwant_out - s0.iwant_out);
  bench_row_num(row, "dropped", s1.dropped - s0.dropped);
  bench_row_num(row, "cpu_ms/msg", (c1.cpu_ms - c0.cpu_ms - idle_ms_per_s * (t1 - t0)) / o->msgs);
  bench_row_num(row, "idle_cpu_%", idle_ms_per_s / 10);
  double p99 = pct(lat, nl, 99), mx = pct(lat, nl, 100);
  if (n >= 1000 && delay == 25)
    bench_note(rep,
               "target 1000 nodes/25 ms: p99 %.1f ms (<= 250: %s), max %.1f ms (<= 400: %s), "
               "delivery %.2f %% (100: %s), %.2f duplicates/node/msg (<= D+2: %s)",
               p99, p99 <= 250 ? "met" : "MISSED", mx, mx <= 400 ? "met" : "MISSED",
               100.0 * (double)nl / want, nl == (size_t)want ? "met" : "MISSED", dups,
               dups <= D_PLUS_2 ? "met" : "MISSED");
  if (n == 50 && delay == 0)
    bench_note(rep, "target 50 nodes/0 ms: p99 %.2f ms (<= 20: %s)", p99,
               p99 <= 20 ? "met" : "MISSED");

  /* package announcements */
  if (publish_phase(h, n, RTOPIC, o->msgs, o->records, "record", gap, pubs + o->msgs) != 0)
    goto out;
  sleep_ms(2500);
  if (gstats(h, n, &s2) != 0) goto out;
  if (collect(h, n, o->msgs, o->records, pubs + o->msgs, from, lat, &nl) != 0) goto out;
  want = (double)o->records * (n - 1);
  for (unsigned j = 0; j < o->records; j++) pubms[j] = pubs[o->msgs + j].pub_ms;
  snprintf(name, sizeof name, "announce/N=%u/%gms", n, delay);
  row = bench_row_add(rep, name);
  bench_row_num(row, "msgs", o->records);
  bench_row_num(row, "pub_p50_ms", pct(pubms, o->records, 50));
  bench_row_num(row, "pub_max_ms", pct(pubms, o->records, 100));
  bench_row_num(row, "deliv_%", want > 0 ? 100.0 * (double)nl / want : 0);
  bench_row_num(row, "p50_ms", pct(lat, nl, 50));
  bench_row_num(row, "p99_ms", pct(lat, nl, 99));
  bench_row_num(row, "max_ms", pct(lat, nl, 100));
  bench_row_num(row, "dup/node/msg", (s2.dup - s1.dup) / ((double)n * o->records));
  bench_row_num(row, "B/node/msg", (s2.bytes_out - s1.bytes_out) / ((double)n * o->records));

  bh_stats st;
  if (bh_stats_get(h, &st) == 0) {
    snprintf(name, sizeof name, "setup/N=%u/%gms", n, delay);
    row = bench_row_add(rep, name);
    bench_row_num(row, "connect_s", t_conn);
    bench_row_num(row, "conns_ok_%", k ? 100.0 * (double)conn_ok / (double)k : 0);
    bench_row_num(row, "rss_kb/node", (st.rss_kb - st.rss_kb0) / n);
    bench_row_num(row, "heap_kb/node", (st.heap - st.heap0) / 1024.0 / n);
    bench_row_num(row, "workers", bh_workers(h));
  }
  rv = 0;
out:
  if (rv != 0) fprintf(stderr, "bench_gossip: N=%u delay=%g: %s\n", n, delay, bh_error(h));
  free(ops);
  free(pubs);
  free(lat);
  free(pubms);
  free(from);
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

static const bench_opt cli_opts[] = {
    {"--nodes", "N[,N...]", "network sizes (default 5,10,20,50,100,1000; --quick: 10)"},
    {"--delays", "MS[,MS...]", "one-way delays injected on every node (default 0,25)"},
    {"--msgs", "M", "messages per configuration (default 20; --quick: 5)"},
    {"--size", "BYTES", "message size (default 1024, at least 32)"},
    {0}};
static const bench_usage usage = {
    "Gossipsub on N real nodes on loopback (worker processes): propagation latency, "
    "duplicates, bytes and CPU per message, signed package announcements.",
    cli_opts,
    "The full run takes tens of minutes. GG_BENCH_DUMP=FILE appends every message latency\n"
    "(\"N DELAY MS\" lines) to FILE."};

int main(int argc, char **argv) {
  int rc = bh_worker_main(argc, argv);
  if (rc >= 0) return rc;
  bench_report *rep = bench_report_new("gossip", &usage, argc, argv);
  /* at least one worker per core: a worker runs its nodes on one thread */
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  opts o = {.msgs = 20, .records = 5, .size = 1024, .min_workers = ncpu > 1 ? (unsigned)ncpu : 1};
  static const unsigned full[] = {5, 10, 20, 50, 100, 1000};
  if (bench_quick(rep)) {
    o.nodes[o.nnodes++] = 10;
    o.msgs = 5;
    o.records = 2;
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
    } else if (!strcmp(argv[i], "--msgs") && i + 1 < argc) {
      o.msgs = (unsigned)atoi(argv[++i]);
    } else if (!strcmp(argv[i], "--size") && i + 1 < argc) {
      o.size = (unsigned)atoi(argv[++i]);
    }
  }
  if (o.size < 32) o.size = 32;
  bench_note(rep,
             "real nodes on 127.0.0.1 (TCP + Noise + Yamux + Gossipsub, D=6, heartbeat 1 s, "
             "flood publishing), each dialing %d random others; one-way delay injected on "
             "every node (a hop costs the delay); %u messages of %u B and %u signed "
             "release records of ~2 KiB per configuration, one at a time from random nodes",
             DEG_OUT, o.msgs, o.size, o.records);
  bench_note(rep, "latencies: p50/p99/max over all (message, receiver) pairs, from the publish "
                  "call to delivery; pub_*: the publish call alone; B/node/msg: gossip RPC bytes "
                  "sent (messages and control of all topics) per node per message");
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
