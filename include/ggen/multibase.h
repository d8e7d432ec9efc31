/*
 * Multibase (multiformats/multibase): a one-character prefix naming the base, then the data.
 * Supported: identity(0x00), base2 '0', base8 '7', base10 '9', base16 'f'/'F', base32 'b'/'B',
 * base32pad 'c'/'C', base32hex 'v'/'V', base32hexpad 't'/'T', base36 'k'/'K',
 * base58btc 'z', base58flickr 'Z', base64 'm', base64pad 'M', base64url 'u', base64urlpad 'U'.
 * Decoding of base16/32/36 is case-insensitive as the spec's case_insensitivity tests want.
 */
#ifndef GGEN_MULTIBASE_H
#define GGEN_MULTIBASE_H

#include <stddef.h>
#include <stdint.h>

#include "ggen/buf.h"

/* Encodes in with the base named by its prefix character and appends prefix+text to out
 * (no NUL). GG_EUNSUPPORTED for an unknown prefix; gg_buf errors. */
int gg_multibase_encode(char prefix, const uint8_t *in, size_t len, gg_buf *out);

/* Decodes prefixed text, appends the bytes to out; *prefix (may be NULL) gets the base.
 * GG_EPARSE on bad characters or padding, GG_EUNSUPPORTED on an unknown prefix. */
int gg_multibase_decode(const char *s, size_t len, gg_buf *out, char *prefix);

/* Raw base58btc without a prefix (peer ids, CIDv0). Encode appends text to out. */
int gg_base58btc_encode(const uint8_t *in, size_t len, gg_buf *out);
int gg_base58btc_decode(const char *s, size_t len, gg_buf *out);

#endif
