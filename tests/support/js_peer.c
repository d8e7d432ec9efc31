/*
 * A js-libp2p process driven over stdin/stdout (js_peer.h). A line returned by js_wait is
 * marked consumed by overwriting its first character with '#' (event lines start with a
 * capital letter), so a later wait for the same prefix finds the next one.
 */
#include "js_peer.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gg_test.h"
#include "ggen/err.h"
#include "host_test.h"

static void js_exit(uv_process_t *p, int64_t status, int sig) {
  (void)sig;
  jspeer *js = p->data;
  js->exited = 1;
  js->status = status;
}

static void js_alloc(uv_handle_t *h, size_t sz, uv_buf_t *b) {
  (void)sz;
  jspeer *js = h->data;
  if (js->cap - js->len < 65536) {
    js->cap = js->cap * 2 + 65536;
    js->buf = realloc(js->buf, js->cap);
  }
  *b = uv_buf_init(js->buf + js->len, (unsigned)(js->cap - js->len - 1));
}

static void js_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b) {
  (void)b;
  jspeer *js = st->data;
  if (n > 0) {
    js->len += (size_t)n;
    js->buf[js->len] = 0;
    if (getenv("GGEN_TEST_LOG")) fprintf(stderr, "js> %.*s", (int)n, js->buf + js->len - n);
  }
}

static void js_closed(uv_handle_t *h) { ((jspeer *)h->data)->closed++; }

int js_available(void) {
  struct stat st;
  return stat(JS_DIR "/node_modules/libp2p", &st) == 0;
}

/* 1 when line l (length ll) starts with prefix, consumed or not. */
static int line_matches(const char *l, size_t ll, const char *prefix, size_t pl, int consumed_too) {
  if (ll < pl || pl == 0) return 0;
  if (l[0] == '#' && consumed_too) return !memcmp(l + 1, prefix + 1, pl - 1);
  return !memcmp(l, prefix, pl);
}

const char *js_wait(uv_loop_t *loop, jspeer *js, const char *prefix, uint64_t ms) {
  gg_ts end = uv_hrtime() + GG_MS(ms);
  size_t pl = strlen(prefix);
  for (;;) {
    size_t pos = js->cursor;
    while (js->buf && pos < js->len) {
      char *nl = memchr(js->buf + pos, '\n', js->len - pos);
      if (!nl) break;
      char *l = js->buf + pos;
      size_t ll = (size_t)(nl - l);
      pos += ll + 1;
      if (line_matches(l, ll, prefix, pl, 0)) {
        size_t n = ll < sizeof(js->line) - 1 ? ll : sizeof(js->line) - 1;
        memcpy(js->line, l, n);
        js->line[n] = 0;
        l[0] = '#'; /* consumed */
        return js->line;
      }
    }
    if (uv_hrtime() >= end || js->exited) return NULL;
    ht_run_once(loop);
  }
}

int js_count(const jspeer *js, const char *prefix) {
  size_t pl = strlen(prefix), pos = 0;
  int n = 0;
  while (js->buf && pos < js->len) {
    const char *nl = memchr(js->buf + pos, '\n', js->len - pos);
    if (!nl) break;
    const char *l = js->buf + pos;
    size_t ll = (size_t)(nl - l);
    pos += ll + 1;
    n += line_matches(l, ll, prefix, pl, 1);
  }
  return n;
}

void js_cmd(jspeer *js, const char *fmt, ...) {
  char cmd[4096];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(cmd, sizeof(cmd) - 1, fmt, ap);
  va_end(ap);
  assert_true(n > 0 && (size_t)n < sizeof(cmd) - 1);
  cmd[n++] = '\n';
  uv_buf_t b = uv_buf_init(cmd, (unsigned)n);
  assert_int_equal(uv_try_write((uv_stream_t *)&js->in, &b, 1), n);
}

void js_start_script(uv_loop_t *loop, jspeer *js, const char *script, const char *const *extra) {
  memset(js, 0, sizeof(*js));
  char *args[32] = {"node", (char *)script, NULL};
  int na = 2;
  for (int i = 0; extra && extra[i] && na < 31; i++) args[na++] = (char *)extra[i];
  args[na] = NULL;
  uv_pipe_init(loop, &js->in, 0);
  uv_pipe_init(loop, &js->out, 0);
  js->in.data = js->out.data = js->proc.data = js;
  uv_stdio_container_t stdio[3] = {
      {.flags = UV_CREATE_PIPE | UV_READABLE_PIPE, .data.stream = (uv_stream_t *)&js->in},
      {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&js->out},
      {.flags = UV_INHERIT_FD, .data.fd = 2}};
  uv_process_options_t o = {.exit_cb = js_exit,
                            .file = "node",
                            .args = args,
                            .cwd = JS_DIR,
                            .stdio_count = 3,
                            .stdio = stdio};
  assert_int_equal(uv_spawn(loop, &js->proc, &o), 0);
  uv_read_start((uv_stream_t *)&js->out, js_alloc, js_read);
  const char *l = js_wait(loop, js, "READY ", 30000);
  assert_non_null(l);
  char id[128];
  /* peer.mjs: READY <id> <addrs>; gossip.mjs: READY <i> <id> <addrs> */
  if (sscanf(l, "READY 0 %127s %511s", id, js->addr) != 2)
    assert_int_equal(sscanf(l, "READY %127s %511s", id, js->addr), 2);
  char *comma = strchr(js->addr, ',');
  if (comma) *comma = 0;
  assert_int_equal(gg_peerid_parse(&js->id, id, strlen(id)), GG_OK);
}

void js_stop(uv_loop_t *loop, jspeer *js) {
  if (!js->exited) js_cmd(js, "quit");
  gg_ts end = uv_hrtime() + GG_SEC(10);
  while (!js->exited && uv_hrtime() < end) ht_run_once(loop);
  if (!js->exited) uv_process_kill(&js->proc, SIGKILL);
  while (!js->exited) ht_run_once(loop);
  uv_close((uv_handle_t *)&js->in, js_closed);
  uv_close((uv_handle_t *)&js->out, js_closed);
  uv_close((uv_handle_t *)&js->proc, js_closed);
  while (js->closed < 3) ht_run_once(loop);
  free(js->buf);
}
