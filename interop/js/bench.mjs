// js-libp2p side of bench/bench_conn.c: the same measurements as ours, with both ends in one
// Node process (libp2p 2.10, TCP + Noise + Yamux + Identify on loopback).
// usage: node bench.mjs [--setups N] [--concurrency C] [--bytes B]
// Prints one JSON object per line:
//   {"bench":"idle_rss","mib":..}                         one started node, nothing else
//   {"bench":"setup","n":N,"seconds":..,"per_sec":..,"per_cpu_sec":..}   dial + upgrade +
//                                                           identify, then close
//   {"bench":"throughput","bytes":B,"seconds":..,"mb_per_sec":..,"mb_per_cpu_sec":..}
//                                                           one stream, one way
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'

const args = process.argv.slice(2)
const opt = (name, def) => { const i = args.indexOf(name); return i >= 0 ? Number(args[i + 1]) : def }
const setups = opt('--setups', 1000)
const concurrency = opt('--concurrency', 8)
const bytes = opt('--bytes', 256 * 1024 * 1024)
const out = (o) => console.log(JSON.stringify(o))
const SINK = '/test/sink/1.0.0'

const mk = () => createLibp2p({
  addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
  transports: [tcp()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  connectionManager: { inboundConnectionThreshold: 1e9, maxIncomingPendingConnections: 1000, maxConnections: 100000 },
  services: { identify: identify(), ping: ping() }
})

const a = await mk()
if (global.gc) global.gc()
out({ bench: 'idle_rss', mib: +(process.memoryUsage().rss / 1048576).toFixed(1) })
// one listener per concurrent dialer: js joins concurrent dials to the same peer
const listeners = []
for (let i = 0; i < concurrency; i++) listeners.push(await mk())
const b = listeners[0]
const target = b.getMultiaddrs()[0]

// setups: dial (forcing a new connection), wait for identify of that connection, close it;
// `concurrency` dialers at once, each to its own listener
// (identify on loopback may finish before the dial's promise resolves: remember early ones)
const identified = new Map()
const early = new Set()
a.addEventListener('peer:identify', (e) => {
  const id = e.detail.connection.id
  const r = identified.get(id)
  if (r) { identified.delete(id); r() } else early.add(id)
})
async function oneSetup (to = target) {
  const conn = await a.dial(to, { force: true })
  if (!early.delete(conn.id)) await new Promise((resolve) => identified.set(conn.id, resolve))
  conn.close().catch(() => {}) // closing is not part of a setup; js waits ~20 ms for it
}
// warm up (JIT, first connection)
for (let i = 0; i < 10; i++) await oneSetup()
let left = setups
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6 }
const t0 = performance.now()
const c0 = cpu()
await Promise.all(listeners.map(async (l) => {
  const to = l.getMultiaddrs()[0]
  while (left > 0) { left--; await oneSetup(to) }
}))
const st = (performance.now() - t0) / 1000
out({ bench: 'setup', n: setups, concurrency, seconds: +st.toFixed(3), per_sec: +(setups / st).toFixed(1),
  per_cpu_sec: +(setups / (cpu() - c0)).toFixed(1) })

// throughput: one stream, `bytes` from a to b in 64 KiB chunks, timed until b has read them all
let done
await b.handle(SINK, async ({ stream }) => {
  let n = 0
  for await (const list of stream.source) n += list.byteLength
  await stream.close()
  done(n)
})
const got = new Promise((resolve) => { done = resolve })
const conn = await a.dial(target, { force: true })
const stream = await conn.newStream(SINK)
const chunk = new Uint8Array(64 * 1024).fill(7)
const t1 = performance.now()
const c1 = cpu()
await stream.sink((async function * () { for (let s = 0; s < bytes; s += chunk.length) yield chunk })())
const n = await got
const tt = (performance.now() - t1) / 1000
out({ bench: 'throughput', bytes: n, seconds: +tt.toFixed(3), mb_per_sec: +(n / tt / 1e6).toFixed(1),
  mb_per_cpu_sec: +(n / (cpu() - c1) / 1e6).toFixed(1) })
await a.stop()
for (const l of listeners) await l.stop()
process.exit(0)
