/*
 * Package manifests: ggen's gpack.toml and package.toml read into one struct
 * (docs/manifest.md has the field mapping, the validation rules and why).
 *
 *   [gpack]   id, name, version, description, license, ggen_compat, and the marketplace
 *             metadata authors, tags, keywords, category, homepage, repository, readme;
 *             [dependencies] id = "range"; every other table ([templates], [rdf], [queries],
 *             [shapes], [preset], ...) is kept as a TOML subtree.
 *   [package] ggen's marketplace form: name (= the id), version, description, category,
 *             author(s), repository, license, dependencies = ["name", ...], tags, keywords;
 *             everything else ([package.metadata], [install], [files], ...) is kept.
 *
 * Parsing is pure (bytes in, struct out, allocation through gg_mem): the caller reads the
 * file. ggen's real files need TOML 1.1 inline tables and, for five of them, YAML-style
 * "- item" lists; both are accepted (the latter with a warning) unless GGM_MANIFEST_STRICT.
 * Every error names file, line and column: "gpack.toml:3:11: version "1.0" is not a semantic
 * version (MAJOR.MINOR.PATCH)".
 */
#ifndef GGEN_MANIFEST_H
#define GGEN_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "ggen/buf.h"
#include "ggen/mem.h"
#include "ggen/toml.h"

/* Which file layout a manifest was read from (and is written back in). */
typedef enum ggm_manifest_format {
  GGM_MANIFEST_GPACK = 1,   /* [gpack] table */
  GGM_MANIFEST_PACKAGE = 2, /* [package] table (ggen's marketplace package.toml) */
} ggm_manifest_format;

/* Package ids: dot-separated segments, each [a-z0-9][a-z0-9_-]*, at most this many bytes
 * ("io.ggen.rust.cli-subcommand", "hello-world"). Lower case only, so that ids are also
 * safe, case-insensitive-filesystem-proof directory names (.ggen/packs/<id>/). */
#define GGM_MANIFEST_ID_MAX 128

/* Field caps (bytes / counts), the same as a release record's (include/ggen/release.h), so a
 * manifest that loads can be published. */
#define GGM_MANIFEST_VERSION_MAX 64
#define GGM_MANIFEST_TEXT_MAX 256 /* name, license, category, ggen_compat, author, range, readme   \
                                   */
#define GGM_MANIFEST_URL_MAX 512  /* homepage, repository */
#define GGM_MANIFEST_DESC_MAX 4096
#define GGM_MANIFEST_WORD_MAX 64 /* one tag or keyword */
#define GGM_MANIFEST_LIST_MAX 32 /* authors, tags, keywords */
#define GGM_MANIFEST_DEPS_MAX 256

/* Flags for ggm_manifest_parse(). */
#define GGM_MANIFEST_STRICT 0x1u /* strict TOML 1.0: no 1.1 syntax, no "- item" lists */

typedef struct ggm_manifest_dep {
  const char *id;
  const char *range;  /* npm-style semver range, never empty ("*" = any version) */
  uint32_t line, col; /* where the dependency is declared (0 when built by hand) */
} ggm_manifest_dep;

/*
 * A loaded manifest. All strings are NUL-terminated UTF-8 owned by the manifest (free with
 * ggm_manifest_free). Optional fields are NULL when absent; lists are empty (n = 0) when
 * absent. The pointer shapes match ggm_release's, so a release is filled by assignment.
 */
typedef struct ggm_manifest {
  ggm_manifest_format format;
  const char *id;          /* required, see GGM_MANIFEST_ID_MAX */
  const char *name;        /* display name; the id when the file has none */
  const char *version;     /* required, semver 2.0 */
  const char *description; /* optional */
  const char *license;     /* optional (SPDX expression as written) */
  const char *const *authors;
  size_t n_authors;
  const char *const *tags;
  size_t n_tags;
  const char *const *keywords;
  size_t n_keywords;
  const char *category;    /* optional; first of `categories` when only that is given */
  const char *homepage;    /* optional */
  const char *repository;  /* optional */
  const char *readme;      /* optional (path inside the package) */
  const char *ggen_compat; /* optional semver range of ggen versions */
  const ggm_manifest_dep *deps;
  size_t n_deps;
  /* The whole parsed document, for the kept tables ([templates], [rdf], [install], ...).
   * Borrowed from the manifest; see ggm_manifest_table(). */
  const ggm_toml_val *doc;
  void *priv_; /* private storage */
  const gg_mem *mem_;
} ggm_manifest;

/*
 * Parses and validates a gpack.toml or package.toml held in src[0..len). name is the file
 * name used in messages (NULL gives "<input>"). flags: GGM_MANIFEST_STRICT. err may be NULL;
 * after success err->nwarnings/err->warning report lenient TOML forms that were accepted.
 * On GG_OK, *m owns its storage (ggm_manifest_free). On failure *m is zeroed, err->msg says
 * "file:line:col: what" and the code is GG_EPARSE (malformed TOML, a missing or invalid field),
 * GG_ELIMIT (document over the TOML caps) or GG_ENOMEM.
 */
int ggm_manifest_parse(ggm_manifest *m, const char *name, const void *src, size_t len,
                       unsigned flags, const gg_mem *mem, ggm_toml_error *err);

/* Frees everything m owns and zeroes it. Safe on a zeroed struct. */
void ggm_manifest_free(ggm_manifest *m);

/* A top-level table or value kept from the document ("templates", "rdf", "install"...), or
 * NULL. Borrowed from m. */
const ggm_toml_val *ggm_manifest_table(const ggm_manifest *m, const char *key);

/*
 * Appends the canonical form of m to out, in m's format: the header table with the mapped
 * fields in a fixed order (id/name, name, version, description, license, ggen_compat,
 * authors, tags, keywords, category, homepage, repository, readme), then the header's other
 * keys as read, then (gpack) [dependencies] sorted by id, then every other top-level entry in
 * document order, all through ggm_toml_write(). ggm_manifest_parse() of the output gives an
 * equal manifest, and equal manifests give identical bytes, so packing can rely on it.
 * GG_ETOOBIG (out's limit), GG_ENOMEM, GG_EINVAL.
 */
int ggm_manifest_write(const ggm_manifest *m, gg_buf *out);

/* Checks a package id against the rule above. GG_OK or GG_EINVAL. */
int ggm_manifest_check_id(const char *id, size_t len);

/* Checks a version string: strict semver 2.0 (MAJOR.MINOR.PATCH[-PRE][+BUILD], no leading
 * zeros, no "v" prefix). GG_OK or GG_EINVAL. */
int ggm_manifest_check_version(const char *v, size_t len);

#endif
