/*
 * One connection's upgrade pipeline and I/O pump (src/net/host_int.h).
 *
 * States, in order (libp2p/specs connections/README.md):
 *   C_DIALING  TCP connect in progress (outbound only);
 *   C_SECNEG   multistream-select for "/noise" on the raw socket. Our dialer is lazy: the
 *              header, the proposal and Noise message 1 leave in one write (js does the same
 *              for the header and proposal), saving a round trip;
 *   C_NOISE    Noise XX; the remote's payload is verified by the core;
 *   C_MUXNEG   multistream-select for "/yamux/1.0.0" on the secured channel, only when the
 *              Noise extension did not settle the muxer (the remote listed none);
 *   C_OPEN     Yamux runs; streams come and go (stream.c);
 *   C_CLOSING  the closing sequence runs from the next flush: a GoAway when Yamux runs (or
 *              the one a dead session owes), then the socket closes once written.
 * Bytes left over after each negotiation belong to the next stage and are passed on.
 *
 * Input is processed synchronously from the socket's read callback; decrypted bytes go to the
 * host's shared plain buffer and from there straight into Yamux, which hands stream data to
 * the streams without copying. Output of the negotiations is written at once (it is small and
 * ordered); Yamux output is pulled by the host's idle flush run by run (ggp_yamux_send_pull),
 * each run encrypted from Yamux's memory straight into a socket write block (flush_block), and
 * stops while the socket's queue is above its high-water mark (on_drain resumes it).
 *
 * Every connection has exactly one timer (the socket's): the dial/handshake deadline before
 * C_OPEN, then min(Yamux expiry, earliest stream deadline).
 */
#include <arpa/inet.h>
#include <string.h>

#include "ggen/err.h"
#include "host_int.h"

static const char *const noise_protos[] = {GGP_NOISE_PROTOCOL_ID};
static const char *const yamux_protos[] = {GGP_YAMUX_PROTOCOL_ID};

static ggn_conn *conn_of(ggn_sock *s) { return container_of(s, ggn_conn, sock); }

/* A socket write block while bulk data flows: four full Noise messages, 256 KiB per write. */
#define BLOCK_BIG (4 * (GGP_NOISE_PLAIN_MAX + GGP_NOISE_OVERHEAD))
/* A block that begins with control frames: they are usually all there is to send. */
#define BLOCK_SMALL (16 * 1024)
/* Room below which a block is written rather than given a DATA frame cut to fit. */
#define RUN_MIN 1024

static void write_raw(ggn_conn *c, gg_buf *b) {
  if (gg_buf_len(b) == 0) return;
  ggn_sock_write_copy(&c->sock, gg_buf_ptr(b), gg_buf_len(b));
  gg_buf_reset(b);
}

int ggn_conn_send_secure(ggn_conn *c, const uint8_t *p, size_t n) {
  size_t wl = ggp_noise_wire_len(n), w;
  uint8_t *blk = ggn_sock_wbuf(&c->sock, wl);
  if (!blk) return GG_ENOMEM;
  int rv = ggp_noise_encrypt_to(c->noise, p, n, blk, wl, &w);
  if (rv != GG_OK) {
    ggn_sock_wbuf_free(&c->sock, blk);
    return rv;
  }
  return ggn_sock_write(&c->sock, blk, w);
}

/*
 * Pulls Yamux output into one socket write block and writes it. Each run Yamux hands out (a
 * batch of control frames, or one DATA frame lying in its stream's send buffer) is encrypted
 * from there into its own Noise message in the block, so a payload is copied once on its way
 * out (by ggp_yamux_write) and then only read by the cipher. The block is sized by the first
 * run: big for data, small for control frames.
 * Returns what ggn_sock_write returns (0, or 1 when the socket's queue is full), 2 when there
 * was nothing to write, GG_ENOMEM, GG_ECRYPTO, or GG_ECLOSED (socket). A fatal Yamux code goes
 * to *yerr (the block then holds the GoAway that explains it, when there was one).
 */
static int flush_block(ggn_conn *c, gg_ts now, int *yerr) {
  uint8_t *blk = NULL;
  size_t cap = 0, pos = 0;
  *yerr = GG_OK;
  for (;;) {
    size_t max = GGP_NOISE_PLAIN_MAX;
    if (blk) {
      if (cap - pos < GGP_NOISE_OVERHEAD + RUN_MIN) break;
      if (cap - pos - GGP_NOISE_OVERHEAD < max) max = cap - pos - GGP_NOISE_OVERHEAD;
    }
    const uint8_t *p;
    size_t n;
    c->in_yamux = 1;
    int rv = ggp_yamux_send_pull(c->yamux, max, now, &p, &n);
    c->in_yamux = 0;
    if (n) {
      if (!blk) {
        cap = n >= BLOCK_SMALL / 4 ? BLOCK_BIG : BLOCK_SMALL;
        blk = ggn_sock_wbuf(&c->sock, cap);
        if (!blk) return GG_ENOMEM; /* the run is lost with the connection */
      }
      size_t w;
      int e = ggp_noise_encrypt_to(c->noise, p, n, blk + pos, cap - pos, &w);
      if (e != GG_OK) {
        ggn_sock_wbuf_free(&c->sock, blk);
        return e;
      }
      pos += w;
    }
    if (rv != GG_OK) {
      *yerr = rv;
      break;
    }
    if (n == 0) break;
  }
  return blk ? ggn_sock_write(&c->sock, blk, pos) : 2;
}

static const char *addr_text(const ggn_conn *c, char *buf, size_t cap) {
  char ip[INET6_ADDRSTRLEN] = "?";
  int port = 0;
  if (c->raddr.sin6_family == AF_INET) {
    const struct sockaddr_in *a = (const struct sockaddr_in *)&c->raddr;
    uv_ip4_name(a, ip, sizeof(ip));
    port = ntohs(a->sin_port);
    snprintf(buf, cap, "%s:%d", ip, port);
  } else if (c->raddr.sin6_family == AF_INET6) {
    uv_ip6_name(&c->raddr, ip, sizeof(ip));
    snprintf(buf, cap, "[%s]:%d", ip, ntohs(c->raddr.sin6_port));
  } else {
    snprintf(buf, cap, "?");
  }
  return buf;
}

/* ---- closing -------------------------------------------------------------------------------- */

void ggn_conn_fail(ggn_conn *c, int err, const char *stage) {
  if (c->state == C_CLOSING) return;
  ggn_host *h = c->h;
  int was_open = c->state == C_OPEN;
  c->state = C_CLOSING;
  c->close_err = err;
  c->close_stage = stage;
  if (was_open) {
    if (err == GG_OK) h->closes.local++; /* the host's trim_conn moves its own to trimmed */
    else if (err == GG_ECLOSED) h->closes.peer++;
    else h->closes.error++;
  }
  if (c->pending_hs) {
    c->pending_hs = 0;
    h->npending_in--;
  }
  ggn_sock_pause(&c->sock, 1);
  /* garbage, truncated or oversized input and timeouts are worth a line; closes we chose and
   * clean closes by the peer only at debug level */
  int level = gg_err_is_peer(err) ? GGN_LOG_WARN
              : (err == GG_OK || (err == GG_ECLOSED && was_open)) ? GGN_LOG_DEBUG
                                                                   : GGN_LOG_INFO;
  if (GGN_LOG_ON(&h->log, level)) {
    char a[80];
    int known = was_open || (c->noise && ggp_noise_established(c->noise)) || c->has_expected;
    ggn_logf(&h->log, level, "connection %s %s%s%s%s closed: %s%s%s", c->outbound ? "to" : "from",
             addr_text(c, a, sizeof(a)), known ? " (" : "", known ? gg_peerid_short(&c->peer) : "",
             known ? ")" : "",
             err == GG_OK        ? "closed locally"
             : err == GG_ECLOSED ? "peer closed the connection"
                                 : gg_strerror(err),
             stage ? " during " : "", stage ? stage : "");
  }
  ggn_host_mark_dirty(c);
}

void ggn_conn_close(ggn_conn *c) { ggn_conn_fail(c, GG_OK, NULL); }

/* Runs once from the flush after ggn_conn_fail: the GoAway (ours, or the one a dead session
 * owes) goes out, then the socket closes when its queue is written. */
static void conn_closing_sequence(ggn_conn *c) {
  if (c->close_started) return;
  c->close_started = 1;
  if (c->yamux && c->noise && c->close_err != GG_ECLOSED && c->close_err != GG_ETIMEDOUT) {
    if (c->close_err == GG_OK) ggp_yamux_goaway(c->yamux, GGP_YAMUX_GOAWAY_NORMAL);
    gg_ts now = ggn_now();
    for (int i = 0; i < 64 && ggp_yamux_want_send(c->yamux); i++) {
      int yerr, w = flush_block(c, now, &yerr);
      if (w < 0 || w == 2 || yerr != GG_OK) break;
    }
  }
  ggn_sock_close(&c->sock, 1);
}

/* ---- stages ---------------------------------------------------------------------------------- */

static int conn_new_noise(ggn_conn *c) {
  ggn_host *h = c->h;
  ggp_noise_settings ns = {.local = h->noise_local};
  if (c->outbound && c->has_expected) ns.expected_peer = &c->peer;
  int rv = ggp_noise_new(&c->noise, c->outbound, &ns, h->rand, h->mem);
  if (rv != GG_OK) return rv;
  rv = ggp_noise_start(c->noise, &h->tmp);
  write_raw(c, &h->tmp);
  return rv;
}

void ggn_conn_start(ggn_conn *c) {
  ggn_host *h = c->h;
  ggp_mss_settings ms = {.dialer = c->outbound,
                         .protocols = noise_protos,
                         .nprotocols = 1,
                         .lazy = c->outbound};
  int rv = ggp_mss_new(&c->mss, NULL, &ms, h->mem, c);
  c->state = C_SECNEG;
  if (rv == GG_OK) {
    gg_buf_reset(&h->tmp);
    rv = ggp_mss_start(c->mss, &h->tmp); /* the listener writes nothing yet */
    write_raw(c, &h->tmp);
  }
  if (rv == GG_OK && c->outbound)
    rv = conn_new_noise(c); /* lazy: message 1 right behind the proposal */
  if (rv != GG_OK) ggn_conn_fail(c, rv, "connection setup");
  else ggn_conn_rearm(c);
}

static void conn_start_yamux(ggn_conn *c) {
  ggn_host *h = c->h;
  ggp_yamux_settings ys = h->st.yamux;
  ys.max_streams_in = ys.max_streams_out = h->st.max_streams_per_conn;
  int rv = ggp_yamux_new(&c->yamux, &ggn_yamux_cbs, &ys, c->outbound, h->mem, c);
  if (rv != GG_OK) {
    ggn_conn_fail(c, rv, "muxer setup");
    return;
  }
  c->state = C_OPEN;
  c->upgraded = ggn_now();
  if (c->pending_hs) {
    c->pending_hs = 0;
    h->npending_in--;
  }
  ggn_host_conn_upgraded(c);
  ggn_host_mark_dirty(c);
  ggn_conn_rearm(c);
}

/* The Noise handshake completed: learn the peer, pick the muxer. */
static void conn_secured(ggn_conn *c) {
  ggn_host *h = c->h;
  c->peer = *ggp_noise_remote_peer(c->noise);
  if (gg_peerid_eq(&c->peer, &h->id)) {
    ggn_conn_fail(c, GG_EPEERID, "noise handshake (connected to ourselves)");
    return;
  }
  const char *mux = ggp_noise_muxer(c->noise);
  if (mux && !strcmp(mux, GGP_YAMUX_PROTOCOL_ID)) {
    c->via_noise = 1;
    conn_start_yamux(c);
    return;
  }
  c->state = C_MUXNEG;
  ggp_mss_settings ms = {.dialer = c->outbound, .protocols = yamux_protos, .nprotocols = 1};
  int rv = ggp_mss_new(&c->mss, NULL, &ms, h->mem, c);
  if (rv == GG_OK) {
    gg_buf_reset(&h->tmp);
    rv = ggp_mss_start(c->mss, &h->tmp);
    if (rv == GG_OK && gg_buf_len(&h->tmp))
      rv = ggn_conn_send_secure(c, gg_buf_ptr(&h->tmp), gg_buf_len(&h->tmp));
    gg_buf_reset(&h->tmp);
    if (rv > 0) rv = GG_OK;
  }
  if (rv != GG_OK) ggn_conn_fail(c, rv, "muxer negotiation");
}

/* Decrypted bytes: muxer negotiation or Yamux. */
static void conn_plain(ggn_conn *c, const uint8_t *p, size_t n) {
  ggn_host *h = c->h;
  if (c->state == C_MUXNEG) {
    size_t used = 0;
    gg_buf_reset(&h->tmp);
    int rv = ggp_mss_recv(c->mss, p, n, &used, &h->tmp);
    if (gg_buf_len(&h->tmp)) {
      int w = ggn_conn_send_secure(c, gg_buf_ptr(&h->tmp), gg_buf_len(&h->tmp));
      gg_buf_reset(&h->tmp);
      if (w < 0) rv = w;
    }
    if (rv == GG_EAGAIN) return;
    if (rv != GG_OK) {
      ggn_conn_fail(c, rv, "muxer negotiation");
      return;
    }
    ggp_mss_del(c->mss);
    c->mss = NULL;
    p += used;
    n -= used;
    conn_start_yamux(c);
  }
  if (c->state == C_OPEN && n > 0) {
    c->in_yamux = 1;
    int rv = ggp_yamux_recv(c->yamux, p, n, ggn_now());
    c->in_yamux = 0;
    if (rv != GG_OK && c->state != C_CLOSING) ggn_conn_fail(c, rv, "yamux");
    ggn_host_mark_dirty(c);
  }
}

static void conn_input(ggn_conn *c, const uint8_t *p, size_t n) {
  ggn_host *h = c->h;
  while (c->state == C_SECNEG && n > 0) {
    size_t used = 0;
    gg_buf_reset(&h->tmp);
    int rv = ggp_mss_recv(c->mss, p, n, &used, &h->tmp);
    write_raw(c, &h->tmp);
    p += used;
    n -= used;
    if (rv == GG_EAGAIN) return;
    if (rv != GG_OK) {
      ggn_conn_fail(c, rv, "security negotiation");
      return;
    }
    ggp_mss_del(c->mss);
    c->mss = NULL;
    c->state = C_NOISE;
    if (!c->outbound && (rv = conn_new_noise(c)) != GG_OK) {
      ggn_conn_fail(c, rv, "noise setup");
      return;
    }
  }
  if (c->state < C_NOISE || c->state == C_CLOSING) return;
  int rv;
  do {
    size_t used = 0;
    gg_buf_reset(&h->plain);
    gg_buf_reset(&h->tmp);
    rv = ggp_noise_recv(c->noise, p, n, &used, &h->plain, &h->tmp);
    write_raw(c, &h->tmp);
    p += used;
    n -= used;
    if (rv != GG_OK && rv != GG_ELIMIT) {
      ggn_conn_fail(c, rv, c->state == C_NOISE ? "noise handshake" : "noise transport");
      return;
    }
    if (c->state == C_NOISE && ggp_noise_established(c->noise)) conn_secured(c);
    if (gg_buf_len(&h->plain) && c->state != C_CLOSING)
      conn_plain(c, gg_buf_ptr(&h->plain), gg_buf_len(&h->plain));
    if (c->state == C_CLOSING) return;
  } while (rv == GG_ELIMIT || n > 0);
}

/* ---- socket callbacks ----------------------------------------------------------------------- */

static void on_connect(ggn_sock *s, int err) {
  ggn_conn *c = conn_of(s);
  if (err != GG_OK) {
    ggn_conn_fail(c, GG_EUNREACHABLE, "dial");
    return;
  }
  struct sockaddr_storage ss;
  if (ggn_sock_remote_addr(s, &ss) == GG_OK) memcpy(&c->raddr, &ss, sizeof(c->raddr));
  ggn_conn_start(c);
}

static void on_accept(ggn_listener *l);

static void on_read(ggn_sock *s, const uint8_t *p, size_t n) {
  ggn_conn *c = conn_of(s);
  if (c->state == C_CLOSING) return;
  conn_input(c, p, n);
  ggn_conn_rearm(c);
}

static void on_eof(ggn_sock *s, int err) {
  ggn_conn *c = conn_of(s);
  if (c->state == C_OPEN) ggn_conn_fail(c, GG_ECLOSED, NULL);
  else if (err == GG_ECLOSED) ggn_conn_fail(c, GG_ECLOSED, "the handshake (truncated)");
  else ggn_conn_fail(c, err, "the handshake");
}

static void on_drain(ggn_sock *s) { ggn_host_mark_dirty(conn_of(s)); }

static void on_deadline(ggn_sock *s) {
  ggn_conn *c = conn_of(s);
  gg_ts now = ggn_now();
  if (c->state < C_OPEN) {
    if (now >= c->deadline)
      ggn_conn_fail(c, GG_ETIMEDOUT, c->outbound ? "the dial" : "the handshake");
    else ggn_conn_rearm(c);
    return;
  }
  if (c->state != C_OPEN) return;
  if (ggp_yamux_expiry(c->yamux) <= now) {
    c->in_yamux = 1;
    int rv = ggp_yamux_handle_expiry(c->yamux, now);
    c->in_yamux = 0;
    if (rv != GG_OK) {
      ggn_conn_fail(c, rv, "yamux keepalive");
      return;
    }
  }
  if (c->stream_deadline <= now) ggn_streams_expire(c, now);
  ggn_host_mark_dirty(c);
  ggn_conn_rearm(c);
}

static void on_closed(ggn_sock *s) { ggn_host_conn_freed(conn_of(s)); }

const ggn_tcp_cbs ggn_conn_tcp_cbs = {on_connect, on_accept, on_read,   on_eof,
                                      on_drain,   on_deadline, on_closed};

/* Inbound connections are created by the host (limits), see host.c. */
void ggn_host_accept(ggn_listener *l);
static void on_accept(ggn_listener *l) { ggn_host_accept(l); }

/* ---- output ------------------------------------------------------------------------------------ */

void ggn_conn_rearm(ggn_conn *c) {
  if (c->state == C_CLOSING) return;
  gg_ts d;
  if (c->state < C_OPEN) {
    d = c->deadline;
  } else {
    d = ggp_yamux_expiry(c->yamux);
    if (c->stream_deadline < d) d = c->stream_deadline;
  }
  ggn_sock_set_deadline(&c->sock, d);
}

void ggn_conn_flush(ggn_conn *c) {
  ggn_host *h = c->h;
  if (c->state == C_CLOSING) {
    conn_closing_sequence(c);
    return;
  }
  if (c->state != C_OPEN) return;
  if (c->rq_streams) ggn_streams_deliver_pending(c);
  gg_ts now = ggn_now();
  while (c->state == C_OPEN && ggp_yamux_want_send(c->yamux) &&
         ggn_sock_write_queued(&c->sock) < h->tcp.write_high) {
    int rv, w = flush_block(c, now, &rv);
    if (rv != GG_OK) {
      /* a dead session wrote its GoAway into this buffer: close now */
      ggn_conn_fail(c, rv, "yamux");
      if (c->state == C_CLOSING) {
        c->close_started = 1;
        ggn_sock_close(&c->sock, 1);
      }
      return;
    }
    if (w < 0) {
      ggn_conn_fail(c, w == GG_ENOMEM ? w : GG_ECLOSED, "write");
      return;
    }
    if (w == 1 || w == 2) break; /* the socket's queue is full (on_drain resumes), or done */
  }
  if (c->state == C_CLOSING) {
    conn_closing_sequence(c);
    return;
  }
  ggn_conn_rearm(c);
}
