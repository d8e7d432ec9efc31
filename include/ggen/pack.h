/*
 * Deterministic package archives (docs/pack.md).
 *
 * A package directory becomes a ustar stream written by libarchive and compressed as one zstd
 * frame by libzstd. The same directory content always gives the same bytes and therefore the
 * same CID (CIDv1, raw codec 0x55, sha2-256): entries are sorted bytewise by path; mtime is
 * fixed, uid/gid 0, no user or group names; directories and executable files get 0755, other
 * files 0644; the zstd level and frame parameters are fixed (level 19, content checksum, no
 * dictionary, single-threaded) and the frame holds no timestamp. Determinism holds for one
 * libarchive/libzstd pair: another zstd release may compress differently, which changes the
 * CID of a new pack but never breaks verification of an existing one (the CID is of bytes).
 *
 * Only regular files and directories are packed: a symlink, device, fifo or socket in the
 * package directory is an error (GG_EUNSAFE), because the extractor refuses them too.
 * Ignored: .git, .hg, .svn and node_modules anywhere; target/ and .ggen/ at the top; and the
 * patterns of a .ggenignore file at the top (see docs/pack.md for its syntax).
 *
 * The limits that extraction enforces are checked while packing, so every archive this
 * module writes can be extracted with the default limits.
 */
#ifndef GGEN_PACK_H
#define GGEN_PACK_H

#include <stddef.h>
#include <stdint.h>

#include "ggen/mem.h"

/* Binary CIDv1 of an archive: 0x01 (v1) 0x55 (raw) 0x12 (sha2-256) 0x20 (32) <digest>. */
#define GGM_CID_LEN 36
/* Text form: 'b' + RFC 4648 base32 lower-case without padding (58 chars) + NUL. */
#define GGM_CID_TEXT_MAX 60

/* Fixed archive parameters (part of the format: changing one changes every CID). */
#define GGM_PACK_ZSTD_LEVEL 19
#define GGM_PACK_MTIME 946684800 /* 2000-01-01T00:00:00Z */

/* Limits shared by packing and extraction. Zero in a field means "the default". */
typedef struct ggm_pack_limits {
  uint64_t max_entries; /* files + directories: default 10000 */
  uint64_t max_total;   /* sum of file sizes: default 256 MiB */
  uint64_t max_file;    /* one file: default 64 MiB */
  uint32_t max_path;    /* bytes in a relative path: default 255 */
  uint32_t max_ratio;   /* extraction: uncompressed/compressed bytes, default 200 (checked
                           once more than 1 MiB has been written) */
} ggm_pack_limits;

#define GGM_PACK_DEF_ENTRIES 10000u
#define GGM_PACK_DEF_TOTAL (256ull << 20)
#define GGM_PACK_DEF_FILE (64ull << 20)
#define GGM_PACK_DEF_PATH 255u
#define GGM_PACK_DEF_RATIO 200u

/* Fills l with the effective limits of in (NULL or zero fields -> defaults). */
void ggm_pack_limits_resolve(const ggm_pack_limits *in, ggm_pack_limits *l);

/* Receives archive bytes as they are produced. Returns GG_OK or a negative code, which
 * aborts packing and is returned by ggm_pack_dir(). */
typedef int (*ggm_pack_write_fn)(void *ud, const uint8_t *p, size_t n);

typedef struct ggm_pack_opts {
  const ggm_pack_limits *limits; /* NULL: defaults */
  /* Extra relative paths to leave out (for instance the output file when it lies inside the
   * package directory), NULL-terminated; may be NULL. Exact match on the relative path. */
  const char *const *exclude;
} ggm_pack_opts;

typedef struct ggm_pack_result {
  uint8_t cid[GGM_CID_LEN];
  char cid_text[GGM_CID_TEXT_MAX];
  uint64_t size;    /* archive bytes */
  uint64_t files;   /* regular files packed */
  uint64_t dirs;    /* directories packed */
  uint64_t content; /* sum of file sizes */
  char err[320];    /* on failure: what went wrong and with which path ("" on success) */
} ggm_pack_result;

/* Packs the directory dir, feeding the archive to write(ud, ...) and filling res (CID, size,
 * counts). Returns GG_OK; GG_EUNSAFE (symlink, device, fifo or socket in the tree, or a name
 * the extractor would refuse), GG_ELIMIT (over a limit), GG_EPARSE (bad .ggenignore),
 * GG_EIO (cannot read, or a file changed while being packed), GG_ENOMEM, or the write
 * callback's code. res->err says which path. mem: NULL = default. */
int ggm_pack_dir(const char *dir, const ggm_pack_opts *opts, ggm_pack_write_fn write, void *ud,
                 ggm_pack_result *res, const gg_mem *mem);

/* ggm_pack_dir() writing to a file descriptor (all bytes written or GG_EIO). */
int ggm_pack_dir_to_fd(const char *dir, const ggm_pack_opts *opts, int fd, ggm_pack_result *res,
                       const gg_mem *mem);

/* Checks one relative archive path against the naming rules packing and extraction share
 * (docs/pack.md "Paths"): non-empty, at most max_path bytes, components separated by single
 * '/', no empty, "." or ".." component, no leading '/', valid UTF-8, no control characters,
 * no '\\' and no ':' (Windows drive and stream syntax). GG_OK or GG_EUNSAFE. */
int ggm_pack_path_check(const char *path, size_t len, size_t max_path);

/* CID of bytes: sha2-256 wrapped as above. */
void ggm_pack_cid_of(const uint8_t *data, size_t len, uint8_t cid[GGM_CID_LEN]);

/* Wraps a 32-byte sha2-256 digest into a CID. */
void ggm_pack_cid_from_digest(const uint8_t digest[32], uint8_t cid[GGM_CID_LEN]);

/* Text form of a CID ('b' + base32). GG_OK or GG_EINVAL if cid is not CIDv1 raw sha2-256. */
int ggm_pack_cid_text(const uint8_t cid[GGM_CID_LEN], char out[GGM_CID_TEXT_MAX]);

/* Parses the text form (any multibase the decoder knows) into a CIDv1 raw sha2-256.
 * GG_EPARSE when it is not one. */
int ggm_pack_cid_parse(const char *text, uint8_t cid[GGM_CID_LEN]);

#endif
