/*
 * Fuzz target: the catalog's hostile inputs. The first byte picks the mode:
 *   even: the rest is a registry index file for ggs_catalog_import_json_buf() (it must load or
 *         be refused as a whole, and the catalog must stay consistent);
 *   odd:  the rest is a search: query text, then NUL-separated tag/author/category/license
 *         filters and a limit byte, against a catalog seeded with ggen's marketplace index.
 * After every input the catalog passes ggs_catalog_check() (database + FTS index).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ggen/catalog.h"
#include "ggen/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char seed[] =
    "{\"packages\":["
    "{\"name\":\"agent-editor\",\"version\":\"1.0.0\",\"category\":\"ai-agents\","
    "\"description\":\"AI-powered code editor automation\",\"tags\":[\"ai\",\"editor\"],"
    "\"keywords\":[\"refactoring\"],\"author\":\"ggen-team\",\"license\":\"MIT\","
    "\"downloads\":1200,\"stars\":14,\"dependencies\":[\"agent-memory-forge\"]},"
    "{\"name\":\"agent-memory-forge\",\"version\":\"0.3.1\",\"category\":\"ai-agents\","
    "\"description\":\"memory for agents\",\"tags\":[\"ai\",\"memory\"],\"keywords\":[],"
    "\"author\":\"ggen-team\",\"license\":\"Apache-2.0\",\"downloads\":90,\"stars\":2},"
    "{\"name\":\"rust-cli-search\",\"version\":\"2.0.0-rc.1\",\"category\":\"cli\","
    "\"description\":\"search tool for the terminal\",\"tags\":[\"rust\",\"cli\",\"search\"],"
    "\"keywords\":[\"grep\"],\"author\":\"alice\",\"license\":\"MIT\",\"downloads\":50000}]}";

static ggs_catalog *cat;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (cat == NULL) {
    if (ggs_catalog_open(&cat, ":memory:", GGS_CATALOG_CREATE, NULL) != GG_OK) abort();
    if (ggs_catalog_import_json_buf(cat, seed, sizeof(seed) - 1, NULL) != GG_OK) abort();
  }
  if (size == 0) return 0;
  if ((data[0] & 1) == 0) {
    ggs_catalog_import_stats st;
    int err = ggs_catalog_import_json_buf(cat, (const char *)data + 1, size - 1, &st);
    if (err != GG_OK && err != GG_EPARSE && err != GG_ENOMEM) abort();
  } else {
    /* text \0 tag \0 author \0 category \0 license \0 limit */
    char *buf = calloc(1, size + 6);
    memcpy(buf, data + 1, size - 1);
    const char *f[5] = {buf, "", "", "", ""};
    size_t k = 1;
    for (size_t i = 0; i + 1 < size && k < 5; i++)
      if (buf[i] == '\0') f[k++] = buf + i + 1;
    const char *tag = f[1];
    ggs_catalog_query q = {.text = f[0],
                           .tags = &tag,
                           .n_tags = tag[0] ? 1 : 0,
                           .author = f[2][0] ? f[2] : NULL,
                           .category = f[3][0] ? f[3] : NULL,
                           .license = f[4][0] ? f[4] : NULL,
                           .min_stars = size > 2 ? data[size - 1] % 3 : 0,
                           .limit = size > 1 ? data[size - 1] : 0};
    ggs_catalog_results *r = NULL;
    int err = ggs_catalog_search(cat, &q, &r);
    if (err == GG_OK) {
      for (size_t i = 0; i < r->n; i++)
        if (r->hits[i].id == NULL || (i && r->hits[i].exact > r->hits[i - 1].exact)) abort();
      ggs_catalog_results_free(r);
    } else if (err != GG_EINVAL && err != GG_ENOMEM) {
      abort();
    }
    free(buf);
  }
  if (ggs_catalog_check(cat) != GG_OK) abort();
  return 0;
}
