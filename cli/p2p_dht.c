/*
 * ggen p2p dht put|get|provide|find-providers|find-peer|status: one DHT operation.
 *
 * Where it runs (docs/cli.md): when a node started with `ggen p2p start` runs in this home,
 * the operation is sent to it over <home>/p2p.sock, so records it puts are republished and
 * the provider records it announces point at a node that stays up. Otherwise a one-shot node
 * runs it: this home's identity, client mode (it serves nothing), no listener, joined through
 * --bootstrap or $GGEN_P2P_BOOTSTRAP, closed when the answer is printed. `provide` needs the
 * running node: a provider that exits at once would announce an address nobody can reach.
 */
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "cli_p2p.h"
#include "ggen/cid.h"
#include "ggen/err.h"
#include "ggen/home.h"
#include "ggen/multihash.h"
#include "ggen/pkgrec.h"
#include "ggen/release.h"
#include "p2p_dht.h"

#define MAX_BOOT 32
#define MAX_NS 8

static const char group_help[] =
    "usage: ggen p2p dht <command> [options]\n"
    "\n"
    "Kademlia DHT operations. With a node running in this home (ggen p2p start), the command\n"
    "is sent to it; otherwise a one-shot node joins through --bootstrap (default:\n"
    "$GGEN_P2P_BOOTSTRAP), runs it and exits.\n"
    "\n"
    "options of every command:\n"
    "  -b, --bootstrap MULTIADDR...  peers to join through (repeatable)\n"
    "  --kad-protocol P              one-shot node: protocol id (default /ggen/kad/1.0.0)\n"
    "  --open-namespace NS           one-shot node: accept any value under /NS/ (tests)\n"
    "  -t, --timeout S               give up after S seconds (default 60)\n"
    "  --json                        one JSON object with the result\n"
    "\n"
    "exit status: 0 done, 2 bad arguments or a value the namespace refuses, 3 not found,\n"
    "4 network failure (no bootstrap peer reachable, no peer took a record, timeout),\n"
    "6 a record whose signature does not verify, 130 interrupted.\n";

typedef struct dht_opts {
  const char *boot[MAX_BOOT];
  int nboot, explicit_boot;
  const char *proto;
  const char *ns[MAX_NS];
  int nns;
  int timeout_s;
  const char *file; /* put --file */
  const char *out;  /* get --out */
  int max;          /* find-providers --max */
  char *envbuf;
  char **xargv; /* argv with --bootstrap expanded (cli_p2p_expand) */
  char *pos[4]; /* the first positional arguments (borrowed from argv) */
  int npos;     /* how many there are (may exceed 4) */
} dht_opts;

static void opts_free(dht_opts *o) {
  free(o->envbuf);
  free(o->xargv);
}

enum { O_PROTO = 0x2001, O_NS, O_FILE, O_OUT, O_MAX };

/* Parses the options; positional arguments are left in argv[optind..). Returns -1 when the
 * command should go on, else an exit code (help printed, usage error). */
static int parse(cli_ctx *ctx, int argc, char **argv, const char *help, dht_opts *o) {
  static const struct option opts[] = {{"bootstrap", 1, NULL, 'b'},
                                       {"kad-protocol", 1, NULL, O_PROTO},
                                       {"open-namespace", 1, NULL, O_NS},
                                       {"timeout", 1, NULL, 't'},
                                       {"file", 1, NULL, O_FILE},
                                       {"out", 1, NULL, O_OUT},
                                       {"max", 1, NULL, O_MAX},
                                       CLI_COMMON_LONGOPTS,
                                       {NULL, 0, NULL, 0}};
  memset(o, 0, sizeof(*o));
  o->xargv = cli_p2p_expand(argc, argv, "--bootstrap", 'b', &argc);
  if (!o->xargv) return CLI_FAIL;
  argv = o->xargv;
  o->timeout_s = 60;
  o->proto = GGP_KAD_PROTOCOL;
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "b:t:vh", opts, NULL)) != -1) {
    if (cli_common_opt(ctx, c, optarg)) continue;
    switch (c) {
    case 'h': fputs(help, stdout); return CLI_OK;
    case 'b':
      if (o->nboot == MAX_BOOT) {
        cli_err(ctx, "at most %d bootstrap addresses", MAX_BOOT);
        return CLI_USAGE;
      }
      o->boot[o->nboot++] = optarg;
      break;
    case O_PROTO: o->proto = optarg; break;
    case O_NS:
      if (o->nns == MAX_NS || !optarg[0] || strchr(optarg, '/')) {
        cli_err(ctx, "--open-namespace takes a name without '/' (at most %d)", MAX_NS);
        return CLI_USAGE;
      }
      o->ns[o->nns++] = optarg;
      break;
    case 't':
      o->timeout_s = atoi(optarg);
      if (o->timeout_s <= 0) {
        cli_err(ctx, "--timeout takes a number of seconds");
        return CLI_USAGE;
      }
      break;
    case O_FILE: o->file = optarg; break;
    case O_OUT: o->out = optarg; break;
    case O_MAX: o->max = atoi(optarg); break;
    default: fputs(help, stderr); return CLI_USAGE;
    }
  }
  o->npos = argc - optind;
  for (int i = 0; i < o->npos && i < 4; i++) o->pos[i] = argv[optind + i];
  o->explicit_boot = o->nboot > 0;
  if (!o->explicit_boot)
    o->nboot = cli_p2p_env_addrs("GGEN_P2P_BOOTSTRAP", &o->envbuf, o->boot, MAX_BOOT);
  return -1;
}

/* ---- running the operation ------------------------------------------------------------------- */

typedef struct oneshot {
  cli_ctx *ctx;
  ggn_host *h;
  ggn_kad *k;
  json_t *op;
  json_t *answer;
  uv_timer_t timer;
  uv_signal_t sig[2];
  int done, interrupted;
} oneshot;

static void os_finish(oneshot *s, json_t *answer) {
  if (s->done) {
    json_decref(answer);
    return;
  }
  s->done = 1;
  s->answer = answer;
  uv_close((uv_handle_t *)&s->timer, NULL);
  uv_close((uv_handle_t *)&s->sig[0], NULL);
  uv_close((uv_handle_t *)&s->sig[1], NULL);
  ggn_kad_close(s->k, NULL, NULL);
  ggn_host_close(s->h, NULL, NULL);
}

static void os_answer(json_t *a, void *ud) { os_finish(ud, json_incref(a)); }

static void os_joined(ggn_kad *k, const ggp_kad_result *res, void *ud) {
  oneshot *s = ud;
  if (res->err != GG_OK) {
    os_finish(s, cli_dht_error(res->err, "no bootstrap peer could be reached"));
    return;
  }
  json_t *a = NULL;
  if (cli_dht_exec(k, s->op, os_answer, s, &a) != 0) os_finish(s, a);
}

static void os_timeout(uv_timer_t *t) {
  os_finish(t->data, cli_dht_error(GG_ETIMEDOUT, "no answer in time"));
}

static void os_signal(uv_signal_t *sg, int signum) {
  (void)signum;
  oneshot *s = sg->data;
  s->interrupted = 1;
  os_finish(s, cli_dht_error(GG_ECANCELED, "interrupted"));
}

static int open_validate(void *vud, const uint8_t *key, size_t klen, const uint8_t *val,
                         size_t vlen) {
  (void)vud, (void)key, (void)klen, (void)val;
  return vlen > 0 ? GG_OK : GG_EINVAL;
}

static size_t open_select(void *vud, const uint8_t *key, size_t klen, const gg_slice *vals,
                          size_t n) {
  (void)vud, (void)key, (void)klen;
  size_t best = 0; /* the bytewise larger value, so every node picks the same one */
  for (size_t i = 1; i < n; i++) {
    size_t m = vals[i].len < vals[best].len ? vals[i].len : vals[best].len;
    int c = memcmp(vals[i].p, vals[best].p, m);
    if (c > 0 || (c == 0 && vals[i].len > vals[best].len)) best = i;
  }
  return best;
}

void cli_p2p_open_namespaces(const char *const *ns, int n, ggp_kad_validator *out) {
  for (int i = 0; i < n; i++) out[i] = (ggp_kad_validator){ns[i], open_validate, open_select, NULL};
}

/* Runs op on a one-shot node. Returns the answer (never NULL) or NULL on a local failure
 * already reported. */
static json_t *run_oneshot(cli_ctx *ctx, const char *home, dht_opts *o, json_t *op) {
  gg_maddr boot[MAX_BOOT];
  for (int i = 0; i < o->nboot; i++) {
    if (gg_maddr_parse(&boot[i], o->boot[i], strlen(o->boot[i])) != GG_OK) {
      cli_err(ctx, "not a multiaddr: %s", o->boot[i]);
      return cli_dht_error(GG_EINVAL, "bad bootstrap address");
    }
  }
  gg_keypair kp;
  int rv = cli_p2p_load_identity(ctx, home, &kp);
  if (rv != GG_OK) return NULL;
  uv_loop_t loop;
  uv_loop_init(&loop);
  ggn_log lg;
  ggn_log_init(&lg, cli_p2p_log_level(ctx), NULL);
  ggn_host_settings hs = {.identity = &kp, .log = &lg};
  oneshot s = {.ctx = ctx, .op = op};
  rv = ggn_host_new(&s.h, &loop, &hs, NULL, NULL);
  ggp_kad_validator vals[MAX_NS];
  cli_p2p_open_namespaces(o->ns, o->nns, vals);
  ggn_kad_settings ks = {
      .protocol = o->proto, .client_mode = 1, .validators = vals, .nvalidators = (size_t)o->nns};
  if (rv == GG_OK) {
    rv = ggn_kad_new(&s.k, s.h, &ks);
    if (rv != GG_OK) ggn_host_close(s.h, NULL, NULL);
  }
  if (rv == GG_OK) {
    rv = ggn_kad_connect(s.k, boot, (size_t)o->nboot, os_joined, &s);
    if (rv != GG_OK) {
      ggn_kad_close(s.k, NULL, NULL);
      ggn_host_close(s.h, NULL, NULL);
    }
  }
  if (rv != GG_OK) {
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    return cli_dht_error(rv, rv == GG_EUNREACHABLE ? "no bootstrap address can be dialed" : NULL);
  }
  uv_timer_init(&loop, &s.timer);
  s.timer.data = &s;
  uv_timer_start(&s.timer, os_timeout, (uint64_t)o->timeout_s * 1000, 0);
  for (int i = 0; i < 2; i++) {
    uv_signal_init(&loop, &s.sig[i]);
    s.sig[i].data = &s;
    uv_signal_start(&s.sig[i], os_signal, i ? SIGTERM : SIGINT);
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  cli_dht_forget(); /* an operation cut short by the timeout or a signal */
  return s.answer;
}

/* Runs op where this home's node is (see the file comment). NULL after a reported failure. */
static json_t *run_op(cli_ctx *ctx, dht_opts *o, json_t *op, int needs_node) {
  char *home = cli_home(ctx);
  if (!home) return NULL;
  char *sock = gg_home_path(home, CLI_CTL_SOCKET);
  json_t *a = NULL;
  int rv = sock ? GG_OK : GG_ENOMEM;
  if (rv == GG_OK && o->explicit_boot) { /* the running node joins through them first */
    json_t *b = json_pack("{s:s, s:[]}", "op", "bootstrap", "addrs");
    for (int i = 0; i < o->nboot; i++)
      json_array_append_new(json_object_get(b, "addrs"), json_string(o->boot[i]));
    rv = cli_ctl_call(sock, b, o->timeout_s * 1000, &a);
    json_decref(b);
    if (rv == GG_OK) {
      json_t *ok = json_object_get(a, "ok");
      if (!json_is_true(ok)) {
        free(sock);
        free(home);
        return a; /* the bootstrap's error is the answer */
      }
      json_decref(a);
      a = NULL;
    }
  }
  if (rv == GG_OK) rv = cli_ctl_call(sock, op, o->timeout_s * 1000, &a);
  if (rv == GG_ENOTFOUND) { /* no node runs in this home */
    if (needs_node) {
      cli_err(ctx, "provide needs this home's node running (ggen p2p start): a provider "
                   "record must point at a node that stays up to serve the content");
      a = cli_dht_error(GG_EINVAL, "no running node");
    } else if (o->nboot == 0) {
      cli_err(ctx, "no node runs in this home and no bootstrap peer is known: give "
                   "--bootstrap MULTIADDR or set GGEN_P2P_BOOTSTRAP");
      a = cli_dht_error(GG_EINVAL, "no bootstrap peers");
    } else {
      a = run_oneshot(ctx, home, o, op);
    }
  } else if (rv != GG_OK) {
    a = cli_dht_error(rv, "the node in this home did not answer");
  }
  free(sock);
  free(home);
  return a;
}

/* ---- output ---------------------------------------------------------------------------------- */

static int answer_err(const json_t *a) {
  return (int)json_integer_value(json_object_get(a, "err"));
}

/* Prints an error answer; returns the exit code. */
static int report_error(cli_ctx *ctx, json_t *a, const char *what, int is_put) {
  int err = answer_err(a);
  if (ctx->json) {
    char *s = json_dumps(a, JSON_COMPACT | JSON_REAL_PRECISION(6));
    if (s) puts(s);
    free(s);
  } else {
    const char *msg = json_string_value(json_object_get(a, "error"));
    cli_err(ctx, "%s: %s", what, msg ? msg : gg_strerror(err));
  }
  if (err == GG_ECANCELED) return CLI_INTERRUPTED;
  /* a record refused by its namespace's rule is bad input, except a broken signature */
  if (err == GG_EPROTO && is_put) return CLI_USAGE; /* e.g. a namespace nobody accepts */
  return err == GG_OK ? CLI_FAIL : cli_exit_for(err);
}

static void print_json(json_t *a) {
  char *s = json_dumps(a, JSON_COMPACT | JSON_REAL_PRECISION(6));
  if (s) puts(s);
  free(s);
}

static void print_peers(const json_t *arr) {
  size_t i;
  json_t *p;
  json_array_foreach(arr, i, p) {
    printf("%s", json_string_value(json_object_get(p, "id")));
    size_t j;
    json_t *ad;
    json_array_foreach(json_object_get(p, "addrs"), j, ad) printf(" %s", json_string_value(ad));
    printf("\n");
  }
}

static void print_stats(const json_t *a) {
  printf("(%lld requests, %lld rounds, %.1f ms)\n",
         (long long)json_integer_value(json_object_get(a, "requests")),
         (long long)json_integer_value(json_object_get(a, "rounds")),
         json_real_value(json_object_get(a, "ms")));
}

/* Valid UTF-8 without control characters other than tab and newline (for display only:
 * overlong forms are not checked). */
static int printable(const uint8_t *p, size_t n) {
  size_t i = 0;
  while (i < n) {
    uint8_t c = p[i];
    size_t extra;
    if (c < 0x80) {
      if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f) return 0;
      i++;
      continue;
    }
    if ((c & 0xe0) == 0xc0)
      extra = 1;
    else if ((c & 0xf0) == 0xe0)
      extra = 2;
    else if ((c & 0xf8) == 0xf0)
      extra = 3;
    else
      return 0;
    if (i + extra >= n) return 0;
    for (size_t j = 1; j <= extra; j++)
      if ((p[i + j] & 0xc0) != 0x80) return 0;
    i += extra + 1;
  }
  return 1;
}

/* ---- commands
 * ------------------------------------------------------------------------------------ */

static uint8_t *read_all(const char *path, size_t *len) {
  FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
  if (!f) return NULL;
  size_t cap = 4096, n = 0;
  uint8_t *b = malloc(cap);
  while (b) {
    size_t r = fread(b + n, 1, cap - n, f);
    n += r;
    if (n < cap) break;
    if (cap >= GGM_RELEASE_MAX * 4) break; /* far over any record: the node refuses it */
    uint8_t *nb = realloc(b, cap *= 2);
    if (!nb) {
      free(b);
      b = NULL;
    } else {
      b = nb;
    }
  }
  if (f != stdin) fclose(f);
  *len = n;
  return b;
}

static const char put_help[] =
    "usage: ggen p2p dht put KEY (VALUE | --file PATH) [--bootstrap MULTIADDR...] [--json]\n"
    "\n"
    "Stores a record under KEY at the closest DHT nodes. KEY is /NAMESPACE/NAME: /ggen-pkg/\n"
    "<id>@<version> takes a signed release record (--file), /pk/<peer id> a public key; other\n"
    "namespaces are refused unless the nodes accept them (--open-namespace on test nodes).\n"
    "A running node (ggen p2p start) keeps the record and republishes it every 24 h.\n"
    "Prints how many nodes took it; exit 4 when none did.\n";

static int cmd_put(cli_ctx *ctx, int argc, char **argv) {
  dht_opts o;
  int rc = parse(ctx, argc, argv, put_help, &o);
  if (rc >= 0) {
    opts_free(&o);
    return rc;
  }
  rc = CLI_USAGE;
  int npos = o.npos;
  if (npos != (o.file ? 1 : 2)) {
    cli_err(ctx, "give KEY and VALUE, or KEY and --file PATH");
    opts_free(&o);
    return CLI_USAGE;
  }
  const char *key = o.pos[0];
  uint8_t *val;
  size_t vlen;
  if (o.file) {
    val = read_all(o.file, &vlen);
    if (!val) {
      cli_err(ctx, "cannot read %s", o.file);
      opts_free(&o);
      return CLI_USAGE;
    }
  } else {
    vlen = strlen(o.pos[1]);
    val = (uint8_t *)strdup(o.pos[1]);
  }
  char *hex = val ? cli_hex(val, vlen) : NULL;
  free(val);
  json_t *op = json_pack("{s:s, s:s, s:s}", "op", "put", "key", key, "value_hex", hex ? hex : "");
  free(hex);
  json_t *a = run_op(ctx, &o, op, 0);
  json_decref(op);
  opts_free(&o);
  if (!a) return CLI_FAIL;
  if (!json_is_true(json_object_get(a, "ok"))) {
    rc = report_error(ctx, a, key, 1);
  } else {
    json_int_t stored = json_integer_value(json_object_get(a, "stored"));
    json_object_set_new(a, "key", json_string(key));
    if (ctx->json)
      print_json(a);
    else if (stored > 0) {
      printf("stored %s at %lld peers ", key, (long long)stored);
      print_stats(a);
    }
    rc = CLI_OK;
    if (stored == 0) {
      if (!ctx->json) cli_err(ctx, "%s: no peer took the record", key);
      rc = CLI_NETWORK;
    }
  }
  json_decref(a);
  return rc;
}

static const char get_help[] =
    "usage: ggen p2p dht get KEY [--out FILE] [--bootstrap MULTIADDR...] [--json]\n"
    "\n"
    "Looks KEY up in the DHT and prints the best value: as text when it is text, as a summary\n"
    "for a /ggen-pkg/ release record, else as hex. --out FILE writes the exact bytes.\n"
    "--json: {\"key\", \"value\" (text values), \"value_hex\", \"release\" (/ggen-pkg/), ...}.\n"
    "Exit 3 when no node has it.\n";

static json_t *release_json(const uint8_t *v, size_t n) {
  ggm_release r;
  if (ggm_release_decode(v, n, &r, NULL) != GG_OK) return NULL;
  gg_cid cid;
  char cidtext[GG_CID_STR_MAX] = "";
  if (gg_cid_from_bytes(&cid, r.archive_cid, GGM_CID_LEN) == GG_OK)
    gg_cid_to_str(&cid, cidtext, sizeof(cidtext));
  char *pub = cli_hex(r.publisher, GG_ED25519_PUB);
  json_t *j = json_pack("{s:s, s:s, s:s, s:I, s:I, s:s}", "id", r.id, "version", r.version,
                        "archive_cid", cidtext, "archive_size", (json_int_t)r.archive_size,
                        "publish_time", (json_int_t)r.publish_time, "publisher", pub ? pub : "");
  if (j && r.name) json_object_set_new(j, "name", json_string(r.name));
  free(pub);
  ggm_release_free(&r);
  return j;
}

static int cmd_get(cli_ctx *ctx, int argc, char **argv) {
  dht_opts o;
  int rc = parse(ctx, argc, argv, get_help, &o);
  if (rc >= 0) {
    opts_free(&o);
    return rc;
  }
  if (o.npos != 1) {
    cli_err(ctx, "give one KEY");
    opts_free(&o);
    return CLI_USAGE;
  }
  const char *key = o.pos[0];
  json_t *op = json_pack("{s:s, s:s}", "op", "get", "key", key);
  json_t *a = run_op(ctx, &o, op, 0);
  json_decref(op);
  opts_free(&o);
  if (!a) return CLI_FAIL;
  if (!json_is_true(json_object_get(a, "ok"))) {
    rc = report_error(ctx, a, key, 0);
    json_decref(a);
    return rc;
  }
  size_t vlen = 0;
  const char *vh = json_string_value(json_object_get(a, "value_hex"));
  uint8_t *val = vh ? cli_unhex(vh, &vlen) : NULL;
  if (!val) {
    cli_err(ctx, "%s: the node sent no value", key);
    json_decref(a);
    return CLI_FAIL;
  }
  rc = CLI_OK;
  if (o.out) {
    FILE *f = fopen(o.out, "wb");
    if (!f || fwrite(val, 1, vlen, f) != vlen || fclose(f) != 0) {
      cli_err(ctx, "cannot write %s", o.out);
      rc = CLI_FAIL;
    }
  }
  json_t *rel =
      !strncmp(key, GGM_PKGREC_PREFIX, strlen(GGM_PKGREC_PREFIX)) ? release_json(val, vlen) : NULL;
  int text = printable(val, vlen);
  if (ctx->json) {
    json_object_set_new(a, "key", json_string(key));
    if (text) json_object_set_new(a, "value", json_stringn((const char *)val, vlen));
    if (rel) json_object_set(a, "release", rel);
    print_json(a);
  } else if (!o.out) {
    if (rel) {
      printf("%s %s  archive %s (%lld bytes)  published %lld  publisher %s\n",
             json_string_value(json_object_get(rel, "id")),
             json_string_value(json_object_get(rel, "version")),
             json_string_value(json_object_get(rel, "archive_cid")),
             (long long)json_integer_value(json_object_get(rel, "archive_size")),
             (long long)json_integer_value(json_object_get(rel, "publish_time")),
             json_string_value(json_object_get(rel, "publisher")));
    } else if (text) {
      fwrite(val, 1, vlen, stdout);
      if (vlen == 0 || val[vlen - 1] != '\n') putchar('\n');
    } else {
      printf("%s\n", vh);
    }
  }
  json_decref(rel);
  free(val);
  json_decref(a);
  return rc;
}

/* Parses a CID and returns its multihash as hex (malloc'd), or NULL after an error. */
static char *cid_mh_hex(cli_ctx *ctx, const char *text) {
  gg_cid cid;
  if (gg_cid_parse(&cid, text, strlen(text)) != GG_OK) {
    cli_err(ctx, "not a CID: %s", text);
    return NULL;
  }
  gg_mh mh;
  gg_cid_mh(&cid, &mh);
  if (mh.code != 0x12 || mh.dlen != 32) {
    cli_err(ctx, "%s: provider keys are sha2-256 multihashes (as js-libp2p requires)", text);
    return NULL;
  }
  return cli_hex(cid.b + cid.mh_off, (size_t)(cid.len - cid.mh_off));
}

static const char provide_help[] =
    "usage: ggen p2p dht provide CID [--bootstrap MULTIADDR...] [--json]\n"
    "\n"
    "Announces this home's running node (ggen p2p start) as a provider of CID at the closest\n"
    "DHT nodes; the node re-announces it every 22 h. The provider key is the CID's multihash\n"
    "(sha2-256), as js-libp2p uses it. Exit 2 when no node runs in this home, 4 when no peer\n"
    "took the record.\n";

static int cmd_provide(cli_ctx *ctx, int argc, char **argv) {
  dht_opts o;
  int rc = parse(ctx, argc, argv, provide_help, &o);
  if (rc >= 0) {
    opts_free(&o);
    return rc;
  }
  if (o.npos != 1) {
    cli_err(ctx, "give one CID");
    opts_free(&o);
    return CLI_USAGE;
  }
  char *mh = cid_mh_hex(ctx, o.pos[0]);
  if (!mh) {
    opts_free(&o);
    return CLI_USAGE;
  }
  json_t *op = json_pack("{s:s, s:s}", "op", "provide", "mh_hex", mh);
  free(mh);
  json_t *a = run_op(ctx, &o, op, 1);
  json_decref(op);
  opts_free(&o);
  if (!a) return CLI_FAIL;
  if (!json_is_true(json_object_get(a, "ok"))) {
    rc = report_error(ctx, a, o.pos[0], 0);
  } else {
    json_int_t stored = json_integer_value(json_object_get(a, "stored"));
    json_object_set_new(a, "cid", json_string(o.pos[0]));
    if (ctx->json)
      print_json(a);
    else if (stored > 0) {
      printf("providing %s at %lld peers ", o.pos[0], (long long)stored);
      print_stats(a);
    }
    rc = CLI_OK;
    if (stored == 0) {
      if (!ctx->json) cli_err(ctx, "%s: no peer took the provider record", o.pos[0]);
      rc = CLI_NETWORK;
    }
  }
  json_decref(a);
  return rc;
}

static const char findprov_help[] =
    "usage: ggen p2p dht find-providers CID [--max N] [--bootstrap MULTIADDR...] [--json]\n"
    "\n"
    "Looks up the providers of CID (its sha2-256 multihash) and prints one per line: the peer\n"
    "id and its addresses. --max N stops after N providers (default 20). Exit 3 when there\n"
    "are none.\n";

static int cmd_find_providers(cli_ctx *ctx, int argc, char **argv) {
  dht_opts o;
  int rc = parse(ctx, argc, argv, findprov_help, &o);
  if (rc >= 0) {
    opts_free(&o);
    return rc;
  }
  if (o.npos != 1) {
    cli_err(ctx, "give one CID");
    opts_free(&o);
    return CLI_USAGE;
  }
  char *mh = cid_mh_hex(ctx, o.pos[0]);
  if (!mh) {
    opts_free(&o);
    return CLI_USAGE;
  }
  json_t *op = json_pack("{s:s, s:s, s:i}", "op", "find-providers", "mh_hex", mh, "max",
                         o.max > 0 ? o.max : 0);
  free(mh);
  json_t *a = run_op(ctx, &o, op, 0);
  json_decref(op);
  opts_free(&o);
  if (!a) return CLI_FAIL;
  if (!json_is_true(json_object_get(a, "ok"))) {
    rc = report_error(ctx, a, o.pos[0], 0);
    json_decref(a);
    return rc;
  }
  json_t *provs = json_object_get(a, "providers");
  json_object_set_new(a, "cid", json_string(o.pos[0]));
  if (ctx->json)
    print_json(a);
  else
    print_peers(provs);
  rc = json_array_size(provs) > 0 ? CLI_OK : CLI_NOTFOUND;
  if (rc == CLI_NOTFOUND && !ctx->json) cli_err(ctx, "%s: no providers found", o.pos[0]);
  json_decref(a);
  return rc;
}

static const char findpeer_help[] =
    "usage: ggen p2p dht find-peer PEER_ID [--bootstrap MULTIADDR...] [--json]\n"
    "\n"
    "Looks up a peer's addresses in the DHT and prints its id and addresses. Exit 3 when no\n"
    "node knows it.\n";

static int cmd_find_peer(cli_ctx *ctx, int argc, char **argv) {
  dht_opts o;
  int rc = parse(ctx, argc, argv, findpeer_help, &o);
  if (rc >= 0) {
    opts_free(&o);
    return rc;
  }
  gg_peerid id;
  if (o.npos != 1 || gg_peerid_parse(&id, o.pos[0], strlen(o.pos[0])) != GG_OK) {
    cli_err(ctx, "give one peer id (12D3KooW...)");
    opts_free(&o);
    return CLI_USAGE;
  }
  json_t *op = json_pack("{s:s, s:s}", "op", "find-peer", "peer", o.pos[0]);
  json_t *a = run_op(ctx, &o, op, 0);
  json_decref(op);
  opts_free(&o);
  if (!a) return CLI_FAIL;
  if (!json_is_true(json_object_get(a, "ok"))) {
    rc = report_error(ctx, a, o.pos[0], 0);
  } else {
    if (ctx->json)
      print_json(a);
    else
      print_peers(json_object_get(a, "peers"));
    rc = CLI_OK;
  }
  json_decref(a);
  return rc;
}

static const char status_help[] =
    "usage: ggen p2p dht status [--json]\n"
    "\n"
    "Asks this home's running node for its DHT state: routing-table size, records and provider\n"
    "keys stored, requests served. Exit 3 when no node runs in this home.\n";

static int cmd_status(cli_ctx *ctx, int argc, char **argv) {
  dht_opts o;
  int rc = parse(ctx, argc, argv, status_help, &o);
  if (rc >= 0) {
    opts_free(&o);
    return rc;
  }
  opts_free(&o);
  char *home = cli_home(ctx);
  if (!home) return CLI_FAIL;
  char *sock = gg_home_path(home, CLI_CTL_SOCKET);
  json_t *op = json_pack("{s:s}", "op", "status"), *a = NULL;
  int rv = sock ? cli_ctl_call(sock, op, o.timeout_s * 1000, &a) : GG_ENOMEM;
  json_decref(op);
  free(sock);
  free(home);
  if (rv == GG_ENOTFOUND) {
    cli_err(ctx, "no node runs in this home");
    return CLI_NOTFOUND;
  }
  if (rv != GG_OK) {
    cli_err(ctx, "the node did not answer: %s", gg_strerror(rv));
    return cli_exit_for(rv);
  }
  if (ctx->json)
    print_json(a);
  else
    printf("protocol %s: %lld peers in the routing table, %lld records, %lld provider keys, "
           "%lld requests served\n",
           json_string_value(json_object_get(a, "protocol")),
           (long long)json_integer_value(json_object_get(a, "routing_peers")),
           (long long)json_integer_value(json_object_get(a, "records")),
           (long long)json_integer_value(json_object_get(a, "provider_keys")),
           (long long)json_integer_value(json_object_get(a, "requests_served")));
  json_decref(a);
  return CLI_OK;
}

static const cli_cmd cmds[] = {
    {"put", cmd_put, "store a record under a key"},
    {"get", cmd_get, "look a key up"},
    {"provide", cmd_provide, "announce this home's node as a provider of a CID"},
    {"find-providers", cmd_find_providers, "look up the providers of a CID"},
    {"find-peer", cmd_find_peer, "look up a peer's addresses"},
    {"status", cmd_status, "the running node's DHT state"},
    {NULL, NULL, NULL},
};

int cli_p2p_dht(cli_ctx *ctx, int argc, char **argv) {
  return cli_dispatch(ctx, "ggen p2p dht", group_help, cmds, argc - 1, argv + 1);
}
