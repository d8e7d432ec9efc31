// js-libp2p Kademlia peers for ggen's DHT interoperability tests (tests/test_kad_js.c).
// Node 20, libp2p 2.10, @libp2p/kad-dht 15.1.11 (versions pinned in package-lock.json).
//
// usage: node kad-peer.mjs [--count N] [--kad-protocol P] [--k K] [--concurrency C]
// Runs N libp2p nodes in this one process (each with its own key, TCP port on 127.0.0.1 and
// DHT), with the settings ../shared/INTEROP.md lists for loopback: kad-dht server mode,
// passthroughMapper (keep 127.0.0.1 addresses), allowQueryWithZeroPeers, a raised inbound
// connection threshold. Record namespaces: /test (any non-empty value; the bytewise larger
// value wins, as our tests' /test namespace) and /ggen-pkg (a signed release record: the
// Ed25519 signature over "ggen-release-v1:" || body is checked, id and version must match the
// key; the newer publish time wins, then the bytewise larger record, as ggen's selector).
//
// Prints "READY <i> <peer id> <multiaddr>" per node, then "ALLREADY".
// Commands on stdin, one per line, "<tag> <command> <node> args...": up to C (default 4) per
// node run at once, started in order; every answer line starts with the tag:
//   dial I MA            -> <tag> DIALED <peer>
//   boot I               -> <tag> BOOTED <routing table size>   (self-lookup: fills the table)
//   put I KEY HEX        -> <tag> PUT <acks> <peer>,<peer>...  (the peers that stored it)
//   get I KEY            -> <tag> GOT <hex> | <tag> NOTFOUND [<error name>=<count>,...]
//   provide I CID        -> <tag> PROVIDED
//   findprov I CID       -> <tag> PROVIDERS <peer>=<addr>|<addr>,<peer>=...  (may be empty)
//   findpeer I PEER      -> <tag> PEER <addr>,<addr> | <tag> NOPEER
//   rt I                 -> <tag> RT <size> <peer>,<peer>,...
//   quit                 -> BYE (no tag)
// Failures: "<tag> ERR <name> <message>".
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { generateKeyPair, publicKeyFromProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { CID } from 'multiformats/cid'
import readline from 'node:readline'

const args = process.argv.slice(2)
const opt = (name, def) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : def }
const count = Number(opt('--count', '1'))
const kadProtocol = opt('--kad-protocol', '/ggen/kad/1.0.0')
const kBucketSize = Number(opt('--k', '20'))
const concurrency = Number(opt('--concurrency', '4'))
const te = new TextEncoder()
const td = new TextDecoder()
const out = (...a) => console.log(a.map(String).join(' '))
const hex = (b) => Buffer.from(b).toString('hex')
const unhex = (s) => new Uint8Array(Buffer.from(s, 'hex'))

// ---- records ----------------------------------------------------------------------------

function cmpBytes (a, b) {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i]
  return a.length - b.length
}
const largest = (records) => records.reduce((best, r, i) => cmpBytes(r, records[best]) > 0 ? i : best, 0)

// A minimal protobuf reader: fields of one message as [number, wire type, value].
function * pbFields (b) {
  let i = 0
  const varint = () => {
    let v = 0n; let s = 0n
    for (;;) {
      if (i >= b.length) throw new Error('truncated varint')
      const c = b[i++]; v |= BigInt(c & 0x7f) << s; s += 7n
      if (!(c & 0x80)) return v
      if (s > 63n) throw new Error('varint too long')
    }
  }
  while (i < b.length) {
    const tag = Number(varint()); const no = tag >>> 3; const wt = tag & 7
    if (wt === 0) yield [no, wt, varint()]
    else if (wt === 2) {
      const n = Number(varint())
      if (i + n > b.length) throw new Error('truncated field')
      yield [no, wt, b.subarray(i, i + n)]; i += n
    } else throw new Error('unsupported wire type ' + wt)
  }
}

// Decodes and verifies a SignedRelease (ggen proto/release.proto); returns {id, version, time}.
async function release (value) {
  let body, sig
  for (const [no, , v] of pbFields(value)) { if (no === 1) body = v; else if (no === 2) sig = v }
  if (!body || !sig || sig.length !== 64) throw new Error('not a signed release')
  const r = { id: '', version: '', time: 0n, key: null }
  for (const [no, wt, v] of pbFields(body)) {
    if (no === 1 && wt === 2) r.id = td.decode(v)
    else if (no === 2 && wt === 2) r.version = td.decode(v)
    else if (no === 16 && wt === 0) r.time = v
    else if (no === 17 && wt === 2) r.key = v
  }
  if (!r.key) throw new Error('no publisher key')
  const pub = publicKeyFromProtobuf(r.key)
  const signed = new Uint8Array([...te.encode('ggen-release-v1:'), ...body])
  if (!(await pub.verify(signed, sig))) throw new Error('bad release signature')
  return r
}

const validators = {
  test: async (key, value) => { if (value.length === 0) throw new Error('empty value') },
  'ggen-pkg': async (key, value) => {
    const k = td.decode(key) // /ggen-pkg/<id>@<version>
    const at = k.indexOf('@', 10)
    const r = await release(value)
    if (at < 0 || k.slice(10, at) !== r.id || k.slice(at + 1) !== r.version) throw new Error('record does not match its key')
  }
}
const selectors = {
  test: (key, records) => largest(records),
  'ggen-pkg': (key, records) => {
    // every record here passed the validator; newer publish time, then bytes
    let best = 0; let bestTime = -1n
    records.forEach((rec, i) => {
      let t = -1n
      try { for (const [no, , v] of pbFields(rec)) if (no === 1) for (const [n2, wt, v2] of pbFields(v)) if (n2 === 16 && wt === 0) t = v2 } catch {}
      if (t > bestTime || (t === bestTime && cmpBytes(rec, records[best]) > 0)) { best = i; bestTime = t }
    })
    return best
  }
}

// ---- nodes --------------------------------------------------------------------------------

async function makeNode () {
  return createLibp2p({
    privateKey: await generateKeyPair('Ed25519'),
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    // js accepts 5 inbound connections per second per IP by default, loopback included
    connectionManager: { inboundConnectionThreshold: 100000, maxIncomingPendingConnections: 1000, maxConnections: 100000 },
    services: {
      identify: identify(),
      ping: ping(), // kad-dht pings a new contact before it enters the routing table
      dht: kadDHT({
        protocol: kadProtocol,
        clientMode: false, // else a client until a public address is seen: never on loopback
        peerInfoMapper: passthroughMapper, // the default drops 127.0.0.1 addresses
        allowQueryWithZeroPeers: true,
        kBucketSize,
        validators,
        selectors
      })
    }
  })
}

const nodes = await Promise.all(Array.from({ length: count }, makeNode))
const dhtOf = (i) => {
  const n = nodes[Number(i)]
  if (!n) throw new Error('no node ' + i)
  return n.services.dht
}
const cidOf = (s) => CID.parse(s)

const cmds = {
  async dial (tag, i, ma) { const c = await nodes[Number(i)].dial(multiaddr(ma)); out(tag, 'DIALED', c.remotePeer) },
  async boot (tag, i) {
    const n = nodes[Number(i)]
    for await (const e of dhtOf(i).getClosestPeers(n.peerId.toMultihash().bytes)) void e
    out(tag, 'BOOTED', dhtOf(i).routingTable.size)
  },
  async put (tag, i, key, value) {
    const acks = []
    for await (const e of dhtOf(i).put(te.encode(key), unhex(value))) {
      if (e.name === 'PEER_RESPONSE' && e.messageName === 'PUT_VALUE') acks.push(e.from)
    }
    out(tag, 'PUT', acks.length, acks.join(','))
  },
  async get (tag, i, key) {
    const errors = new Map() // why peers failed, for the NOTFOUND line
    try {
      for await (const e of dhtOf(i).get(te.encode(key))) {
        if (e.name === 'VALUE') return out(tag, 'GOT', hex(e.value))
        if (e.name === 'QUERY_ERROR') errors.set(e.error.name, (errors.get(e.error.name) ?? 0) + 1)
      }
      out(tag, 'NOTFOUND', [...errors].map(([n, c]) => n + '=' + c).join(','))
    } catch (err) {
      if (err.name === 'NotFoundError') out(tag, 'NOTFOUND')
      else throw err
    }
  },
  async provide (tag, i, cid) {
    for await (const e of dhtOf(i).provide(cidOf(cid))) void e
    out(tag, 'PROVIDED')
  },
  async findprov (tag, i, cid) {
    const found = new Map()
    for await (const e of dhtOf(i).findProviders(cidOf(cid), { signal: AbortSignal.timeout(20000) })) {
      if (e.name !== 'PROVIDER') continue
      for (const p of e.providers) found.set(p.id.toString(), p.multiaddrs.map(String).join('|'))
    }
    out(tag, 'PROVIDERS', [...found].map(([id, a]) => id + '=' + a).join(','))
  },
  async findpeer (tag, i, peer) {
    for await (const e of dhtOf(i).findPeer(peerIdFromString(peer), { signal: AbortSignal.timeout(20000) })) {
      if (e.name === 'FINAL_PEER') return out(tag, 'PEER', e.peer.multiaddrs.map(String).join(','))
    }
    out(tag, 'NOPEER')
  },
  async rt (tag, i) {
    const rt = dhtOf(i).routingTable
    const peers = []
    for (const bucket of rt.kb?.toIterable?.() ?? []) peers.push(bucket.peerId.toString())
    out(tag, 'RT', rt.size, peers.join(','))
  }
}

for (const [i, n] of nodes.entries()) out('READY', i, n.peerId, n.getMultiaddrs()[0])
out('ALLREADY')

// At most `concurrency` commands run at once per node (in the order they came), as one
// application would issue them: one Node process running many nodes saturates its CPU when it
// runs hundreds of queries at once, and kad-dht then times its own requests out (5 s).
const queues = new Map()
const all = []
function enqueue (node, run) {
  let q = queues.get(node)
  if (!q) { q = { running: 0, waiting: [] }; queues.set(node, q) }
  return new Promise((resolve) => {
    const start = () => {
      q.running++
      run().finally(() => { q.running--; if (q.waiting.length) q.waiting.shift()(); resolve() })
    }
    if (q.running < concurrency) start()
    else q.waiting.push(start)
  })
}
for await (const line of readline.createInterface({ input: process.stdin })) {
  const [tag, cmd, ...a] = line.trim().split(/\s+/)
  if (!tag) continue
  if (tag === 'quit') break
  if (!cmds[cmd]) { out(tag, 'ERR', 'unknown', cmd); continue }
  all.push(enqueue(a[0], () => cmds[cmd](tag, ...a).catch((err) => out(tag, 'ERR', err.name, JSON.stringify(err.message)))))
}
await Promise.allSettled(all)
await Promise.all(nodes.map((n) => n.stop()))
out('BYE')
process.exit(0)
