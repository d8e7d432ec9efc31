/*
 * Fuzz target: the Ping core driven by a script. Each input byte is an operation on a dialer
 * and a listener wired back to back, or raw bytes for the dialer from a misbehaving peer; the
 * fuzzer also picks the timestamps (which may go backwards) and the output cap. An echo the
 * listener produced from the dialer's own ping must always be accepted, every session error
 * must be one the header names, and a failed session stays failed.
 */
#include <stdlib.h>
#include <string.h>

#include "ggen/err.h"
#include "ggen/ping.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int ok_err(int rc) {
  return rc == GG_OK || rc == GG_EPROTO || rc == GG_ERATE || rc == GG_ETIMEDOUT ||
         rc == GG_ESTATE || rc == GG_ETOOBIG;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  gg_rand_seeded rs;
  gg_rand_seeded_init(&rs, size);
  ggp_ping_settings ds = {.dialer = 1, .rand = &rs.r, .timeout = GG_MS(50)};
  ggp_ping_settings ls = {.dialer = 0, .timeout = GG_MS(50)};
  ggp_ping *d, *l;
  if (ggp_ping_new(&d, NULL, &ds, NULL, NULL) || ggp_ping_new(&l, NULL, &ls, NULL, NULL)) abort();
  gg_buf d2l, l2d;
  gg_buf_init(&d2l, NULL, 1 << 16);
  gg_buf_init(&l2d, NULL, 1 << 16);
  gg_ts ts = 0;
  int dead_d = 0; /* the dialer timed out */
  for (size_t i = 0; i < size; i++) {
    uint8_t op = data[i];
    int rc = GG_OK;
    switch (op & 7) {
    case 0: rc = ggp_ping_start(d, ts); break;
    case 1: rc = ggp_ping_start(l, ts); break;
    case 2: rc = ggp_ping_send(d, &d2l); break;
    case 3: rc = ggp_ping_send(l, &l2d); break;
    case 4: { /* deliver part of the dialer's bytes to the listener */
      size_t n = (size_t)(op >> 3) + 1;
      if (n > gg_buf_len(&d2l)) n = gg_buf_len(&d2l);
      rc = ggp_ping_recv(l, gg_buf_ptr(&d2l), n, ts);
      gg_buf_consume(&d2l, n);
      break;
    }
    case 5: { /* deliver part of the listener's echo to the dialer */
      size_t n = (size_t)(op >> 3) + 1;
      if (n > gg_buf_len(&l2d)) n = gg_buf_len(&l2d);
      rc = ggp_ping_recv(d, gg_buf_ptr(&l2d), n, ts);
      gg_buf_consume(&l2d, n);
      /* a faithful echo of our own pings is never refused */
      if (rc == GG_EPROTO) abort();
      break;
    }
    case 6: ts = (op & 8) ? ts + GG_MS(op >> 4) : ts - (ts ? 1 : 0); break;
    case 7:
      rc = ggp_ping_handle_expiry((op & 8) ? d : l, ts);
      (void)ggp_ping_expiry(d);
      break;
    }
    if (!ok_err(rc)) abort();
    if (rc == GG_ETIMEDOUT && (op & 7) == 7 && (op & 8)) dead_d = 1;
    /* a failed session stays failed */
    if (dead_d && ggp_ping_send(d, &d2l) != GG_ETIMEDOUT) abort();
  }
  /* raw garbage to a fresh dialer never crashes */
  ggp_ping *g;
  if (ggp_ping_new(&g, NULL, &ds, NULL, NULL)) abort();
  ggp_ping_start(g, 0);
  if (!ok_err(ggp_ping_recv(g, data, size, 1))) abort();
  ggp_ping_del(g);
  gg_buf_free(&d2l);
  gg_buf_free(&l2d);
  ggp_ping_del(d);
  ggp_ping_del(l);
  return 0;
}
