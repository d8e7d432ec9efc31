/*
 * ggen marketplace: find, install and publish gpacks. Commands are added to the table as the
 * marketplace core lands.
 */
#include "cli.h"

static const char help[] = "usage: ggen marketplace <command> [options]\n";

static const cli_cmd cmds[] = {
    {NULL, NULL, NULL},
};

int cli_marketplace_main(cli_ctx *ctx, int argc, char **argv) {
  return cli_dispatch(ctx, "ggen marketplace", help, cmds, argc - 1, argv + 1);
}
