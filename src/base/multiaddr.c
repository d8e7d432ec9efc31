/*
 * Multiaddr binary and text codecs (include/ggen/multiaddr.h; multiformats/multiaddr README
 * "Specification", protocols.csv for the value sizes, libp2p's go-multiaddr/js-multiaddr for
 * the text forms of p2p, certhash and unix).
 *
 * One table describes every protocol we know: its code, name, value size (0 = none, > 0 fixed
 * bytes, VAR = varint length prefix) and the kind of value, which selects the text codec and the
 * binary validation. Binary input is validated component by component in gg_maddr_next(); every
 * other function is built on it, so nothing else walks raw bytes.
 *
 * Invariants: a gg_maddr produced here is valid and at most GG_MADDR_MAX bytes; a function
 * that fails leaves its output gg_maddr untouched (results are built in a local and copied).
 */
#include "ggen/multiaddr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "ggen/err.h"
#include "ggen/multibase.h"
#include "ggen/multihash.h"
#include "ggen/varint.h"

#define VAR (-1)

enum kind { K_NONE, K_IP4, K_IP6, K_PORT, K_U8, K_NAME, K_P2P, K_CERTHASH, K_PATH };

struct proto {
  uint32_t code;
  const char *name;
  int size;
  enum kind kind;
};

static const struct proto protos[] = {
    {GG_MA_IP4, "ip4", 4, K_IP4},
    {GG_MA_TCP, "tcp", 2, K_PORT},
    {GG_MA_DCCP, "dccp", 2, K_PORT},
    {GG_MA_IP6, "ip6", 16, K_IP6},
    {GG_MA_IP6ZONE, "ip6zone", VAR, K_NAME},
    {GG_MA_IPCIDR, "ipcidr", 1, K_U8},
    {GG_MA_DNS, "dns", VAR, K_NAME},
    {GG_MA_DNS4, "dns4", VAR, K_NAME},
    {GG_MA_DNS6, "dns6", VAR, K_NAME},
    {GG_MA_DNSADDR, "dnsaddr", VAR, K_NAME},
    {GG_MA_SCTP, "sctp", 2, K_PORT},
    {GG_MA_UDP, "udp", 2, K_PORT},
    {GG_MA_P2P_WEBRTC_DIRECT, "p2p-webrtc-direct", 0, K_NONE},
    {GG_MA_WEBRTC_DIRECT, "webrtc-direct", 0, K_NONE},
    {GG_MA_WEBRTC, "webrtc", 0, K_NONE},
    {GG_MA_P2P_CIRCUIT, "p2p-circuit", 0, K_NONE},
    {GG_MA_UDT, "udt", 0, K_NONE},
    {GG_MA_UTP, "utp", 0, K_NONE},
    {GG_MA_UNIX, "unix", VAR, K_PATH},
    {GG_MA_P2P, "p2p", VAR, K_P2P},
    {GG_MA_HTTPS, "https", 0, K_NONE},
    {GG_MA_TLS, "tls", 0, K_NONE},
    {GG_MA_SNI, "sni", VAR, K_NAME},
    {GG_MA_NOISE, "noise", 0, K_NONE},
    {GG_MA_QUIC, "quic", 0, K_NONE},
    {GG_MA_QUIC_V1, "quic-v1", 0, K_NONE},
    {GG_MA_WEBTRANSPORT, "webtransport", 0, K_NONE},
    {GG_MA_CERTHASH, "certhash", VAR, K_CERTHASH},
    {GG_MA_WS, "ws", 0, K_NONE},
    {GG_MA_WSS, "wss", 0, K_NONE},
    {GG_MA_P2P_WEBSOCKET_STAR, "p2p-websocket-star", 0, K_NONE},
    {GG_MA_HTTP, "http", 0, K_NONE},
};

static const struct proto *by_code(uint64_t code) {
  for (size_t i = 0; i < sizeof(protos) / sizeof(protos[0]); i++)
    if (protos[i].code == code) return &protos[i];
  return NULL;
}

static const struct proto *by_name(const char *s, size_t len) {
  /* "ipfs" is the old text name of p2p (same code); it is read, never written. */
  if (len == 4 && memcmp(s, "ipfs", 4) == 0) return by_code(GG_MA_P2P);
  for (size_t i = 0; i < sizeof(protos) / sizeof(protos[0]); i++)
    if (strlen(protos[i].name) == len && memcmp(protos[i].name, s, len) == 0) return &protos[i];
  return NULL;
}

const char *gg_maddr_proto_name(uint32_t code) {
  const struct proto *p = by_code(code);
  return p ? p->name : NULL;
}

/* ---- binary values -------------------------------------------------------------------- */

/* Checks a value of a length-prefixed protocol, as read from binary or produced from text. */
static int check_value(const struct proto *p, const uint8_t *v, size_t n) {
  switch (p->kind) {
  case K_NAME:
    /* A '/' would make the text form ambiguous; a NUL would cut the C string a dialer gets. */
    if (n == 0 || n > GG_MADDR_NAME_MAX || memchr(v, '/', n) || memchr(v, 0, n)) return GG_EPARSE;
    return GG_OK;
  case K_PATH:
    /* Stored with its leading '/', as go- and js-multiaddr do (text "/unix/a/b" is "/a/b"). */
    if (n < 2 || v[0] != '/' || v[n - 1] == '/' || memchr(v, 0, n)) return GG_EPARSE;
    return GG_OK;
  case K_P2P: {
    gg_peerid id;
    return gg_peerid_from_bytes(&id, v, n) ? GG_EPARSE : GG_OK;
  }
  case K_CERTHASH: {
    gg_mh mh;
    return gg_mh_decode(v, n, &mh) ? GG_EPARSE : GG_OK;
  }
  default: return GG_OK; /* fixed-size values: every bit pattern is an address or a number */
  }
}

int gg_maddr_next(const uint8_t *b, size_t len, size_t *pos, gg_maddr_comp *c) {
  size_t at = *pos;
  if (at >= len) return 0;
  uint64_t code, vlen;
  int n = gg_varint_decode(b + at, len - at, &code);
  if (n < 0) return GG_EPARSE;
  const struct proto *p = by_code(code);
  if (!p) return GG_EUNSUPPORTED;
  size_t i = at + (size_t)n;
  if (p->size == VAR) {
    n = gg_varint_decode(b + i, len - i, &vlen);
    if (n < 0) return GG_EPARSE;
    i += (size_t)n;
  } else {
    vlen = (uint64_t)p->size;
  }
  if (vlen > len - i) return GG_EPARSE;
  if (p->size == VAR && check_value(p, b + i, (size_t)vlen)) return GG_EPARSE;
  c->code = p->code;
  c->name = p->name;
  c->val = b + i;
  c->vlen = (size_t)vlen;
  c->off = at;
  c->size = i + (size_t)vlen - at;
  *pos = i + (size_t)vlen;
  return 1;
}

int gg_maddr_validate(const uint8_t *b, size_t len) {
  if (len == 0) return GG_EPARSE;
  size_t pos = 0;
  gg_maddr_comp c;
  int rc;
  while ((rc = gg_maddr_next(b, len, &pos, &c)) == 1) {
  }
  return rc;
}

int gg_maddr_from_bytes(gg_maddr *ma, const uint8_t *b, size_t len) {
  int rc = gg_maddr_validate(b, len);
  if (rc) return rc;
  if (len > GG_MADDR_MAX) return GG_ETOOBIG;
  memcpy(ma->b, b, len);
  ma->len = (uint16_t)len;
  return GG_OK;
}

/* Appends one component to m (whose bytes are valid); the value must already be checked. */
static int append(gg_maddr *m, const struct proto *p, const void *val, size_t vlen) {
  uint8_t hdr[2 * GG_VARINT_MAX];
  size_t n = gg_varint_encode(p->code, hdr);
  if (p->size == VAR) n += gg_varint_encode(vlen, hdr + n);
  if (n + vlen > (size_t)GG_MADDR_MAX - m->len) return GG_ETOOBIG;
  memcpy(m->b + m->len, hdr, n);
  if (vlen) memcpy(m->b + m->len + n, val, vlen);
  m->len = (uint16_t)(m->len + n + vlen);
  return GG_OK;
}

int gg_maddr_push(gg_maddr *ma, uint32_t code, const void *val, size_t vlen) {
  const struct proto *p = by_code(code);
  if (!p) return GG_EUNSUPPORTED;
  if (p->size != VAR && (size_t)p->size != vlen) return GG_EPARSE;
  if (p->size == VAR && check_value(p, val, vlen)) return GG_EPARSE;
  return append(ma, p, val, vlen);
}

int gg_maddr_push_peer(gg_maddr *ma, const gg_peerid *id) {
  return gg_maddr_push(ma, GG_MA_P2P, id->b, id->len);
}

/* ---- text values ----------------------------------------------------------------------- */

/* Parses a decimal number of at most max; digits only (no sign, no blanks). */
static int parse_uint(const char *s, size_t n, uint64_t max, uint64_t *out) {
  if (n == 0) return GG_EPARSE;
  uint64_t v = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return GG_EPARSE;
    v = v * 10 + (uint64_t)(s[i] - '0');
    if (v > max) return GG_EPARSE;
  }
  *out = v;
  return GG_OK;
}

/* inet_pton wants a C string; addresses are short, longer text is not an address. */
static int parse_ip(int af, const char *s, size_t n, uint8_t *out) {
  char tmp[INET6_ADDRSTRLEN + 1];
  if (n == 0 || n >= sizeof(tmp)) return GG_EPARSE;
  memcpy(tmp, s, n);
  tmp[n] = 0;
  return inet_pton(af, tmp, out) == 1 ? GG_OK : GG_EPARSE;
}

/* Converts the text value s[0..n) of protocol p and appends the component to m. */
static int append_text(gg_maddr *m, const struct proto *p, const char *s, size_t n) {
  uint8_t v[16];
  uint64_t x;
  int rc;
  switch (p->kind) {
  case K_IP4:
    if ((rc = parse_ip(AF_INET, s, n, v))) return rc;
    return append(m, p, v, 4);
  case K_IP6:
    if ((rc = parse_ip(AF_INET6, s, n, v))) return rc;
    return append(m, p, v, 16);
  case K_PORT:
    if ((rc = parse_uint(s, n, 65535, &x))) return rc;
    v[0] = (uint8_t)(x >> 8);
    v[1] = (uint8_t)x;
    return append(m, p, v, 2);
  case K_U8:
    if ((rc = parse_uint(s, n, 255, &x))) return rc;
    v[0] = (uint8_t)x;
    return append(m, p, v, 1);
  case K_NAME:
  case K_PATH:
    if (check_value(p, (const uint8_t *)s, n)) return GG_EPARSE;
    return append(m, p, s, n);
  case K_P2P: {
    gg_peerid id;
    if (gg_peerid_parse(&id, s, n)) return GG_EPARSE;
    return append(m, p, id.b, id.len);
  }
  case K_CERTHASH: {
    gg_buf b;
    gg_buf_init(&b, NULL, GG_MADDR_MAX);
    rc = gg_multibase_decode(s, n, &b, NULL);
    if (rc == GG_OK) rc = check_value(p, gg_buf_ptr(&b), gg_buf_len(&b));
    if (rc == GG_OK)
      rc = append(m, p, gg_buf_ptr(&b), gg_buf_len(&b));
    else if (rc != GG_ENOMEM)
      rc = GG_EPARSE;
    gg_buf_free(&b);
    return rc;
  }
  case K_NONE: break;
  }
  return GG_EINTERNAL;
}

int gg_maddr_parse(gg_maddr *ma, const char *s, size_t len) {
  gg_maddr m;
  m.len = 0;
  if (len == 0 || s[0] != '/') return GG_EPARSE;
  size_t i = 1;
  while (i < len) {
    size_t j = i;
    while (j < len && s[j] != '/') j++;
    if (j == i) return GG_EPARSE; /* "//": an empty protocol name */
    const struct proto *p = by_name(s + i, j - i);
    if (!p) return GG_EUNSUPPORTED;
    i = j + 1;
    int rc;
    if (p->size == 0) {
      rc = append(&m, p, NULL, 0);
    } else if (p->kind == K_PATH) {
      /* A path value is the rest of the text, slashes included, with its leading '/'. */
      if (j >= len) return GG_EPARSE;
      rc = append_text(&m, p, s + j, len - j);
      i = len;
    } else {
      if (i > len) return GG_EPARSE; /* "/tcp" without a value */
      size_t k = i;
      while (k < len && s[k] != '/') k++;
      if (k == i) return GG_EPARSE; /* empty value */
      rc = append_text(&m, p, s + i, k - i);
      i = k + 1;
    }
    if (rc) return rc;
  }
  if (m.len == 0) return GG_EPARSE; /* "/" */
  *ma = m;
  return GG_OK;
}

/* RFC 5952 section 4: lowercase, no leading zeros, the longest run (first on a tie) of two or
 * more zero groups as "::"; section 5: IPv4-mapped addresses end in dotted decimal. */
static int format_ip6(const uint8_t *a, gg_buf *out) {
  char s[INET6_ADDRSTRLEN + 8];
  size_t n = 0;
  static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (memcmp(a, mapped, 12) == 0) {
    n = (size_t)snprintf(s, sizeof(s), "::ffff:%u.%u.%u.%u", a[12], a[13], a[14], a[15]);
    return gg_buf_append(out, s, n);
  }
  unsigned g[8];
  for (int k = 0; k < 8; k++) g[k] = (unsigned)a[2 * k] << 8 | a[2 * k + 1];
  int best = -1, bestlen = 1;
  for (int k = 0; k < 8;) {
    if (g[k]) {
      k++;
      continue;
    }
    int e = k;
    while (e < 8 && g[e] == 0) e++;
    if (e - k > bestlen) {
      best = k;
      bestlen = e - k;
    }
    k = e;
  }
  for (int k = 0; k < 8; k++) {
    if (k == best) {
      s[n++] = ':';
      s[n++] = ':';
      k += bestlen - 1;
      continue;
    }
    if (k > 0 && k != best + bestlen) s[n++] = ':';
    n += (size_t)snprintf(s + n, sizeof(s) - n, "%x", g[k]);
  }
  return gg_buf_append(out, s, n);
}

/* Appends "/name[/value]" of one (valid) component. */
static int format_comp(const gg_maddr_comp *c, gg_buf *out) {
  const struct proto *p = by_code(c->code);
  char s[32];
  int rc = gg_buf_append_byte(out, '/');
  if (rc == GG_OK) rc = gg_buf_append_str(out, p->name);
  if (rc || p->size == 0) return rc;
  if (p->kind == K_PATH) return gg_buf_append(out, c->val, c->vlen); /* has its own '/' */
  if ((rc = gg_buf_append_byte(out, '/'))) return rc;
  const uint8_t *v = c->val;
  switch (p->kind) {
  case K_IP4:
    return gg_buf_append(out, s,
                         (size_t)snprintf(s, sizeof(s), "%u.%u.%u.%u", v[0], v[1], v[2], v[3]));
  case K_IP6: return format_ip6(v, out);
  case K_PORT:
    return gg_buf_append(out, s, (size_t)snprintf(s, sizeof(s), "%u", (unsigned)v[0] << 8 | v[1]));
  case K_U8: return gg_buf_append(out, s, (size_t)snprintf(s, sizeof(s), "%u", v[0]));
  case K_NAME: return gg_buf_append(out, v, c->vlen);
  case K_P2P: {
    gg_peerid id;
    char t[GG_PEERID_TEXT_MAX];
    if (gg_peerid_from_bytes(&id, v, c->vlen)) return GG_EPARSE;
    int n = gg_peerid_to_b58(&id, t, sizeof(t));
    return n < 0 ? n : gg_buf_append(out, t, (size_t)n);
  }
  case K_CERTHASH: return gg_multibase_encode('u', v, c->vlen, out);
  case K_PATH:
  case K_NONE: break;
  }
  return GG_EINTERNAL;
}

int gg_maddr_format(const uint8_t *b, size_t len, gg_buf *out) {
  int rc = gg_maddr_validate(b, len);
  if (rc) return rc;
  size_t mark = gg_buf_len(out), pos = 0;
  gg_maddr_comp c;
  while ((rc = gg_maddr_next(b, len, &pos, &c)) == 1) {
    if ((rc = format_comp(&c, out))) break;
  }
  if (rc) {
    /* Leave out as it was: drop the partial text (it is at the end of the buffer). */
    out->len = mark;
  }
  return rc;
}

int gg_maddr_to_str(const gg_maddr *ma, char *out, size_t cap) {
  if (cap == 0) return GG_EINVAL;
  if (ma->len == 0) {
    out[0] = 0;
    return 0;
  }
  gg_buf b;
  gg_buf_init(&b, NULL, GG_MADDR_STR_MAX);
  int rc = gg_maddr_format(ma->b, ma->len, &b);
  if (rc == GG_OK) {
    size_t n = gg_buf_len(&b);
    if (n + 1 > cap) {
      rc = GG_EINVAL;
    } else {
      memcpy(out, gg_buf_ptr(&b), n);
      out[n] = 0;
      rc = (int)n;
    }
  }
  gg_buf_free(&b);
  return rc;
}

/* ---- structure --------------------------------------------------------------------------- */

int gg_maddr_cat(gg_maddr *ma, const gg_maddr *tail) {
  if (tail->len > GG_MADDR_MAX - ma->len) return GG_ETOOBIG;
  memcpy(ma->b + ma->len, tail->b, tail->len);
  ma->len = (uint16_t)(ma->len + tail->len);
  return GG_OK;
}

int gg_maddr_decap_code(gg_maddr *ma, uint32_t code) {
  size_t pos = 0, cut = SIZE_MAX;
  gg_maddr_comp c;
  while (gg_maddr_next(ma->b, ma->len, &pos, &c) == 1)
    if (c.code == code) cut = c.off;
  if (cut == SIZE_MAX) return GG_ENOTFOUND;
  ma->len = (uint16_t)cut;
  return GG_OK;
}

int gg_maddr_decap(gg_maddr *ma, const gg_maddr *tail) {
  if (tail->len == 0) return GG_ENOTFOUND;
  size_t pos = 0, cut = SIZE_MAX;
  gg_maddr_comp c;
  /* Only component boundaries count: "/tcp/1" must not match inside another value. Since the
   * tail is itself a valid multiaddr, a byte match at a boundary is a component match. */
  while (gg_maddr_next(ma->b, ma->len, &pos, &c) == 1)
    if (ma->len - c.off >= tail->len && memcmp(ma->b + c.off, tail->b, tail->len) == 0) cut = c.off;
  if (cut == SIZE_MAX) return GG_ENOTFOUND;
  ma->len = (uint16_t)cut;
  return GG_OK;
}

int gg_maddr_eq(const gg_maddr *a, const gg_maddr *b) {
  return a->len == b->len && memcmp(a->b, b->b, a->len) == 0;
}

int gg_maddr_has(const gg_maddr *ma, uint32_t code) {
  size_t pos = 0;
  gg_maddr_comp c;
  while (gg_maddr_next(ma->b, ma->len, &pos, &c) == 1)
    if (c.code == code) return 1;
  return 0;
}

int gg_maddr_split_peer(const gg_maddr *ma, gg_maddr *transport, gg_peerid *peer) {
  size_t pos = 0;
  gg_maddr_comp c, last = {0};
  int any = 0;
  while (gg_maddr_next(ma->b, ma->len, &pos, &c) == 1) {
    last = c;
    any = 1;
  }
  gg_peerid id; /* parsed here, so *peer is untouched on failure and may be NULL */
  if (!any || last.code != GG_MA_P2P || gg_peerid_from_bytes(&id, last.val, last.vlen)) {
    if (transport && transport != ma) *transport = *ma;
    return GG_ENOTFOUND;
  }
  if (peer) *peer = id;
  if (transport) {
    if (transport != ma) memcpy(transport->b, ma->b, last.off);
    transport->len = (uint16_t)last.off;
  }
  return GG_OK;
}

int gg_maddr_dial_info(const gg_maddr *ma, gg_maddr_dial *d) {
  gg_maddr_dial r;
  memset(&r, 0, sizeof(r));
  size_t pos = 0;
  gg_maddr_comp c, zone = {0};
  int rc = gg_maddr_next(ma->b, ma->len, &pos, &c);
  if (rc != 1) return rc ? rc : GG_EUNSUPPORTED;
  if (c.code == GG_MA_IP6ZONE) {
    zone = c;
    if ((rc = gg_maddr_next(ma->b, ma->len, &pos, &c)) != 1 || c.code != GG_MA_IP6)
      return rc < 0 ? rc : GG_EUNSUPPORTED;
  }
  r.host_proto = c.code;
  switch (c.code) {
  case GG_MA_IP4:
  case GG_MA_IP6:
    memcpy(r.ip, c.val, c.vlen);
    if (!inet_ntop(c.code == GG_MA_IP4 ? AF_INET : AF_INET6, c.val, r.host, sizeof(r.host)))
      return GG_EINTERNAL;
    if (zone.vlen) { /* "fe80::1%eth0", the form getaddrinfo and uv_ip6_addr take */
      size_t n = strlen(r.host);
      r.host[n] = '%';
      memcpy(r.host + n + 1, zone.val, zone.vlen);
      r.host[n + 1 + zone.vlen] = 0;
    }
    break;
  case GG_MA_DNS:
  case GG_MA_DNS4:
  case GG_MA_DNS6:
    memcpy(r.host, c.val, c.vlen);
    r.host[c.vlen] = 0;
    break;
  default: return GG_EUNSUPPORTED;
  }
  if ((rc = gg_maddr_next(ma->b, ma->len, &pos, &c)) != 1) return rc < 0 ? rc : GG_EUNSUPPORTED;
  if (c.code != GG_MA_TCP && c.code != GG_MA_UDP) return GG_EUNSUPPORTED;
  r.transport = c.code;
  r.port = (uint16_t)(c.val[0] << 8 | c.val[1]);
  rc = gg_maddr_next(ma->b, ma->len, &pos, &c);
  if (rc == 1) {
    if (c.code != GG_MA_P2P) return GG_EUNSUPPORTED;
    if (gg_peerid_from_bytes(&r.peer, c.val, c.vlen)) return GG_EPARSE;
    r.has_peer = 1;
    rc = gg_maddr_next(ma->b, ma->len, &pos, &c);
    if (rc == 1) return GG_EUNSUPPORTED;
  }
  if (rc < 0) return rc;
  *d = r;
  return GG_OK;
}

int gg_maddr_from_ip(gg_maddr *ma, int family, const uint8_t *ip, uint32_t transport,
                     uint16_t port) {
  if ((family != 4 && family != 6) || (transport != GG_MA_TCP && transport != GG_MA_UDP))
    return GG_EINVAL;
  gg_maddr m;
  m.len = 0;
  uint8_t p[2] = {(uint8_t)(port >> 8), (uint8_t)port};
  gg_maddr_push(&m, family == 4 ? GG_MA_IP4 : GG_MA_IP6, ip, family == 4 ? 4 : 16);
  gg_maddr_push(&m, transport, p, 2);
  *ma = m;
  return GG_OK;
}
