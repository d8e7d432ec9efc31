/*
 * Shared by the marketplace commands that use the package catalog (<home>/catalog.db).
 */
#ifndef GG_CLI_MARKETPLACE_CATALOG_H
#define GG_CLI_MARKETPLACE_CATALOG_H

#include "cli.h"
#include "ggen/catalog.h"

/* Opens the catalog of this invocation's home (flags: GGS_CATALOG_*). On failure prints a
 * message and returns the exit code (a missing catalog is CLI_NOTFOUND with a hint to
 * import one); on success returns CLI_OK with *out set. */
int cli_catalog_open(const cli_ctx *ctx, unsigned flags, ggs_catalog **out);

#endif
