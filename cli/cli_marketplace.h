/*
 * ggen marketplace commands, one file each (cli/marketplace_<name>.c), dispatched from the
 * table in cli/marketplace.c.
 */
#ifndef GG_CLI_MARKETPLACE_H
#define GG_CLI_MARKETPLACE_H

#include "cli.h"
#include "ggen/blobstore.h"
#include "ggen/catalog.h"

int cli_mp_search(cli_ctx *ctx, int argc, char **argv);
int cli_mp_info(cli_ctx *ctx, int argc, char **argv);
int cli_mp_import(cli_ctx *ctx, int argc, char **argv);
int cli_mp_keygen(cli_ctx *ctx, int argc, char **argv);
int cli_mp_pack(cli_ctx *ctx, int argc, char **argv);
int cli_mp_cache(cli_ctx *ctx, int argc, char **argv);
int cli_mp_unpack(cli_ctx *ctx, int argc, char **argv);

int cli_mp_publish(cli_ctx *ctx, int argc, char **argv);
int cli_mp_install(cli_ctx *ctx, int argc, char **argv);
int cli_mp_remove(cli_ctx *ctx, int argc, char **argv);
int cli_mp_update(cli_ctx *ctx, int argc, char **argv);
int cli_mp_list(cli_ctx *ctx, int argc, char **argv);

/* A node's home with what a command needs opened (cli/marketplace_env.c). */
typedef struct cli_mp_env {
  char *home;
  ggs_catalog *cat;      /* CLI_MP_CATALOG: <home>/catalog.db, created if missing */
  ggs_blob_store *store; /* CLI_MP_STORE: <home>/store */
} cli_mp_env;
enum { CLI_MP_CATALOG = 1, CLI_MP_STORE = 2 };

/* Resolves the home and opens what `what` asks for; prints the error and returns an exit
 * code (CLI_OK on success; then close with cli_mp_env_close). */
int cli_mp_env_open(cli_ctx *ctx, cli_mp_env *e, unsigned what);
void cli_mp_env_close(cli_mp_env *e);

/* 1 when progress lines should be drawn: stderr is a terminal and the output is not JSON. */
int cli_mp_progress_wanted(const cli_ctx *ctx);

#endif
