/*
 * Fuzz target: the length-prefixed message reader. The first two bytes choose the body cap
 * and the chunk sizes; the rest is the stream. Reading it in one piece and reading it in
 * chunks must give the same messages and the same final outcome, and every reported *used
 * must stay within the input.
 */
#include <stdlib.h>
#include <string.h>

#include "ggen/err.h"
#include "ggen/lpm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXMSG 64

struct result {
  size_t n;
  size_t len[MAXMSG];
  uint64_t sum[MAXMSG];
  int final;
};

static uint64_t digest(const uint8_t *p, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

static void run(const uint8_t *in, size_t len, size_t max, unsigned chunk, struct result *res) {
  gg_lpm r;
  gg_lpm_init(&r, NULL, max);
  memset(res, 0, sizeof(*res));
  res->final = GG_EAGAIN;
  size_t off = 0;
  while (off < len && res->n < MAXMSG) {
    size_t c = chunk ? (size_t)chunk : len - off;
    if (c > len - off) c = len - off;
    const uint8_t *p = in + off;
    size_t left = c;
    while (left > 0 && res->n < MAXMSG) {
      size_t used, mlen;
      const uint8_t *msg;
      int rc = gg_lpm_read(&r, p, left, &used, &msg, &mlen);
      if (used > left) abort();
      p += used;
      left -= used;
      if (rc == GG_EAGAIN) {
        if (left) abort();
        break;
      }
      if (rc) {
        res->final = rc;
        gg_lpm_free(&r);
        return;
      }
      if (mlen > max) abort();
      res->len[res->n] = mlen;
      res->sum[res->n] = digest(msg, mlen);
      res->n++;
    }
    off += c - left;
  }
  res->final = res->n == MAXMSG ? GG_OK : (gg_lpm_idle(&r) ? GG_OK : GG_EAGAIN);
  gg_lpm_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) return 0;
  size_t max = (size_t)data[0] * 4;
  unsigned chunk = 1 + data[1] % 17;
  static struct result a, b;
  run(data + 2, size - 2, max, 0, &a);
  run(data + 2, size - 2, max, chunk, &b);
  if (a.n != b.n || a.final != b.final) abort();
  for (size_t i = 0; i < a.n; i++)
    if (a.len[i] != b.len[i] || a.sum[i] != b.sum[i]) abort();
  return 0;
}
