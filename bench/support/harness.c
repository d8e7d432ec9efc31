/*
 * Benchmark harness coordinator (bench/support/harness.h, docs/harness.md).
 *
 * Workers are this same program re-executed (/proc/self/exe --harness-worker 3 NAME) with one
 * end of a socketpair as fd 3, so each starts with a fresh address space (its memory figures
 * are its nodes' and nothing of ours) and runs include/ggen/harness.h's worker. The
 * coordinator talks to them with poll(2) on non-blocking sockets: it never blocks on a worker
 * that stopped reading, and every wait has a deadline. A worker dies with the coordinator
 * (PR_SET_PDEATHSIG, and it exits when its socket reaches EOF).
 *
 * Operations are tagged with a sequence number; replies come in completion order and are
 * matched by tag. Latencies are measured inside the workers (from reading the command to the
 * result), so the coordinator's own scheduling does not inflate them.
 */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ggen/harness.h"
#include "report.h"

#define BH_MAX_WORKERS 256
#define BH_LINE_MAX (64 * 1024)

typedef struct bh_worker {
  pid_t pid;
  int fd;
  int dead;     /* reaped */
  int quitting; /* "quit" was sent: an end of stream is expected */
  int eof;      /* its socket reached end of stream */
  char *in;     /* partial reply line(s) */
  size_t inlen, incap;
  char *out; /* commands not yet written */
  size_t outlen, outoff, outcap;
  unsigned nodes;
  double rss_kb0, heap0;
} bh_worker;

typedef struct bh_nodeinfo {
  char *peer, *addr;
  unsigned worker;
} bh_nodeinfo;

struct bh {
  bh_config cfg;
  unsigned nworkers, per_worker;
  bh_worker w[BH_MAX_WORKERS];
  bh_nodeinfo *nodes;
  unsigned nnodes, capnodes;
  uint64_t next_tag;
  char err[1024];
};

double bh_now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void seterr(bh *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void seterr(bh *h, const char *fmt, ...) {
  if (h->err[0]) return; /* keep the first cause */
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(h->err, sizeof h->err, fmt, ap);
  va_end(ap);
}

const char *bh_error(const bh *h) { return h->err; }
unsigned bh_nodes(const bh *h) { return h->nnodes; }
unsigned bh_workers(const bh *h) { return h->nworkers; }
unsigned bh_worker_of(const bh *h, unsigned node) { return node % h->nworkers; }
const char *bh_peer(const bh *h, unsigned node) {
  return node < h->nnodes ? h->nodes[node].peer : "";
}
const char *bh_addr(const bh *h, unsigned node) {
  return node < h->nnodes ? h->nodes[node].addr : "";
}

/* ---- worker processes -------------------------------------------------------------- */

int bh_worker_main(int argc, char **argv) {
  if (argc < 4 || strcmp(argv[1], "--harness-worker")) return -1;
  int fd = atoi(argv[2]);
  signal(SIGPIPE, SIG_IGN);
  return ggn_harness_worker_run(fd, argv[3]);
}

/* Describes how worker i ended (reaping it if it has), for error messages. */
static void describe_exit(bh *h, unsigned i, char *out, size_t cap) {
  bh_worker *w = &h->w[i];
  int st = 0;
  pid_t r = 0;
  /* A worker whose socket closed is exiting: give it a moment to be reapable. */
  for (int k = 0; k < 100 && !w->dead; k++) {
    r = waitpid(w->pid, &st, WNOHANG);
    if (r == w->pid) break;
    usleep(10000);
  }
  if (r == w->pid) {
    w->dead = 1;
    if (WIFSIGNALED(st))
      snprintf(out, cap, "killed by signal %d (%s)", WTERMSIG(st), strsignal(WTERMSIG(st)));
    else
      snprintf(out, cap, "exited with status %d", WEXITSTATUS(st));
  } else if (w->dead) {
    snprintf(out, cap, "already reaped");
  } else {
    snprintf(out, cap, "closed its socket but is still running");
  }
}

static int spawn(bh *h, unsigned i) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    seterr(h, "socketpair: %s", strerror(errno));
    return -1;
  }
  fflush(NULL);
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    seterr(h, "fork: %s", strerror(errno));
    close(sv[0]);
    close(sv[1]);
    return -1;
  }
  if (pid == 0) {
    /* child: die with the coordinator; fd 3 is the command socket, stdout goes to stderr so
     * the benchmark's table and JSON stay clean */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(3);
    if (sv[1] == 3)
      fcntl(3, F_SETFD, 0);
    else if (dup2(sv[1], 3) != 3)
      _exit(1);
    dup2(2, 1);
    char name[32];
    snprintf(name, sizeof name, "worker %u", i);
    execl("/proc/self/exe", "harness-worker", "--harness-worker", "3", name, (char *)NULL);
    fprintf(stderr, "harness: exec /proc/self/exe: %s\n", strerror(errno));
    _exit(127);
  }
  close(sv[1]);
  fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
  h->w[i].pid = pid;
  h->w[i].fd = sv[0];
  return 0;
}

/* ---- the operation engine -------------------------------------------------------------- */

/* An operation inside the engine: either a user op (node-addressed) or an internal one. */
typedef struct eng_op {
  bh_op *op;
  unsigned worker;
  uint64_t tag;
} eng_op;

static int queue_line(bh *h, unsigned wi, uint64_t tag, const char *line) {
  bh_worker *w = &h->w[wi];
  size_t need = strlen(line) + 32;
  if (w->outlen + need > w->outcap) {
    if (w->outoff) {
      memmove(w->out, w->out + w->outoff, w->outlen - w->outoff);
      w->outlen -= w->outoff;
      w->outoff = 0;
    }
    if (w->outlen + need > w->outcap) {
      size_t cap = w->outcap ? w->outcap : 4096;
      while (cap < w->outlen + need) cap *= 2;
      char *p = realloc(w->out, cap);
      if (!p) {
        seterr(h, "out of memory");
        return -1;
      }
      w->out = p;
      w->outcap = cap;
    }
  }
  w->outlen += (size_t)sprintf(w->out + w->outlen, "%llu %s\n", (unsigned long long)tag, line);
  return 0;
}

static int flush_worker(bh *h, unsigned wi) {
  bh_worker *w = &h->w[wi];
  while (w->outoff < w->outlen) {
    ssize_t k = write(w->fd, w->out + w->outoff, w->outlen - w->outoff);
    if (k < 0 && (errno == EAGAIN || errno == EINTR)) return 0;
    if (k < 0) {
      char how[128];
      describe_exit(h, wi, how, sizeof how);
      seterr(h, "worker %u (pid %d) cannot take commands (%s): %s", wi, (int)w->pid,
             strerror(errno), how);
      return -1;
    }
    w->outoff += (size_t)k;
  }
  w->outoff = w->outlen = 0;
  return 0;
}

/* Records a reply line "TAG ok|err REST" for the batch [base, base + n). */
static int take_reply(bh *h, unsigned wi, char *line, eng_op *eo, size_t n, uint64_t base,
                      size_t *pending) {
  char *sp = strchr(line, ' ');
  char *end;
  unsigned long long tag = strtoull(line, &end, 10);
  if (!sp || end != sp || tag < base || tag >= base + n) {
    seterr(h, "worker %u sent an unexpected reply: '%.200s'", wi, line);
    return -1;
  }
  eng_op *e = &eo[tag - base];
  bh_op *op = e->op;
  if (op->done || e->worker != wi) {
    seterr(h, "worker %u answered tag %llu twice or out of turn", wi, tag);
    return -1;
  }
  char *kind = sp + 1;
  if (!strncmp(kind, "ok", 2) && (kind[2] == ' ' || kind[2] == 0))
    op->ok = 1;
  else if (!strncmp(kind, "err ", 4))
    op->ok = 0;
  else {
    seterr(h, "worker %u sent a malformed reply: '%.200s'", wi, line);
    return -1;
  }
  op->done = 1;
  free(op->fields);
  op->fields = strdup(op->ok ? (kind[2] ? kind + 3 : "") : kind + 4);
  if (!op->fields) {
    seterr(h, "out of memory");
    return -1;
  }
  double ns = bh_op_num(op, "ns", -1);
  op->ms = op->ok && ns >= 0 ? ns / 1e6 : -1;
  (*pending)--;
  return 0;
}

static int read_worker(bh *h, unsigned wi, eng_op *eo, size_t n, uint64_t base, size_t *pending) {
  bh_worker *w = &h->w[wi];
  for (;;) {
    if (w->incap - w->inlen < 4096) {
      size_t cap = w->incap ? w->incap * 2 : 65536;
      if (cap > 16 * BH_LINE_MAX) {
        seterr(h, "worker %u sent a reply line over %d bytes", wi, BH_LINE_MAX);
        return -1;
      }
      char *p = realloc(w->in, cap);
      if (!p) {
        seterr(h, "out of memory");
        return -1;
      }
      w->in = p;
      w->incap = cap;
    }
    ssize_t k = read(w->fd, w->in + w->inlen, w->incap - w->inlen - 1);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0 && errno == EAGAIN) return 0;
    if (k == 0) {
      /* A worker closes its socket after answering "quit": that is no failure as long as
       * nothing it was given is still unanswered. */
      int owes = 0;
      for (size_t i = 0; i < n && !owes; i++)
        owes = eo[i].worker == wi && eo[i].tag && !eo[i].op->done;
      if (!owes && w->quitting) {
        w->eof = 1;
        return 0;
      }
    }
    if (k <= 0) {
      char how[128];
      describe_exit(h, wi, how, sizeof how);
      const char *first = NULL;
      for (size_t i = 0; i < n && !first; i++)
        if (eo[i].worker == wi && eo[i].tag && !eo[i].op->done) first = eo[i].op->line;
      seterr(h, "worker %u (pid %d, %u nodes) died: %s%s%s%s", wi, (int)w->pid, w->nodes, how,
             first ? " while running '" : "", first ? first : "", first ? "'" : "");
      return -1;
    }
    w->inlen += (size_t)k;
    char *start = w->in;
    char *nl;
    while ((nl = memchr(start, '\n', w->inlen - (size_t)(start - w->in)))) {
      *nl = 0;
      if (take_reply(h, wi, start, eo, n, base, pending) != 0) return -1;
      start = nl + 1;
    }
    size_t rest = w->inlen - (size_t)(start - w->in);
    memmove(w->in, start, rest);
    w->inlen = rest;
  }
}

/* Runs eo[0..n) (worker resolved) with at most conc in flight. */
static int engine(bh *h, eng_op *eo, size_t n, unsigned conc, double timeout_s) {
  if (h->err[0]) return -1;
  if (conc == 0 || conc > n) conc = (unsigned)n;
  uint64_t base = h->next_tag;
  h->next_tag += n;
  size_t next = 0, pending = n, inflight = 0;
  for (size_t i = 0; i < n; i++) {
    eo[i].tag = 0;
    eo[i].op->done = eo[i].op->ok = 0;
    eo[i].op->ms = -1;
  }
  double deadline = bh_now_s() + timeout_s;
  struct pollfd pf[BH_MAX_WORKERS];
  while (pending > 0) {
    while (next < n && inflight < conc) {
      eng_op *e = &eo[next];
      e->tag = base + next;
      if (queue_line(h, e->worker, e->tag, e->op->line) != 0) return -1;
      next++;
      inflight++;
    }
    for (unsigned i = 0; i < h->nworkers; i++)
      if (h->w[i].outlen > h->w[i].outoff && flush_worker(h, i) != 0) return -1;
    double left = deadline - bh_now_s();
    if (left <= 0) {
      const char *first = NULL;
      size_t late = 0;
      for (size_t i = 0; i < next; i++)
        if (!eo[i].op->done) {
          late++;
          if (!first) first = eo[i].op->line;
        }
      seterr(h, "%zu operation(s) unanswered after %.0f s (first: '%s')", late, timeout_s,
             first ? first : "?");
      return -1;
    }
    for (unsigned i = 0; i < h->nworkers; i++) {
      pf[i].fd = h->w[i].eof ? -1 : h->w[i].fd;
      pf[i].events = POLLIN | (h->w[i].outlen > h->w[i].outoff ? POLLOUT : 0);
      pf[i].revents = 0;
    }
    int ms = left > 1.0 ? 1000 : (int)(left * 1000) + 1;
    int r = poll(pf, h->nworkers, ms);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      seterr(h, "poll: %s", strerror(errno));
      return -1;
    }
    for (unsigned i = 0; i < h->nworkers; i++) {
      if (!pf[i].revents) continue;
      if (pf[i].revents & (POLLIN | POLLHUP | POLLERR)) {
        size_t before = pending;
        if (read_worker(h, i, eo, n, base, &pending) != 0) return -1;
        inflight -= before - pending;
      }
    }
  }
  return 0;
}

/* ---- ops ------------------------------------------------------------------------------------ */

int bh_op_init(bh_op *op, unsigned node, const char *fmt, ...) {
  memset(op, 0, sizeof(*op));
  op->node = node;
  op->ms = -1;
  va_list ap;
  va_start(ap, fmt);
  int n = vasprintf(&op->line, fmt, ap);
  va_end(ap);
  if (n < 0) {
    op->line = NULL;
    return -1;
  }
  return 0;
}

void bh_op_clear(bh_op *op) {
  free(op->line);
  free(op->fields);
  memset(op, 0, sizeof(*op));
}

/* Finds " key=" (or "key=" at the start) in op->fields; returns the value's start. */
static const char *field(const bh_op *op, const char *key, size_t *len) {
  if (!op->fields) return NULL;
  size_t kl = strlen(key);
  for (const char *p = op->fields; *p;) {
    const char *sp = strchr(p, ' ');
    size_t tl = sp ? (size_t)(sp - p) : strlen(p);
    if (tl > kl && !strncmp(p, key, kl) && p[kl] == '=') {
      *len = tl - kl - 1;
      return p + kl + 1;
    }
    if (!sp) break;
    p = sp + 1;
  }
  return NULL;
}

double bh_op_num(const bh_op *op, const char *key, double dflt) {
  size_t len;
  const char *v = field(op, key, &len);
  if (!v) return dflt;
  char buf[64];
  if (len >= sizeof buf) return dflt;
  memcpy(buf, v, len);
  buf[len] = 0;
  char *end;
  double d = strtod(buf, &end);
  return *end ? dflt : d;
}

int bh_op_str(const bh_op *op, const char *key, char *out, size_t cap) {
  size_t len;
  const char *v = field(op, key, &len);
  if (!v || len >= cap) return -1;
  memcpy(out, v, len);
  out[len] = 0;
  return 0;
}

int bh_run(bh *h, bh_op *ops, size_t n, unsigned concurrency, double timeout_s) {
  if (n == 0) return 0;
  eng_op *eo = calloc(n, sizeof(*eo));
  if (!eo) {
    seterr(h, "out of memory");
    return -1;
  }
  for (size_t i = 0; i < n; i++) {
    if (ops[i].node >= h->nnodes || !ops[i].line) {
      seterr(h, "operation %zu: bad node %u or no command", i, ops[i].node);
      free(eo);
      return -1;
    }
    eo[i].op = &ops[i];
    eo[i].worker = h->nodes[ops[i].node].worker;
  }
  int rv = engine(h, eo, n, concurrency, timeout_s);
  free(eo);
  return rv;
}

/* Sends line to every worker; the replies are left in ops[0..nworkers). */
static int broadcast(bh *h, const char *line, bh_op *ops, double timeout_s) {
  eng_op eo[BH_MAX_WORKERS];
  memset(ops, 0, h->nworkers * sizeof(*ops));
  for (unsigned i = 0; i < h->nworkers; i++) {
    ops[i].line = strdup(line);
    if (!ops[i].line) {
      seterr(h, "out of memory");
      return -1;
    }
    eo[i].op = &ops[i];
    eo[i].worker = i;
  }
  int rv = engine(h, eo, h->nworkers, 0, timeout_s);
  for (unsigned i = 0; rv == 0 && i < h->nworkers; i++)
    if (!ops[i].ok) {
      seterr(h, "worker %u refused '%s': %s", i, line, ops[i].fields);
      rv = -1;
    }
  return rv;
}

static void clear_ops(bh_op *ops, size_t n) {
  for (size_t i = 0; i < n; i++) bh_op_clear(&ops[i]);
}

int bh_set(bh *h, const char *fmt, ...) {
  char *rest = NULL, *line = NULL;
  va_list ap;
  va_start(ap, fmt);
  int k = vasprintf(&rest, fmt, ap);
  va_end(ap);
  if (k < 0 || asprintf(&line, "set %s", rest) < 0) {
    free(rest);
    seterr(h, "out of memory");
    return -1;
  }
  bh_op ops[BH_MAX_WORKERS];
  int rv = broadcast(h, line, ops, h->cfg.timeout_s);
  clear_ops(ops, h->nworkers);
  free(rest);
  free(line);
  return rv;
}

int bh_start(bh *h, unsigned count) {
  unsigned first = h->nnodes;
  if ((uint64_t)first + count > (uint64_t)h->nworkers * h->per_worker) {
    seterr(h, "cannot start %u more nodes: the workers were sized for %u", count,
           h->nworkers * h->per_worker);
    return -1;
  }
  if (first + count > h->capnodes) {
    unsigned cap = h->capnodes ? h->capnodes : 64;
    while (cap < first + count) cap *= 2;
    bh_nodeinfo *p = realloc(h->nodes, cap * sizeof(*p));
    if (!p) {
      seterr(h, "out of memory");
      return -1;
    }
    memset(p + h->capnodes, 0, (cap - h->capnodes) * sizeof(*p));
    h->nodes = p;
    h->capnodes = cap;
  }
  bh_op *ops = calloc(count, sizeof(*ops));
  eng_op *eo = calloc(count, sizeof(*eo));
  int rv = ops && eo ? 0 : -1;
  for (unsigned i = 0; rv == 0 && i < count; i++) {
    rv = bh_op_init(&ops[i], first + i, "start %u", first + i);
    eo[i].op = &ops[i];
    eo[i].worker = bh_worker_of(h, first + i);
  }
  if (rv != 0) seterr(h, "out of memory");
  /* starting is synchronous in the worker (key, listen); allow for slow machines */
  if (rv == 0) rv = engine(h, eo, count, 0, h->cfg.timeout_s + count * 0.01);
  for (unsigned i = 0; rv == 0 && i < count; i++) {
    char peer[128], addr[256];
    if (!ops[i].ok || bh_op_str(&ops[i], "peer", peer, sizeof peer) != 0 ||
        bh_op_str(&ops[i], "addr", addr, sizeof addr) != 0) {
      seterr(h, "node %u did not start: %s", first + i, ops[i].fields ? ops[i].fields : "?");
      rv = -1;
      break;
    }
    bh_nodeinfo *ni = &h->nodes[first + i];
    ni->peer = strdup(peer);
    ni->addr = strdup(addr);
    ni->worker = eo[i].worker;
    h->w[ni->worker].nodes++;
    h->nnodes = first + i + 1;
  }
  if (ops) clear_ops(ops, count);
  free(ops);
  free(eo);
  return rv;
}

int bh_stats_get(bh *h, bh_stats *s) {
  bh_op ops[BH_MAX_WORKERS];
  memset(s, 0, sizeof(*s));
  int rv = broadcast(h, "stats", ops, h->cfg.timeout_s);
  for (unsigned i = 0; rv == 0 && i < h->nworkers; i++) {
    s->nodes += (unsigned)bh_op_num(&ops[i], "nodes", 0);
    s->rss_kb += bh_op_num(&ops[i], "rss_kb", 0);
    s->heap += bh_op_num(&ops[i], "heap", 0);
    double fds = bh_op_num(&ops[i], "fds", 0);
    s->fds += fds;
    if (fds > s->max_fds_worker) s->max_fds_worker = fds;
    s->conns += bh_op_num(&ops[i], "conns", 0);
    s->open += bh_op_num(&ops[i], "open", 0);
    s->cpu_ms += bh_op_num(&ops[i], "cpu_ms", 0);
    s->rt += bh_op_num(&ops[i], "rt", 0);
    s->rt_conn += bh_op_num(&ops[i], "rt_conn", 0);
    s->closed_trimmed += bh_op_num(&ops[i], "closed_trimmed", 0);
    s->closed_local += bh_op_num(&ops[i], "closed_local", 0);
    s->closed_peer += bh_op_num(&ops[i], "closed_peer", 0);
    s->closed_error += bh_op_num(&ops[i], "closed_error", 0);
    s->redials += bh_op_num(&ops[i], "redials", 0);
    s->rss_kb0 += h->w[i].rss_kb0;
    s->heap0 += h->w[i].heap0;
  }
  clear_ops(ops, h->nworkers);
  return rv;
}

/* ---- statistics ----------------------------------------------------------------------- */

static double *ok_values(const bh_op *ops, size_t n, const char *key, size_t *m) {
  double *v = malloc((n ? n : 1) * sizeof(*v));
  *m = 0;
  if (!v) return NULL;
  for (size_t i = 0; i < n; i++) {
    if (!ops[i].done || !ops[i].ok) continue;
    double x = key ? bh_op_num(&ops[i], key, NAN) : ops[i].ms;
    if (isnan(x) || (!key && x < 0)) continue;
    v[(*m)++] = x;
  }
  return v;
}

void bh_summarize(const bh_op *ops, size_t n, bh_summary *s) {
  memset(s, 0, sizeof(*s));
  s->n = n;
  for (size_t i = 0; i < n; i++) s->ok += ops[i].done && ops[i].ok;
  size_t m;
  double *v = ok_values(ops, n, NULL, &m);
  if (v && m) {
    double sum = 0;
    for (size_t i = 0; i < m; i++) sum += v[i];
    s->mean = sum / m;
    s->p50 = bench_percentile(v, m, 50);
    s->p99 = bench_percentile(v, m, 99);
    s->max = bench_percentile(v, m, 100);
  }
  free(v);
}

double bh_mean_field(const bh_op *ops, size_t n, const char *key) {
  size_t m;
  double *v = ok_values(ops, n, key, &m), sum = 0;
  for (size_t i = 0; v && i < m; i++) sum += v[i];
  free(v);
  return m ? sum / m : 0;
}

double bh_pct_field(const bh_op *ops, size_t n, const char *key, double p) {
  size_t m;
  double *v = ok_values(ops, n, key, &m), r = 0;
  if (v && m) r = bench_percentile(v, m, p);
  free(v);
  return r;
}

/* ---- life cycle ------------------------------------------------------------------------------ */

int bh_new(bh **out, const bh_config *cfg) {
  bh *h = calloc(1, sizeof(*h));
  if (!h) return -1;
  h->cfg = *cfg;
  h->next_tag = 1;
  if (!h->cfg.fds_per_node) h->cfg.fds_per_node = 256;
  if (h->cfg.timeout_s <= 0) h->cfg.timeout_s = 60;
  if (!h->cfg.min_workers) h->cfg.min_workers = 1;
  signal(SIGPIPE, SIG_IGN);
  /* Workers inherit our limit and raise it to the hard one themselves; size from the hard
   * limit, keeping room for the process's own descriptors. */
  struct rlimit rl;
  rlim_t fdmax = 1024;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
    fdmax = rl.rlim_max == RLIM_INFINITY ? 1 << 20 : rl.rlim_max;
  unsigned per = h->cfg.nodes_per_worker;
  if (!per) {
    rlim_t usable = fdmax > 128 + (rlim_t)h->cfg.reserve_fds ? fdmax - 128 - h->cfg.reserve_fds : 1;
    per = (unsigned)(usable / h->cfg.fds_per_node);
    if (per > 250) per = 250;
    if (per < 1) per = 1;
  }
  unsigned nw = cfg->nodes ? (cfg->nodes + per - 1) / per : 1;
  if (nw < h->cfg.min_workers) nw = h->cfg.min_workers;
  if (nw > BH_MAX_WORKERS) {
    fprintf(stderr, "harness: %u nodes need %u workers (at most %d)\n", cfg->nodes, nw,
            BH_MAX_WORKERS);
    free(h);
    return -1;
  }
  /* a node per worker more than needed costs nothing and lets a run start a few extra */
  h->per_worker = (cfg->nodes + nw - 1) / nw + 1;
  for (unsigned i = 0; i < nw; i++) {
    if (spawn(h, i) != 0) {
      fprintf(stderr, "harness: %s\n", h->err);
      bh_free(h);
      return -1;
    }
    h->nworkers = i + 1;
  }
  bh_op ops[BH_MAX_WORKERS];
  if (broadcast(h, "stats", ops, h->cfg.timeout_s) != 0) {
    fprintf(stderr, "harness: workers did not come up: %s\n", h->err);
    clear_ops(ops, h->nworkers);
    bh_free(h);
    return -1;
  }
  for (unsigned i = 0; i < nw; i++) {
    h->w[i].rss_kb0 = bh_op_num(&ops[i], "rss_kb", 0);
    h->w[i].heap0 = bh_op_num(&ops[i], "heap", 0);
  }
  clear_ops(ops, h->nworkers);
  *out = h;
  return 0;
}

void bh_free(bh *h) {
  if (!h) return;
  /* Ask nicely (nodes close with GoAway) unless a worker already failed, then reap. */
  bh_op ops[BH_MAX_WORKERS];
  int any_dead = 0;
  for (unsigned i = 0; i < h->nworkers; i++) any_dead |= h->w[i].dead;
  if (h->nworkers && !h->err[0] && !any_dead) {
    for (unsigned i = 0; i < h->nworkers; i++) h->w[i].quitting = 1;
    if (broadcast(h, "quit", ops, 20) != 0) fprintf(stderr, "harness: quit: %s\n", h->err);
    clear_ops(ops, h->nworkers);
  }
  for (unsigned i = 0; i < h->nworkers; i++) close(h->w[i].fd); /* EOF: workers exit */
  double deadline = bh_now_s() + 10;
  for (unsigned i = 0; i < h->nworkers; i++) {
    bh_worker *w = &h->w[i];
    int st;
    while (!w->dead) {
      pid_t r = waitpid(w->pid, &st, WNOHANG);
      if (r == w->pid || (r < 0 && errno == ECHILD)) {
        w->dead = 1;
        if (r == w->pid && !h->err[0] && (!WIFEXITED(st) || WEXITSTATUS(st) != 0))
          fprintf(stderr, "harness: worker %u (pid %d) ended badly (status 0x%x)\n", i, (int)w->pid,
                  st);
        break;
      }
      if (bh_now_s() > deadline) {
        fprintf(stderr, "harness: worker %u (pid %d) did not exit; killing it\n", i, (int)w->pid);
        kill(w->pid, SIGKILL);
        waitpid(w->pid, &st, 0);
        w->dead = 1;
        break;
      }
      usleep(5000);
    }
    free(w->in);
    free(w->out);
  }
  for (unsigned i = 0; i < h->nnodes; i++) {
    free(h->nodes[i].peer);
    free(h->nodes[i].addr);
  }
  free(h->nodes);
  free(h);
}
