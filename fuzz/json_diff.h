/*
 * Differential check of the in-situ JSON reader (src/base/json.c) against jansson, shared by
 * fuzz/fuzz_json.c and tests/test_json.c: both must accept the same texts, with the same
 * content, and refuse the same texts. The one allowed difference: jansson refuses numbers
 * out of its integer or double range, while the reader hands numbers out as text.
 *
 * Duplicate object keys: jansson keeps the last value, the reader reports each occurrence,
 * so only the last occurrence of a key is compared. A NUL byte is never valid JSON and the
 * reader refuses any text holding one; jansson sometimes takes it for the end of the text
 * ("[1\0]" loads as [1]), so such texts are only checked to be refused by the reader.
 */
#ifndef GG_FUZZ_JSON_DIFF_H
#define GG_FUZZ_JSON_DIFF_H

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ggen/json.h"

#define JD_ERROR (-2) /* the reader refused the text */

typedef struct jd_key {
  char *key;
  size_t len;
  int ok;
} jd_key;

/* Consumes one value that began with token t and compares it with v (NULL: nothing to
 * compare, only consume). Returns 1 (equal), 0 (different) or JD_ERROR. */
static int jd_value(gg_json *r, int t, json_t *v) {
  if (t < 0) return JD_ERROR;
  switch (t) {
  case GG_JSON_OBJECT: {
    int ok = v != NULL && json_is_object(v);
    jd_key *keys = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
      int k = gg_json_next(r);
      if (k == GG_JSON_END) break;
      if (k != GG_JSON_KEY) {
        ok = JD_ERROR;
        break;
      }
      if (n == cap) {
        cap = cap ? 2 * cap : 8;
        keys = realloc(keys, cap * sizeof(*keys));
      }
      keys[n].len = r->len;
      keys[n].key = malloc(r->len + 1);
      memcpy(keys[n].key, r->str, r->len + 1);
      json_t *m = ok == 1 ? json_object_getn(v, r->str, r->len) : NULL;
      int sub = jd_value(r, gg_json_next(r), m);
      keys[n++].ok = sub;
      if (sub == JD_ERROR) {
        ok = JD_ERROR;
        break;
      }
    }
    size_t distinct = 0;
    for (size_t i = 0; i < n; i++) {
      int last = 1;
      for (size_t k = i + 1; k < n && last; k++)
        if (keys[k].len == keys[i].len && !memcmp(keys[k].key, keys[i].key, keys[i].len)) last = 0;
      if (last) {
        distinct++;
        if (ok == 1 && keys[i].ok != 1) ok = 0;
      }
    }
    if (ok == 1 && distinct != json_object_size(v)) ok = 0;
    for (size_t i = 0; i < n; i++) free(keys[i].key);
    free(keys);
    return ok;
  }
  case GG_JSON_ARRAY: {
    int ok = v != NULL && json_is_array(v);
    size_t i = 0;
    for (;; i++) {
      int e = gg_json_next(r);
      if (e == GG_JSON_END) break;
      int sub = jd_value(r, e, ok == 1 ? json_array_get(v, i) : NULL);
      if (sub == JD_ERROR) return JD_ERROR;
      if (sub != 1) ok = 0;
    }
    return ok == 1 && i == json_array_size(v);
  }
  case GG_JSON_STRING:
    return v != NULL && json_is_string(v) && json_string_length(v) == r->len &&
           !memcmp(json_string_value(v), r->str, r->len) && r->str[r->len] == '\0';
  case GG_JSON_NUMBER: {
    char num[512];
    if (v == NULL || r->len >= sizeof(num)) return 0;
    memcpy(num, r->str, r->len);
    num[r->len] = '\0';
    if (json_is_integer(v)) return strtoll(num, NULL, 10) == json_integer_value(v);
    return json_is_real(v) && strtod(num, NULL) == json_real_value(v);
  }
  case GG_JSON_TRUE: return v != NULL && json_is_true(v);
  case GG_JSON_FALSE: return v != NULL && json_is_false(v);
  case GG_JSON_NULL: return v != NULL && json_is_null(v);
  default: return JD_ERROR;
  }
}

/* 1 when the reader and jansson agree on buf[0..len) (why left empty), 0 when they do not
 * (why says how). */
static int jd_compare(const char *buf, size_t len, char *why, size_t wn) {
  why[0] = '\0';
  json_error_t e;
  json_t *v = json_loadb(buf, len, JSON_DECODE_ANY, &e);
  char *copy = malloc(len + 1);
  if (len) memcpy(copy, buf, len);
  gg_json r;
  gg_json_init(&r, copy, len);
  int m = jd_value(&r, gg_json_next(&r), v);
  if (m != JD_ERROR && gg_json_next(&r) != GG_JSON_EOF) m = JD_ERROR;
  int agree = 1;
  if (len && memchr(buf, '\0', len)) {
    if (m != JD_ERROR) {
      snprintf(why, wn, "the reader accepted a NUL byte");
      agree = 0;
    }
  } else if (v == NULL) {
    if (m != JD_ERROR && json_error_code(&e) != json_error_numeric_overflow) {
      snprintf(why, wn, "jansson refused (%s, line %d) what the reader accepted", e.text, e.line);
      agree = 0;
    }
  } else if (m == JD_ERROR) {
    size_t line, col;
    const char *msg = gg_json_error(&r, &line, &col);
    snprintf(why, wn, "the reader refused (%s at %zu:%zu) what jansson accepted",
             msg ? msg : "wrong token", line, col);
    agree = 0;
  } else if (m != 1) {
    snprintf(why, wn, "both accepted, with different content");
    agree = 0;
  }
  free(copy);
  json_decref(v);
  return agree;
}

#endif
