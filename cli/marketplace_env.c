/*
 * What the marketplace commands open in a node's home: the catalog (<home>/catalog.db) and
 * the blob store (<home>/store), with one error message per failure (cli/cli_marketplace.h).
 */
#include <stdlib.h>
#include <unistd.h>

#include "cli.h"
#include "cli_marketplace.h"
#include "ggen/err.h"
#include "ggen/home.h"

int cli_mp_env_open(cli_ctx *ctx, cli_mp_env *e, unsigned what) {
  *e = (cli_mp_env){0};
  e->home = cli_home(ctx);
  if (!e->home) return CLI_FAIL;
  if (what & CLI_MP_CATALOG) {
    char *path = gg_home_path(e->home, "catalog.db");
    int rv = path ? ggs_catalog_open(&e->cat, path, GGS_CATALOG_CREATE, NULL) : GG_ENOMEM;
    if (rv) {
      cli_err(ctx, "cannot open the catalog %s: %s", path ? path : "", gg_strerror(rv));
      free(path);
      cli_mp_env_close(e);
      return cli_exit_for(rv);
    }
    free(path);
  }
  if (what & CLI_MP_STORE) {
    char *dir = gg_home_path(e->home, "store");
    int rv = dir ? ggs_blob_open(&e->store, dir, NULL, NULL) : GG_ENOMEM;
    if (rv) {
      cli_err(ctx, "cannot open the package store %s: %s", dir ? dir : "", gg_strerror(rv));
      free(dir);
      cli_mp_env_close(e);
      return cli_exit_for(rv);
    }
    free(dir);
  }
  return CLI_OK;
}

void cli_mp_env_close(cli_mp_env *e) {
  ggs_catalog_close(e->cat);
  ggs_blob_close(e->store);
  free(e->home);
  *e = (cli_mp_env){0};
}

int cli_mp_progress_wanted(const cli_ctx *ctx) { return !ctx->json && isatty(2); }
