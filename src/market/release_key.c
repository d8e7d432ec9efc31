/*
 * Publisher key files (include/ggen/release.h): an Ed25519 key pair stored as the 68-byte
 * libp2p PrivateKey protobuf (08 01 12 40 <seed || public key>), in a file of mode 0600.
 * Glue code: file I/O lives here so that release.c stays a pure parser.
 *
 * A key file readable by group or others is refused on load (ssh's rule): whoever can read
 * it can publish as its owner, and a package id belongs to its first publisher's key forever.
 */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ggen/err.h"
#include "ggen/release.h"

int ggm_release_key_create(const char *path, const gg_rand *r, gg_keypair *kp) {
  if (path == NULL || r == NULL || kp == NULL) return GG_EINVAL;
  gg_keypair k;
  gg_keypair_generate(&k, r);
  uint8_t pb[GG_PRIVKEY_PB_ED25519];
  gg_privkey_encode(&k, pb);
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    sodium_memzero(pb, sizeof(pb));
    sodium_memzero(&k, sizeof(k));
    return errno == EEXIST ? GG_EEXIST : GG_EIO;
  }
  int rv = GG_OK;
  /* umask may have removed bits we want, never added: still make the mode exact */
  if (fchmod(fd, 0600) != 0 || write(fd, pb, sizeof(pb)) != (ssize_t)sizeof(pb) || fsync(fd) != 0)
    rv = GG_EIO;
  if (close(fd) != 0) rv = GG_EIO;
  if (rv != GG_OK)
    unlink(path);
  else
    *kp = k;
  sodium_memzero(pb, sizeof(pb));
  sodium_memzero(&k, sizeof(k));
  return rv;
}

int ggm_release_key_load(const char *path, gg_keypair *kp) {
  if (path == NULL || kp == NULL) return GG_EINVAL;
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? GG_ENOTFOUND : GG_EIO;
  struct stat st;
  if (fstat(fd, &st) != 0) {
    close(fd);
    return GG_EIO;
  }
  if (!S_ISREG(st.st_mode) || st.st_size != GG_PRIVKEY_PB_ED25519) {
    close(fd);
    return GG_EBADKEY;
  }
  if (st.st_mode & 077) {
    close(fd);
    return GG_EINVAL;
  }
  uint8_t pb[GG_PRIVKEY_PB_ED25519];
  ssize_t n = read(fd, pb, sizeof(pb));
  close(fd);
  if (n != (ssize_t)sizeof(pb)) {
    sodium_memzero(pb, sizeof(pb));
    return n < 0 ? GG_EIO : GG_EBADKEY;
  }
  int rv = gg_privkey_decode(pb, sizeof(pb), kp) == GG_OK ? GG_OK : GG_EBADKEY;
  sodium_memzero(pb, sizeof(pb));
  return rv;
}
