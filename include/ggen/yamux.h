/*
 * Yamux (`/yamux/1.0.0`) stream multiplexer as a core without I/O: one session object
 * multiplexes many bidirectional byte streams over one secured connection.
 *
 * Wire format (hashicorp/yamux spec.md, libp2p/specs yamux/README.md): every frame starts
 * with a 12-byte big-endian header: version (0), type (DATA 0, WINDOW_UPDATE 1, PING 2,
 * GO_AWAY 3), flags (SYN 1, ACK 2, FIN 4, RST 8), stream id, length. DATA carries `length`
 * payload bytes; for WINDOW_UPDATE the length is a window delta, for PING an opaque value,
 * for GO_AWAY an error code. The dialer (client) opens odd stream ids, the listener even.
 *
 * Usage (the host owns the socket, the clock and the Noise session):
 *   ggp_yamux_new(&y, &cb, &settings, is_client, mem, ud);
 *   on decrypted bytes:  rv = ggp_yamux_recv(y, in, len, now);   // any split is fine
 *   after any call:      if (ggp_yamux_want_send(y)) ggp_yamux_send(y, &out, now);
 *                        encrypt and write out; when out filled up to its limit, call
 *                        send() again once there is room (want_send stays 1)
 *                or, without copying DATA payloads: while ggp_yamux_send_pull(y, max, now,
 *                        &p, &n) gives n > 0, encrypt p[0..n) into the socket's block
 *   timers:              at ggp_yamux_expiry(y) call ggp_yamux_handle_expiry(y, now)
 *   streams:             ggp_yamux_open / write / close / reset / consume
 *   a fatal code from recv/send/handle_expiry: flush send() once more (it may hold a
 *   GoAway), then close the connection and ggp_yamux_del(y).
 *
 * Receiving is zero-copy: DATA payloads are handed to on_data straight from recv()'s input
 * (a frame split across recv calls is delivered in pieces; nothing is buffered but a partial
 * 12-byte header). The application reports processed bytes with ggp_yamux_consume(); only
 * then is the peer's window reopened, so the bytes an application may have to hold per
 * stream never exceed the window we advertised (a peer that sends more is a protocol error:
 * GG_EFLOWCTL and GoAway "protocol error").
 *
 * Sending: ggp_yamux_write() copies into a small per-stream buffer and accepts no more than
 * the peer's window allows, so everything accepted can go out on the next send(); when it
 * accepts less than offered, on_writable tells when to try again. send() copies the frames
 * into the caller's buffer; send_pull() hands them out in place (one copy fewer per byte).
 *
 * Stream lifetime: a stream exists from open() / an accepted on_stream_open until exactly one
 * on_stream_end: after both sides sent FIN and every received byte was consumed, or after a
 * reset from either side. We never reuse an id of ours. See docs/yamux.md for windows and limits.
 *
 * Callbacks run only inside recv(), send(), send_pull() and handle_expiry() (the stream calls
 * never call back; a stream they end is reported by the next of those). Callbacks may call
 * open/write/close/reset/consume/set_stream_ud/ping/goaway and the getters, but never
 * recv(), send(), send_pull() or handle_expiry() (they return GG_ESTATE then) nor del().
 */
#ifndef GGEN_YAMUX_H
#define GGEN_YAMUX_H

#include <stddef.h>
#include <stdint.h>

#include "ggen/buf.h"
#include "ggen/mem.h"
#include "ggen/time.h"

#define GGP_YAMUX_PROTOCOL_ID "/yamux/1.0.0"
#define GGP_YAMUX_HEADER_LEN 12
#define GGP_YAMUX_INITIAL_WINDOW (256u * 1024u) /* fixed by the spec */

/* GoAway codes (spec "Session termination"). */
enum {
  GGP_YAMUX_GOAWAY_NORMAL = 0,
  GGP_YAMUX_GOAWAY_PROTOCOL = 1,
  GGP_YAMUX_GOAWAY_INTERNAL = 2,
};

/* How a stream ended (on_stream_end). */
enum {
  GGP_YAMUX_END_FIN = 0,          /* both sides sent FIN and all received data was consumed */
  GGP_YAMUX_END_RESET_LOCAL = 1,  /* we reset it with ggp_yamux_reset() */
  GGP_YAMUX_END_RESET_REMOTE = 2, /* the peer reset it, or refused our SYN */
};

typedef struct ggp_yamux ggp_yamux;

typedef struct ggp_yamux_callbacks {
  /* The peer opened stream id. Return 0 to accept (an ACK is sent; *stream_ud may be set and
   * is passed to every later callback of the stream) or any nonzero value to refuse (RST).
   * NULL: every stream is refused. Also refused without asking: over max_streams_in, after we
   * sent GoAway, or when the stream cannot be allocated. */
  int (*on_stream_open)(ggp_yamux *y, uint32_t id, void **stream_ud, void *ud);
  /* len bytes of stream id arrived. data is borrowed for the call (it points into recv()'s
   * input). Call ggp_yamux_consume() once they are processed, now or later. Return 0, or a
   * negative GG_E* code to abort the session (recv returns it, GoAway "internal error"). */
  int (*on_data)(ggp_yamux *y, uint32_t id, const uint8_t *data, size_t len, void *stream_ud,
                 void *ud);
  /* The peer half-closed stream id: no more data will arrive on it. */
  void (*on_fin)(ggp_yamux *y, uint32_t id, void *stream_ud, void *ud);
  /* ggp_yamux_write() on stream id accepted less than offered before and would now accept
   * more (the peer opened its window, or at least half our send buffer drained). */
  void (*on_writable)(ggp_yamux *y, uint32_t id, void *stream_ud, void *ud);
  /* Stream id is gone (how: GGP_YAMUX_END_*); its id no longer names anything and every call
   * with it returns GG_ENOTFOUND. Called once per stream, never from ggp_yamux_del(). */
  void (*on_stream_end)(ggp_yamux *y, uint32_t id, int how, void *stream_ud, void *ud);
  /* The peer sent GoAway with code (GGP_YAMUX_GOAWAY_*, or another value). No new streams
   * may be opened; js-libp2p drops all its streams at that point, so a host normally closes
   * the connection once its output is flushed. */
  void (*on_goaway)(ggp_yamux *y, uint32_t code, void *ud);
  /* Our ping was answered after rtt nanoseconds (measured from the send() that emitted it). */
  void (*on_ping_rtt)(ggp_yamux *y, gg_ts rtt, void *ud);
} ggp_yamux_callbacks;

/* Every field 0 means the default shown. */
typedef struct ggp_yamux_settings {
  uint32_t initial_window;  /* receive window per stream, >= 256 KiB (= 256 KiB); a larger one is
                               advertised with the SYN/ACK */
  uint32_t max_window;      /* receive window growth stops here (= 16 MiB, >= initial_window) */
  uint32_t max_frame_data;  /* largest DATA payload we send (= 65524: 64 KiB frames, as js) */
  uint32_t max_streams_in;  /* streams the peer may have open at once (= 1000, as js) */
  uint32_t max_streams_out; /* streams we may have open at once (= 1000, as js) */
  uint32_t max_ack_backlog; /* our streams the peer has not ACKed yet (= 256, libp2p spec) */
  uint32_t send_buffer;     /* bytes ggp_yamux_write() keeps per stream (= 256 KiB) */
  uint64_t window_budget;   /* sum over streams of window growth above initial_window
                               (= 64 MiB); bounds what the peer may make the application buffer:
                               streams * initial_window + window_budget */
  uint32_t max_ctrl_queue;  /* frames the peer made us owe it (pongs, refusals) before send()
                               drains them (= 1024); more is GG_ERATE */
  uint32_t max_pongs;       /* ping answers among them (= 16; peers keep one ping in flight):
                               pings beyond go unanswered, as go-yamux drops them */
  gg_ts keepalive;          /* ping this often (= 30 s, as js); GG_TS_UNSET: never */
  gg_ts ping_timeout;       /* our ping unanswered this long ends the session (= 10 s) */
  int no_initial_ping;      /* 1: do not ping at start (js pings at once to learn the RTT) */
} ggp_yamux_settings;

/* Stream state for hosts, tests and debugging (ggp_yamux_stream_get_info). */
typedef struct ggp_yamux_stream_info {
  int outbound;         /* 1 when we opened it */
  int acked;            /* outbound: the peer ACKed it */
  int local_fin;        /* we called close() (FIN sent or queued) */
  int remote_fin;       /* the peer sent FIN */
  uint32_t recv_window; /* current receive window (grows up to max_window) */
  uint64_t recv_avail;  /* bytes the peer may still send before a window update */
  uint64_t unconsumed;  /* bytes delivered to on_data and not consumed yet */
  uint64_t send_credit; /* bytes write() may still accept by the peer's window */
  size_t send_buffered; /* bytes accepted by write() and not sent yet */
} ggp_yamux_stream_info;

typedef struct ggp_yamux_info {
  uint32_t streams_in, streams_out; /* open streams the peer / we opened */
  gg_ts rtt;                        /* last ping round trip, GG_TS_UNSET before the first */
  int goaway_sent, goaway_received; /* 1 once a GoAway left / arrived */
  uint32_t goaway_code;             /* the received code when goaway_received */
  uint64_t window_grown;            /* current use of settings.window_budget */
} ggp_yamux_info;

/*
 * Creates a session. is_client: 1 on the dialer side (odd stream ids), 0 on the listener.
 * cb and st may be NULL (no callbacks / defaults). The session queues its initial ping
 * unless st->no_initial_ping.
 * Returns GG_OK, GG_EINVAL (initial_window < 256 KiB, max_window < initial_window,
 * max_frame_data < 1024 or over 16 MiB) or GG_ENOMEM; on failure *py is untouched.
 */
int ggp_yamux_new(ggp_yamux **py, const ggp_yamux_callbacks *cb, const ggp_yamux_settings *st,
                  int is_client, const gg_mem *mem, void *ud);

/* Frees the session and every stream in it without calling callbacks (NULL is fine). */
void ggp_yamux_del(ggp_yamux *y);

/*
 * Feeds len decrypted bytes received at time ts. Frames may be split anywhere; callbacks run
 * from here. Returns GG_OK or a fatal code, after which the session is dead (every later
 * recv/send returns it and send() emits only the GoAway that explains it):
 *   GG_EPROTO    the peer broke the protocol (bad version or type, a frame on the wrong
 *                stream id, a SYN with our parity or on one of our streams, data after FIN, an
 *                unrequested or mismatched ping answer, as js treats it); GoAway "protocol"
 *   GG_EFLOWCTL  the peer sent more than our window; GoAway "protocol error"
 *   GG_ERATE     the peer made us queue more than max_ctrl_queue frames (refusals)
 *                (GoAway "protocol error")
 *   GG_ENOMEM, or the negative code an on_data callback returned (GoAway "internal error").
 */
int ggp_yamux_recv(ggp_yamux *y, const uint8_t *in, size_t len, gg_ts ts);

/*
 * Appends pending frames to out at time ts: first ping answers and refusals, our ping,
 * ACKs/window updates/FINs/RSTs, then DATA from streams in turn (at most max_frame_data
 * each, so streams interleave), then a GoAway we were asked for. Stops early, without
 * error, when the next frame would not fit under out->limit (a DATA frame is cut to fit);
 * call again while ggp_yamux_want_send(). Callbacks on_writable and on_stream_end may run.
 * Returns GG_OK, GG_ENOMEM (out could not grow; nothing is lost) or the session's fatal code
 * once the GoAway explaining it has been written.
 */
int ggp_yamux_send(ggp_yamux *y, gg_buf *out, gg_ts ts);

/*
 * The pull form of send(), for hosts that encrypt straight from the session's memory: gives in
 * *p, *n the next run of output bytes, at most max (which should be at least 4 KiB; under 13
 * nothing fits), in the order send() would write them. A run is either a batch of control frames
 * (ping answers, window updates, SYN/ACK/FIN/RST, our ping, GoAway) or exactly one DATA frame
 * whose header sits right in front of its payload inside the stream's send buffer, so a
 * payload is never copied between write() and the cipher. With max = GGP_NOISE_PLAIN_MAX each
 * run fits one Noise message. *n is 0 when nothing is pending.
 * The bytes count as sent once returned: the caller must write them out, and must be done with
 * them before calling any other function on y (the run stays valid until then). Callbacks for
 * what a pull drained or ended (on_writable, on_stream_end) run at the start of the next pull,
 * when the run is no longer in use; want_send() stays 1 until they have run, so a host that
 * pulls until *n is 0 runs them all.
 * Returns GG_OK, GG_ESTATE (called from a callback), GG_ENOMEM (nothing taken) or the session's
 * fatal code (then *n > 0 once: the GoAway that explains it).
 */
int ggp_yamux_send_pull(ggp_yamux *y, size_t max, gg_ts ts, const uint8_t **p, size_t *n);

/* 1 when send() or send_pull() has something to write. */
int ggp_yamux_want_send(const ggp_yamux *y);

/*
 * Opens a stream: *id gets its (odd on the client, even on the server) id; the SYN goes out
 * with the next send() (on a WINDOW_UPDATE, or on the first DATA if write() came first).
 * Data may be written at once. Returns GG_OK, GG_ECLOSED (a GoAway was sent or received, or
 * the session failed), GG_ELIMIT (max_streams_out open, max_ack_backlog unacknowledged, or
 * ids exhausted) or GG_ENOMEM.
 */
int ggp_yamux_open(ggp_yamux *y, uint32_t *id, void *stream_ud);

/*
 * Queues up to len bytes of data on stream id and returns how many were accepted (0 .. len):
 * no more than the peer's window and the free part of the stream's send buffer. When less
 * than len, on_writable follows once more would be accepted. Returns a negative code instead:
 * GG_ENOTFOUND (no such stream), GG_ESTATE (we already closed or reset it) or GG_ENOMEM
 * (nothing accepted), or the session's fatal code.
 */
int64_t ggp_yamux_write(ggp_yamux *y, uint32_t id, const void *data, size_t len);

/* How many bytes ggp_yamux_write() would accept now on stream id (0 when none or unknown). */
size_t ggp_yamux_writable(const ggp_yamux *y, uint32_t id);

/*
 * Half-closes stream id: a FIN goes out after the data already accepted. Receiving goes on
 * until the peer's FIN. Returns GG_OK, GG_ENOTFOUND or GG_ESTATE (already closed or reset).
 */
int ggp_yamux_close(ggp_yamux *y, uint32_t id);

/*
 * Resets stream id: unsent data is dropped, an RST goes out (nothing when the SYN had not
 * left yet) and the stream ends with GGP_YAMUX_END_RESET_LOCAL. Data still arriving for it
 * is discarded. Returns GG_OK or GG_ENOTFOUND (also when it was already reset).
 */
int ggp_yamux_reset(ggp_yamux *y, uint32_t id);

/*
 * Tells that the application processed n more bytes delivered on stream id: they leave its
 * receive buffer and a window update is queued once half the window is free again (growing
 * the window when this happens quickly, see docs/yamux.md). A stream whose both sides sent
 * FIN ends when everything delivered is consumed. Returns GG_OK, GG_ENOTFOUND or GG_EINVAL
 * (n more than was delivered and not yet consumed).
 */
int ggp_yamux_consume(ggp_yamux *y, uint32_t id, size_t n);

/* The user data of stream id (NULL when unknown). */
void *ggp_yamux_stream_ud(const ggp_yamux *y, uint32_t id);

/* Replaces the user data of stream id. GG_OK or GG_ENOTFOUND. */
int ggp_yamux_set_stream_ud(ggp_yamux *y, uint32_t id, void *stream_ud);

/* Fills *si for stream id. GG_OK or GG_ENOTFOUND. */
int ggp_yamux_stream_get_info(const ggp_yamux *y, uint32_t id, ggp_yamux_stream_info *si);

/* Fills *info for the session. */
void ggp_yamux_get_info(const ggp_yamux *y, ggp_yamux_info *info);

/*
 * Queues a ping; the round trip is reported by on_ping_rtt. Only one ping is in flight at a
 * time (js rejects an answer it did not ask for): while one is, this returns GG_OK and the
 * pending answer serves both. Returns GG_OK or GG_ECLOSED (GoAway sent or received, or the
 * session failed).
 */
int ggp_yamux_ping(ggp_yamux *y);

/*
 * Queues a GoAway with code (GGP_YAMUX_GOAWAY_*): it goes out after the frames already
 * queued; from now on no stream may be opened either way (new inbound streams are refused).
 * Existing streams keep working until the host closes the connection. Returns GG_OK or
 * GG_ESTATE (a GoAway was already sent or queued).
 */
int ggp_yamux_goaway(ggp_yamux *y, uint32_t code);

/* When handle_expiry must run next (the keepalive ping or the ping timeout), GG_TS_UNSET
 * when never. */
gg_ts ggp_yamux_expiry(const ggp_yamux *y);

/*
 * Runs the timers at time ts: queues the keepalive ping when due. Returns GG_OK, or
 * GG_ETIMEDOUT when our ping went unanswered for ping_timeout (the session is then dead:
 * the peer is not responding, so no GoAway is sent).
 */
int ggp_yamux_handle_expiry(ggp_yamux *y, gg_ts ts);

#endif
