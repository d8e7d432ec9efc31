/*
 * Tests for the TOML parser, DOM, builder and writer (src/market/toml.c).
 *
 * The conformance tests run every case of toml-test's TOML 1.0.0 list (and the 1.1.0 list
 * with GGM_TOML_F_V1_1): valid documents must parse and equal the expected tagged JSON,
 * compared semantically (integers and floats by value, date/times by their fields); invalid
 * ones must be rejected. Every valid document is also written back and re-read to check the
 * writer. The rest covers messages with positions, definition rules, limits, allocation
 * failure, the builder, the writer's exact output and the lenient ggen forms.
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "gg_test.h"
#include "ggen/err.h"
#include "ggen/toml.h"

/* ---- tagged-JSON comparison (toml-test's format) ----------------------------------------- */

/* Parses "YYYY-MM-DD", "HH:MM:SS[.f]", "YYYY-MM-DDTHH:MM:SS[.f][Z|+HH:MM]" independently of
 * the library so that the comparison does not trust the code under test. */
static int expect_dt(const char *s, ggm_toml_datetime *d, int *has_off) {
  memset(d, 0, sizeof(*d));
  *has_off = 0;
  const char *p = s;
  if (strlen(p) >= 10 && p[4] == '-') {
    if (sscanf(p, "%4d-%2d-%2d", &d->year, &d->month, &d->day) != 3) return 0;
    p += 10;
    if (!*p) return 1;
    if (*p != 'T' && *p != 't' && *p != ' ') return 0;
    p++;
  }
  if (sscanf(p, "%2d:%2d:%2d", &d->hour, &d->minute, &d->second) != 3) return 0;
  p += 8;
  if (*p == '.') {
    p++;
    uint32_t ns = 0;
    int nd = 0;
    while (*p >= '0' && *p <= '9') {
      if (nd < 9) ns = ns * 10 + (uint32_t)(*p - '0'), nd++;
      p++;
    }
    while (nd++ < 9) ns *= 10;
    d->nanosecond = ns;
  }
  if (*p == 'Z' || *p == 'z') {
    *has_off = 1;
    p++;
  } else if (*p == '+' || *p == '-') {
    int h, m;
    if (sscanf(p + 1, "%2d:%2d", &h, &m) != 2) return 0;
    d->offset_minutes = (h * 60 + m) * (*p == '-' ? -1 : 1);
    *has_off = 1;
    p += 6;
  }
  return *p == 0;
}

/* jansson cannot hold NUL in object keys, so the expected JSON is loaded with every \u0000
 * turned into U+2400 (SYMBOL FOR NULL) and the parsed text is compared the same way. */
static char *nul_to_2400(const char *s, size_t l, size_t *outl) {
  char *o = malloc(l * 3 + 1);
  size_t k = 0;
  for (size_t i = 0; i < l; i++) {
    if (s[i] == 0) {
      memcpy(o + k, "\xe2\x90\x80", 3);
      k += 3;
    } else {
      o[k++] = s[i];
    }
  }
  o[k] = 0;
  *outl = k;
  return o;
}

static json_t *load_json_mapped(const char *path) {
  size_t len;
  char *txt = gg_test_read_file(path, &len);
  if (!txt) return NULL;
  char *o = malloc(len * 2 + 1);
  size_t k = 0;
  for (size_t i = 0; i < len; i++) {
    if (txt[i] == '\\' && i + 1 < len) {
      if (txt[i + 1] == 'u' && i + 5 < len && !memcmp(txt + i + 2, "0000", 4)) {
        memcpy(o + k, "\\u2400", 6);
        k += 6;
        i += 5;
      } else {
        o[k++] = txt[i];
        o[k++] = txt[++i];
      }
    } else {
      o[k++] = txt[i];
    }
  }
  json_error_t je;
  json_t *j = json_loadb(o, k, 0, &je);
  if (!j) print_message("%s: %s\n", path, je.text);
  free(o);
  free(txt);
  return j;
}

static int match(const ggm_toml_val *v, json_t *j, char *why, size_t whylen);

static int match_scalar(const ggm_toml_val *v, json_t *j, char *why, size_t wl) {
  json_t *jt = json_object_get(j, "type"), *jv = json_object_get(j, "value");
  if (!json_is_string(jt) || !json_is_string(jv)) {
    snprintf(why, wl, "expected a table, got a scalar");
    return 0;
  }
  const char *type = json_string_value(jt);
  const char *val = json_string_value(jv);
  size_t vl = json_string_length(jv);
  ggm_toml_type t = ggm_toml_type_of(v);
  static const struct {
    const char *name;
    ggm_toml_type t;
  } map[] = {{"string", GGM_TOML_STRING},         {"integer", GGM_TOML_INTEGER},
             {"float", GGM_TOML_FLOAT},           {"bool", GGM_TOML_BOOL},
             {"datetime", GGM_TOML_DATETIME},     {"datetime-local", GGM_TOML_DATETIME_LOCAL},
             {"date-local", GGM_TOML_DATE_LOCAL}, {"time-local", GGM_TOML_TIME_LOCAL}};
  int want = 0;
  for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
    if (!strcmp(map[i].name, type)) want = (int)map[i].t;
  if ((int)t != want) {
    snprintf(why, wl, "type %s, expected %s", ggm_toml_type_name(t), type);
    return 0;
  }
  switch (t) {
  case GGM_TOML_STRING: {
    size_t l0, l;
    const char *s0 = ggm_toml_str(v, &l0);
    char *s = nul_to_2400(s0, l0, &l);
    int ok = l == vl && !memcmp(s, val, l);
    if (!ok) snprintf(why, wl, "string \"%.*s\", expected \"%s\"", (int)l, s, val);
    free(s);
    return ok;
  }
  case GGM_TOML_INTEGER:
    if (ggm_toml_int(v) != strtoll(val, NULL, 10)) {
      snprintf(why, wl, "integer %lld, expected %s", (long long)ggm_toml_int(v), val);
      return 0;
    }
    return 1;
  case GGM_TOML_FLOAT: {
    double e = strtod(val, NULL), g = ggm_toml_float(v);
    if (isnan(e) && isnan(g)) return 1;
    if (e != g || signbit(e) != signbit(g)) {
      snprintf(why, wl, "float %.17g, expected %s", g, val);
      return 0;
    }
    return 1;
  }
  case GGM_TOML_BOOL:
    if (ggm_toml_bool(v) != !strcmp(val, "true")) {
      snprintf(why, wl, "bool %d, expected %s", ggm_toml_bool(v), val);
      return 0;
    }
    return 1;
  default: {
    ggm_toml_datetime e;
    int has_off;
    if (!expect_dt(val, &e, &has_off)) {
      snprintf(why, wl, "cannot read expected date/time %s", val);
      return 0;
    }
    const ggm_toml_datetime *g = ggm_toml_datetime_of(v);
    int same = 1;
    if (t != GGM_TOML_TIME_LOCAL)
      same = same && g->year == e.year && g->month == e.month && g->day == e.day;
    if (t != GGM_TOML_DATE_LOCAL)
      same = same && g->hour == e.hour && g->minute == e.minute && g->second == e.second &&
             g->nanosecond == e.nanosecond;
    if (t == GGM_TOML_DATETIME) same = same && has_off && g->offset_minutes == e.offset_minutes;
    if (!same) {
      snprintf(why, wl, "date/time differs from %s", val);
      return 0;
    }
    return 1;
  }
  }
}

static int match(const ggm_toml_val *v, json_t *j, char *why, size_t wl) {
  switch (ggm_toml_type_of(v)) {
  case GGM_TOML_TABLE: {
    if (!json_is_object(j) || json_object_size(j) != ggm_toml_len(v)) {
      snprintf(why, wl, "table with %zu keys, expected %s", ggm_toml_len(v),
               json_is_object(j) ? "a different number" : "a non-table");
      return 0;
    }
    for (size_t i = 0; i < ggm_toml_len(v); i++) {
      size_t kl;
      const char *k0 = ggm_toml_key_at(v, i, &kl);
      char *k = nul_to_2400(k0, kl, &kl);
      json_t *c = json_object_getn(j, k, kl);
      if (!c) snprintf(why, wl, "unexpected key \"%.*s\"", (int)kl, k);
      free(k);
      if (!c) return 0;
      if (!match(ggm_toml_value_at(v, i), c, why, wl)) return 0;
    }
    return 1;
  }
  case GGM_TOML_ARRAY:
    if (!json_is_array(j) || json_array_size(j) != ggm_toml_len(v)) {
      snprintf(why, wl, "array of %zu, expected another size or kind", ggm_toml_len(v));
      return 0;
    }
    for (size_t i = 0; i < ggm_toml_len(v); i++)
      if (!match(ggm_toml_at(v, i), json_array_get(j, i), why, wl)) return 0;
    return 1;
  default:
    if (!json_is_object(j)) {
      snprintf(why, wl, "scalar where the JSON has an array");
      return 0;
    }
    return match_scalar(v, j, why, wl);
  }
}

/* Runs one toml-test list; returns the number of failures (printed). */
static int run_suite(const char *list, unsigned flags, int *nvalid, int *ninvalid) {
  char rel[512];
  snprintf(rel, sizeof(rel), "toml-test/tests/%s", list);
  char *lp = gg_test_require_data(rel);
  char *lst = gg_test_read_file(lp, NULL);
  assert_non_null(lst);
  int fails = 0;
  ggm_toml_opts opts = {0, 0, flags};
  for (char *line = strtok(lst, "\n"); line; line = strtok(NULL, "\n")) {
    size_t ll = strlen(line);
    if (ll < 5 || strcmp(line + ll - 5, ".toml")) continue;
    snprintf(rel, sizeof(rel), "toml-test/tests/%s", line);
    char *path = gg_test_data_path(rel);
    assert_non_null(path);
    size_t len;
    char *src = gg_test_read_file(path, &len);
    assert_non_null(src);
    ggm_toml_val *doc = NULL;
    ggm_toml_error err;
    int rc = ggm_toml_parse(&doc, line, src, len, &opts, NULL, &err);
    int valid = !strncmp(line, "valid/", 6);
    if (!valid) {
      (*ninvalid)++;
      if (rc == GG_OK) {
        print_message("FAIL %s: accepted an invalid document\n", line);
        fails++;
        ggm_toml_free(doc);
      } else if (rc != GG_EPARSE || err.line == 0 || !strstr(err.msg, line)) {
        print_message("FAIL %s: rc %d, message '%s'\n", line, rc, err.msg);
        fails++;
      }
    } else {
      (*nvalid)++;
      if (rc != GG_OK) {
        print_message("FAIL %s: %s\n", line, err.msg);
        fails++;
      } else {
        char jrel[512];
        snprintf(jrel, sizeof(jrel), "%.*s.json", (int)(strlen(rel) - 5), rel);
        char *jp = gg_test_data_path(jrel);
        assert_non_null(jp);
        json_t *j = load_json_mapped(jp);
        assert_non_null(j);
        char why[256] = "";
        if (!match(doc, j, why, sizeof(why))) {
          print_message("FAIL %s: %s\n", line, why);
          fails++;
        }
        /* the writer's output must read back (as strict TOML 1.0) to the same document */
        gg_buf out;
        gg_buf_init(&out, NULL, 1 << 20);
        ggm_toml_val *again = NULL;
        if (ggm_toml_write(&out, doc) != GG_OK ||
            ggm_toml_parse(&again, "written", gg_buf_ptr(&out), gg_buf_len(&out), NULL, NULL,
                           &err) != GG_OK ||
            !ggm_toml_equal(doc, again)) {
          print_message("FAIL %s: write-back differs (%s)\n%.*s\n", line, err.msg,
                        (int)gg_buf_len(&out), (const char *)gg_buf_ptr(&out));
          fails++;
        }
        ggm_toml_free(again);
        gg_buf_free(&out);
        json_decref(j);
        free(jp);
        ggm_toml_free(doc);
      }
    }
    free(src);
    free(path);
  }
  free(lst);
  free(lp);
  return fails;
}

static void test_toml_test_1_0(void **state) {
  (void)state;
  int nv = 0, ni = 0;
  int fails = run_suite("files-toml-1.0.0", 0, &nv, &ni);
  print_message("toml-test 1.0.0: %d valid, %d invalid, %d failures\n", nv, ni, fails);
  assert_true(nv >= 200 && ni >= 400);
  assert_int_equal(fails, 0);
}

static void test_toml_test_1_1(void **state) {
  (void)state;
  int nv = 0, ni = 0;
  int fails = run_suite("files-toml-1.1.0", GGM_TOML_F_V1_1, &nv, &ni);
  print_message("toml-test 1.1.0: %d valid, %d invalid, %d failures\n", nv, ni, fails);
  assert_int_equal(fails, 0);
}

/* ---- helpers ----------------------------------------------------------------------------- */

static ggm_toml_val *parse_ok(const char *src) {
  ggm_toml_val *d = NULL;
  ggm_toml_error err;
  int rc = ggm_toml_parse(&d, "t.toml", src, strlen(src), NULL, NULL, &err);
  if (rc) print_message("unexpected error: %s\n", err.msg);
  assert_int_equal(rc, GG_OK);
  return d;
}

static void expect_error(const char *src, const char *msg) {
  ggm_toml_val *d = (ggm_toml_val *)0x1;
  ggm_toml_error err;
  int rc = ggm_toml_parse(&d, "gpack.toml", src, strlen(src), NULL, NULL, &err);
  assert_int_equal(rc, GG_EPARSE);
  assert_ptr_equal(d, (ggm_toml_val *)0x1); /* untouched on failure */
  if (strcmp(err.msg, msg)) print_message("got '%s'\nwant '%s'\n", err.msg, msg);
  assert_string_equal(err.msg, msg);
}

/* ---- messages and rules ---------------------------------------------------------------- */

static void test_error_positions(void **state) {
  (void)state;
  expect_error("[gpack]\nid = \"x\"\nname \"Rust CLI\"\n",
               "gpack.toml:3:6: expected '=' after key, found '\"'");
  expect_error("a = 1\nb = 2\na = 3\n", "gpack.toml:3:1: duplicate key 'a'");
  expect_error("[a]\nx = 1\n[a]\n", "gpack.toml:3:1: table [a] is defined more than once");
  expect_error("s = \"héllo\x01\"\n",
               "gpack.toml:1:11: control character U+0001 in a string; write it as an escape");
  expect_error("n = 0x8000000000000000\n",
               "gpack.toml:1:5: integer '0x8000000000000000' does not fit in 64 bits");
  expect_error("d = 2023-02-29\n", "gpack.toml:1:5: invalid date '2023-02-29': no such day");
  expect_error("t = { a = 1 }\nt.b = 2\n",
               "gpack.toml:2:1: cannot add keys to inline table 't' after it is closed");
  expect_error("k = \"\\uD800\"\n", "gpack.toml:1:6: escape \\uD800 is not a Unicode scalar value");
  expect_error("a = [1, 2\n", "gpack.toml:1:5: unterminated array");
  expect_error("x = \xff\n", "gpack.toml:1:5: invalid UTF-8 byte 0xFF");
  expect_error(
      "[a.b]\nc = 1\n[a]\nb.d = 2\n",
      "gpack.toml:4:1: cannot add keys to table [a.b] with dotted keys: it has its own header");
  expect_error("v = trUe\n", "gpack.toml:1:5: invalid value 'trUe' (strings need quotes)");
  expect_error("a = 1 b = 2\n", "gpack.toml:1:7: expected end of line after value, found 'b'");
}

static void test_definition_rules(void **state) {
  (void)state;
  /* valid: sub-tables of dotted tables, super-table after sub-table, AOT sub-tables */
  ggm_toml_val *d = parse_ok("[fruit]\napple.color = 'red'\napple.taste.sweet = true\n"
                             "[fruit.apple.texture]\nsmooth = true\n"
                             "[x.y.z]\n[x]\n[[p]]\n[p.q]\nr = 1\n[[p]]\n[p.q]\nr = 2\n");
  assert_int_equal(ggm_toml_bool(ggm_toml_get_path(d, "fruit.apple.taste.sweet")), 1);
  assert_int_equal(ggm_toml_bool(ggm_toml_get_path(d, "fruit.apple.texture.smooth")), 1);
  const ggm_toml_val *p = ggm_toml_get(d, "p");
  assert_int_equal(ggm_toml_len(p), 2);
  assert_int_equal(ggm_toml_int(ggm_toml_get_path(ggm_toml_at(p, 1), "q.r")), 2);
  ggm_toml_free(d);

  static const char *bad[] = {
      "[fruit]\napple.color = 'red'\n[fruit.apple]\n", /* dotted, then header */
      "a.b = 1\n[a]\n",                                /* same at the root */
      "a = []\n[[a]]\n",                               /* static array */
      "[[a]]\n[a]\n",                                  /* AOT, then table */
      "[a]\n[[a]]\n",                                  /* table, then AOT */
      "a = {}\n[a.b]\n",                               /* inline table is frozen */
      "a = { b = { c = 1 } }\na.b.d = 2\n",            /* deep in an inline table */
      "[a]\nb = 1\n[a.b]\n",                           /* value, then table */
      "t = { a.b = 1, a = 2 }\n",                      /* duplicate inside inline */
      "[a.b.c]\nz = 9\n[a]\nb.c.t = 1\n",              /* toml-test append-with-dotted */
      "[a]\nb.c = 1\n[d]\n[a]\n",                      /* header twice */
      "x = 1\nx.y = 2\n",                              /* value used as table */
      "a = [{ b = 1 }]\n[a.c]\n",                      /* static array of tables */
      "- x\n",                                         /* legacy list needs the flag */
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    ggm_toml_val *x = NULL;
    ggm_toml_error err;
    int rc = ggm_toml_parse(&x, "r.toml", bad[i], strlen(bad[i]), NULL, NULL, &err);
    if (rc != GG_EPARSE) print_message("accepted: %s\n", bad[i]);
    assert_int_equal(rc, GG_EPARSE);
    assert_null(x);
  }
}

static void test_values(void **state) {
  (void)state;
  ggm_toml_val *d = parse_ok(
      "i = -9_223_372_036_854_775_808\nh = 0xDEAD_beef\no = 0o755\nb = 0b1010\n"
      "f = 6.626e-34\ng = -0.0\nn = -nan\nin = +inf\n"
      "s = \"\\u00e9\\U0001F600\\t\"\nml = \"\"\"\n  a\\\n     b\"\"\"\"\"\nlit = '''x''''\n"
      "odt = 1979-05-27 07:32:00.999999999999-07:30\nld = 1979-05-27\nlt = 00:32:00.5\n"
      "\"\\u0000\" = 0\n");
  assert_true(ggm_toml_int(ggm_toml_get(d, "i")) == INT64_MIN);
  assert_int_equal(ggm_toml_int(ggm_toml_get(d, "h")), 0xDEADBEEF);
  assert_int_equal(ggm_toml_int(ggm_toml_get(d, "o")), 0755);
  assert_int_equal(ggm_toml_int(ggm_toml_get(d, "b")), 10);
  assert_true(ggm_toml_float(ggm_toml_get(d, "f")) == 6.626e-34);
  assert_true(signbit(ggm_toml_float(ggm_toml_get(d, "g"))));
  assert_true(isnan(ggm_toml_float(ggm_toml_get(d, "n"))));
  assert_true(isinf(ggm_toml_float(ggm_toml_get(d, "in"))));
  assert_string_equal(ggm_toml_str(ggm_toml_get(d, "s"), NULL), "\xc3\xa9\xf0\x9f\x98\x80\t");
  assert_string_equal(ggm_toml_str(ggm_toml_get(d, "ml"), NULL), "  ab\"\"");
  assert_string_equal(ggm_toml_str(ggm_toml_get(d, "lit"), NULL), "x'");
  const ggm_toml_datetime *t = ggm_toml_datetime_of(ggm_toml_get(d, "odt"));
  assert_int_equal(ggm_toml_type_of(ggm_toml_get(d, "odt")), GGM_TOML_DATETIME);
  assert_int_equal(t->nanosecond, 999999999);
  assert_int_equal(t->frac_digits, 9);
  assert_int_equal(t->offset_minutes, -450);
  assert_int_equal(ggm_toml_type_of(ggm_toml_get(d, "ld")), GGM_TOML_DATE_LOCAL);
  assert_int_equal(ggm_toml_datetime_of(ggm_toml_get(d, "lt"))->nanosecond, 500000000);
  assert_non_null(ggm_toml_getn(d, "\0", 1));
  uint32_t line, col;
  ggm_toml_pos(ggm_toml_get(d, "lt"), &line, &col);
  assert_int_equal(line, 16);
  assert_int_equal(col, 6);
  /* keys keep document order */
  assert_string_equal(ggm_toml_key_at(d, 0, NULL), "i");
  assert_string_equal(ggm_toml_key_at(d, 3, NULL), "b");
  ggm_toml_free(d);
}

/* ---- limits and allocation failure --------------------------------------------------------- */

static void test_limits(void **state) {
  (void)state;
  ggm_toml_opts o = {64, 4, 0};
  ggm_toml_val *d = NULL;
  ggm_toml_error err;
  char big[100];
  memset(big, '#', sizeof(big));
  assert_int_equal(ggm_toml_parse(&d, "x", big, sizeof(big), &o, NULL, &err), GG_ELIMIT);
  assert_string_equal(err.msg, "x: document exceeds the size limit");
  assert_int_equal(ggm_toml_parse(&d, "x", "a = [[[[[1]]]]]", 15, &o, NULL, &err), GG_ELIMIT);
  assert_int_equal(ggm_toml_parse(&d, "x", "a.b.c.d.e = 1", 13, &o, NULL, &err), GG_ELIMIT);
  assert_int_equal(ggm_toml_parse(&d, "x", "[a.b.c.d.e]", 11, &o, NULL, &err), GG_ELIMIT);
  assert_int_equal(ggm_toml_parse(&d, "x", "a.b.c = [1]", 11, &o, NULL, &err), GG_OK);
  ggm_toml_free(d);
  /* default depth cap: a deeply nested array is refused, not a stack overflow */
  size_t n = 100000;
  char *deep = malloc(n * 2 + 8);
  memcpy(deep, "a = ", 4);
  memset(deep + 4, '[', n);
  memset(deep + 4 + n, ']', n);
  assert_int_equal(ggm_toml_parse(&d, "x", deep, 4 + 2 * n, NULL, NULL, &err), GG_ELIMIT);
  free(deep);
  /* many keys in one table: the AVL index keeps this fast */
  gg_buf b;
  gg_buf_init(&b, NULL, 1 << 24);
  for (int i = 0; i < 50000; i++) {
    char line[32];
    snprintf(line, sizeof(line), "k%d = %d\n", (i * 7919) % 50000, i);
    assert_int_equal(gg_buf_append_str(&b, line), GG_OK);
  }
  assert_int_equal(ggm_toml_parse(&d, "x", gg_buf_ptr(&b), gg_buf_len(&b), NULL, NULL, &err),
                   GG_OK);
  assert_int_equal(ggm_toml_len(d), 50000);
  assert_int_equal(ggm_toml_int(ggm_toml_get(d, "k7919")), 1);
  assert_int_equal(ggm_toml_remove(d, "k7919", 5), GG_OK);
  assert_null(ggm_toml_get(d, "k7919"));
  assert_int_equal(ggm_toml_int(ggm_toml_get(d, "k15838")), 2);
  assert_int_equal(ggm_toml_remove(d, "k7919", 5), GG_ENOTFOUND);
  ggm_toml_free(d);
  gg_buf_free(&b);
}

static const char *alloc_doc =
    "title = \"x\"\n[owner]\nname = \"Tom\"\ndob = 1979-05-27T07:32:00-08:00\n"
    "[database]\nports = [ 8000, 8001 ]\ndata = [ [\"delta\", \"phi\"], [3.14] ]\n"
    "temp = { cpu = 79.5, case = 72.0 }\n[servers.alpha]\nip = \"10.0.0.1\"\n"
    "[[products]]\nname = \"Hammer\"\n[[products]]\n\"quoted key\".dotted = 'v'\n";

static void test_alloc_failures(void **state) {
  (void)state;
  for (long k = 0;; k++) {
    gg_failmem fm;
    gg_failmem_init(&fm, k);
    ggm_toml_val *d = NULL;
    ggm_toml_error err;
    int rc = ggm_toml_parse(&d, "a.toml", alloc_doc, strlen(alloc_doc), NULL, &fm.mem, &err);
    if (rc == GG_OK) {
      /* the clone and writer paths under failure too */
      gg_failmem fm2;
      for (long j = 0;; j++) {
        gg_failmem_init(&fm2, j);
        ggm_toml_val *c = ggm_toml_clone(d, &fm2.mem);
        if (c) {
          assert_true(ggm_toml_equal(c, d));
          ggm_toml_free(c);
          assert_int_equal(fm2.live, 0);
          break;
        }
        assert_int_equal(fm2.live, 0);
      }
      ggm_toml_free(d);
      assert_int_equal(fm.live, 0);
      assert_true(k > 10);
      break;
    }
    assert_int_equal(rc, GG_ENOMEM);
    assert_string_equal(err.msg, "a.toml: out of memory");
    assert_int_equal(fm.live, 0);
  }
}

/* ---- builder and writer ------------------------------------------------------------------ */

static void test_build_and_write(void **state) {
  (void)state;
  ggm_toml_val *root = ggm_toml_new_table(NULL), *packs, *p, *deps, *t;
  assert_int_equal(ggm_toml_set_str(root, "version", "1.0"), GG_OK);
  ggm_toml_datetime gen = {2026, 1, 1, 0, 0, 0, 0, 0, 0};
  assert_int_equal(
      ggm_toml_set(root, "generated", 9, ggm_toml_new_datetime(NULL, GGM_TOML_DATETIME, &gen)),
      GG_OK);
  assert_int_equal(ggm_toml_set_array(root, "packs", &packs), GG_OK);
  for (int i = 0; i < 2; i++) {
    assert_int_equal(ggm_toml_push_table(packs, &p), GG_OK);
    assert_int_equal(ggm_toml_set_str(p, "id", i ? "io.ggen.macros.std" : "io.ggen.rust.cli"),
                     GG_OK);
    assert_int_equal(ggm_toml_set_str(p, "version", "0.1.3"), GG_OK);
    assert_int_equal(ggm_toml_set_array(p, "dependencies", &deps), GG_OK);
    if (!i)
      assert_int_equal(ggm_toml_push(deps, ggm_toml_new_str(NULL, "io.ggen.macros.std@0.1.3", 24)),
                       GG_OK);
  }
  assert_int_equal(ggm_toml_set_table(root, "meta", &t), GG_OK);
  assert_int_equal(ggm_toml_set_int(t, "count", 2), GG_OK);
  assert_int_equal(ggm_toml_set(t, "ratio", 5, ggm_toml_new_float(NULL, 0.1)), GG_OK);
  assert_int_equal(ggm_toml_set(t, "big", 3, ggm_toml_new_float(NULL, 1e300)), GG_OK);
  assert_int_equal(ggm_toml_set(t, "two", 3, ggm_toml_new_float(NULL, 2)), GG_OK);
  assert_int_equal(
      ggm_toml_set(t, "odd key", 7, ggm_toml_new_str(NULL, "tab\there \"q\" \x7f", 14)), GG_OK);
  assert_int_equal(ggm_toml_set_bool(t, "ok", 1), GG_OK);
  assert_int_equal(ggm_toml_set_int(t, "count", 3), GG_OK); /* replace keeps position */
  ggm_toml_val *inl;
  assert_int_equal(ggm_toml_set_table(t, "sub", &inl), GG_OK);
  const char *want = "version = \"1.0\"\n"
                     "generated = 2026-01-01T00:00:00Z\n"
                     "\n[[packs]]\n"
                     "id = \"io.ggen.rust.cli\"\nversion = \"0.1.3\"\n"
                     "dependencies = [\"io.ggen.macros.std@0.1.3\"]\n"
                     "\n[[packs]]\n"
                     "id = \"io.ggen.macros.std\"\nversion = \"0.1.3\"\ndependencies = []\n"
                     "\n[meta]\n"
                     "count = 3\nratio = 0.1\nbig = 1e+300\ntwo = 2.0\n"
                     "\"odd key\" = \"tab\\there \\\"q\\\" \\u007F\"\nok = true\n"
                     "\n[meta.sub]\n";
  gg_buf out;
  gg_buf_init(&out, NULL, 4096);
  assert_int_equal(ggm_toml_write(&out, root), GG_OK);
  if (gg_buf_len(&out) != strlen(want))
    print_message("%.*s", (int)gg_buf_len(&out), (const char *)gg_buf_ptr(&out));
  assert_int_equal(gg_buf_len(&out), strlen(want));
  assert_memory_equal(gg_buf_ptr(&out), want, strlen(want));
  ggm_toml_val *back = NULL;
  assert_int_equal(ggm_toml_parse(&back, "w", gg_buf_ptr(&out), gg_buf_len(&out), NULL, NULL, NULL),
                   GG_OK);
  assert_true(ggm_toml_equal(root, back));
  ggm_toml_free(back);
  /* the writer stops at the buffer's limit */
  gg_buf small;
  gg_buf_init(&small, NULL, 40);
  assert_int_equal(ggm_toml_write(&small, root), GG_ETOOBIG);
  gg_buf_free(&small);
  /* bad arguments */
  assert_int_equal(ggm_toml_set(NULL, "a", 1, ggm_toml_new_int(NULL, 1)), GG_EINVAL);
  assert_int_equal(ggm_toml_write(&out, packs), GG_EINVAL);
  ggm_toml_datetime bad = {2023, 2, 29, 0, 0, 0, 0, 0, 0};
  assert_null(ggm_toml_new_datetime(NULL, GGM_TOML_DATE_LOCAL, &bad));
  ggm_toml_val *inv = ggm_toml_new_str(NULL, "\xff", 1);
  gg_buf_reset(&out);
  assert_int_equal(ggm_toml_write_value(&out, inv), GG_EINVAL);
  ggm_toml_free(inv);
  gg_buf_free(&out);
  ggm_toml_free(root);
}

static void test_float_shortest(void **state) {
  (void)state;
  static const struct {
    double d;
    const char *s;
  } cases[] = {
      {0.1, "0.1"},       {1.0 / 3, "0.3333333333333333"}, {1e21, "1e+21"},    {-0.0, "-0.0"},
      {5e-324, "5e-324"}, {123456789.0, "123456789.0"},    {1.5e-7, "1.5e-07"}};
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    ggm_toml_val *v = ggm_toml_new_float(NULL, cases[i].d);
    gg_buf b;
    gg_buf_init(&b, NULL, 64);
    assert_int_equal(ggm_toml_write_value(&b, v), GG_OK);
    assert_int_equal(gg_buf_append_byte(&b, 0), GG_OK);
    assert_string_equal((const char *)gg_buf_ptr(&b), cases[i].s);
    gg_buf_free(&b);
    ggm_toml_free(v);
  }
}

/* ---- lenient forms ------------------------------------------------------------------------ */

static void test_legacy_lists(void **state) {
  (void)state;
  const char *src = "[package]\nname = \"x\"\n\n[features]\n# list\n- \"a\"\n-   'b' # c\n"
                    "\n[other]\n- = 1\n";
  ggm_toml_opts o = {0, 0, GGM_TOML_F_LEGACY_LISTS};
  ggm_toml_val *d = NULL;
  ggm_toml_error err;
  assert_int_equal(ggm_toml_parse(&d, "p.toml", src, strlen(src), &o, NULL, &err), GG_OK);
  assert_int_equal(err.nwarnings, 1);
  assert_string_equal(err.warning, "p.toml:6:1: warning: YAML-style list item is not TOML; read "
                                   "as features = [ ... ] (write it that way)");
  const ggm_toml_val *f = ggm_toml_get(d, "features");
  assert_int_equal(ggm_toml_type_of(f), GGM_TOML_ARRAY);
  assert_int_equal(ggm_toml_len(f), 2);
  assert_string_equal(ggm_toml_str(ggm_toml_at(f, 1), NULL), "b");
  assert_int_equal(ggm_toml_int(ggm_toml_get_path(d, "other.-")), 1); /* "- = 1" is a key */
  ggm_toml_free(d);
  const char *mixed = "[features]\n- \"a\"\nb = 1\n";
  assert_int_equal(ggm_toml_parse(&d, "p.toml", mixed, strlen(mixed), &o, NULL, &err), GG_EPARSE);
  assert_string_equal(err.msg, "p.toml:3:1: key/value pair after a YAML-style list; start a new "
                               "[table] first");
  const char *late = "[features]\nb = 1\n- \"a\"\n";
  assert_int_equal(ggm_toml_parse(&d, "p.toml", late, strlen(late), &o, NULL, &err), GG_EPARSE);
}

static void test_v1_1_inline_newlines(void **state) {
  (void)state;
  const char *src = "t = {\n  a = 1, # one\n  b = { c = 2, },\n}\ne = \"\\e\\x41\"\nh = 10:30\n";
  ggm_toml_val *d = NULL;
  ggm_toml_error err;
  assert_int_equal(ggm_toml_parse(&d, "x", src, strlen(src), NULL, NULL, &err), GG_EPARSE);
  assert_string_equal(err.msg, "x:1:6: newline in an inline table (allowed only in TOML 1.1)");
  ggm_toml_opts o = {0, 0, GGM_TOML_F_V1_1};
  assert_int_equal(ggm_toml_parse(&d, "x", src, strlen(src), &o, NULL, &err), GG_OK);
  assert_int_equal(ggm_toml_int(ggm_toml_get_path(d, "t.b.c")), 2);
  assert_string_equal(ggm_toml_str(ggm_toml_get(d, "e"), NULL), "\x1b"
                                                                "A");
  assert_int_equal(ggm_toml_datetime_of(ggm_toml_get(d, "h"))->minute, 30);
  ggm_toml_free(d);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_toml_test_1_0),
      cmocka_unit_test(test_toml_test_1_1),
      cmocka_unit_test(test_error_positions),
      cmocka_unit_test(test_definition_rules),
      cmocka_unit_test(test_values),
      cmocka_unit_test(test_limits),
      cmocka_unit_test(test_alloc_failures),
      cmocka_unit_test(test_build_and_write),
      cmocka_unit_test(test_float_shortest),
      cmocka_unit_test(test_legacy_lists),
      cmocka_unit_test(test_v1_1_inline_newlines),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
