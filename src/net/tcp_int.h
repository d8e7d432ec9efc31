/*
 * TCP transport with user-space latency injection (internal to src/net).
 *
 * A ggn_tcp is one node's transport: its loop, callbacks, latency settings and a read buffer
 * shared by all its sockets (libuv reads one stream at a time: alloc_cb, read, read_cb, so
 * the buffer is never in use twice and an idle connection holds no read buffer).
 * A ggn_sock is one connection; its owner embeds it (the host's connection object) and finds
 * itself again with container_of. Every socket has exactly one timer, used for the owner's
 * deadline (dial/handshake timeouts, protocol-core expiries), for delayed delivery of received
 * chunks and for the delayed completion of a dial: latency injection costs no extra handle.
 *
 * Lifecycle: ggn_sock_dial() / ggn_sock_accept() -> on_connect (dial) -> on_read* ->
 * on_eof -> ggn_sock_close() -> on_closed (the last callback; the owner may free then).
 * ggn_sock_close() may be called from any callback; afterwards no callback but on_closed
 * arrives. Callbacks are never called from inside the ggn_sock_* call that caused them,
 * except on_drain, which is only called from a libuv write completion.
 *
 * Writes take ownership of a block from ggn_sock_wbuf(): one allocation holds the libuv
 * request and the bytes; it is tried with uv_try_write first and queued only when the
 * kernel does not take it all.
 */
#ifndef GGN_TCP_INT_H
#define GGN_TCP_INT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "ggen/log.h"
#include "ggen/mem.h"
#include "ggen/netsim.h"
#include "ggen/rand.h"
#include "ggen/time.h"

typedef struct ggn_tcp ggn_tcp;
typedef struct ggn_sock ggn_sock;
typedef struct ggn_listener ggn_listener;

typedef struct ggn_tcp_cbs {
  /* A dial finished: GG_OK, GG_EIO (refused, unreachable). A dropped dial never calls it:
   * the owner's deadline fires instead. */
  void (*on_connect)(ggn_sock *s, int err);
  /* A connection is waiting on l: the owner must call ggn_sock_accept() (and may then close
   * the socket at once to refuse it). */
  void (*on_accept)(ggn_listener *l);
  /* Bytes received (after the injected delay). p is valid only during the call. */
  void (*on_read)(ggn_sock *s, const uint8_t *p, size_t n);
  /* The remote ended the stream (GG_ECLOSED) or the socket failed (GG_EIO). Called once. */
  void (*on_eof)(ggn_sock *s, int err);
  /* The write queue fell below the low-water mark after ggn_sock_write returned 1. */
  void (*on_drain)(ggn_sock *s);
  /* The deadline set with ggn_sock_set_deadline() was reached (it is cleared first). */
  void (*on_deadline)(ggn_sock *s);
  /* Every handle is closed; the owner may free the memory holding s. */
  void (*on_closed)(ggn_sock *s);
} ggn_tcp_cbs;

struct ggn_tcp {
  uv_loop_t *loop;
  ggn_tcp_cbs cbs;
  ggn_latency lat;
  const gg_rand *rand;
  const gg_mem *mem;
  const ggn_log *log;
  uint8_t *rbuf;       /* shared read buffer, allocated on first read */
  size_t rbuf_size;
  size_t write_high;   /* queued write bytes at which ggn_sock_write reports "full" */
  size_t write_low;    /* ... and below which on_drain is called */
  size_t delay_cap;    /* delayed bytes held per socket before reading pauses */
};

/* A listening socket, allocated by ggn_listener_open and freed after its close. */
struct ggn_listener {
  ggn_tcp *tcp;
  uv_tcp_t h;
  void *ud; /* the owner's */
  void (*on_closed)(ggn_listener *l);
};

struct ggn_dchunk; /* a delayed received chunk (tcp.c) */

struct ggn_sock {
  ggn_tcp *tcp;
  uv_tcp_t h;
  uv_timer_t timer;
  uv_connect_t creq;
  uv_shutdown_t sreq;
  uint64_t delay_ns;        /* this connection's one-way delay */
  struct ggn_dchunk *qhead; /* delayed chunks, FIFO */
  struct ggn_dchunk *qtail;
  size_t qbytes;
  gg_ts deadline;           /* owner's deadline, GG_TS_UNSET when none */
  gg_ts connect_at;         /* delayed dial completion, GG_TS_UNSET when none */
  gg_ts timer_at;           /* when the timer is armed for, GG_TS_UNSET when stopped */
  int connect_err;          /* result to report at connect_at */
  uint8_t nopen;            /* handles not yet closed */
  unsigned connected : 1, reading : 1, paused : 1, qfull : 1, rdone : 1, eof : 1, closing : 1,
      want_drain : 1, dialing : 1;
};

/* Initialises a transport on loop. lat may be NULL (no injection); rand NULL = system;
 * log may be NULL. Allocates nothing. */
void ggn_tcp_init(ggn_tcp *t, uv_loop_t *loop, const ggn_tcp_cbs *cbs, const ggn_latency *lat,
                  const gg_rand *rand, const gg_mem *mem, const ggn_log *log);

/* Frees the shared read buffer. Call after every socket and listener has closed. */
void ggn_tcp_free(ggn_tcp *t);

/* Binds and listens on addr (port 0 picks one; ip6 addresses are v6-only) and stores a new
 * listener in *out with ud. GG_EEXIST when the address is in use, GG_EINVAL when it cannot be
 * bound, GG_EIO/GG_ENOMEM otherwise; on failure nothing is left to close. */
int ggn_listener_open(ggn_tcp *t, const struct sockaddr *addr, int backlog, void *ud,
                      ggn_listener **out);

/* Writes the bound address (with the actual port) to out. GG_EIO on failure. */
int ggn_listener_addr(const ggn_listener *l, struct sockaddr_storage *out);

/* Stops listening; on_closed (may be NULL) is called when the handle is closed, after which
 * the listener is freed. */
void ggn_listener_close(ggn_listener *l, void (*on_closed)(ggn_listener *l));

/* Accepts the pending connection of l into s and starts reading. GG_EIO when the accept
 * failed (s is then closing: wait for on_closed). */
int ggn_sock_accept(ggn_tcp *t, ggn_listener *l, ggn_sock *s);

/* Starts a dial of addr. Never fails synchronously: errors arrive through on_connect (a
 * later loop iteration). A dropped dial (latency drop_dial) reports nothing. */
void ggn_sock_dial(ggn_tcp *t, ggn_sock *s, const struct sockaddr *addr);

/* Returns a block of cap writable bytes for ggn_sock_write (NULL when out of memory). */
uint8_t *ggn_sock_wbuf(ggn_sock *s, size_t cap);

/* Frees a block from ggn_sock_wbuf that will not be written. */
void ggn_sock_wbuf_free(ggn_sock *s, uint8_t *block);

/* Sends len bytes of a block from ggn_sock_wbuf and takes ownership of it (also on error).
 * Returns 0 when more may be written, 1 when the write queue is above the high-water mark
 * (wait for on_drain), GG_ECLOSED when the socket is closing or failed. */
int ggn_sock_write(ggn_sock *s, uint8_t *block, size_t len);

/* Copies len bytes and sends them (convenience for small writes). Same returns. */
int ggn_sock_write_copy(ggn_sock *s, const void *p, size_t len);

/* Bytes accepted by ggn_sock_write and not yet handed to the kernel. */
size_t ggn_sock_write_queued(const ggn_sock *s);

/* Pauses (1) or resumes (0) delivery of received data to on_read (backpressure). */
void ggn_sock_pause(ggn_sock *s, int paused);

/* Sets the owner's deadline (uv_hrtime() nanoseconds; GG_TS_UNSET clears it). */
void ggn_sock_set_deadline(ggn_sock *s, gg_ts deadline);

/* Closes the socket. graceful: queued writes are flushed first (bounded by 2 s); else they
 * are dropped. on_closed follows. Idempotent. */
void ggn_sock_close(ggn_sock *s, int graceful);

/* Local or remote address of a connected socket. GG_EIO on failure. */
int ggn_sock_local_addr(const ggn_sock *s, struct sockaddr_storage *out);
int ggn_sock_remote_addr(const ggn_sock *s, struct sockaddr_storage *out);

/* Current time as the net layer uses it (uv_hrtime, ns). */
static inline gg_ts ggn_now(void) { return uv_hrtime(); }

#endif
