/*
 * Length-prefixed messages: <unsigned varint length><body>, the framing of Identify, Kademlia,
 * Gossipsub and our marketplace protocols on a libp2p stream (js: it-length-prefixed).
 *
 * gg_lpm is the one incremental reader for them all. Feed it stream bytes in pieces of any size;
 * it hands out one complete body at a time. The cap on a body is set at creation and checked on
 * the prefix, before any of the body is buffered. Memory grows only with bytes actually
 * received (a peer announcing a 4 MiB message and sending 10 bytes costs 10 bytes), and a body
 * that arrives whole in one piece is handed out in place, without a copy.
 *
 * Use:
 *   while (len > 0) {
 *     size_t used; const uint8_t *msg; size_t mlen;
 *     int rc = gg_lpm_read(&r, in, len, &used, &msg, &mlen);
 *     in += used; len -= used;
 *     if (rc == GG_EAGAIN) break;          // everything consumed, message incomplete
 *     if (rc) { close the stream: rc says why; }
 *     handle(msg, mlen);                   // valid until the next gg_lpm_read / gg_lpm_free
 *   }
 */
#ifndef GGEN_LPM_H
#define GGEN_LPM_H

#include <stddef.h>
#include <stdint.h>

#include "ggen/buf.h"
#include "ggen/varint.h"

/* A body buffer bigger than this is freed after its message, so that an idle stream that once
 * carried a large message does not keep it allocated. */
#define GG_LPM_KEEP 4096

typedef struct gg_lpm {
  gg_buf body;   /* the current body when it arrives in pieces */
  size_t max;    /* largest body accepted */
  uint64_t need; /* body length, once the prefix is complete */
  int err;       /* sticky error: the reader is unusable after one */
  uint8_t hdr[GG_VARINT_MF_MAX];
  uint8_t hlen;      /* prefix bytes read so far */
  uint8_t have_len;  /* the prefix is complete */
  uint8_t delivered; /* a message was handed out: start afresh on the next call */
} gg_lpm;

/* Initialises a reader for bodies of at most max bytes. Allocates nothing. */
void gg_lpm_init(gg_lpm *r, const gg_mem *mem, size_t max);

/* Frees the buffered bytes. The reader may be initialised again. */
void gg_lpm_free(gg_lpm *r);

/*
 * Consumes bytes of in[0..len) up to the end of the next complete message. *used gets the
 * number of bytes consumed (also on error). Returns:
 *   GG_OK     a message is complete: *msg, *mlen is its body (a zero-length body is a message),
 *             pointing into in or into the reader, valid until the next call or gg_lpm_free;
 *   GG_EAGAIN all of in was consumed and no message is complete yet;
 *   GG_ETOOBIG the prefix announces more than max bytes;
 *   GG_EPROTO  the prefix is not a valid varint (over 9 bytes or not minimal);
 *   GG_ENOMEM.
 * Any error is sticky: later calls return it again.
 */
int gg_lpm_read(gg_lpm *r, const uint8_t *in, size_t len, size_t *used, const uint8_t **msg,
                size_t *mlen);

/* 1 when the reader is between messages (nothing of the next one read), else 0. At the end of
 * a stream, 0 means the peer stopped in the middle of a message. */
int gg_lpm_idle(const gg_lpm *r);

/* Appends <varint len><msg> to out. gg_buf errors (nothing appended on error). */
int gg_lpm_write(gg_buf *out, const uint8_t *msg, size_t len);

#endif
