/*
 * Latency injection settings (src/net/tcp.c). The kernel here has no netem, so the host
 * delays delivery of received bytes in user space: a node configured with a one-way delay d
 * sees every byte (and the end of stream) d later than the kernel delivered it, and the
 * completion of its own dials 2d later (the SYN's trip and the SYN-ACK's, as a real TCP
 * handshake costs a round trip before the dialer may send). Two nodes configured with d_a and
 * d_b therefore measure a round trip of about d_a + d_b over loopback.
 *
 * The delay of a connection is drawn once when it is created (fixed, uniform in
 * [delay - spread, delay + spread], or normal with mean delay and standard deviation spread,
 * clamped at 0); each received chunk then gets an extra uniform jitter in [0, jitter]. Order
 * is preserved per connection: a chunk is never delivered before the one received before it.
 * A fraction of outbound dial attempts can be dropped: the dial then behaves like a lost SYN
 * and fails at the dial timeout.
 */
#ifndef GGEN_NETSIM_H
#define GGEN_NETSIM_H

#include <stdint.h>

enum { GGN_DELAY_FIXED = 0, GGN_DELAY_UNIFORM, GGN_DELAY_NORMAL };

typedef struct ggn_latency {
  uint64_t delay_ns;  /* one-way delay added to received data (0 = latency injection off) */
  uint64_t spread_ns; /* per-connection variation: uniform half-width or normal std. dev. */
  uint64_t jitter_ns; /* per-chunk extra delay, uniform in [0, jitter_ns] */
  int dist;           /* GGN_DELAY_FIXED, GGN_DELAY_UNIFORM or GGN_DELAY_NORMAL */
  double drop_dial;   /* fraction in [0, 1] of outbound dial attempts that are lost */
} ggn_latency;

/* 1 when the settings change anything (some delay, jitter or drops). */
static inline int ggn_latency_active(const ggn_latency *l) {
  return l->delay_ns > 0 || l->spread_ns > 0 || l->jitter_ns > 0 || l->drop_dial > 0;
}

#endif
