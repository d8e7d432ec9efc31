/*
 * DHT operations as JSON (cli/p2p_dht.h): running one on a Kademlia service, the control
 * socket a running `ggen p2p start` serves them on, and the client side of that socket.
 *
 * The control socket is <home>/p2p.sock, a Unix stream socket created with mode 0600 inside
 * the 0700 home directory: only the home's owner can drive the node. One connection carries
 * one request line and gets one answer line, then the node closes it. Lines are capped
 * (CLI_CTL_MAX_LINE) and at most CTL_MAX_CLIENTS connections are served at once.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "ggen/err.h"
#include "ggen/multiaddr.h"
#include "ggen/multihash.h"
#include "p2p_dht.h"

#define CTL_MAX_CLIENTS 64

/* ---- hex ------------------------------------------------------------------------------------- */

char *cli_hex(const uint8_t *p, size_t n) {
  static const char digits[] = "0123456789abcdef";
  char *s = malloc(2 * n + 1);
  if (!s) return NULL;
  for (size_t i = 0; i < n; i++) {
    s[2 * i] = digits[p[i] >> 4];
    s[2 * i + 1] = digits[p[i] & 15];
  }
  s[2 * n] = 0;
  return s;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

uint8_t *cli_unhex(const char *s, size_t *n) {
  size_t len = strlen(s);
  if (len % 2) return NULL;
  uint8_t *b = malloc(len / 2 + 1);
  if (!b) return NULL;
  for (size_t i = 0; i < len / 2; i++) {
    int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      free(b);
      return NULL;
    }
    b[i] = (uint8_t)(hi << 4 | lo);
  }
  *n = len / 2;
  return b;
}

/* ---- answers --------------------------------------------------------------------------------- */

json_t *cli_dht_error(int err, const char *msg) {
  return json_pack("{s:b, s:i, s:s}", "ok", 0, "err", err, "error", msg ? msg : gg_strerror(err));
}

static json_t *peers_json(const ggp_kad_peerinfo *p, size_t n) {
  json_t *arr = json_array();
  for (size_t i = 0; i < n; i++) {
    char id[GG_PEERID_TEXT_MAX];
    gg_peerid_to_b58(&p[i].id, id, sizeof(id));
    json_t *addrs = json_array();
    for (size_t j = 0; j < p[i].naddrs; j++) {
      gg_maddr ma;
      char text[GG_MADDR_STR_MAX];
      if (gg_maddr_from_bytes(&ma, p[i].addrs[j].p, p[i].addrs[j].len) == GG_OK &&
          gg_maddr_to_str(&ma, text, sizeof(text)) >= 0)
        json_array_append_new(addrs, json_string(text));
    }
    json_array_append_new(arr, json_pack("{s:s, s:o}", "id", id, "addrs", addrs));
  }
  return arr;
}

static json_t *result_json(ggn_kad *k, const ggp_kad_result *r) {
  json_t *a =
      r->err == GG_OK ? json_pack("{s:b, s:i}", "ok", 1, "err", 0) : cli_dht_error(r->err, NULL);
  if (r->val) {
    char *hex = cli_hex(r->val, r->vlen);
    json_object_set_new(a, "value_hex", json_string(hex ? hex : ""));
    free(hex);
  }
  if (r->type == GGP_KAD_Q_PUT_VALUE || r->type == GGP_KAD_Q_PROVIDE)
    json_object_set_new(a, "stored", json_integer((json_int_t)r->stored));
  if (r->npeers) json_object_set_new(a, "peers", peers_json(r->peers, r->npeers));
  if (r->type == GGP_KAD_Q_GET_PROVIDERS)
    json_object_set_new(a, "providers", peers_json(r->providers, r->nproviders));
  json_object_set_new(a, "rounds", json_integer(r->rounds));
  json_object_set_new(a, "requests", json_integer(r->requests));
  json_object_set_new(a, "replies", json_integer(r->replies));
  json_object_set_new(a, "failures", json_integer(r->failures));
  json_object_set_new(a, "ms", json_real((double)r->duration / 1e6));
  json_object_set_new(a, "routing_peers", json_integer((json_int_t)ggn_kad_routing_size(k)));
  return a;
}

/* ---- running an operation -------------------------------------------------------------------- */

/* Operations in flight, so the ones a closed service forgot can be freed (cli_dht_forget). */
typedef struct exec_ctx {
  void (*done)(json_t *answer, void *ud);
  void *ud;
  struct exec_ctx *prev, *next;
} exec_ctx;

static exec_ctx *inflight;

static exec_ctx *exec_new(void (*done)(json_t *, void *), void *ud) {
  exec_ctx *x = calloc(1, sizeof(*x));
  if (!x) return NULL;
  x->done = done;
  x->ud = ud;
  x->next = inflight;
  if (inflight) inflight->prev = x;
  inflight = x;
  return x;
}

static void exec_free(exec_ctx *x) {
  if (x->prev)
    x->prev->next = x->next;
  else
    inflight = x->next;
  if (x->next) x->next->prev = x->prev;
  free(x);
}

void cli_dht_forget(void) {
  while (inflight) exec_free(inflight);
}

static void exec_done(ggn_kad *k, const ggp_kad_result *res, void *ud) {
  exec_ctx *x = ud;
  json_t *a = result_json(k, res);
  x->done(a, x->ud);
  json_decref(a);
  exec_free(x);
}

static int fail(json_t **answer, int err, const char *msg) {
  *answer = cli_dht_error(err, msg);
  return -1;
}

int cli_dht_exec(ggn_kad *k, json_t *op, void (*done)(json_t *answer, void *ud), void *ud,
                 json_t **answer) {
  const char *name = json_string_value(json_object_get(op, "op"));
  if (!name) return fail(answer, GG_EINVAL, "request without an op");
  if (!strcmp(name, "status")) {
    const ggp_kad *core = ggn_kad_core(k);
    ggp_kad_stats st;
    ggp_kad_get_stats(core, &st);
    *answer = json_pack("{s:b, s:i, s:I, s:I, s:I, s:I, s:s}", "ok", 1, "err", 0, "routing_peers",
                        (json_int_t)st.routing_peers, "records", (json_int_t)st.records,
                        "provider_keys", (json_int_t)st.provider_keys, "requests_served",
                        (json_int_t)st.requests_served, "protocol", ggn_kad_protocol(k));
    return -1; /* answered at once: nothing follows */
  }
  exec_ctx *x = exec_new(done, ud);
  if (!x) return fail(answer, GG_ENOMEM, NULL);
  int rv = GG_EINVAL;
  const char *why = NULL;
  const char *key = json_string_value(json_object_get(op, "key"));
  if (!strcmp(name, "put") || !strcmp(name, "get")) {
    if (!key || key[0] != '/') {
      why = "KEY must look like /namespace/name";
    } else if (!strcmp(name, "get")) {
      rv = ggn_kad_get(k, (const uint8_t *)key, strlen(key), 0, exec_done, x);
    } else {
      const char *vh = json_string_value(json_object_get(op, "value_hex"));
      size_t vlen = 0;
      uint8_t *val = vh ? cli_unhex(vh, &vlen) : NULL;
      if (!val)
        why = "value_hex missing or not hex";
      else
        rv = ggn_kad_put(k, (const uint8_t *)key, strlen(key), val, vlen, exec_done, x);
      free(val);
    }
  } else if (!strcmp(name, "provide") || !strcmp(name, "find-providers")) {
    const char *mh = json_string_value(json_object_get(op, "mh_hex"));
    size_t n = 0;
    uint8_t *b = mh ? cli_unhex(mh, &n) : NULL;
    gg_mh m;
    if (!b || gg_mh_decode(b, n, &m) != GG_OK)
      why = "mh_hex is not a multihash";
    else if (!strcmp(name, "provide"))
      rv = ggn_kad_provide(k, b, n, exec_done, x);
    else
      rv = ggn_kad_find_providers(k, b, n, (size_t)json_integer_value(json_object_get(op, "max")),
                                  exec_done, x);
    free(b);
  } else if (!strcmp(name, "find-peer")) {
    const char *p = json_string_value(json_object_get(op, "peer"));
    gg_peerid id;
    if (!p || gg_peerid_parse(&id, p, strlen(p)) != GG_OK)
      why = "not a peer id";
    else
      rv = ggn_kad_find_peer(k, &id, exec_done, x);
  } else if (!strcmp(name, "bootstrap")) {
    json_t *arr = json_object_get(op, "addrs");
    size_t n = json_array_size(arr);
    gg_maddr *addrs = calloc(n ? n : 1, sizeof(*addrs));
    size_t ok = 0;
    for (size_t i = 0; addrs && i < n; i++) {
      const char *s = json_string_value(json_array_get(arr, i));
      if (!s || gg_maddr_parse(&addrs[ok], s, strlen(s)) != GG_OK) {
        why = "not a multiaddr";
        break;
      }
      ok++;
    }
    if (!addrs)
      rv = GG_ENOMEM;
    else if (!why)
      rv = ggn_kad_bootstrap(k, addrs, ok, exec_done, x);
    free(addrs);
  } else {
    why = "unknown op";
  }
  if (rv != GG_OK) {
    exec_free(x);
    if (!why && (rv == GG_EINVAL || rv == GG_EPROTO) && key)
      why = "key refused: no validator for its namespace here, or malformed";
    return fail(answer, rv, why);
  }
  return 0;
}

/* ---- control socket: server ------------------------------------------------------------------ */

typedef struct ctl_client {
  uv_pipe_t pipe;
  struct cli_ctl *ctl;
  struct ctl_client *prev, *next;
  char *line;
  size_t len;
  int busy, closing;
} ctl_client;

struct cli_ctl {
  uv_pipe_t srv;
  ggn_kad *k;
  cli_ctl_exec_fn extra; /* other services' operations (cli_ctl_set_extra) */
  void *extra_ud;
  char *path;
  ctl_client *clients;
  int nclients;
};

static void client_closed(uv_handle_t *h) {
  ctl_client *c = h->data;
  free(c->line);
  free(c);
}

static void client_close(ctl_client *c) {
  if (c->closing) return;
  c->closing = 1;
  cli_ctl *ctl = c->ctl;
  if (c->prev)
    c->prev->next = c->next;
  else
    ctl->clients = c->next;
  if (c->next) c->next->prev = c->prev;
  ctl->nclients--;
  uv_close((uv_handle_t *)&c->pipe, client_closed);
}

typedef struct wreq {
  uv_write_t req;
  ctl_client *c;
  char *text;
} wreq;

static void written(uv_write_t *req, int status) {
  (void)status;
  wreq *w = (wreq *)req;
  client_close(w->c); /* one request, one answer */
  free(w->text);
  free(w);
}

static void answer(ctl_client *c, json_t *a) {
  if (c->closing) return;
  char *s = json_dumps(a, JSON_COMPACT | JSON_REAL_PRECISION(6));
  size_t n = s ? strlen(s) : 0;
  wreq *w = malloc(sizeof(*w));
  char *text = s ? realloc(s, n + 2) : NULL;
  if (!w || !text) {
    free(w);
    free(text ? text : s);
    client_close(c);
    return;
  }
  text[n] = '\n';
  text[n + 1] = 0;
  w->c = c;
  w->text = text;
  uv_buf_t b = uv_buf_init(text, (unsigned)(n + 1));
  if (uv_write(&w->req, (uv_stream_t *)&c->pipe, &b, 1, written) != 0) {
    free(text);
    free(w);
    client_close(c);
  }
}

static void op_done(json_t *a, void *ud) { answer(ud, a); }

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  (void)h;
  buf->base = malloc(suggested);
  buf->len = buf->base ? suggested : 0;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  ctl_client *c = s->data;
  if (nread < 0 || c->busy) {
    free(buf->base);
    if (nread < 0 && !c->busy) client_close(c); /* a busy client waits for its answer */
    return;
  }
  char *nl = memchr(buf->base, '\n', (size_t)nread);
  size_t take = nl ? (size_t)(nl - buf->base) : (size_t)nread;
  if (c->len + take > CLI_CTL_MAX_LINE) {
    free(buf->base);
    client_close(c);
    return;
  }
  char *line = realloc(c->line, c->len + take + 1);
  if (!line) {
    free(buf->base);
    client_close(c);
    return;
  }
  memcpy(line + c->len, buf->base, take);
  c->line = line;
  c->len += take;
  c->line[c->len] = 0;
  free(buf->base);
  if (!nl) return;
  c->busy = 1;
  uv_read_stop(s);
  json_error_t jerr;
  json_t *op = json_loads(c->line, 0, &jerr);
  json_t *a = NULL;
  if (!op)
    a = cli_dht_error(GG_EINVAL, "request is not JSON");
  else {
    int r = c->ctl->extra ? c->ctl->extra(c->ctl->extra_ud, op, op_done, c, &a) : 1;
    if (r == 1) r = cli_dht_exec(c->ctl->k, op, op_done, c, &a);
    if (r == 0) a = NULL;
  }
  json_decref(op);
  if (a) {
    answer(c, a);
    json_decref(a);
  }
}

static void on_conn(uv_stream_t *srv, int status) {
  cli_ctl *ctl = srv->data;
  if (status < 0) return;
  ctl_client *c = calloc(1, sizeof(*c));
  if (!c) return;
  uv_pipe_init(srv->loop, &c->pipe, 0);
  c->pipe.data = c;
  c->ctl = ctl;
  c->next = ctl->clients;
  if (ctl->clients) ctl->clients->prev = c;
  ctl->clients = c;
  ctl->nclients++;
  if (uv_accept(srv, (uv_stream_t *)&c->pipe) != 0 || ctl->nclients > CTL_MAX_CLIENTS) {
    client_close(c);
    return;
  }
  uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read);
}

int cli_ctl_alive(const char *path) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof(sa.sun_path)) return 0;
  strcpy(sa.sun_path, path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  int ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
  close(fd);
  return ok;
}

static void srv_closed(uv_handle_t *h) {
  cli_ctl *ctl = h->data;
  free(ctl->path);
  free(ctl);
}

int cli_ctl_start(cli_ctl **out, uv_loop_t *loop, const char *path, ggn_kad *k) {
  struct sockaddr_un sa;
  if (strlen(path) >= sizeof(sa.sun_path)) return GG_EINVAL;
  if (cli_ctl_alive(path)) return GG_EEXIST;
  unlink(path); /* a stale socket left by a node that was killed */
  cli_ctl *ctl = calloc(1, sizeof(*ctl));
  if (!ctl) return GG_ENOMEM;
  ctl->k = k;
  ctl->path = strdup(path);
  uv_pipe_init(loop, &ctl->srv, 0);
  ctl->srv.data = ctl;
  mode_t old = umask(0177); /* the socket file is created 0600 */
  int rv = ctl->path ? uv_pipe_bind(&ctl->srv, path) : UV_ENOMEM;
  umask(old);
  if (rv == 0) rv = uv_listen((uv_stream_t *)&ctl->srv, 16, on_conn);
  if (rv != 0) {
    uv_close((uv_handle_t *)&ctl->srv, srv_closed);
    return GG_EIO;
  }
  *out = ctl;
  return GG_OK;
}

void cli_ctl_set_extra(cli_ctl *ctl, cli_ctl_exec_fn fn, void *ud) {
  ctl->extra = fn;
  ctl->extra_ud = ud;
}

void cli_ctl_stop(cli_ctl *ctl) {
  while (ctl->clients) client_close(ctl->clients);
  unlink(ctl->path);
  uv_close((uv_handle_t *)&ctl->srv, srv_closed);
}

/* ---- control socket: client ------------------------------------------------------------------ */

static long long ms_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int cli_ctl_call(const char *path, json_t *op, int timeout_ms, json_t **answer) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof(sa.sun_path)) return GG_ENOTFOUND;
  strcpy(sa.sun_path, path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return GG_EIO;
  if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
    close(fd);
    return GG_ENOTFOUND;
  }
  char *req = json_dumps(op, JSON_COMPACT | JSON_REAL_PRECISION(6));
  int rv = req ? GG_OK : GG_ENOMEM;
  if (rv == GG_OK) {
    size_t n = strlen(req), off = 0;
    req[n] = '\n'; /* json_dumps's NUL becomes the line end */
    while (off < n + 1 && rv == GG_OK) {
      ssize_t w = send(fd, req + off, n + 1 - off, MSG_NOSIGNAL);
      if (w < 0 && errno != EINTR)
        rv = GG_EIO;
      else if (w > 0)
        off += (size_t)w;
    }
    free(req);
  }
  char *buf = NULL;
  size_t len = 0;
  long long end = ms_now() + timeout_ms;
  while (rv == GG_OK) {
    long long left = end - ms_now();
    if (left <= 0) {
      rv = GG_ETIMEDOUT;
      break;
    }
    struct pollfd p = {fd, POLLIN, 0};
    int pr = poll(&p, 1, (int)left);
    if (pr < 0 && errno == EINTR) continue;
    if (pr <= 0) continue;
    char chunk[65536];
    ssize_t r = recv(fd, chunk, sizeof(chunk), 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      rv = len ? GG_OK : GG_ECLOSED;
      break;
    }
    if (len + (size_t)r > CLI_CTL_MAX_LINE) {
      rv = GG_EIO;
      break;
    }
    char *nb = realloc(buf, len + (size_t)r + 1);
    if (!nb) {
      rv = GG_ENOMEM;
      break;
    }
    buf = nb;
    memcpy(buf + len, chunk, (size_t)r);
    len += (size_t)r;
    buf[len] = 0;
    if (memchr(chunk, '\n', (size_t)r)) break;
  }
  close(fd);
  if (rv == GG_OK) {
    json_error_t jerr;
    *answer = json_loads(buf ? buf : "", JSON_DISABLE_EOF_CHECK, &jerr);
    if (!*answer) rv = GG_EIO;
  }
  free(buf);
  return rv;
}
