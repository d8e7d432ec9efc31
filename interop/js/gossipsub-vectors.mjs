// Gossipsub wire vectors from js-libp2p gossipsub 14.1.2 (the pinned version), for
// tests/test_gossipsub_js.c. Prints, one per line:
//   message <hex>   a StrictSign Message by the Ed25519 key with seed 00 01 .. 1f (js's encoder)
//   msgid <hex>     its id by js's default msgIdFnStrictSign
//   rpc <hex>       an RPC with a subscription, that message and every control message kind
// With a hex Message as argument (one of ours), also:
//   ours <valid true|false> <msgid hex|error>   js's StrictSign validation and message id of it
// Deep imports by path: the package's exports map does not list these modules.
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'

const G = new URL('.', import.meta.resolve('@chainsafe/libp2p-gossipsub')).href /* dist/src/ */
const { buildRawMessage, validateToRawMessage } = await import(G + 'utils/buildRawMessage.js')
const { getPublishConfigFromPeerId } = await import(G + 'utils/publishConfig.js')
const { RPC } = await import(G + 'message/rpc.js')
const { msgIdFnStrictSign } = await import(G + 'utils/msgIdFn.js')

const hex = (b) => Buffer.from(b).toString('hex')
const seed = Uint8Array.from({ length: 32 }, (_, i) => i)
const priv = await generateKeyPairFromSeed('Ed25519', seed)
const pid = peerIdFromPrivateKey(priv)
const topic = '/ggen/packages/v1'
const data = new TextEncoder().encode('hello from js')
const { raw, msg } = await buildRawMessage(getPublishConfigFromPeerId('StrictSign', pid, priv), topic, data, data)
const id = await msgIdFnStrictSign(msg)
console.log('message', hex(RPC.Message.encode(raw)))
console.log('msgid', hex(id))
console.log('rpc', hex(RPC.encode({
  subscriptions: [{ subscribe: true, topic }],
  messages: [raw],
  control: {
    ihave: [{ topicID: topic, messageIDs: [id] }],
    iwant: [{ messageIDs: [id] }],
    graft: [{ topicID: topic }],
    prune: [{ topicID: 'other', peers: [{ peerID: pid.toMultihash().bytes }], backoff: 60 }],
    idontwant: [{ messageIDs: [id] }]
  }
})))
if (process.argv[2]) {
  const v = await validateToRawMessage('StrictSign', RPC.Message.decode(Buffer.from(process.argv[2], 'hex')))
  console.log('ours', v.valid, v.valid ? hex(await msgIdFnStrictSign(v.message)) : v.error)
}
