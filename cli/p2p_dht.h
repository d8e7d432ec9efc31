/*
 * DHT operations shared by `ggen p2p start` (which serves them on its control socket) and the
 * `ggen p2p dht` commands (which send them there, or run them on a one-shot node).
 *
 * An operation is a JSON object, one line on the control socket:
 *   {"op":"put","key":"/test/k","value_hex":"..."}     {"op":"get","key":"/ggen-pkg/a@1.0.0"}
 *   {"op":"provide","mh_hex":"1220..."}                  {"op":"find-providers","mh_hex":"..."}
 *   {"op":"find-peer","peer":"12D3KooW..."}              {"op":"bootstrap","addrs":["/ip4/..."]}
 *   {"op":"status"}
 * and its answer is one JSON object: {"ok":true|false,"err":<GG_E* code>,"error":"...", plus
 * what the query found: "value_hex", "peers"/"providers" ([{"id","addrs":[...]}]), "stored",
 * "routing_peers", and the statistics "rounds", "requests", "replies", "failures", "ms"}.
 */
#ifndef GG_CLI_P2P_DHT_H
#define GG_CLI_P2P_DHT_H

#include <jansson.h>

#include "ggen/kad_service.h"

#define CLI_CTL_SOCKET "p2p.sock" /* in the home directory */
#define CLI_CTL_MAX_LINE (1u << 20)

/* Runs op on k; done(answer, ud) is called once from the loop (the answer is borrowed), unless
 * k is closed first. Returns 0; or -1 when the answer is ready at once (status, or an error:
 * op malformed or the query could not start): *answer then holds it (caller frees) and done is
 * not called. */
int cli_dht_exec(ggn_kad *k, json_t *op, void (*done)(json_t *answer, void *ud), void *ud,
                 json_t **answer);

/* Frees the operations still in flight: call once their service is closed (it forgets its
 * queries without calling back) and the loop has stopped. */
void cli_dht_forget(void);

/* An error answer {"ok":false,"err":err,"error":msg or gg_strerror(err)}. */
json_t *cli_dht_error(int err, const char *msg);

/* The control socket server of a running node. */
typedef struct cli_ctl cli_ctl;

/* Listens on path (a Unix socket, mode 0600). Returns GG_OK, GG_EEXIST (a node already
 * answers there), GG_EINVAL (path too long), GG_EIO. */
int cli_ctl_start(cli_ctl **out, uv_loop_t *loop, const char *path, ggn_kad *k);

/* Operations of other services on the same socket: returns 1 when op is not one of its own
 * (the DHT's are tried then), 0 when done(answer, dud) will follow, -1 when *answer is ready. */
typedef int (*cli_ctl_exec_fn)(void *ud, json_t *op, void (*done)(json_t *answer, void *dud),
                               void *dud, json_t **answer);

/* Installs fn as the first handler of every request (NULL removes it). */
void cli_ctl_set_extra(cli_ctl *c, cli_ctl_exec_fn fn, void *ud);

/* Closes the listener and every client connection and removes the socket file. */
void cli_ctl_stop(cli_ctl *c);

/* 1 when a node accepts connections on path. */
int cli_ctl_alive(const char *path);

/* Sends op to the node listening on path and waits up to timeout_ms for its answer.
 * GG_OK (*answer set), GG_ENOTFOUND (no node listens there), GG_ETIMEDOUT, GG_EIO. */
int cli_ctl_call(const char *path, json_t *op, int timeout_ms, json_t **answer);

/* Hex helpers: cli_hex returns a malloc'd lowercase string; cli_unhex a malloc'd buffer (NULL
 * when s is not even-length hex). */
char *cli_hex(const uint8_t *p, size_t n);
uint8_t *cli_unhex(const char *s, size_t *n);

#endif
