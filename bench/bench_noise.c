/*
 * Benchmark of the Noise core alone (src/proto/noise.c), no sockets:
 *   - transport throughput: 64 KiB writes encrypted into frames (ggp_noise_encrypt) and the
 *     wire bytes decrypted again (ggp_noise_recv) in reads of 64 KiB and of 256 KiB, as a host
 *     would see them (frames straddle reads, so the partial-frame path is included), MB/s of
 *     plaintext;
 *   - the same through libsodium's AEAD directly, the baseline the core is compared with;
 *   - full handshakes per second (both sides in this process: keys, signatures, DH, peer id),
 *     with a fresh static key per connection and with one static key per node.
 * Median of several runs. The host's figure (Noise + Yamux over TCP) is in bench_host.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ggen/err.h"
#include "ggen/noise.h"
#include "ggen/time.h"
#include "report.h"

#define RUNS 5
#define CHUNK 65536

static void die(const char *what, int rv) {
  fprintf(stderr, "bench_noise: %s: %s\n", what, gg_strerror(rv));
  exit(1);
}

typedef struct side {
  gg_keypair id;
  ggp_noise *s;
  gg_buf wire, plain;
} side;

static const char *const mux[] = {"/yamux/1.0.0"};

/* Handshakes a and b; with locals (one per node) the static key and payload are shared. */
static void pair(side *a, side *b, const gg_rand *r, const ggp_noise_local *la,
                 const ggp_noise_local *lb, int keep_partial) {
  side *sd[2] = {a, b};
  const ggp_noise_local *loc[2] = {la, lb};
  for (int k = 0; k < 2; k++) {
    ggp_noise_settings st = {.local = loc[k],
                             .identity = &sd[k]->id,
                             .muxers = mux,
                             .nmuxers = 1,
                             .caller_keeps_partial = keep_partial};
    int rv = ggp_noise_new(&sd[k]->s, k == 0, &st, r, NULL);
    if (rv) die("new", rv);
    gg_buf_reset(&sd[k]->wire);
    gg_buf_reset(&sd[k]->plain);
  }
  int rv = ggp_noise_start(a->s, &a->wire);
  if (rv) die("start", rv);
  ggp_noise_start(b->s, &b->wire);
  for (int round = 0; round < 2; round++) {
    size_t used;
    if ((rv = ggp_noise_recv(b->s, gg_buf_ptr(&a->wire), gg_buf_len(&a->wire), &used, &b->plain,
                             &b->wire)))
      die("recv", rv);
    gg_buf_reset(&a->wire);
    if (gg_buf_len(&b->wire) &&
        (rv = ggp_noise_recv(a->s, gg_buf_ptr(&b->wire), gg_buf_len(&b->wire), &used, &a->plain,
                             &a->wire)))
      die("recv", rv);
    gg_buf_reset(&b->wire);
  }
  if (!ggp_noise_established(a->s) || !ggp_noise_established(b->s)) die("handshake", GG_EPROTO);
}

static double handshakes_per_s(const gg_rand *r, int reuse_static, double seconds) {
  side a, b;
  uint8_t seed[32];
  memset(seed, 1, 32);
  gg_keypair_from_seed(&a.id, seed);
  memset(seed, 2, 32);
  gg_keypair_from_seed(&b.id, seed);
  gg_buf_init(&a.wire, NULL, 1 << 20);
  gg_buf_init(&a.plain, NULL, 1 << 20);
  gg_buf_init(&b.wire, NULL, 1 << 20);
  gg_buf_init(&b.plain, NULL, 1 << 20);
  ggp_noise_local *la = NULL, *lb = NULL;
  if (reuse_static) {
    int rv = ggp_noise_local_new(&la, &a.id, mux, 1, NULL, r, NULL);
    if (!rv) rv = ggp_noise_local_new(&lb, &b.id, mux, 1, NULL, r, NULL);
    if (rv) die("local", rv);
  }
  size_t n = 0;
  gg_ts t0 = gg_clock_now(), t;
  do {
    pair(&a, &b, r, la, lb, 0);
    ggp_noise_del(a.s);
    ggp_noise_del(b.s);
    n++;
    t = gg_clock_now();
  } while ((double)(t - t0) < seconds * 1e9);
  gg_buf_free(&a.wire);
  gg_buf_free(&a.plain);
  gg_buf_free(&b.wire);
  gg_buf_free(&b.plain);
  ggp_noise_local_del(la);
  ggp_noise_local_del(lb);
  return (double)n / ((double)(t - t0) / 1e9);
}

static const bench_usage usage = {
    "Noise core alone: transport encrypt/decrypt throughput against libsodium's AEAD, handshakes "
    "per second.",
    NULL, "Full run: 512 MiB per throughput case, 2 s of handshakes; --quick: 16 MiB, 0.2 s."};

int main(int argc, char **argv) {
  bench_report *rep = bench_report_new("noise", &usage, argc, argv); /* initialises libsodium */
  int quick = bench_quick(rep);
  size_t total = quick ? (size_t)16 << 20 : (size_t)512 << 20;
  double hs_seconds = quick ? 0.2 : 2.0;
  const gg_rand *r = gg_rand_system();

  side a, b;
  uint8_t seed[32];
  memset(seed, 1, 32);
  gg_keypair_from_seed(&a.id, seed);
  memset(seed, 2, 32);
  gg_keypair_from_seed(&b.id, seed);
  gg_buf_init(&a.wire, NULL, (size_t)4 << 20);
  gg_buf_init(&a.plain, NULL, (size_t)4 << 20);
  gg_buf_init(&b.wire, NULL, (size_t)4 << 20);
  gg_buf_init(&b.plain, NULL, (size_t)4 << 20);
  pair(&a, &b, r, NULL, NULL, 0);

  uint8_t *data = malloc(CHUNK);
  for (size_t k = 0; k < CHUNK; k++) data[k] = (uint8_t)k;
  /* reads of 64 KiB (libuv's suggested size: nearly every frame straddles two reads and goes
   * through the partial-frame copy), of 256 KiB (one frame in four straddles), and 64 KiB
   * reads appended to a buffer that keeps partial frames in place (caller_keeps_partial) */
  static const size_t reads[3] = {CHUNK, 4 * CHUNK, 0};
  double enc[3][RUNS], dec[3][RUNS], both[3][RUNS], base[RUNS];
  side a2, b2;
  a2.id = a.id;
  b2.id = b.id;
  gg_buf_init(&a2.wire, NULL, (size_t)4 << 20);
  gg_buf_init(&a2.plain, NULL, (size_t)4 << 20);
  gg_buf_init(&b2.wire, NULL, (size_t)4 << 20);
  gg_buf_init(&b2.plain, NULL, (size_t)4 << 20);
  pair(&a2, &b2, r, NULL, NULL, 1);
  for (int run = 0; run < RUNS; run++) {
    for (int rd = 0; rd < 3; rd++) {
      side *x = rd < 2 ? &a : &a2, *y = rd < 2 ? &b : &b2;
      gg_ts te = 0, td = 0;
      for (size_t done = 0; done < total; done += CHUNK) {
        gg_ts t0 = gg_clock_now();
        int rv = ggp_noise_encrypt(x->s, data, CHUNK, &x->wire);
        if (rv) die("encrypt", rv);
        gg_ts t1 = gg_clock_now();
        size_t rsz = reads[rd] ? reads[rd] : gg_buf_len(&x->wire);
        while (gg_buf_len(&x->wire) >= rsz && rsz) {
          size_t used;
          rv = ggp_noise_recv(y->s, gg_buf_ptr(&x->wire), rsz, &used, &y->plain, &y->wire);
          if (rv) die("recv", rv);
          gg_buf_consume(&x->wire, used);
          gg_buf_reset(&y->plain);
          if (!reads[rd]) break;
        }
        gg_ts t2 = gg_clock_now();
        te += t1 - t0;
        td += t2 - t1;
      }
      enc[rd][run] = (double)total / ((double)te / 1e9) / 1e6;
      dec[rd][run] = (double)total / ((double)td / 1e9) / 1e6;
      both[rd][run] = (double)total / ((double)(te + td) / 1e9) / 1e6;
    }

    /* baseline: the bare AEAD on the same volume, one encrypt and one decrypt per frame */
    uint8_t key[32] = {1}, nonce[12] = {0}, mac[16];
    uint8_t *ct = malloc(GGP_NOISE_PLAIN_MAX), *pt = malloc(GGP_NOISE_PLAIN_MAX);
    gg_ts t0 = gg_clock_now();
    for (size_t done = 0; done < total; done += GGP_NOISE_PLAIN_MAX) {
      nonce[4]++;
      crypto_aead_chacha20poly1305_ietf_encrypt_detached(ct, mac, NULL, data, GGP_NOISE_PLAIN_MAX,
                                                         NULL, 0, NULL, nonce, key);
      if (crypto_aead_chacha20poly1305_ietf_decrypt_detached(pt, NULL, ct, GGP_NOISE_PLAIN_MAX, mac,
                                                             NULL, 0, nonce, key))
        die("baseline", GG_EDECRYPT);
    }
    base[run] = (double)total / ((double)(gg_clock_now() - t0) / 1e9) / 1e6;
    free(ct);
    free(pt);
  }
  double mbase = bench_median(base, RUNS);
  bench_row *row = bench_row_add(rep, "baseline: bare AEAD");
  bench_row_num(row, "enc+dec MB/s", mbase);
  static const char *names[3] = {"transport, 64 KiB reads", "transport, 256 KiB reads",
                                 "transport, caller keeps partial"};
  for (int rd = 0; rd < 3; rd++) {
    double m = bench_median(both[rd], RUNS);
    row = bench_row_add(rep, names[rd]);
    bench_row_num(row, "encrypt MB/s", bench_median(enc[rd], RUNS));
    bench_row_num(row, "decrypt MB/s", bench_median(dec[rd], RUNS));
    bench_row_num(row, "enc+dec MB/s", m);
    bench_row_num(row, "vs baseline", m / mbase);
  }

  bench_row_num(bench_row_add(rep, "handshakes (fresh static key)"), "per s",
                handshakes_per_s(r, 0, hs_seconds));
  bench_row_num(bench_row_add(rep, "handshakes (ggp_noise_local per node)"), "per s",
                handshakes_per_s(r, 1, hs_seconds));
  bench_note(rep,
             "64 KiB writes, %zu MiB per run, median of %d runs; enc+dec = one core doing "
             "both ends; a handshake = both sides in one process",
             total >> 20, RUNS);

  free(data);
  ggp_noise_del(a.s);
  ggp_noise_del(b.s);
  ggp_noise_del(a2.s);
  ggp_noise_del(b2.s);
  gg_buf_free(&a2.wire);
  gg_buf_free(&a2.plain);
  gg_buf_free(&b2.wire);
  gg_buf_free(&b2.plain);
  gg_buf_free(&a.wire);
  gg_buf_free(&a.plain);
  gg_buf_free(&b.wire);
  gg_buf_free(&b.plain);
  return bench_report_finish(rep);
}
