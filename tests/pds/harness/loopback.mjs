// Preload (node --import ./loopback.mjs): the PDS and the PLC server call listen(port) with no
// host, which binds every interface. Tests must never be reachable from outside the machine,
// so every listen() that names no host or path is pinned to 127.0.0.1 here.
import net from 'node:net'

const HOST = '127.0.0.1'
const originalListen = net.Server.prototype.listen

net.Server.prototype.listen = function listen(...args) {
  const first = args[0]
  if (args.length === 0 || typeof first === 'function') {
    return originalListen.call(this, { port: 0, host: HOST }, ...args)
  }
  const isPort =
    typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))
  if (isPort && typeof args[1] !== 'string') {
    return originalListen.call(this, first, HOST, ...args.slice(1))
  }
  if (first !== null && typeof first === 'object' && !(first instanceof net.Server)) {
    const isHandle = '_handle' in first || 'fd' in first
    if (!isHandle && first.path === undefined && first.host === undefined) {
      return originalListen.call(this, { ...first, host: HOST }, ...args.slice(1))
    }
  }
  return originalListen.apply(this, args)
}
