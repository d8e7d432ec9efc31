/*
 * The archive fetch protocol /ggen/fetch/1.0.0 (proto/market.proto, docs/p2p-marketplace.md):
 * message codecs and the receiving side's state machine. No I/O: the service
 * (src/net/market_service.c) moves the bytes.
 *
 * On the wire, on one stream: the client writes a length-prefixed FetchRequest (the archive's
 * CID); the server answers a length-prefixed FetchResponse (status, size) and, when the status
 * is OK, exactly `size` raw archive bytes, then closes its side.
 *
 * ggm_fetch_rx is the client's receiver: fed the stream's bytes in pieces of any size, it
 * parses the header, refuses a size over the cap or different from the one the signed record
 * names, hands body bytes to a sink as they arrive while hashing them, and accepts the
 * transfer only when the byte count and the sha2-256 digest match the CID. A caller that
 * writes the sink's bytes to a temporary file therefore never stores anything unverified.
 * Invariants: never more than the announced size reaches the sink; an error is sticky.
 */
#ifndef GGEN_FETCH_H
#define GGEN_FETCH_H

#include <stddef.h>
#include <stdint.h>

#include "ggen/buf.h"
#include "ggen/lpm.h"
#include "ggen/pack.h"

#define GGM_FETCH_PROTOCOL "/ggen/fetch/1.0.0"
#define GGM_FETCH_REQ_MAX 128  /* bytes of a FetchRequest body */
#define GGM_FETCH_HDR_MAX 1024 /* bytes of a FetchResponse body */
#define GGM_FETCH_MSG_MAX 256  /* bytes of the response's message kept */
#define GGM_FETCH_MAX_SIZE                                                                         \
  (256ull << 20) /* default cap on one archive (the packer's cap on                                \
                    content; compressed archives are smaller) */

/* Status of a FetchResponse or SearchResponse (proto/market.proto enum Status). */
enum {
  GGM_ST_OK = 0,
  GGM_ST_NOT_FOUND = 1,
  GGM_ST_TOO_BIG = 2,
  GGM_ST_BUSY = 3,
  GGM_ST_BAD_REQUEST = 4,
  GGM_ST_ERROR = 5,
  GGM_ST_RATE_LIMITED = 6,
};

/* The GG_E* code a receiver reports for a status: GG_OK, GG_ENOTFOUND, GG_ELIMIT (too big,
 * busy, rate limited: another provider may do), GG_EINVAL (the server says our request was
 * bad), GG_EIO (server failure), GG_EPROTO (unknown status). */
int ggm_status_err(int status);

/* A short name for a status ("ok", "not found", ...; "?" when unknown). */
const char *ggm_status_name(int status);

/* Appends the length-prefixed FetchRequest for cid to out. gg_buf errors. */
int ggm_fetch_req_encode(const uint8_t cid[GGM_CID_LEN], gg_buf *out);

/* Decodes a FetchRequest body (without its prefix) into cid. GG_ETOOBIG (over
 * GGM_FETCH_REQ_MAX), GG_EPROTO (malformed, or not a CIDv1 raw sha2-256). */
int ggm_fetch_req_decode(const uint8_t *body, size_t len, uint8_t cid[GGM_CID_LEN]);

/* Appends the length-prefixed FetchResponse (status, size, message: may be NULL, truncated to
 * GGM_FETCH_MSG_MAX) to out. GG_EINVAL for an unknown status; gg_buf errors. */
int ggm_fetch_hdr_encode(int status, uint64_t size, const char *message, gg_buf *out);

typedef struct ggm_fetch_hdr {
  int status;                          /* GGM_ST_* */
  uint64_t size;                       /* archive bytes that follow (OK) */
  char message[GGM_FETCH_MSG_MAX + 1]; /* NUL-terminated, control characters replaced */
} ggm_fetch_hdr;

/* Decodes a FetchResponse body. GG_ETOOBIG, GG_EPROTO (malformed, unknown status, size set on
 * an error status). */
int ggm_fetch_hdr_decode(const uint8_t *body, size_t len, ggm_fetch_hdr *h);

/* ---- the receiver ---------------------------------------------------------------------------- */

/* Where body bytes go (a temporary file). Non-zero stops the transfer with that code. */
typedef int (*ggm_fetch_sink)(void *ud, const uint8_t *p, size_t n);

typedef struct ggm_fetch_rx {
  gg_lpm lpm;
  uint8_t cid[GGM_CID_LEN];
  uint64_t expect; /* size the record names, 0 = unknown */
  uint64_t max;
  uint64_t got;
  ggm_fetch_hdr hdr;
  int state;          /* private */
  int have_hdr;       /* 1 once hdr is valid */
  int err;            /* sticky */
  uint64_t hash_[32]; /* private: sha2-256 state (opaque here: no libsodium in the header) */
} ggm_fetch_rx;

/* Prepares a receiver for the archive cid of expect_size bytes (0 = unknown), refusing more
 * than max_size (0 = GGM_FETCH_MAX_SIZE). mem may be NULL. Allocates nothing yet. */
void ggm_fetch_rx_init(ggm_fetch_rx *rx, const gg_mem *mem, const uint8_t cid[GGM_CID_LEN],
                       uint64_t expect_size, uint64_t max_size);

/* Frees the receiver's buffer. */
void ggm_fetch_rx_free(ggm_fetch_rx *rx);

/*
 * Feeds in[0..len). Returns GG_EAGAIN (everything consumed, the transfer is not complete),
 * GG_OK (all `size` bytes arrived and match the CID: the sink has the verified archive), or
 * an error, which is sticky:
 *   the server's status mapped by ggm_status_err (GG_ENOTFOUND, GG_ELIMIT, GG_EINVAL, GG_EIO);
 *   GG_ETOOBIG  the announced size is over the cap, or bytes arrived beyond it (only the
 *               announced size reaches the sink; the extra is judged after the digest, so the
 *               outcome does not depend on how the stream was split);
 *   GG_EINTEGRITY the announced size differs from the record's, or the digest differs;
 *   GG_EPROTO   malformed header; the sink's own code; GG_ENOMEM.
 * Bytes after a completed transfer are an error (GG_ETOOBIG).
 */
int ggm_fetch_rx_recv(ggm_fetch_rx *rx, const uint8_t *in, size_t len, ggm_fetch_sink sink,
                      void *ud);

/* The stream ended. GG_OK when the transfer completed; the sticky error; else GG_EPROTO
 * (the peer stopped early: truncated header or body). */
int ggm_fetch_rx_eof(ggm_fetch_rx *rx);

/* 1 once the header has been parsed (rx->hdr is valid). */
int ggm_fetch_rx_has_header(const ggm_fetch_rx *rx);

#endif
