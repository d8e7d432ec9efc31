/*
 * The benchmark harness, coordinator side (bench/support/harness.c; docs/harness.md): starts
 * N real nodes spread over several worker processes (include/ggen/harness.h: each runs many
 * nodes on one uv loop), sends them commands, and collects one result per operation with its
 * latency as the worker measured it. Used by bench_dht and meant for the gossip and
 * marketplace benchmarks.
 *
 *   int main(int argc, char **argv) {
 *     int rc = bh_worker_main(argc, argv);       // first: this may be a worker process
 *     if (rc >= 0) return rc;
 *     bh *h;
 *     bh_config cfg = {.nodes = 100};
 *     if (bh_new(&h, &cfg) != 0) ...             // forks/execs the workers
 *     bh_set(h, "delay_ms=25");                   // settings for nodes started next
 *     bh_start(h, 100);                           // nodes 0..99, peer ids and addresses known
 *     bh_op *ops = ...; bh_op_init(&ops[i], 5, "ping %u %s %s", 5, bh_peer(h, 0), bh_addr(h, 0));
 *     bh_run(h, ops, n, 16, 60);                  // 16 in flight, 60 s deadline
 *     bh_summary s; bh_summarize(ops, n, "ns", &s);
 *     bh_free(h);                                 // quit, wait, reap
 *   }
 *
 * Failure policy: an operation that fails (err reply) is a result, counted in the success
 * rate. A worker that dies, a reply that does not come by the deadline or a malformed reply
 * is a harness failure: the call returns -1 and bh_error() says what happened (which worker,
 * pid, how it ended, which operation was pending). The bench then stops with that message.
 * Every wait has a deadline.
 */
#ifndef GG_BENCH_HARNESS_H
#define GG_BENCH_HARNESS_H

#include <stddef.h>
#include <stdint.h>

typedef struct bh bh;

typedef struct bh_config {
  unsigned nodes;            /* most nodes this run will start (sizes the workers); required */
  unsigned nodes_per_worker; /* 0: the fd limit / fds_per_node, at most 250 */
  unsigned fds_per_node;     /* file descriptors one node may hold (its connection cap + its
                                listener); 0: 256 */
  unsigned min_workers;      /* 0: 1 */
  unsigned reserve_fds;      /* descriptors kept free in each worker beyond nodes x
                                fds_per_node (e.g. for a few nodes with a higher cap) */
  double timeout_s;          /* deadline of internal batches (start, set, stats); 0: 60 */
} bh_config;

/* Forks and execs the workers (this program again, with --harness-worker) and records their
 * baseline memory. 0, or -1 with a message on stderr (nothing is left running then). */
int bh_new(bh **out, const bh_config *cfg);

/* When argv asks for a worker (bh_new's children), runs it and returns its exit status;
 * otherwise returns -1 at once. Call first thing in main. */
int bh_worker_main(int argc, char **argv);

/* Monotonic clock in seconds (wall time of phases). */
double bh_now_s(void);

/* Quits every worker (nodes close with GoAway), waits up to 20 s, kills stragglers, reaps. */
void bh_free(bh *h);

/* The last harness failure, "" when none. */
const char *bh_error(const bh *h);

/* Sends "set <fields>" to every worker: settings for nodes started afterwards (keys in
 * docs/harness.md). 0 or -1 (bh_error). */
int bh_set(bh *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Starts count nodes with the next indices, round-robin over the workers. 0 or -1. */
int bh_start(bh *h, unsigned count);

unsigned bh_nodes(const bh *h);   /* nodes started so far */
unsigned bh_workers(const bh *h); /* worker processes */
unsigned bh_worker_of(const bh *h, unsigned node);
const char *bh_peer(const bh *h, unsigned node); /* base58 peer id */
const char *bh_addr(const bh *h, unsigned node); /* /ip4/127.0.0.1/tcp/PORT */

/* One operation: a command line for one node and, after bh_run, its reply. */
typedef struct bh_op {
  unsigned node; /* the node that executes it (selects the worker) */
  char *line;    /* "CMD NODE ARG..." without the tag (owned, bh_op_clear frees) */
  int done;      /* a reply came */
  int ok;        /* it was "ok" */
  char *fields;  /* the reply after "ok " (KEY=VALUE...) or after "err " (GG_E... text) */
  double ms;     /* the worker's "ns" field in ms, or -1 */
} bh_op;

/* Formats op->line (the command with its arguments, node included). 0 or -1 (ENOMEM). */
int bh_op_init(bh_op *op, unsigned node, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void bh_op_clear(bh_op *op);
/* A numeric reply field ("rounds"), or dflt when absent. */
double bh_op_num(const bh_op *op, const char *key, double dflt);
/* A text reply field copied into out (NUL-terminated). 0, or -1 when absent or too long. */
int bh_op_str(const bh_op *op, const char *key, char *out, size_t cap);

/*
 * Runs ops with at most concurrency in flight over the whole network (0: all at once),
 * starting the next as each finishes, in array order. Returns 0 when every op got a reply
 * within timeout_s (ok or err: see op->ok), -1 on a harness failure (bh_error).
 */
int bh_run(bh *h, bh_op *ops, size_t n, unsigned concurrency, double timeout_s);

/* Latency statistics over the ok operations of ops (field ms), in milliseconds. */
typedef struct bh_summary {
  size_t n, ok;               /* operations, successful ones */
  double p50, p99, max, mean; /* over the successful ones; 0 when none */
} bh_summary;
void bh_summarize(const bh_op *ops, size_t n, bh_summary *s);
/* Mean of a numeric field over the ok operations (0 when none). */
double bh_mean_field(const bh_op *ops, size_t n, const char *key);
/* Percentile p of a numeric field over the ok operations. */
double bh_pct_field(const bh_op *ops, size_t n, const char *key, double p);

/* Process figures summed over the workers. */
typedef struct bh_stats {
  unsigned nodes;
  double rss_kb, heap;   /* now */
  double rss_kb0, heap0; /* at start, before any node */
  double fds, conns, open;
  double max_fds_worker; /* the most descriptors any one worker holds */
  double cpu_ms;         /* CPU time (user + system) the workers have used so far */
  double rt, rt_conn;    /* routing-table entries (kad nodes), those with an open connection */
  /* upgraded connections ended so far: trimmed by the connection manager, closed by the node
   * otherwise, by the peer, on an error (both ends count a connection) */
  double closed_trimmed, closed_local, closed_peer, closed_error;
  double redials; /* kad: routing-table peers dialed again after they closed the connection */
} bh_stats;
int bh_stats_get(bh *h, bh_stats *s);

#endif
