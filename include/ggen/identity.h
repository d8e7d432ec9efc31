/*
 * A node's identity key, kept in <home>/identity.key: the libp2p PrivateKey protobuf of an
 * Ed25519 key (include/ggen/key.h gg_privkey_encode), file mode 0600. It is created once, on
 * first use, and read on every later start, so a node keeps its peer id across restarts.
 */
#ifndef GGEN_IDENTITY_H
#define GGEN_IDENTITY_H

#include "ggen/key.h"
#include "ggen/rand.h"

#define GG_IDENTITY_FILE "identity.key"

/*
 * Loads the key from <home>/identity.key, or creates it (seed from r; NULL = system CSPRNG)
 * when the file does not exist. Creation is atomic and never replaces a file another process
 * wrote first: the key is written to a temporary file, synced, then linked into place; on a
 * race the winner's key is read back. *created (may be NULL) is set to 1 when a key was made.
 * Errors: GG_EIO (cannot read/write), GG_EBADKEY (the file is not a valid Ed25519 private
 * key), GG_EINVAL (the file is readable by group or others: fix its mode to 0600).
 */
int gg_identity_load(const char *home, const gg_rand *r, gg_keypair *kp, int *created);

#endif
