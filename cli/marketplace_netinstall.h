/*
 * Installing from the network: the records and archives an install needs, fetched before the
 * offline installer runs (cli/marketplace_netinstall.c).
 */
#ifndef GG_CLI_MARKETPLACE_NETINSTALL_H
#define GG_CLI_MARKETPLACE_NETINSTALL_H

#include <jansson.h>

#include "cli.h"
#include "ggen/install.h"
#include "marketplace_net.h"

/* Looks up the records (install: of reqs[0..n) and the project's own roots; update: of
 * ids[0..nids), or of every installed pack when nids is 0, once each) and their dependencies
 * that the catalog lacks, then fetches the archives the installer's plan needs. Prints what it
 * fetched (not with --json) and puts a report in *report (JSON: via, lookups, fetched).
 * Returns CLI_OK (the installer decides the rest) or CLI_INTERRUPTED. */
int cli_mp_net_prepare(cli_ctx *ctx, cli_net *net, const char *dir, const ggm_install_env *env,
                       const ggm_install_req *reqs, size_t n, unsigned flags, int update,
                       const char *const *ids, size_t nids, json_t **report);

#endif
