// Raw Yamux over TCP (no Noise, no multistream-select) with js-libp2p's muxer
// (@chainsafe/libp2p-yamux, pinned in this folder's package.json), for tests/test_yamux_js.c:
// a wire-level check of our Yamux core against js's.
//   node yamux-raw.mjs listen          js is the Yamux server: prints "listening PORT", echoes
//                                      every inbound stream, exits when the connection closes
//   node yamux-raw.mjs dial PORT N SIZE  js is the client: pings, opens N streams that each
//                                      send SIZE bytes and read them back, prints
//                                      "echo ok K/N", closes the muxer (GoAway) and exits
import net from 'node:net'
import { yamux } from '@chainsafe/libp2p-yamux'
import { defaultLogger } from '@libp2p/logger'

const [, , mode, port, nArg, sizeArg] = process.argv
const factory = yamux()({ logger: defaultLogger() })

async function echo (stream) {
  try {
    await stream.sink(stream.source)
  } catch (e) {
    console.log('echo error ' + e.message)
  }
}

function wire (sock, direction) {
  const muxer = factory.createStreamMuxer({ direction, onIncomingStream: echo })
  // the muxer's source ends when it closes (our GoAway, or its own close): so does the socket
  const flushed = (async () => {
    for await (const chunk of muxer.source) sock.write(chunk.subarray())
    sock.end()
  })()
  muxer.sink(sock).catch(e => console.log('sink error ' + e.message))
  return { muxer, flushed }
}

function pattern (size) {
  const d = new Uint8Array(size)
  for (let i = 0; i < size; i++) d[i] = (i * 13) & 255
  return d
}

if (mode === 'listen') {
  const srv = net.createServer(sock => {
    wire(sock, 'inbound')
    sock.on('close', () => srv.close())
  })
  srv.listen(0, '127.0.0.1', () => console.log('listening ' + srv.address().port))
} else {
  const n = Number(nArg)
  const size = Number(sizeArg)
  const sock = net.connect(Number(port), '127.0.0.1', async () => {
    const { muxer, flushed } = wire(sock, 'outbound')
    console.log('ping ' + (await muxer.ping()))
    const data = pattern(size)
    const res = await Promise.all(Array.from({ length: n }, async () => {
      const s = await muxer.newStream()
      const chunks = []
      const reader = (async () => { for await (const c of s.source) chunks.push(c.subarray()) })()
      await s.sink((async function * () {
        for (let o = 0; o < size; o += 100000) yield data.subarray(o, Math.min(size, o + 100000))
      })())
      await reader
      return Buffer.compare(Buffer.concat(chunks), Buffer.from(data)) === 0
    }))
    console.log('echo ok ' + res.filter(x => x).length + '/' + n)
    await muxer.close()
    await flushed
  })
}
