/*
 * Ping core (include/ggen/ping.h; libp2p/specs ping/ping.md).
 *
 * Dialer: `got` counts echo bytes matched so far against `payload`; a byte that differs fails
 * at once rather than after 32 (a broken peer is found as early as possible). Listener: `got`
 * bytes of an incomplete chunk wait in `payload`; complete chunks go to `out`.
 * Invariants: out.len <= GGP_PING_QUEUE_MAX (dialer: <= 32); got < 32 between calls;
 * err != 0 means the session is over and every entry point returns err.
 */
#include "ggen/ping.h"

#include <string.h>

#include "ggen/err.h"

struct ggp_ping {
  ggp_ping_callbacks cb;
  const gg_rand *rand;
  const gg_mem *mem;
  void *ud;
  int dialer;
  int err;
  int outstanding; /* dialer: a ping awaits its echo */
  gg_ts timeout;
  gg_ts since; /* dialer: when the outstanding ping was started; listener: the last ping */
  gg_ts last_rtt;
  size_t got;
  uint8_t payload[GGP_PING_LEN];
  gg_buf out;
};

int ggp_ping_new(ggp_ping **pp, const ggp_ping_callbacks *cb, const ggp_ping_settings *st,
                 const gg_mem *mem, void *ud) {
  if (st->dialer && !st->rand) return GG_EINVAL;
  ggp_ping *p = gg_calloc(mem, 1, sizeof(*p));
  if (!p) return GG_ENOMEM;
  if (cb) p->cb = *cb;
  p->rand = st->rand;
  p->mem = mem;
  p->ud = ud;
  p->dialer = st->dialer != 0;
  p->timeout = st->timeout ? st->timeout : GGP_PING_TIMEOUT;
  p->since = GG_TS_UNSET;
  p->last_rtt = GG_TS_UNSET;
  gg_buf_init(&p->out, mem, p->dialer ? GGP_PING_LEN : GGP_PING_QUEUE_MAX);
  *pp = p;
  return GG_OK;
}

void ggp_ping_del(ggp_ping *p) {
  if (!p) return;
  gg_buf_free(&p->out);
  gg_free(p->mem, p);
}

static int fail(ggp_ping *p, int err) {
  p->err = err;
  return err;
}

int ggp_ping_start(ggp_ping *p, gg_ts ts) {
  if (p->err) return p->err;
  if (!p->dialer) {
    p->since = ts;
    return GG_OK;
  }
  if (p->outstanding) return GG_ESTATE;
  p->rand->fill(p->rand->ud, p->payload, GGP_PING_LEN);
  int rc = gg_buf_append(&p->out, p->payload, GGP_PING_LEN);
  if (rc) return rc; /* out is empty here (its cap is one ping): only GG_ENOMEM */
  p->outstanding = 1;
  p->got = 0;
  p->since = ts;
  return GG_OK;
}

int ggp_ping_send(ggp_ping *p, gg_buf *out) {
  if (p->err) return p->err;
  size_t n = gg_buf_len(&p->out);
  if (n == 0) return GG_OK;
  int rc = gg_buf_append(out, gg_buf_ptr(&p->out), n);
  if (rc) return rc;
  gg_buf_reset(&p->out);
  return GG_OK;
}

static int recv_dialer(ggp_ping *p, const uint8_t *in, size_t len, gg_ts ts) {
  for (size_t i = 0; i < len; i++) {
    if (!p->outstanding || in[i] != p->payload[p->got]) return fail(p, GG_EPROTO);
    if (++p->got == GGP_PING_LEN) {
      p->outstanding = 0;
      p->got = 0;
      p->last_rtt = ts >= p->since ? ts - p->since : 0;
      if (p->cb.on_rtt) p->cb.on_rtt(p, p->last_rtt, p->ud);
    }
  }
  return GG_OK;
}

static int recv_listener(ggp_ping *p, const uint8_t *in, size_t len, gg_ts ts) {
  while (len > 0) {
    size_t take = GGP_PING_LEN - p->got;
    if (take > len) take = len;
    memcpy(p->payload + p->got, in, take);
    p->got += take;
    in += take;
    len -= take;
    if (p->got < GGP_PING_LEN) break;
    int rc = gg_buf_append(&p->out, p->payload, GGP_PING_LEN);
    if (rc) return fail(p, rc == GG_ETOOBIG ? GG_ERATE : rc);
    p->got = 0;
    p->since = ts; /* each complete ping restarts the wait for the next */
  }
  return GG_OK;
}

int ggp_ping_recv(ggp_ping *p, const uint8_t *in, size_t len, gg_ts ts) {
  if (p->err) return p->err;
  return p->dialer ? recv_dialer(p, in, len, ts) : recv_listener(p, in, len, ts);
}

gg_ts ggp_ping_expiry(const ggp_ping *p) {
  if (p->err || p->since == GG_TS_UNSET || (p->dialer && !p->outstanding)) return GG_TS_UNSET;
  /* saturate: a huge timeout must not wrap around into the past */
  gg_ts room = GG_TS_UNSET - 1 - p->since;
  return p->timeout > room ? GG_TS_UNSET - 1 : p->since + p->timeout;
}

int ggp_ping_handle_expiry(ggp_ping *p, gg_ts ts) {
  if (p->err) return p->err;
  gg_ts e = ggp_ping_expiry(p);
  if (e != GG_TS_UNSET && ts >= e) return fail(p, GG_ETIMEDOUT);
  return GG_OK;
}

gg_ts ggp_ping_last_rtt(const ggp_ping *p) { return p->last_rtt; }
