/*
 * Unsigned varints (LEB128), as multiformats' unsigned-varint spec and protobuf use them.
 *
 * Multiformats rules: at most 9 bytes (values < 2^63) and minimal encoding (no trailing
 * 0x80 continuation into a zero byte). gg_varint_decode() enforces both; protobuf's 10-byte
 * uint64 form is accepted only by gg_varint_decode_u64().
 */
#ifndef GGEN_VARINT_H
#define GGEN_VARINT_H

#include <stddef.h>
#include <stdint.h>

#define GG_VARINT_MAX 10      /* bytes needed for any uint64 */
#define GG_VARINT_MF_MAX 9    /* multiformats limit */

/* Writes v to out (room for GG_VARINT_MAX bytes) and returns the number of bytes written. */
size_t gg_varint_encode(uint64_t v, uint8_t *out);

/* Returns the encoded length of v. */
size_t gg_varint_len(uint64_t v);

/*
 * Decodes a multiformats varint from in[0..len). On success stores the value in *v and
 * returns the number of bytes read (1..9). Returns GG_EAGAIN when in ends inside the varint
 * (read more), GG_EPARSE when it is longer than 9 bytes or not minimally encoded.
 */
int gg_varint_decode(const uint8_t *in, size_t len, uint64_t *v);

/* As gg_varint_decode but accepts protobuf's up-to-10-byte form (and non-minimal ones). */
int gg_varint_decode_u64(const uint8_t *in, size_t len, uint64_t *v);

#endif
