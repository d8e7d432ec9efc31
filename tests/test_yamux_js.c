/*
 * Wire-level interop of the Yamux core with js-libp2p's muxer (@chainsafe/libp2p-yamux, as
 * pinned in interop/js): raw Yamux over a loopback TCP connection, no Noise, so a failure here
 * points at the muxer alone. interop/js/yamux-raw.mjs is the js side.
 *   - we dial js: 50 streams each echoing 1 MiB, a ping, a GoAway;
 *   - js dials us: its ping, its 50 streams echoed by us, its GoAway.
 * Skipped when node or the npm packages in interop/js are not installed (scripts/setup.sh).
 */
#include "gg_test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ggen/err.h"
#include "ggen/time.h"
#include "ggen/yamux.h"

#define JS_DIR GGEN_SOURCE_DIR "/interop/js"
#define MAXID 1024
#define NSTREAMS 50
#define SIZE (1u << 20)

typedef struct conn {
  ggp_yamux *y;
  int fd, closed, echo;
  gg_buf out;
  uint8_t *buf[MAXID]; /* echo: pending bytes; client: received bytes */
  size_t len[MAXID];
  int fin[MAXID], ended[MAXID], accepted, nended, rtts, goaways;
  uint32_t goaway_code;
  /* the js process */
  pid_t pid;
  int js_out;
  char js_text[4096];
  size_t js_len;
} conn;

static void echo_flush(conn *c, uint32_t id) {
  while (c->len[id]) {
    int64_t n = ggp_yamux_write(c->y, id, c->buf[id], c->len[id]);
    assert_true(n >= 0);
    if (n == 0) break;
    memmove(c->buf[id], c->buf[id] + n, c->len[id] - (size_t)n);
    c->len[id] -= (size_t)n;
    assert_int_equal(ggp_yamux_consume(c->y, id, (size_t)n), GG_OK);
  }
  if (c->len[id] == 0 && c->fin[id] == 1) {
    c->fin[id] = 2;
    assert_int_equal(ggp_yamux_close(c->y, id), GG_OK);
  }
}

static int cb_open(ggp_yamux *y, uint32_t id, void **sud, void *ud) {
  conn *c = ud;
  (void)y, (void)sud;
  c->accepted++;
  return id < MAXID ? 0 : 1;
}

static int cb_data(ggp_yamux *y, uint32_t id, const uint8_t *d, size_t n, void *sud, void *ud) {
  conn *c = ud;
  (void)sud;
  c->buf[id] = realloc(c->buf[id], c->len[id] + n);
  memcpy(c->buf[id] + c->len[id], d, n);
  c->len[id] += n;
  if (c->echo)
    echo_flush(c, id);
  else
    assert_int_equal(ggp_yamux_consume(y, id, n), GG_OK);
  return 0;
}

static void cb_fin(ggp_yamux *y, uint32_t id, void *sud, void *ud) {
  conn *c = ud;
  (void)y, (void)sud;
  if (!c->fin[id]) c->fin[id] = 1;
  if (c->echo) echo_flush(c, id);
}

static void cb_writable(ggp_yamux *y, uint32_t id, void *sud, void *ud) {
  conn *c = ud;
  (void)y, (void)sud;
  if (c->echo) echo_flush(c, id);
}

static void cb_end(ggp_yamux *y, uint32_t id, int how, void *sud, void *ud) {
  conn *c = ud;
  (void)y, (void)sud;
  c->ended[id] = how + 1;
  c->nended++;
}

static void cb_goaway(ggp_yamux *y, uint32_t code, void *ud) {
  conn *c = ud;
  (void)y;
  c->goaways++;
  c->goaway_code = code;
}

static void cb_rtt(ggp_yamux *y, gg_ts rtt, void *ud) {
  conn *c = ud;
  (void)y, (void)rtt;
  c->rtts++;
}

static const ggp_yamux_callbacks CB = {cb_open, cb_data,   cb_fin, cb_writable,
                                       cb_end,  cb_goaway, cb_rtt};

static void require_js(void) {
  struct stat st;
  if (stat(JS_DIR "/node_modules/@chainsafe/libp2p-yamux/package.json", &st) != 0 ||
      stat(JS_DIR "/node_modules/@libp2p/logger/package.json", &st) != 0) {
    print_message("interop/js packages not installed (scripts/setup.sh): skipped\n");
    skip();
  }
}

/* Starts node interop/js/yamux-raw.mjs with args; its stdout goes to c->js_out. */
static void js_start(conn *c, const char *a1, const char *a2, const char *a3, const char *a4) {
  int p[2];
  assert_int_equal(pipe(p), 0);
  c->pid = fork();
  assert_true(c->pid >= 0);
  if (c->pid == 0) {
    dup2(p[1], 1);
    close(p[0]);
    close(p[1]);
    execlp("node", "node", JS_DIR "/yamux-raw.mjs", a1, a2, a3, a4, (char *)NULL);
    _exit(127);
  }
  close(p[1]);
  c->js_out = p[0];
  fcntl(c->js_out, F_SETFL, O_NONBLOCK);
}

static void js_read(conn *c) {
  if (c->js_out < 0) return;
  ssize_t r = read(c->js_out, c->js_text + c->js_len, sizeof(c->js_text) - 1 - c->js_len);
  if (r > 0) c->js_len += (size_t)r;
  if (r == 0) {
    close(c->js_out);
    c->js_out = -1;
  }
  c->js_text[c->js_len] = 0;
}

/* Waits for the js process to exit (killing it after a while) and returns its status. */
static int js_wait(conn *c) {
  int status = -1;
  for (int i = 0; i < 200; i++) {
    js_read(c);
    if (waitpid(c->pid, &status, WNOHANG) == c->pid) return status;
    usleep(50000);
  }
  kill(c->pid, SIGKILL);
  waitpid(c->pid, &status, 0);
  return status;
}

static void conn_start(conn *c, int fd, int client, int echo) {
  c->fd = fd;
  c->echo = echo;
  fcntl(fd, F_SETFL, O_NONBLOCK);
  gg_buf_init(&c->out, NULL, 8u << 20);
  assert_int_equal(ggp_yamux_new(&c->y, &CB, NULL, client, NULL, c), GG_OK);
}

static void conn_free(conn *c) {
  ggp_yamux_del(c->y);
  gg_buf_free(&c->out);
  for (int i = 0; i < MAXID; i++) free(c->buf[i]);
  if (c->fd >= 0) close(c->fd);
  if (c->js_out >= 0) close(c->js_out);
}

/* One round of the event loop: send, poll, write, read. */
static void step(conn *c) {
  gg_ts now = gg_clock_now();
  if (!c->closed && ggp_yamux_want_send(c->y)) {
    int rv = ggp_yamux_send(c->y, &c->out, now);
    assert_int_equal(rv, GG_OK);
  }
  struct pollfd p[2] = {{c->fd, POLLIN, 0}, {c->js_out, POLLIN, 0}};
  if (gg_buf_len(&c->out)) p[0].events |= POLLOUT;
  if (poll(p, 2, 50) < 0) return;
  if (p[1].revents) js_read(c);
  if (c->closed) return;
  if (p[0].revents & POLLOUT) {
    ssize_t w = write(c->fd, gg_buf_ptr(&c->out), gg_buf_len(&c->out));
    if (w > 0) gg_buf_consume(&c->out, (size_t)w);
  }
  if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
    uint8_t buf[65536];
    ssize_t r = read(c->fd, buf, sizeof(buf));
    if (r == 0 || (r < 0 && errno != EAGAIN)) {
      c->closed = 1;
      return;
    }
    if (r > 0) assert_int_equal(ggp_yamux_recv(c->y, buf, (size_t)r, gg_clock_now()), GG_OK);
  }
  gg_ts e = ggp_yamux_expiry(c->y);
  if (e != GG_TS_UNSET && gg_clock_now() >= e)
    assert_int_equal(ggp_yamux_handle_expiry(c->y, gg_clock_now()), GG_OK);
}

static uint8_t *pattern(void) {
  uint8_t *d = malloc(SIZE);
  for (size_t i = 0; i < SIZE; i++) d[i] = (uint8_t)(i * 13);
  return d;
}

static void test_we_dial_js(void **state) {
  (void)state;
  require_js();
  conn *c = calloc(1, sizeof(*c));
  c->fd = c->js_out = -1;
  js_start(c, "listen", NULL, NULL, NULL);
  int port = 0;
  gg_ts deadline = gg_clock_now() + GG_SEC(20);
  while (!strstr(c->js_text, "listening ") && gg_clock_now() < deadline && c->js_out >= 0) {
    struct pollfd p = {c->js_out, POLLIN, 0};
    poll(&p, 1, 100);
    js_read(c);
  }
  char *l = strstr(c->js_text, "listening ");
  assert_non_null(l);
  port = atoi(l + 10);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
  conn_start(c, fd, 1, 0);

  uint8_t *src = pattern();
  uint32_t ids[NSTREAMS];
  size_t off[NSTREAMS] = {0};
  for (int i = 0; i < NSTREAMS; i++) assert_int_equal(ggp_yamux_open(c->y, &ids[i], NULL), GG_OK);
  deadline = gg_clock_now() + GG_SEC(60);
  while (c->nended < NSTREAMS && !c->closed && gg_clock_now() < deadline) {
    for (int i = 0; i < NSTREAMS; i++) {
      if (off[i] == SIZE) continue;
      int64_t w = ggp_yamux_write(c->y, ids[i], src + off[i], SIZE - off[i]);
      assert_true(w >= 0);
      off[i] += (size_t)w;
      if (off[i] == SIZE) assert_int_equal(ggp_yamux_close(c->y, ids[i]), GG_OK);
    }
    step(c);
  }
  for (int i = 0; i < NSTREAMS; i++) {
    assert_int_equal(c->len[ids[i]], SIZE);
    assert_memory_equal(c->buf[ids[i]], src, SIZE);
    assert_int_equal(c->ended[ids[i]], 1 + GGP_YAMUX_END_FIN);
  }
  /* js's ping at connect was answered (else js would have closed); ours is answered too */
  int r0 = c->rtts;
  assert_int_equal(ggp_yamux_ping(c->y), GG_OK);
  deadline = gg_clock_now() + GG_SEC(10);
  while (c->rtts == r0 && !c->closed && gg_clock_now() < deadline) step(c);
  assert_true(c->rtts > r0);
  /* our GoAway makes js close the connection */
  assert_int_equal(ggp_yamux_goaway(c->y, GGP_YAMUX_GOAWAY_NORMAL), GG_OK);
  deadline = gg_clock_now() + GG_SEC(10);
  while (!c->closed && gg_clock_now() < deadline) step(c);
  assert_true(c->closed);
  close(c->fd);
  c->fd = -1;
  int status = js_wait(c);
  assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  assert_null(strstr(c->js_text, "error"));
  free(src);
  conn_free(c);
  free(c);
}

static void test_js_dials_us(void **state) {
  (void)state;
  require_js();
  conn *c = calloc(1, sizeof(*c));
  c->fd = c->js_out = -1;
  int l = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
  assert_int_equal(listen(l, 1), 0);
  socklen_t al = sizeof(a);
  assert_int_equal(getsockname(l, (struct sockaddr *)&a, &al), 0);
  char port[16], n[16], size[16];
  snprintf(port, sizeof(port), "%d", ntohs(a.sin_port));
  snprintf(n, sizeof(n), "%d", NSTREAMS);
  snprintf(size, sizeof(size), "%u", SIZE);
  js_start(c, "dial", port, n, size);
  struct pollfd p = {l, POLLIN, 0};
  assert_int_equal(poll(&p, 1, 20000), 1);
  int fd = accept(l, NULL, NULL);
  close(l);
  assert_true(fd >= 0);
  conn_start(c, fd, 0, 1);
  gg_ts deadline = gg_clock_now() + GG_SEC(60);
  while (!c->closed && gg_clock_now() < deadline) step(c);
  assert_true(c->closed);
  close(c->fd);
  c->fd = -1;
  int status = js_wait(c);
  assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  assert_non_null(strstr(c->js_text, "echo ok 50/50"));
  assert_int_equal(c->accepted, NSTREAMS);
  assert_int_equal(c->nended, NSTREAMS);
  for (uint32_t id = 1; id < 2 * NSTREAMS; id += 2)
    assert_int_equal(c->ended[id], 1 + GGP_YAMUX_END_FIN);
  assert_true(c->rtts >= 1); /* our initial ping was answered */
  assert_int_equal(c->goaways, 1);
  assert_int_equal(c->goaway_code, GGP_YAMUX_GOAWAY_NORMAL);
  conn_free(c);
  free(c);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_we_dial_js),
      cmocka_unit_test(test_js_dials_us),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
