/*
 * The harness worker (include/ggen/harness.h, docs/harness.md): many real nodes in one
 * process on one uv loop, driven by text commands from the coordinator over a stream socket.
 *
 * The worker never blocks: commands are read as they come, each starts an asynchronous
 * operation on a node (or answers at once), and replies are queued into one output buffer
 * that is written whenever the previous write has completed, so replies batch up naturally
 * under load. Every command gets exactly one reply; every operation has its own timeout in
 * the layer below (dial, negotiation, query timeouts), so a reply always comes.
 *
 * Shutdown: "quit" (or the end of the command stream) closes every node; once all hosts have
 * closed, the reply is flushed, the socket is closed and uv_run returns with nothing left on
 * the loop, so uv_loop_close succeeds.
 */
#include <dirent.h>
#include <errno.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "ggen/err.h"
#include "ggen/harness.h"
#include "ggen/mem.h"
#include "net/harness_int.h"

#define HW_LINE_MAX (64 * 1024)         /* a command line longer than this ends the worker */
#define HW_OUT_MAX (256u * 1024 * 1024) /* replies queued for a coordinator that is not reading */

struct hw {
  uv_loop_t loop;
  uv_pipe_t pipe;
  const char *name;
  gg_buf in, out;
  int writing;     /* a uv_write of out's former contents is in flight */
  int stopping;    /* quit received or input ended: closing nodes */
  int pipe_closed; /* uv_close was called on pipe */
  int out_dead;    /* a write failed: replies are dropped */
  int exit_code;
  char quit_tag[40]; /* tag of the quit command to answer once everything closed */
  hw_settings st;
  hw_node **nodes; /* by index; NULL where no node */
  size_t nodes_cap;
  size_t live; /* nodes not yet freed */
  ggn_log log;
};

/* ---- output ------------------------------------------------------------------------- */

typedef struct hw_write {
  uv_write_t req;
  uint8_t *data;
} hw_write;

static void out_flush(hw *w);
static void maybe_finish(hw *w);

static void stop_all(hw *w);

static void on_written(uv_write_t *req, int status) {
  hw_write *wr = (hw_write *)req;
  hw *w = req->data;
  gg_free(NULL, wr->data);
  free(wr);
  w->writing = 0;
  if (status < 0) {
    /* The coordinator is gone: nothing more can be reported, so stop. */
    ggn_logf(&w->log, GGN_LOG_WARN, "reply write failed: %s", uv_strerror(status));
    w->out_dead = 1;
    gg_buf_reset(&w->out);
    if (!w->stopping) w->exit_code = 3;
    w->quit_tag[0] = 0;
    stop_all(w);
  }
  out_flush(w);
  maybe_finish(w);
}

static void out_flush(hw *w) {
  if (w->writing || w->pipe_closed || w->out_dead || gg_buf_len(&w->out) == 0) return;
  hw_write *wr = malloc(sizeof(*wr));
  size_t len = 0;
  uint8_t *p = wr ? gg_buf_detach(&w->out, &len) : NULL;
  if (!p) {
    /* Out of memory while reporting: the run cannot continue meaningfully. */
    fprintf(stderr, "%s: out of memory writing replies\n", w->name);
    abort();
  }
  wr->data = p;
  wr->req.data = w;
  uv_buf_t b = uv_buf_init((char *)p, (unsigned)len);
  int rv = uv_write(&wr->req, (uv_stream_t *)&w->pipe, &b, 1, on_written);
  if (rv < 0) {
    gg_free(NULL, p);
    free(wr);
    w->out_dead = 1;
    w->exit_code = 3;
    return;
  }
  w->writing = 1;
}

static void out_line(hw *w, const char *tag, const char *kind, const char *fields) {
  char line[HW_LINE_MAX];
  int n = snprintf(line, sizeof line, "%s %s%s%s\n", tag, kind, fields[0] ? " " : "", fields);
  if (n < 0 || (size_t)n >= sizeof line)
    n = snprintf(line, sizeof line, "%s err GG_EINTERNAL reply too long\n", tag);
  if (w->out_dead) return;
  if (gg_buf_append(&w->out, line, (size_t)n) != GG_OK) {
    fprintf(stderr, "%s: reply queue full (coordinator not reading)\n", w->name);
    abort();
  }
  out_flush(w);
}

void hw_reply_ok(hw_op *op, const char *fmt, ...) {
  char fields[HW_LINE_MAX - 64];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(fields, sizeof fields, fmt, ap);
  va_end(ap);
  out_line(op->w, op->tag, "ok", fields);
  free(op);
}

void hw_reply_err(hw_op *op, int err, const char *fmt, ...) {
  char fields[1024];
  int n = snprintf(fields, sizeof fields, "%s ", gg_errname(err));
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(fields + n, sizeof fields - (size_t)n, fmt, ap);
  va_end(ap);
  /* replies are single lines */
  for (char *c = fields; *c; c++)
    if (*c == '\n' || *c == '\r') *c = ' ';
  out_line(op->w, op->tag, "err", fields);
  free(op);
}

const hw_settings *hw_settings_get(const hw *w) { return &w->st; }
uv_loop_t *hw_loop(const hw *w) { return (uv_loop_t *)&w->loop; }

int hw_parse_peer_addr(const char *peer, const char *addr, gg_peerid *id, gg_maddr *ma) {
  if (gg_peerid_parse(id, peer, strlen(peer)) != GG_OK) return GG_EINVAL;
  if (gg_maddr_parse(ma, addr, strlen(addr)) != GG_OK) return GG_EINVAL;
  return GG_OK;
}

/* ---- nodes ---------------------------------------------------------------------------- */

static void node_closed(void *ud) {
  hw_node *n = ud;
  hw *w = n->w;
  if (--n->closes > 0) return;
  if (w->nodes[n->idx] == n) w->nodes[n->idx] = NULL;
  free(n);
  w->live--;
  maybe_finish(w);
}

/* Services close first (they reset their streams), then the host; the node is freed when
 * every close callback has come. */
static void node_close(hw_node *n) {
  if (n->closing) return;
  n->closing = 1;
  n->closes = 1 + (n->kad != NULL) + (n->gossip != NULL);
  if (n->kad) hw_kad_close(n, node_closed);
  if (n->gossip) hw_gossip_close(n, node_closed);
  ggn_host_close(n->h, node_closed, n);
}

static hw_node *node_get(hw *w, const char *s) {
  char *end;
  errno = 0;
  unsigned long i = strtoul(s, &end, 10);
  if (errno || *end || end == s || i >= w->nodes_cap) return NULL;
  hw_node *n = w->nodes[i];
  return n && !n->closing ? n : NULL;
}

static void node_key(const hw_settings *st, unsigned idx, gg_keypair *kp) {
  /* Deterministic keys give the same peer ids, hence the same Kademlia topology, on every
   * run with the same seed. */
  uint8_t seed[GG_ED25519_SEED] = {0};
  for (int i = 0; i < 8; i++) {
    seed[i] = (uint8_t)(st->seed >> (8 * i));
    seed[8 + i] = (uint8_t)((uint64_t)idx >> (8 * i));
  }
  memcpy(seed + 16, "ggen-harness-key", 16);
  gg_keypair_from_seed(kp, seed);
}

/* ---- commands ------------------------------------------------------------------------- */

static int parse_u64(const char *s, uint64_t *v) {
  char *end;
  errno = 0;
  unsigned long long x = strtoull(s, &end, 10);
  if (errno || *end || end == s) return GG_EINVAL;
  *v = x;
  return GG_OK;
}

static int parse_ms(const char *s, gg_ts *v) {
  char *end;
  errno = 0;
  double x = strtod(s, &end);
  if (errno || *end || end == s || x < 0 || x > 1e9) return GG_EINVAL;
  *v = (gg_ts)(x * 1e6 + 0.5);
  return GG_OK;
}

static int set_one(hw *w, const char *k, const char *v) {
  hw_settings *st = &w->st;
  uint64_t u;
  int rv = hw_kad_set(st, k, v);
  if (rv != GG_ENOTFOUND) return rv;
  rv = hw_gossip_set(st, k, v);
  if (rv != GG_ENOTFOUND) return rv;
  if (!strcmp(k, "seed")) return parse_u64(v, &st->seed);
  if (!strcmp(k, "delay_ms")) return parse_ms(v, &st->latency.delay_ns);
  if (!strcmp(k, "spread_ms")) return parse_ms(v, &st->latency.spread_ns);
  if (!strcmp(k, "jitter_ms")) return parse_ms(v, &st->latency.jitter_ns);
  if (!strcmp(k, "trim_grace_ms")) return parse_ms(v, &st->trim_grace);
  if (!strcmp(k, "dial_timeout_ms")) return parse_ms(v, &st->dial_timeout);
  if (!strcmp(k, "dist")) {
    if (!strcmp(v, "fixed"))
      st->latency.dist = GGN_DELAY_FIXED;
    else if (!strcmp(v, "uniform"))
      st->latency.dist = GGN_DELAY_UNIFORM;
    else if (!strcmp(v, "normal"))
      st->latency.dist = GGN_DELAY_NORMAL;
    else
      return GG_EINVAL;
    return GG_OK;
  }
  if (!strcmp(k, "drop_dial")) {
    char *end;
    double x = strtod(v, &end);
    if (*end || end == v || x < 0 || x > 1) return GG_EINVAL;
    st->latency.drop_dial = x;
    return GG_OK;
  }
  if (!strcmp(k, "eager")) {
    if (strcmp(v, "0") && strcmp(v, "1")) return GG_EINVAL;
    st->eager_select = v[0] == '1';
    return GG_OK;
  }
  if (!strcmp(k, "log")) {
    int l = ggn_log_level_parse(v);
    if (l == -2) return GG_EINVAL;
    st->log_level = l;
    return GG_OK;
  }
  uint32_t *p = !strcmp(k, "max_conns")    ? &st->max_conns
                : !strcmp(k, "high_water") ? &st->high_water
                : !strcmp(k, "low_water")  ? &st->low_water
                                           : NULL;
  if (!p) return GG_ENOTFOUND;
  if (parse_u64(v, &u) != GG_OK || u > UINT32_MAX) return GG_EINVAL;
  *p = (uint32_t)u;
  return GG_OK;
}

static void cmd_set(hw_op *op, int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    char *eq = strchr(argv[i], '=');
    if (!eq) {
      hw_reply_err(op, GG_EINVAL, "expected KEY=VALUE, got '%s'", argv[i]);
      return;
    }
    *eq = 0;
    int rv = set_one(op->w, argv[i], eq + 1);
    if (rv == GG_ENOTFOUND) {
      hw_reply_err(op, rv, "unknown setting '%s'", argv[i]);
      return;
    }
    if (rv != GG_OK) {
      hw_reply_err(op, rv, "bad value '%s' for %s", eq + 1, argv[i]);
      return;
    }
  }
  hw_reply_ok(op, "%s", "");
}

static void cmd_start(hw_op *op, int argc, char **argv) {
  hw *w = op->w;
  uint64_t idx;
  if (argc != 2 || parse_u64(argv[1], &idx) != GG_OK || idx >= HW_MAX_NODE_IDX) {
    hw_reply_err(op, GG_EINVAL, "usage: start IDX (IDX < %u)", HW_MAX_NODE_IDX);
    return;
  }
  if (idx >= w->nodes_cap) {
    size_t cap = w->nodes_cap ? w->nodes_cap : 256;
    while (cap <= idx) cap *= 2;
    hw_node **nn = realloc(w->nodes, cap * sizeof(*nn));
    if (!nn) {
      hw_reply_err(op, GG_ENOMEM, "node table");
      return;
    }
    memset(nn + w->nodes_cap, 0, (cap - w->nodes_cap) * sizeof(*nn));
    w->nodes = nn;
    w->nodes_cap = cap;
  }
  if (w->nodes[idx]) {
    hw_reply_err(op, GG_EEXIST, "node %llu exists", (unsigned long long)idx);
    return;
  }
  hw_node *n = calloc(1, sizeof(*n));
  if (!n) {
    hw_reply_err(op, GG_ENOMEM, "node");
    return;
  }
  n->w = w;
  n->idx = (unsigned)idx;
  node_key(&w->st, n->idx, &n->key);
  ggn_log lg;
  ggn_log_init(&lg, w->st.log_level, "");
  ggn_host_settings hs = {
      .identity = &n->key,
      .agent_version = "ggen-harness",
      .dial_timeout = w->st.dial_timeout,
      .max_conns = w->st.max_conns,
      .conn_high_water = w->st.high_water,
      .conn_low_water = w->st.low_water,
      .trim_grace = w->st.trim_grace,
      .latency = w->st.latency,
      .eager_select = w->st.eager_select,
      .log = &lg,
  };
  int rv = ggn_host_new(&n->h, &w->loop, &hs, NULL, n);
  if (rv != GG_OK) {
    free(n);
    hw_reply_err(op, rv, "host");
    return;
  }
  w->nodes[idx] = n;
  w->live++;
  /* services register their protocols before the node listens, so identify lists them */
  if ((rv = hw_kad_attach(n, &w->st)) != GG_OK) {
    node_close(n);
    hw_reply_err(op, rv, "kad service");
    return;
  }
  if ((rv = hw_gossip_attach(n, &w->st)) != GG_OK) {
    node_close(n);
    hw_reply_err(op, rv, "gossip service");
    return;
  }
  gg_maddr la;
  static const char any[] = "/ip4/127.0.0.1/tcp/0";
  gg_maddr_parse(&la, any, sizeof any - 1);
  rv = ggn_host_listen(n->h, &la);
  gg_maddr bound;
  if (rv == GG_OK && ggn_host_listen_addrs(n->h, &bound, 1) != 1) rv = GG_EIO;
  if (rv != GG_OK) {
    node_close(n);
    hw_reply_err(op, rv, "listen");
    return;
  }
  char pid[GG_PEERID_TEXT_MAX], addr[256];
  gg_peerid_to_b58(ggn_host_peer_id(n->h), pid, sizeof pid);
  gg_maddr_to_str(&bound, addr, sizeof addr);
  hw_reply_ok(op, "peer=%s addr=%s", pid, addr);
}

static void cmd_stop(hw_op *op, int argc, char **argv) {
  node_close(op->n);
  hw_reply_ok(op, "%s", "");
}

static void cmd_addr(hw_op *op, int argc, char **argv) {
  gg_peerid id;
  gg_maddr ma;
  if (argc != 4 || hw_parse_peer_addr(argv[2], argv[3], &id, &ma) != GG_OK) {
    hw_reply_err(op, GG_EINVAL, "usage: addr IDX PEER MADDR");
    return;
  }
  int rv = ggn_host_add_addr(op->n->h, &id, &ma);
  if (rv != GG_OK)
    hw_reply_err(op, rv, "add_addr");
  else
    hw_reply_ok(op, "%s", "");
}

static void connected(ggn_host *h, ggn_conn *c, int err, void *ud) {
  hw_op *op = ud;
  gg_ts ns = gg_clock_now() - op->t0;
  if (err != GG_OK)
    hw_reply_err(op, err, "after %.1f ms", ns / 1e6);
  else
    hw_reply_ok(op, "ns=%llu", (unsigned long long)ns);
}

static void cmd_connect(hw_op *op, int argc, char **argv) {
  gg_peerid id;
  gg_maddr ma;
  if (argc != 4 || hw_parse_peer_addr(argv[2], argv[3], &id, &ma) != GG_OK ||
      gg_maddr_push_peer(&ma, &id) != GG_OK) {
    hw_reply_err(op, GG_EINVAL, "usage: connect IDX PEER MADDR");
    return;
  }
  int rv = ggn_host_dial(op->n->h, &ma, connected, op);
  if (rv != GG_OK) hw_reply_err(op, rv, "dial");
}

static void pinged(ggn_host *h, const gg_peerid *peer, int err, gg_ts rtt, void *ud) {
  hw_op *op = ud;
  gg_ts ns = gg_clock_now() - op->t0;
  if (err != GG_OK)
    hw_reply_err(op, err, "after %.1f ms", ns / 1e6);
  else
    hw_reply_ok(op, "ns=%llu rtt=%llu", (unsigned long long)ns, (unsigned long long)rtt);
}

static void cmd_ping(hw_op *op, int argc, char **argv) {
  gg_peerid id;
  gg_maddr ma;
  if (argc != 4 || hw_parse_peer_addr(argv[2], argv[3], &id, &ma) != GG_OK) {
    hw_reply_err(op, GG_EINVAL, "usage: ping IDX PEER MADDR");
    return;
  }
  int rv = ggn_host_add_addr(op->n->h, &id, &ma);
  if (rv == GG_OK) rv = ggn_host_ping(op->n->h, &id, pinged, op);
  if (rv != GG_OK) hw_reply_err(op, rv, "ping");
}

static void cmd_nstats(hw_op *op, int argc, char **argv) {
  ggn_host *h = op->n->h;
  hw_reply_ok(op, "conns=%zu open=%zu peers=%zu", ggn_host_conn_count(h),
              ggn_host_conn_count_open(h), ggn_host_peer_count(h));
}

static size_t count_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  if (!d) return 0;
  size_t n = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    if (e->d_name[0] != '.') n++;
  closedir(d);
  return n ? n - 1 : 0; /* the directory stream itself */
}

static size_t rss_kb(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  unsigned long size = 0, res = 0;
  if (!f) return 0;
  if (fscanf(f, "%lu %lu", &size, &res) != 2) res = 0;
  fclose(f);
  return res * ((size_t)sysconf(_SC_PAGESIZE) / 1024);
}

static void cmd_stats(hw_op *op, int argc, char **argv) {
  hw *w = op->w;
  size_t conns = 0, open = 0, nodes = 0, rt = 0, rt_conn = 0;
  uint64_t redials = 0;
  ggn_host_closes cl = {0};
  for (size_t i = 0; i < w->nodes_cap; i++) {
    hw_node *n = w->nodes[i];
    if (!n || n->closing) continue;
    nodes++;
    conns += ggn_host_conn_count(n->h);
    open += ggn_host_conn_count_open(n->h);
    ggn_host_closes c;
    ggn_host_get_closes(n->h, &c);
    cl.trimmed += c.trimmed, cl.local += c.local, cl.peer += c.peer, cl.error += c.error;
    if (n->kad) {
      rt += ggn_kad_routing_size(n->kad);
      rt_conn += ggn_kad_routing_connected(n->kad);
      ggn_kad_counters kc;
      ggn_kad_get_counters(n->kad, &kc);
      redials += kc.redials;
    }
  }
  struct mallinfo2 mi = mallinfo2();
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  double cpu_ms = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
                  (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
  hw_reply_ok(op,
              "nodes=%zu rss_kb=%zu heap=%zu fds=%zu conns=%zu open=%zu cpu_ms=%.1f rt=%zu "
              "rt_conn=%zu closed_trimmed=%llu closed_local=%llu closed_peer=%llu "
              "closed_error=%llu redials=%llu",
              nodes, rss_kb(), mi.uordblks + mi.hblkhd, count_fds(), conns, open, cpu_ms, rt,
              rt_conn, (unsigned long long)cl.trimmed, (unsigned long long)cl.local,
              (unsigned long long)cl.peer, (unsigned long long)cl.error,
              (unsigned long long)redials);
}

static void stop_all(hw *w) {
  w->stopping = 1;
  for (size_t i = 0; i < w->nodes_cap; i++)
    if (w->nodes[i]) node_close(w->nodes[i]);
  maybe_finish(w);
}

static void cmd_quit(hw_op *op, int argc, char **argv) {
  hw *w = op->w;
  snprintf(w->quit_tag, sizeof w->quit_tag, "%s", op->tag);
  free(op);
  stop_all(w);
}

/* The process and host commands; service commands come from their own tables. */
static const hw_cmd core_cmds[] = {
    {"set", cmd_set, 0},       {"start", cmd_start, 0},     {"stop", cmd_stop, 1},
    {"addr", cmd_addr, 1},     {"connect", cmd_connect, 1}, {"ping", cmd_ping, 1},
    {"nstats", cmd_nstats, 1}, {"stats", cmd_stats, 0},     {"quit", cmd_quit, 0},
    {NULL, NULL, 0},
};

static const hw_cmd *const tables[] = {core_cmds, hw_kad_cmds, hw_gossip_cmds};

static const hw_cmd *find_cmd(const char *name) {
  for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++)
    for (const hw_cmd *c = tables[t]; c->name; c++)
      if (!strcmp(c->name, name)) return c;
  return NULL;
}

static void dispatch(hw *w, char *line) {
  char *argv[HW_MAX_ARGS + 1];
  int argc = 0;
  char *save = NULL;
  for (char *t = strtok_r(line, " \t\r", &save); t && argc <= HW_MAX_ARGS;
       t = strtok_r(NULL, " \t\r", &save))
    argv[argc++] = t;
  if (argc == 0) return;
  hw_op *op = calloc(1, sizeof(*op));
  if (!op) abort();
  op->w = w;
  op->t0 = gg_clock_now();
  snprintf(op->tag, sizeof op->tag, "%s", argv[0]);
  if (argc < 2 || argc > HW_MAX_ARGS) {
    hw_reply_err(op, GG_EINVAL, "expected TAG CMD ARG... (at most %d tokens)", HW_MAX_ARGS);
    return;
  }
  if (w->stopping) {
    hw_reply_err(op, GG_ESTATE, "worker is stopping");
    return;
  }
  const hw_cmd *c = find_cmd(argv[1]);
  if (!c) {
    hw_reply_err(op, GG_EINVAL, "unknown command '%s'", argv[1]);
    return;
  }
  if (c->node) {
    op->n = argc > 2 ? node_get(w, argv[2]) : NULL;
    if (!op->n) {
      hw_reply_err(op, GG_ENOTFOUND, "no node '%s' in this worker", argc > 2 ? argv[2] : "");
      return;
    }
  }
  c->fn(op, argc - 1, argv + 1);
}

/* ---- input and life cycle ------------------------------------------------------------ */

static void on_pipe_closed(uv_handle_t *hd) { (void)hd; }

static void maybe_finish(hw *w) {
  if (!w->stopping || w->live > 0 || w->pipe_closed) return;
  if (w->quit_tag[0]) {
    hw_op *op = calloc(1, sizeof(*op));
    if (!op) abort();
    op->w = w;
    snprintf(op->tag, sizeof op->tag, "%s", w->quit_tag);
    w->quit_tag[0] = 0;
    hw_reply_ok(op, "%s", "");
  }
  if (w->writing || (gg_buf_len(&w->out) && !w->out_dead)) return; /* on_written calls back */
  w->pipe_closed = 1;
  uv_close((uv_handle_t *)&w->pipe, on_pipe_closed);
}

static void on_alloc(uv_handle_t *hd, size_t suggested, uv_buf_t *buf) {
  hw *w = hd->data;
  uint8_t *p = gg_buf_tail(&w->in, 64 * 1024);
  *buf = uv_buf_init((char *)p, p ? 64 * 1024 : 0);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  hw *w = s->data;
  if (nread < 0) {
    /* The coordinator closed its end (or died): nobody will read results any more. */
    uv_read_stop(s);
    if (!w->stopping) {
      w->exit_code = 3;
      w->quit_tag[0] = 0;
      stop_all(w);
    }
    return;
  }
  if (nread == 0) return;
  gg_buf_commit(&w->in, (size_t)nread);
  for (;;) {
    uint8_t *p = gg_buf_ptr(&w->in);
    size_t len = gg_buf_len(&w->in);
    uint8_t *nl = p ? memchr(p, '\n', len) : NULL;
    if (!nl) {
      if (len > HW_LINE_MAX) {
        fprintf(stderr, "%s: command line over %d bytes; stopping\n", w->name, HW_LINE_MAX);
        uv_read_stop(s);
        w->exit_code = 1;
        stop_all(w);
      }
      return;
    }
    *nl = 0;
    size_t used = (size_t)(nl - p) + 1;
    dispatch(w, (char *)p);
    gg_buf_consume(&w->in, used);
    if (w->pipe_closed) return;
  }
}

int ggn_harness_worker_run(int fd, const char *name) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  hw *w = calloc(1, sizeof(*w));
  if (!w) return 1;
  w->name = name ? name : "worker";
  ggn_log_init(&w->log, GGN_LOG_WARN, w->name);
  w->st.log_level = GGN_LOG_WARN;
  w->st.seed = 1;
  gg_buf_init(&w->in, NULL, HW_LINE_MAX + 64 * 1024 + 1);
  gg_buf_init(&w->out, NULL, HW_OUT_MAX);
  int rv = uv_loop_init(&w->loop);
  if (rv != 0) {
    fprintf(stderr, "%s: uv_loop_init: %s\n", w->name, uv_strerror(rv));
    free(w);
    return 1;
  }
  rv = uv_pipe_init(&w->loop, &w->pipe, 0);
  w->pipe.data = w;
  if (rv == 0) {
    rv = uv_pipe_open(&w->pipe, fd);
    if (rv == 0) rv = uv_read_start((uv_stream_t *)&w->pipe, on_alloc, on_read);
    if (rv != 0) {
      w->pipe_closed = 1;
      uv_close((uv_handle_t *)&w->pipe, on_pipe_closed);
    }
  }
  if (rv != 0) {
    fprintf(stderr, "%s: cannot use the command socket: %s\n", w->name, uv_strerror(rv));
    w->exit_code = 1;
  }
  uv_run(&w->loop, UV_RUN_DEFAULT);
  rv = uv_loop_close(&w->loop);
  if (rv != 0) {
    fprintf(stderr, "%s: handles left open at exit: %s\n", w->name, uv_strerror(rv));
    if (w->exit_code == 0) w->exit_code = 1;
  }
  int code = w->exit_code;
  gg_buf_free(&w->in);
  gg_buf_free(&w->out);
  free(w->nodes);
  free(w);
  return code;
}
