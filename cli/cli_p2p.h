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

/* The node's log level for -v (warn), -vv (info)... */
int cli_p2p_log_level(const cli_ctx *ctx);

/* Loads or creates the identity key of home, printing an error on failure (GG_* code). */
int cli_p2p_load_identity(const cli_ctx *ctx, const char *home, gg_keypair *kp);

#endif
