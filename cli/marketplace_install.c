/*
 * ggen marketplace install | remove | update | list: packs in a project directory
 * (include/ggen/install.h, docs/install.md). The four commands share option parsing and the
 * printing of changes; each maps library errors to the exit codes of cli/cli.h.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cli_marketplace.h"
#include "cli_p2p.h"
#include "ggen/err.h"
#include "ggen/install.h"
#include "marketplace_netinstall.h"

static const char install_usage[] =
    "usage: ggen marketplace install ID[@RANGE]... [--dir D] [--dry-run] [--frozen] [--force]\n"
    "                                [--no-dependencies] [--copy] [--bootstrap MULTIADDR...]\n"
    "                                [--offline] [--json] [--home DIR]\n"
    "\n"
    "Installs packs into the project directory D (default: the current directory): resolves\n"
    "them and their dependencies against this node's catalog, checks each signed release\n"
    "record and archive, extracts into D/.ggen/packs/<id>/ and writes D/ggen.lock. RANGE is\n"
    "an npm range (^1.2, ~1.2.3, >=1 <2, 1.x, =1.2.3); without one the newest version is\n"
    "taken and recorded as ^VERSION. Packs installed before, and the [dependencies] of\n"
    "D/gpack.toml, are kept; with no ID it installs what those ask for. The change is atomic:\n"
    "an interrupted install leaves the previous packs and lockfile (or, once committed, is\n"
    "finished by the next ggen command in D).\n"
    "\n"
    "Packages this node does not know are looked up on the network first - through this\n"
    "home's running node (ggen p2p start), else a short-lived node joined through\n"
    "--bootstrap - and the archives the install needs are fetched from the peers that\n"
    "provide them (best reputation first), each verified against its signed record.\n"
    "\n"
    "  --dir D            the project directory\n"
    "  --dry-run          print what would change, change nothing\n"
    "  --frozen           install exactly what ggen.lock says; fail (exit 5) when ggen.lock\n"
    "                     is missing or disagrees with the IDs or D/gpack.toml\n"
    "  --force            extract every pack again, even unchanged ones\n"
    "  --no-dependencies  do not install the named packs' dependencies\n"
    "  --copy             copy files instead of hard-linking them from the unpacked "
    "cache\n" CLI_NET_HELP
    "  --json             print the changes as JSON (with \"network\": what was looked up\n"
    "                     and fetched)\n"
    "\n"
    "exit codes: 0 done (or nothing to do), 2 bad usage, bad id or range, malformed\n"
    "ggen.lock or gpack.toml, 3 unknown package or archive not in the store, 5 unsatisfiable\n"
    "dependencies (the conflict is explained) or lockfile drift, 6 bad signature, corrupt or\n"
    "hostile archive (nothing installed), 1 I/O error\n";

static const char remove_usage[] =
    "usage: ggen marketplace remove ID... [--dir D] [--dry-run] [--json] [--home DIR]\n"
    "\n"
    "Removes packs you installed from the project D (default: the current directory), with the\n"
    "dependencies no other pack needs, and rewrites ggen.lock. Works offline (no catalog).\n"
    "\n"
    "exit codes: 0 removed, 2 bad usage, 3 not installed, 5 the pack is only a dependency of\n"
    "another pack, or is listed in D/gpack.toml, 1 I/O error\n";

static const char update_usage[] =
    "usage: ggen marketplace update [ID...] [--dir D] [--dry-run] [--copy] [--bootstrap A...]\n"
    "                               [--offline] [--json] [--home DIR]\n"
    "\n"
    "Re-resolves the project's packs to the newest versions their ranges allow: the named ones\n"
    "(and what they need), or every pack without ID. Other locked versions are kept. The\n"
    "network is asked for newer versions first (as install does; --offline: not).\n"
    "\n"
    "exit codes: as install (3 also when an ID is not installed)\n";

static const char list_usage[] =
    "usage: ggen marketplace list [--dir D] [--check] [--json] [--home DIR]\n"
    "\n"
    "Lists the packs of project D (default: the current directory) from ggen.lock, each checked\n"
    "against the disk: missing (not in .ggen/packs), mismatch (the installed manifest names\n"
    "another version), broken (no readable manifest), dep-missing (a dependency is not locked),\n"
    "untracked (on disk, not in ggen.lock).\n"
    "\n"
    "  --check   exit 5 when anything drifted\n"
    "  --json    {\"project\", \"lockfile\", \"drift\", \"packs\": [{\"id\", \"version\", "
    "\"cid\",\n"
    "            \"requested\", \"dependencies\", \"status\"}]}\n"
    "\n"
    "exit codes: 0 listed, 2 bad usage or malformed ggen.lock, 5 drift with --check, 1 I/O\n";

enum { CMD_INSTALL, CMD_REMOVE, CMD_UPDATE, CMD_LIST };

typedef struct args {
  const char *dir;
  unsigned flags;
  int check;
  char **ids;
  size_t n;
  cli_net_opts net; /* install and update */
  char **xargv;     /* argv with --bootstrap expanded; ids point into it */
} args;

static void args_free(args *a) {
  cli_net_opts_free(&a->net);
  free(a->xargv);
  a->xargv = NULL;
}

static int parse(cli_ctx *ctx, int cmd, int argc, char **argv, args *a, const char *usage) {
  static const struct option opts[] = {CLI_COMMON_LONGOPTS,
                                       {"dir", required_argument, NULL, 'd'},
                                       {"dry-run", no_argument, NULL, 'n'},
                                       {"frozen", no_argument, NULL, 'F'},
                                       {"force", no_argument, NULL, 'f'},
                                       {"no-dependencies", no_argument, NULL, 'N'},
                                       {"copy", no_argument, NULL, 'C'},
                                       {"check", no_argument, NULL, 'K'},
                                       CLI_NET_LONGOPTS,
                                       {NULL, 0, NULL, 0}};
  /* which options each command takes */
  static const char *allowed[] = {"dnFfNC", "dn", "dnC", "dK"};
  memset(a, 0, sizeof(*a));
  a->dir = ".";
  int net = cmd == CMD_INSTALL || cmd == CMD_UPDATE;
  if (net) { /* "--bootstrap A B" is "--bootstrap A --bootstrap B" */
    a->xargv = cli_p2p_expand(argc, argv, "--bootstrap", 'b', &argc);
    if (!a->xargv) return CLI_FAIL;
    argv = a->xargv;
  }
  optind = 1;
  int c, nr;
  while ((c = getopt_long(argc, argv, "vhd:nb:", opts, NULL)) != -1) {
    if (cli_common_opt(ctx, c, optarg)) continue;
    if (c == 'h') {
      fputs(usage, stdout);
      return -1;
    }
    if (net && (nr = cli_net_opt(ctx, &a->net, c, optarg))) {
      if (nr < 0) return CLI_USAGE;
      continue;
    }
    if (c == '?' || c == ':' || !strchr(allowed[cmd], c)) {
      if (c != '?' && c != ':') cli_err(ctx, "option '%s' does not apply here", argv[optind - 1]);
      fputs(usage, stderr);
      return CLI_USAGE;
    }
    switch (c) {
    case 'd': a->dir = optarg; break;
    case 'n': a->flags |= GGM_INSTALL_DRY_RUN; break;
    case 'F': a->flags |= GGM_INSTALL_FROZEN; break;
    case 'f': a->flags |= GGM_INSTALL_FORCE; break;
    case 'N': a->flags |= GGM_INSTALL_NO_DEPS; break;
    case 'C': a->flags |= GGM_INSTALL_COPY; break;
    case 'K': a->check = 1; break;
    }
  }
  a->ids = argv + optind;
  a->n = (size_t)(argc - optind);
  if (cmd == CMD_LIST && a->n) {
    cli_err(ctx, "unexpected argument '%s'", a->ids[0]);
    return CLI_USAGE;
  }
  if (cmd == CMD_REMOVE && a->n == 0) {
    cli_err(ctx, "name the packs to remove");
    fputs(usage, stderr);
    return CLI_USAGE;
  }
  if (a->n > GGM_INSTALL_MAX_REQS) {
    cli_err(ctx, "at most %d packs per command", GGM_INSTALL_MAX_REQS);
    return CLI_USAGE;
  }
  if (net) cli_net_opts_finish(&a->net);
  return CLI_OK;
}

/* ---- progress on a terminal ------------------------------------------------------------------ */

typedef struct prog {
  int on, drawn;
} prog;

static void on_progress(void *ud, int phase, size_t done, size_t total, const char *id) {
  prog *p = ud;
  if (!p->on) return;
  static const char *names[] = {"", "resolving", "verifying", "unpacking", "committing"};
  if (phase == GGM_INSTALL_PHASE_RESOLVE && done) return;
  fprintf(stderr, "\r\033[K[%zu/%zu] %s%s%s", done, total, names[phase], id ? " " : "",
          id ? id : "");
  fflush(stderr);
  p->drawn = 1;
}

static void progress_end(prog *p) {
  if (p->drawn) fputs("\r\033[K", stderr);
  p->drawn = 0;
}

/* ---- printing ----------------------------------------------------------------------------------
 */

static const char *action_name(int a) {
  static const char *n[] = {"keep", "add", "upgrade", "downgrade", "reinstall", "remove"};
  return a >= 0 && a <= GGM_INSTALL_REMOVE ? n[a] : "?";
}

static void json_opt(const char *key, const char *v) {
  printf(",\"%s\":", key);
  if (v)
    cli_json_str(stdout, v);
  else
    fputs("null", stdout);
}

static void print_result(const cli_ctx *ctx, const char *dir, const ggm_install_result *r,
                         unsigned flags, double ms, json_t *net) {
  int dry = (flags & GGM_INSTALL_DRY_RUN) != 0;
  if (ctx->json) {
    printf("{\"project\":");
    cli_json_str(stdout, dir);
    printf(",\"dry_run\":%s,\"changed\":%zu,\"recovered\":%d,\"files_linked\":%" PRIu64
           ",\"files_copied\":%" PRIu64 ",\"packs\":[",
           dry ? "true" : "false", r->n_changed, r->recovered, r->files_linked, r->files_copied);
    for (size_t i = 0; i < r->n_changes; i++) {
      const ggm_install_change *c = &r->changes[i];
      printf("%s{\"id\":", i ? "," : "");
      cli_json_str(stdout, c->id);
      json_opt("version", c->new_version);
      json_opt("old_version", c->old_version);
      json_opt("cid", c->cid);
      json_opt("requested", c->requested);
      printf(",\"action\":\"%s\"}", action_name(c->action));
    }
    printf("],\"ms\":%.1f,\"network\":", ms);
    if (net)
      json_dumpf(net, stdout, JSON_COMPACT);
    else
      fputs("null", stdout);
    printf("}\n");
    return;
  }
  if (r->recovered > 0)
    printf("finished an interrupted transaction in %s\n", dir);
  else if (r->recovered < 0)
    printf("undid an interrupted transaction in %s\n", dir);
  size_t cnt[6] = {0};
  for (size_t i = 0; i < r->n_changes; i++) {
    const ggm_install_change *c = &r->changes[i];
    cnt[c->action]++;
    switch (c->action) {
    case GGM_INSTALL_ADD: printf("  + %s %s\n", c->id, c->new_version); break;
    case GGM_INSTALL_UPGRADE:
    case GGM_INSTALL_DOWNGRADE:
      printf("  %c %s %s -> %s\n", c->action == GGM_INSTALL_UPGRADE ? '^' : 'v', c->id,
             c->old_version, c->new_version);
      break;
    case GGM_INSTALL_REINSTALL: printf("  ~ %s %s (reinstall)\n", c->id, c->new_version); break;
    case GGM_INSTALL_REMOVE: printf("  - %s %s\n", c->id, c->old_version); break;
    default: break;
    }
  }
  if (r->n_changes == 0) {
    printf("nothing to install in %s: name packs (ID[@RANGE]) or list them under "
           "[dependencies] in its gpack.toml\n",
           dir);
    return;
  }
  if (r->n_changed == 0) {
    printf("up to date: %zu packs in %s\n", cnt[GGM_INSTALL_KEEP], dir);
    return;
  }
  printf("%s %zu added, %zu upgraded, %zu downgraded, %zu reinstalled, %zu removed, %zu "
         "unchanged",
         dry ? "would change:" : "done:", cnt[1], cnt[2], cnt[3], cnt[4], cnt[5], cnt[0]);
  if (!dry)
    printf(" (%" PRIu64 " files linked, %" PRIu64 " copied; %.0f ms)", r->files_linked,
           r->files_copied, ms);
  printf("\n");
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int finish(cli_ctx *ctx, const char *dir, int rv, ggm_install_result *r, unsigned flags,
                  double t0, json_t *net) {
  int code;
  if (rv == GG_OK) {
    print_result(ctx, dir, r, flags, now_ms() - t0, net);
    code = CLI_OK;
  } else {
    cli_err(ctx, "%s", r && r->msg[0] ? r->msg : gg_strerror(rv));
    if (r && r->explain) fputs(r->explain, stderr);
    if (rv == GG_ECONFLICT || rv == GG_EUNSAT)
      code = CLI_CONFLICT;
    else if (rv == GG_ELIMIT)
      code = CLI_USAGE;
    else
      code = cli_exit_for(rv);
    if (r && r->recovered)
      fprintf(stderr, "(an interrupted transaction in %s was %s first)\n", dir,
              r->recovered > 0 ? "finished" : "undone");
  }
  ggm_install_result_free(r);
  json_decref(net);
  return code;
}

/* Asks the network for what the install needs (unless offline); the network report or NULL. */
static int prepare(cli_ctx *ctx, args *a, cli_mp_env *e, const ggm_install_env *env,
                   const ggm_install_req *reqs, size_t n, int update, json_t **net) {
  *net = NULL;
  cli_net *cn = cli_net_open(ctx, e->home, &a->net);
  if (!cn) return CLI_FAIL;
  int code = CLI_OK;
  if (cli_net_mode(cn) != CLI_NET_OFFLINE)
    code = cli_mp_net_prepare(ctx, cn, a->dir, env, reqs, n, a->flags, update,
                              (const char *const *)a->ids, update ? a->n : 0, net);
  cli_net_close(cn);
  return code;
}

/* ---- commands ----------------------------------------------------------------------------------
 */

int cli_mp_install(cli_ctx *ctx, int argc, char **argv) {
  args a;
  int code = parse(ctx, CMD_INSTALL, argc, argv, &a, install_usage);
  if (code) {
    args_free(&a);
    return code < 0 ? CLI_OK : code;
  }
  ggm_install_req reqs[GGM_INSTALL_MAX_REQS];
  char *copies[GGM_INSTALL_MAX_REQS];
  for (size_t i = 0; i < a.n; i++) {
    copies[i] = strdup(a.ids[i]);
    char *at = copies[i] ? strchr(copies[i], '@') : NULL;
    if (at) *at = 0;
    reqs[i] = (ggm_install_req){copies[i], at ? at + 1 : NULL};
    if (at && !at[1]) {
      cli_err(ctx, "'%s': nothing after '@' (ID@RANGE)", a.ids[i]);
      for (size_t k = 0; k <= i; k++) free(copies[k]);
      args_free(&a);
      return CLI_USAGE;
    }
  }
  cli_mp_env e;
  code = cli_mp_env_open(ctx, &e, CLI_MP_CATALOG | CLI_MP_STORE);
  if (code) {
    for (size_t i = 0; i < a.n; i++) free(copies[i]);
    args_free(&a);
    return code;
  }
  prog pg = {cli_mp_progress_wanted(ctx), 0};
  ggm_install_opts o = {a.flags, 0, on_progress, &pg};
  ggm_install_env env = {e.home, e.cat, e.store};
  ggm_install_result *r = NULL;
  double t0 = now_ms();
  json_t *net = NULL;
  code = prepare(ctx, &a, &e, &env, reqs, a.n, 0, &net);
  if (code == CLI_OK) {
    int rv = ggm_install_run(a.dir, &env, reqs, a.n, &o, &r);
    progress_end(&pg);
    code = finish(ctx, a.dir, rv, r, a.flags, t0, net);
  } else {
    json_decref(net);
  }
  for (size_t i = 0; i < a.n; i++) free(copies[i]);
  cli_mp_env_close(&e);
  args_free(&a);
  return code;
}

int cli_mp_update(cli_ctx *ctx, int argc, char **argv) {
  args a;
  int code = parse(ctx, CMD_UPDATE, argc, argv, &a, update_usage);
  if (code) {
    args_free(&a);
    return code < 0 ? CLI_OK : code;
  }
  cli_mp_env e;
  if ((code = cli_mp_env_open(ctx, &e, CLI_MP_CATALOG | CLI_MP_STORE))) {
    args_free(&a);
    return code;
  }
  prog pg = {cli_mp_progress_wanted(ctx), 0};
  ggm_install_opts o = {a.flags, 0, on_progress, &pg};
  ggm_install_env env = {e.home, e.cat, e.store};
  ggm_install_result *r = NULL;
  double t0 = now_ms();
  json_t *net = NULL;
  code = prepare(ctx, &a, &e, &env, NULL, 0, 1, &net);
  if (code == CLI_OK) {
    int rv = ggm_install_update(a.dir, &env, (const char *const *)a.ids, a.n, &o, &r);
    progress_end(&pg);
    code = finish(ctx, a.dir, rv, r, a.flags, t0, net);
  } else {
    json_decref(net);
  }
  cli_mp_env_close(&e);
  args_free(&a);
  return code;
}

int cli_mp_remove(cli_ctx *ctx, int argc, char **argv) {
  args a;
  int code = parse(ctx, CMD_REMOVE, argc, argv, &a, remove_usage);
  if (code) return code < 0 ? CLI_OK : code;
  ggm_install_opts o = {a.flags, 0, NULL, NULL};
  ggm_install_result *r = NULL;
  double t0 = now_ms();
  int rv = ggm_install_remove(a.dir, NULL, (const char *const *)a.ids, a.n, &o, &r);
  for (size_t i = 0; rv == GG_OK && !ctx->json && i < r->n_changes; i++)
    for (size_t k = 0; k < a.n; k++)
      if (r->changes[i].action == GGM_INSTALL_KEEP && !strcmp(r->changes[i].id, a.ids[k]))
        printf("  %s stays installed: another pack needs it (no longer requested)\n", a.ids[k]);
  return finish(ctx, a.dir, rv, r, a.flags, t0, NULL);
}

static void status_text(unsigned s, char *out, size_t cap) {
  static const struct {
    unsigned bit;
    const char *name;
  } names[] = {{GGM_INSTALL_MISSING, "missing"},
               {GGM_INSTALL_MISMATCH, "mismatch"},
               {GGM_INSTALL_UNTRACKED, "untracked"},
               {GGM_INSTALL_DEP_MISSING, "dep-missing"},
               {GGM_INSTALL_BROKEN, "broken"}};
  out[0] = 0;
  if (!s) {
    snprintf(out, cap, "ok");
    return;
  }
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (s & names[i].bit) {
      size_t k = strlen(out);
      snprintf(out + k, cap - k, "%s%s", k ? "," : "", names[i].name);
    }
}

int cli_mp_list(cli_ctx *ctx, int argc, char **argv) {
  args a;
  int code = parse(ctx, CMD_LIST, argc, argv, &a, list_usage);
  if (code) return code < 0 ? CLI_OK : code;
  ggm_install_listing *l = NULL;
  int rv = ggm_install_list(a.dir, &l);
  if (rv) {
    cli_err(ctx, "%s", l && l->msg[0] ? l->msg : gg_strerror(rv));
    ggm_install_listing_free(l);
    return rv == GG_EINVAL ? CLI_USAGE : cli_exit_for(rv);
  }
  char st[96];
  if (ctx->json) {
    printf("{\"project\":");
    cli_json_str(stdout, a.dir);
    printf(",\"lockfile\":%s,\"recovered\":%d,\"drift\":%s,\"packs\":[",
           l->has_lock ? "true" : "false", l->recovered, l->drift ? "true" : "false");
    for (size_t i = 0; i < l->n; i++) {
      const ggm_install_entry *e = &l->entries[i];
      printf("%s{\"id\":", i ? "," : "");
      cli_json_str(stdout, e->id);
      json_opt("version", e->version);
      json_opt("installed_version", e->disk_version);
      json_opt("cid", e->cid);
      json_opt("requested", e->requested);
      json_opt("source", e->source);
      printf(",\"dependencies\":[");
      for (size_t k = 0; k < e->n_deps; k++) {
        if (k) putchar(',');
        cli_json_str(stdout, e->deps[k]);
      }
      status_text(e->status, st, sizeof st);
      printf("],\"status\":\"%s\"}", st);
    }
    printf("]}\n");
  } else {
    if (l->recovered)
      printf("(%s an interrupted transaction first)\n", l->recovered > 0 ? "finished" : "undid");
    if (l->n == 0)
      printf("no packs installed in %s%s\n", a.dir, l->has_lock ? "" : " (no ggen.lock)");
    for (size_t i = 0; i < l->n; i++) {
      const ggm_install_entry *e = &l->entries[i];
      const char *v = e->version ? e->version : e->disk_version ? e->disk_version : "-";
      if (e->requested)
        printf("%-44s %-14s requested %s\n", e->id, v, e->requested);
      else
        printf("%-44s %s\n", e->id, v);
      if (e->status) {
        status_text(e->status, st, sizeof st);
        printf("    ! %s\n", st);
      }
    }
    if (l->drift)
      fprintf(stderr,
              "%s: the installed packs disagree with ggen.lock; run `ggen marketplace install` to "
              "repair\n",
              ctx->prog);
  }
  code = a.check && l->drift ? CLI_CONFLICT : CLI_OK;
  ggm_install_listing_free(l);
  return code;
}
