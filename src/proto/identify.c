/*
 * Identify message encoding and parsing (include/ggen/identify.h; libp2p/specs
 * identify/README.md). The wire format is proto/identify.proto, packed and unpacked by
 * protobuf-c with the caller's allocator.
 *
 * Parsing trusts nothing: the body is capped before unpacking, the public key must be a valid
 * PublicKey protobuf whose peer id is the one Noise authenticated, and every listen address is
 * validated as a multiaddr (invalid ones are skipped and counted, since one address we do not
 * understand, say /webrtc-direct/certhash/..., must not cost us the peer).
 * Invariant: a ggp_identify_msg's pointers all point into its own unpacked protobuf.
 */
#include "ggen/identify.h"

#include <string.h>

#include "ggen/err.h"
#include "ggen/key.h"
#include "ggen/lpm.h"
#include "ggen/pb.h"
#include "identify.pb-c.h"

/* The public message followed by what it points into. */
struct msg {
  ggp_identify_msg pub;
  IdentifyPb__Identify *pb;
  ProtobufCAllocator alloc;
  const gg_mem *mem;
  ggp_identify_addr addrs[]; /* n_listenaddrs slots, the valid ones first */
};

int ggp_identify_encode(const ggp_identify_info *info, const gg_mem *mem, gg_buf *out) {
  if (!info->pubkey_pb || info->pubkey_pb_len == 0) return GG_EINVAL;
  for (size_t i = 0; i < info->n_listen_addrs; i++)
    if (info->listen_addrs[i].len == 0) return GG_EINVAL;
  IdentifyPb__Identify pb = IDENTIFY_PB__IDENTIFY__INIT;
  /* protobuf-c wants non-const pointers for packing; it does not write through them. */
  pb.protocolversion =
      (char *)(info->protocol_version ? info->protocol_version : GGP_IDENTIFY_PROTOCOL_VERSION);
  pb.agentversion =
      (char *)(info->agent_version ? info->agent_version : GGP_IDENTIFY_AGENT_VERSION);
  pb.has_publickey = 1;
  pb.publickey.data = (uint8_t *)info->pubkey_pb;
  pb.publickey.len = info->pubkey_pb_len;
  ProtobufCBinaryData *addrs = NULL;
  if (info->n_listen_addrs) {
    addrs = gg_calloc(mem, info->n_listen_addrs, sizeof(*addrs));
    if (!addrs) return GG_ENOMEM;
    for (size_t i = 0; i < info->n_listen_addrs; i++) {
      addrs[i].data = (uint8_t *)info->listen_addrs[i].b;
      addrs[i].len = info->listen_addrs[i].len;
    }
  }
  pb.n_listenaddrs = info->n_listen_addrs;
  pb.listenaddrs = addrs;
  if (info->observed_addr && info->observed_addr->len) {
    pb.has_observedaddr = 1;
    pb.observedaddr.data = (uint8_t *)info->observed_addr->b;
    pb.observedaddr.len = info->observed_addr->len;
  }
  pb.n_protocols = info->n_protocols;
  pb.protocols = (char **)info->protocols;
  size_t size = identify_pb__identify__get_packed_size(&pb);
  int rc = GG_OK;
  if (size > GGP_IDENTIFY_MAX) {
    rc = GG_ETOOBIG;
  } else {
    uint8_t hdr[GG_VARINT_MAX];
    size_t h = gg_varint_encode(size, hdr);
    rc = gg_buf_reserve(out, h + size);
    if (rc == GG_OK) {
      gg_buf_append(out, hdr, h);
      identify_pb__identify__pack(&pb, gg_buf_tail(out, size));
      gg_buf_commit(out, size);
    }
  }
  gg_free(mem, addrs);
  return rc;
}

/* protobuf-c returns NULL both for a malformed message and for an allocation failure: this
 * allocator remembers whether one failed, so that the two are told apart. */
struct track {
  const gg_mem *mem;
  int failed;
};

static void *track_alloc(void *ud, size_t n) {
  struct track *t = ud;
  void *p = gg_malloc(t->mem, n);
  if (!p && n) t->failed = 1;
  return p;
}

static void track_free(void *ud, void *p) { gg_free(((struct track *)ud)->mem, p); }

int ggp_identify_parse(const uint8_t *body, size_t len, const gg_peerid *expected, int flags,
                       const gg_mem *mem, ggp_identify_msg **out) {
  if (len > GGP_IDENTIFY_MAX) return GG_ETOOBIG;
  struct track t = {mem, 0};
  ProtobufCAllocator talloc = {track_alloc, track_free, &t};
  IdentifyPb__Identify *pb = identify_pb__identify__unpack(&talloc, len, body);
  if (!pb) return t.failed ? GG_ENOMEM : GG_EPROTO;
  ProtobufCAllocator alloc; /* the same allocations, freed later without the tracker */
  gg_pb_allocator(&alloc, mem);
  int rc = GG_OK;
  gg_peerid peer;
  int has_peer = 0;
  if (pb->has_publickey) {
    gg_pubkey k;
    if (gg_pubkey_decode(pb->publickey.data, pb->publickey.len, &k) ||
        gg_peerid_from_pubkey_pb(&peer, pb->publickey.data, pb->publickey.len)) {
      rc = GG_EBADKEY;
    } else {
      has_peer = 1;
      if (expected && !gg_peerid_eq(&peer, expected)) rc = GG_EPEERID;
    }
  } else if (!(flags & GGP_IDENTIFY_F_PUSH)) {
    rc = GG_EPROTO;
  }
  struct msg *m = NULL;
  if (rc == GG_OK) {
    m = gg_calloc(mem, 1, sizeof(*m) + pb->n_listenaddrs * sizeof(ggp_identify_addr));
    if (!m) rc = GG_ENOMEM;
  }
  if (rc) {
    identify_pb__identify__free_unpacked(pb, &alloc);
    return rc;
  }
  m->pb = pb;
  m->alloc = alloc;
  m->mem = mem;
  ggp_identify_msg *p = &m->pub;
  p->protocol_version = pb->protocolversion;
  p->agent_version = pb->agentversion;
  if (has_peer) {
    p->pubkey_pb = pb->publickey.data;
    p->pubkey_pb_len = pb->publickey.len;
    p->has_peer = 1;
    p->peer = peer;
  }
  for (size_t i = 0; i < pb->n_listenaddrs; i++) {
    const ProtobufCBinaryData *a = &pb->listenaddrs[i];
    if (a->len <= GG_MADDR_MAX && gg_maddr_validate(a->data, a->len) == GG_OK) {
      m->addrs[p->n_listen_addrs].b = a->data;
      m->addrs[p->n_listen_addrs].len = a->len;
      p->n_listen_addrs++;
    } else {
      p->n_listen_skipped++;
    }
  }
  p->listen_addrs = m->addrs;
  if (pb->has_observedaddr &&
      gg_maddr_from_bytes(&p->observed_addr, pb->observedaddr.data, pb->observedaddr.len) == GG_OK)
    p->has_observed = 1;
  p->protocols = (const char *const *)pb->protocols;
  p->n_protocols = pb->n_protocols;
  if (pb->has_signedpeerrecord) {
    p->signed_peer_record = pb->signedpeerrecord.data;
    p->signed_peer_record_len = pb->signedpeerrecord.len;
  }
  *out = p;
  return GG_OK;
}

void ggp_identify_msg_free(ggp_identify_msg *pm) {
  if (!pm) return;
  struct msg *m = (struct msg *)pm; /* pub is the first member */
  identify_pb__identify__free_unpacked(m->pb, &m->alloc);
  gg_free(m->mem, m);
}

int ggp_identify_has_protocol(const ggp_identify_msg *m, const char *name) {
  for (size_t i = 0; i < m->n_protocols; i++)
    if (strcmp(m->protocols[i], name) == 0) return 1;
  return 0;
}
