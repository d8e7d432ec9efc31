/*
 * In-situ JSON pull reader (RFC 8259; include/ggen/json.h).
 *
 * The state says what may come next; the stack holds one bit per open container (1 = an
 * object). Strings are decoded in place: the write position never passes the read position
 * (every escape is at least as long as its UTF-8), so the NUL that ends a decoded string
 * lands at or before its closing quote and never on bytes still to be read. Lines are counted
 * in whitespace, the only place a raw newline may appear, so an error's line and column stay
 * right after earlier strings were rewritten.
 */
#include "ggen/json.h"

#include <stddef.h>
#include <string.h>

#include "ggen/err.h"

enum {
  S_VALUE,        /* a value */
  S_FIRST_ELEM,   /* after '[': a value or ']' */
  S_FIRST_MEMBER, /* after '{': a key or '}' */
  S_KEY,          /* after ',' in an object: a key */
  S_COLON,        /* after a key: ':' and a value */
  S_AFTER,        /* after a value: ',' or the container's end (end of input at the root) */
  S_DONE,
  S_ERROR,
};

void gg_json_init(gg_json *j, char *buf, size_t len) {
  memset(j, 0, offsetof(gg_json, stack));
  j->p = j->base = j->line_start = buf;
  j->end = buf + len;
  j->line = 1;
  j->state = S_VALUE;
}

static int fail(gg_json *j, const char *msg, const char *at) {
  if (j->state != S_ERROR) {
    j->err = at >= j->end ? "premature end of input" : msg;
    j->err_line = j->line;
    j->err_col = (size_t)(at - j->line_start) + 1;
    j->state = S_ERROR;
  }
  return GG_EPARSE;
}

const char *gg_json_error(const gg_json *j, size_t *line, size_t *col) {
  if (line) *line = j->err ? j->err_line : 0;
  if (col) *col = j->err ? j->err_col : 0;
  return j->err;
}

static void skip_ws(gg_json *j) {
  char *p = j->p, *e = j->end;
  while (p < e) {
    char c = *p;
    if (c == ' ' || c == '\t' || c == '\r') {
      p++;
    } else if (c == '\n') {
      p++;
      j->line++;
      j->line_start = p;
    } else {
      break;
    }
  }
  j->p = p;
}

/* ---- strings ------------------------------------------------------------------------------ */

static int hex4(const char *p, const char *e, uint32_t *out) {
  if (e - p < 4) return -1;
  uint32_t v = 0;
  for (int i = 0; i < 4; i++) {
    char c = p[i];
    uint32_t d;
    if (c >= '0' && c <= '9')
      d = (uint32_t)(c - '0');
    else if (c >= 'a' && c <= 'f')
      d = (uint32_t)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F')
      d = (uint32_t)(c - 'A' + 10);
    else
      return -1;
    v = v << 4 | d;
  }
  *out = v;
  return 0;
}

static char *utf8_put(char *w, uint32_t cp) {
  if (cp < 0x80) {
    *w++ = (char)cp;
  } else if (cp < 0x800) {
    *w++ = (char)(0xC0 | cp >> 6);
    *w++ = (char)(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    *w++ = (char)(0xE0 | cp >> 12);
    *w++ = (char)(0x80 | (cp >> 6 & 0x3F));
    *w++ = (char)(0x80 | (cp & 0x3F));
  } else {
    *w++ = (char)(0xF0 | cp >> 18);
    *w++ = (char)(0x80 | (cp >> 12 & 0x3F));
    *w++ = (char)(0x80 | (cp >> 6 & 0x3F));
    *w++ = (char)(0x80 | (cp & 0x3F));
  }
  return w;
}

/* Length of the well-formed UTF-8 sequence at p (RFC 3629: no overlong forms, no
 * surrogates, nothing past U+10FFFF), 0 when it is not one. */
static size_t utf8_seq(const unsigned char *p, const unsigned char *e) {
  unsigned char c = p[0], lo = 0x80, hi = 0xBF;
  size_t n;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if ((size_t)(e - p) < n || p[1] < lo || p[1] > hi) return 0;
  for (size_t i = 2; i < n; i++)
    if ((p[i] & 0xC0) != 0x80) return 0;
  return n;
}

/* An escape at r (r[0] == '\\'): writes its UTF-8 at *w, returns the bytes read or 0. */
static size_t unescape(const char *r, const char *e, char **w) {
  if (e - r < 2) return 0;
  static const char plain[] = "\"\\/bfnrt", decoded[] = "\"\\/\b\f\n\r\t";
  const char *k = r[1] ? strchr(plain, r[1]) : NULL;
  if (k) {
    *(*w)++ = decoded[k - plain];
    return 2;
  }
  uint32_t cp, lo;
  if (r[1] != 'u' || hex4(r + 2, e, &cp)) return 0;
  size_t used = 6;
  if (cp >= 0xD800 && cp <= 0xDBFF) {
    /* a UTF-16 surrogate pair: the low half must follow at once */
    if (e - r < 12 || r[6] != '\\' || r[7] != 'u' || hex4(r + 8, e, &lo) || lo < 0xDC00 ||
        lo > 0xDFFF)
      return 0;
    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    used = 12;
  } else if ((cp >= 0xDC00 && cp <= 0xDFFF) || cp == 0) {
    return 0; /* a lone low surrogate; U+0000 cannot live in a C string */
  }
  *w = utf8_put(*w, cp);
  return used;
}

/* Decodes the string whose opening quote is at j->p, in place. */
static int read_string(gg_json *j) {
  char *start = j->p + 1, *r = start, *w = start, *e = j->end;
  const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
  for (;;) {
    /* the common case: a run of printable ASCII, eight bytes at a time (a byte >= 0x80,
     * < 0x20, '"' or '\\' stops it; exact when there is none), copied down once an escape
     * has made the string shorter */
    while (e - r >= 8) {
      uint64_t x, q, b;
      memcpy(&x, r, 8);
      q = x ^ (0x22 * ones);
      b = x ^ (0x5c * ones);
      if ((x | ((x - 0x20 * ones) & ~x) | ((q - ones) & ~q) | ((b - ones) & ~b)) & high) break;
      if (w != r) memcpy(w, &x, 8);
      w += 8;
      r += 8;
    }
    while (r < e) {
      unsigned char c = (unsigned char)*r;
      if (c < 0x20 || c == '"' || c == '\\' || c >= 0x80) break;
      *w++ = (char)c;
      r++;
    }
    if (r >= e) return fail(j, "premature end of input", r);
    unsigned char c = (unsigned char)*r;
    if (c == '"') break;
    if (c < 0x20) return fail(j, "control character in a string", r);
    if (c == '\\') {
      size_t n = unescape(r, e, &w);
      if (n == 0) return fail(j, "invalid escape in a string", r);
      r += n;
    } else {
      size_t n = utf8_seq((const unsigned char *)r, (const unsigned char *)e);
      if (n == 0) return fail(j, "invalid UTF-8 in a string", r);
      for (size_t i = 0; i < n; i++) *w++ = *r++;
    }
  }
  *w = '\0';
  j->str = start;
  j->len = (size_t)(w - start);
  j->p = r + 1;
  return GG_OK;
}

/* ---- numbers and literals ----------------------------------------------------------------- */

static int is_digit(char c) { return c >= '0' && c <= '9'; }

static int read_number(gg_json *j) {
  char *s = j->p, *p = s, *e = j->end;
  if (p < e && *p == '-') p++;
  if (p >= e || !is_digit(*p)) return fail(j, "invalid number", p);
  if (*p == '0')
    p++; /* no leading zeros: "01" ends after the 0 and fails on the 1 */
  else
    while (p < e && is_digit(*p)) p++;
  if (p < e && *p == '.') {
    p++;
    if (p >= e || !is_digit(*p)) return fail(j, "invalid number", p);
    while (p < e && is_digit(*p)) p++;
  }
  if (p < e && (*p == 'e' || *p == 'E')) {
    p++;
    if (p < e && (*p == '+' || *p == '-')) p++;
    if (p >= e || !is_digit(*p)) return fail(j, "invalid number", p);
    while (p < e && is_digit(*p)) p++;
  }
  j->str = s;
  j->len = (size_t)(p - s);
  j->p = p;
  return GG_OK;
}

uint64_t gg_json_number_u64(const char *s, size_t n) {
  size_t i = 0;
  if (i < n && s[i] == '-') return 0;
  /* the digits D (integer then fraction part) and the exponent: the value is the first
   * k = (integer digits + exponent) digits of D, times 10^(k - |D|) when k is longer */
  size_t is = i;
  while (i < n && is_digit(s[i])) i++;
  size_t ie = i, fs = i, fe = i;
  if (i < n && s[i] == '.') {
    fs = ++i;
    while (i < n && is_digit(s[i])) i++;
    fe = i;
  }
  long exp = 0;
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    int neg = 0;
    i++;
    if (i < n && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-';
    for (; i < n && is_digit(s[i]); i++)
      if (exp < 100000) exp = exp * 10 + (s[i] - '0');
    if (neg) exp = -exp;
  }
  long k = (long)(ie - is) + exp, nd = (long)((ie - is) + (fe - fs));
  uint64_t v = 0;
  for (long d = 0; d < k && d < nd; d++) {
    char c = d < (long)(ie - is) ? s[is + (size_t)d] : s[fs + (size_t)d - (size_t)(ie - is)];
    unsigned dv = (unsigned)(c - '0');
    if (v > (UINT64_MAX - dv) / 10) return UINT64_MAX;
    v = v * 10 + dv;
  }
  for (long d = nd; d < k && v != 0; d++) {
    if (v > UINT64_MAX / 10) return UINT64_MAX;
    v *= 10;
  }
  return v;
}

static int literal(gg_json *j, const char *word, size_t n, int type) {
  if ((size_t)(j->end - j->p) < n || memcmp(j->p, word, n) != 0)
    return fail(j, "invalid token", j->p);
  j->p += n;
  j->state = S_AFTER;
  return type;
}

/* ---- structure ---------------------------------------------------------------------------- */

static int push(gg_json *j, int object) {
  if (j->depth >= GG_JSON_MAX_DEPTH) return fail(j, "nesting too deep", j->p);
  size_t d = j->depth++;
  uint8_t bit = (uint8_t)(1u << (d & 7));
  if (object)
    j->stack[d >> 3] |= bit;
  else
    j->stack[d >> 3] &= (uint8_t)~bit;
  j->p++;
  j->state = object ? S_FIRST_MEMBER : S_FIRST_ELEM;
  return object ? GG_JSON_OBJECT : GG_JSON_ARRAY;
}

static int in_object(const gg_json *j) {
  size_t d = j->depth - 1;
  return (j->stack[d >> 3] >> (d & 7)) & 1;
}

static int pop(gg_json *j) {
  j->p++;
  j->depth--;
  j->state = S_AFTER;
  return GG_JSON_END;
}

static int value(gg_json *j) {
  if (j->p >= j->end) return fail(j, "premature end of input", j->p);
  switch (*j->p) {
  case '{': return push(j, 1);
  case '[': return push(j, 0);
  case '"':
    if (read_string(j)) return GG_EPARSE;
    j->state = S_AFTER;
    return GG_JSON_STRING;
  case 't': return literal(j, "true", 4, GG_JSON_TRUE);
  case 'f': return literal(j, "false", 5, GG_JSON_FALSE);
  case 'n': return literal(j, "null", 4, GG_JSON_NULL);
  default:
    if (*j->p != '-' && !is_digit(*j->p)) return fail(j, "invalid token", j->p);
    if (read_number(j)) return GG_EPARSE;
    j->state = S_AFTER;
    return GG_JSON_NUMBER;
  }
}

static int key(gg_json *j) {
  if (j->p >= j->end || *j->p != '"') return fail(j, "string expected as an object key", j->p);
  if (read_string(j)) return GG_EPARSE;
  j->state = S_COLON;
  return GG_JSON_KEY;
}

int gg_json_next(gg_json *j) {
  if (j->state == S_ERROR) return GG_EPARSE;
  if (j->state == S_DONE) return GG_JSON_EOF;
  skip_ws(j);
  int more = j->p < j->end;
  char c = more ? *j->p : '\0';
  switch (j->state) {
  case S_FIRST_ELEM:
    if (more && c == ']') return pop(j);
    return value(j);
  case S_FIRST_MEMBER:
    if (more && c == '}') return pop(j);
    return key(j);
  case S_KEY: return key(j);
  case S_COLON:
    if (!more || c != ':') return fail(j, "':' expected", j->p);
    j->p++;
    skip_ws(j);
    return value(j);
  case S_AFTER:
    if (j->depth == 0) {
      if (more) return fail(j, "end of input expected", j->p);
      j->state = S_DONE;
      return GG_JSON_EOF;
    }
    if (in_object(j)) {
      if (c == '}') return pop(j);
      if (c != ',') return fail(j, "',' or '}' expected", j->p);
      j->p++;
      skip_ws(j);
      return key(j);
    }
    if (c == ']') return pop(j);
    if (c != ',') return fail(j, "',' or ']' expected", j->p);
    j->p++;
    skip_ws(j);
    return value(j);
  default: return value(j);
  }
}

int gg_json_skip(gg_json *j, int type) {
  if (j->state == S_ERROR) return GG_EPARSE;
  if ((type != GG_JSON_OBJECT && type != GG_JSON_ARRAY) || j->depth == 0) return GG_OK;
  size_t level = j->depth - 1;
  for (;;) {
    int t = gg_json_next(j);
    if (t < 0) return t;
    if ((t == GG_JSON_END && j->depth == level) || t == GG_JSON_EOF) return GG_OK;
  }
}
