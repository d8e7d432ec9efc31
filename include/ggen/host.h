/*
 * The libp2p host on libuv: one node's identity, listeners, connections, protocol handlers,
 * peer store and connection manager (src/net/host.c, conn.c, stream.c, services.c,
 * peerstore.c). This is the only layer that does I/O; it drives the protocol cores.
 *
 * A connection is upgraded as libp2p specifies (libp2p/specs connections/README.md):
 *   TCP -> multistream-select "/noise" -> Noise XX (libp2p payload, stream-muxer extension)
 *       -> Yamux, chosen through the Noise extension when the remote lists "/yamux/1.0.0",
 *          else negotiated with multistream-select on the secured channel
 *       -> Identify (/ipfs/id/1.0.0) both ways; Ping (/ipfs/ping/1.0.0) served.
 * Every Yamux stream then negotiates its protocol with multistream-select and is handed to
 * the handler registered for it (inbound) or to the opener's callback (outbound).
 *
 * Threading and ownership: a host lives on one uv loop and is used from that loop's thread
 * only. Many hosts may share a loop (tests and benchmarks run hundreds); nothing is global.
 * ggn_host_close() closes everything and frees the host once every handle is closed, so
 * uv_loop_close() succeeds afterwards.
 *
 * As in any libuv program, the process must ignore SIGPIPE (signal(SIGPIPE, SIG_IGN)): a peer
 * may close its socket while we write to it.
 *
 * Callbacks are never called from inside the ggn_* call that caused them (a dial that fails
 * at once still reports from a later loop iteration), so a caller never sees re-entry.
 *
 * Errors: GG_OK or a negative GG_E* code (include/ggen/err.h). Dial failures are
 * GG_EUNREACHABLE (refused, no address), GG_ETIMEDOUT (dial, handshake or negotiation
 * timeout), a PEER-class code when the remote broke a protocol, GG_ENOPROTO when it supports
 * none of the proposed protocols, GG_ELIMIT when a local limit refused it.
 */
#ifndef GGEN_HOST_H
#define GGEN_HOST_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "ggen/identify.h"
#include "ggen/key.h"
#include "ggen/log.h"
#include "ggen/multiaddr.h"
#include "ggen/netsim.h"
#include "ggen/peerid.h"
#include "ggen/rand.h"
#include "ggen/time.h"
#include "ggen/yamux.h"

typedef struct ggn_host ggn_host;
typedef struct ggn_conn ggn_conn;
typedef struct ggn_stream ggn_stream;

/* ---- settings ---------------------------------------------------------------------------- */

/* Every numeric field 0 means the default shown. Durations are nanoseconds. */
typedef struct ggn_host_settings {
  const gg_keypair *identity;   /* required; copied */
  const char *agent_version;    /* identify agentVersion (= "ggen/<version>"); copied */
  const char *protocol_version; /* identify protocolVersion (= "/ggen/1.0.0"); copied */
  int no_noise_muxers;          /* 1: do not list /yamux/1.0.0 in our Noise extension, so the
                                   muxer is negotiated with multistream-select (tests) */
  int eager_select;             /* 1: always wait for the remote's multistream-select answer
                                   before handing over an outbound stream; 0: propose
                                   optimistically when identify said the peer serves the
                                   protocol (see ggn_host_open_stream) */
  gg_ts dial_timeout;           /* outbound: TCP connect + upgrade (= 10 s, as js) */
  gg_ts handshake_timeout;      /* inbound: accept to upgraded; a peer that connects and sends
                                   nothing is dropped then (= 10 s, as js) */
  gg_ts negotiate_timeout;      /* multistream-select on a new stream (= 10 s, as js) */
  gg_ts identify_timeout;       /* identify answer after the stream opened (= 5 s, as js) */
  uint32_t max_conns;           /* hard cap on connections, any state (= 1024) */
  uint32_t conn_high_water;     /* above this many upgraded connections, trim ... (= 512) */
  uint32_t conn_low_water;      /* ... down to this many (= 384) */
  gg_ts trim_grace;             /* connections younger than this are not trimmed (= 20 s) */
  uint32_t max_pending_handshakes; /* inbound connections being upgraded at once (= 64) */
  uint32_t max_streams_per_conn;   /* yamux streams each way per connection (= 1000, as js) */
  size_t max_msg_size;          /* cap of ggn_stream_read_msgs when given 0 (= 4 MiB) */
  size_t stream_write_buffer;   /* bytes ggn_stream_write queues per stream beyond what Yamux
                                   took (= 4 MiB + 64 KiB) */
  uint32_t peerstore_max_peers; /* (= 4096); peers without a connection are evicted, LRU */
  uint32_t peerstore_max_addrs; /* addresses kept per peer (= 16) */
  uint32_t peerstore_max_protocols; /* protocol names kept per peer (= 128) */
  ggp_yamux_settings yamux;     /* passed to every Yamux session (zeros: the core's defaults);
                                   max_streams_in/out come from max_streams_per_conn */
  ggn_latency latency;          /* user-space latency injection (include/ggen/netsim.h) */
  const gg_rand *rand;          /* NULL: system CSPRNG; borrowed (keys, pings, latency draws) */
  const gg_mem *mem;            /* NULL: default; borrowed */
  const ggn_log *log;           /* copied; NULL: stderr at warn, named after the peer id. An
                                   empty name is replaced by the short peer id */
} ggn_host_settings;

/* ---- events ----------------------------------------------------------------------------- */

typedef struct ggn_host_callbacks {
  /* A connection finished its upgrade (Noise verified the peer, Yamux runs). */
  void (*on_conn_up)(ggn_host *h, ggn_conn *c, void *ud);
  /* An upgraded connection is gone. err: GG_OK when we closed it (ggn_conn_close, trimming,
   * host close), else why (GG_ECLOSED: the peer closed it; a PEER-class code: it broke a
   * protocol; GG_ETIMEDOUT). c is valid during the call only. */
  void (*on_conn_down)(ggn_host *h, ggn_conn *c, int err, void *ud);
  /* The peer's identify answer arrived on c and is in the peer store. m is borrowed. */
  void (*on_identify)(ggn_host *h, ggn_conn *c, const ggp_identify_msg *m, void *ud);
} ggn_host_callbacks;

/* ---- host ---------------------------------------------------------------------------------- */

/*
 * Observers: services built on the host (Kademlia, Gossipsub) watch connections and identify
 * results without owning the host's callbacks. cb (copied) gets the same events, after the
 * host's own callbacks, with ud. At most 8 observers. GG_OK, GG_EINVAL, GG_ELIMIT.
 * An observer may remove itself, or another, from inside a callback.
 */
int ggn_host_observe(ggn_host *h, const ggn_host_callbacks *cb, void *ud);

/* Removes the observer registered with ud. GG_OK or GG_ENOTFOUND. */
int ggn_host_unobserve(ggn_host *h, void *ud);

/* Creates a host on loop. cb may be NULL. Nothing listens yet. Returns GG_OK, GG_EINVAL
 * (no identity, low water above high water, high water above max_conns), GG_ENOMEM;
 * on failure *ph is untouched. */
int ggn_host_new(ggn_host **ph, uv_loop_t *loop, const ggn_host_settings *st,
                 const ggn_host_callbacks *cb, void *ud);

/*
 * Closes every listener and connection (a GoAway is sent on upgraded ones), fails pending
 * dials and opens with GG_ECANCELED, and frees the host once all its handles are closed;
 * on_closed (may be NULL) is called then, from the loop. No host call is allowed after this.
 */
void ggn_host_close(ggn_host *h, void (*on_closed)(void *ud), void *ud);

/* This node's peer id / key pair / logger. */
const gg_peerid *ggn_host_peer_id(const ggn_host *h);
const gg_keypair *ggn_host_identity(const ggn_host *h);
const ggn_log *ggn_host_log(const ggn_host *h);
uv_loop_t *ggn_host_loop(const ggn_host *h);

/*
 * Listens on a /ip4/<a>/tcp/<port> or /ip6/<a>/tcp/<port> multiaddr (port 0 picks a free
 * one). The address actually bound is added to the listen addresses.
 * Returns GG_OK, GG_EUNSUPPORTED (not such an address), GG_EEXIST (in use), GG_EINVAL (cannot
 * bind it), GG_EIO, GG_ENOMEM, GG_ELIMIT (more than 16 listeners).
 */
int ggn_host_listen(ggn_host *h, const gg_maddr *addr);

/*
 * The bound listen addresses (with their real ports, without /p2p), in listen order; returns
 * how many there are (may exceed cap; only cap are written).
 */
size_t ggn_host_listen_addrs(const ggn_host *h, gg_maddr *out, size_t cap);

/* ---- connections ----------------------------------------------------------------------------- */

/* Called once per dial/connect request: c is the upgraded connection (err GG_OK), or NULL. */
typedef void (*ggn_connect_cb)(ggn_host *h, ggn_conn *c, int err, void *ud);

/*
 * Dials addr: /ip4|ip6|dns|dns4|dns6/<host>/tcp/<port>[/p2p/<id>]. With /p2p/ the remote
 * must prove to be that peer (GG_EPEERID otherwise) and an upgraded connection to it is
 * reused. cb is called once, from the loop. Returns GG_OK (cb follows) or GG_EUNSUPPORTED
 * (not a TCP address), GG_EINVAL (our own peer id), GG_ENOMEM (cb is not called then).
 */
int ggn_host_dial(ggn_host *h, const gg_maddr *addr, ggn_connect_cb cb, void *ud);

/*
 * Connects to peer: reuses an upgraded connection, joins a dial in progress, or dials the
 * peer store's addresses for it one after the other. GG_OK (cb follows), GG_EINVAL (self),
 * GG_ENOMEM. cb gets GG_EUNREACHABLE when the store has no address that works.
 */
int ggn_host_connect(ggn_host *h, const gg_peerid *peer, ggn_connect_cb cb, void *ud);

/* The most recent upgraded connection to peer, or NULL. */
ggn_conn *ggn_host_conn_to(const ggn_host *h, const gg_peerid *peer);

/* Connections in any state / upgraded ones. */
size_t ggn_host_conn_count(const ggn_host *h);
size_t ggn_host_conn_count_open(const ggn_host *h);
/* Upgraded connections that ended, by cause, since the host started: closed by this host
 * (trimmed: by the connection manager; local: by a service or the application), by the peer
 * (a GoAway or the socket's end), or on an error (timeouts, keepalive, protocol errors). */
typedef struct ggn_host_closes {
  uint64_t trimmed, local, peer, error;
} ggn_host_closes;
void ggn_host_get_closes(const ggn_host *h, ggn_host_closes *out);

/* The connection manager's high-water mark (settings.conn_high_water after defaults): a
 * service that opens optional connections stops doing so there. */
size_t ggn_host_conn_high_water(const ggn_host *h);

/* Closes c (a GoAway, then the socket once flushed). Its streams end with GG_ECLOSED and
 * on_conn_down reports GG_OK, from the loop. */
void ggn_conn_close(ggn_conn *c);

/* Exempts c from trimming by the connection manager (1) or not (0). */
void ggn_conn_protect(ggn_conn *c, int protect);

const gg_peerid *ggn_conn_peer(const ggn_conn *c);
ggn_host *ggn_conn_host(const ggn_conn *c);
int ggn_conn_outbound(const ggn_conn *c);
/* 1 when the muxer was chosen through the Noise extension, 0 via multistream-select. */
int ggn_conn_muxer_via_noise(const ggn_conn *c);
/* The remote's address (/ip4|ip6/<a>/tcp/<port>), GG_EIO when unknown. */
int ggn_conn_remote_addr(const ggn_conn *c, gg_maddr *out);
/* Open streams on c (all states). */
size_t ggn_conn_stream_count(const ggn_conn *c);
/* The last Yamux ping round trip, GG_TS_UNSET before the first. */
gg_ts ggn_conn_rtt(const ggn_conn *c);

/* ---- protocol handlers ---------------------------------------------------------------------- */

/*
 * Serves protocol name: on_stream(s, ud) is called for every inbound stream that agreed on
 * it; the handler installs its callbacks with ggn_stream_set_callbacks() (or resets s).
 * The name (1..1024 bytes, no '\n') is copied; registering it again replaces the handler.
 * GG_OK, GG_EINVAL, GG_ENOMEM, GG_ELIMIT (more than 256 protocols).
 */
int ggn_host_handle(ggn_host *h, const char *name, void (*on_stream)(ggn_stream *s, void *ud),
                    void *ud);

/* Stops serving name (streams already handed out are not affected). GG_OK or GG_ENOTFOUND. */
int ggn_host_unhandle(ggn_host *h, const char *name);

/* The protocols served, in registration order; returns the count (only cap are written).
 * Pointers are valid until the registry changes. */
size_t ggn_host_protocols(const ggn_host *h, const char **out, size_t cap);

/* ---- streams ----------------------------------------------------------------------------------- */

/*
 * Stream callbacks, all optional. They run from the loop. on_close is the last callback of
 * every stream handed to the application, exactly once; the stream is freed after it.
 */
typedef struct ggn_stream_callbacks {
  /* Bytes arrived; p is borrowed for the call. Not called while paused. */
  void (*on_data)(ggn_stream *s, const uint8_t *p, size_t n, void *ud);
  /* A message arrived (after ggn_stream_read_msgs); m is borrowed for the call. */
  void (*on_msg)(ggn_stream *s, const uint8_t *m, size_t n, void *ud);
  /* The remote closed its write side: nothing more will arrive. */
  void (*on_eof)(ggn_stream *s, void *ud);
  /* ggn_stream_write returned 1 and the queued bytes have now been taken by Yamux. */
  void (*on_writable)(ggn_stream *s, void *ud);
  /* The stream is gone: GG_OK (both sides closed and everything was read), GG_ERESET (the
   * remote reset it), GG_ECANCELED (we reset it), GG_ECLOSED or the connection's error (the
   * connection went down), GG_ETIMEDOUT (deadline), or the error that made the host reset it
   * (GG_ETOOBIG: a message over the cap; GG_EPROTO: EOF inside a message). */
  void (*on_close)(ggn_stream *s, int err, void *ud);
} ggn_stream_callbacks;

/* Called once per open request: s is the negotiated stream (err GG_OK), else s is NULL. */
typedef void (*ggn_open_cb)(ggn_stream *s, int err, void *ud);

/*
 * Opens a stream to peer (connecting first if needed, see ggn_host_connect) and negotiates
 * the first of protos[0..n) the remote supports (copied). When the peer announced one of
 * them through identify, only the first such one is proposed and the stream is handed over
 * without waiting for the answer (optimistic selection, as go-libp2p): what the opener
 * writes follows the proposal at once; the answer is checked when it arrives, and a refusal
 * ends the stream with GG_ENOPROTO (on_close) before any remote byte reaches on_data. cb(s, GG_OK, ud) hands over the
 * stream with ud as its user data: install callbacks there. Failures: the dial's errors,
 * GG_ENOPROTO, GG_ETIMEDOUT (negotiate_timeout), GG_ELIMIT (stream limit), GG_ECLOSED.
 * Returns GG_OK (cb follows), GG_EINVAL (no/invalid protocol names, self), GG_ENOMEM.
 */
int ggn_host_open_stream(ggn_host *h, const gg_peerid *peer, const char *const *protos,
                         size_t n, ggn_open_cb cb, void *ud);

/* Flags of ggn_host_open_stream_ex. GGN_OPEN_OPTIMISTIC: when the peer has not been identified
 * yet (typically: the connection is being set up for this very stream), propose protos[0]
 * optimistically anyway, saving the round trip of identify or of a full negotiation. For
 * callers that know the peer serves it, e.g. Kademlia requests to DHT servers learned from
 * other servers' replies. Once identify has listed the peer's protocols, they decide. */
enum { GGN_OPEN_OPTIMISTIC = 1 };

/* ggn_host_open_stream with flags (GGN_OPEN_*). */
int ggn_host_open_stream_ex(ggn_host *h, const gg_peerid *peer, const char *const *protos,
                            size_t n, unsigned flags, ggn_open_cb cb, void *ud);

/* As ggn_host_open_stream on a given upgraded connection. GG_ECLOSED when c is closing. */
int ggn_conn_open_stream(ggn_conn *c, const char *const *protos, size_t n, ggn_open_cb cb,
                         void *ud);

/* Installs callbacks and user data (cb copied; NULL clears them). */
void ggn_stream_set_callbacks(ggn_stream *s, const ggn_stream_callbacks *cb, void *ud);
void *ggn_stream_ud(const ggn_stream *s);
void ggn_stream_set_ud(ggn_stream *s, void *ud);

/*
 * Writes n bytes (copied). Returns 0 when more may be written at once, 1 when they were
 * queued above what Yamux could take now (wait for on_writable before writing more, or the
 * queue grows to its cap), GG_ELIMIT (nothing written: the queue would exceed
 * stream_write_buffer), GG_ESTATE (write side closed), GG_ECLOSED (stream or connection gone).
 */
int ggn_stream_write(ggn_stream *s, const void *p, size_t n);

/* Writes one varint-length-prefixed message (include/ggen/lpm.h framing). As
 * ggn_stream_write, plus GG_ETOOBIG when n is over the stream's message cap. */
int ggn_stream_write_msg(ggn_stream *s, const void *m, size_t n);

/*
 * From now on, received bytes are split into varint-length-prefixed messages of at most max
 * bytes (0: the host's max_msg_size) and delivered to on_msg instead of on_data. A message
 * over max, a malformed prefix or an EOF inside a message resets the stream (logged) and
 * on_close reports GG_ETOOBIG / GG_EPROTO. GG_OK or GG_ENOMEM.
 */
int ggn_stream_read_msgs(ggn_stream *s, size_t max);

/* Half-closes: a FIN follows the queued bytes. Reading goes on until the remote's EOF.
 * GG_OK or GG_ESTATE (already closed or reset). */
int ggn_stream_close_write(ggn_stream *s);

/* Resets the stream (RST; queued bytes dropped). on_close(GG_ECANCELED) follows, from the
 * loop. Idempotent. */
void ggn_stream_reset(ggn_stream *s);

/* Stops (1) or resumes (0) delivery of received data; while paused the remote's window is
 * not reopened, so it cannot send more than one window. */
void ggn_stream_pause(ggn_stream *s, int paused);

/* Resets the stream with GG_ETIMEDOUT at time deadline (uv_hrtime ns; GG_TS_UNSET clears). */
void ggn_stream_set_deadline(ggn_stream *s, gg_ts deadline);

const char *ggn_stream_protocol(const ggn_stream *s);
ggn_conn *ggn_stream_conn(const ggn_stream *s);
const gg_peerid *ggn_stream_peer(const ggn_stream *s);
int ggn_stream_outbound(const ggn_stream *s);

/* ---- ping ---------------------------------------------------------------------------------- */

/* One ping result: rtt in ns when err is GG_OK. */
typedef void (*ggn_ping_cb)(ggn_host *h, const gg_peerid *peer, int err, gg_ts rtt, void *ud);

/* Pings peer once over /ipfs/ping/1.0.0 (connecting if needed; one stream per ping, as js).
 * GG_OK (cb follows), GG_EINVAL, GG_ENOMEM. */
int ggn_host_ping(ggn_host *h, const gg_peerid *peer, ggn_ping_cb cb, void *ud);

/* ---- peer store -------------------------------------------------------------------------- */

/* Adds an address (transport part; a trailing /p2p/ is stripped) for peer. GG_OK, GG_EINVAL,
 * GG_ENOMEM. Older addresses are dropped beyond peerstore_max_addrs. */
int ggn_host_add_addr(ggn_host *h, const gg_peerid *peer, const gg_maddr *addr);

/* Copies up to cap addresses of peer into out; returns how many the store has. */
size_t ggn_host_peer_addrs(const ggn_host *h, const gg_peerid *peer, gg_maddr *out, size_t cap);

/* Protocols peer announced through identify; pointers valid until the store changes. */
size_t ggn_host_peer_protocols(const ggn_host *h, const gg_peerid *peer, const char **out,
                               size_t cap);

/* 1 when peer announced protocol name, else 0. */
int ggn_host_peer_supports(const ggn_host *h, const gg_peerid *peer, const char *name);

/* Agent and protocol version peer announced (NULL when unknown); valid until the store changes. */
const char *ggn_host_peer_agent(const ggn_host *h, const gg_peerid *peer);
const char *ggn_host_peer_protocol_version(const ggn_host *h, const gg_peerid *peer);

/* Peers in the store. */
size_t ggn_host_peer_count(const ggn_host *h);

#endif
