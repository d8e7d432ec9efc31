/*
 * Helpers shared by the command files (cli/cli.h).
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ggen/err.h"
#include "ggen/home.h"

int cli_dispatch(cli_ctx *ctx, const char *group, const char *group_help, const cli_cmd *cmds,
                 int argc, char **argv) {
  if (argc < 1 || !strcmp(argv[0], "--help") || !strcmp(argv[0], "-h") ||
      !strcmp(argv[0], "help")) {
    fputs(group_help, argc < 1 ? stderr : stdout);
    if (cmds != NULL && strcmp(group, "ggen") != 0) {
      fprintf(argc < 1 ? stderr : stdout, "\ncommands:\n");
      for (const cli_cmd *c = cmds; c->name; c++)
        fprintf(argc < 1 ? stderr : stdout, "  %-16s %s\n", c->name, c->summary);
    }
    return argc < 1 ? CLI_USAGE : CLI_OK;
  }
  for (const cli_cmd *c = cmds; c->name; c++) {
    if (!strcmp(c->name, argv[0])) {
      char prog[128];
      snprintf(prog, sizeof(prog), "%s %s", group, c->name);
      const char *saved = ctx->prog;
      ctx->prog = prog;
      int rc = c->fn(ctx, argc, argv);
      ctx->prog = saved;
      return rc;
    }
  }
  fprintf(stderr, "%s: unknown command '%s' (try '%s --help')\n", group, argv[0], group);
  return CLI_USAGE;
}

int cli_common_opt(cli_ctx *ctx, int c, const char *arg) {
  switch (c) {
  case CLI_OPT_HOME: ctx->home_opt = arg; return 1;
  case CLI_OPT_JSON: ctx->json = 1; return 1;
  case 'v': ctx->verbose++; return 1;
  default: return 0;
  }
}

void cli_err(const cli_ctx *ctx, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "%s: ", ctx->prog);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

char *cli_home(const cli_ctx *ctx) {
  char *home = NULL;
  int rv = gg_home_resolve(ctx->home_opt, &home);
  if (rv == 0) rv = gg_home_ensure(home);
  if (rv != 0) {
    cli_err(ctx, "cannot use home directory %s: %s", home ? home : "(unresolved)",
            gg_strerror(rv));
    free(home);
    return NULL;
  }
  return home;
}

int cli_exit_for(int err) {
  switch (err) {
  case GG_OK: return CLI_OK;
  case GG_EINVAL:
  case GG_EPARSE: return CLI_USAGE;
  case GG_ENOTFOUND: return CLI_NOTFOUND;
  case GG_ETIMEDOUT:
  case GG_ECLOSED:
  case GG_ERESET:
  case GG_EUNREACHABLE:
  case GG_ENOPROTO: return CLI_NETWORK;
  case GG_EEXIST:
  case GG_EUNSAT:
  case GG_ECONFLICT:
  case GG_EOWNER: return CLI_CONFLICT;
  case GG_EINTEGRITY:
  case GG_EUNSAFE:
  case GG_EBADSIG:
  case GG_EDECRYPT: return CLI_INTEGRITY;
  case GG_ECANCELED: return CLI_INTERRUPTED;
  default: return gg_err_is_peer(err) ? CLI_NETWORK : CLI_FAIL;
  }
}

void cli_json_str(FILE *f, const char *s) {
  fputc('"', f);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
    else if (*p < 0x20) fprintf(f, "\\u%04x", *p);
    else fputc(*p, f);
  }
  fputc('"', f);
}
