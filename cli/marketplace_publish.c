/*
 * ggen marketplace publish [DIR] --local: packs a package directory, signs its release record
 * with <home>/publisher.key and stores archive and record on this node
 * (include/ggen/publish.h). Publishing to peers comes with the P2P layer; until then --local
 * is required so that nobody believes a package went out to the network.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "cli_marketplace.h"
#include "ggen/err.h"
#include "ggen/home.h"
#include "ggen/publish.h"
#include "ggen/release.h"

static const char usage[] =
    "usage: ggen marketplace publish [DIR] --local [--dry-run] [--json] [--home DIR]\n"
    "\n"
    "Publishes the package in DIR (default: the current directory) on this node: reads its\n"
    "gpack.toml, packs it deterministically, signs a release record with the publisher key\n"
    "(<home>/publisher.key, see `ggen marketplace keygen`), and stores the archive in the\n"
    "package store and the record in the catalog, where search, info and install find it.\n"
    "A package id belongs to the key that first published it; versions are immutable.\n"
    "\n"
    "  --local      publish on this node only (required until publishing to peers exists)\n"
    "  --dry-run    run every check (manifest, packing, ownership, version), store nothing\n"
    "  --json       print {\"id\", \"version\", \"cid\", \"size\", \"files\", \"publisher\",\n"
    "               \"existed\", \"dry_run\"}\n"
    "\n"
    "exit codes: 0 published (or this exact release was already there), 2 bad usage,\n"
    "malformed manifest, content that cannot be packed (a symlink, over a limit) or no\n"
    "publisher key, 5 the id belongs to another key or the version exists with other\n"
    "content, 1 I/O or storage error\n";

int cli_mp_publish(cli_ctx *ctx, int argc, char **argv) {
  static const struct option opts[] = {CLI_COMMON_LONGOPTS,
                                       {"local", no_argument, NULL, 'L'},
                                       {"dry-run", no_argument, NULL, 'n'},
                                       {NULL, 0, NULL, 0}};
  int local = 0, dry = 0, c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "vhn", opts, NULL)) != -1) {
    if (cli_common_opt(ctx, c, optarg)) continue;
    switch (c) {
    case 'L': local = 1; break;
    case 'n': dry = 1; break;
    case 'h': fputs(usage, stdout); return CLI_OK;
    default: fputs(usage, stderr); return CLI_USAGE;
    }
  }
  if (argc - optind > 1) {
    cli_err(ctx, "one package directory at a time");
    return CLI_USAGE;
  }
  if (!local) {
    cli_err(ctx, "publishing to peers is not available yet: use --local to publish on this node");
    return CLI_USAGE;
  }
  const char *dir = optind < argc ? argv[optind] : ".";
  cli_mp_env e;
  int code = cli_mp_env_open(ctx, &e, CLI_MP_CATALOG | CLI_MP_STORE);
  if (code) return code;
  char *keypath = gg_home_path(e.home, "publisher.key");
  gg_keypair kp;
  int rv = keypath ? ggm_release_key_load(keypath, &kp) : GG_ENOMEM;
  if (rv) {
    if (rv == GG_ENOTFOUND)
      cli_err(ctx, "no publisher key in %s: create one with `ggen marketplace keygen`", keypath);
    else if (rv == GG_EINVAL)
      cli_err(ctx, "%s is readable by others: run chmod 600 on it", keypath);
    else
      cli_err(ctx, "cannot load the publisher key %s: %s", keypath ? keypath : "", gg_strerror(rv));
    free(keypath);
    cli_mp_env_close(&e);
    return rv == GG_EIO || rv == GG_ENOMEM ? CLI_FAIL : CLI_USAGE;
  }
  free(keypath);
  ggm_publish_env pe = {e.home, e.cat, e.store};
  ggm_publish_result res;
  /* packing at zstd level 19 and the test extraction take a while for a large package */
  int prog = cli_mp_progress_wanted(ctx);
  if (prog) fprintf(stderr, "packing, signing and verifying %s ...", dir);
  rv = ggm_publish_dir(dir, &pe, &kp, (int64_t)time(NULL), dry ? GGM_PUBLISH_DRY_RUN : 0, &res);
  if (prog) fputs("\r\033[K", stderr);
  if (rv) {
    cli_err(ctx, "%s", res.msg[0] ? res.msg : gg_strerror(rv));
    code = rv == GG_ELIMIT ? CLI_USAGE : rv == GG_EEXIST ? CLI_CONFLICT : cli_exit_for(rv);
  } else {
    char pub[65];
    for (int i = 0; i < 32; i++) snprintf(pub + 2 * i, 3, "%02x", res.publisher[i]);
    if (ctx->json) {
      printf("{\"id\":");
      cli_json_str(stdout, res.id);
      printf(",\"version\":");
      cli_json_str(stdout, res.version);
      printf(",\"cid\":\"%s\",\"size\":%" PRIu64 ",\"files\":%" PRIu64
             ",\"publisher\":\"%s\",\"existed\":%s,\"dry_run\":%s}\n",
             res.cid, res.size, res.files, pub, res.existed ? "true" : "false",
             dry ? "true" : "false");
    } else {
      const char *what = dry ? "would publish" : res.existed ? "already published" : "published";
      printf("%s %s@%s\n  archive   %s (%" PRIu64 " bytes, %" PRIu64 " files)\n  publisher %s\n",
             what, res.id, res.version, res.cid, res.size, res.files, pub);
    }
  }
  cli_mp_env_close(&e);
  return code;
}
