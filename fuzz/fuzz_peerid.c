/*
 * Fuzz target: the key protobuf and peer-id parsers. The first byte picks the parser:
 * 0 public key protobuf (and the peer id derived from it), 1 private key protobuf,
 * 2 binary peer id, 3 peer id text. Anything accepted must round-trip.
 */
#include <stdlib.h>
#include <string.h>

#include "ggen/err.h"
#include "ggen/key.h"
#include "ggen/peerid.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  const uint8_t *p = data + 1;
  size_t n = size - 1;
  gg_peerid id, id2;
  char text[GG_PEERID_TEXT_MAX];
  switch (data[0] & 3) {
  case 0: {
    gg_pubkey k;
    if (gg_pubkey_decode(p, n, &k) == GG_OK && gg_peerid_from_pubkey_pb(&id, p, n) != GG_OK) abort();
    break;
  }
  case 1: {
    gg_keypair kp;
    if (gg_privkey_decode(p, n, &kp) == GG_OK) {
      uint8_t enc[GG_PRIVKEY_PB_ED25519];
      gg_privkey_encode(&kp, enc);
      gg_keypair kp2;
      if (gg_privkey_decode(enc, sizeof(enc), &kp2) != GG_OK || memcmp(&kp, &kp2, sizeof(kp))) abort();
    }
    break;
  }
  case 2:
    if (gg_peerid_from_bytes(&id, p, n) == GG_OK) {
      if (gg_peerid_to_cid(&id, text, sizeof(text)) < 0) abort();
      if (gg_peerid_parse(&id2, text, strlen(text)) != GG_OK || !gg_peerid_eq(&id, &id2)) abort();
    }
    break;
  case 3:
    if (gg_peerid_parse(&id, (const char *)p, n) == GG_OK) {
      if (gg_peerid_to_b58(&id, text, sizeof(text)) < 0) abort();
      if (gg_peerid_parse(&id2, text, strlen(text)) != GG_OK || !gg_peerid_eq(&id, &id2)) abort();
    }
    break;
  }
  return 0;
}
