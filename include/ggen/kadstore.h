/*
 * SQLite mirror of a Kademlia core's records and provider records, so they survive a
 * restart (<home>/dht.db). The core keeps the live state in memory; the glue forwards the
 * core's persistence callbacks here and calls ggs_kadstore_load() once at start.
 *
 * Tables: records(key PRIMARY KEY, value, received, published) and
 * providers(key, peer, addrs, expires, PRIMARY KEY(key, peer)). WAL journal, a small page
 * cache (many nodes may run in one process).
 */
#ifndef GGEN_KADSTORE_H
#define GGEN_KADSTORE_H

#include "ggen/kad.h"

typedef struct ggs_kadstore ggs_kadstore;

/* Opens or creates the database at path. GG_ESTORAGE (schema/open failure), GG_ENOMEM. */
int ggs_kadstore_open(ggs_kadstore **out, const char *path);
void ggs_kadstore_close(ggs_kadstore *st);

/* Mirror operations (upserts and deletes). GG_OK or GG_ESTORAGE. */
int ggs_kadstore_record_put(ggs_kadstore *st, const ggp_kad_record *rec);
int ggs_kadstore_record_del(ggs_kadstore *st, const uint8_t *key, size_t klen);
int ggs_kadstore_provider_put(ggs_kadstore *st, const uint8_t *key, size_t klen,
                              const ggp_kad_peerinfo *prov, gg_ts expires);
int ggs_kadstore_provider_del(ggs_kadstore *st, const uint8_t *key, size_t klen,
                              const gg_peerid *prov);

/* Loads every unexpired row into kad (ggp_kad_load_*) and deletes expired ones.
 * *records and *providers (may be NULL) get the counts loaded. */
int ggs_kadstore_load(ggs_kadstore *st, ggp_kad *kad, gg_ts now, size_t *records,
                      size_t *providers);

#endif
