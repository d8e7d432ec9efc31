/*
 * The host's own protocols: Identify (/ipfs/id/1.0.0) and Ping (/ipfs/ping/1.0.0), built on
 * the stream API with the cores of include/ggen/identify.h and include/ggen/ping.h.
 *
 * Identify: when a connection is upgraded each side opens an identify stream to the other
 * (as js does) and reads one message of at most GGP_IDENTIFY_MAX bytes within
 * identify_timeout; it goes into the peer store and to on_identify. Served identify answers
 * carry our announced listen addresses, the remote's address as we see it, the protocols we
 * serve, our protocol and agent versions and our public key, then close the write side.
 *
 * Ping: the handler echoes 32-byte payloads (core listener: idle timeout, flood limit);
 * ggn_host_ping() opens one stream per ping, as js does (js takes at most 2 inbound ping
 * streams per peer, so pings are never pipelined on parallel streams).
 */
#include <string.h>

#include "ggen/err.h"
#include "host_int.h"

/* ---- identify --------------------------------------------------------------------------------- */

static void id_serve(ggn_stream *s, void *ud) {
  ggn_host *h = ud;
  const char *protos[GGN_MAX_PROTOCOLS];
  size_t np = ggn_host_protocols(h, protos, GGN_MAX_PROTOCOLS);
  gg_maddr observed;
  int has_obs = ggn_conn_remote_addr(ggn_stream_conn(s), &observed) == GG_OK;
  ggp_identify_info info = {
      .protocol_version = h->pver,
      .agent_version = h->agent,
      .pubkey_pb = h->pubkey_pb,
      .pubkey_pb_len = sizeof(h->pubkey_pb),
      .listen_addrs = h->laddrs,
      .n_listen_addrs = h->nladdrs,
      .observed_addr = has_obs ? &observed : NULL,
      .protocols = protos,
      .n_protocols = np,
  };
  gg_buf out;
  gg_buf_init(&out, h->mem, GGP_IDENTIFY_MAX + GG_VARINT_MAX);
  int rv = ggp_identify_encode(&info, h->mem, &out);
  if (rv == GG_OK) {
    ggn_stream_set_callbacks(s, NULL, NULL); /* what the peer sends is ignored */
    rv = ggn_stream_write(s, gg_buf_ptr(&out), gg_buf_len(&out));
    if (rv >= 0) rv = ggn_stream_close_write(s);
  }
  gg_buf_free(&out);
  if (rv < 0) {
    ggn_logf(&h->log, GGN_LOG_WARN, "cannot answer identify: %s", gg_strerror(rv));
    ggn_stream_reset(s);
  }
}

static const ggn_stream_callbacks id_done_cbs = {0};

static void id_msg(ggn_stream *s, const uint8_t *m, size_t n, void *ud) {
  ggn_host *h = ud;
  ggn_conn *c = ggn_stream_conn(s);
  ggp_identify_msg *msg = NULL;
  int rv = ggp_identify_parse(m, n, &c->peer, 0, h->mem, &msg);
  ggn_stream_set_callbacks(s, &id_done_cbs, NULL); /* one message; the rest is ignored */
  ggn_stream_set_deadline(s, GG_TS_UNSET);
  if (rv != GG_OK) {
    ggn_logf(&h->log, gg_err_is_peer(rv) ? GGN_LOG_WARN : GGN_LOG_INFO,
             "bad identify message from %s: %s", gg_peerid_short(&c->peer), gg_strerror(rv));
    ggn_stream_reset(s);
    return;
  }
  ggn_peer *p = ggn_pstore_ensure(&h->ps, &c->peer, ggn_now());
  if (p) ggn_pstore_set_identify(&h->ps, p, msg);
  ggn_logf(&h->log, GGN_LOG_DEBUG, "identify from %s: %s, %zu addresses, %zu protocols",
           gg_peerid_short(&c->peer), msg->agent_version ? msg->agent_version : "?",
           msg->n_listen_addrs, msg->n_protocols);
  ggn_host_notify_identify(h, c, msg);
  ggp_identify_msg_free(msg);
}

static void id_eof(ggn_stream *s, void *ud) {
  ggn_host *h = ud;
  ggn_logf(&h->log, GGN_LOG_INFO, "identify stream from %s ended without a message",
           gg_peerid_short(ggn_stream_peer(s)));
}

static void id_close(ggn_stream *s, int err, void *ud) {
  ggn_host *h = ud;
  if (err != GG_OK && err != GG_ECLOSED)
    ggn_logf(&h->log, GGN_LOG_INFO, "identify with %s failed: %s",
             gg_peerid_short(ggn_stream_peer(s)), gg_strerror(err));
}

static const ggn_stream_callbacks id_cbs = {
    .on_msg = id_msg, .on_eof = id_eof, .on_close = id_close};

static void id_opened(ggn_stream *s, int err, void *ud) {
  ggn_host *h = ud;
  if (err != GG_OK) {
    if (err != GG_ECLOSED && err != GG_ECANCELED)
      ggn_logf(&h->log, GGN_LOG_INFO, "cannot open identify stream: %s", gg_strerror(err));
    return;
  }
  ggn_stream_set_callbacks(s, &id_cbs, h);
  if (ggn_stream_read_msgs(s, GGP_IDENTIFY_MAX) != GG_OK) {
    ggn_stream_reset(s);
    return;
  }
  ggn_stream_set_deadline(s, ggn_now() + h->st.identify_timeout);
  ggn_stream_close_write(s); /* we only read */
}

void ggn_services_conn_up(ggn_conn *c) {
  static const char *const p[] = {GGP_IDENTIFY_PROTO};
  int rv = ggn_stream_open_internal(c, p, 1, 0, id_opened, c->h);
  if (rv != GG_OK)
    ggn_logf(&c->h->log, GGN_LOG_INFO, "cannot start identify: %s", gg_strerror(rv));
}

/* ---- ping: serving ------------------------------------------------------------------------------ */

static void ping_flush(ggn_stream *s, ggp_ping *p) {
  gg_buf out;
  gg_buf_init(&out, NULL, GGP_PING_QUEUE_MAX + GGP_PING_LEN);
  int rv = ggp_ping_send(p, &out);
  if (rv == GG_OK && gg_buf_len(&out)) rv = ggn_stream_write(s, gg_buf_ptr(&out), gg_buf_len(&out));
  gg_buf_free(&out);
  if (rv < 0) ggn_stream_reset(s);
  else ggn_stream_set_deadline(s, ggp_ping_expiry(p));
}

static void srv_data(ggn_stream *s, const uint8_t *d, size_t n, void *ud) {
  ggp_ping *p = ud;
  int rv = ggp_ping_recv(p, d, n, ggn_now());
  if (rv != GG_OK) {
    ggn_logf(&ggn_conn_host(ggn_stream_conn(s))->log, GGN_LOG_INFO, "ping stream from %s: %s",
             gg_peerid_short(ggn_stream_peer(s)), gg_strerror(rv));
    ggn_stream_reset(s);
    return;
  }
  ping_flush(s, p);
}

static void srv_eof(ggn_stream *s, void *ud) {
  (void)ud;
  ggn_stream_close_write(s);
}

static void srv_close(ggn_stream *s, int err, void *ud) {
  (void)s;
  (void)err;
  ggp_ping_del(ud);
}

static const ggn_stream_callbacks srv_cbs = {
    .on_data = srv_data, .on_eof = srv_eof, .on_close = srv_close};

static void ping_serve(ggn_stream *s, void *ud) {
  ggn_host *h = ud;
  ggp_ping *p = NULL;
  ggp_ping_settings st = {.dialer = 0};
  if (ggp_ping_new(&p, NULL, &st, h->mem, NULL) != GG_OK) {
    ggn_stream_reset(s);
    return;
  }
  ggp_ping_start(p, ggn_now());
  ggn_stream_set_callbacks(s, &srv_cbs, p);
  ggn_stream_set_deadline(s, ggp_ping_expiry(p));
}

/* ---- ping: asking --------------------------------------------------------------------------------- */

typedef struct ping_req {
  ggn_host *h;
  gg_peerid peer;
  ggn_ping_cb cb;
  void *ud;
  ggp_ping *p;
  int done;
} ping_req;

static void req_rtt(ggp_ping *p, gg_ts rtt, void *ud) {
  (void)p;
  ping_req *r = ud;
  r->done = 1;
  r->cb(r->h, &r->peer, GG_OK, rtt, r->ud);
}

static const ggp_ping_callbacks req_ping_cbs = {req_rtt};

static void req_data(ggn_stream *s, const uint8_t *d, size_t n, void *ud) {
  ping_req *r = ud;
  if (r->done) return;
  int rv = ggp_ping_recv(r->p, d, n, ggn_now());
  if (rv != GG_OK) {
    r->done = 1;
    r->cb(r->h, &r->peer, rv, 0, r->ud);
    ggn_stream_reset(s);
    return;
  }
  if (r->done) ggn_stream_close_write(s);
}

static void req_close(ggn_stream *s, int err, void *ud) {
  (void)s;
  ping_req *r = ud;
  if (!r->done) r->cb(r->h, &r->peer, err == GG_OK ? GG_ECLOSED : err, 0, r->ud);
  ggp_ping_del(r->p);
  gg_free(r->h->mem, r);
}

static const ggn_stream_callbacks req_cbs = {.on_data = req_data, .on_close = req_close};

static void req_opened(ggn_stream *s, int err, void *ud) {
  ping_req *r = ud;
  if (err != GG_OK) {
    r->cb(r->h, &r->peer, err, 0, r->ud);
    gg_free(r->h->mem, r);
    return;
  }
  ggp_ping_settings st = {.dialer = 1, .rand = r->h->rand};
  int rv = ggp_ping_new(&r->p, &req_ping_cbs, &st, r->h->mem, r);
  if (rv == GG_OK) rv = ggp_ping_start(r->p, ggn_now());
  ggn_stream_set_callbacks(s, &req_cbs, r);
  if (rv != GG_OK) {
    r->done = 1;
    r->cb(r->h, &r->peer, rv, 0, r->ud);
    ggn_stream_reset(s);
    return;
  }
  ping_flush(s, r->p);
}

int ggn_host_ping(ggn_host *h, const gg_peerid *peer, ggn_ping_cb cb, void *ud) {
  if (!cb) return GG_EINVAL;
  ping_req *r = gg_calloc(h->mem, 1, sizeof(*r));
  if (!r) return GG_ENOMEM;
  r->h = h;
  r->peer = *peer;
  r->cb = cb;
  r->ud = ud;
  static const char *const p[] = {GGP_PING_PROTO};
  int rv = ggn_host_open_stream(h, peer, p, 1, req_opened, r);
  if (rv != GG_OK) gg_free(h->mem, r);
  return rv;
}

int ggn_services_register(ggn_host *h) {
  int rv = ggn_host_handle(h, GGP_IDENTIFY_PROTO, id_serve, h);
  if (rv == GG_OK) rv = ggn_host_handle(h, GGP_PING_PROTO, ping_serve, h);
  return rv;
}
