/*
 * Benchmark reporting: every benchmark program collects rows of named figures and prints
 * them as an aligned table on stdout and as JSON (to --json FILE, or after the table).
 * The machine (CPU model, cores, kernel) is recorded in both.
 *
 *   bench_report *r = bench_report_new("yamux", argc, argv);
 *   bench_row *row = bench_row_add(r, "throughput/1stream");
 *   bench_row_num(row, "MB/s", 812.4);
 *   bench_report_finish(r);   // prints and frees
 *
 * Also: sample statistics (median, percentiles) over a vector of doubles.
 */
#ifndef GG_BENCH_REPORT_H
#define GG_BENCH_REPORT_H

#include <stddef.h>

typedef struct bench_report bench_report;
typedef struct bench_row bench_row;

/* Initialises libsodium (exits when it cannot), parses the common options (--json FILE, --quick)
 * from argv and returns a report. Call it first in main(). */
bench_report *bench_report_new(const char *name, int argc, char **argv);
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
