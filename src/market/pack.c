/*
 * Deterministic package archives: directory -> ustar (libarchive) -> one zstd frame (libzstd),
 * and the CID of the result (docs/pack.md, include/ggen/pack.h).
 *
 * Determinism comes from three rules: (1) the directory is walked completely first and the
 * entries are sorted bytewise by relative path, so readdir order never matters; (2) every
 * header field that could carry local state is fixed (mtime GGM_PACK_MTIME, uid/gid 0, no
 * user/group names, mode 0644 or 0755, no device numbers, no pax/GNU extensions: plain ustar
 * whose names are written as raw bytes, independent of the locale); (3) the zstd frame has
 * fixed parameters (level, checksum on, content size off, no dictionary, single thread) and
 * libarchive hands it whole 10240-byte blocks, so the compressor always sees the same input
 * sequence.
 *
 * Invariants: nothing is emitted before the walk has succeeded (a refused tree writes no
 * byte); every emitted byte goes through emit(), which hashes and counts it.
 */
#include "ggen/pack.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "ggen/buf.h"
#include "ggen/cid.h"
#include "ggen/err.h"
#include "ggen/multibase.h"

#define IGNORE_FILE ".ggenignore"
#define IGNORE_MAX_BYTES 65536
#define IGNORE_MAX_RULES 1024
#define READ_CHUNK 65536

/* ---- limits and paths --------------------------------------------------------------- */

void ggm_pack_limits_resolve(const ggm_pack_limits *in, ggm_pack_limits *l) {
  ggm_pack_limits z = {0};
  if (in) z = *in;
  l->max_entries = z.max_entries ? z.max_entries : GGM_PACK_DEF_ENTRIES;
  l->max_total = z.max_total ? z.max_total : GGM_PACK_DEF_TOTAL;
  l->max_file = z.max_file ? z.max_file : GGM_PACK_DEF_FILE;
  l->max_path = z.max_path ? z.max_path : GGM_PACK_DEF_PATH;
  l->max_ratio = z.max_ratio ? z.max_ratio : GGM_PACK_DEF_RATIO;
}

/* Length of the UTF-8 sequence starting at s (at most n bytes), 0 when invalid: overlong
 * forms, surrogates and code points above U+10FFFF are refused (RFC 3629). */
static size_t utf8_seq(const unsigned char *s, size_t n) {
  unsigned c = s[0];
  if (c < 0x80) return 1;
  size_t k;
  unsigned cp;
  if (c >= 0xc2 && c <= 0xdf)
    k = 2, cp = c & 0x1f;
  else if (c >= 0xe0 && c <= 0xef)
    k = 3, cp = c & 0x0f;
  else if (c >= 0xf0 && c <= 0xf4)
    k = 4, cp = c & 0x07;
  else
    return 0;
  if (k > n) return 0;
  for (size_t i = 1; i < k; i++) {
    if ((s[i] & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (s[i] & 0x3f);
  }
  if ((k == 3 && cp < 0x800) || (k == 4 && (cp < 0x10000 || cp > 0x10ffff))) return 0;
  if (cp >= 0xd800 && cp <= 0xdfff) return 0;
  return k;
}

int ggm_pack_path_check(const char *path, size_t len, size_t max_path) {
  if (path == NULL || len == 0 || len > max_path) return GG_EUNSAFE;
  const unsigned char *s = (const unsigned char *)path;
  size_t comp = 0; /* start of the current component */
  for (size_t i = 0; i <= len; i++) {
    if (i == len || s[i] == '/') {
      size_t clen = i - comp;
      /* empty component: leading '/', "a//b" or a trailing '/' (callers strip the one a
       * directory entry may carry) */
      if (clen == 0) return GG_EUNSAFE;
      if (clen == 1 && s[comp] == '.') return GG_EUNSAFE;
      if (clen == 2 && s[comp] == '.' && s[comp + 1] == '.') return GG_EUNSAFE;
      comp = i + 1;
      continue;
    }
    unsigned c = s[i];
    if (c < 0x20 || c == 0x7f || c == '\\' || c == ':') return GG_EUNSAFE;
    if (c >= 0x80) {
      size_t k = utf8_seq(s + i, len - i);
      if (k == 0) return GG_EUNSAFE;
      i += k - 1;
    }
  }
  return GG_OK;
}

/* ---- CIDs ------------------------------------------------------------------------------- */

void ggm_pack_cid_from_digest(const uint8_t digest[32], uint8_t cid[GGM_CID_LEN]) {
  cid[0] = 0x01; /* CIDv1 */
  cid[1] = 0x55; /* raw */
  cid[2] = 0x12; /* sha2-256 */
  cid[3] = 0x20; /* 32 bytes */
  memcpy(cid + 4, digest, 32);
}

void ggm_pack_cid_of(const uint8_t *data, size_t len, uint8_t cid[GGM_CID_LEN]) {
  uint8_t d[32];
  crypto_hash_sha256(d, data, len);
  ggm_pack_cid_from_digest(d, cid);
}

static int cid_ok(const uint8_t *cid) {
  return cid[0] == 0x01 && cid[1] == 0x55 && cid[2] == 0x12 && cid[3] == 0x20;
}

int ggm_pack_cid_text(const uint8_t cid[GGM_CID_LEN], char out[GGM_CID_TEXT_MAX]) {
  if (!cid_ok(cid)) return GG_EINVAL;
  gg_buf b;
  gg_buf_init(&b, NULL, GGM_CID_TEXT_MAX - 1);
  int rv = gg_multibase_encode('b', cid, GGM_CID_LEN, &b);
  if (rv == GG_OK) {
    memcpy(out, gg_buf_ptr(&b), gg_buf_len(&b));
    out[gg_buf_len(&b)] = '\0';
  }
  gg_buf_free(&b);
  return rv;
}

int ggm_pack_cid_parse(const char *text, uint8_t cid[GGM_CID_LEN]) {
  if (text == NULL) return GG_EPARSE;
  gg_cid c;
  /* any text form of a CID (include/ggen/cid.h), then only CIDv1 raw sha2-256 is ours */
  if (gg_cid_parse(&c, text, strlen(text)) != GG_OK || c.len != GGM_CID_LEN || !cid_ok(c.b))
    return GG_EPARSE;
  memcpy(cid, c.b, GGM_CID_LEN);
  return GG_OK;
}

/* ---- the walk: collect, filter and sort the entries -------------------------------------- */

typedef struct entry {
  char *path; /* relative, no trailing '/' */
  int dir;
  int exec;
  uint64_t size;
} entry;

typedef struct rule {
  char *pat;
  int dir_only;
  int anchored; /* match the whole relative path, else the last component */
} rule;

typedef struct walker {
  const gg_mem *mem;
  ggm_pack_limits lim;
  const char *const *exclude;
  ggm_pack_result *res;
  entry *v;
  size_t n, cap;
  rule *rules;
  size_t nrules, rcap;
  uint64_t total;
} walker;

static int fail(ggm_pack_result *res, int rv, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(ggm_pack_result *res, int rv, const char *fmt, ...) {
  if (res && res->err[0] == '\0') {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->err, sizeof(res->err), fmt, ap);
    va_end(ap);
  }
  return rv;
}

static void rules_free(walker *w) {
  for (size_t i = 0; i < w->nrules; i++) gg_free(w->mem, w->rules[i].pat);
  gg_free(w->mem, w->rules);
  w->rules = NULL;
  w->nrules = w->rcap = 0;
}

/* Parses .ggenignore (docs/pack.md "Ignore rules"): gitignore-like globs without negation. */
static int rules_load(walker *w, int rootfd) {
  int fd = openat(rootfd, IGNORE_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return GG_OK;
    return fail(w->res, GG_EIO, "%s: %s", IGNORE_FILE, strerror(errno));
  }
  char *text = gg_malloc(w->mem, IGNORE_MAX_BYTES + 1);
  if (text == NULL) {
    close(fd);
    return GG_ENOMEM;
  }
  size_t len = 0;
  for (;;) {
    ssize_t k = read(fd, text + len, IGNORE_MAX_BYTES + 1 - len);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) {
      close(fd);
      gg_free(w->mem, text);
      return fail(w->res, GG_EIO, "%s: %s", IGNORE_FILE, strerror(errno));
    }
    if (k == 0) break;
    len += (size_t)k;
    if (len > IGNORE_MAX_BYTES) {
      close(fd);
      gg_free(w->mem, text);
      return fail(w->res, GG_EPARSE, "%s: larger than %d bytes", IGNORE_FILE, IGNORE_MAX_BYTES);
    }
  }
  close(fd);
  text[len] = '\0';
  int rv = GG_OK;
  size_t lineno = 0;
  for (char *line = text; line && rv == GG_OK;) {
    char *nl = strchr(line, '\n');
    if (nl) *nl = '\0';
    lineno++;
    size_t l = strlen(line);
    while (l > 0 && (line[l - 1] == '\r' || line[l - 1] == ' ' || line[l - 1] == '\t')) l--;
    line[l] = '\0';
    char *p = line;
    if (l > 0 && p[0] != '#') {
      if (p[0] == '!') {
        rv = fail(w->res, GG_EPARSE, "%s:%zu: negated patterns ('!') are not supported",
                  IGNORE_FILE, lineno);
        break;
      }
      rule r = {0};
      if (p[l - 1] == '/') {
        r.dir_only = 1;
        p[--l] = '\0';
      }
      if (p[0] == '/') {
        r.anchored = 1;
        p++;
        l--;
      }
      if (strchr(p, '/')) r.anchored = 1; /* gitignore: a '/' inside anchors the pattern */
      if (l == 0) goto next;
      if (w->nrules >= IGNORE_MAX_RULES) {
        rv = fail(w->res, GG_EPARSE, "%s: more than %d rules", IGNORE_FILE, IGNORE_MAX_RULES);
        break;
      }
      if (w->nrules == w->rcap) {
        size_t ncap = w->rcap ? w->rcap * 2 : 8;
        rule *nr = gg_realloc(w->mem, w->rules, ncap * sizeof(*nr));
        if (nr == NULL) {
          rv = GG_ENOMEM;
          break;
        }
        w->rules = nr;
        w->rcap = ncap;
      }
      r.pat = gg_strdup(w->mem, p);
      if (r.pat == NULL) {
        rv = GG_ENOMEM;
        break;
      }
      w->rules[w->nrules++] = r;
    }
  next:
    line = nl ? nl + 1 : NULL;
  }
  gg_free(w->mem, text);
  return rv;
}

static int ignored(const walker *w, const char *rel, const char *name, int depth, int isdir) {
  if (!strcmp(name, ".git") || !strcmp(name, ".hg") || !strcmp(name, ".svn")) return 1;
  if (isdir && !strcmp(name, "node_modules")) return 1;
  if (isdir && depth == 0 && (!strcmp(name, "target") || !strcmp(name, ".ggen"))) return 1;
  if (w->exclude)
    for (const char *const *e = w->exclude; *e; e++)
      if (!strcmp(*e, rel)) return 1;
  for (size_t i = 0; i < w->nrules; i++) {
    const rule *r = &w->rules[i];
    if (r->dir_only && !isdir) continue;
    if (r->anchored ? fnmatch(r->pat, rel, FNM_PATHNAME) == 0 : fnmatch(r->pat, name, 0) == 0)
      return 1;
  }
  return 0;
}

static int push(walker *w, char *path, int dir, int exec, uint64_t size) {
  if (w->n == w->cap) {
    size_t ncap = w->cap ? w->cap * 2 : 64;
    entry *nv = gg_realloc(w->mem, w->v, ncap * sizeof(*nv));
    if (nv == NULL) return GG_ENOMEM;
    w->v = nv;
    w->cap = ncap;
  }
  w->v[w->n++] = (entry){path, dir, exec, size};
  return GG_OK;
}

/* Walks directory dfd (relative path prefix, "" at the top). Takes ownership of dfd.
 * Recursion depth is bounded by max_path / 2 (every level adds at least "x/"). */
static int walk_dir(walker *w, int dfd, const char *prefix, int depth) {
  DIR *d = fdopendir(dfd);
  if (d == NULL) {
    close(dfd);
    return fail(w->res, GG_EIO, "%s: %s", *prefix ? prefix : ".", strerror(errno));
  }
  int rv = GG_OK;
  size_t plen = strlen(prefix);
  struct dirent *de;
  for (;;) {
    errno = 0;
    de = readdir(d);
    if (de == NULL) {
      if (errno != 0) rv = fail(w->res, GG_EIO, "%s: %s", *prefix ? prefix : ".", strerror(errno));
      break;
    }
    const char *name = de->d_name;
    if (!strcmp(name, ".") || !strcmp(name, "..")) continue;
    size_t nlen = strlen(name);
    size_t rlen = plen + (plen ? 1 : 0) + nlen;
    char *rel = gg_malloc(w->mem, rlen + 1);
    if (rel == NULL) {
      rv = GG_ENOMEM;
      break;
    }
    if (plen) {
      memcpy(rel, prefix, plen);
      rel[plen] = '/';
    }
    memcpy(rel + rlen - nlen, name, nlen + 1);
    struct stat st;
    if (fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
      rv = fail(w->res, GG_EIO, "%s: %s", rel, strerror(errno));
      gg_free(w->mem, rel);
      break;
    }
    int isdir = S_ISDIR(st.st_mode);
    if (ignored(w, rel, name, depth, isdir)) {
      gg_free(w->mem, rel);
      continue;
    }
    if (!isdir && !S_ISREG(st.st_mode)) {
      const char *what = S_ISLNK(st.st_mode)    ? "a symbolic link"
                         : S_ISFIFO(st.st_mode) ? "a fifo"
                         : S_ISSOCK(st.st_mode) ? "a socket"
                                                : "a device";
      rv = fail(w->res, GG_EUNSAFE, "%s: is %s (only files and directories can be packed)", rel,
                what);
      gg_free(w->mem, rel);
      break;
    }
    if (rlen > w->lim.max_path) {
      rv = fail(w->res, GG_ELIMIT, "%s: path longer than %u bytes", rel, w->lim.max_path);
      gg_free(w->mem, rel);
      break;
    }
    if (ggm_pack_path_check(rel, rlen, w->lim.max_path) != GG_OK) {
      rv = fail(w->res, GG_EUNSAFE,
                "%s: name not allowed in a package (control character, '\\', ':' or not UTF-8)",
                rel);
      gg_free(w->mem, rel);
      break;
    }
    if (w->n >= w->lim.max_entries) {
      rv = fail(w->res, GG_ELIMIT, "%s: more than %llu entries", rel,
                (unsigned long long)w->lim.max_entries);
      gg_free(w->mem, rel);
      break;
    }
    uint64_t size = isdir ? 0 : (uint64_t)st.st_size;
    if (size > w->lim.max_file) {
      rv = fail(w->res, GG_ELIMIT, "%s: file larger than %llu bytes", rel,
                (unsigned long long)w->lim.max_file);
      gg_free(w->mem, rel);
      break;
    }
    w->total += size;
    if (w->total > w->lim.max_total) {
      rv = fail(w->res, GG_ELIMIT, "%s: package content over %llu bytes", rel,
                (unsigned long long)w->lim.max_total);
      gg_free(w->mem, rel);
      break;
    }
    rv = push(w, rel, isdir, (st.st_mode & 0111) != 0, size);
    if (rv != GG_OK) {
      gg_free(w->mem, rel);
      break;
    }
    if (isdir) {
      int sub = openat(dirfd(d), name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub < 0) {
        rv = fail(w->res, GG_EIO, "%s: %s", rel, strerror(errno));
        break;
      }
      rv = walk_dir(w, sub, rel, depth + 1);
      if (rv != GG_OK) break;
    }
  }
  closedir(d);
  return rv;
}

static int entry_cmp(const void *a, const void *b) {
  return strcmp(((const entry *)a)->path, ((const entry *)b)->path);
}

/* ---- output: libarchive -> zstd -> hash, count, caller ------------------------------------ */

typedef struct out {
  ZSTD_CCtx *z;
  crypto_hash_sha256_state sha;
  ggm_pack_write_fn write;
  void *ud;
  uint64_t size;
  int rv; /* first error from the caller's write or zstd */
  uint8_t buf[1 << 16];
} out;

static int emit(out *o, const uint8_t *p, size_t n) {
  if (n == 0) return GG_OK;
  crypto_hash_sha256_update(&o->sha, p, n);
  o->size += n;
  return o->write(o->ud, p, n);
}

static int compress(out *o, const void *p, size_t n, ZSTD_EndDirective mode) {
  ZSTD_inBuffer in = {p, n, 0};
  for (;;) {
    ZSTD_outBuffer ob = {o->buf, sizeof(o->buf), 0};
    size_t left = ZSTD_compressStream2(o->z, &ob, &in, mode);
    if (ZSTD_isError(left)) return GG_EINTERNAL;
    int rv = emit(o, o->buf, ob.pos);
    if (rv != GG_OK) return rv;
    if (mode == ZSTD_e_end ? left == 0 : in.pos == in.size) return GG_OK;
  }
}

static la_ssize_t write_cb(struct archive *a, void *ud, const void *p, size_t n) {
  (void)a;
  out *o = ud;
  int rv = compress(o, p, n, ZSTD_e_continue);
  if (rv != GG_OK) {
    if (o->rv == GG_OK) o->rv = rv;
    return -1;
  }
  return (la_ssize_t)n;
}

/* Writes one file's data, checking that it still is the regular file of the walk. */
static int write_file(struct archive *a, int rootfd, const entry *e, uint8_t *buf,
                      ggm_pack_result *res) {
  int fd = openat(rootfd, e->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return fail(res, GG_EIO, "%s: %s", e->path, strerror(errno));
  struct stat st;
  int rv = GG_OK;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != e->size) {
    close(fd);
    return fail(res, GG_EIO, "%s: changed while packing", e->path);
  }
  uint64_t done = 0;
  for (;;) {
    ssize_t k = read(fd, buf, READ_CHUNK);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) {
      rv = fail(res, GG_EIO, "%s: %s", e->path, strerror(errno));
      break;
    }
    if (k == 0) break;
    if (done + (uint64_t)k > e->size) {
      rv = fail(res, GG_EIO, "%s: changed while packing", e->path);
      break;
    }
    done += (uint64_t)k;
    if (archive_write_data(a, buf, (size_t)k) != k) {
      rv = fail(res, GG_EIO, "%s: %s", e->path, archive_error_string(a));
      break;
    }
  }
  if (rv == GG_OK && done != e->size) rv = fail(res, GG_EIO, "%s: changed while packing", e->path);
  close(fd);
  return rv;
}

static int write_archive(walker *w, int rootfd, out *o) {
  struct archive *a = archive_write_new();
  if (a == NULL) return GG_ENOMEM;
  int rv = GG_OK;
  uint8_t *buf = NULL;
  struct archive_entry *e = NULL;
  /* plain ustar: fixed layout, names as raw bytes, no pax records (which would carry
   * locale-converted names and could add atime/ctime) */
  if (archive_write_set_format_ustar(a) != ARCHIVE_OK ||
      archive_write_set_bytes_per_block(a, 10240) != ARCHIVE_OK ||
      archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
      archive_write_open(a, o, NULL, write_cb, NULL) != ARCHIVE_OK) {
    rv = fail(w->res, GG_EINTERNAL, "libarchive: %s", archive_error_string(a));
    goto done;
  }
  buf = gg_malloc(w->mem, READ_CHUNK);
  e = archive_entry_new2(a);
  if (buf == NULL || e == NULL) {
    rv = GG_ENOMEM;
    goto done;
  }
  for (size_t i = 0; i < w->n && rv == GG_OK; i++) {
    const entry *en = &w->v[i];
    archive_entry_clear(e);
    archive_entry_copy_pathname(e, en->path);
    archive_entry_set_filetype(e, en->dir ? AE_IFDIR : AE_IFREG);
    archive_entry_set_perm(e, en->dir || en->exec ? 0755 : 0644);
    archive_entry_set_size(e, (la_int64_t)en->size);
    archive_entry_set_mtime(e, GGM_PACK_MTIME, 0);
    archive_entry_set_uid(e, 0);
    archive_entry_set_gid(e, 0);
    int r = archive_write_header(a, e);
    if (r != ARCHIVE_OK) {
      rv = o->rv != GG_OK ? o->rv
                          : fail(w->res, r == ARCHIVE_FAILED ? GG_ELIMIT : GG_EIO, "%s: %s",
                                 en->path, archive_error_string(a));
      break;
    }
    if (!en->dir) rv = write_file(a, rootfd, en, buf, w->res);
    if (rv == GG_OK && o->rv != GG_OK) rv = o->rv;
  }
  if (rv == GG_OK && archive_write_close(a) != ARCHIVE_OK)
    rv = o->rv != GG_OK ? o->rv : fail(w->res, GG_EIO, "libarchive: %s", archive_error_string(a));
  if (rv == GG_OK) rv = compress(o, NULL, 0, ZSTD_e_end);
done:
  if (e) archive_entry_free(e);
  gg_free(w->mem, buf);
  archive_write_free(a);
  if (rv != GG_OK && o->rv != GG_OK) rv = o->rv;
  return rv;
}

int ggm_pack_dir(const char *dir, const ggm_pack_opts *opts, ggm_pack_write_fn write, void *ud,
                 ggm_pack_result *res, const gg_mem *mem) {
  ggm_pack_result scratch;
  if (res == NULL) res = &scratch;
  memset(res, 0, sizeof(*res));
  if (dir == NULL || write == NULL) return GG_EINVAL;
  walker w = {.mem = mem, .res = res, .exclude = opts ? opts->exclude : NULL};
  ggm_pack_limits_resolve(opts ? opts->limits : NULL, &w.lim);

  int rootfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0)
    return fail(res, errno == ENOENT ? GG_ENOTFOUND : GG_EIO, "%s: %s", dir, strerror(errno));
  int rv = rules_load(&w, rootfd);
  if (rv == GG_OK) {
    int wfd = dup(rootfd);
    rv = wfd < 0 ? fail(res, GG_EIO, "%s: %s", dir, strerror(errno)) : walk_dir(&w, wfd, "", 0);
  }
  out *o = NULL;
  if (rv == GG_OK) {
    qsort(w.v, w.n, sizeof(*w.v), entry_cmp);
    o = gg_calloc(mem, 1, sizeof(*o));
    if (o == NULL) rv = GG_ENOMEM;
  }
  if (rv == GG_OK) {
    o->write = write;
    o->ud = ud;
    o->z = ZSTD_createCCtx();
    crypto_hash_sha256_init(&o->sha);
    if (o->z == NULL ||
        ZSTD_isError(ZSTD_CCtx_setParameter(o->z, ZSTD_c_compressionLevel, GGM_PACK_ZSTD_LEVEL)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(o->z, ZSTD_c_checksumFlag, 1)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(o->z, ZSTD_c_contentSizeFlag, 0)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(o->z, ZSTD_c_dictIDFlag, 0)))
      rv = o->z == NULL ? GG_ENOMEM : GG_EINTERNAL;
  }
  if (rv == GG_OK) rv = write_archive(&w, rootfd, o);
  if (rv == GG_OK) {
    uint8_t d[32];
    crypto_hash_sha256_final(&o->sha, d);
    ggm_pack_cid_from_digest(d, res->cid);
    rv = ggm_pack_cid_text(res->cid, res->cid_text);
    res->size = o->size;
    for (size_t i = 0; i < w.n; i++) {
      if (w.v[i].dir)
        res->dirs++;
      else
        res->files++;
    }
    res->content = w.total;
  }
  if (o) {
    ZSTD_freeCCtx(o->z);
    gg_free(mem, o);
  }
  for (size_t i = 0; i < w.n; i++) gg_free(mem, w.v[i].path);
  gg_free(mem, w.v);
  rules_free(&w);
  close(rootfd);
  if (rv != GG_OK && res->err[0] == '\0') fail(res, rv, "%s", gg_strerror(rv));
  return rv;
}

static int fd_write(void *ud, const uint8_t *p, size_t n) {
  int fd = *(int *)ud;
  while (n > 0) {
    ssize_t k = write(fd, p, n);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) return GG_EIO;
    p += k;
    n -= (size_t)k;
  }
  return GG_OK;
}

int ggm_pack_dir_to_fd(const char *dir, const ggm_pack_opts *opts, int fd, ggm_pack_result *res,
                       const gg_mem *mem) {
  return ggm_pack_dir(dir, opts, fd_write, &fd, res, mem);
}
