/*
 * Ping (`/ipfs/ping/1.0.0`, libp2p/specs ping/ping.md) as a core without I/O: one session per
 * ping stream.
 *
 * The dialer sends 32 random bytes and expects the same 32 back; the round trip is measured
 * from the timestamps the caller passes in. It may ping again on the same stream, one ping at
 * a time. The listener echoes every complete 32-byte chunk. js-libp2p's limits apply: 10 s
 * timeout for an echo (dialer) and for each ping to arrive (listener); a js listener takes at
 * most 2 ping streams per peer and a dialer should keep one (enforced by the host).
 *
 * Usage:
 *   ggp_ping_new(&p, &cb, &settings, mem, ud);
 *   ggp_ping_start(p, now);            // dialer: queue a ping; listener: arm the idle timer
 *   ggp_ping_send(p, out);             // write what landed in out to the stream
 *   ggp_ping_recv(p, in, len, now);    // dialer: cb.on_rtt on a good echo; listener: echoes
 *   timers: ggp_ping_expiry(p), ggp_ping_handle_expiry(p, now) -> GG_ETIMEDOUT
 *   ggp_ping_del(p);
 * Any error ends the session (later calls return it again): close or reset the stream.
 */
#ifndef GGEN_PING_H
#define GGEN_PING_H

#include <stddef.h>
#include <stdint.h>

#include "ggen/buf.h"
#include "ggen/mem.h"
#include "ggen/rand.h"
#include "ggen/time.h"

#define GGP_PING_PROTO "/ipfs/ping/1.0.0"
#define GGP_PING_LEN 32
#define GGP_PING_TIMEOUT GG_SEC(10)
/* Listener: echo bytes that may wait for ggp_ping_send() before the peer counts as flooding. */
#define GGP_PING_QUEUE_MAX (64 * GGP_PING_LEN)

typedef struct ggp_ping ggp_ping;

typedef struct ggp_ping_callbacks {
  /* Dialer, optional: the echo of the last ping came back intact, rtt ns after start().
   * Must not call back into the session. */
  void (*on_rtt)(ggp_ping *p, gg_ts rtt, void *ud);
} ggp_ping_callbacks;

typedef struct ggp_ping_settings {
  int dialer;          /* 1: sends pings; 0: echoes */
  gg_ts timeout;       /* 0: GGP_PING_TIMEOUT */
  const gg_rand *rand; /* dialer: the payloads (required); borrowed, must outlive the session */
} ggp_ping_settings;

/* Creates a session. cb may be NULL. GG_EINVAL (dialer without rand), GG_ENOMEM; on failure
 * *pp is untouched. */
int ggp_ping_new(ggp_ping **pp, const ggp_ping_callbacks *cb, const ggp_ping_settings *st,
                 const gg_mem *mem, void *ud);

/* Frees the session (NULL is fine). */
void ggp_ping_del(ggp_ping *p);

/* Dialer: queues a new ping (32 bytes from rand) sent at ts. GG_ESTATE while a ping is
 * outstanding. Listener: (re)arms the idle timer from ts; call it when the stream opens.
 * Returns the session's error once it has failed. */
int ggp_ping_start(ggp_ping *p, gg_ts ts);

/* Appends the pending output to out and drops it from the session. On error (out's cap or
 * GG_ENOMEM) nothing is moved. */
int ggp_ping_send(ggp_ping *p, gg_buf *out);

/*
 * Feeds bytes received at ts. Bytes may arrive split anyhow.
 * Dialer: GG_EPROTO when a byte differs from the ping or arrives with no ping outstanding;
 *   a complete echo calls on_rtt.
 * Listener: each complete 32-byte chunk is queued as output; GG_ERATE when more than
 *   GGP_PING_QUEUE_MAX bytes would wait to be sent (the peer pings without reading).
 */
int ggp_ping_recv(ggp_ping *p, const uint8_t *in, size_t len, gg_ts ts);

/* When handle_expiry() must be called: the deadline of the outstanding ping (dialer) or of the
 * next ping (listener, once started); GG_TS_UNSET when none or after a failure. */
gg_ts ggp_ping_expiry(const ggp_ping *p);

/* GG_ETIMEDOUT (and the session ends) when ts reached the deadline, else GG_OK. */
int ggp_ping_handle_expiry(ggp_ping *p, gg_ts ts);

/* Dialer: the round trip of the last completed ping, GG_TS_UNSET before the first. */
gg_ts ggp_ping_last_rtt(const ggp_ping *p);

#endif
