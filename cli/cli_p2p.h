/*
 * The `ggen p2p` commands (one file each: p2p_<name>.c) and what they share.
 */
#ifndef GG_CLI_P2P_H
#define GG_CLI_P2P_H

#include <stdio.h>

#include "cli.h"
#include "ggen/key.h"

int cli_p2p_id(cli_ctx *ctx, int argc, char **argv);
int cli_p2p_start(cli_ctx *ctx, int argc, char **argv);
int cli_p2p_ping(cli_ctx *ctx, int argc, char **argv);
int cli_p2p_dht(cli_ctx *ctx, int argc, char **argv);
int cli_p2p_peers(cli_ctx *ctx, int argc, char **argv);
int cli_p2p_pubsub(cli_ctx *ctx, int argc, char **argv);

/* Prints one gossipsub message as `ggen p2p pubsub sub` does (a text line, or a JSON object
 * with --json) and flushes stdout. */
struct ggp_gossip_msg;
void cli_pubsub_print(const cli_ctx *ctx, const struct ggp_gossip_msg *m);

/* Copies argv (the strings are borrowed), giving every multiaddr that follows an option's value
 * its own copy of the option: "--bootstrap A B" becomes "--bootstrap A --bootstrap B", so
 * getopt sees them all. long_opt is "--bootstrap", short_opt 'b'. Free the array only.
 * NULL when out of memory. */
char **cli_p2p_expand(int argc, char **argv, const char *long_opt, char short_opt, int *nargc);

/* Splits $var on commas and white space into up to cap strings (pointers into *buf, which the
 * caller frees). Returns how many; 0 (and *buf NULL) when unset or empty. */
size_t cli_p2p_env_addrs(const char *var, char **buf, const char **out, size_t cap);

/* Validators for --open-namespace: any non-empty value under /ns/, the bytewise larger value
 * preferred. out[i].ns points to ns[i] (borrowed). */
struct ggp_kad_validator;
void cli_p2p_open_namespaces(const char *const *ns, int n, struct ggp_kad_validator *out);

/* The node's log level for -v (warn), -vv (info)... */
int cli_p2p_log_level(const cli_ctx *ctx);

/* Loads or creates the identity key of home, printing an error on failure (GG_* code). */
int cli_p2p_load_identity(const cli_ctx *ctx, const char *home, gg_keypair *kp);

#endif
