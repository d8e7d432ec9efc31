/*
 * Semantic versions (semver.org 2.0.0) and npm's range language, matching node-semver 7.x
 * (the reference the test suite in ../shared/test-data/semver was generated from).
 *
 * Why a string-rewriting pipeline: node-semver defines its range language operationally, as a
 * sequence of regular-expression rewrites (hyphen ranges, whitespace trims, carets, tildes,
 * x-ranges, stars, ">=0.0.0"), and its observable behaviour - which odd inputs are accepted,
 * and the canonical string printed for a range - is that of the sequence. We reproduce the
 * same sequence of rewrites with small hand-written matchers, one per grammar token
 * (numeric identifier, prerelease, build, MAJOR.MINOR.PATCH, x-range, comparator), each
 * greedy: for these anchored, prefix-free patterns a greedy match finds exactly what a
 * backtracking regex engine finds (the matchers' comments say where that needs care).
 * node-semver uses "safe" variants of its expressions where `\s*` / `\s+` match at most one
 * whitespace character; after the first step collapses whitespace runs this only matters in
 * the places commented below.
 *
 * Invariants:
 *  - every version stored has MAJOR/MINOR/PATCH <= 2^53-1 and normalised numeric prerelease
 *    identifiers; comparator versions never carry build metadata (ranges strip it first);
 *  - a parsed range has at least one comparator set; a set is either the null set alone
 *    ("<0.0.0-0"), or has no duplicate comparators and no "" (any) next to other comparators;
 *  - nothing here does I/O; every allocation goes through the gg_mem given.
 * Deliberate difference: whitespace is ASCII whitespace (JavaScript's \s also covers Unicode
 * spaces); numeric prerelease identifiers above 2^53 compare exactly, not as doubles.
 */
#include "ggen/semver.h"

#include <string.h>

#include "ggen/err.h"

#define NPOS ((size_t)-1)

/* ================================================================================
 * Small helpers: character classes, string views, a growable string.
 * ================================================================================ */

static int is_ws(int c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}
static int is_digit(int c) { return c >= '0' && c <= '9'; }
static int is_ldn(int c) { /* [a-zA-Z0-9-] */
  return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
}

/* A borrowed slice; p == NULL means "not captured" (JavaScript's undefined). */
typedef struct sv {
  const char *p;
  size_t n;
} sv;

static sv sv_make(const char *p, size_t n) {
  sv r = {p, n};
  return r;
}
static const sv SV_NONE = {NULL, 0};
static int sv_eq(sv a, const char *lit) {
  size_t n = strlen(lit);
  return a.p && a.n == n && memcmp(a.p, lit, n) == 0;
}
static sv sv_trim(sv a) {
  while (a.n && is_ws(a.p[0])) a.p++, a.n--;
  while (a.n && is_ws(a.p[a.n - 1])) a.n--;
  return a;
}
static int all_digits(const char *p, size_t n) {
  if (!n) return 0;
  for (size_t i = 0; i < n; i++)
    if (!is_digit(p[i])) return 0;
  return 1;
}

/* Growable NUL-terminated string with a sticky error, so rewriting code reads linearly. */
typedef struct sb {
  char *p;
  size_t len, cap;
  const gg_mem *mem;
  int err;
} sb;

static void sb_init(sb *b, const gg_mem *mem) {
  b->p = NULL;
  b->len = b->cap = 0;
  b->mem = mem;
  b->err = 0;
}
static void sb_free(sb *b) {
  gg_free(b->mem, b->p);
  b->p = NULL;
  b->len = b->cap = 0;
}
static void sb_reset(sb *b) {
  b->len = 0;
  if (b->p) b->p[0] = 0;
}
static void sb_putn(sb *b, const char *s, size_t n) {
  if (b->err) return;
  if (b->len + n + 1 > b->cap) {
    size_t nc = b->cap ? b->cap : 64;
    while (nc < b->len + n + 1) nc *= 2;
    char *q = gg_realloc(b->mem, b->p, nc);
    if (!q) {
      b->err = GG_ENOMEM;
      return;
    }
    b->p = q;
    b->cap = nc;
  }
  if (n) memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = 0;
}
static void sb_puts(sb *b, const char *s) { sb_putn(b, s, strlen(s)); }
static void sb_putc(sb *b, char c) { sb_putn(b, &c, 1); }
static void sb_sv(sb *b, sv s) {
  if (s.p) sb_putn(b, s.p, s.n);
}
static void sb_u64(sb *b, uint64_t v) {
  char t[24];
  size_t i = sizeof t;
  do {
    t[--i] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  sb_putn(b, t + i, sizeof t - i);
}
/* Appends the decimal number s + 1 (node-semver's `${+s + 1}`), s being digits. */
static void sb_incr(sb *b, sv s) {
  const char *p = s.p;
  size_t n = s.n;
  while (n > 1 && p[0] == '0') p++, n--;
  size_t last = n; /* index of the last digit that is not 9 */
  for (size_t i = n; i-- > 0;)
    if (p[i] != '9') {
      last = i;
      break;
    }
  if (last == n) { /* all nines: 1 followed by n zeros */
    sb_putc(b, '1');
    for (size_t i = 0; i < n; i++) sb_putc(b, '0');
    return;
  }
  sb_putn(b, p, last);
  sb_putc(b, (char)(p[last] + 1));
  for (size_t i = last + 1; i < n; i++) sb_putc(b, '0');
}

/* Calls fn on each piece of s split like JavaScript's split(' ') (ws_run == 0) or
 * split(/\s+/) (ws_run == 1): separators between pieces, empty pieces kept. */
typedef int (*piece_fn)(sv piece, void *ud);
static int split_each(sv s, int ws_run, piece_fn fn, void *ud) {
  size_t i = 0;
  for (;;) {
    size_t j = i;
    while (j < s.n && !(ws_run ? is_ws(s.p[j]) : s.p[j] == ' ')) j++;
    int rc = fn(sv_make(s.p + i, j - i), ud);
    if (rc) return rc;
    if (j >= s.n) return 0;
    if (ws_run)
      while (j < s.n && is_ws(s.p[j])) j++;
    else
      j++;
    i = j;
  }
}

/* ================================================================================
 * Grammar matchers. Each takes (s, n, i) and returns the end of its match at i, or NPOS.
 * ================================================================================ */

/* NUMERICIDENTIFIER `0|[1-9]\d*` (strict) or `\d+` (loose). Strict "01" matches "0" only:
 * the caller then fails on the '1', as the anchored regex does. */
static size_t m_num(const char *s, size_t n, size_t i, int loose) {
  if (i >= n || !is_digit(s[i])) return NPOS;
  if (!loose && s[i] == '0') return i + 1;
  while (i < n && is_digit(s[i])) i++;
  return i;
}

/* XRANGEIDENTIFIER: a numeric identifier, x, X or *. */
static size_t m_xid(const char *s, size_t n, size_t i, int loose) {
  if (i < n && (s[i] == 'x' || s[i] == 'X' || s[i] == '*')) return i + 1;
  return m_num(s, n, i, loose);
}

/* PRERELEASEIDENTIFIER: `\d*[a-zA-Z-][a-zA-Z0-9-]*` or a numeric identifier. A run of
 * [a-zA-Z0-9-] with a non-digit matches whole; an all-digit run is numeric. */
static size_t m_preid(const char *s, size_t n, size_t i, int loose) {
  size_t j = i;
  int nondigit = 0;
  while (j < n && is_ldn(s[j])) {
    if (!is_digit(s[j])) nondigit = 1;
    j++;
  }
  if (j == i) return NPOS;
  if (nondigit) return j;
  return m_num(s, n, i, loose);
}

static size_t m_preids(const char *s, size_t n, size_t i, int loose) {
  size_t e = m_preid(s, n, i, loose);
  if (e == NPOS) return NPOS;
  while (e < n && s[e] == '.') {
    size_t f = m_preid(s, n, e + 1, loose);
    if (f == NPOS) break;
    e = f;
  }
  return e;
}

/* PRERELEASE `-(ids)` or PRERELEASELOOSE `-?(ids)`. In loose mode a '-' not followed by an
 * identifier is itself the start of one ("1.2.3-" has prerelease "-"), as the regex
 * backtracks to. */
static size_t m_pre(const char *s, size_t n, size_t i, int loose, sv *cap) {
  if (i < n && s[i] == '-') {
    size_t e = m_preids(s, n, i + 1, loose);
    if (e != NPOS) {
      *cap = sv_make(s + i + 1, e - i - 1);
      return e;
    }
  }
  if (!loose) return NPOS;
  size_t e = m_preids(s, n, i, loose);
  if (e != NPOS) *cap = sv_make(s + i, e - i);
  return e;
}

/* BUILD `\+([a-zA-Z0-9-]+(\.[a-zA-Z0-9-]+)*)`. */
static size_t m_build(const char *s, size_t n, size_t i, sv *cap) {
  if (i >= n || s[i] != '+' || i + 1 >= n || !is_ldn(s[i + 1])) return NPOS;
  size_t e = i + 1;
  while (e < n && is_ldn(s[e])) e++;
  while (e + 1 < n && s[e] == '.' && is_ldn(s[e + 1])) {
    e++;
    while (e < n && is_ldn(s[e])) e++;
  }
  if (cap) *cap = sv_make(s + i + 1, e - i - 1);
  return e;
}

typedef struct vcaps {
  sv M, m, p, pre, build;
} vcaps;

static void vcaps_clear(vcaps *c) { c->M = c->m = c->p = c->pre = c->build = SV_NONE; }

/* FULLPLAIN `v?MAIN PRE? BUILD?` (strict) or LOOSEPLAIN `[v=\s]*MAIN PRE? BUILD?`. */
static size_t m_plain(const char *s, size_t n, size_t i, int loose, vcaps *c) {
  vcaps_clear(c);
  if (!loose) {
    if (i < n && s[i] == 'v') i++;
  } else {
    while (i < n && (s[i] == 'v' || s[i] == '=' || is_ws(s[i]))) i++;
  }
  size_t a = m_num(s, n, i, loose);
  if (a == NPOS || a >= n || s[a] != '.') return NPOS;
  size_t b = m_num(s, n, a + 1, loose);
  if (b == NPOS || b >= n || s[b] != '.') return NPOS;
  size_t e = m_num(s, n, b + 1, loose);
  if (e == NPOS) return NPOS;
  c->M = sv_make(s + i, a - i);
  c->m = sv_make(s + a + 1, b - a - 1);
  c->p = sv_make(s + b + 1, e - b - 1);
  size_t f = m_pre(s, n, e, loose, &c->pre);
  if (f != NPOS) e = f;
  f = m_build(s, n, e, &c->build);
  if (f != NPOS) e = f;
  return e;
}

/* XRANGEPLAIN `[v=\s]*(xid)(?:\.(xid)(?:\.(xid)PRE?BUILD?)?)?`. */
static size_t m_xplain(const char *s, size_t n, size_t i, int loose, vcaps *c) {
  vcaps_clear(c);
  while (i < n && (s[i] == 'v' || s[i] == '=' || is_ws(s[i]))) i++;
  size_t e = m_xid(s, n, i, loose);
  if (e == NPOS) return NPOS;
  c->M = sv_make(s + i, e - i);
  if (e < n && s[e] == '.') {
    size_t f = m_xid(s, n, e + 1, loose);
    if (f != NPOS) {
      c->m = sv_make(s + e + 1, f - e - 1);
      e = f;
      if (e < n && s[e] == '.') {
        size_t g = m_xid(s, n, e + 1, loose);
        if (g != NPOS) {
          c->p = sv_make(s + e + 1, g - e - 1);
          e = g;
          g = m_pre(s, n, e, loose, &c->pre);
          if (g != NPOS) e = g;
          g = m_build(s, n, e, &c->build);
          if (g != NPOS) e = g;
        }
      }
    }
  }
  return e;
}

/* GTLT `((?:<|>)?=?)`. Greedy is enough: a shorter operator would leave '=' for the version
 * that follows, whose own prefix `[v=\s]*` (or strict `v?`) cannot do better. */
static size_t m_gtlt(const char *s, size_t n, size_t i, sv *cap) {
  size_t j = i;
  if (j < n && (s[j] == '<' || s[j] == '>')) j++;
  if (j < n && s[j] == '=') j++;
  *cap = sv_make(s + i, j - i);
  return j;
}

static int is_x(sv id) {
  return !id.p || id.n == 0 || (id.n == 1 && (id.p[0] == 'x' || id.p[0] == 'X' || id.p[0] == '*'));
}

/* ================================================================================
 * Versions
 * ================================================================================ */

/* Parses digits into *out; 0 when the value exceeds 2^53-1 (node-semver rejects it). */
static int parse_component(sv d, uint64_t *out) {
  uint64_t v = 0;
  for (size_t i = 0; i < d.n; i++) {
    v = v * 10 + (uint64_t)(d.p[i] - '0');
    if (v > GGM_SEMVER_MAX_SAFE) return 0;
  }
  *out = v;
  return 1;
}

/* Value of an all-digit identifier when it is below 2^53-1 (node-semver turns exactly those
 * into numbers), else -1. */
static int64_t small_number(const char *p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; i++) {
    v = v * 10 + (uint64_t)(p[i] - '0');
    if (v >= GGM_SEMVER_MAX_SAFE) return -1;
  }
  return (int64_t)v;
}

/* Appends a prerelease list with numeric identifiers normalised. */
static void put_normalised_pre(sb *b, sv pre) {
  size_t i = 0;
  while (i < pre.n) {
    size_t j = i;
    while (j < pre.n && pre.p[j] != '.') j++;
    if (i) sb_putc(b, '.');
    int64_t num = all_digits(pre.p + i, j - i) ? small_number(pre.p + i, j - i) : -1;
    if (num >= 0)
      sb_u64(b, (uint64_t)num);
    else
      sb_putn(b, pre.p + i, j - i);
    i = j + 1;
  }
}

/* Builds a version from parts (pre already normalised). */
static int sv_build_version(ggm_semver *v, uint64_t M, uint64_t m, uint64_t p, sv pre, sv build,
                            const gg_mem *mem) {
  char *buf = NULL;
  const char *pp = "", *bp = "";
  if (pre.n || build.n) {
    buf = gg_malloc(mem, pre.n + build.n + 2);
    if (!buf) return GG_ENOMEM;
    if (pre.n) memcpy(buf, pre.p, pre.n);
    buf[pre.n] = 0;
    if (build.n) memcpy(buf + pre.n + 1, build.p, build.n);
    buf[pre.n + 1 + build.n] = 0;
    pp = buf;
    bp = buf + pre.n + 1;
  }
  v->major = M;
  v->minor = m;
  v->patch = p;
  v->pre = pp;
  v->build = bp;
  v->buf_ = buf;
  v->mem_ = mem;
  return GG_OK;
}

int ggm_semver_parse(ggm_semver *v, const char *s, size_t len, unsigned flags, const gg_mem *mem) {
  if (!v || (!s && len)) return GG_EINVAL;
  if (len > GGM_SEMVER_MAX_LEN) return GG_EPARSE;
  sv t = sv_trim(sv_make(s, len));
  vcaps c;
  size_t e = m_plain(t.p, t.n, 0, flags & GGM_SEMVER_LOOSE, &c);
  if (e == NPOS || e != t.n) return GG_EPARSE;
  uint64_t M, m, p;
  if (!parse_component(c.M, &M) || !parse_component(c.m, &m) || !parse_component(c.p, &p))
    return GG_EPARSE;
  sb pre;
  sb_init(&pre, mem);
  put_normalised_pre(&pre, c.pre);
  if (pre.err) return pre.err;
  int rc = sv_build_version(v, M, m, p, sv_make(pre.p, pre.len), c.build, mem);
  sb_free(&pre);
  return rc;
}

int ggm_semver_copy(ggm_semver *dst, const ggm_semver *src, const gg_mem *mem) {
  return sv_build_version(dst, src->major, src->minor, src->patch,
                          sv_make(src->pre, strlen(src->pre)),
                          sv_make(src->build, strlen(src->build)), mem);
}

void ggm_semver_free(ggm_semver *v) {
  if (!v) return;
  gg_free(v->mem_, v->buf_);
  memset(v, 0, sizeof *v);
  v->pre = v->build = "";
}

/* node-semver compareIdentifiers on two identifiers. */
static int cmp_ident(const char *a, size_t an, const char *b, size_t bn) {
  int anum = all_digits(a, an), bnum = all_digits(b, bn);
  if (anum && bnum) {
    while (an > 1 && *a == '0') a++, an--;
    while (bn > 1 && *b == '0') b++, bn--;
    if (an != bn) return an < bn ? -1 : 1;
    int r = memcmp(a, b, an);
    return r < 0 ? -1 : r > 0;
  }
  if (anum) return -1;
  if (bnum) return 1;
  size_t k = an < bn ? an : bn;
  int r = memcmp(a, b, k);
  if (r) return r < 0 ? -1 : 1;
  return an == bn ? 0 : (an < bn ? -1 : 1);
}

/* Compares two dot-separated identifier lists; a shorter list that is a prefix ranks lower. */
static int cmp_idlist(const char *a, const char *b) {
  for (;;) {
    if (!*a && !*b) return 0;
    if (!*a) return -1;
    if (!*b) return 1;
    size_t an = strcspn(a, "."), bn = strcspn(b, ".");
    if (!(an == bn && memcmp(a, b, an) == 0)) {
      int r = cmp_ident(a, an, b, bn);
      if (r) return r;
    }
    a += an + (a[an] == '.');
    b += bn + (b[bn] == '.');
  }
}

static int cmp_main(const ggm_semver *a, const ggm_semver *b) {
  if (a->major != b->major) return a->major < b->major ? -1 : 1;
  if (a->minor != b->minor) return a->minor < b->minor ? -1 : 1;
  if (a->patch != b->patch) return a->patch < b->patch ? -1 : 1;
  return 0;
}

int ggm_semver_cmp(const ggm_semver *a, const ggm_semver *b) {
  int r = cmp_main(a, b);
  if (r) return r;
  if (a->pre[0] && !b->pre[0]) return -1;
  if (!a->pre[0] && b->pre[0]) return 1;
  return cmp_idlist(a->pre, b->pre);
}

int ggm_semver_cmp_build(const ggm_semver *a, const ggm_semver *b) {
  int r = ggm_semver_cmp(a, b);
  if (r) return r;
  /* node-semver compareBuild: identifier by identifier, an absent list ranks lowest */
  return cmp_idlist(a->build, b->build);
}

size_t ggm_semver_format(const ggm_semver *v, int with_build, char *out, size_t cap) {
  char tmp[3 * 24 + 4];
  size_t n = 0;
  /* numbers first, without allocating */
  uint64_t parts[3] = {v->major, v->minor, v->patch};
  for (int i = 0; i < 3; i++) {
    char t[24];
    size_t k = sizeof t;
    uint64_t x = parts[i];
    do {
      t[--k] = (char)('0' + x % 10);
      x /= 10;
    } while (x);
    if (i) tmp[n++] = '.';
    memcpy(tmp + n, t + k, sizeof t - k);
    n += sizeof t - k;
  }
  size_t pl = strlen(v->pre), bl = with_build ? strlen(v->build) : 0;
  size_t total = n + (pl ? pl + 1 : 0) + (bl ? bl + 1 : 0);
  if (cap) {
    size_t w = 0;
#define PUT(src, len)                                                                              \
  do {                                                                                             \
    size_t k_ = (len);                                                                             \
    if (w + k_ > cap - 1) k_ = cap - 1 - w;                                                        \
    memcpy(out + w, (src), k_);                                                                    \
    w += k_;                                                                                       \
  } while (0)
    PUT(tmp, n);
    if (pl) {
      PUT("-", 1);
      PUT(v->pre, pl);
    }
    if (bl) {
      PUT("+", 1);
      PUT(v->build, bl);
    }
#undef PUT
    out[w] = 0;
  }
  return total;
}

/* Appends "M.m.p[-pre]" to an sb. */
static void sb_version(sb *b, const ggm_semver *v) {
  sb_u64(b, v->major);
  sb_putc(b, '.');
  sb_u64(b, v->minor);
  sb_putc(b, '.');
  sb_u64(b, v->patch);
  if (v->pre[0]) {
    sb_putc(b, '-');
    sb_puts(b, v->pre);
  }
}

/* ================================================================================
 * Increments (node-semver SemVer.prototype.inc, truncate)
 * ================================================================================ */

int ggm_semver_release_from_str(const char *s) {
  static const char *const names[] = {"major",    "premajor",   "minor",   "preminor", "patch",
                                      "prepatch", "prerelease", "release", "pre"};
  if (!s) return -1;
  for (int i = 0; i < (int)(sizeof names / sizeof *names); i++)
    if (!strcmp(s, names[i])) return i;
  return -1;
}

/* One prerelease identifier while incrementing: a JavaScript number (numeric identifiers
 * below 2^53-1) or a string. */
typedef struct pitem {
  int isnum;
  uint64_t num;
  sv str;
} pitem;

#define INC_MAX_IDS 260 /* a 256-character version has at most 128 identifiers */

typedef struct incst {
  uint64_t M, m, p;
  pitem pre[INC_MAX_IDS];
  size_t npre;
} incst;

static void pre_to_sb(const incst *x, sb *b) {
  for (size_t i = 0; i < x->npre; i++) {
    if (i) sb_putc(b, '.');
    if (x->pre[i].isnum)
      sb_u64(b, x->pre[i].num);
    else
      sb_sv(b, x->pre[i].str);
  }
}

/* compareIdentifiers(item, ident) == 0 */
static int pitem_eq(const pitem *it, sv id) {
  char t[24];
  sv a = it->str;
  if (it->isnum) {
    size_t k = sizeof t;
    uint64_t x = it->num;
    do {
      t[--k] = (char)('0' + x % 10);
      x /= 10;
    } while (x);
    a = sv_make(t + k, sizeof t - k);
  }
  return cmp_ident(a.p, a.n, id.p, id.n) == 0;
}

static int inc_step(incst *x, int rel, const char *ident, int base, int loose) {
  int has_ident = ident && *ident;
  if (rel == GGM_SEMVER_PREMAJOR || rel == GGM_SEMVER_PREMINOR || rel == GGM_SEMVER_PREPATCH ||
      rel == GGM_SEMVER_PRERELEASE || rel == GGM_SEMVER_PRE) {
    if (!has_ident && base == GGM_SEMVER_INC_NO_BASE) return GG_EINVAL;
    if (has_ident) {
      size_t n = strlen(ident);
      if (n > GGM_SEMVER_MAX_LEN || m_preids(ident, n, 0, loose) != n) return GG_EINVAL;
    }
  }
  int rc;
  switch (rel) {
  case GGM_SEMVER_PREMAJOR:
    x->npre = 0;
    x->p = x->m = 0;
    x->M++;
    return inc_step(x, GGM_SEMVER_PRE, ident, base, loose);
  case GGM_SEMVER_PREMINOR:
    x->npre = 0;
    x->p = 0;
    x->m++;
    return inc_step(x, GGM_SEMVER_PRE, ident, base, loose);
  case GGM_SEMVER_PREPATCH:
    x->npre = 0;
    if ((rc = inc_step(x, GGM_SEMVER_PATCH, ident, base, loose))) return rc;
    return inc_step(x, GGM_SEMVER_PRE, ident, base, loose);
  case GGM_SEMVER_PRERELEASE:
    if (x->npre == 0 && (rc = inc_step(x, GGM_SEMVER_PATCH, ident, base, loose))) return rc;
    return inc_step(x, GGM_SEMVER_PRE, ident, base, loose);
  case GGM_SEMVER_RELEASE:
    if (x->npre == 0) return GG_EINVAL;
    x->npre = 0;
    return GG_OK;
  case GGM_SEMVER_MAJOR:
    if (x->m != 0 || x->p != 0 || x->npre == 0) x->M++;
    x->m = x->p = 0;
    x->npre = 0;
    return GG_OK;
  case GGM_SEMVER_MINOR:
    if (x->p != 0 || x->npre == 0) x->m++;
    x->p = 0;
    x->npre = 0;
    return GG_OK;
  case GGM_SEMVER_PATCH:
    if (x->npre == 0) x->p++;
    x->npre = 0;
    return GG_OK;
  case GGM_SEMVER_PRE: {
    uint64_t b = base == 1 ? 1 : 0; /* Number(identifierBase) ? 1 : 0 */
    if (x->npre == 0) {
      x->pre[0].isnum = 1;
      x->pre[0].num = b;
      x->npre = 1;
    } else {
      int bumped = 0;
      for (size_t i = x->npre; i-- > 0;)
        if (x->pre[i].isnum) {
          x->pre[i].num++;
          bumped = 1;
          break;
        }
      if (!bumped) {
        if (has_ident && base == GGM_SEMVER_INC_NO_BASE) {
          sb j;
          sb_init(&j, NULL);
          pre_to_sb(x, &j);
          int same = !j.err && strcmp(j.p ? j.p : "", ident) == 0;
          int err = j.err;
          sb_free(&j);
          if (err) return err;
          if (same) return GG_EINVAL; /* identifier already exists */
        }
        if (x->npre >= INC_MAX_IDS) return GG_EINVAL;
        x->pre[x->npre].isnum = 1;
        x->pre[x->npre].num = b;
        x->npre++;
      }
    }
    if (has_ident) {
      /* is ident's identifier list a prefix of the prerelease? */
      size_t k = 0;
      int prefix = 1;
      const char *q = ident;
      for (;;) {
        size_t l = strcspn(q, ".");
        if (k >= x->npre || !pitem_eq(&x->pre[k], sv_make(q, l))) {
          prefix = 0;
          break;
        }
        k++;
        if (!q[l]) break;
        q += l + 1;
      }
      /* keep the prerelease only when the identifier is a prefix followed by a number */
      int keep = prefix && k < x->npre &&
                 (x->pre[k].isnum || all_digits(x->pre[k].str.p, x->pre[k].str.n));
      if (!keep) {
        x->pre[0].isnum = 0;
        x->pre[0].str = sv_make(ident, strlen(ident));
        x->npre = 1;
        if (base != GGM_SEMVER_INC_NO_BASE) {
          x->pre[1].isnum = 1;
          x->pre[1].num = b;
          x->npre = 2;
        }
      }
    }
    return GG_OK;
  }
  default: return GG_EINVAL;
  }
}

int ggm_semver_inc(ggm_semver *v, ggm_semver_release release, const char *identifier, int base,
                   unsigned flags) {
  if (!v) return GG_EINVAL;
  incst *x = gg_malloc(v->mem_, sizeof *x);
  if (!x) return GG_ENOMEM;
  x->M = v->major;
  x->m = v->minor;
  x->p = v->patch;
  x->npre = 0;
  for (const char *q = v->pre; *q && x->npre < INC_MAX_IDS;) {
    size_t l = strcspn(q, ".");
    pitem *it = &x->pre[x->npre++];
    int64_t num = all_digits(q, l) ? small_number(q, l) : -1;
    it->isnum = num >= 0;
    it->num = num >= 0 ? (uint64_t)num : 0;
    it->str = sv_make(q, l);
    q += l + (q[l] == '.');
  }
  int rc = inc_step(x, (int)release, identifier, base, flags & GGM_SEMVER_LOOSE);
  if (rc == GG_OK) {
    sb pre;
    sb_init(&pre, v->mem_);
    pre_to_sb(x, &pre);
    ggm_semver nv;
    rc = pre.err
             ? pre.err
             : sv_build_version(&nv, x->M, x->m, x->p, sv_make(pre.p, pre.len), SV_NONE, v->mem_);
    sb_free(&pre);
    if (rc == GG_OK) {
      ggm_semver_free(v);
      *v = nv;
    }
  }
  gg_free(v->mem_, x);
  return rc;
}

int ggm_semver_truncate(ggm_semver *v, ggm_semver_release release) {
  if (!v || release > GGM_SEMVER_PRERELEASE) return GG_EINVAL;
  int keep_pre = release == GGM_SEMVER_PREMAJOR || release == GGM_SEMVER_PREMINOR ||
                 release == GGM_SEMVER_PREPATCH || release == GGM_SEMVER_PRERELEASE;
  uint64_t m = v->minor, p = v->patch;
  if (release == GGM_SEMVER_MAJOR) m = p = 0;
  if (release == GGM_SEMVER_MINOR) p = 0;
  ggm_semver nv;
  int rc = sv_build_version(&nv, v->major, m, p,
                            keep_pre ? sv_make(v->pre, strlen(v->pre)) : SV_NONE, SV_NONE, v->mem_);
  if (rc) return rc;
  ggm_semver_free(v);
  *v = nv;
  return GG_OK;
}

/* ================================================================================
 * Ranges: data
 * ================================================================================ */

enum { OP_EQ, OP_LT, OP_LE, OP_GT, OP_GE };
static const char *const OP_STR[] = {"", "<", "<=", ">", ">="};

typedef struct comp {
  int op;
  int any; /* the empty comparator: matches every release */
  ggm_semver v;
} comp;

struct ggm_semver_range {
  const gg_mem *mem;
  unsigned flags;
  char *raw;    /* the string as given (node-semver's subset compares it first) */
  size_t nsets; /* >= 1 */
  size_t *sets; /* nsets + 1 offsets into comps */
  comp *comps;
  size_t ncomps;
};

static void comp_free(comp *c) { ggm_semver_free(&c->v); }

static int comp_is_null(const comp *c) { /* "<0.0.0-0" */
  return !c->any && c->op == OP_LT && c->v.major == 0 && c->v.minor == 0 && c->v.patch == 0 &&
         !strcmp(c->v.pre, "0");
}

static int comp_same_value(const comp *a, const comp *b) {
  if (a->any || b->any) return a->any == b->any;
  return a->op == b->op && cmp_main(&a->v, &b->v) == 0 && !strcmp(a->v.pre, b->v.pre);
}

static void sb_comp(sb *b, const comp *c) {
  if (c->any) return;
  sb_puts(b, OP_STR[c->op]);
  sb_version(b, &c->v);
}

/* ================================================================================
 * Ranges: the rewriting pipeline (node-semver Range.parseRange)
 * ================================================================================ */

typedef struct rparser {
  const gg_mem *mem;
  int loose, incpr;
  sb tmp[4]; /* per-token scratch: carets, tildes, x-ranges, stars */
  sb joined;
  comp *set; /* comparators of the ||-alternative being parsed */
  size_t nset, capset;
  size_t total; /* comparators in the whole range so far */
  int err;
} rparser;

/* Drops every build-metadata suffix (node-semver strips them before anything else so that
 * "1.2.3+build" cannot bleed into the version). */
static void st_strip_builds(sv in, sb *out) {
  for (size_t i = 0; i < in.n;) {
    size_t e = m_build(in.p, in.n, i, NULL);
    if (e != NPOS) {
      i = e;
      continue;
    }
    sb_putc(out, in.p[i++]);
  }
}

/* "1.2.3 - 2.3.4" => ">=1.2.3 <=2.3.4" (node-semver hyphenReplace). */
static void st_hyphen(rparser *rp, sv in, sb *out) {
  const char *s = in.p;
  size_t n = in.n, i = 0;
  if (i < n && is_ws(s[i])) i++;
  vcaps f, t;
  size_t e1 = m_xplain(s, n, i, rp->loose, &f);
  size_t e2 = NPOS;
  if (e1 != NPOS && e1 + 3 <= n && is_ws(s[e1]) && s[e1 + 1] == '-' && is_ws(s[e1 + 2])) {
    e2 = m_xplain(s, n, e1 + 3, rp->loose, &t);
    if (e2 != NPOS && e2 < n && is_ws(s[e2])) e2++;
  }
  if (e2 != n) {
    sb_putn(out, s, n);
    return;
  }
  sv from = sv_make(s + i, e1 - i), to = sv_make(s + e1 + 3, 0);
  /* the "to" capture starts after the separator and ends where its x-range ends */
  {
    vcaps t2;
    size_t e = m_xplain(s, n, e1 + 3, rp->loose, &t2);
    to.n = e - (e1 + 3);
  }
  const char *z = rp->incpr ? "-0" : "";
  size_t mark = out->len;
  if (is_x(f.M)) {
    /* from = '' */
  } else if (is_x(f.m)) {
    sb_puts(out, ">=");
    sb_sv(out, f.M);
    sb_puts(out, ".0.0");
    sb_puts(out, z);
  } else if (is_x(f.p)) {
    sb_puts(out, ">=");
    sb_sv(out, f.M);
    sb_putc(out, '.');
    sb_sv(out, f.m);
    sb_puts(out, ".0");
    sb_puts(out, z);
  } else if (f.pre.p) {
    sb_puts(out, ">=");
    sb_sv(out, from);
  } else {
    sb_puts(out, ">=");
    sb_sv(out, from);
    sb_puts(out, z);
  }
  sb_putc(out, ' ');
  if (is_x(t.M)) {
    /* to = '' */
  } else if (is_x(t.m)) {
    sb_putc(out, '<');
    sb_incr(out, t.M);
    sb_puts(out, ".0.0-0");
  } else if (is_x(t.p)) {
    sb_putc(out, '<');
    sb_sv(out, t.M);
    sb_putc(out, '.');
    sb_incr(out, t.m);
    sb_puts(out, ".0-0");
  } else if (t.pre.p) {
    sb_puts(out, "<=");
    sb_sv(out, t.M);
    sb_putc(out, '.');
    sb_sv(out, t.m);
    sb_putc(out, '.');
    sb_sv(out, t.p);
    sb_putc(out, '-');
    sb_sv(out, t.pre);
  } else if (rp->incpr) {
    sb_putc(out, '<');
    sb_sv(out, t.M);
    sb_putc(out, '.');
    sb_sv(out, t.m);
    sb_putc(out, '.');
    sb_incr(out, t.p);
    sb_puts(out, "-0");
  } else {
    sb_puts(out, "<=");
    sb_sv(out, to);
  }
  /* `${from} ${to}`.trim() */
  if (out->err) return;
  sv r = sv_trim(sv_make(out->p + mark, out->len - mark));
  memmove(out->p + mark, r.p, r.n);
  out->len = mark + r.n;
  out->p[out->len] = 0;
}

/* "> 1.2.3" => ">1.2.3" (node-semver COMPARATORTRIM, a global replace). */
static void st_comparator_trim(sv in, sb *out) {
  const char *s = in.p;
  size_t n = in.n, i = 0;
  while (i < n) {
    size_t j = i;
    if (j < n && is_ws(s[j])) j++;
    sv op;
    j = m_gtlt(s, n, j, &op);
    size_t g1 = j;
    if (j < n && is_ws(s[j])) j++;
    vcaps c;
    size_t e = m_plain(s, n, j, 1, &c);
    if (e == NPOS) e = m_xplain(s, n, j, 0, &c);
    if (e != NPOS) {
      sb_putn(out, s + i, g1 - i);
      sb_putn(out, s + j, e - j);
      i = e;
      continue;
    }
    sb_putc(out, s[i++]);
  }
}

/* "~ 1.2" => "~1.2", "^ 1" => "^1" (TILDETRIM / CARETTRIM; "~> " becomes "~"). */
static void st_op_trim(sv in, char opc, sb *out) {
  const char *s = in.p;
  size_t n = in.n, i = 0;
  while (i < n) {
    size_t j = i + (is_ws(s[i]) ? 1 : 0);
    if (j < n && s[j] == opc) {
      size_t k = j + 1;
      if (opc == '~' && k < n && s[k] == '>') k++;
      if (k < n && is_ws(s[k])) {
        sb_putn(out, s + i, j - i);
        sb_putc(out, opc);
        i = k + 1;
        continue;
      }
    }
    sb_putc(out, s[i++]);
  }
}

/* Appends node-semver's replaceCaret(comp). */
static void rw_caret(rparser *rp, sv c, sb *out) {
  vcaps x;
  if (!(c.n && c.p[0] == '^' && m_xplain(c.p, c.n, 1, rp->loose, &x) == c.n)) {
    sb_sv(out, c);
    return;
  }
  const char *z = rp->incpr ? "-0" : "";
  if (is_x(x.M)) return;
  sb_puts(out, ">=");
  sb_sv(out, x.M);
  if (is_x(x.m)) {
    sb_puts(out, ".0.0");
    sb_puts(out, z);
    sb_putc(out, ' ');
    sb_putc(out, '<');
    sb_incr(out, x.M);
    sb_puts(out, ".0.0-0");
    return;
  }
  sb_putc(out, '.');
  sb_sv(out, x.m);
  if (is_x(x.p)) {
    sb_puts(out, ".0");
    sb_puts(out, z);
  } else {
    sb_putc(out, '.');
    sb_sv(out, x.p);
    if (x.pre.p) {
      sb_putc(out, '-');
      sb_sv(out, x.pre);
    }
  }
  sb_puts(out, " <");
  if (sv_eq(x.M, "0")) {
    if (!is_x(x.p) && sv_eq(x.m, "0")) { /* ^0.0.3 => <0.0.4-0 */
      sb_sv(out, x.M);
      sb_putc(out, '.');
      sb_sv(out, x.m);
      sb_putc(out, '.');
      sb_incr(out, x.p);
      sb_puts(out, "-0");
    } else { /* ^0.2 and ^0.2.3 => <0.3.0-0 */
      sb_sv(out, x.M);
      sb_putc(out, '.');
      sb_incr(out, x.m);
      sb_puts(out, ".0-0");
    }
  } else {
    sb_incr(out, x.M);
    sb_puts(out, ".0.0-0");
  }
}

/* Appends node-semver's replaceTilde(comp). */
static void rw_tilde(rparser *rp, sv c, sb *out) {
  vcaps x;
  size_t j = 1;
  if (c.n > 1 && c.p[1] == '>') j = 2;
  if (!(c.n && c.p[0] == '~' && m_xplain(c.p, c.n, j, rp->loose, &x) == c.n)) {
    sb_sv(out, c);
    return;
  }
  const char *z = rp->incpr ? "-0" : "";
  if (is_x(x.M)) return;
  sb_puts(out, ">=");
  sb_sv(out, x.M);
  if (is_x(x.m)) {
    sb_puts(out, ".0.0");
    sb_puts(out, z);
    sb_puts(out, " <");
    sb_incr(out, x.M);
    sb_puts(out, ".0.0-0");
    return;
  }
  sb_putc(out, '.');
  sb_sv(out, x.m);
  if (is_x(x.p)) {
    sb_puts(out, ".0");
    sb_puts(out, z);
  } else {
    sb_putc(out, '.');
    sb_sv(out, x.p);
    if (x.pre.p) {
      sb_putc(out, '-');
      sb_sv(out, x.pre);
    }
  }
  sb_puts(out, " <");
  sb_sv(out, x.M);
  sb_putc(out, '.');
  sb_incr(out, x.m);
  sb_puts(out, ".0-0");
}

/* A component of an x-range being rewritten: the captured text, 0, or captured text + 1. */
typedef struct xcomp {
  int kind; /* 0 text, 1 zero, 2 text + 1 */
  sv s;
} xcomp;

static void sb_xcomp(sb *b, xcomp c) {
  if (c.kind == 1)
    sb_putc(b, '0');
  else if (c.kind == 2)
    sb_incr(b, c.s);
  else
    sb_sv(b, c.s);
}

/* Appends node-semver's replaceXRange(comp). */
static void rw_xrange(rparser *rp, sv c, sb *out) {
  c = sv_trim(c);
  vcaps x;
  sv gtlt;
  size_t j = m_gtlt(c.p, c.n, 0, &gtlt);
  if (j < c.n && is_ws(c.p[j])) j++;
  if (m_xplain(c.p, c.n, j, rp->loose, &x) != c.n) {
    sb_sv(out, c);
    return;
  }
  /* "1.x.5" and "x.1" are not x-ranges: left as they are (and rejected later) */
  if ((is_x(x.M) && !is_x(x.m)) || (is_x(x.m) && x.p.p && !is_x(x.p))) {
    sb_sv(out, c);
    return;
  }
  int xM = is_x(x.M), xm = xM || is_x(x.m), xp = xm || is_x(x.p), anyx = xp;
  char opbuf[3] = {0};
  memcpy(opbuf, gtlt.p, gtlt.n);
  const char *op = opbuf;
  if (!strcmp(op, "=") && anyx) op = "";
  const char *pr = rp->incpr ? "-0" : "";
  if (xM) {
    sb_puts(out, (!strcmp(op, ">") || !strcmp(op, "<")) ? "<0.0.0-0" : "*");
  } else if (*op && anyx) {
    xcomp M = {0, x.M}, m = {0, x.m}, p = {1, SV_NONE};
    if (xm) m.kind = 1;
    if (!strcmp(op, ">")) {
      op = ">=";
      if (xm) {
        M.kind = 2;
        m.kind = 1;
      } else {
        m.kind = 2;
      }
    } else if (!strcmp(op, "<=")) {
      op = "<";
      if (xm)
        M.kind = 2;
      else
        m.kind = 2;
    }
    if (!strcmp(op, "<")) pr = "-0";
    sb_puts(out, op);
    sb_xcomp(out, M);
    sb_putc(out, '.');
    sb_xcomp(out, m);
    sb_putc(out, '.');
    sb_xcomp(out, p);
    sb_puts(out, pr);
  } else if (xm) {
    sb_puts(out, ">=");
    sb_sv(out, x.M);
    sb_puts(out, ".0.0");
    sb_puts(out, pr);
    sb_puts(out, " <");
    sb_incr(out, x.M);
    sb_puts(out, ".0.0-0");
  } else if (xp) {
    sb_puts(out, ">=");
    sb_sv(out, x.M);
    sb_putc(out, '.');
    sb_sv(out, x.m);
    sb_puts(out, ".0");
    sb_puts(out, pr);
    sb_puts(out, " <");
    sb_sv(out, x.M);
    sb_putc(out, '.');
    sb_incr(out, x.m);
    sb_puts(out, ".0-0");
  } else {
    sb_sv(out, c);
  }
}

/* Runs a rewrite over the whitespace-separated pieces of s, joining results with ' '. */
typedef struct mapctx {
  rparser *rp;
  void (*fn)(rparser *, sv, sb *);
  sb *out;
  int first;
} mapctx;

static int map_piece(sv piece, void *ud) {
  mapctx *m = ud;
  if (!m->first) sb_putc(m->out, ' ');
  m->first = 0;
  m->fn(m->rp, piece, m->out);
  return m->out->err;
}

static void map_ws(rparser *rp, sv s, int trim_first, void (*fn)(rparser *, sv, sb *), sb *out) {
  mapctx m = {rp, fn, out, 1};
  if (trim_first) s = sv_trim(s);
  split_each(s, 1, map_piece, &m);
}

/* Removes the first `(<|>)?=?\s?\*` (node-semver replaceStars). */
static void rw_stars(sv c, sb *out) {
  c = sv_trim(c);
  for (size_t i = 0; i < c.n; i++) {
    size_t j = i;
    if (j < c.n && (c.p[j] == '<' || c.p[j] == '>')) j++;
    if (j < c.n && c.p[j] == '=') j++;
    if (j < c.n && is_ws(c.p[j])) j++;
    if (j < c.n && c.p[j] == '*') {
      sb_putn(out, c.p, i);
      sb_putn(out, c.p + j + 1, c.n - j - 1);
      return;
    }
  }
  sb_sv(out, c);
}

/* parseComparator for one space-separated token: carets, tildes, x-ranges, stars. */
static int token_piece(sv tok, void *ud) {
  rparser *rp = ud;
  for (int k = 0; k < 4; k++) sb_reset(&rp->tmp[k]);
  map_ws(rp, tok, 1, rw_caret, &rp->tmp[0]);
  map_ws(rp, sv_make(rp->tmp[0].p ? rp->tmp[0].p : "", rp->tmp[0].len), 1, rw_tilde, &rp->tmp[1]);
  map_ws(rp, sv_make(rp->tmp[1].p ? rp->tmp[1].p : "", rp->tmp[1].len), 0, rw_xrange, &rp->tmp[2]);
  rw_stars(sv_make(rp->tmp[2].p ? rp->tmp[2].p : "", rp->tmp[2].len), &rp->tmp[3]);
  for (int k = 0; k < 4; k++)
    if (rp->tmp[k].err) return rp->tmp[k].err;
  if (rp->joined.len || rp->joined.err) sb_putc(&rp->joined, ' ');
  sb_putn(&rp->joined, rp->tmp[3].p ? rp->tmp[3].p : "", rp->tmp[3].len);
  return rp->joined.err;
}

/* Parses a Comparator (`^GTLT\s?PLAIN$|^$`). */
static int parse_comparator(sv t, int loose, comp *out, const gg_mem *mem) {
  t = sv_trim(t);
  memset(out, 0, sizeof *out);
  out->v.pre = out->v.build = "";
  if (t.n == 0) {
    out->any = 1;
    out->op = OP_EQ;
    return GG_OK;
  }
  sv op;
  size_t j = m_gtlt(t.p, t.n, 0, &op);
  if (j < t.n && is_ws(t.p[j])) j++;
  vcaps c;
  if (m_plain(t.p, t.n, j, loose, &c) != t.n) return GG_EPARSE;
  if (sv_eq(op, "<"))
    out->op = OP_LT;
  else if (sv_eq(op, "<="))
    out->op = OP_LE;
  else if (sv_eq(op, ">"))
    out->op = OP_GT;
  else if (sv_eq(op, ">="))
    out->op = OP_GE;
  else
    out->op = OP_EQ; /* "" and "=" */
  return ggm_semver_parse(&out->v, t.p + j, t.n - j, loose ? GGM_SEMVER_LOOSE : 0, mem);
}

/* One piece of the final comparator list: ">=0.0.0" dropped, loose filter, parse, add. */
static int comparator_piece(sv tok, void *ud) {
  rparser *rp = ud;
  sv t = sv_trim(tok);
  /* replaceGTE0: `^\s?>=\s?0\.0\.0(-0)?\s?$` */
  {
    const char *want = rp->incpr ? "0.0.0-0" : "0.0.0";
    size_t wl = strlen(want);
    if (t.n >= 2 && t.p[0] == '>' && t.p[1] == '=') {
      size_t k = 2;
      if (k < t.n && is_ws(t.p[k])) k++;
      if (t.n - k == wl && !memcmp(t.p + k, want, wl)) t.n = 0;
    }
  }
  comp c;
  int rc = parse_comparator(t, rp->loose, &c, rp->mem);
  if (rc == GG_EPARSE && rp->loose) return GG_OK; /* loose mode drops invalid comparators */
  if (rc) return rc;
  if (rp->total >= GGM_SEMVER_RANGE_MAX_COMPARATORS) {
    comp_free(&c);
    return GG_ELIMIT;
  }
  if (rp->nset == rp->capset) {
    size_t nc = rp->capset ? rp->capset * 2 : 8;
    comp *q = gg_realloc(rp->mem, rp->set, nc * sizeof *q);
    if (!q) {
      comp_free(&c);
      return GG_ENOMEM;
    }
    rp->set = q;
    rp->capset = nc;
  }
  rp->set[rp->nset++] = c;
  rp->total++;
  return GG_OK;
}

static void set_clear(rparser *rp) {
  for (size_t i = 0; i < rp->nset; i++) comp_free(&rp->set[i]);
  rp->nset = 0;
}

/* Parses one ||-alternative into rp->set (possibly empty in loose mode). */
static int parse_alternative(rparser *rp, sv part) {
  sb a, h, c, t, k;
  sb_init(&a, rp->mem);
  sb_init(&h, rp->mem);
  sb_init(&c, rp->mem);
  sb_init(&t, rp->mem);
  sb_init(&k, rp->mem);
  int rc = GG_OK;
#define SBV(x) sv_make((x).p ? (x).p : "", (x).len)
  st_strip_builds(part, &a);
  if (!a.err) st_hyphen(rp, SBV(a), &h);
  if (!h.err) st_comparator_trim(SBV(h), &c);
  if (!c.err) st_op_trim(SBV(c), '~', &t);
  if (!t.err) st_op_trim(SBV(t), '^', &k);
  rc = a.err ? a.err : h.err ? h.err : c.err ? c.err : t.err ? t.err : k.err;
  sb_reset(&rp->joined);
  if (!rc) rc = split_each(SBV(k), 0, token_piece, rp);
  if (!rc) rc = rp->joined.err;
  if (!rc) rc = split_each(SBV(rp->joined), 1, comparator_piece, rp);
#undef SBV
  sb_free(&a);
  sb_free(&h);
  sb_free(&c);
  sb_free(&t);
  sb_free(&k);
  if (rc) return rc;
  /* a null comparator makes the whole set null; otherwise drop duplicates and the "any"
   * comparator when others are present */
  for (size_t i = 0; i < rp->nset; i++)
    if (comp_is_null(&rp->set[i])) {
      comp keep = rp->set[i];
      rp->set[i] = rp->set[--rp->nset];
      set_clear(rp);
      rp->set[0] = keep;
      rp->nset = 1;
      return GG_OK;
    }
  size_t w = 0;
  for (size_t i = 0; i < rp->nset; i++) {
    int dup = 0;
    for (size_t j = 0; j < w && !dup; j++) dup = comp_same_value(&rp->set[j], &rp->set[i]);
    if (dup)
      comp_free(&rp->set[i]);
    else
      rp->set[w++] = rp->set[i];
  }
  rp->nset = w;
  if (rp->nset > 1) {
    w = 0;
    for (size_t i = 0; i < rp->nset; i++) {
      if (rp->set[i].any)
        comp_free(&rp->set[i]);
      else
        rp->set[w++] = rp->set[i];
    }
    rp->nset = w;
  }
  return GG_OK;
}

void ggm_semver_range_free(ggm_semver_range *r) {
  if (!r) return;
  for (size_t i = 0; i < r->ncomps; i++) comp_free(&r->comps[i]);
  gg_free(r->mem, r->comps);
  gg_free(r->mem, r->sets);
  gg_free(r->mem, r->raw);
  gg_free(r->mem, r);
}

/* Appends rp->set to r as a new alternative (ownership of the comparators moves). */
static int range_push_set(ggm_semver_range *r, rparser *rp, size_t *capcomps, size_t *capsets) {
  if (r->ncomps + rp->nset > *capcomps) {
    size_t nc = *capcomps ? *capcomps : 4;
    while (nc < r->ncomps + rp->nset) nc *= 2;
    comp *q = gg_realloc(r->mem, r->comps, nc * sizeof *q);
    if (!q) return GG_ENOMEM;
    r->comps = q;
    *capcomps = nc;
  }
  if (r->nsets + 2 > *capsets) {
    size_t nc = *capsets ? *capsets * 2 : 4;
    size_t *q = gg_realloc(r->mem, r->sets, nc * sizeof *q);
    if (!q) return GG_ENOMEM;
    r->sets = q;
    *capsets = nc;
  }
  if (r->nsets == 0) r->sets[0] = 0;
  memcpy(r->comps + r->ncomps, rp->set, rp->nset * sizeof *rp->set);
  r->ncomps += rp->nset;
  r->sets[++r->nsets] = r->ncomps;
  rp->nset = 0;
  return GG_OK;
}

/* Removes alternative i from r (freeing its comparators). */
static void range_drop_set(ggm_semver_range *r, size_t i) {
  size_t a = r->sets[i], b = r->sets[i + 1], n = b - a;
  for (size_t k = a; k < b; k++) comp_free(&r->comps[k]);
  memmove(r->comps + a, r->comps + b, (r->ncomps - b) * sizeof *r->comps);
  r->ncomps -= n;
  for (size_t k = i + 1; k < r->nsets; k++) r->sets[k] = r->sets[k + 1] - n;
  r->nsets--;
}

int ggm_semver_range_parse(ggm_semver_range **out, const char *s, size_t len, unsigned flags,
                           const gg_mem *mem) {
  if (!out || (!s && len)) return GG_EINVAL;
  if (len > GGM_SEMVER_RANGE_MAX_LEN) return GG_ELIMIT;
  ggm_semver_range *r = gg_calloc(mem, 1, sizeof *r);
  if (!r) return GG_ENOMEM;
  r->mem = mem;
  r->flags = flags & (GGM_SEMVER_LOOSE | GGM_SEMVER_INCLUDE_PRERELEASE);
  r->raw = gg_strndup(mem, s ? s : "", len);
  rparser rp;
  memset(&rp, 0, sizeof rp);
  rp.mem = mem;
  rp.loose = !!(flags & GGM_SEMVER_LOOSE);
  rp.incpr = !!(flags & GGM_SEMVER_INCLUDE_PRERELEASE);
  for (int k = 0; k < 4; k++) sb_init(&rp.tmp[k], mem);
  sb_init(&rp.joined, mem);
  size_t capcomps = 0, capsets = 0;
  sb raw;
  sb_init(&raw, mem);
  int rc = r->raw ? GG_OK : GG_ENOMEM;

  /* raw = range.trim().replace(/\s+/g, ' ') */
  sv t = sv_trim(sv_make(s ? s : "", len));
  for (size_t i = 0; i < t.n && !rc; i++) {
    if (is_ws(t.p[i])) {
      while (i + 1 < t.n && is_ws(t.p[i + 1])) i++;
      sb_putc(&raw, ' ');
    } else {
      sb_putc(&raw, t.p[i]);
    }
  }
  if (!rc) rc = raw.err;
  /* split on "||"; each alternative trimmed and parsed; empty ones (loose) dropped */
  size_t i = 0;
  const char *rs = raw.p ? raw.p : "";
  while (!rc) {
    const char *bar = strstr(rs + i, "||");
    size_t end = bar ? (size_t)(bar - rs) : raw.len;
    rc = parse_alternative(&rp, sv_trim(sv_make(rs + i, end - i)));
    if (!rc && rp.nset) rc = range_push_set(r, &rp, &capcomps, &capsets);
    if (!bar) break;
    i = end + 2;
  }
  if (!rc && r->nsets == 0) rc = GG_EPARSE;
  if (!rc && r->nsets > 1) {
    /* drop null sets unless all are null (then keep the first) */
    size_t nonnull = 0;
    for (size_t k = 0; k < r->nsets; k++) nonnull += !comp_is_null(&r->comps[r->sets[k]]);
    if (nonnull == 0) {
      while (r->nsets > 1) range_drop_set(r, 1);
    } else {
      for (size_t k = r->nsets; k-- > 0;)
        if (comp_is_null(&r->comps[r->sets[k]])) range_drop_set(r, k);
    }
    /* an "any" alternative makes the whole range "any" */
    if (r->nsets > 1) {
      for (size_t k = 0; k < r->nsets; k++) {
        if (r->sets[k + 1] - r->sets[k] == 1 && r->comps[r->sets[k]].any) {
          for (size_t d = r->nsets; d-- > k + 1;) range_drop_set(r, d);
          for (size_t d = k; d-- > 0;) range_drop_set(r, d);
          break;
        }
      }
    }
  }
  set_clear(&rp);
  gg_free(mem, rp.set);
  for (int k = 0; k < 4; k++) sb_free(&rp.tmp[k]);
  sb_free(&rp.joined);
  sb_free(&raw);
  if (rc) {
    ggm_semver_range_free(r);
    return rc;
  }
  *out = r;
  return GG_OK;
}

unsigned ggm_semver_range_flags(const ggm_semver_range *r) { return r->flags; }

size_t ggm_semver_range_nsets(const ggm_semver_range *r) { return r->nsets; }

int ggm_semver_range_mentions_prerelease(const ggm_semver_range *r) {
  for (size_t i = 0; i < r->ncomps; i++)
    if (!r->comps[i].any && r->comps[i].v.pre[0] && strcmp(r->comps[i].v.pre, "0")) return 1;
  return 0;
}

const ggm_semver *ggm_semver_range_exact(const ggm_semver_range *r) {
  if (r->nsets != 1 || r->ncomps != 1 || r->comps[0].any || r->comps[0].op != OP_EQ) return NULL;
  return &r->comps[0].v;
}

int ggm_semver_range_format(const ggm_semver_range *r, gg_buf *out) {
  sb b;
  sb_init(&b, NULL);
  for (size_t i = 0; i < r->nsets; i++) {
    if (i) sb_puts(&b, "||");
    for (size_t k = r->sets[i]; k < r->sets[i + 1]; k++) {
      if (k > r->sets[i]) sb_putc(&b, ' ');
      sb_comp(&b, &r->comps[k]);
    }
  }
  int rc = b.err ? b.err : gg_buf_append(out, b.p ? b.p : "", b.len);
  sb_free(&b);
  return rc;
}

/* ================================================================================
 * Ranges: matching
 * ================================================================================ */

static int cmp_op(const ggm_semver *a, int op, const ggm_semver *b) {
  int r = ggm_semver_cmp(a, b);
  switch (op) {
  case OP_LT: return r < 0;
  case OP_LE: return r <= 0;
  case OP_GT: return r > 0;
  case OP_GE: return r >= 0;
  default: return r == 0;
  }
}

static int comp_test(const comp *c, const ggm_semver *v) {
  return c->any ? 1 : cmp_op(v, c->op, &c->v);
}

/* node-semver testSet: all comparators hold and, for a prerelease version without
 * includePrerelease, some comparator names a prerelease of the same MAJOR.MINOR.PATCH. */
static int set_test(const comp *cs, size_t n, const ggm_semver *v, int incpr) {
  for (size_t i = 0; i < n; i++)
    if (!comp_test(&cs[i], v)) return 0;
  if (v->pre[0] && !incpr) {
    for (size_t i = 0; i < n; i++) {
      if (cs[i].any) continue;
      if (cs[i].v.pre[0] && cmp_main(&cs[i].v, v) == 0) return 1;
    }
    return 0;
  }
  return 1;
}

int ggm_semver_range_test(const ggm_semver_range *r, const ggm_semver *v) {
  int incpr = !!(r->flags & GGM_SEMVER_INCLUDE_PRERELEASE);
  for (size_t i = 0; i < r->nsets; i++)
    if (set_test(r->comps + r->sets[i], r->sets[i + 1] - r->sets[i], v, incpr)) return 1;
  return 0;
}

int ggm_semver_satisfies(const char *version, const char *range, unsigned flags) {
  ggm_semver v;
  ggm_semver_range *r;
  if (!version || !range) return 0;
  if (ggm_semver_parse(&v, version, strlen(version), flags, NULL)) return 0;
  if (ggm_semver_range_parse(&r, range, strlen(range), flags, NULL)) {
    ggm_semver_free(&v);
    return 0;
  }
  int ok = ggm_semver_range_test(r, &v);
  ggm_semver_range_free(r);
  ggm_semver_free(&v);
  return ok;
}

long ggm_semver_max_satisfying(const ggm_semver *vs, size_t n, const ggm_semver_range *r) {
  long best = -1;
  for (size_t i = 0; i < n; i++)
    if (ggm_semver_range_test(r, &vs[i]) && (best < 0 || ggm_semver_cmp(&vs[best], &vs[i]) < 0))
      best = (long)i;
  return best;
}

long ggm_semver_min_satisfying(const ggm_semver *vs, size_t n, const ggm_semver_range *r) {
  long best = -1;
  for (size_t i = 0; i < n; i++)
    if (ggm_semver_range_test(r, &vs[i]) && (best < 0 || ggm_semver_cmp(&vs[best], &vs[i]) > 0))
      best = (long)i;
  return best;
}

/* new Range(c.value, flags).test(v): node-semver re-parses a comparator's printed value in
 * Comparator.intersects and subset; the re-parse can differ from the comparator itself
 * (">=0.0.0" becomes "any", and Range.test applies the prerelease rule). */
static int value_range_test(const comp *c, unsigned flags, const ggm_semver *v, const gg_mem *mem) {
  sb b;
  sb_init(&b, mem);
  sb_comp(&b, c);
  if (b.err) return b.err;
  ggm_semver_range *r;
  int rc = ggm_semver_range_parse(&r, b.p ? b.p : "", b.len, flags, mem);
  sb_free(&b);
  if (rc == GG_EPARSE) return 0;
  if (rc) return rc;
  rc = ggm_semver_range_test(r, v);
  ggm_semver_range_free(r);
  return rc;
}

static int is_gt(int op) { return op == OP_GT || op == OP_GE; }
static int is_lt(int op) { return op == OP_LT || op == OP_LE; }

/* Comparator.prototype.intersects(b, options) with a as `this`. 1, 0 or GG_ENOMEM. */
static int comp_intersects(const comp *a, const comp *b, unsigned flags, const gg_mem *mem) {
  int incpr = !!(flags & GGM_SEMVER_INCLUDE_PRERELEASE);
  if (a->op == OP_EQ) {
    if (a->any) return 1;
    return value_range_test(b, flags, &a->v, mem);
  }
  if (b->op == OP_EQ) {
    if (b->any) return 1;
    return value_range_test(a, flags, &b->v, mem);
  }
  /* nothing can be below "<0.0.0-0" (nor, for releases only, below "<0.0.0") */
  if (incpr && (comp_is_null(a) || comp_is_null(b))) return 0;
  if (!incpr) {
    ggm_semver zero = {0};
    zero.pre = zero.build = "";
    if ((a->op == OP_LT && cmp_main(&a->v, &zero) == 0) ||
        (b->op == OP_LT && cmp_main(&b->v, &zero) == 0))
      return 0;
  }
  if (is_gt(a->op) && is_gt(b->op)) return 1;
  if (is_lt(a->op) && is_lt(b->op)) return 1;
  if (cmp_main(&a->v, &b->v) == 0 && !strcmp(a->v.pre, b->v.pre) &&
      (a->op == OP_LE || a->op == OP_GE) && (b->op == OP_LE || b->op == OP_GE))
    return 1;
  if (ggm_semver_cmp(&a->v, &b->v) < 0 && is_gt(a->op) && is_lt(b->op)) return 1;
  if (ggm_semver_cmp(&a->v, &b->v) > 0 && is_lt(a->op) && is_gt(b->op)) return 1;
  return 0;
}

/* node-semver isSatisfiable: every pair of comparators in the set intersects. */
static int set_satisfiable(const comp *cs, size_t n, unsigned flags, const gg_mem *mem) {
  for (size_t j = n; j-- > 1;)
    for (size_t i = 0; i < j; i++) {
      int rc = comp_intersects(&cs[j], &cs[i], flags, mem);
      if (rc != 1) return rc;
    }
  return 1;
}

int ggm_semver_range_intersects(const ggm_semver_range *a, const ggm_semver_range *b) {
  unsigned flags = a->flags;
  for (size_t i = 0; i < a->nsets; i++) {
    const comp *as = a->comps + a->sets[i];
    size_t an = a->sets[i + 1] - a->sets[i];
    int rc = set_satisfiable(as, an, flags, a->mem);
    if (rc < 0) return rc;
    if (!rc) continue;
    for (size_t j = 0; j < b->nsets; j++) {
      const comp *bs = b->comps + b->sets[j];
      size_t bn = b->sets[j + 1] - b->sets[j];
      rc = set_satisfiable(bs, bn, flags, a->mem);
      if (rc < 0) return rc;
      if (!rc) continue;
      int all = 1;
      for (size_t x = 0; x < an && all; x++)
        for (size_t y = 0; y < bn && all; y++) {
          rc = comp_intersects(&as[x], &bs[y], flags, a->mem);
          if (rc < 0) return rc;
          all = rc;
        }
      if (all) return 1;
    }
  }
  return 0;
}

int ggm_semver_comparator_intersects(const char *c0, size_t l0, const char *c1, size_t l1,
                                     unsigned flags, int *result, const gg_mem *mem) {
  comp a, b;
  int loose = !!(flags & GGM_SEMVER_LOOSE);
  int rc = parse_comparator(sv_make(c0 ? c0 : "", l0), loose, &a, mem);
  if (rc) return rc;
  rc = parse_comparator(sv_make(c1 ? c1 : "", l1), loose, &b, mem);
  if (rc) {
    comp_free(&a);
    return rc;
  }
  rc = comp_intersects(&a, &b, flags, mem);
  comp_free(&a);
  comp_free(&b);
  if (rc < 0) return rc;
  *result = rc;
  return GG_OK;
}

/* ---- minVersion ---------------------------------------------------------------------- */

int ggm_semver_range_min_version(const ggm_semver_range *r, ggm_semver *out, const gg_mem *mem) {
  ggm_semver z = {0};
  z.pre = z.build = "";
  if (ggm_semver_range_test(r, &z)) return ggm_semver_copy(out, &z, mem);
  z.pre = "0";
  if (ggm_semver_range_test(r, &z)) return ggm_semver_copy(out, &z, mem);
  ggm_semver minver = {0};
  int have = 0, rc = GG_OK;
  sb pre;
  sb_init(&pre, mem);
  for (size_t i = 0; i < r->nsets && !rc; i++) {
    ggm_semver setmin = {0};
    int have_set = 0;
    for (size_t k = r->sets[i]; k < r->sets[i + 1] && !rc; k++) {
      const comp *c = &r->comps[k];
      if (c->any || is_lt(c->op)) continue;
      ggm_semver cv;
      if (c->op == OP_GT) {
        uint64_t p = c->v.patch;
        sb_reset(&pre);
        if (!c->v.pre[0]) {
          p++;
        } else {
          sb_puts(&pre, c->v.pre);
          sb_puts(&pre, ".0");
        }
        if (pre.err) {
          rc = pre.err;
          break;
        }
        rc = sv_build_version(&cv, c->v.major, c->v.minor, p, sv_make(pre.p ? pre.p : "", pre.len),
                              SV_NONE, mem);
      } else {
        rc = ggm_semver_copy(&cv, &c->v, mem);
      }
      if (rc) break;
      if (!have_set || ggm_semver_cmp(&cv, &setmin) > 0) {
        ggm_semver_free(&setmin);
        setmin = cv;
        have_set = 1;
      } else {
        ggm_semver_free(&cv);
      }
    }
    if (!rc && have_set && (!have || ggm_semver_cmp(&minver, &setmin) > 0)) {
      ggm_semver_free(&minver);
      minver = setmin;
      have = 1;
    } else {
      ggm_semver_free(&setmin);
    }
  }
  sb_free(&pre);
  if (!rc && have && ggm_semver_range_test(r, &minver)) {
    *out = minver;
    return GG_OK;
  }
  if (have) ggm_semver_free(&minver);
  return rc ? rc : GG_ENOTFOUND;
}

/* ---- outside (gtr / ltr) ------------------------------------------------------------- */

int ggm_semver_range_outside(const ggm_semver_range *r, const ggm_semver *v, char hilo) {
  if (hilo != '>' && hilo != '<') return GG_EINVAL;
  int up = hilo == '>';
  int cop = up ? OP_GT : OP_LT, ecop = up ? OP_GE : OP_LE;
  if (ggm_semver_range_test(r, v)) return 0;
  comp gte0;
  memset(&gte0, 0, sizeof gte0);
  gte0.op = OP_GE;
  gte0.v.pre = gte0.v.build = "";
  for (size_t i = 0; i < r->nsets; i++) {
    const comp *high = NULL, *low = NULL;
    for (size_t k = r->sets[i]; k < r->sets[i + 1]; k++) {
      const comp *c = r->comps[k].any ? &gte0 : &r->comps[k];
      if (!high) high = c;
      if (!low) low = c;
      int gh = ggm_semver_cmp(&c->v, &high->v), gl = ggm_semver_cmp(&c->v, &low->v);
      if (up ? gh > 0 : gh < 0)
        high = c;
      else if (up ? gl < 0 : gl > 0)
        low = c;
    }
    if (high->op == cop || high->op == ecop) return 0;
    int vl = ggm_semver_cmp(v, &low->v);
    if ((low->op == OP_EQ || low->op == cop) && (up ? vl <= 0 : vl >= 0)) return 0;
    if (low->op == ecop && (up ? vl < 0 : vl > 0)) return 0;
  }
  return 1;
}

/* ---- subset ---------------------------------------------------------------------------- */

static const comp *higher_gt(const comp *a, const comp *b) {
  if (!a) return b;
  int c = ggm_semver_cmp(&a->v, &b->v);
  return c > 0 ? a : c < 0 ? b : (b->op == OP_GT && a->op == OP_GE) ? b : a;
}

static const comp *lower_lt(const comp *a, const comp *b) {
  if (!a) return b;
  int c = ggm_semver_cmp(&a->v, &b->v);
  return c < 0 ? a : c > 0 ? b : (b->op == OP_LT && a->op == OP_LE) ? b : a;
}

/* node-semver simpleSubset: 1 true, 0 false, -1 null (the sub set is empty); or GG_ENOMEM
 * (as a value below -1). */
static int simple_subset(const comp *sub, size_t sn, const comp *dom, size_t dn, unsigned flags,
                         const gg_mem *mem) {
  int incpr = !!(flags & GGM_SEMVER_INCLUDE_PRERELEASE);
  comp minv; /* ">=0.0.0" or ">=0.0.0-0" */
  memset(&minv, 0, sizeof minv);
  minv.op = OP_GE;
  minv.v.pre = minv.v.build = "";
  comp minrel = minv;
  if (sn == 1 && sub[0].any) {
    if (dn == 1 && dom[0].any) return 1;
    if (incpr) minv.v.pre = "0";
    sub = &minv;
    sn = 1;
  }
  if (dn == 1 && dom[0].any) {
    if (incpr) return 1;
    dom = &minrel;
    dn = 1;
  }
  const comp *gt = NULL, *lt = NULL, *eq = NULL;
  size_t neq = 0;
  for (size_t i = 0; i < sn; i++) {
    const comp *c = &sub[i];
    if (is_gt(c->op))
      gt = higher_gt(gt, c);
    else if (is_lt(c->op))
      lt = lower_lt(lt, c);
    else {
      if (!eq) eq = c;
      neq++;
    }
  }
  if (neq > 1) return -1;
  int gtlt = 1; /* anything but 0 when not both present */
  if (gt && lt) {
    gtlt = ggm_semver_cmp(&gt->v, &lt->v);
    if (gtlt > 0) return -1;
    if (gtlt == 0 && (gt->op != OP_GE || lt->op != OP_LE)) return -1;
  }
  if (eq) {
    int rc;
    if (gt && (rc = value_range_test(gt, flags, &eq->v, mem)) != 1) return rc < 0 ? rc - 1000 : -1;
    if (lt && (rc = value_range_test(lt, flags, &eq->v, mem)) != 1) return rc < 0 ? rc - 1000 : -1;
    for (size_t i = 0; i < dn; i++)
      if ((rc = value_range_test(&dom[i], flags, &eq->v, mem)) != 1) return rc < 0 ? rc - 1000 : 0;
    return 1;
  }
  const comp *higher, *lower;
  int has_dom_lt = 0, has_dom_gt = 0;
  const ggm_semver *need_lt_pre = (lt && !incpr && lt->v.pre[0]) ? &lt->v : NULL;
  const ggm_semver *need_gt_pre = (gt && !incpr && gt->v.pre[0]) ? &gt->v : NULL;
  if (need_lt_pre && lt->op == OP_LT && !strcmp(need_lt_pre->pre, "0")) need_lt_pre = NULL;
  for (size_t i = 0; i < dn; i++) {
    const comp *c = &dom[i];
    has_dom_gt = has_dom_gt || is_gt(c->op);
    has_dom_lt = has_dom_lt || is_lt(c->op);
    if (gt) {
      if (need_gt_pre && !c->any && c->v.pre[0] && cmp_main(&c->v, need_gt_pre) == 0)
        need_gt_pre = NULL;
      if (is_gt(c->op)) {
        higher = higher_gt(gt, c);
        if (higher == c && higher != gt) return 0;
      } else if (gt->op == OP_GE && !comp_test(c, &gt->v)) {
        return 0;
      }
    }
    if (lt) {
      if (need_lt_pre && !c->any && c->v.pre[0] && cmp_main(&c->v, need_lt_pre) == 0)
        need_lt_pre = NULL;
      if (is_lt(c->op)) {
        lower = lower_lt(lt, c);
        if (lower == c && lower != lt) return 0;
      } else if (lt->op == OP_LE && !comp_test(c, &lt->v)) {
        return 0;
      }
    }
    if (c->op == OP_EQ && (lt || gt) && gtlt != 0) return 0;
  }
  if (gt && has_dom_lt && !lt && gtlt != 0) return 0;
  if (lt && has_dom_gt && !gt && gtlt != 0) return 0;
  if (need_gt_pre || need_lt_pre) return 0;
  return 1;
}

int ggm_semver_range_subset(const ggm_semver_range *sub, const ggm_semver_range *dom) {
  if (!strcmp(sub->raw, dom->raw)) return 1;
  int saw_non_null = 0;
  for (size_t i = 0; i < sub->nsets; i++) {
    int found = 0;
    for (size_t j = 0; j < dom->nsets && !found; j++) {
      int rc = simple_subset(sub->comps + sub->sets[i], sub->sets[i + 1] - sub->sets[i],
                             dom->comps + dom->sets[j], dom->sets[j + 1] - dom->sets[j], sub->flags,
                             sub->mem);
      if (rc < -1) return rc + 1000;
      saw_non_null = saw_non_null || rc != -1;
      if (rc == 1) found = 1;
    }
    if (!found && saw_non_null) return 0;
  }
  return 1;
}
