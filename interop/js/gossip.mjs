// js-libp2p gossipsub peers for ggen's gossipsub interoperability tests
// (tests/test_interop_gossip.c). Node 20, libp2p 2.10, @chainsafe/libp2p-gossipsub 14.1.2
// (versions pinned in package-lock.json).
//
// usage: node gossip.mjs [--nodes N] [--seed HEX64] [--D n] [--Dlo n] [--Dhi n] [--Dout n]
//                        [--Dlazy n] [--flood-publish 0|1] [--prune-backoff MS]
//                        [--heartbeat MS]
// Runs N libp2p nodes in this one process (nodes 0..N-1; with --seed, node i's Ed25519 seed is
// the seed with its last byte xor i), each with TCP, Noise, Yamux, identify, ping and
// gossipsub (StrictSign, allowPublishToZeroTopicPeers, a raised inboundConnectionThreshold).
//
// Output, one line per event:
//   READY <i> <peer> <addr>                 once per node at start, then READY_ALL
//   MSG <i> <topic> <from> <data>            a message delivered to node i
//   GRAFT_IN <i> <peer> <topic> <ms>         node i received a GRAFT (ms: Date.now())
//   PRUNE_IN <i> <peer> <topic> <ms>         node i received a PRUNE
//   IHAVE_IN <i> <peer> <ids> iwant=<k>      node i received IHAVE and asked for k ids
//   IWANT_IN <i> <peer> <ids> served=<k>     node i received IWANT and served k messages
// Commands on stdin, one per line, run in order:
//   dial I MA            -> DIALED I <peer>
//   sub I TOPIC          -> SUBSCRIBED I TOPIC
//   unsub I TOPIC        -> UNSUBSCRIBED I TOPIC
//   pub I TOPIC DATA...  -> PUBLISHED I recipients=<n>
//   mesh I TOPIC         -> MESH I TOPIC <peer,peer,...|->
//   subs I TOPIC         -> SUBSCRIBERS I TOPIC <peer,...|->
//   proto I PEER         -> PROTO I PEER <protocol of node i's outbound stream to PEER|->
//   score I PEER         -> SCORE I PEER <score>
//   prune I PEER TOPIC   -> PRUNED I PEER TOPIC <ms>   (takes PEER out of node i's mesh and
//                           sends it a PRUNE with the configured backoff, as a heartbeat would)
//   stats                -> STATS rss=<MiB>
//   quit                 -> BYE
// Errors: ERR <command> <name> <message>.
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { gossipsub } from '@chainsafe/libp2p-gossipsub'
import { generateKeyPair, generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import readline from 'node:readline'

const args = process.argv.slice(2)
const opt = (name, def) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : def }
const num = (name) => (opt(name, null) === null ? undefined : Number(opt(name, null)))
const nnodes = Number(opt('--nodes', '1'))
const seed = opt('--seed', null)

const out = (...a) => console.log(a.map(String).join(' '))
const te = new TextEncoder()
const td = new TextDecoder()

const gsOpts = { allowPublishToZeroTopicPeers: true, emitSelf: false }
for (const [flag, key] of [['--D', 'D'], ['--Dlo', 'Dlo'], ['--Dhi', 'Dhi'], ['--Dout', 'Dout'],
  ['--Dlazy', 'Dlazy'], ['--prune-backoff', 'pruneBackoff'], ['--heartbeat', 'heartbeatInterval']]) {
  if (num(flag) !== undefined) gsOpts[key] = num(flag)
}
if (opt('--flood-publish', null) !== null) gsOpts.floodPublish = opt('--flood-publish') === '1'

async function makeNode (i) {
  let privateKey
  if (seed) {
    const s = Buffer.from(seed, 'hex')
    s[31] ^= i
    privateKey = await generateKeyPairFromSeed('Ed25519', s)
  } else {
    privateKey = await generateKeyPair('Ed25519')
  }
  const node = await createLibp2p({
    privateKey,
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    // js accepts 5 inbound connections per second per IP by default, loopback included
    connectionManager: { inboundConnectionThreshold: 100000, maxIncomingPendingConnections: 1000, maxConnections: 100000 },
    services: { identify: identify(), ping: ping(), pubsub: gossipsub(gsOpts) }
  })
  const gs = node.services.pubsub
  gs.addEventListener('message', (e) => {
    const m = e.detail.msg ?? e.detail
    out('MSG', i, m.topic, m.from ?? '-', td.decode(m.data))
  })
  gs.addEventListener('gossipsub:graft', (e) => {
    if (e.detail.direction === 'inbound') out('GRAFT_IN', i, e.detail.peerId, e.detail.topic, Date.now())
  })
  gs.addEventListener('gossipsub:prune', (e) => {
    if (e.detail.direction === 'inbound') out('PRUNE_IN', i, e.detail.peerId, e.detail.topic, Date.now())
  })
  // IHAVE/IWANT are not events in js: wrap the handlers to report them
  const ihave = gs.handleIHave.bind(gs)
  gs.handleIHave = (id, msgs) => {
    const r = ihave(id, msgs)
    const n = msgs.reduce((a, m) => a + (m.messageIDs?.length ?? 0), 0)
    out('IHAVE_IN', i, id, n, 'iwant=' + (r[0]?.messageIDs?.length ?? 0))
    return r
  }
  const iwant = gs.handleIWant.bind(gs)
  gs.handleIWant = (id, msgs) => {
    const r = iwant(id, msgs)
    const n = msgs.reduce((a, m) => a + (m.messageIDs?.length ?? 0), 0)
    out('IWANT_IN', i, id, n, 'served=' + r.length)
    return r
  }
  return node
}

const nodes = []
for (let i = 0; i < nnodes; i++) nodes.push(await makeNode(i))
const gsOf = (i) => {
  const n = nodes[Number(i)]
  if (!n) throw new Error('no node ' + i)
  return n.services.pubsub
}
const list = (a) => (a.length ? a.map(String).join(',') : '-')

const cmds = {
  async dial (i, ma) {
    const c = await nodes[Number(i)].dial(multiaddr(ma))
    out('DIALED', i, c.remotePeer)
  },
  async sub (i, topic) { gsOf(i).subscribe(topic); out('SUBSCRIBED', i, topic) },
  async unsub (i, topic) { gsOf(i).unsubscribe(topic); out('UNSUBSCRIBED', i, topic) },
  async pub (i, topic, ...m) {
    const r = await gsOf(i).publish(topic, te.encode(m.join(' ')))
    out('PUBLISHED', i, 'recipients=' + r.recipients.length)
  },
  async mesh (i, topic) { out('MESH', i, topic, list(gsOf(i).getMeshPeers(topic))) },
  async subs (i, topic) { out('SUBSCRIBERS', i, topic, list(gsOf(i).getSubscribers(topic))) },
  async proto (i, peer) { out('PROTO', i, peer, gsOf(i).streamsOutbound.get(peer)?.protocol ?? '-') },
  async score (i, peer) { out('SCORE', i, peer, gsOf(i).getScore(peer)) },
  async prune (i, peer, topic) {
    // what js's heartbeat does to a peer it drops from a mesh: remove, back off, send PRUNE
    const gs = gsOf(i)
    gs.mesh.get(topic)?.delete(peer)
    const p = await gs.makePrune(peer, topic, gs.opts.doPX, false)
    gs.sendRpc(peer, { subscriptions: [], messages: [], control: { graft: [], prune: [p], ihave: [], iwant: [], idontwant: [] } })
    out('PRUNED', i, peer, topic, Date.now())
  },
  async stats () { out('STATS', 'rss=' + (process.memoryUsage().rss / 1048576).toFixed(1)) },
  async quit () {
    await Promise.all(nodes.map((n) => n.stop()))
    out('BYE')
    process.exit(0)
  }
}

nodes.forEach((n, i) => out('READY', i, n.peerId, n.getMultiaddrs().map(String).join(',')))
out('READY_ALL', nnodes)
let chain = Promise.resolve()
for await (const line of readline.createInterface({ input: process.stdin })) {
  const [cmd, ...a] = line.trim().split(/\s+/)
  if (!cmds[cmd]) { if (cmd) out('ERR', cmd, 'unknown', 'command'); continue }
  chain = chain.then(() => cmds[cmd](...a)).catch((err) => out('ERR', cmd, err.name, err.message))
}
await chain
await cmds.quit()
