/*
 * Package records in the DHT: the /ggen-pkg/ namespace of the Kademlia record store.
 *
 * Key:   "/ggen-pkg/<id>@<version>" (GGEN.md: every version has its own key, so publishing a
 *        new version never overwrites an old one).
 * Value: a SignedRelease (include/ggen/release.h) whose id and version are the key's.
 *
 * The validator decodes and verifies the record (signature over the canonical body), then
 * checks that it names the key's package and version. The selector prefers the newer publish
 * time (a publisher re-signing a release, e.g. to fix metadata, replaces the older record);
 * equal times fall back to the bytewise larger record, so every node picks the same one.
 * Ownership of an id (first publisher wins) is the catalog's rule, not the DHT's: a record
 * from another key is still a valid record here.
 *
 * No I/O: this is a parser on top of the release decoder.
 */
#ifndef GGEN_PKGREC_H
#define GGEN_PKGREC_H

#include <stddef.h>
#include <stdint.h>

#include "ggen/buf.h"
#include "ggen/kad.h"

#define GGM_PKGREC_NS "ggen-pkg"
#define GGM_PKGREC_PREFIX "/ggen-pkg/"

/* Appends "/ggen-pkg/<id>@<version>" to out. GG_EINVAL when id or version is empty, over the
 * release caps, or contains '@', '/' or a control character; gg_buf errors. */
int ggm_pkgrec_key(const char *id, const char *version, gg_buf *out);

/* Splits a key into its id and version (views into key). GG_EINVAL when it is not a
 * well-formed /ggen-pkg/ key. */
int ggm_pkgrec_parse_key(const uint8_t *key, size_t klen, gg_slice *id, gg_slice *version);

/* GG_OK when val is a valid signed release for the package and version named by key.
 * GG_EINVAL (key malformed, or the record names another package or version), the release
 * decoder's errors otherwise (GG_EPARSE, GG_EBADSIG, GG_EBADKEY, GG_ETOOBIG, GG_ENOMEM). */
int ggm_pkgrec_validate(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen);

/* Index of the preferred of n records (n >= 1): the newest publish time, then the bytewise
 * larger record. A record that does not decode is chosen only if none does (then index 0). */
size_t ggm_pkgrec_select(const uint8_t *key, size_t klen, const gg_slice *vals, size_t n);

/* Fills v with the validator and selector above for ns "ggen-pkg" (register it with
 * ggp_kad_add_validator; the Kademlia service does so by default). */
void ggm_pkgrec_validator(ggp_kad_validator *v);

#endif
