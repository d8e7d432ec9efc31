/*
 * multistream-select 1.0 core (include/ggen/mss.h; multiformats/multistream-select README,
 * libp2p/specs connections/README.md "Protocol Negotiation").
 *
 * Input is parsed one message at a time. A message that lies whole inside the caller's input
 * is read in place; one that is split across recv() calls is assembled in `acc`, into which
 * only bytes of that message are copied (first the varint, byte by byte, then exactly the
 * announced length). So the session never swallows a byte that follows the agreeing message:
 * that byte belongs to the next protocol and is reported back through *consumed.
 *
 * Invariants: acc holds at most one partial message (varint + <= GGP_MSS_NAME_MAX + 1 bytes);
 * want == 0 while acc holds an incomplete varint, else want is the total size of the message
 * being assembled. Once state is DONE or FAILED, recv() refuses more input.
 */
#include "ggen/mss.h"

#include <string.h>

#include "ggen/err.h"
#include "ggen/varint.h"

#define HEADER GGP_MSS_PROTOCOL_ID
#define HEADER_LEN (sizeof(HEADER) - 1)
#define MSG_MAX (GGP_MSS_NAME_MAX + 1) /* body including the newline */
#define VARINT_MAX_BYTES 2             /* MSG_MAX < 2^14 */

enum state { ST_NEW, ST_HEADER, ST_ANSWER, ST_DONE, ST_FAILED };

struct ggp_mss {
  const gg_mem *mem;
  ggp_mss_callbacks cb;
  void *ud;
  const char *const *protos;
  size_t nprotos;
  int dialer, lazy, answer_ls;
  unsigned rounds_left;
  enum state state;
  size_t cur;     /* dialer: index of the outstanding proposal */
  int agreed_idx; /* -1 when none */
  char *agreed;   /* listener: owned copy; dialer: points into protos */
  size_t agreed_len;
  gg_buf acc; /* partial message */
  size_t want;
};

static int name_ok(const char *p, size_t n) {
  return n > 0 && n <= GGP_MSS_NAME_MAX && memchr(p, '\n', n) == NULL;
}

int ggp_mss_write_msg(gg_buf *out, const char *msg, size_t len) {
  if (len == 0 || len > GGP_MSS_NAME_MAX) return GG_EINVAL;
  uint8_t v[GG_VARINT_MAX];
  size_t vn = gg_varint_encode(len + 1, v);
  /* one reservation, so a failed append leaves out unchanged */
  int rv = gg_buf_reserve(out, vn + len + 1);
  if (rv) return rv;
  gg_buf_append(out, v, vn);
  gg_buf_append(out, msg, len);
  gg_buf_append_byte(out, '\n');
  return GG_OK;
}

int ggp_mss_new(ggp_mss **ps, const ggp_mss_callbacks *cb, const ggp_mss_settings *st,
                const gg_mem *mem, void *ud) {
  if (!ps || !st || (st->nprotocols && !st->protocols)) return GG_EINVAL;
  if (st->dialer && st->nprotocols == 0) return GG_EINVAL;
  if (st->lazy && (!st->dialer || st->nprotocols != 1)) return GG_EINVAL;
  for (size_t i = 0; i < st->nprotocols; i++) {
    if (!st->protocols[i] || !name_ok(st->protocols[i], strlen(st->protocols[i]))) return GG_EINVAL;
  }
  ggp_mss *s = gg_calloc(mem, 1, sizeof(*s));
  if (!s) return GG_ENOMEM;
  s->mem = mem;
  if (cb) s->cb = *cb;
  s->ud = ud;
  s->protos = st->protocols;
  s->nprotos = st->nprotocols;
  s->dialer = st->dialer != 0;
  s->lazy = st->lazy != 0;
  s->answer_ls = st->answer_ls != 0;
  s->rounds_left = st->rounds ? st->rounds : GGP_MSS_ROUNDS_DEFAULT;
  s->agreed_idx = -1;
  gg_buf_init(&s->acc, mem, VARINT_MAX_BYTES + MSG_MAX);
  *ps = s;
  return GG_OK;
}

void ggp_mss_del(ggp_mss *s) {
  if (!s) return;
  if (!s->dialer) gg_free(s->mem, s->agreed);
  gg_buf_free(&s->acc);
  gg_free(s->mem, s);
}

int ggp_mss_start(ggp_mss *s, gg_buf *out) {
  if (s->state != ST_NEW) return GG_ESTATE;
  if (s->dialer) {
    size_t before = gg_buf_len(out);
    int rv = ggp_mss_write_msg(out, HEADER, HEADER_LEN);
    if (!rv) rv = ggp_mss_write_msg(out, s->protos[0], strlen(s->protos[0]));
    if (rv) {
      /* undo a half-written start so the caller can retry after draining out */
      out->len = before;
      return rv;
    }
  }
  s->state = ST_HEADER;
  return GG_OK;
}

int ggp_mss_done(const ggp_mss *s) { return s->state == ST_DONE; }

int ggp_mss_may_send(const ggp_mss *s) {
  return s->state == ST_DONE || (s->lazy && s->state != ST_NEW && s->state != ST_FAILED);
}

const char *ggp_mss_protocol(const ggp_mss *s, size_t *len) {
  if (s->state != ST_DONE) return NULL;
  if (len) *len = s->agreed_len;
  return s->agreed;
}

int ggp_mss_protocol_index(const ggp_mss *s) { return s->state == ST_DONE ? s->agreed_idx : -1; }

/* ---- message framing -------------------------------------------------------------------- */

/* Checks a decoded length prefix. */
static int check_len(uint64_t v) {
  if (v == 0) return GG_EPROTO; /* no room for the newline */
  if (v > MSG_MAX) return GG_ETOOBIG;
  return GG_OK;
}

/*
 * Takes the next whole message from in[*pos..len), reading in place when possible, else
 * assembling it in acc. On GG_OK (*body, *blen) is the message without its length prefix
 * (newline included); it stays valid until acc is next touched. GG_EAGAIN when in is used up.
 */
static int next_msg(ggp_mss *s, const uint8_t *in, size_t len, size_t *pos, const uint8_t **body,
                    size_t *blen) {
  uint64_t v;
  int n;
  if (gg_buf_len(&s->acc) == 0) {
    n = gg_varint_decode(in + *pos, len - *pos, &v);
    if (n > 0) {
      int rv = check_len(v);
      if (rv) return rv;
      if (len - *pos - (size_t)n >= v) { /* whole message in place */
        *body = in + *pos + n;
        *blen = (size_t)v;
        *pos += (size_t)n + (size_t)v;
        return GG_OK;
      }
    } else if (n == GG_EPARSE) {
      return GG_EPROTO;
    } else if (len - *pos >= VARINT_MAX_BYTES) {
      return GG_ETOOBIG; /* varint still open after the longest prefix we accept */
    }
    s->want = 0;
  }
  while (*pos < len) {
    if (s->want == 0) { /* assembling the varint, one byte at a time */
      int rv = gg_buf_append_byte(&s->acc, in[(*pos)++]);
      if (rv) return rv;
      n = gg_varint_decode(gg_buf_ptr(&s->acc), gg_buf_len(&s->acc), &v);
      if (n == GG_EPARSE) return GG_EPROTO;
      if (n == GG_EAGAIN) {
        if (gg_buf_len(&s->acc) >= VARINT_MAX_BYTES) return GG_ETOOBIG;
        continue;
      }
      rv = check_len(v);
      if (rv) return rv;
      s->want = (size_t)n + (size_t)v;
      continue;
    }
    size_t take = s->want - gg_buf_len(&s->acc);
    if (take > len - *pos) take = len - *pos;
    int rv = gg_buf_append(&s->acc, in + *pos, take);
    if (rv) return rv;
    *pos += take;
    if (gg_buf_len(&s->acc) == s->want) {
      n = gg_varint_decode(gg_buf_ptr(&s->acc), gg_buf_len(&s->acc), &v);
      *body = gg_buf_ptr(&s->acc) + n;
      *blen = (size_t)v;
      return GG_OK;
    }
  }
  return GG_EAGAIN;
}

/* ---- roles -------------------------------------------------------------------------------- */

static int is(const uint8_t *name, size_t n, const char *lit) {
  return n == strlen(lit) && memcmp(name, lit, n) == 0;
}

/* Answers "ls": one message whose body is every protocol as its own message, then '\n'
 * (the form go-multistream and js-libp2p send). */
static int write_ls(ggp_mss *s, gg_buf *out) {
  size_t body = 1;
  for (size_t i = 0; i < s->nprotos; i++) {
    size_t l = strlen(s->protos[i]) + 1;
    body += gg_varint_len(l) + l;
  }
  int rv = gg_buf_reserve(out, gg_varint_len(body) + body);
  if (rv) return rv;
  gg_buf_append_varint(out, body);
  for (size_t i = 0; i < s->nprotos; i++)
    ggp_mss_write_msg(out, s->protos[i], strlen(s->protos[i]));
  gg_buf_append_byte(out, '\n');
  return GG_OK;
}

static int find_proto(const ggp_mss *s, const uint8_t *name, size_t n) {
  for (size_t i = 0; i < s->nprotos; i++)
    if (is(name, n, s->protos[i])) return (int)i;
  return -1;
}

/* Handles one message (name = body without the newline) as the listener. */
static int listener_msg(ggp_mss *s, const uint8_t *name, size_t n, gg_buf *out) {
  if (s->state == ST_HEADER) {
    if (!is(name, n, HEADER)) return GG_EPROTO;
    s->state = ST_ANSWER;
    return ggp_mss_write_msg(out, HEADER, HEADER_LEN);
  }
  if (s->rounds_left == 0) return GG_ERATE;
  s->rounds_left--;
  if (is(name, n, HEADER)) return ggp_mss_write_msg(out, HEADER, HEADER_LEN); /* as js does */
  if (is(name, n, "ls")) return s->answer_ls ? write_ls(s, out) : ggp_mss_write_msg(out, "na", 2);
  int idx = find_proto(s, name, n);
  int ok;
  if (s->cb.match) {
    /* hand the callback a NUL-terminated copy: the input is not terminated */
    char tmp[GGP_MSS_NAME_MAX + 1];
    memcpy(tmp, name, n);
    tmp[n] = '\0';
    ok = n > 0 && memchr(name, '\n', n) == NULL && s->cb.match(tmp, n, s->ud) != 0;
  } else {
    ok = idx >= 0;
  }
  if (!ok) return ggp_mss_write_msg(out, "na", 2);
  char *copy = gg_strndup(s->mem, (const char *)name, n);
  if (!copy) return GG_ENOMEM;
  int rv = ggp_mss_write_msg(out, copy, n);
  if (rv) {
    gg_free(s->mem, copy);
    return rv;
  }
  s->agreed = copy;
  s->agreed_len = n;
  s->agreed_idx = idx;
  s->state = ST_DONE;
  return GG_OK;
}

/* Handles one message as the dialer. */
static int dialer_msg(ggp_mss *s, const uint8_t *name, size_t n, gg_buf *out) {
  if (s->state == ST_HEADER) {
    if (!is(name, n, HEADER)) return GG_EPROTO;
    s->state = ST_ANSWER;
    return GG_OK;
  }
  const char *p = s->protos[s->cur];
  if (is(name, n, p)) {
    s->agreed = (char *)p;
    s->agreed_len = n;
    s->agreed_idx = (int)s->cur;
    s->state = ST_DONE;
    return GG_OK;
  }
  if (!is(name, n, "na")) return GG_EPROTO;
  /* a lazy dialer may already have sent application data after its proposal: no retry */
  if (s->lazy || ++s->cur == s->nprotos) return GG_ENOPROTO;
  return ggp_mss_write_msg(out, s->protos[s->cur], strlen(s->protos[s->cur]));
}

int ggp_mss_recv(ggp_mss *s, const uint8_t *in, size_t len, size_t *consumed, gg_buf *out) {
  size_t pos = 0;
  int rv = GG_EAGAIN;
  /* a listener has nothing to send before it hears the dialer: start() is optional for it */
  if (s->state == ST_NEW && !s->dialer) s->state = ST_HEADER;
  if (s->state == ST_NEW || s->state == ST_DONE || s->state == ST_FAILED) {
    *consumed = 0;
    return GG_ESTATE;
  }
  while (pos < len) {
    const uint8_t *body;
    size_t blen;
    rv = next_msg(s, in, len, &pos, &body, &blen);
    if (rv) break;
    if (body[blen - 1] != '\n') {
      rv = GG_EPROTO;
      break;
    }
    rv = s->dialer ? dialer_msg(s, body, blen - 1, out) : listener_msg(s, body, blen - 1, out);
    gg_buf_reset(&s->acc);
    s->want = 0;
    if (rv) break;
    if (s->state == ST_DONE) break;
    rv = GG_EAGAIN;
  }
  *consumed = pos;
  if (rv != GG_OK && rv != GG_EAGAIN) s->state = ST_FAILED;
  if (s->state == ST_DONE || s->state == ST_FAILED) gg_buf_free(&s->acc);
  return rv;
}
