// js-libp2p peer for ggen's interoperability tests (tests/test_interop_js.c) and benchmarks
// (bench/bench_conn.c). Node 20, libp2p 2.10 (versions pinned in package-lock.json).
//
// usage: node peer.mjs [--port N] [--seed HEX64] [--no-muxer-ext]
//   --no-muxer-ext  our Noise payload lists no stream muxer (and we ignore the remote's), so
//                   the muxer is negotiated with multistream-select afterwards
// Serves identify, ping and the test echo protocol /test/echo/1.0.0 (echoes every byte, then
// closes its write side when the remote does).
// One line per event on stdout. Commands on stdin, one per line, run in order:
//   dial MA                 -> DIALED <peer> <ms> <multiplexer>
//   ping MA                 -> PONG <ms>
//   peerinfo PEER           -> PEERINFO <peer> agent=<a> protocols=<p,..> addrs=<a,..>
//   echo MA N BYTES         -> ECHO_OK <N> <ms> | ECHO_FAIL <why>   (N concurrent streams)
//   conns                   -> CONN <peer> <direction> <multiplexer> <encryption>  (each), CONNS_END
//   stats                   -> STATS rss=<MiB>
//   quit                    -> BYE
// Errors: ERR <command> <name> <message>.
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { generateKeyPair, generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import readline from 'node:readline'

export const ECHO = '/test/echo/1.0.0'
const args = process.argv.slice(2)
const opt = (name, def) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : def }
const port = opt('--port', '0')
const seed = opt('--seed', null)
const noMuxerExt = args.includes('--no-muxer-ext')

const out = (...a) => console.log(a.map(String).join(' '))
const since = (t) => (performance.now() - t).toFixed(3)

// Noise without the stream-muxer extension: the same encrypter, told to skip it both ways
// (@chainsafe/libp2p-noise's skipStreamMuxerNegotiation), so libp2p's upgrader falls back to
// multistream-select for the muxer.
const noiseNoExt = () => (components) => {
  const n = noise()(components)
  const skip = (o) => ({ ...o, skipStreamMuxerNegotiation: true })
  return {
    protocol: n.protocol,
    [Symbol.toStringTag]: 'noise-no-muxer-ext',
    secureInbound: (c, o) => n.secureInbound(c, skip(o)),
    secureOutbound: (c, o) => n.secureOutbound(c, skip(o))
  }
}

const privateKey = seed ? await generateKeyPairFromSeed('Ed25519', Buffer.from(seed, 'hex'))
  : await generateKeyPair('Ed25519')
const node = await createLibp2p({
  privateKey,
  addresses: { listen: [`/ip4/127.0.0.1/tcp/${port}`] },
  transports: [tcp()],
  connectionEncrypters: [noMuxerExt ? noiseNoExt() : noise()],
  streamMuxers: [yamux()],
  // js accepts 5 inbound connections per second per IP by default, loopback included
  connectionManager: { inboundConnectionThreshold: 100000, maxIncomingPendingConnections: 1000, maxConnections: 100000 },
  services: { identify: identify(), ping: ping() }
})

// the echo protocol: up to 200 concurrent streams per connection (js's default is 32)
await node.handle(ECHO, ({ stream }) => {
  stream.sink(stream.source).catch(() => stream.abort(new Error('echo failed')))
}, { maxInboundStreams: 200, maxOutboundStreams: 200 })

node.addEventListener('peer:identify', (e) => out('IDENTIFIED', e.detail.peerId,
  e.detail.agentVersion, e.detail.protocols.join(','), e.detail.listenAddrs.map(String).join(',')))

// N concurrent streams, each sending `bytes` of a pattern and checking the echo
async function echoOne (ma, bytes, seedByte) {
  const stream = await node.dialProtocol(multiaddr(ma), ECHO, { maxOutboundStreams: 200 })
  const chunk = 64 * 1024
  const sender = (async function * () {
    for (let off = 0; off < bytes; off += chunk) {
      const n = Math.min(chunk, bytes - off)
      const b = new Uint8Array(n)
      for (let i = 0; i < n; i++) b[i] = (off + i + seedByte) & 0xff
      yield b
    }
  })()
  const sent = stream.sink(sender)
  let got = 0
  for await (const list of stream.source) {
    for (const b of list) {
      for (let i = 0; i < b.length; i++) {
        if (b[i] !== ((got + i + seedByte) & 0xff)) throw new Error(`byte ${got + i} differs`)
      }
      got += b.length
    }
  }
  await sent
  if (got !== bytes) throw new Error(`got ${got} of ${bytes} bytes`)
}

const cmds = {
  async dial (ma) {
    const t = performance.now()
    const c = await node.dial(multiaddr(ma))
    out('DIALED', c.remotePeer, since(t), c.multiplexer)
  },
  async ping (ma) { out('PONG', await node.services.ping.ping(multiaddr(ma))) },
  async peerinfo (id) {
    const p = await node.peerStore.get(peerIdFromString(id))
    const agent = p.metadata.get('AgentVersion')
    out('PEERINFO', id, 'agent=' + (agent ? new TextDecoder().decode(agent) : ''),
      'protocols=' + p.protocols.join(','), 'addrs=' + p.addresses.map((a) => a.multiaddr.toString()).join(','))
  },
  async echo (ma, n, bytes) {
    const t = performance.now()
    try {
      await Promise.all(Array.from({ length: Number(n) }, (_, i) => echoOne(ma, Number(bytes), i)))
      out('ECHO_OK', n, since(t))
    } catch (err) { out('ECHO_FAIL', err.message) }
  },
  async conns () {
    for (const c of node.getConnections()) out('CONN', c.remotePeer, c.direction, c.multiplexer, c.encryption)
    out('CONNS_END')
  },
  async stats () { out('STATS', 'rss=' + (process.memoryUsage().rss / 1048576).toFixed(1)) },
  async quit () { await node.stop(); out('BYE'); process.exit(0) }
}

out('READY', node.peerId, node.getMultiaddrs().map(String).join(','))
let chain = Promise.resolve()
for await (const line of readline.createInterface({ input: process.stdin })) {
  const [cmd, ...a] = line.trim().split(/\s+/)
  if (!cmds[cmd]) { if (cmd) out('ERR', cmd, 'unknown', 'command'); continue }
  chain = chain.then(() => cmds[cmd](...a)).catch((err) => out('ERR', cmd, err.name, err.message))
}
await chain
await cmds.quit()
