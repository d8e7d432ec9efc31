#!/usr/bin/python3
"""OpenDHT baseline for bench_dht: N OpenDHT nodes (python3-opendht) on 127.0.0.1 only.

The nodes are spread over worker processes (at most --per-proc, default 250: each DhtRunner
runs its own threads, and about 300 per process is the practical limit here). Node 0 is the
first bootstrap node; the next --boot - 1 join through it, then every other node joins
through node 0 and two more of those. After a settle time, K values are put from random nodes and each is
then read back from another random node with at most C gets in flight, as bench_dht does for
our nodes. A get's latency is the time to its first value (OpenDHT keeps searching after
that; the time to the end of the search is reported too).

Prints one JSON object on stdout:
  {"n": N, "procs": P, "put_ok": .., "get_ok": .., "get_ms": {"p50", "p99", "max"},
   "get_done_ms": {...}, "rss_kib_per_node": ..}
Usage: opendht_bench.py --nodes N [--ops K] [--conc C] [--settle S] [--per-proc M] [--seed X]
Exits 2 when the opendht module is missing (the caller notes it and goes on).
"""
import argparse
import json
import multiprocessing as mp
import os
import random
import sys
import threading
import time

try:
    import opendht
except ImportError:
    print("opendht_bench: python3-opendht is not installed", file=sys.stderr)
    sys.exit(2)

OP_TIMEOUT = 30.0  # one put or get
CMD_TIMEOUT = 300.0  # one command to a worker


def rss_kib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def run_ops(nodes, ops, conc):
    """Runs [(kind, local_index, key, value)] with at most conc in flight; returns
    [(ok, first_value_ms, done_ms)] in order."""
    results = [None] * len(ops)
    sem = threading.Semaphore(conc)
    lock = threading.Lock()
    finished = threading.Event()
    left = [len(ops)]

    def finish(i, res):
        with lock:
            if results[i] is not None:
                return
            results[i] = res
            left[0] -= 1
            if left[0] == 0:
                finished.set()
        sem.release()

    for i, (kind, idx, key, value) in enumerate(ops):
        sem.acquire()
        node = nodes[idx]
        h = opendht.InfoHash.get(key)
        t0 = time.monotonic()
        if kind == "put":
            def done(ok, _nodes, i=i, t0=t0):
                ms = (time.monotonic() - t0) * 1e3
                finish(i, (bool(ok), ms, ms))
            node.put(h, opendht.Value(value.encode()), done)
        else:
            first = [None]
            want = value.encode()

            def got(v, first=first, t0=t0, want=want):
                if first[0] is None and v.data == want:
                    first[0] = (time.monotonic() - t0) * 1e3
                return True

            def done(ok, _nodes, i=i, t0=t0, first=first):
                ms = (time.monotonic() - t0) * 1e3
                finish(i, (first[0] is not None, first[0] if first[0] is not None else -1, ms))
            node.get(h, got, done)
    if ops and not finished.wait(OP_TIMEOUT + 5):
        for i in range(len(ops)):
            if results[i] is None:
                results[i] = (False, -1, -1)
    return results


def worker(conn, count, boot):
    """Serves commands from the coordinator on conn until "quit"."""
    nodes = []
    rss0 = rss_kib()
    try:
        while True:
            cmd = conn.recv()
            if cmd[0] == "start":
                for _ in range(count):
                    r = opendht.DhtRunner()
                    cfg = opendht.DhtConfig()
                    # every node has the address 127.0.0.1: OpenDHT's per-address request
                    # limit would throttle the whole network as if it were one peer
                    cfg.setRateLimit(-1, -1)
                    r.run(port=0, ipv4="127.0.0.1", config=cfg)
                    nodes.append(r)
                conn.send([n.getBound().getPort() for n in nodes])
            elif cmd[0] == "bootstrap":
                # [(local index, port)]: each node joins through a node given by port
                for idx, port in cmd[1]:
                    nodes[idx].bootstrap("127.0.0.1", str(port))
                conn.send("ok")
            elif cmd[0] == "ops":
                conn.send(run_ops(nodes, cmd[1], cmd[2]))
            elif cmd[0] == "rss":
                conn.send((rss_kib() - rss0, len(nodes)))
            elif cmd[0] == "quit":
                # DhtRunner.join() stops the node's threads (shutdown() waits for the network,
                # which can hang here); the coordinator kills a worker that does not exit
                for n in nodes:
                    n.join()
                os._exit(0)
    except EOFError:
        # the coordinator is gone: do not wait for the nodes' threads
        os._exit(3)


def pct(v, p):
    if not v:
        return 0.0
    v = sorted(v)
    k = (len(v) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, required=True)
    ap.add_argument("--ops", type=int, default=200)
    ap.add_argument("--conc", type=int, default=8)
    ap.add_argument("--settle", type=float, default=-1)
    ap.add_argument("--per-proc", type=int, default=250)
    ap.add_argument("--boot", type=int, default=8)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    n = a.nodes
    rnd = random.Random(a.seed)
    procs = max(1, (n + a.per_proc - 1) // a.per_proc)
    counts = [n // procs + (1 if i < n % procs else 0) for i in range(procs)]
    ctx = mp.get_context("spawn")  # libopendht has threads and locks: no bare fork
    workers = []
    for c in counts:
        here, there = ctx.Pipe()
        p = ctx.Process(target=worker, args=(there, c, None), daemon=True)
        p.start()
        there.close()
        workers.append((p, here))

    def call(w, msg):
        p, conn = workers[w]
        conn.send(msg)
        if not conn.poll(CMD_TIMEOUT):
            raise SystemExit("opendht_bench: worker %d did not answer %s" % (w, msg[0]))
        try:
            return conn.recv()
        except EOFError:
            raise SystemExit("opendht_bench: worker %d died (exit %s)" % (w, p.exitcode))

    def call_all(msgs):
        for w, m in enumerate(msgs):
            if m is not None:
                workers[w][1].send(m)
        out = [None] * len(msgs)
        for w, m in enumerate(msgs):
            if m is None:
                continue
            p, conn = workers[w]
            if not conn.poll(CMD_TIMEOUT):
                raise SystemExit("opendht_bench: worker %d did not answer %s" % (w, m[0]))
            try:
                out[w] = conn.recv()
            except EOFError:
                raise SystemExit("opendht_bench: worker %d died (exit %s)" % (w, p.exitcode))
        return out

    # global node g lives in worker g % procs at local index g // procs
    ports_by_worker = call_all([("start",)] * procs)
    port = [ports_by_worker[g % procs][g // procs] for g in range(n)]
    nboot = min(a.boot, n)
    # The bootstrap nodes join through node 0; then every node joins through node 0 and two
    # other bootstrap nodes, in batches: UDP pings lost in a burst of a thousand joins would
    # leave nodes (and the values they store) outside the network.
    first = [[] for _ in range(procs)]
    for g in range(1, nboot):
        first[g % procs].append((g // procs, port[0]))
    call_all([("bootstrap", f) for f in first])
    time.sleep(0.5)
    batch = 100
    for start in range(nboot, n, batch):
        plan = [[] for _ in range(procs)]
        for g in range(start, min(n, start + batch)):
            plan[g % procs].append((g // procs, port[0]))
            for b in rnd.sample(range(1, nboot), min(2, nboot - 1)):
                plan[g % procs].append((g // procs, port[b]))
        call_all([("bootstrap", p) for p in plan])
        time.sleep(0.1)
    settle = a.settle if a.settle >= 0 else 5.0 + n / 100.0
    time.sleep(settle)

    def run(ops):
        """ops: [(kind, global node, key, value)]; split by worker, same total concurrency."""
        per = [[] for _ in range(procs)]
        where = []
        for op in ops:
            w = op[1] % procs
            where.append((w, len(per[w])))
            per[w].append((op[0], op[1] // procs, op[2], op[3]))
        conc = max(1, a.conc // procs)
        res = call_all([("ops", p, conc) if p else None for p in per])
        return [res[w][i] for w, i in where]

    writers = [rnd.randrange(n) for _ in range(a.ops)]
    keys = ["bench-%d-%d" % (n, i) for i in range(a.ops)]
    vals = ["value-%d-%d" % (i, n) for i in range(a.ops)]
    puts = run([("put", writers[i], keys[i], vals[i]) for i in range(a.ops)])
    readers = []
    for i in range(a.ops):
        r = rnd.randrange(n)
        if r == writers[i] and n > 1:
            r = (r + 1) % n
        readers.append(r)
    gets = run([("get", readers[i], keys[i], vals[i]) for i in range(a.ops)])
    mem = call_all([("rss",)] * procs)
    for p, conn in workers:
        conn.send(("quit",))
    deadline = time.monotonic() + 20
    for p, conn in workers:
        p.join(max(0.1, deadline - time.monotonic()))
        if p.is_alive():
            p.kill()
            p.join(5)
    ok = [g[1] for g in gets if g[0]]
    done = [g[2] for g in gets if g[0]]
    out = {
        "n": n,
        "procs": procs,
        "settle_s": settle,
        "put_ok": sum(1 for p in puts if p[0]),
        "get_ok": len(ok),
        "ops": a.ops,
        "get_ms": {"p50": pct(ok, 50), "p99": pct(ok, 99), "max": max(ok) if ok else 0},
        "get_done_ms": {"p50": pct(done, 50), "p99": pct(done, 99)},
        "rss_kib_per_node": sum(m[0] for m in mem) / max(1, sum(m[1] for m in mem)),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
