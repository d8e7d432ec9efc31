/*
 * Safe extraction of package archives (include/ggen/extract.h, docs/pack.md "Extraction").
 *
 * The archive is read with libarchive, but libarchive never touches the file system here:
 * every entry is checked against the policy and written by this file with openat()-family
 * calls relative to a private temporary directory (mode 0700 until the end), descending with
 * O_DIRECTORY|O_NOFOLLOW and creating files with O_CREAT|O_EXCL|O_NOFOLLOW. Because links are
 * refused, the tree never contains a symlink, so no later entry can be redirected outside;
 * the O_NOFOLLOW flags keep that true even if something else changed the tree meanwhile.
 *
 * Invariants: at most one refusal per call, recorded in the result with the entry's name;
 * on failure the temporary tree is removed and the target does not exist; on success the
 * target appears in one rename (renameat2 RENAME_NOREPLACE, never replacing anything).
 * Every inode created (files, explicit and implicit directories) counts against max_entries,
 * so an archive of deep paths cannot create more than max_entries inodes.
 */
#include "ggen/extract.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "ggen/err.h"

#define DATA_CHUNK 65536
#define RATIO_FLOOR (1ull << 20) /* the ratio limit applies past this many bytes */
/* Largest zstd window accepted (16 MiB): level 19 uses 8 MiB, and the decoder allocates the
 * window, so a hostile frame header cannot make us allocate more. */
#define ZSTD_WINDOWLOG_MAX 24

/* ---- input: raw bytes from an fd or memory, decompressed here when zstd --------------------
 * In the default mode the zstd frame is decoded by this file rather than by libarchive's
 * filter, for three reasons: the window size is capped (above), the whole frame including its
 * content checksum is consumed and trailing bytes after it are refused, and the compression
 * ratio and decompressed-stream size are measured exactly. */

typedef struct src {
  int fd; /* >= 0: read from fd; else from mem */
  const uint8_t *mem;
  size_t memlen, mempos;
  int eof;
  int zstd;       /* the input starts with the zstd magic */
  int frame_done; /* ZSTD_decompressStream returned 0 */
  ZSTD_DCtx *z;
  ZSTD_inBuffer ib;
  uint64_t raw_in;   /* raw bytes read */
  uint64_t produced; /* bytes handed to libarchive */
  uint64_t cap;      /* most bytes the decompressed stream may have */
  char err[128];     /* why the source failed ("" when it did not) */
  uint8_t in[DATA_CHUNK];
  uint8_t out[2 * DATA_CHUNK];
} src;

/* Reads more raw input into s->in (replacing what was there). */
static int src_fill(src *s) {
  size_t n = 0;
  if (s->fd >= 0) {
    for (;;) {
      ssize_t k = read(s->fd, s->in, sizeof(s->in));
      if (k < 0 && errno == EINTR) continue;
      if (k < 0) {
        snprintf(s->err, sizeof(s->err), "read: %s", strerror(errno));
        return -1;
      }
      n = (size_t)k;
      break;
    }
  } else {
    n = s->memlen - s->mempos;
    if (n > sizeof(s->in)) n = sizeof(s->in);
    memcpy(s->in, s->mem + s->mempos, n);
    s->mempos += n;
  }
  if (n == 0) s->eof = 1;
  s->raw_in += n;
  s->ib = (ZSTD_inBuffer){s->in, n, 0};
  return 0;
}

/* libarchive read callback: the next chunk of the tar stream. */
static la_ssize_t src_read(struct archive *a, void *ud, const void **buf) {
  src *s = ud;
  if (!s->zstd) {
    if (s->ib.pos == s->ib.size && !s->eof && src_fill(s) != 0) goto fail;
    *buf = (const uint8_t *)s->ib.src + s->ib.pos;
    size_t n = s->ib.size - s->ib.pos;
    s->ib.pos = s->ib.size;
    s->produced += n;
    return (la_ssize_t)n;
  }
  for (;;) {
    if (s->frame_done) return 0;
    if (s->ib.pos == s->ib.size) {
      if (s->eof) {
        snprintf(s->err, sizeof(s->err), "truncated zstd frame");
        goto fail;
      }
      if (src_fill(s) != 0) goto fail;
      continue; /* an empty read sets eof; the check above reports it */
    }
    ZSTD_outBuffer ob = {s->out, sizeof(s->out), 0};
    size_t r = ZSTD_decompressStream(s->z, &ob, &s->ib);
    if (ZSTD_isError(r)) {
      snprintf(s->err, sizeof(s->err), "zstd: %s", ZSTD_getErrorName(r));
      goto fail;
    }
    if (r == 0) s->frame_done = 1;
    s->produced += ob.pos;
    if (s->produced > s->cap) {
      snprintf(s->err, sizeof(s->err), "decompressed stream larger than %llu bytes",
               (unsigned long long)s->cap);
      goto fail;
    }
    if (ob.pos > 0) {
      *buf = s->out;
      return (la_ssize_t)ob.pos;
    }
  }
fail:
  archive_set_error(a, EIO, "%s", s->err);
  return -1;
}

/* After the tar end marker: decodes the rest of the frame (which checks the content
 * checksum) and refuses bytes after it. Returns 0 or -1 with s->err set. */
static int src_finish(src *s, struct archive *a) {
  const void *p;
  if (s->zstd)
    while (!s->frame_done)
      if (src_read(a, s, &p) < 0) return -1;
  /* nothing may follow: one frame, no appended data */
  while (s->ib.pos == s->ib.size && !s->eof)
    if (src_fill(s) != 0) return -1;
  if (s->ib.pos != s->ib.size) {
    snprintf(s->err, sizeof(s->err), "data after the end of the archive");
    return -1;
  }
  return 0;
}

const char *ggm_extract_reason_name(int reason) {
  switch (reason) {
  case GGM_XR_NONE: return "none";
  case GGM_XR_FORMAT: return "format";
  case GGM_XR_PATH: return "path";
  case GGM_XR_LINK: return "link";
  case GGM_XR_TYPE: return "type";
  case GGM_XR_DUPLICATE: return "duplicate";
  case GGM_XR_LIMIT: return "limit";
  case GGM_XR_IO: return "io";
  default: return "?";
  }
}

/* ---- a set of the paths seen (duplicate detection) ---------------------------------------- */

typedef struct pathset {
  const gg_mem *mem;
  char **slot;
  size_t cap, n; /* cap is a power of two; n <= cap / 2 */
} pathset;

static uint64_t hash_str(const char *s, size_t n) {
  uint64_t h = 1469598103934665603ull; /* FNV-1a */
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
  return h;
}

static void pathset_free(pathset *ps) {
  for (size_t i = 0; i < ps->cap; i++) gg_free(ps->mem, ps->slot[i]);
  gg_free(ps->mem, ps->slot);
  ps->slot = NULL;
  ps->cap = ps->n = 0;
}

static int pathset_grow(pathset *ps) {
  size_t ncap = ps->cap ? ps->cap * 2 : 64;
  char **ns = gg_calloc(ps->mem, ncap, sizeof(*ns));
  if (ns == NULL) return GG_ENOMEM;
  for (size_t i = 0; i < ps->cap; i++) {
    char *s = ps->slot[i];
    if (s == NULL) continue;
    size_t j = hash_str(s, strlen(s)) & (ncap - 1);
    while (ns[j]) j = (j + 1) & (ncap - 1);
    ns[j] = s;
  }
  gg_free(ps->mem, ps->slot);
  ps->slot = ns;
  ps->cap = ncap;
  return GG_OK;
}

/* Adds s[0..n). GG_OK, GG_EEXIST when already present, GG_ENOMEM. */
static int pathset_add(pathset *ps, const char *s, size_t n) {
  if ((ps->n + 1) * 2 > ps->cap) {
    int rv = pathset_grow(ps);
    if (rv != GG_OK) return rv;
  }
  size_t j = hash_str(s, n) & (ps->cap - 1);
  for (; ps->slot[j]; j = (j + 1) & (ps->cap - 1))
    if (strlen(ps->slot[j]) == n && memcmp(ps->slot[j], s, n) == 0) return GG_EEXIST;
  char *c = gg_strndup(ps->mem, s, n);
  if (c == NULL) return GG_ENOMEM;
  ps->slot[j] = c;
  ps->n++;
  return GG_OK;
}

/* ---- extraction state ---------------------------------------------------------------------- */

typedef struct xstate {
  const gg_mem *mem;
  ggm_pack_limits lim;
  unsigned flags;
  ggm_extract_result *res;
  struct archive *a;
  src *in;         /* our own source in the default mode, NULL with GGM_EXTRACT_ANY_FORMAT */
  int rootfd;      /* the temporary directory */
  uint64_t inodes; /* files and directories created, implicit ones included */
  pathset seen;
  uint8_t *buf;
} xstate;

static void set_path(ggm_extract_result *res, const char *name) {
  size_t o = 0;
  const size_t cap = sizeof(res->path);
  for (const unsigned char *p = (const unsigned char *)name; *p && o + 5 < cap; p++) {
    if (*p >= 0x20 && *p < 0x7f)
      res->path[o++] = (char)*p;
    else
      o += (size_t)snprintf(res->path + o, cap - o, "\\x%02x", *p);
  }
  res->path[o] = '\0';
}

static int refuse(xstate *x, int rv, int reason, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int refuse(xstate *x, int rv, int reason, const char *name, const char *fmt, ...) {
  ggm_extract_result *res = x->res;
  res->reason = reason;
  if (name) set_path(res, name);
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(res->err, sizeof(res->err), fmt, ap);
  va_end(ap);
  if (name && n >= 0 && (size_t)n < sizeof(res->err))
    snprintf(res->err + n, sizeof(res->err) - (size_t)n, " (entry '%s')", res->path);
  return rv;
}

static int count_inode(xstate *x, const char *name) {
  if (++x->inodes > x->lim.max_entries)
    return refuse(x, GG_EUNSAFE, GGM_XR_LIMIT, name, "more than %llu files and directories",
                  (unsigned long long)x->lim.max_entries);
  return GG_OK;
}

/* Opens (creating as needed) the directory holding the last component of rel[0..len), and
 * returns its fd in *dfd and the offset of the last component in *leaf. */
static int open_parent(xstate *x, const char *name, const char *rel, size_t len, int *dfd,
                       size_t *leaf) {
  int fd = dup(x->rootfd);
  if (fd < 0) return refuse(x, GG_EIO, GGM_XR_IO, name, "dup: %s", strerror(errno));
  size_t start = 0;
  char comp[NAME_MAX + 1];
  for (size_t i = 0; i < len; i++) {
    if (rel[i] != '/') continue;
    size_t clen = i - start;
    if (clen > NAME_MAX) {
      close(fd);
      return refuse(x, GG_EUNSAFE, GGM_XR_LIMIT, name, "path component longer than %d bytes",
                    NAME_MAX);
    }
    memcpy(comp, rel + start, clen);
    comp[clen] = '\0';
    if (mkdirat(fd, comp, 0755) == 0) {
      int rv = count_inode(x, name);
      if (rv == GG_OK && fchmodat(fd, comp, 0755, 0) != 0)
        rv = refuse(x, GG_EIO, GGM_XR_IO, name, "chmod: %s", strerror(errno));
      if (rv != GG_OK) {
        close(fd);
        return rv;
      }
    } else if (errno != EEXIST) {
      int e = errno;
      close(fd);
      return refuse(x, GG_EIO, GGM_XR_IO, name, "mkdir: %s", strerror(e));
    }
    int sub = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int e = errno;
    close(fd);
    if (sub < 0) {
      if (e == ENOTDIR)
        return refuse(x, GG_EUNSAFE, GGM_XR_DUPLICATE, name,
                      "a parent of the entry is a file of the archive");
      if (e == ELOOP)
        return refuse(x, GG_EUNSAFE, GGM_XR_LINK, name, "a parent of the entry is a link");
      return refuse(x, GG_EIO, GGM_XR_IO, name, "open: %s", strerror(e));
    }
    fd = sub;
    start = i + 1;
  }
  if (len - start > NAME_MAX) {
    close(fd);
    return refuse(x, GG_EUNSAFE, GGM_XR_LIMIT, name, "path component longer than %d bytes",
                  NAME_MAX);
  }
  *dfd = fd;
  *leaf = start;
  return GG_OK;
}

static int check_ratio(xstate *x, const char *name) {
  uint64_t out = x->res->bytes;
  if (out <= RATIO_FLOOR) return GG_OK;
  la_int64_t in = x->in ? (la_int64_t)x->in->raw_in : archive_filter_bytes(x->a, -1);
  if (in > 0 && out / (uint64_t)in >= x->lim.max_ratio)
    return refuse(x, GG_EUNSAFE, GGM_XR_LIMIT, name,
                  "compression ratio over %u:1 (%llu bytes from %lld)", x->lim.max_ratio,
                  (unsigned long long)out, (long long)in);
  return GG_OK;
}

static int write_data(xstate *x, const char *name, int fd) {
  uint64_t n = 0;
  for (;;) {
    la_ssize_t k = archive_read_data(x->a, x->buf, DATA_CHUNK);
    if (k == 0) break;
    if (k < 0)
      return refuse(x, GG_EPARSE, GGM_XR_FORMAT, name, "corrupt archive: %s",
                    archive_error_string(x->a));
    n += (uint64_t)k;
    x->res->bytes += (uint64_t)k;
    /* counted on the bytes produced, whatever the header claimed */
    if (n > x->lim.max_file)
      return refuse(x, GG_EUNSAFE, GGM_XR_LIMIT, name, "file larger than %llu bytes",
                    (unsigned long long)x->lim.max_file);
    if (x->res->bytes > x->lim.max_total)
      return refuse(x, GG_EUNSAFE, GGM_XR_LIMIT, name, "content larger than %llu bytes",
                    (unsigned long long)x->lim.max_total);
    int rv = check_ratio(x, name);
    if (rv != GG_OK) return rv;
    for (la_ssize_t off = 0; off < k;) {
      ssize_t w = write(fd, x->buf + off, (size_t)(k - off));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return refuse(x, GG_EIO, GGM_XR_IO, name, "write: %s", strerror(errno));
      off += w;
    }
  }
  if ((x->flags & GGM_EXTRACT_FSYNC) && fsync(fd) != 0)
    return refuse(x, GG_EIO, GGM_XR_IO, name, "fsync: %s", strerror(errno));
  return GG_OK;
}

/* Checks and writes one entry. */
static int one_entry(xstate *x, struct archive_entry *e) {
  const char *name = archive_entry_pathname(e);
  if (name == NULL) name = archive_entry_pathname_utf8(e);
  if (name == NULL) return refuse(x, GG_EUNSAFE, GGM_XR_PATH, NULL, "entry without a usable name");
  x->res->entries++;
  if (archive_entry_hardlink(e) != NULL)
    return refuse(x, GG_EUNSAFE, GGM_XR_LINK, name, "hard links are not allowed in packages");
  mode_t type = archive_entry_filetype(e);
  if (type == AE_IFLNK || archive_entry_symlink(e) != NULL)
    return refuse(x, GG_EUNSAFE, GGM_XR_LINK, name, "symbolic links are not allowed in packages");
  if (type != AE_IFREG && type != AE_IFDIR)
    return refuse(x, GG_EUNSAFE, GGM_XR_TYPE, name,
                  "only files and directories are allowed (device, fifo or socket)");
  int dir = type == AE_IFDIR;
  size_t len = strlen(name);
  if (dir && len > 1 && name[len - 1] == '/') len--; /* "dir/" names a directory */
  if (len > x->lim.max_path)
    return refuse(x, GG_EUNSAFE, GGM_XR_LIMIT, name, "path longer than %u bytes", x->lim.max_path);
  if (ggm_pack_path_check(name, len, x->lim.max_path) != GG_OK)
    return refuse(x, GG_EUNSAFE, GGM_XR_PATH, name,
                  "unsafe path (absolute, '..', '.', empty component, ':', '\\', control "
                  "character or not UTF-8)");
  int rv = pathset_add(&x->seen, name, len);
  if (rv == GG_EEXIST)
    return refuse(x, GG_EUNSAFE, GGM_XR_DUPLICATE, name, "the archive holds this path twice");
  if (rv != GG_OK) return rv;
  if (!dir && archive_entry_size_is_set(e) && (uint64_t)archive_entry_size(e) > x->lim.max_file)
    return refuse(x, GG_EUNSAFE, GGM_XR_LIMIT, name, "file larger than %llu bytes",
                  (unsigned long long)x->lim.max_file);

  char rel[PATH_MAX];
  memcpy(rel, name, len); /* len <= max_path was checked; max_path is capped below PATH_MAX */
  rel[len] = '\0';
  int dfd = -1;
  size_t leaf = 0;
  rv = open_parent(x, name, rel, len, &dfd, &leaf);
  if (rv != GG_OK) return rv;
  const char *base = rel + leaf;
  if (dir) {
    if (mkdirat(dfd, base, 0755) == 0) {
      rv = count_inode(x, name);
      if (rv == GG_OK && fchmodat(dfd, base, 0755, 0) != 0)
        rv = refuse(x, GG_EIO, GGM_XR_IO, name, "chmod: %s", strerror(errno));
    } else if (errno == EEXIST) {
      /* made implicitly for an earlier entry: fine if it is a directory */
      struct stat st;
      if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode))
        rv = refuse(x, GG_EUNSAFE, GGM_XR_DUPLICATE, name,
                    "a file of the archive already has this path");
    } else {
      rv = refuse(x, GG_EIO, GGM_XR_IO, name, "mkdir: %s", strerror(errno));
    }
    if (rv == GG_OK) x->res->dirs++;
    close(dfd);
    return rv;
  }
  mode_t mode = (archive_entry_perm(e) & 0111) ? 0755 : 0644;
  int fd = openat(dfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  int err = errno;
  close(dfd);
  if (fd < 0) {
    if (err == EEXIST)
      return refuse(x, GG_EUNSAFE, GGM_XR_DUPLICATE, name,
                    "a directory of the archive already has this path");
    return refuse(x, GG_EIO, GGM_XR_IO, name, "create: %s", strerror(err));
  }
  rv = count_inode(x, name);
  if (rv == GG_OK && fchmod(fd, mode) != 0)
    rv = refuse(x, GG_EIO, GGM_XR_IO, name, "chmod: %s", strerror(errno));
  if (rv == GG_OK) rv = write_data(x, name, fd);
  if (close(fd) != 0 && rv == GG_OK)
    rv = refuse(x, GG_EIO, GGM_XR_IO, name, "close: %s", strerror(errno));
  if (rv == GG_OK) x->res->files++;
  return rv;
}

/* ---- temporary tree and the final rename --------------------------------------------------- */

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb;
  (void)ftw;
  return flag == FTW_DP || flag == FTW_D ? rmdir(p) : unlink(p);
}

static void rmtree(const char *path) { nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS); }

static int fsync_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb;
  (void)ftw;
  if (flag != FTW_D && flag != FTW_DP) return 0;
  int fd = open(p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return -1;
  int rv = fsync(fd);
  close(fd);
  return rv;
}

static int rename_noreplace(int dfd, const char *from, const char *to) {
  if (renameat2(dfd, from, dfd, to, RENAME_NOREPLACE) == 0) return 0;
  if (errno != EINVAL && errno != ENOSYS) return -1;
  /* file systems without RENAME_NOREPLACE: check, then rename (rename(2) over an existing
   * non-empty directory fails anyway) */
  struct stat st;
  if (fstatat(dfd, to, &st, AT_SYMLINK_NOFOLLOW) == 0) {
    errno = EEXIST;
    return -1;
  }
  return renameat(dfd, from, dfd, to);
}

/* Splits target into a parent directory path and the last component (malloc'd copies). */
static int split_target(const gg_mem *mem, const char *target, char **parent, char **base) {
  size_t n = strlen(target);
  while (n > 1 && target[n - 1] == '/') n--;
  const char *slash = NULL;
  for (size_t i = 0; i < n; i++)
    if (target[i] == '/') slash = target + i;
  const char *b = slash ? slash + 1 : target;
  size_t bl = (size_t)(target + n - b);
  if (bl == 0 || (bl == 1 && b[0] == '.') || (bl == 2 && b[0] == '.' && b[1] == '.'))
    return GG_EINVAL;
  *base = gg_strndup(mem, b, bl);
  *parent = slash == NULL     ? gg_strdup(mem, ".")
            : slash == target ? gg_strdup(mem, "/")
                              : gg_strndup(mem, target, (size_t)(slash - target));
  if (*base == NULL || *parent == NULL) {
    gg_free(mem, *base);
    gg_free(mem, *parent);
    return GG_ENOMEM;
  }
  return GG_OK;
}

/* Opens the archive on x->a from in (fd or memory): libarchive's own readers with
 * GGM_EXTRACT_ANY_FORMAT, else tar over our source (zstd decoded by src_read). */
static int open_archive(xstate *x, src *in) {
  if (x->flags & GGM_EXTRACT_ANY_FORMAT) {
    archive_read_support_format_all(x->a);
    archive_read_support_filter_all(x->a);
    if (in->fd >= 0) return archive_read_open_fd(x->a, in->fd, DATA_CHUNK);
    /* libarchive takes a non-const pointer but only reads it */
    return archive_read_open_memory(x->a, (void *)(uintptr_t)in->mem, in->memlen);
  }
  archive_read_support_format_tar(x->a);
  if (src_fill(in) != 0) {
    archive_set_error(x->a, EIO, "%s", in->err);
    return ARCHIVE_FATAL;
  }
  static const uint8_t magic[4] = {0x28, 0xb5, 0x2f, 0xfd};
  if (in->ib.size >= 4 && memcmp(in->in, magic, 4) == 0) {
    in->zstd = 1;
    in->z = ZSTD_createDCtx();
    if (in->z == NULL ||
        ZSTD_isError(ZSTD_DCtx_setParameter(in->z, ZSTD_d_windowLogMax, ZSTD_WINDOWLOG_MAX))) {
      archive_set_error(x->a, ENOMEM, "zstd: cannot create a decoder");
      return ARCHIVE_FATAL;
    }
  }
  /* headers and padding on top of the file bytes: 1.5 KiB per entry (header, GNU/pax long
   * name records) plus 1 MiB of slack for block padding */
  in->cap = x->lim.max_total + x->lim.max_entries * 1536 + (1u << 20);
  x->in = in;
  return archive_read_open(x->a, in, NULL, src_read, NULL);
}

static int extract(src *in, const char *target, const ggm_extract_opts *opts,
                   ggm_extract_result *res, const gg_mem *mem) {
  ggm_extract_result scratch;
  if (res == NULL) res = &scratch;
  memset(res, 0, sizeof(*res));
  xstate x = {.mem = mem, .res = res, .rootfd = -1, .seen = {.mem = mem}};
  ggm_pack_limits_resolve(opts ? opts->limits : NULL, &x.lim);
  if (x.lim.max_path >= PATH_MAX) x.lim.max_path = PATH_MAX - 1;
  x.flags = opts ? opts->flags : 0;
  if (target == NULL) return GG_EINVAL;

  char *parent = NULL, *base = NULL, *tmp = NULL;
  int pfd = -1, rv = split_target(mem, target, &parent, &base);
  if (rv != GG_OK) return rv;
  pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (pfd < 0) {
    rv = refuse(&x, errno == ENOENT ? GG_ENOTFOUND : GG_EIO, GGM_XR_IO, NULL, "%s: %s", parent,
                strerror(errno));
    goto out;
  }
  struct stat st;
  if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0) {
    rv = refuse(&x, GG_EEXIST, GGM_XR_IO, NULL, "%s already exists", target);
    goto out;
  }
  size_t tl = strlen(parent) + strlen(base) + 32;
  tmp = gg_malloc(mem, tl);
  x.buf = gg_malloc(mem, DATA_CHUNK);
  if (tmp == NULL || x.buf == NULL) {
    rv = GG_ENOMEM;
    goto out;
  }
  snprintf(tmp, tl, "%s/.%s.extract-XXXXXX", parent, base);
  if (mkdtemp(tmp) == NULL) {
    rv = refuse(&x, GG_EIO, GGM_XR_IO, NULL, "%s: %s", tmp, strerror(errno));
    tmp[0] = '\0';
    goto out;
  }
  x.rootfd = open(tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (x.rootfd < 0) {
    rv = refuse(&x, GG_EIO, GGM_XR_IO, NULL, "%s: %s", tmp, strerror(errno));
    goto out;
  }

  x.a = archive_read_new();
  if (x.a == NULL) {
    rv = GG_ENOMEM;
    goto out;
  }
  if (open_archive(&x, in) != ARCHIVE_OK) {
    rv = refuse(&x, GG_EPARSE, GGM_XR_FORMAT, NULL, "not a package archive: %s",
                archive_error_string(x.a));
    goto out;
  }
  for (;;) {
    struct archive_entry *e;
    int r = archive_read_next_header(x.a, &e);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) {
      rv = refuse(&x, GG_EPARSE, GGM_XR_FORMAT, NULL, "%s archive: %s",
                  res->entries ? "corrupt" : "not a package",
                  archive_error_string(x.a) ? archive_error_string(x.a) : "unreadable");
      goto out;
    }
    rv = one_entry(&x, e);
    if (rv != GG_OK) goto out;
  }
  /* the tar end marker is not the end of the input: the rest of the zstd frame holds the
   * content checksum, and nothing may follow the frame */
  if (x.in && x.in->zstd && src_finish(x.in, x.a) != 0) {
    rv = refuse(&x, GG_EPARSE, GGM_XR_FORMAT, NULL, "corrupt archive: %s", x.in->err);
    goto out;
  }
  if (fchmod(x.rootfd, 0755) != 0) {
    rv = refuse(&x, GG_EIO, GGM_XR_IO, NULL, "chmod %s: %s", tmp, strerror(errno));
    goto out;
  }
  if ((x.flags & GGM_EXTRACT_FSYNC) && nftw(tmp, fsync_cb, 16, FTW_PHYS) != 0) {
    rv = refuse(&x, GG_EIO, GGM_XR_IO, NULL, "fsync %s: %s", tmp, strerror(errno));
    goto out;
  }
  char *tmpbase = strrchr(tmp, '/') + 1;
  if (rename_noreplace(pfd, tmpbase, base) != 0) {
    rv = refuse(&x, errno == EEXIST || errno == ENOTEMPTY ? GG_EEXIST : GG_EIO, GGM_XR_IO, NULL,
                "rename to %s: %s", target, strerror(errno));
    goto out;
  }
  tmp[0] = '\0'; /* renamed: nothing to clean up */
  if ((x.flags & GGM_EXTRACT_FSYNC) && fsync(pfd) != 0) {
    rv = refuse(&x, GG_EIO, GGM_XR_IO, NULL, "fsync %s: %s", parent, strerror(errno));
    rmtree(target);
  }
out:
  if (x.a) archive_read_free(x.a);
  ZSTD_freeDCtx(in->z);
  in->z = NULL;
  if (x.rootfd >= 0) close(x.rootfd);
  if (tmp && tmp[0]) rmtree(tmp);
  if (pfd >= 0) close(pfd);
  pathset_free(&x.seen);
  gg_free(mem, x.buf);
  gg_free(mem, tmp);
  gg_free(mem, parent);
  gg_free(mem, base);
  if (rv != GG_OK && res->err[0] == '\0')
    snprintf(res->err, sizeof(res->err), "%s", gg_strerror(rv));
  return rv;
}

int ggm_extract_fd(int fd, const char *target, const ggm_extract_opts *opts,
                   ggm_extract_result *res, const gg_mem *mem) {
  src *in = gg_calloc(mem, 1, sizeof(*in));
  if (in == NULL) return GG_ENOMEM;
  in->fd = fd;
  int rv = extract(in, target, opts, res, mem);
  gg_free(mem, in);
  return rv;
}

int ggm_extract_mem(const void *data, size_t len, const char *target, const ggm_extract_opts *opts,
                    ggm_extract_result *res, const gg_mem *mem) {
  if (data == NULL && len > 0) return GG_EINVAL;
  src *in = gg_calloc(mem, 1, sizeof(*in));
  if (in == NULL) return GG_ENOMEM;
  in->fd = -1;
  in->mem = data;
  in->memlen = len;
  int rv = extract(in, target, opts, res, mem);
  gg_free(mem, in);
  return rv;
}

int ggm_extract_file(const char *archive, const char *target, const ggm_extract_opts *opts,
                     ggm_extract_result *res, const gg_mem *mem) {
  int fd = open(archive, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (res) {
      memset(res, 0, sizeof(*res));
      res->reason = GGM_XR_IO;
      snprintf(res->err, sizeof(res->err), "%s: %s", archive, strerror(errno));
    }
    return errno == ENOENT ? GG_ENOTFOUND : GG_EIO;
  }
  int rv = ggm_extract_fd(fd, target, opts, res, mem);
  close(fd);
  return rv;
}
