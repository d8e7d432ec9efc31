/*
 * Tests for the harness worker (src/net/harness.c, include/ggen/harness.h): a forked worker
 * is driven through its text protocol on a socketpair, as the coordinator does. It starts
 * real nodes that connect and ping each other (with and without injected delay), answers
 * every command exactly once (errors included: unknown commands and settings, unknown
 * nodes, duplicates), reports process figures, answers several outstanding commands by tag,
 * and exits 0 after quit (every host closed, uv_loop_close succeeded, no leak under LSan)
 * or 3 when the command stream ends; Kademlia nodes bootstrap, put, get (checking the value),
 * find peers and providers, and a stopped node still answers its pending queries.
 */
#include "gg_test.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ggen/harness.h"

typedef struct wk {
  pid_t pid;
  int fd;
  char buf[1 << 16];
  size_t len;
} wk;

static void wk_start(wk *w) {
  int sv[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  fflush(NULL);
  w->pid = fork();
  assert_true(w->pid >= 0);
  if (w->pid == 0) {
    close(sv[0]);
    signal(SIGPIPE, SIG_IGN);
    /* exit (not _exit) so that LeakSanitizer checks the worker too */
    exit(ggn_harness_worker_run(sv[1], "test worker"));
  }
  close(sv[1]);
  w->fd = sv[0];
  w->len = 0;
}

/* Reads one reply line (without '\n') into out, waiting at most 20 s. */
static void wk_line(wk *w, char *out, size_t cap) {
  for (;;) {
    char *nl = memchr(w->buf, '\n', w->len);
    if (nl) {
      size_t l = (size_t)(nl - w->buf);
      assert_true(l < cap);
      memcpy(out, w->buf, l);
      out[l] = 0;
      memmove(w->buf, nl + 1, w->len - l - 1);
      w->len -= l + 1;
      return;
    }
    struct pollfd pf = {.fd = w->fd, .events = POLLIN};
    assert_int_equal(poll(&pf, 1, 20000), 1);
    ssize_t k = read(w->fd, w->buf + w->len, sizeof w->buf - w->len);
    assert_true(k > 0);
    w->len += (size_t)k;
  }
}

static void wk_send(wk *w, const char *line) {
  size_t n = strlen(line);
  assert_int_equal(write(w->fd, line, n), (ssize_t)n);
  assert_int_equal(write(w->fd, "\n", 1), 1);
}

/* Sends "t line" and returns the reply after the tag ("ok ..." / "err ..."). */
static const char *wk_cmd(wk *w, const char *line) {
  static char reply[4096];
  char req[4096];
  snprintf(req, sizeof req, "t %s", line);
  wk_send(w, req);
  wk_line(w, reply, sizeof reply);
  assert_true(!strncmp(reply, "t ", 2));
  return reply + 2;
}

static int wk_wait(wk *w) {
  int st = 0;
  for (int i = 0; i < 2000; i++) {
    pid_t r = waitpid(w->pid, &st, WNOHANG);
    if (r == w->pid) return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    usleep(10000);
  }
  kill(w->pid, SIGKILL);
  waitpid(w->pid, &st, 0);
  fail_msg("worker did not exit");
  return -1;
}

static int field(const char *reply, const char *key, char *out, size_t cap) {
  char pat[64];
  snprintf(pat, sizeof pat, " %s=", key);
  const char *p = strstr(reply, pat);
  if (!p) return -1;
  p += strlen(pat);
  size_t l = strcspn(p, " ");
  if (l >= cap) return -1;
  memcpy(out, p, l);
  out[l] = 0;
  return 0;
}

static double numfield(const char *reply, const char *key) {
  char v[64];
  if (field(reply, key, v, sizeof v) != 0) return -1;
  return strtod(v, NULL);
}

static void start_node(wk *w, int idx, char *peer, char *addr) {
  char line[64];
  snprintf(line, sizeof line, "start %d", idx);
  const char *r = wk_cmd(w, line);
  assert_true(!strncmp(r, "ok ", 3));
  assert_int_equal(field(r, "peer", peer, 128), 0);
  assert_int_equal(field(r, "addr", addr, 128), 0);
  assert_true(!strncmp(addr, "/ip4/127.0.0.1/tcp/", 19));
}

static void test_nodes_ping_and_quit(void **state) {
  (void)state;
  wk w;
  wk_start(&w);
  char p0[128], a0[128], p1[128], a1[128], line[512];
  assert_string_equal(wk_cmd(&w, "set seed=7 log=error max_conns=64"), "ok");
  start_node(&w, 0, p0, a0);
  start_node(&w, 5, p1, a1);
  assert_string_not_equal(p0, p1);

  snprintf(line, sizeof line, "connect 5 %s %s", p0, a0);
  const char *r = wk_cmd(&w, line);
  assert_true(!strncmp(r, "ok ns=", 6));
  snprintf(line, sizeof line, "ping 0 %s %s", p1, a1);
  r = wk_cmd(&w, line);
  assert_true(!strncmp(r, "ok ", 3));
  assert_true(numfield(r, "rtt") > 0);
  assert_true(numfield(r, "ns") >= numfield(r, "rtt"));
  r = wk_cmd(&w, "nstats 0");
  assert_true(numfield(r, "open") >= 1);

  r = wk_cmd(&w, "stats");
  assert_true(!strncmp(r, "ok ", 3));
  assert_int_equal((int)numfield(r, "nodes"), 2);
  assert_true(numfield(r, "rss_kb") > 0);
#ifndef __SANITIZE_ADDRESS__ /* ASan's allocator is invisible to mallinfo2 */
  assert_true(numfield(r, "heap") > 0);
#endif
  assert_true(numfield(r, "fds") >= 5); /* socket, 2 listeners, 2 connection ends */
  assert_int_equal((int)numfield(r, "open"), 2);

  /* errors are replies too */
  assert_true(!strncmp(wk_cmd(&w, "frobnicate 1"), "err GG_EINVAL", 13));
  assert_true(!strncmp(wk_cmd(&w, "ping 3 x y"), "err GG_ENOTFOUND", 16));
  assert_true(!strncmp(wk_cmd(&w, "ping 0 notapeer /ip4/1.2.3.4/tcp/1"), "err GG_EINVAL", 13));
  assert_true(!strncmp(wk_cmd(&w, "set colour=blue"), "err GG_ENOTFOUND", 16));
  assert_true(!strncmp(wk_cmd(&w, "set delay_ms=-3"), "err GG_EINVAL", 13));
  assert_true(!strncmp(wk_cmd(&w, "start 0"), "err GG_EEXIST", 13));
  assert_true(!strncmp(wk_cmd(&w, "start 99999999"), "err GG_EINVAL", 13));

  /* same seed, same index: same key */
  char p0b[128], a0b[128];
  assert_string_equal(wk_cmd(&w, "stop 0"), "ok");
  assert_true(!strncmp(wk_cmd(&w, "nstats 0"), "err GG_ENOTFOUND", 16));
  /* the closed node's index can be used again once the host has closed */
  for (int i = 0; i < 100; i++) {
    r = wk_cmd(&w, "start 0");
    if (strncmp(r, "err GG_EEXIST", 13)) break;
    usleep(10000);
  }
  assert_true(!strncmp(r, "ok ", 3));
  assert_int_equal(field(r, "peer", p0b, sizeof p0b), 0);
  (void)a0b;
  assert_string_equal(p0, p0b);

  assert_string_equal(wk_cmd(&w, "quit"), "ok");
  char rest[16];
  assert_int_equal(read(w.fd, rest, sizeof rest), 0); /* socket closed after the reply */
  close(w.fd);
  assert_int_equal(wk_wait(&w), 0);
}

static void test_outstanding_by_tag_and_delay(void **state) {
  (void)state;
  wk w;
  wk_start(&w);
  char p[4][128], a[4][128], line[512];
  assert_string_equal(wk_cmd(&w, "set log=error delay_ms=20"), "ok");
  for (int i = 0; i < 4; i++) start_node(&w, i, p[i], a[i]);
  /* three pings in flight at once; replies come back by tag */
  for (int i = 1; i < 4; i++) {
    snprintf(line, sizeof line, "p%d ping 0 %s %s", i, p[i], a[i]);
    wk_send(&w, line);
  }
  int seen[4] = {0};
  for (int i = 1; i < 4; i++) {
    char reply[1024];
    wk_line(&w, reply, sizeof reply);
    assert_true(reply[0] == 'p' && reply[1] >= '1' && reply[1] <= '3');
    assert_true(!strncmp(reply + 2, " ok ", 4));
    seen[reply[1] - '0']++;
    /* a round trip costs both nodes' delay (20 + 20 ms) */
    assert_true(numfield(reply, "rtt") >= 40e6);
    /* dial (connect completion + Noise) and the ping come on top of it */
    assert_true(numfield(reply, "ns") >= 100e6);
  }
  assert_int_equal(seen[1] + seen[2] + seen[3], 3);
  assert_true(seen[1] == 1 && seen[2] == 1 && seen[3] == 1);
  close(w.fd); /* no quit: the worker closes its nodes and exits 3 */
  assert_int_equal(wk_wait(&w), 3);
}

static void test_dial_failure_is_a_reply(void **state) {
  (void)state;
  wk w;
  wk_start(&w);
  char p0[128], a0[128], p1[128], a1[128], line[512];
  assert_string_equal(wk_cmd(&w, "set log=off dial_timeout_ms=300"), "ok");
  start_node(&w, 0, p0, a0);
  start_node(&w, 1, p1, a1);
  assert_string_equal(wk_cmd(&w, "stop 1"), "ok");
  usleep(100000);
  snprintf(line, sizeof line, "connect 0 %s %s", p1, a1);
  const char *r = wk_cmd(&w, line);
  assert_true(!strncmp(r, "err ", 4));
  assert_string_equal(wk_cmd(&w, "quit"), "ok");
  close(w.fd);
  assert_int_equal(wk_wait(&w), 0);
}

static void test_kad_commands(void **state) {
  (void)state;
  wk w;
  wk_start(&w);
  char p[6][128], a[6][128], line[768];
  assert_string_equal(wk_cmd(&w, "set log=error kad=1 kad_alpha=3"), "ok");
  for (int i = 0; i < 6; i++) start_node(&w, i, p[i], a[i]);
  /* node 0 has nobody to ask */
  assert_true(!strncmp(wk_cmd(&w, "bootstrap 0"), "err GG_ENOTFOUND", 16));
  for (int i = 1; i < 6; i++) {
    snprintf(line, sizeof line, "bootstrap %d %s/p2p/%s", i, a[0], p[0]);
    const char *r = wk_cmd(&w, line);
    assert_true(!strncmp(r, "ok ", 3));
    assert_true(numfield(r, "rt") >= 1);
    assert_true(numfield(r, "requests") >= 1);
  }
  const char *r = wk_cmd(&w, "put 2 /bench/alpha one");
  assert_true(!strncmp(r, "ok ", 3));
  assert_true(numfield(r, "stored") >= 1);
  r = wk_cmd(&w, "get 4 /bench/alpha one");
  assert_true(!strncmp(r, "ok ", 3));
  assert_int_equal((int)numfield(r, "vlen"), 3);
  /* the value is checked against the expected one */
  assert_true(!strncmp(wk_cmd(&w, "get 4 /bench/alpha two"), "err GG_EINTEGRITY", 17));
  /* a namespace without a validator is refused */
  assert_true(!strncmp(wk_cmd(&w, "put 2 /nons/x y"), "err ", 4));
  snprintf(line, sizeof line, "findpeer 5 %s", p[3]);
  r = wk_cmd(&w, line);
  assert_true(!strncmp(r, "ok ", 3));
  assert_true(numfield(r, "addrs") >= 1);
  assert_true(!strncmp(wk_cmd(&w, "provide 1 some-package"), "ok ", 3));
  r = wk_cmd(&w, "findprov 3 some-package");
  assert_true(!strncmp(r, "ok ", 3));
  assert_int_equal((int)numfield(r, "providers"), 1);
  assert_true(!strncmp(wk_cmd(&w, "findnode 2 /anything"), "ok ", 3));
  r = wk_cmd(&w, "kstats 2");
  assert_true(numfield(r, "records") >= 1);
  /* a node without the service says so */
  char q[128], b[128];
  assert_string_equal(wk_cmd(&w, "set kad=0"), "ok");
  start_node(&w, 9, q, b);
  assert_true(!strncmp(wk_cmd(&w, "get 9 /bench/alpha"), "err GG_ESTATE", 13));
  /* stopping a node answers its pending kad operations */
  wk_send(&w, "g get 3 /bench/missing");
  wk_send(&w, "s stop 3");
  char reply[1024];
  int got_g = 0, got_s = 0;
  for (int i = 0; i < 2; i++) {
    wk_line(&w, reply, sizeof reply);
    if (reply[0] == 'g') got_g = 1;
    if (reply[0] == 's') got_s = !strcmp(reply, "s ok");
  }
  assert_true(got_g && got_s);
  assert_string_equal(wk_cmd(&w, "quit"), "ok");
  close(w.fd);
  assert_int_equal(wk_wait(&w), 0);
}

/* Gossip commands: three nodes in a line, a plain message and a signed release record from
 * one end reach the other end with their delivery times; a node without the service says so. */
static void test_gossip_commands(void **state) {
  (void)state;
  wk w;
  wk_start(&w);
  char p[4][128], a[4][128], line[512];
  assert_string_equal(wk_cmd(&w, "set seed=3 log=error gossip=1 gossip_hb_ms=100"), "ok");
  for (int i = 0; i < 3; i++) start_node(&w, i, p[i], a[i]);
  assert_string_equal(wk_cmd(&w, "set gossip=0"), "ok");
  start_node(&w, 3, p[3], a[3]);
  for (int i = 0; i < 2; i++) {
    snprintf(line, sizeof line, "connect %d %s %s", i, p[i + 1], a[i + 1]);
    assert_true(!strncmp(wk_cmd(&w, line), "ok ", 3));
  }
  for (int i = 0; i < 3; i++) {
    snprintf(line, sizeof line, "gsub %d /t", i);
    assert_string_equal(wk_cmd(&w, line), "ok");
    snprintf(line, sizeof line, "gsub %d /r record", i);
    assert_string_equal(wk_cmd(&w, line), "ok");
  }
  const char *r;
  for (int t = 0; t < 100; t++) { /* node 1 meshed with both neighbours in both topics */
    r = wk_cmd(&w, "gstats 1");
    if (numfield(r, "mesh") == 4) break;
    usleep(20000);
  }
  assert_int_equal((int)numfield(r, "mesh"), 4);
  r = wk_cmd(&w, "gpub 0 /t 7 100");
  assert_true(!strncmp(r, "ok ", 3));
  assert_int_equal((int)numfield(r, "recipients"), 1);
  assert_int_equal((int)numfield(r, "bytes"), 100);
  double t0 = numfield(r, "t0");
  r = wk_cmd(&w, "gpub 0 /r 8 record");
  assert_true(!strncmp(r, "ok ", 3));
  assert_true(numfield(r, "bytes") > 1900 && numfield(r, "bytes") < 2600);
  for (int t = 0; t < 100; t++) {
    r = wk_cmd(&w, "grecv 2");
    if (numfield(r, "n") == 2) break;
    usleep(20000);
  }
  assert_int_equal((int)numfield(r, "n"), 2);
  assert_int_equal((int)numfield(r, "next"), 2);
  char rx[256];
  assert_int_equal(field(r, "rx", rx, sizeof rx), 0);
  unsigned m1, m2;
  double t1, t2;
  assert_int_equal(sscanf(rx, "%u:%lf,%u:%lf", &m1, &t1, &m2, &t2), 4);
  assert_int_equal(m1 + m2, 15);
  assert_true((m1 == 7 ? t1 : t2) > t0);
  r = wk_cmd(&w, "grecv 2 2"); /* nothing since */
  assert_int_equal((int)numfield(r, "n"), 0);
  r = wk_cmd(&w, "gstats 1");
  assert_int_equal((int)numfield(r, "first"), 2);
  assert_int_equal((int)numfield(r, "invalid"), 0);
  assert_true(numfield(r, "bytes_out") > 2000);
  assert_true(!strncmp(wk_cmd(&w, "gpub 3 /t 1 10"), "err GG_ESTATE", 13));
  assert_true(!strncmp(wk_cmd(&w, "gpub 0 /t x 10"), "err GG_EINVAL", 13));
  assert_true(!strncmp(wk_cmd(&w, "set gossip_hb_ms=0"), "err GG_EINVAL", 13));
  assert_string_equal(wk_cmd(&w, "stop 1"), "ok");
  assert_string_equal(wk_cmd(&w, "quit"), "ok");
  close(w.fd);
  assert_int_equal(wk_wait(&w), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_nodes_ping_and_quit),
      cmocka_unit_test(test_outstanding_by_tag_and_delay),
      cmocka_unit_test(test_dial_failure_is_a_reply),
      cmocka_unit_test(test_kad_commands),
      cmocka_unit_test(test_gossip_commands),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
