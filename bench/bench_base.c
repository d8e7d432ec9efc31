/*
 * Micro-benchmark of the base codecs: varint encode+decode and gg_buf append/consume, in
 * nanoseconds per operation (median of repeated runs).
 */
#include <stdio.h>

#include "ggen/buf.h"
#include "ggen/time.h"
#include "ggen/varint.h"
#include "report.h"

#define RUNS 9

static const bench_usage usage = {
    "Micro-benchmark of the base codecs: varint encode+decode, gg_buf append/consume (ns/op).",
    NULL, "Median of 9 runs of 10,000,000 operations (--quick: 100,000)."};

int main(int argc, char **argv) {
  bench_report *r = bench_report_new("base", &usage, argc, argv);
  size_t iters = bench_quick(r) ? 100000 : 10000000;
  double v[RUNS];
  volatile uint64_t sink = 0;
  for (int k = 0; k < RUNS; k++) {
    gg_ts t0 = gg_clock_now();
    for (size_t i = 0; i < iters; i++) {
      uint8_t b[GG_VARINT_MAX];
      uint64_t x = (i * 2654435761u) >> (i & 31);
      size_t n = gg_varint_encode(x, b);
      uint64_t y;
      gg_varint_decode(b, n, &y);
      sink += y;
    }
    v[k] = (double)(gg_clock_now() - t0) / (double)iters;
  }
  bench_row_num(bench_row_add(r, "varint encode+decode"), "ns/op", bench_median(v, RUNS));

  gg_buf b;
  gg_buf_init(&b, NULL, 1 << 20);
  uint8_t chunk[1500] = {0};
  for (int k = 0; k < RUNS; k++) {
    gg_ts t0 = gg_clock_now();
    for (size_t i = 0; i < iters / 10; i++) {
      gg_buf_append(&b, chunk, sizeof(chunk));
      gg_buf_consume(&b, sizeof(chunk));
    }
    v[k] = (double)(gg_clock_now() - t0) / (double)(iters / 10);
  }
  gg_buf_free(&b);
  bench_row_num(bench_row_add(r, "buf append+consume 1500B"), "ns/op", bench_median(v, RUNS));
  (void)sink;
  return bench_report_finish(r);
}
