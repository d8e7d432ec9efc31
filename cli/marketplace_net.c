/*
 * Marketplace network sessions (cli/marketplace_net.h): a running node of this home over its
 * control socket, or a short-lived node in this process, or offline.
 *
 * The short-lived node is started on the first call: this home's identity, the DHT in client
 * mode, Gossipsub, and the market service in client mode over the home's catalog, store and
 * reputation (its own SQLite connections), joined through the bootstrap peers without lookups
 * of its own (each operation's lookups find what they need). Each call then runs the loop until
 * its answer arrives, the session's timeout passes, or SIGINT/SIGTERM interrupts it.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_p2p.h"
#include "ggen/err.h"
#include "ggen/home.h"
#include "ggen/host.h"
#include "ggen/kad_service.h"
#include "marketplace_net.h"
#include "p2p_dht.h"

struct cli_net {
  cli_ctx *ctx;
  const cli_net_opts *o;
  char *home, *sock;
  int mode;
  char desc[160];
  int boot_sent; /* node mode: the explicit bootstrap list was handed to the node */
  /* short-lived node */
  int started, start_err;
  uv_loop_t loop;
  ggn_host *h;
  ggn_kad *k;
  ggn_gossip *gs;
  ggn_market *m;
  ggs_catalog *cat;
  ggs_blob_store *store;
  ggs_peerrep *rep;
  uv_timer_t timer;
  uv_signal_t sig[2];
  json_t *answer;
  int joined, join_err;
  int over; /* a timeout or a signal ended the session: n->answer says which */
  int linger; /* something was announced: give the streams time to flush before closing */
};

/* ---- options ----------------------------------------------------------------------------------
 */

int cli_net_opt(cli_ctx *ctx, cli_net_opts *o, int c, const char *arg) {
  switch (c) {
  case CLI_OPT_BOOT:
    if (o->nboot == 32) {
      cli_err(ctx, "at most 32 --bootstrap addresses");
      return -1;
    }
    o->boot[o->nboot++] = arg;
    o->explicit_boot = 1;
    return 1;
  case CLI_OPT_OFFLINE: o->offline = 1; return 1;
  case CLI_OPT_TIMEOUT:
    o->timeout_s = atoi(arg);
    if (o->timeout_s <= 0) {
      cli_err(ctx, "--timeout takes a number of seconds");
      return -1;
    }
    return 1;
  default: return 0;
  }
}

void cli_net_opts_finish(cli_net_opts *o) {
  if (!o->timeout_s) o->timeout_s = 30;
  if (!o->explicit_boot)
    o->nboot = (int)cli_p2p_env_addrs("GGEN_P2P_BOOTSTRAP", &o->envbuf, o->boot, 32);
}

void cli_net_opts_free(cli_net_opts *o) {
  free(o->envbuf);
  o->envbuf = NULL;
}

int cli_net_answer_err(const json_t *a) {
  json_t *e = json_object_get(a, "err");
  return json_is_integer(e) ? (int)json_integer_value(e) : GG_EIO;
}

const char *cli_net_answer_error(const json_t *a) {
  const char *s = json_string_value(json_object_get(a, "error"));
  return s ? s : gg_strerror(cli_net_answer_err(a));
}

/* ---- sessions ----------------------------------------------------------------------------------
 */

cli_net *cli_net_open(cli_ctx *ctx, const char *home, const cli_net_opts *o) {
  cli_net *n = calloc(1, sizeof(*n));
  if (!n) return NULL;
  n->ctx = ctx;
  n->o = o;
  n->home = strdup(home);
  n->sock = gg_home_path(home, CLI_CTL_SOCKET);
  if (!n->home || !n->sock) {
    cli_net_close(n);
    return NULL;
  }
  if (o->offline) {
    n->mode = CLI_NET_OFFLINE;
    snprintf(n->desc, sizeof n->desc, "offline (--offline)");
  } else if (cli_ctl_alive(n->sock)) {
    n->mode = CLI_NET_NODE;
    snprintf(n->desc, sizeof n->desc, "this home's node");
  } else if (o->nboot > 0) {
    n->mode = CLI_NET_ONESHOT;
    snprintf(n->desc, sizeof n->desc, "a short-lived node joined through %d bootstrap peer%s",
             o->nboot, o->nboot == 1 ? "" : "s");
  } else {
    n->mode = CLI_NET_OFFLINE;
    snprintf(n->desc, sizeof n->desc,
             "offline (no node runs in this home and no bootstrap peer is known)");
  }
  return n;
}

int cli_net_mode(const cli_net *n) { return n->mode; }
const char *cli_net_describe(const cli_net *n) { return n->desc; }

static void set_answer(cli_net *n, json_t *a) {
  if (n->answer)
    json_decref(a);
  else
    n->answer = a;
}

static void on_done(json_t *a, void *ud) { set_answer(ud, json_incref(a)); }

static void on_timeout(uv_timer_t *t) {
  cli_net *n = t->data;
  set_answer(n, cli_dht_error(GG_ETIMEDOUT, "the network did not answer in time"));
  n->over = 1;
  n->joined = 1;
  n->join_err = n->join_err ? n->join_err : GG_ETIMEDOUT;
}

static void on_signal(uv_signal_t *s, int signum) {
  (void)signum;
  cli_net *n = s->data;
  if (n->answer && !n->over) { /* an answer was waiting to be taken: the signal wins */
    json_decref(n->answer);
    n->answer = NULL;
  }
  set_answer(n, cli_dht_error(GG_ECANCELED, "interrupted"));
  n->over = 1;
  n->joined = 1;
  n->join_err = GG_ECANCELED;
}

static void on_joined(ggn_kad *k, const ggp_kad_result *res, void *ud) {
  (void)k;
  cli_net *n = ud;
  n->joined = 1;
  n->join_err = res->err;
}

/* Runs the loop until *flag or the timeout. */
static void run_until(cli_net *n, int *flag) {
  uv_timer_start(&n->timer, on_timeout, (uint64_t)n->o->timeout_s * 1000, 0);
  while (!*flag) uv_run(&n->loop, UV_RUN_ONCE);
  uv_timer_stop(&n->timer);
}

/* Starts the short-lived node and joins the network. GG_OK or why not (printed by the caller). */
static int start_node(cli_net *n) {
  n->started = 1;
  gg_maddr boot[32];
  int nb = 0;
  for (int i = 0; i < n->o->nboot; i++)
    if (gg_maddr_parse(&boot[nb], n->o->boot[i], strlen(n->o->boot[i])) == GG_OK) nb++;
  if (nb == 0) return GG_EINVAL;
  gg_keypair kp;
  int rv = cli_p2p_load_identity(n->ctx, n->home, &kp);
  if (rv != GG_OK) return rv;
  char *cat = gg_home_path(n->home, "catalog.db"), *store = gg_home_path(n->home, "store"),
       *rep = gg_home_path(n->home, "peers.db");
  rv = cat && store && rep ? GG_OK : GG_ENOMEM;
  if (rv == GG_OK) rv = ggs_catalog_open(&n->cat, cat, GGS_CATALOG_CREATE, NULL);
  if (rv == GG_OK) rv = ggs_blob_open(&n->store, store, NULL, NULL);
  if (rv == GG_OK && ggs_peerrep_open(&n->rep, rep) != GG_OK) n->rep = NULL; /* not essential */
  free(cat);
  free(store);
  free(rep);
  if (rv != GG_OK) return rv;
  uv_loop_init(&n->loop);
  uv_timer_init(&n->loop, &n->timer);
  n->timer.data = n;
  for (int i = 0; i < 2; i++) {
    uv_signal_init(&n->loop, &n->sig[i]);
    n->sig[i].data = n;
    uv_signal_start(&n->sig[i], on_signal, i ? SIGTERM : SIGINT);
  }
  ggn_log lg;
  ggn_log_init(&lg, cli_p2p_log_level(n->ctx), NULL);
  ggn_host_settings hs = {.identity = &kp, .log = &lg};
  rv = ggn_host_new(&n->h, &n->loop, &hs, NULL, NULL);
  ggn_kad_settings ks = {.client_mode = 1};
  if (rv == GG_OK) rv = ggn_kad_new(&n->k, n->h, &ks);
  if (rv == GG_OK) rv = ggn_gossip_new(&n->gs, n->h, NULL);
  ggn_market_settings ms = {.home = n->home,
                            .catalog = n->cat,
                            .store = n->store,
                            .rep = n->rep,
                            .kad = n->k,
                            .gossip = n->gs,
                            .client_mode = 1};
  if (rv == GG_OK) rv = ggn_market_new(&n->m, n->h, &ms);
  if (rv == GG_OK) rv = ggn_kad_connect(n->k, boot, (size_t)nb, on_joined, n);
  if (rv != GG_OK) return rv;
  run_until(n, &n->joined);
  if (n->join_err == GG_ECANCELED) return GG_ECANCELED;
  return n->join_err == GG_OK ? GG_OK : GG_EUNREACHABLE;
}

json_t *cli_net_call(cli_net *n, json_t *op) {
  if (n->mode == CLI_NET_OFFLINE) return cli_dht_error(GG_EUNREACHABLE, n->desc);
  if (n->mode == CLI_NET_NODE) {
    json_t *a = NULL;
    int rv = GG_OK;
    if (n->o->explicit_boot && !n->boot_sent) { /* the node joins through them first */
      n->boot_sent = 1;
      json_t *b = json_pack("{s:s, s:[]}", "op", "bootstrap", "addrs");
      for (int i = 0; i < n->o->nboot; i++)
        json_array_append_new(json_object_get(b, "addrs"), json_string(n->o->boot[i]));
      rv = cli_ctl_call(n->sock, b, n->o->timeout_s * 1000, &a);
      json_decref(b);
      json_decref(a);
      a = NULL;
    }
    rv = cli_ctl_call(n->sock, op, n->o->timeout_s * 1000, &a);
    if (rv == GG_OK) return a;
    return cli_dht_error(rv == GG_ENOTFOUND ? GG_EUNREACHABLE : rv,
                         rv == GG_ETIMEDOUT ? "this home's node did not answer in time"
                                            : "this home's node stopped answering");
  }
  if (!n->started) n->start_err = start_node(n);
  if (n->start_err == GG_ECANCELED) return cli_dht_error(GG_ECANCELED, "interrupted");
  if (n->start_err != GG_OK)
    return cli_dht_error(n->start_err == GG_EUNREACHABLE ? GG_EUNREACHABLE : n->start_err,
                         n->start_err == GG_EUNREACHABLE ? "no bootstrap peer could be reached"
                                                         : "cannot start a node");
  if (n->over) return json_incref(n->answer);
  const char *name = json_string_value(json_object_get(op, "op"));
  if (name && !strcmp(name, "market-publish")) n->linger = 1;
  json_t *a = NULL;
  int r = cli_market_exec(n->m, op, on_done, n, &a);
  if (r == 1) r = cli_dht_exec(n->k, op, on_done, n, &a);
  if (r != 0) return a;
  uv_timer_start(&n->timer, on_timeout, (uint64_t)n->o->timeout_s * 1000, 0);
  while (!n->answer) uv_run(&n->loop, UV_RUN_ONCE);
  uv_timer_stop(&n->timer);
  a = n->answer;
  if (n->over)
    json_incref(a); /* kept: the session is over, late answers are dropped */
  else
    n->answer = NULL;
  return a;
}

static void linger_done(uv_timer_t *t) { ((cli_net *)t->data)->linger = 0; }

void cli_net_close(cli_net *n) {
  if (!n) return;
  if (n->started && n->h && n->linger && !n->over) {
    /* closing the Gossipsub service resets its streams, dropping what they still queue: an
     * announcement published a moment ago must reach the socket first */
    uv_timer_start(&n->timer, linger_done, 200, 0);
    while (n->linger) uv_run(&n->loop, UV_RUN_ONCE);
  }
  if (n->started && n->h) {
    if (n->m) ggn_market_close(n->m, NULL, NULL);
    if (n->gs) ggn_gossip_close(n->gs, NULL, NULL);
    if (n->k) ggn_kad_close(n->k, NULL, NULL);
    ggn_host_close(n->h, NULL, NULL);
  }
  if (n->started && n->timer.data) {
    uv_close((uv_handle_t *)&n->timer, NULL);
    uv_close((uv_handle_t *)&n->sig[0], NULL);
    uv_close((uv_handle_t *)&n->sig[1], NULL);
    uv_run(&n->loop, UV_RUN_DEFAULT);
    cli_market_forget();
    cli_dht_forget();
    uv_loop_close(&n->loop);
  }
  json_decref(n->answer);
  ggs_catalog_close(n->cat);
  ggs_blob_close(n->store);
  ggs_peerrep_close(n->rep);
  free(n->home);
  free(n->sock);
  free(n);
}
