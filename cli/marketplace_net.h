/*
 * How marketplace commands reach the network (docs/p2p-marketplace.md "Where commands run").
 *
 * Marketplace network operations are JSON objects, like the DHT's (cli/p2p_dht.h):
 *   {"op":"market-publish","record_hex":"..."}
 *   {"op":"market-fetch","record_hex":"...","hints":["12D3KooW..."]}
 *   {"op":"market-lookup","id":"io.x","version":"1.0.0"|null}
 *   {"op":"market-search","query":"...","tags":[...],"author":...,"limit":N}
 *   {"op":"market-status"}
 * answered by one JSON object {"ok","err","error", ...what the operation found}.
 *
 * cli_market_exec runs one on a market service; a running `ggen p2p start` serves them on its
 * control socket. A command gets a cli_net session: the running node of its home when there is
 * one (the operation runs there, so what it fetches is served and provided by a node that stays
 * up), else a short-lived node of its own started on first use (this home's identity, client
 * mode: it serves nothing and provides nothing), joined through --bootstrap or
 * $GGEN_P2P_BOOTSTRAP, else offline (local only).
 */
#ifndef GG_CLI_MARKETPLACE_NET_H
#define GG_CLI_MARKETPLACE_NET_H

#include <jansson.h>

#include "cli.h"
#include "ggen/gossip_service.h"
#include "ggen/market_service.h"

/* ---- operations (cli/marketplace_ops.c) -------------------------------------------------- */

/* Runs op on m (a cli_ctl_exec_fn with ud = m): 1 when op is not a market operation, 0 when
 * done(answer, dud) follows from the loop, -1 when *answer is ready (status, or an error). */
int cli_market_exec(void *m, json_t *op, void (*done)(json_t *answer, void *dud), void *dud,
                    json_t **answer);

/* Frees the operations in flight: call once their service is closed (it drops their
 * callbacks) and the loop has stopped. */
void cli_market_forget(void);

/* ---- sessions (cli/marketplace_net.c) ------------------------------------------------------ */

enum { CLI_NET_OFFLINE = 0, CLI_NET_NODE, CLI_NET_ONESHOT };

/* Network options every marketplace command that may use the network takes. */
typedef struct cli_net_opts {
  const char *boot[32];
  int nboot;
  int explicit_boot; /* --bootstrap given (else from $GGEN_P2P_BOOTSTRAP) */
  int offline;       /* --offline */
  int timeout_s;     /* --timeout (default 30) */
  char *envbuf;      /* owns the $GGEN_P2P_BOOTSTRAP strings */
} cli_net_opts;

#define CLI_OPT_BOOT 'b'
#define CLI_OPT_OFFLINE 0x1101
#define CLI_OPT_TIMEOUT 0x1102
#define CLI_NET_LONGOPTS                                                                           \
  {"bootstrap", 1, NULL, CLI_OPT_BOOT}, {"offline", 0, NULL, CLI_OPT_OFFLINE}, {                   \
    "timeout", 1, NULL, CLI_OPT_TIMEOUT                                                            \
  }

/* The help lines for CLI_NET_LONGOPTS. */
#define CLI_NET_HELP                                                                               \
  "  -b, --bootstrap MULTIADDR  peers to join through when no node runs in this home\n"            \
  "                             (repeatable; default $GGEN_P2P_BOOTSTRAP)\n"                       \
  "  --offline                  use this node's catalog and store only\n"                          \
  "  --timeout S                give up on the network after S seconds (default 30)\n"

/* Handles a network option: 1 when c was one (stored in o), 0 when not, -1 after an error was
 * printed (bad value). */
int cli_net_opt(cli_ctx *ctx, cli_net_opts *o, int c, const char *arg);

/* Fills the bootstrap list from $GGEN_P2P_BOOTSTRAP when no --bootstrap was given. */
void cli_net_opts_finish(cli_net_opts *o);
void cli_net_opts_free(cli_net_opts *o);

typedef struct cli_net cli_net;

/* Chooses how to reach the network for home (see the file comment). Never fails for lack of a
 * network: the session is then offline. NULL only when out of memory. */
cli_net *cli_net_open(cli_ctx *ctx, const char *home, const cli_net_opts *o);
int cli_net_mode(const cli_net *n);
/* "node 12D3...", "short-lived node via N bootstrap peers", "offline". */
const char *cli_net_describe(const cli_net *n);

/* Runs op (not consumed) and returns its answer (never NULL; an error answer when the network
 * cannot be reached: err GG_EUNREACHABLE, or GG_ETIMEDOUT after the session's timeout). The
 * first call of a short-lived session starts its node and joins the network. */
json_t *cli_net_call(cli_net *n, json_t *op);

/* Stops the short-lived node, if any, and frees the session. */
void cli_net_close(cli_net *n);

/* Helpers for answers. */
int cli_net_answer_err(const json_t *a); /* the answer's "err" (GG_EIO when absent) */
const char *cli_net_answer_error(const json_t *a);

#endif
