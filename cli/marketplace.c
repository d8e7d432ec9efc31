/*
 * ggen marketplace: find, install and publish gpacks. Commands are added to the table as the
 * marketplace core lands.
 */
#include "cli.h"
#include "cli_marketplace.h"
#include "marketplace_catalog.h"

static const char help[] = "usage: ggen marketplace <command> [options]\n";

static const cli_cmd cmds[] = {
    {"search", cli_mp_search, "search the local catalog and peers"},
    {"info", cli_mp_info, "show a package and its versions"},
    {"import", cli_mp_import, "load a ggen registry index into the catalog"},
    {"keygen", cli_mp_keygen, "create the publisher key that signs releases"},
    {"pack", cli_mp_pack, "build a package's deterministic archive, print its CID"},
    {"unpack", cli_mp_unpack, "extract a package archive safely"},
    {"cache", cli_mp_cache, "package cache: stats, gc, clean"},
    {"publish", cli_mp_publish, "sign and publish a package (DHT, provider, announcement)"},
    {"install", cli_mp_install, "install packs and their dependencies (from peers as needed)"},
    {"remove", cli_mp_remove, "remove packs (and dependencies nothing else needs)"},
    {"update", cli_mp_update, "move packs to the newest versions their ranges allow"},
    {"list", cli_mp_list, "list a project's packs and check them against the disk"},
    {NULL, NULL, NULL},
};

int cli_marketplace_main(cli_ctx *ctx, int argc, char **argv) {
  return cli_dispatch(ctx, "ggen marketplace", help, cmds, argc - 1, argv + 1);
}
