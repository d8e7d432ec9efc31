/*
 * Identify (`/ipfs/id/1.0.0`) and Identify push (`/ipfs/id/push/1.0.0`) as a core without I/O
 * (libp2p/specs identify/README.md; schema proto/identify.proto).
 *
 * Identify is one message per stream, so the core is two pure functions:
 *   - the side that accepts an identify stream answers with ggp_identify_encode() (already
 *     varint-length-prefixed) and closes its write side;
 *   - the side that opened it reads the answer with a gg_lpm (include/ggen/lpm.h) capped at
 *     GGP_IDENTIFY_MAX and hands the body to ggp_identify_parse(), with the peer id the Noise
 *     handshake authenticated: a publicKey that does not belong to it is GG_EPEERID.
 * Push is the same message sent unsolicited on its own stream (the receiver reads it the same
 * way, with GGP_IDENTIFY_F_PUSH: fields may be missing).
 *
 * js-libp2p's rules, which we follow both ways (../shared/INTEROP.md): one message of at most
 * 8 KiB within 5 s (the timeout is the host's); publicKey required and matching the peer id;
 * listenAddrs and protocols are what make a js peer admit us to its DHT routing table and
 * open kad/gossipsub streams to us.
 */
#ifndef GGEN_IDENTIFY_H
#define GGEN_IDENTIFY_H

#include <stddef.h>
#include <stdint.h>

#include "ggen/buf.h"
#include "ggen/mem.h"
#include "ggen/multiaddr.h"
#include "ggen/peerid.h"

#define GGP_IDENTIFY_PROTO "/ipfs/id/1.0.0"
#define GGP_IDENTIFY_PUSH_PROTO "/ipfs/id/push/1.0.0"
#define GGP_IDENTIFY_MAX 8192 /* cap on a message body, sent or received (js: maxMessageSize) */
#define GGP_IDENTIFY_PROTOCOL_VERSION "/ggen/1.0.0"
#define GGP_IDENTIFY_AGENT_VERSION "ggen/" GGEN_VERSION

/* What we tell a peer. Everything is borrowed for the call. */
typedef struct ggp_identify_info {
  const char *protocol_version; /* NULL: GGP_IDENTIFY_PROTOCOL_VERSION */
  const char *agent_version;    /* NULL: GGP_IDENTIFY_AGENT_VERSION */
  const uint8_t *pubkey_pb;     /* our PublicKey protobuf (required) */
  size_t pubkey_pb_len;
  const gg_maddr *listen_addrs; /* our listen addresses: dialable (no 0.0.0.0), no /p2p/<id> */
  size_t n_listen_addrs;
  const gg_maddr *observed_addr; /* the remote's address as we see it; NULL: omitted */
  const char *const *protocols;  /* the protocols we serve */
  size_t n_protocols;
} ggp_identify_info;

/*
 * Appends the message, with its varint length prefix, to out. Fields are written in
 * field-number order (protobuf-c). mem (NULL = default) is used for one temporary array.
 * GG_EINVAL when pubkey_pb is missing or a listen address is empty; GG_ETOOBIG when the body
 * would exceed GGP_IDENTIFY_MAX (a js peer would refuse it) or out's cap; GG_ENOMEM.
 * Nothing is appended on error.
 */
int ggp_identify_encode(const ggp_identify_info *info, const gg_mem *mem, gg_buf *out);

/* One listen address of a parsed message: a view into the message, a valid binary multiaddr
 * (gg_maddr_from_bytes() on it succeeds). */
typedef struct ggp_identify_addr {
  const uint8_t *b;
  size_t len;
} ggp_identify_addr;

/* A remote's message. Everything points into memory the message owns: free it with
 * ggp_identify_msg_free(). Absent fields are NULL / 0. */
typedef struct ggp_identify_msg {
  const char *protocol_version;
  const char *agent_version;
  const uint8_t *pubkey_pb; /* the PublicKey protobuf as sent */
  size_t pubkey_pb_len;
  int has_peer;                          /* 1 when pubkey_pb was present (always, without F_PUSH) */
  gg_peerid peer;                        /* the peer id of pubkey_pb */
  const ggp_identify_addr *listen_addrs; /* the valid ones, in the order sent */
  size_t n_listen_addrs;
  size_t n_listen_skipped; /* addresses dropped: malformed, unsupported or over GG_MADDR_MAX */
  int has_observed;        /* 1 when observedAddr was present and valid */
  gg_maddr observed_addr;  /* how the remote sees us */
  const char *const *protocols;
  size_t n_protocols;
  const uint8_t *signed_peer_record; /* passed through, not verified */
  size_t signed_peer_record_len;
} ggp_identify_msg;

/* Flags for ggp_identify_parse(). */
#define GGP_IDENTIFY_F_PUSH 1 /* a push: publicKey may be absent (it is checked if present) */

/*
 * Parses a message body (without its length prefix; at most GGP_IDENTIFY_MAX bytes) received
 * from the peer whose id is *expected (NULL: not checked, for tests and tools).
 * On success *out is a new message owned by the caller.
 * Returns GG_OK;
 *   GG_ETOOBIG  len > GGP_IDENTIFY_MAX;
 *   GG_EPROTO   not a valid Identify protobuf, or publicKey missing (without F_PUSH);
 *   GG_EBADKEY  publicKey is not a valid PublicKey protobuf;
 *   GG_EPEERID  publicKey does not belong to *expected;
 *   GG_ENOMEM.
 * On failure *out is untouched.
 */
int ggp_identify_parse(const uint8_t *body, size_t len, const gg_peerid *expected, int flags,
                       const gg_mem *mem, ggp_identify_msg **out);

/* Frees a parsed message (NULL is fine). */
void ggp_identify_msg_free(ggp_identify_msg *m);

/* 1 when the message lists the protocol name exactly, else 0. */
int ggp_identify_has_protocol(const ggp_identify_msg *m, const char *name);

#endif
