/*
 * Multiaddr (multiformats/multiaddr): self-describing network addresses, binary and text.
 *
 * Binary: a sequence of components <protocol code varint><value>, the value fixed-size
 * (ip4: 4 bytes, ip6: 16, tcp/udp port: 2 big-endian) or a varint length and the bytes
 * (dns names, p2p peer id multihash, certhash multihash, unix path, ...).
 * Text: "/ip4/127.0.0.1/tcp/4001/p2p/12D3KooW...".
 *
 * Supported protocols: ip4, ip6, ip6zone, ipcidr, tcp, udp, dccp, sctp, dns, dns4, dns6,
 * dnsaddr, p2p (and "ipfs" as its old text name), p2p-circuit, ws, wss, tls, sni, noise,
 * quic, quic-v1, webtransport, certhash, webrtc, webrtc-direct, http, https, udt, utp, unix,
 * p2p-websocket-star, p2p-webrtc-direct. Others give GG_EUNSUPPORTED (a binary multiaddr
 * with an unknown code cannot even be split, since the value size is unknown).
 *
 * Text formatting is canonical: IPv6 per RFC 5952 (lowercase, longest zero run compressed,
 * IPv4-mapped as ::ffff:a.b.c.d), peer ids in base58btc, certhash in base64url. Parsing
 * accepts any valid IPv6 text form and peer ids as base58btc or CIDv1 (libp2p-key) text.
 *
 * A gg_maddr is a plain value (no pointers: copy it with =). Every gg_maddr produced by the
 * functions below holds a valid multiaddr of at most GG_MADDR_MAX bytes.
 */
#ifndef GGEN_MULTIADDR_H
#define GGEN_MULTIADDR_H

#include <stddef.h>
#include <stdint.h>

#include "ggen/buf.h"
#include "ggen/peerid.h"

/* Protocol codes (multicodec table, tag "multiaddr"). */
enum {
  GG_MA_IP4 = 0x04,
  GG_MA_TCP = 0x06,
  GG_MA_DCCP = 0x21,
  GG_MA_IP6 = 0x29,
  GG_MA_IP6ZONE = 0x2a,
  GG_MA_IPCIDR = 0x2b,
  GG_MA_DNS = 0x35,
  GG_MA_DNS4 = 0x36,
  GG_MA_DNS6 = 0x37,
  GG_MA_DNSADDR = 0x38,
  GG_MA_SCTP = 0x84,
  GG_MA_UDP = 0x0111,
  GG_MA_P2P_WEBRTC_DIRECT = 0x0114,
  GG_MA_WEBRTC_DIRECT = 0x0118,
  GG_MA_WEBRTC = 0x0119,
  GG_MA_P2P_CIRCUIT = 0x0122,
  GG_MA_UDT = 0x012d,
  GG_MA_UTP = 0x012e,
  GG_MA_UNIX = 0x0190,
  GG_MA_P2P = 0x01a5,
  GG_MA_HTTPS = 0x01bb,
  GG_MA_TLS = 0x01c0,
  GG_MA_SNI = 0x01c1,
  GG_MA_NOISE = 0x01c6,
  GG_MA_QUIC = 0x01cc,
  GG_MA_QUIC_V1 = 0x01cd,
  GG_MA_WEBTRANSPORT = 0x01d1,
  GG_MA_CERTHASH = 0x01d2,
  GG_MA_WS = 0x01dd,
  GG_MA_WSS = 0x01de,
  GG_MA_P2P_WEBSOCKET_STAR = 0x01df,
  GG_MA_HTTP = 0x01e0,
};

/* Cap on a binary multiaddr (DNS names are at most 255 bytes; this leaves room for the rest).
 * Longer ones, from text or from a peer, are refused with GG_ETOOBIG. */
#define GG_MADDR_MAX 512
/* A buffer of this size always holds the text form of a gg_maddr, with its NUL: no component
 * is more than 10 times longer as text than in binary ("/p2p-websocket-star" is 19 characters
 * for a 2-byte code). Text as long as a real address needs is far shorter. */
#define GG_MADDR_STR_MAX (10 * GG_MADDR_MAX + 1)
/* Cap on one DNS name, SNI host name or ip6 zone value. */
#define GG_MADDR_NAME_MAX 255

typedef struct gg_maddr {
  uint16_t len;
  uint8_t b[GG_MADDR_MAX];
} gg_maddr;

/* One component, as gg_maddr_next() returns it: pointers into the multiaddr's bytes. */
typedef struct gg_maddr_comp {
  uint32_t code;      /* GG_MA_* */
  const char *name;   /* protocol name ("ip4"), static */
  const uint8_t *val; /* value bytes (without their length prefix); vlen 0 when none */
  size_t vlen;
  size_t off;  /* where the component (code varint first) starts in the multiaddr */
  size_t size; /* bytes of the whole component */
} gg_maddr_comp;

/* ---- conversion ------------------------------------------------------------------------ */

/* Parses text s[0..len) into ma. A trailing '/' is allowed. On error ma is untouched.
 * GG_EPARSE (malformed, bad value, empty), GG_EUNSUPPORTED (unknown protocol name),
 * GG_ETOOBIG (binary form over GG_MADDR_MAX). */
int gg_maddr_parse(gg_maddr *ma, const char *s, size_t len);

/* Validates binary b[0..len) and copies it into ma. Same errors as gg_maddr_parse; an empty
 * input is GG_EPARSE. */
int gg_maddr_from_bytes(gg_maddr *ma, const uint8_t *b, size_t len);

/* Validates binary b[0..len) without copying (any length): GG_OK or as above. */
int gg_maddr_validate(const uint8_t *b, size_t len);

/* Writes the text form of ma into out (NUL-terminated). Returns the length without the NUL,
 * or GG_EINVAL when cap is too small (GG_MADDR_STR_MAX always suffices). */
int gg_maddr_to_str(const gg_maddr *ma, char *out, size_t cap);

/* Appends the text form of a valid binary multiaddr to out (no NUL). GG_EPARSE /
 * GG_EUNSUPPORTED for invalid input, gg_buf errors. */
int gg_maddr_format(const uint8_t *b, size_t len, gg_buf *out);

/* ---- components -------------------------------------------------------------------------- */

/*
 * Reads the component at *pos of b[0..len) into c and advances *pos past it. Returns 1 when a
 * component was read, 0 at the end, GG_EPARSE / GG_EUNSUPPORTED on invalid bytes.
 * Loop: `size_t pos = 0; while ((rc = gg_maddr_next(ma.b, ma.len, &pos, &c)) == 1) ...`.
 */
int gg_maddr_next(const uint8_t *b, size_t len, size_t *pos, gg_maddr_comp *c);

/* Appends one component with a binary value (vlen 0 / val NULL for protocols without one).
 * The value is checked as parsing checks it. GG_EUNSUPPORTED, GG_EPARSE, GG_ETOOBIG. */
int gg_maddr_push(gg_maddr *ma, uint32_t code, const void *val, size_t vlen);

/* Appends /p2p/<id>. GG_ETOOBIG. */
int gg_maddr_push_peer(gg_maddr *ma, const gg_peerid *id);

/* Encapsulation: appends all of tail to ma. GG_ETOOBIG (ma unchanged). */
int gg_maddr_cat(gg_maddr *ma, const gg_maddr *tail);

/* Decapsulation by protocol: cuts ma before the last component with this code.
 * GG_ENOTFOUND (ma unchanged) when there is none. The result may be empty (len 0). */
int gg_maddr_decap_code(gg_maddr *ma, uint32_t code);

/* Decapsulation by address (go-multiaddr's Decapsulate): cuts ma before the last occurrence
 * of tail as a whole-component sequence. GG_ENOTFOUND (ma unchanged) when absent. */
int gg_maddr_decap(gg_maddr *ma, const gg_maddr *tail);

/* 1 when both hold the same bytes, else 0. */
int gg_maddr_eq(const gg_maddr *a, const gg_maddr *b);

/* 1 when ma contains a component with this code, else 0. */
int gg_maddr_has(const gg_maddr *ma, uint32_t code);

/* ---- dialing helpers ----------------------------------------------------------------- */

/*
 * Splits off a trailing /p2p/<id>: *peer (may be NULL: only the transport part is wanted) gets
 * the id and *transport (may be NULL, may be ma itself) the address before it. GG_ENOTFOUND
 * when ma does not end in a valid /p2p/<id> (then *transport is a copy of ma and *peer is
 * untouched).
 */
int gg_maddr_split_peer(const gg_maddr *ma, gg_maddr *transport, gg_peerid *peer);

/* What a TCP/UDP transport needs to dial or bind an address. */
typedef struct gg_maddr_dial {
  uint32_t host_proto; /* GG_MA_IP4, GG_MA_IP6, GG_MA_DNS, GG_MA_DNS4 or GG_MA_DNS6 */
  uint8_t ip[16];      /* ip4: the first 4 bytes; ip6: all 16; DNS: zero */
  /* NUL-terminated text: "127.0.0.1", "::1", "fe80::1%eth0" (with an ip6zone), or the name */
  char host[GG_MADDR_NAME_MAX + 64];
  uint32_t transport; /* GG_MA_TCP or GG_MA_UDP */
  uint16_t port;
  int has_peer; /* 1 when the address ended in /p2p/<id> */
  gg_peerid peer;
} gg_maddr_dial;

/*
 * Reads "[/ip6zone/<z>]/(ip4|ip6|dns|dns4|dns6)/<host>/(tcp|udp)/<port>[/p2p/<id>]" into d.
 * GG_EUNSUPPORTED for any other shape (ws, quic, p2p-circuit, ...): this node dials raw TCP.
 */
int gg_maddr_dial_info(const gg_maddr *ma, gg_maddr_dial *d);

/* Builds /ip4/<a.b.c.d>/<tcp|udp>/<port> (family 4, ip 4 bytes) or /ip6/<...>/... (family 6,
 * ip 16 bytes). transport is GG_MA_TCP or GG_MA_UDP. GG_EINVAL otherwise. */
int gg_maddr_from_ip(gg_maddr *ma, int family, const uint8_t *ip, uint32_t transport,
                     uint16_t port);

/* Name of a protocol code ("tcp"), or NULL when unsupported. */
const char *gg_maddr_proto_name(uint32_t code);

#endif
