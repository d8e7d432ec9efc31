/*
 * ggen marketplace pack [DIR] [-o FILE] [--json]: builds the deterministic archive of a
 * package directory (docs/pack.md) and prints its CID and size. The manifest (gpack.toml, or
 * ggen's package.toml) must load: it names the archive <id>-<version>.tar.zst.
 *
 * The output is written to a temporary file next to it and renamed, so a failed pack leaves
 * no partial archive. The temporary file is created only once the walk of DIR is complete
 * (ggm_pack_dir emits nothing before), and the output path is excluded from the walk when it
 * lies inside DIR, so packing into the package directory twice gives the same CID.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "cli_marketplace.h"
#include "ggen/err.h"
#include "ggen/manifest.h"
#include "ggen/pack.h"

static const char usage[] =
    "usage: ggen marketplace pack [DIR] [-o FILE] [--json]\n"
    "\n"
    "Packs the package in DIR (default: the current directory) into a deterministic archive\n"
    "(ustar + zstd) and prints its CID (CIDv1, raw, sha2-256) and size. The same content\n"
    "always gives the same bytes and CID. DIR needs a gpack.toml (or package.toml).\n"
    "\n"
    "  -o, --output FILE  where to write (default: <id>-<version>.tar.zst here)\n"
    "      --json         machine-readable output\n"
    "\n"
    "Left out: .git, .hg, .svn, node_modules/, target/ and .ggen/ at the top, the patterns of\n"
    "DIR/.ggenignore. Symlinks, devices, fifos and sockets are refused.\n"
    "exit codes: 0 packed, 2 bad usage or not a packable directory, 3 DIR not found,\n"
    "            1 I/O error\n";

typedef struct outfile {
  const char *path; /* final path */
  char *tmp;        /* temporary path once created */
  int fd;
} outfile;

static int out_write(void *ud, const uint8_t *p, size_t n) {
  outfile *o = ud;
  if (o->fd < 0) {
    size_t len = strlen(o->path) + 16;
    o->tmp = malloc(len);
    if (o->tmp == NULL) return GG_ENOMEM;
    snprintf(o->tmp, len, "%s.tmp-XXXXXX", o->path);
    o->fd = mkstemp(o->tmp);
    if (o->fd < 0) {
      free(o->tmp);
      o->tmp = NULL;
      return GG_EIO;
    }
  }
  while (n > 0) {
    ssize_t k = write(o->fd, p, n);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) return GG_EIO;
    p += k;
    n -= (size_t)k;
  }
  return GG_OK;
}

/* Reads DIR's manifest. Returns GG_OK with *m loaded, or prints why and returns an error. */
static int load_manifest(cli_ctx *ctx, const char *dir, ggm_manifest *m) {
  static const char *names[] = {"gpack.toml", "package.toml"};
  for (size_t i = 0; i < 2; i++) {
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
    FILE *f = fopen(path, "rb");
    if (f == NULL) continue;
    char *buf = malloc(1 << 20);
    size_t n = buf ? fread(buf, 1, 1 << 20, f) : 0;
    int big = buf && n == (1 << 20);
    fclose(f);
    if (buf == NULL || big) {
      free(buf);
      cli_err(ctx, "%s: %s", path, big ? "larger than 1 MiB" : "out of memory");
      return GG_EPARSE;
    }
    ggm_toml_error err;
    memset(&err, 0, sizeof(err));
    int rv = ggm_manifest_parse(m, path, buf, n, 0, NULL, &err);
    free(buf);
    if (rv != GG_OK) cli_err(ctx, "%s", err.msg[0] ? err.msg : gg_strerror(rv));
    return rv;
  }
  cli_err(ctx, "%s: no gpack.toml or package.toml (not a package directory)", dir);
  return GG_EPARSE;
}

int cli_mp_pack(cli_ctx *ctx, int argc, char **argv) {
  static const struct option opts[] = {
      CLI_COMMON_LONGOPTS, {"output", required_argument, NULL, 'o'}, {NULL, 0, NULL, 0}};
  const char *outp = NULL;
  optind = 1;
  int c;
  while ((c = getopt_long(argc, argv, "o:vh", opts, NULL)) != -1) {
    if (cli_common_opt(ctx, c, optarg)) continue;
    switch (c) {
    case 'o': outp = optarg; break;
    case 'h': fputs(usage, stdout); return CLI_OK;
    default: fputs(usage, stderr); return CLI_USAGE;
    }
  }
  if (argc - optind > 1) {
    fputs(usage, stderr);
    return CLI_USAGE;
  }
  const char *dir = optind < argc ? argv[optind] : ".";
  struct stat sb;
  if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
    cli_err(ctx, "%s: %s", dir, errno == ENOENT ? "no such directory" : "not a directory");
    return errno == ENOENT ? CLI_NOTFOUND : CLI_USAGE;
  }
  ggm_manifest m;
  if (load_manifest(ctx, dir, &m) != GG_OK) return CLI_USAGE;

  char defname[GGM_MANIFEST_ID_MAX + GGM_MANIFEST_VERSION_MAX + 16];
  snprintf(defname, sizeof(defname), "%s-%s.tar.zst", m.id, m.version);
  if (outp == NULL) outp = defname;

  /* leave the output out of the archive when it lies inside DIR */
  char rdir[PATH_MAX], rout[PATH_MAX], odir[PATH_MAX], rel[PATH_MAX];
  const char *exclude[2] = {NULL, NULL};
  snprintf(odir, sizeof(odir), "%s", outp);
  char *slash = strrchr(odir, '/');
  const char *base = slash ? slash + 1 : outp;
  if (slash == odir)
    snprintf(odir, sizeof(odir), "/");
  else if (slash)
    *slash = '\0';
  else
    snprintf(odir, sizeof(odir), ".");
  if (realpath(dir, rdir) && realpath(odir, rout)) {
    size_t l = strlen(rdir);
    if (!strcmp(rout, rdir)) {
      snprintf(rel, sizeof(rel), "%s", base);
      exclude[0] = rel;
    } else if (!strncmp(rout, rdir, l) && rout[l] == '/') {
      snprintf(rel, sizeof(rel), "%s/%s", rout + l + 1, base);
      exclude[0] = rel;
    }
  }

  outfile o = {outp, NULL, -1};
  ggm_pack_opts po = {.exclude = exclude};
  ggm_pack_result res;
  int rv = ggm_pack_dir(dir, &po, out_write, &o, &res, NULL);
  if (rv == GG_OK && o.fd < 0) rv = out_write(&o, NULL, 0);
  if (rv == GG_OK && (fchmod(o.fd, 0644) != 0 || fsync(o.fd) != 0)) rv = GG_EIO;
  if (o.fd >= 0 && close(o.fd) != 0 && rv == GG_OK) rv = GG_EIO;
  if (rv == GG_OK && rename(o.tmp, outp) != 0) rv = GG_EIO;
  if (rv != GG_OK && o.tmp) unlink(o.tmp);
  free(o.tmp);

  int code = CLI_OK;
  if (rv != GG_OK) {
    cli_err(ctx, "%s", res.err[0] ? res.err : gg_strerror(rv));
    code = rv == GG_EUNSAFE || rv == GG_ELIMIT || rv == GG_EPARSE ? CLI_USAGE : cli_exit_for(rv);
  } else if (ctx->json) {
    /* id and version passed the manifest's rules (no characters to escape) */
    printf("{\"id\":\"%s\",\"version\":\"%s\",\"cid\":\"%s\",\"size\":%llu,\"files\":%llu,"
           "\"dirs\":%llu,\"content_bytes\":%llu,\"path\":",
           m.id, m.version, res.cid_text, (unsigned long long)res.size,
           (unsigned long long)res.files, (unsigned long long)res.dirs,
           (unsigned long long)res.content);
    cli_json_str(stdout, outp);
    printf("}\n");
  } else {
    printf("%s  %llu  %s\n", res.cid_text, (unsigned long long)res.size, outp);
  }
  ggm_manifest_free(&m);
  return code;
}
