/*
 * Safe extraction of package archives (docs/pack.md "Extraction").
 *
 * Policy: an archive is extracted completely or not at all. Entries are written into a fresh
 * temporary directory next to the target (".<name>.extract-XXXXXX", same file system), which
 * is renamed onto the target only when every entry passed; on any refusal the temporary tree
 * is removed and the target is never created. Nothing is ever written outside it:
 *   - only regular files and directories are accepted; symlinks and hardlinks are refused
 *     outright (packages never need them and ggm_pack refuses to pack them), as are devices,
 *     fifos and sockets;
 *   - every path must pass ggm_pack_path_check(): no absolute path, no ".." or "." component,
 *     no '\\' or ':' (Windows drive/UNC syntax), no control characters, valid UTF-8;
 *   - a path that appears twice (also as file then directory) is refused;
 *   - directories are walked with O_NOFOLLOW|O_DIRECTORY and files created with
 *     O_CREAT|O_EXCL|O_NOFOLLOW, so even a tree changed behind our back cannot redirect a write;
 *   - limits: entry count, path length, single file size, total size and compression ratio
 *     (ggm_pack_limits), counted on the bytes actually decompressed, not on header claims;
 *   - modes are normalised (0644, 0755 for executables and directories); owners, times,
 *     ACLs and extended attributes in the archive are ignored.
 * Accepted containers: tar (ustar, pax, GNU) raw or zstd-compressed; any format libarchive
 * reads with GGM_EXTRACT_ANY_FORMAT (tests and fuzzing use it to apply the same policy to zip).
 */
#ifndef GGEN_EXTRACT_H
#define GGEN_EXTRACT_H

#include <stddef.h>
#include <stdint.h>

#include "ggen/mem.h"
#include "ggen/pack.h"

enum {
  GGM_EXTRACT_ANY_FORMAT = 1u << 0, /* accept every format/filter libarchive reads */
  GGM_EXTRACT_FSYNC = 1u << 1,      /* fsync files and directories before the final rename */
};

typedef struct ggm_extract_opts {
  const ggm_pack_limits *limits; /* NULL: defaults */
  unsigned flags;
} ggm_extract_opts;

/* Why an archive was refused (res->reason). */
enum {
  GGM_XR_NONE = 0,
  GGM_XR_FORMAT,    /* not a readable archive of an accepted format */
  GGM_XR_PATH,      /* path fails ggm_pack_path_check (absolute, "..", ':', '\\', ...) */
  GGM_XR_LINK,      /* symlink or hardlink */
  GGM_XR_TYPE,      /* device, fifo, socket or other non-file entry */
  GGM_XR_DUPLICATE, /* path seen twice, or file/directory conflict */
  GGM_XR_LIMIT,     /* entry count, path length, file size, total size or ratio */
  GGM_XR_IO,        /* local file system error */
};

typedef struct ggm_extract_result {
  uint64_t entries; /* entries accepted before the end or the refusal */
  uint64_t files, dirs;
  uint64_t bytes; /* file bytes written */
  int reason;     /* GGM_XR_* */
  char path[256]; /* offending entry name, printable (non-printing bytes as \xNN), or "" */
  char err[320];  /* human-readable explanation, or "" */
} ggm_extract_result;

/* Extracts the archive read from fd into target, which must not exist (its parent must).
 * Returns GG_OK with target complete; GG_EUNSAFE (policy or limit: res->reason, res->path),
 * GG_EPARSE (unreadable or corrupt archive, zstd checksum mismatch), GG_EEXIST (target exists),
 * GG_EIO, GG_ENOMEM. On any error neither target nor the temporary directory remains.
 * res may be NULL. mem: NULL = default (our own tables; libarchive allocates itself). */
int ggm_extract_fd(int fd, const char *target, const ggm_extract_opts *opts,
                   ggm_extract_result *res, const gg_mem *mem);

/* Same, from memory (borrowed for the call). */
int ggm_extract_mem(const void *data, size_t len, const char *target, const ggm_extract_opts *opts,
                    ggm_extract_result *res, const gg_mem *mem);

/* Same, from a file path. GG_ENOTFOUND when the archive file does not exist. */
int ggm_extract_file(const char *archive, const char *target, const ggm_extract_opts *opts,
                     ggm_extract_result *res, const gg_mem *mem);

/* Returns a static name for a GGM_XR_* reason ("path", "link", ...). */
const char *ggm_extract_reason_name(int reason);

#endif
