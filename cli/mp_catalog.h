/*
 * Shared by the marketplace commands that use the package catalog (<home>/catalog.db).
 */
#ifndef GG_CLI_MP_CATALOG_H
#define GG_CLI_MP_CATALOG_H

#include "cli.h"
#include "ggen/catalog.h"

/* Opens the catalog of this invocation's home (flags: GGS_CATALOG_*). On failure prints a
 * message and returns the exit code (a missing catalog is CLI_NOTFOUND with a hint to
 * import one); on success returns CLI_OK with *out set. */
int cli_catalog_open(const cli_ctx *ctx, unsigned flags, ggs_catalog **out);

/* Parses the options every marketplace command accepts after its name (--home DIR, --json)
 * when getopt_long returns them; returns 1 when c was one of them. */
int cli_mp_common_opt(cli_ctx *ctx, int c, const char *arg);

/* getopt_long codes of the common options (beyond any short option character). */
enum { CLI_OPT_HOME = 0x100, CLI_OPT_JSON, CLI_OPT_HELP };

/* The catalog commands (mp_search.c, mp_import.c, mp_info.c). */
int cli_mp_search(cli_ctx *ctx, int argc, char **argv);
int cli_mp_import(cli_ctx *ctx, int argc, char **argv);
int cli_mp_info(cli_ctx *ctx, int argc, char **argv);

#endif
