/*
 * Error codes shared by every layer.
 *
 * All functions that can fail return 0 (GG_OK) or one negative code from GG_ERR_MAP.
 * The map has three columns: name, message, class. The class separates:
 *   LOCAL  - we failed (out of memory, bad argument, I/O) - the operation failed;
 *   PEER   - the remote peer misbehaved - drop that peer's connection or stream
 *            (ngtcp2's DROP_CONN), never the node;
 *   SOFT   - not a failure: retry later or a normal outcome (need more data, not found).
 * A code is "fatal" for a session object when it leaves it unusable (gg_err_is_fatal):
 * every LOCAL and PEER code is, SOFT codes are not.
 *
 * To add a code, add one X() line; the enum, gg_strerror() and the classifiers follow.
 */
#ifndef GGEN_ERR_H
#define GGEN_ERR_H

#define GG_ERR_MAP(X)                                                                    \
  X(NOMEM, -1, "out of memory", LOCAL)                                                   \
  X(INVAL, -2, "invalid argument", LOCAL)                                                \
  X(IO, -3, "input/output error", LOCAL)                                                 \
  X(STATE, -4, "operation not allowed in this state", LOCAL)                             \
  X(UNSUPPORTED, -5, "not supported", LOCAL)                                             \
  X(INTERNAL, -6, "internal error", LOCAL)                                               \
  X(CRYPTO, -7, "cryptographic operation failed", LOCAL)                                 \
  X(EXIST, -8, "already exists", LOCAL)                                                  \
  X(STORAGE, -9, "storage error", LOCAL)                                                 \
  X(AGAIN, -20, "need more data", SOFT)                                                  \
  X(NOTFOUND, -21, "not found", SOFT)                                                    \
  X(CLOSED, -22, "closed", SOFT)                                                         \
  X(TIMEDOUT, -23, "timed out", SOFT)                                                    \
  X(LIMIT, -24, "local limit reached", SOFT)                                             \
  X(CANCELED, -25, "canceled", SOFT)                                                     \
  X(NOPROTO, -26, "no protocol in common", SOFT)                                         \
  X(UNSAT, -27, "dependencies cannot be satisfied", SOFT)                                \
  X(RESET, -28, "stream reset by the peer", SOFT)                                        \
  X(UNREACHABLE, -29, "peer unreachable (refused, no route, no address)", SOFT)          \
  X(CONFLICT, -30, "conflicts with the lockfile or the installed packs", SOFT)           \
  X(PROTO, -40, "peer violated the protocol", PEER)                                      \
  X(TOOBIG, -41, "peer sent a message over the size limit", PEER)                        \
  X(BADSIG, -42, "peer sent an invalid signature", PEER)                                 \
  X(BADKEY, -43, "peer sent an invalid or unsupported key", PEER)                        \
  X(DECRYPT, -44, "message authentication failed", PEER)                                 \
  X(PEERID, -45, "peer id does not match the expected one", PEER)                        \
  X(FLOWCTL, -46, "peer exceeded flow-control window", PEER)                             \
  X(RATE, -47, "peer exceeded a rate limit", PEER)                                       \
  X(INTEGRITY, -48, "content does not match its hash (tampered or corrupt)", PEER)        \
  X(UNSAFE, -49, "unsafe archive (escaping path, link, device, duplicate or limit)", PEER) \
  X(OWNER, -50, "package id is owned by another publisher key", PEER)                     \
  X(PARSE, -60, "malformed input", LOCAL)

enum {
  GG_OK = 0,
#define GG__ERR_ENUM(name, code, msg, cls) GG_E##name = (code),
  GG_ERR_MAP(GG__ERR_ENUM)
#undef GG__ERR_ENUM
};

/* Returns a static, human-readable message for an error code (also for unknown ones). */
const char *gg_strerror(int err);

/* Returns the symbolic name ("GG_EPROTO") of an error code, or "GG_E?" when unknown. */
const char *gg_errname(int err);

/* Returns 1 when err says the remote peer misbehaved (class PEER), else 0. */
int gg_err_is_peer(int err);

/* Returns 1 when a session that returned err can no longer be used (LOCAL or PEER class). */
int gg_err_is_fatal(int err);

#endif
