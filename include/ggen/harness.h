/*
 * The node side of the benchmark harness (src/net/harness.c): one worker process runs many
 * real nodes (our full stack on TCP loopback) on a single uv loop and executes commands read
 * from a stream socket, one per line. The coordinator (bench/support/harness.h) starts
 * several workers, because one process may hold only so many file descriptors, and drives
 * them all; docs/harness.md describes the whole design.
 *
 * Protocol (text, one line each way per command; fields separated by one space):
 *   request:  TAG CMD ARG...                       TAG: a token chosen by the coordinator
 *   reply:    TAG ok KEY=VALUE...                  in completion order, not request order
 *             TAG err GG_ENAME free text
 * Many commands may be outstanding; each gets exactly one reply. Durations in replies are
 * nanoseconds measured by the worker's monotonic clock from the moment the command was read.
 *
 * Commands (IDX is a node index chosen by the coordinator, unique across all workers):
 *   set KEY=VALUE...         settings for nodes started afterwards (see docs/harness.md)
 *   start IDX                a node with a key derived from (seed, IDX), listening on
 *                            127.0.0.1:0   -> peer=<base58 id> addr=/ip4/127.0.0.1/tcp/<port>
 *   stop IDX                 closes that node (its connections end with a GoAway)
 *   addr IDX PEER MADDR      adds an address to the node's peer store
 *   connect IDX PEER MADDR   dials until upgraded                    -> ns=
 *   ping IDX PEER MADDR      one libp2p ping, connecting if needed   -> ns= rtt=
 *   nstats IDX               that node's connections                 -> conns= open= peers=
 *   stats                    the process: nodes, fds, memory, CPU    -> nodes= rss_kb= heap=
 *                            fds= conns= open= cpu_ms=
 *   quit                     closes every node, replies, exits 0
 * A worker whose command stream ends (the coordinator died) closes its nodes and exits 3.
 */
#ifndef GGEN_HARNESS_H
#define GGEN_HARNESS_H

/*
 * Runs a worker on file descriptor fd (a connected stream socket to the coordinator) until
 * "quit" or the end of the stream, then returns the process exit status (0 after quit, 3
 * when the coordinator went away, 1 when the loop could not be set up). Raises
 * RLIMIT_NOFILE to its hard limit first. name is used in log lines ("worker 3").
 */
int ggn_harness_worker_run(int fd, const char *name);

#endif
