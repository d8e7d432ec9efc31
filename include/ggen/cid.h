/*
 * Content identifiers (multiformats/cid README, "Versions" and "Decoding Algorithm").
 *
 * CIDv0: a bare sha2-256 multihash (34 bytes, 12 20 ...), implicitly dag-pb, written as bare
 * base58btc ("Qm..."). CIDv1: <0x01><content codec varint><multihash>, written in any
 * multibase with its prefix (base32 "b..." by default).
 *
 * A gg_cid is a plain value holding the binary CID (at most GG_CID_MAX bytes: any sha2-512 CID
 * fits; a larger inline identity CID is refused with GG_ETOOBIG). Every gg_cid produced here
 * is valid; failing functions leave their output untouched.
 */
#ifndef GGEN_CID_H
#define GGEN_CID_H

#include <stddef.h>
#include <stdint.h>

#include "ggen/buf.h"
#include "ggen/multihash.h"

/* Content codecs (multicodec table, tag "ipld" and friends) that this project meets. */
enum {
  GG_CODEC_RAW = 0x55,
  GG_CODEC_DAG_PB = 0x70,
  GG_CODEC_DAG_CBOR = 0x71,
  GG_CODEC_LIBP2P_KEY = 0x72,
  GG_CODEC_DAG_JSON = 0x0129,
  GG_CODEC_JSON = 0x0200,
};

#define GG_CID_MAX 128
/* A buffer of this size holds any gg_cid's text in any base, with its NUL (base2: 8
 * characters per byte plus the prefix). */
#define GG_CID_STR_MAX (8 * GG_CID_MAX + 2)

typedef struct gg_cid {
  uint8_t version; /* 0 or 1 */
  uint64_t codec;  /* content codec; GG_CODEC_DAG_PB for v0 */
  uint16_t len;    /* bytes of the binary CID in b */
  uint16_t mh_off; /* the multihash is b[mh_off .. len) */
  uint8_t b[GG_CID_MAX];
} gg_cid;

/* Builds a CID from a multihash (validated). Version 0 requires codec dag-pb and a full
 * sha2-256 multihash. GG_EINVAL for a bad version/combination, GG_EPARSE for a bad multihash,
 * GG_ETOOBIG over GG_CID_MAX. */
int gg_cid_new(gg_cid *cid, unsigned version, uint64_t codec, const uint8_t *mh, size_t mhlen);

/* Decodes a binary CID (v0: exactly 34 bytes 12 20 ...; v1: version, codec, multihash).
 * GG_EPARSE when malformed (version 0 written as a varint included), GG_EUNSUPPORTED for a
 * reserved version (>= 2), GG_ETOOBIG over GG_CID_MAX. */
int gg_cid_from_bytes(gg_cid *cid, const uint8_t *b, size_t len);

/* Parses text: 46 characters starting "Qm" are a CIDv0 in bare base58btc; anything else is a
 * multibase-encoded CIDv1 (a multibase-encoded v0, first byte 0x12, is refused as the spec
 * says). Errors as gg_cid_from_bytes, and GG_EPARSE for bad text. */
int gg_cid_parse(gg_cid *cid, const char *s, size_t len);

/* Appends the text form to out (no NUL). base is a multibase prefix character, or 0 for the
 * default: bare base58btc for v0, base32 'b' for v1. A v0 CID has no other text form:
 * GG_EINVAL for any base but 0 or 'z' (which also gives the bare form). GG_EUNSUPPORTED for an
 * unknown base; gg_buf errors. */
int gg_cid_format(const gg_cid *cid, char base, gg_buf *out);

/* The default text form into out, NUL-terminated. Returns the length, or GG_EINVAL when cap
 * is too small (GG_CID_STR_MAX always suffices). */
int gg_cid_to_str(const gg_cid *cid, char *out, size_t cap);

/* The CID's multihash as a decoded view into cid->b. Cannot fail on a valid gg_cid. */
void gg_cid_mh(const gg_cid *cid, gg_mh *mh);

/* The same content as CIDv1 (a v1 is copied unchanged). */
void gg_cid_to_v1(const gg_cid *in, gg_cid *out);

/* 1 when both are the same CID (same version, codec and multihash), else 0. */
int gg_cid_eq(const gg_cid *a, const gg_cid *b);

/* The multicodec name of a content codec ("dag-pb"), or NULL when not in our table. */
const char *gg_codec_name(uint64_t codec);

#endif
