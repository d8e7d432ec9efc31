/*
 * ggen p2p: run and query a libp2p node. Commands are added to the table as the connection
 * stack, Kademlia and Gossipsub land.
 */
#include "cli.h"
#include "cli_p2p.h"

static const char help[] = "usage: ggen p2p <command> [options]\n";

static const cli_cmd cmds[] = {
    {"id", cli_p2p_id, "print this home's peer id"},
    {"start", cli_p2p_start, "run a node in the foreground (identify, ping, DHT, Gossipsub)"},
    {"ping", cli_p2p_ping, "dial a peer, identify it and ping it"},
    {"dht", cli_p2p_dht, "Kademlia DHT: put, get, provide, find-providers, find-peer"},
    {"peers", cli_p2p_peers, "peer reputation: who served fetches and searches, best first"},
    {"pubsub", cli_p2p_pubsub, "Gossipsub: sub (print a topic's messages), pub (publish one)"},
    {NULL, NULL, NULL},
};

int cli_p2p_main(cli_ctx *ctx, int argc, char **argv) {
  return cli_dispatch(ctx, "ggen p2p", help, cmds, argc - 1, argv + 1);
}
