/*
 * Helpers of the catalog commands (marketplace_catalog.h).
 */
#include <stdlib.h>

#include "ggen/err.h"
#include "ggen/home.h"
#include "marketplace_catalog.h"

int cli_catalog_open(const cli_ctx *ctx, unsigned flags, ggs_catalog **out) {
  char *home = cli_home(ctx);
  if (home == NULL) return CLI_FAIL;
  char *path = gg_home_path(home, "catalog.db");
  free(home);
  if (path == NULL) {
    cli_err(ctx, "out of memory");
    return CLI_FAIL;
  }
  ggs_catalog *cat = NULL;
  int err = ggs_catalog_open(&cat, path, flags, NULL);
  if (err == GG_ENOTFOUND) {
    cli_err(ctx, "no package catalog at %s yet: load one with 'ggen marketplace import FILE'",
            path);
  } else if (err == GG_EUNSUPPORTED) {
    cli_err(ctx, "%s was written by a newer ggen, or is not a package catalog", path);
  } else if (err) {
    cli_err(ctx, "cannot open the catalog %s: %s", path, gg_strerror(err));
  }
  free(path);
  if (err) return err == GG_ENOTFOUND ? CLI_NOTFOUND : cli_exit_for(err);
  *out = cat;
  return CLI_OK;
}
