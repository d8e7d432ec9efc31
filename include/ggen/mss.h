/*
 * multistream-select 1.0 (`/multistream/1.0.0`) as a core without I/O: one session object
 * negotiates one protocol on one byte stream (a raw connection, a secured connection or a
 * Yamux stream), as dialer or as listener.
 *
 * Wire format (multiformats/multistream-select README; libp2p/specs connections/README.md
 * "Protocol Negotiation"): every message is an unsigned varint length, then that many bytes,
 * the last of which is '\n'. Both sides start with the header "/multistream/1.0.0"; the
 * dialer then proposes protocols one at a time, the listener echoes a proposal it accepts or
 * answers "na". "ls" asks the listener for its protocols.
 *
 * Usage (both roles):
 *   ggp_mss_new(&s, &cb, &settings, mem, ud);
 *   ggp_mss_start(s, out);                    // dialer: header + first proposal (one write);
 *                                             // listener: optional, writes nothing
 *   loop: rv = ggp_mss_recv(s, in, len, &used, out);   // send whatever landed in out
 *         GG_EAGAIN: feed more input; GG_OK: agreed, in[used..len) belongs to the protocol;
 *         anything else: negotiation failed (GG_ENOPROTO when the listener refused every
 *         proposal, a PEER-class code when the remote broke the protocol).
 *   ggp_mss_protocol(s, NULL);               // the agreed protocol
 *   ggp_mss_del(s);
 *
 * Lazy dialer (js-libp2p's "optimistic select"): with settings.lazy the dialer has exactly
 * one proposal and the caller may write application data right after start()'s output,
 * without waiting. Acceptance is still never assumed: recv() returns GG_OK only after the
 * header and the echo of the proposal arrived, and the caller must not hand the remote's
 * bytes to the application before that (they are the remote's mss replies until then).
 *
 * The session never sends on its own; all output goes into the caller's gg_buf and a failed
 * append (the caller's cap, or out of memory) is returned as is. No timers: the negotiation
 * timeout belongs to the host.
 */
#ifndef GGEN_MSS_H
#define GGEN_MSS_H

#include <stddef.h>
#include <stdint.h>

#include "ggen/buf.h"
#include "ggen/mem.h"

#define GGP_MSS_PROTOCOL_ID "/multistream/1.0.0"
#define GGP_MSS_NAME_MAX 1024     /* longest protocol name sent or accepted (js's limit) */
#define GGP_MSS_ROUNDS_DEFAULT 16 /* proposals/ls a listener answers before giving up */

typedef struct ggp_mss ggp_mss;

typedef struct ggp_mss_callbacks {
  /* Listener only, optional: returns 1 when the protocol name[0..len) is supported, else 0.
   * name is NUL-terminated and valid only during the call. When NULL, a proposal is accepted
   * when it equals one of settings.protocols exactly. Must not call back into the session. */
  int (*match)(const char *name, size_t len, void *ud);
} ggp_mss_callbacks;

typedef struct ggp_mss_settings {
  int dialer; /* 1: dialer (proposes), 0: listener (answers) */
  /* Dialer: proposals, tried in this order (at least one). Listener: the supported
   * protocols, used for exact matching when callbacks.match is NULL and as the answer to
   * "ls". The array and the strings are borrowed: they must outlive the session (a host
   * passes its static or registry-owned table; nothing is copied per stream). Each name is
   * 1..GGP_MSS_NAME_MAX bytes without '\n'. */
  const char *const *protocols;
  size_t nprotocols;
  int lazy;        /* dialer: see the file comment; requires nprotocols == 1 */
  int answer_ls;   /* listener: answer "ls" with settings.protocols (else "na") */
  unsigned rounds; /* listener: messages after the header it answers (proposals, "ls", repeated
                      headers) before failing with GG_ERATE; 0 = GGP_MSS_ROUNDS_DEFAULT */
} ggp_mss_settings;

/*
 * Creates a session. cb may be NULL (no callbacks). ud is passed to the callbacks.
 * Returns GG_OK, GG_EINVAL (no dialer proposals, a name empty, over GGP_MSS_NAME_MAX or
 * containing '\n', lazy with more than one proposal) or GG_ENOMEM; on failure *ps is untouched.
 */
int ggp_mss_new(ggp_mss **ps, const ggp_mss_callbacks *cb, const ggp_mss_settings *st,
                const gg_mem *mem, void *ud);

/*
 * Writes what this side sends before reading anything: the dialer's header and first
 * proposal (one write, as js does). The listener sends nothing yet: it answers the dialer's
 * header together with its first answer, so a listener whose peer does not speak
 * multistream-select sends nothing at all. A dialer must call it once, before recv(); for a
 * listener it is optional (recv() starts it), and allowed only before the first recv().
 * Returns GG_OK, GG_ESTATE (called twice, or on a listener after recv()) or out's append error
 * (GG_ETOOBIG, GG_ENOMEM).
 */
int ggp_mss_start(ggp_mss *s, gg_buf *out);

/*
 * Feeds received bytes. Messages may arrive split at any byte or several per call. Replies
 * are appended to out. *consumed gets the number of bytes of in that belonged to the
 * negotiation; after GG_OK, in[*consumed..len) is the first data of the agreed protocol and
 * must be handed to it.
 * Returns:
 *   GG_OK        agreed (ggp_mss_protocol() tells which);
 *   GG_EAGAIN    need more input (*consumed == len: partial messages are kept inside);
 *   GG_ENOPROTO  dialer: the listener answered "na" to every proposal;
 *   GG_EPROTO    the remote broke the protocol (bad header, missing newline, malformed varint,
 *                an unexpected answer);
 *   GG_ETOOBIG   a message longer than GGP_MSS_NAME_MAX + 1;
 *   GG_ERATE     listener: more than settings.rounds messages without agreement;
 *   GG_ESTATE    dialer: called before start(); either: after agreement or after a failure;
 *   out's append errors (GG_ETOOBIG, GG_ENOMEM) or GG_ENOMEM.
 * Every code except GG_EAGAIN ends the negotiation.
 */
int ggp_mss_recv(ggp_mss *s, const uint8_t *in, size_t len, size_t *consumed, gg_buf *out);

/* 1 once a protocol is agreed. */
int ggp_mss_done(const ggp_mss *s);

/* 1 when the caller may write application data after what the session wrote: after
 * agreement, or at once for a started lazy dialer. */
int ggp_mss_may_send(const ggp_mss *s);

/* The agreed protocol (NUL-terminated, valid until ggp_mss_del), NULL before agreement.
 * len may be NULL. */
const char *ggp_mss_protocol(const ggp_mss *s, size_t *len);

/* Dialer: index in settings.protocols of the agreed proposal; listener: index of the agreed
 * name in settings.protocols when it is there. -1 otherwise. */
int ggp_mss_protocol_index(const ggp_mss *s);

/* Frees the session (NULL is fine). */
void ggp_mss_del(ggp_mss *s);

/* Appends one multistream message: varint(len + 1) || msg || '\n'. GG_EINVAL when len is
 * 0 or over GGP_MSS_NAME_MAX, else out's append errors. */
int ggp_mss_write_msg(gg_buf *out, const char *msg, size_t len);

#endif
