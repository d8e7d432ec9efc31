/*
 * Internals of the host (include/ggen/host.h), shared by src/net/host.c (host, listeners,
 * dials, connection manager), conn.c (upgrade pipeline and I/O pump), stream.c (streams and
 * multistream-select per stream), services.c (identify, ping) and peerstore.c.
 *
 * Ownership and lifetimes:
 *  - the host owns its connections (a list, oldest first) and its listeners;
 *  - a connection owns its socket, its core sessions and its streams; it is freed in the
 *    socket's on_closed, i.e. from a libuv close callback on a clean stack, never inside a
 *    core call: closing only marks it and queues the final flush;
 *  - a stream is freed after Yamux reports its end (or when its connection is freed); user
 *    callbacks see it from the handover (open callback / handler) to on_close.
 * Output is batched: anything that may produce bytes marks the connection dirty, and one
 * idle handle per host flushes every dirty connection once per loop iteration.
 */
#ifndef GGN_HOST_INT_H
#define GGN_HOST_INT_H

#include "ggen/host.h"
#include "ggen/lpm.h"
#include "ggen/map.h"
#include "ggen/mss.h"
#include "ggen/noise.h"
#include "ggen/ping.h"
#include "tcp_int.h"

#define GGN_MAX_LISTENERS 16
#define GGN_MAX_PROTOCOLS 256
#define GGN_MAX_LISTEN_ADDRS 64
#define GGN_MAX_OBSERVERS 8

#define container_of(p, T, m) ((T *)((char *)(p) - offsetof(T, m)))

/* ---- peer store ---------------------------------------------------------------------------- */

typedef struct ggn_paddr {
  uint16_t len;
  uint8_t b[];
} ggn_paddr;

typedef struct ggn_peer {
  gg_peerid id;
  ggn_paddr **addrs; /* newest last */
  uint32_t naddrs;
  char **protos;
  uint32_t nprotos;
  char *agent;
  char *pver;
  gg_ts last_seen;
  uint32_t nconns; /* upgraded connections: such a peer is never evicted */
} ggn_peer;

typedef struct ggn_pstore {
  gg_map map; /* peer id bytes -> ggn_peer * */
  uint32_t max_peers, max_addrs, max_protos;
  const gg_mem *mem;
} ggn_pstore;

void ggn_pstore_init(ggn_pstore *ps, const gg_mem *mem, const gg_rand *r, uint32_t max_peers,
                     uint32_t max_addrs, uint32_t max_protos);
void ggn_pstore_free(ggn_pstore *ps);
ggn_peer *ggn_pstore_get(const ggn_pstore *ps, const gg_peerid *id);
/* Finds or adds peer (evicting the least recently seen peer without connections when full).
 * NULL on no memory or when the store is full of connected peers. */
ggn_peer *ggn_pstore_ensure(ggn_pstore *ps, const gg_peerid *id, gg_ts now);
/* Adds a binary multiaddr (moved to the newest position when known). */
int ggn_pstore_add_addr(ggn_pstore *ps, ggn_peer *p, const uint8_t *b, size_t len);
/* Replaces listen addresses, protocols and versions with an identify message's. */
int ggn_pstore_set_identify(ggn_pstore *ps, ggn_peer *p, const ggp_identify_msg *m);

/* ---- streams ----------------------------------------------------------------------------- */

enum { ST_NEGOTIATING = 0, ST_OPEN, ST_ENDED };

struct ggn_stream {
  struct ggn_conn *c;
  struct ggn_stream *prev, *next; /* the connection's list */
  uint32_t id;
  uint8_t state;
  unsigned outbound : 1, handed : 1, local_closed : 1, fin_pending : 1, remote_fin : 1,
      eof_pending : 1, reset : 1, paused : 1, want_writable : 1, rq_pending : 1,
      in_deliver : 1, lazy : 1; /* lazy: proposed optimistically (one protocol) */
  int err;               /* why the host reset it (reported by on_close) */
  ggp_mss *mss;          /* during negotiation; for a lazy stream until the answer came */
  char *protos_blob;     /* outbound: copy of the proposals (names and pointer array) */
  const char *const *protos;
  size_t nprotos;
  const char *proto;     /* agreed protocol (registry- or blob-owned) */
  ggn_open_cb open_cb;   /* outbound, until handed */
  void *open_ud;
  ggn_stream_callbacks cbs;
  void *ud;
  gg_buf wq;             /* bytes Yamux has not taken yet */
  gg_buf rq;             /* bytes received while paused */
  gg_lpm *lpm;           /* message mode */
  size_t msg_max;
  gg_ts deadline;
};

/* ---- connections --------------------------------------------------------------------------- */

enum { C_DIALING = 0, C_SECNEG, C_NOISE, C_MUXNEG, C_OPEN, C_CLOSING };

typedef struct ggn_dialreq {
  struct ggn_dialreq *next;
  ggn_connect_cb cb;
  void *ud;
} ggn_dialreq;

struct ggn_conn {
  ggn_sock sock;
  ggn_host *h;
  struct ggn_conn *prev, *next;   /* host list, oldest first */
  struct ggn_conn *dirty_next;
  uint8_t state;
  unsigned outbound : 1, via_noise : 1, dirty : 1, pending_hs : 1, up_reported : 1,
      has_expected : 1, protected_ : 1, in_yamux : 1, close_started : 1, rq_streams : 1;
  int close_err;                 /* why it is closing (GG_OK: we chose to) */
  const char *close_stage;       /* for the log line */
  ggp_mss *mss;
  ggp_noise *noise;
  ggp_yamux *yamux;
  gg_peerid peer;                /* expected (outbound with /p2p) or verified */
  struct sockaddr_in6 raddr;     /* remote address (sockaddr_in inside for ip4) */
  gg_ts created, upgraded, deadline, stream_deadline;
  ggn_stream *streams;
  uint32_t nstreams, nuser_streams;
  ggn_dialreq *waiters;          /* dial requests to call when upgraded or failed */
  struct ggn_dialjob *job;       /* the connect job that made this dial, if any */
};

/* ---- host ---------------------------------------------------------------------------------- */

typedef struct ggn_proto {
  char *name;
  size_t len;
  void (*on_stream)(ggn_stream *s, void *ud);
  void *ud;
  int removed;
} ggn_proto;

/* A connect request by peer id that walks through the peer's addresses. */
typedef struct ggn_dialjob {
  struct ggn_dialjob *prev, *next;
  gg_peerid peer;
  uint32_t next_addr; /* index into the addresses snapshot */
  uint32_t naddrs;
  gg_maddr *addrs;
  ggn_dialreq *waiters;
  int last_err;
} ggn_dialjob;

/* A deferred callback (a result to report from the loop, not from inside the call). */
typedef struct ggn_deferred {
  struct ggn_deferred *next;
  ggn_connect_cb connect_cb; /* one of the two */
  ggn_open_cb open_cb;
  ggn_conn *c;
  int err;
  void *ud;
} ggn_deferred;

typedef struct ggn_dns ggn_dns; /* a DNS resolution for a dial (host.c) */

/* A service watching connection and identify events (ggn_host_observe). */
typedef struct ggn_observer {
  ggn_host_callbacks cb;
  void *ud;
  int used;
} ggn_observer;

struct ggn_host {
  uv_loop_t *loop;
  ggn_host_settings st;
  ggn_host_callbacks cb;
  void *ud;
  ggn_observer obs[GGN_MAX_OBSERVERS]; /* slots; a removed one is reused, never moved */
  gg_keypair key;
  gg_peerid id;
  uint8_t pubkey_pb[GG_PUBKEY_PB_ED25519];
  char *agent, *pver;
  ggn_log log;
  const gg_rand *rand;
  const gg_mem *mem;
  ggn_tcp tcp;
  ggp_noise_local *noise_local;
  ggn_listener *listeners[GGN_MAX_LISTENERS];
  uint32_t nlisteners;
  gg_maddr *laddrs; /* announced listen addresses (unspecified ones expanded) */
  uint32_t nladdrs;
  gg_maddr *baddrs; /* bound addresses, as ggn_host_listen_addrs reports them */
  uint32_t nbaddrs;
  ggn_proto protos[GGN_MAX_PROTOCOLS];
  uint32_t nprotos;
  ggn_conn *conns, *conns_tail;
  uint32_t nconns, nopen, npending_in;
  ggn_host_closes closes;
  ggn_conn *dirty;
  ggn_dialjob *jobs;
  ggn_dns *dns;   /* resolutions in flight */
  ggn_deferred *deferred;
  uv_idle_t idle;
  int idle_on;
  uv_tcp_t reject;  /* drops a connection we cannot allocate for */
  int reject_busy;
  ggn_pstore ps;
  gg_buf plain;   /* decrypted input, shared: input processing is synchronous */
  gg_buf tmp;     /* small control output (multistream-select replies) */
  int closing;
  int nclosing;   /* handles and connections still closing */
  void (*on_closed)(void *ud);
  void *closed_ud;
};

/* host.c */
void ggn_host_mark_dirty(ggn_conn *c);
/* Reports an event to the host's callbacks, then to every observer. */
void ggn_host_notify_up(ggn_host *h, ggn_conn *c);
void ggn_host_notify_down(ggn_host *h, ggn_conn *c, int err);
void ggn_host_notify_identify(ggn_host *h, ggn_conn *c, const ggp_identify_msg *m);
const ggn_proto *ggn_host_find_proto(const ggn_host *h, const char *name, size_t len);
void ggn_host_conn_upgraded(ggn_conn *c);
void ggn_host_conn_freed(ggn_conn *c);
/* Reports a connect result / an open failure from the next loop iteration. Returns GG_ENOMEM
 * when it cannot (the caller then fails synchronously). */
int ggn_host_defer_connect(ggn_host *h, ggn_connect_cb cb, ggn_conn *c, int err, void *ud);
int ggn_host_defer_open(ggn_host *h, ggn_open_cb cb, int err, void *ud);
/* Forgets deferred results about c (it is being freed). */
void ggn_host_defer_forget(ggn_host *h, ggn_conn *c);

/* conn.c */
extern const ggn_tcp_cbs ggn_conn_tcp_cbs;
/* Starts the upgrade of an accepted (outbound 0) or connected (outbound 1) socket. */
void ggn_conn_start(ggn_conn *c);
/* Begins closing c: err GG_OK = our choice; stage names the phase for the log line. */
void ggn_conn_fail(ggn_conn *c, int err, const char *stage);
/* Writes pending Yamux output and runs the closing sequence; called by the idle flush. */
void ggn_conn_flush(ggn_conn *c);
/* Re-arms the connection's single timer from its deadlines. */
void ggn_conn_rearm(ggn_conn *c);
/* Sends plain bytes on the secured channel (encrypting them). */
int ggn_conn_send_secure(ggn_conn *c, const uint8_t *p, size_t n);

/* stream.c */
extern const ggp_yamux_callbacks ggn_yamux_cbs;
void ggn_streams_conn_down(ggn_conn *c, int err);
void ggn_streams_expire(ggn_conn *c, gg_ts now);
void ggn_streams_deliver_pending(ggn_conn *c);
/* Opens an outbound stream on an upgraded connection for an internal user (services). */
int ggn_stream_open_internal(ggn_conn *c, const char *const *protos, size_t n,
                             unsigned flags, ggn_open_cb cb, void *ud);

/* services.c */
int ggn_services_register(ggn_host *h);
void ggn_services_conn_up(ggn_conn *c);

#endif
