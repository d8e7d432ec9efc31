/*
 * The ggen command: shared definitions for the command files.
 *
 * Dispatch is table-driven (git's {name, fn} command table): main.c holds the top-level
 * groups, each group (p2p.c, marketplace.c) holds its own table. Every command parses its
 * own options with getopt_long and accepts --help.
 *
 * Exit codes (documented in docs/cli.md and `ggen --help`):
 */
#ifndef GG_CLI_H
#define GG_CLI_H

#include <stdio.h>

enum {
  CLI_OK = 0,          /* success */
  CLI_FAIL = 1,        /* the operation failed (I/O, internal error) */
  CLI_USAGE = 2,       /* bad command line or bad input (malformed manifest, bad range) */
  CLI_NOTFOUND = 3,    /* a package, version, peer or record was not found */
  CLI_NETWORK = 4,     /* could not reach a peer / network operation timed out */
  CLI_CONFLICT = 5,    /* unsatisfiable dependencies, lockfile drift, id owned by another key */
  CLI_INTEGRITY = 6,   /* bad signature, tampered archive or record, hostile archive */
  CLI_INTERRUPTED = 130 /* stopped by SIGINT/SIGTERM before finishing */
};

/* Options every command accepts; filled by cli_common_opt(). */
typedef struct cli_ctx {
  const char *home_opt; /* --home DIR (NULL: GGEN_HOME, else XDG) */
  int json;             /* --json */
  int verbose;          /* -v, repeatable */
  const char *prog;     /* "ggen p2p ping" for messages */
} cli_ctx;

typedef struct cli_cmd {
  const char *name;
  int (*fn)(cli_ctx *ctx, int argc, char **argv); /* argv[0] is the command name */
  const char *summary;
} cli_cmd;

/* getopt_long entries for the options every command accepts (--home, --json, -v, --help);
 * put CLI_COMMON_LONGOPTS in the option table and "vh" in the short option string, and
 * hand every option getopt_long returns to cli_common_opt() first. */
#define CLI_OPT_HOME 0x1001
#define CLI_OPT_JSON 0x1002
#define CLI_COMMON_LONGOPTS                                                                        \
  {"home", 1, NULL, CLI_OPT_HOME}, {"json", 0, NULL, CLI_OPT_JSON},                                \
      {"verbose", 0, NULL, 'v'}, {"help", 0, NULL, 'h'}

/* Handles a common option c (with optarg arg): returns 1 when it was one (and stores it in
 * ctx), 0 when the command must handle c itself. 'h' is not handled: the command prints its
 * own help. */
int cli_common_opt(cli_ctx *ctx, int c, const char *arg);

/* Runs the command named argv[0] from a NULL-terminated table, or prints the group's help.
 * group is "ggen p2p"; returns the command's exit code. */
int cli_dispatch(cli_ctx *ctx, const char *group, const char *group_help, const cli_cmd *cmds,
                 int argc, char **argv);

/* Prints "ggen: <prog>: message" to stderr. */
void cli_err(const cli_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Resolves this invocation's home directory (--home, GGEN_HOME, XDG) and creates it (0700).
 * Returns a malloc'd path or NULL after printing an error. */
char *cli_home(const cli_ctx *ctx);

/* Writes s as a JSON string literal (quotes and escapes included). */
void cli_json_str(FILE *f, const char *s);

/* Maps a gg error code to an exit code (peer/network errors -> CLI_NETWORK and so on). */
int cli_exit_for(int gg_err);

/* Command groups. */
int cli_p2p_main(cli_ctx *ctx, int argc, char **argv);
int cli_marketplace_main(cli_ctx *ctx, int argc, char **argv);

#endif
