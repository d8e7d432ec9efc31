/*
 * ggen marketplace keygen: creates the publisher key (<home>/publisher.key, Ed25519, mode
 * 0600) that signs release records. A package id belongs to the key that first published it,
 * so the key is never overwritten: an existing key is reported and kept.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_marketplace.h"
#include "ggen/err.h"
#include "ggen/home.h"
#include "ggen/rand.h"
#include "ggen/release.h"

static const char usage[] =
    "usage: ggen marketplace keygen [--json] [--home DIR]\n"
    "\n"
    "Creates the publisher key that signs your releases: <home>/publisher.key (Ed25519,\n"
    "mode 0600). The first key to publish a package id owns it: keep the file safe and back\n"
    "it up. An existing key is never replaced; keygen then prints its public key.\n"
    "\n"
    "exit codes: 0 created, 5 a key already exists, 1 I/O error, 2 bad usage\n";

static void print_pub(const cli_ctx *ctx, const char *path, const uint8_t *pub, int created) {
  char hex[2 * GG_ED25519_PUB + 1];
  for (int i = 0; i < GG_ED25519_PUB; i++) snprintf(hex + 2 * i, 3, "%02x", pub[i]);
  if (ctx->json) {
    printf("{\"path\":");
    cli_json_str(stdout, path);
    printf(",\"public_key\":\"%s\",\"created\":%s}\n", hex, created ? "true" : "false");
  } else
    printf("%s publisher key %s\npublic key: %s\n", created ? "created" : "existing", path, hex);
}

int cli_mp_keygen(cli_ctx *ctx, int argc, char **argv) {
  static const struct option opts[] = {CLI_COMMON_LONGOPTS, {NULL, 0, NULL, 0}};
  optind = 1;
  int c;
  while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
    if (cli_common_opt(ctx, c, optarg)) continue;
    if (c == 'h') {
      fputs(usage, stdout);
      return CLI_OK;
    }
    fputs(usage, stderr);
    return CLI_USAGE;
  }
  if (optind != argc) {
    fputs(usage, stderr);
    return CLI_USAGE;
  }
  char *home = cli_home(ctx);
  if (home == NULL) return CLI_FAIL;
  char *path = gg_home_path(home, "publisher.key");
  free(home);
  if (path == NULL) return CLI_FAIL;
  gg_keypair kp;
  int rv = ggm_release_key_create(path, gg_rand_system(), &kp);
  int code = CLI_OK;
  if (rv == GG_OK) {
    print_pub(ctx, path, kp.pub, 1);
  } else if (rv == GG_EEXIST) {
    int lrv = ggm_release_key_load(path, &kp);
    if (lrv == GG_OK) {
      cli_err(ctx, "a publisher key already exists (not replaced): %s", path);
      print_pub(ctx, path, kp.pub, 0);
    } else {
      cli_err(ctx, "%s exists but cannot be used: %s", path,
              lrv == GG_EINVAL ? "readable by group or others (chmod 600)" : gg_strerror(lrv));
    }
    code = CLI_CONFLICT;
  } else {
    cli_err(ctx, "cannot create %s: %s", path, gg_strerror(rv));
    code = cli_exit_for(rv);
  }
  free(path);
  return code;
}
