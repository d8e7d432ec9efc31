/*
 * Benchmark reporting: every benchmark program collects rows of named figures and prints
 * them as an aligned table on stdout and as JSON (to --json FILE, or after the table).
 * The machine (CPU model, cores, kernel) is recorded in both.
 *
 *   static const bench_opt opts[] = {{"--nodes", "N[,N...]", "network sizes"}, {0}};
 *   static const bench_usage usage = {"Kademlia in the simulator", opts, NULL};
 *   bench_report *r = bench_report_new("kadsim", &usage, argc, argv);
 *   bench_row *row = bench_row_add(r, "lookup/N=1000");
 *   bench_row_num(row, "p50_ms", 81.2);
 *   bench_report_finish(r);   // prints and frees
 *
 * bench_report_new() checks the whole command line before anything runs: --help / -h print
 * the usage (purpose, common and bench-specific options) and exit 0; an unknown option, a
 * stray argument or an option missing its argument is reported on stderr with exit status 2
 * (a typo must not start a long full run). The bench's own argv loop then only reads the
 * options it declared.
 *
 * Also: sample statistics (median, percentiles) over a vector of doubles.
 */
#ifndef GG_BENCH_REPORT_H
#define GG_BENCH_REPORT_H

#include <stddef.h>

typedef struct bench_report bench_report;
typedef struct bench_row bench_row;

/* One bench-specific option, for checking argv and for the usage text. */
typedef struct bench_opt {
  const char *name; /* "--nodes" */
  const char *arg;  /* its argument's placeholder ("N[,N...]"); NULL: a flag without one */
  const char *help; /* what it does, one line */
} bench_opt;

/* What --help prints besides the common options. */
typedef struct bench_usage {
  const char *purpose;   /* one line: what the benchmark measures */
  const bench_opt *opts; /* bench-specific options, ended by {0}; NULL: none */
  const char *more;      /* printed after the options (defaults, environment); NULL: none */
} bench_usage;

/* Checks argv against the common options (--json FILE, --quick, --help/-h) and usage->opts,
 * exiting as described above (0 after --help, 2 on a bad command line); then initialises
 * libsodium (exits 1 when it cannot) and returns a report. Call it first in main() (after
 * bh_worker_main() in benches using the harness: a worker's argv is not checked). */
bench_report *bench_report_new(const char *name, const bench_usage *usage, int argc, char **argv);
/* 1 when --quick (the small CI configuration) was given or GGEN_BENCH_QUICK is set. */
int bench_quick(const bench_report *r);
bench_row *bench_row_add(bench_report *r, const char *name);
void bench_row_num(bench_row *row, const char *key, double v);
void bench_row_str(bench_row *row, const char *key, const char *v);
/* Free-form note printed under the table and stored in JSON "notes". */
void bench_note(bench_report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints table and JSON, frees everything. Returns 0. */
int bench_report_finish(bench_report *r);

/* Sample statistics. Sorts v in place. p in [0,100]. */
double bench_percentile(double *v, size_t n, double p);
double bench_median(double *v, size_t n);

#endif
