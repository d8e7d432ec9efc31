/*
 * ggen marketplace commands, one file each (cli/marketplace_<name>.c), dispatched from the
 * table in cli/marketplace.c.
 */
#ifndef GG_CLI_MARKETPLACE_H
#define GG_CLI_MARKETPLACE_H

#include "cli.h"

int cli_mp_search(cli_ctx *ctx, int argc, char **argv);
int cli_mp_info(cli_ctx *ctx, int argc, char **argv);
int cli_mp_import(cli_ctx *ctx, int argc, char **argv);
int cli_mp_keygen(cli_ctx *ctx, int argc, char **argv);
int cli_mp_pack(cli_ctx *ctx, int argc, char **argv);
int cli_mp_cache(cli_ctx *ctx, int argc, char **argv);
int cli_mp_unpack(cli_ctx *ctx, int argc, char **argv);

#endif
