// Starts an in-memory PLC directory and the real Bluesky PDS (@atproto/pds) in this one Node
// process, on free loopback ports, and prints one JSON line when both answer:
//   {"ready": true, "pid": …, "pds_url": "http://127.0.0.1:…", "plc_url": …, "pds_port": …, …}
// Run with `node --import ./loopback.mjs server.mjs`. Settings come from the environment
// (PDS_JWT_SECRET, PDS_ADMIN_PASSWORD and PDS_DATA_DIRECTORY are required; any other PDS_*
// variable is passed through, e.g. PDS_RATE_LIMITS_ENABLED=true). Stops on SIGTERM/SIGINT.
import net from 'node:net'
import fs from 'node:fs'
import path from 'node:path'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)

function fail(message) {
  process.stderr.write(`pds-harness: ${message}\n`)
  process.exit(2)
}

// Test-only knob, off unless PDS_HARNESS_RATE_LIMITS is set. The PDS's own limits have windows
// of 5 minutes to a day, too long for a test to wait out a 429. This shrinks chosen limiters
// (by their key prefix: "rl-repo-write-hour", "rl-global-ip", "com.atproto.server.createSession-1",
// …) to {"points": n, "seconds": s}, e.g. {"rl-repo-write-hour": {"points": 9, "seconds": 4}}.
// Everything else stays the real server's code: its counting, its 429 body and its
// RateLimit-*/Retry-After headers. It must run before @atproto/pds is imported, because the
// ES-module view of this CommonJS package is taken from module.exports at first import.
const rateOverrides = JSON.parse(process.env.PDS_HARNESS_RATE_LIMITS || '{}')
if (Object.keys(rateOverrides).length > 0) {
  const flexible = require('rate-limiter-flexible')
  const Original = flexible.RateLimiterMemory
  flexible.RateLimiterMemory = class HarnessRateLimiterMemory extends Original {
    constructor(opts) {
      const override = rateOverrides[opts.keyPrefix]
      super(override ? { ...opts, points: override.points, duration: override.seconds } : opts)
    }
  }
}

const { PDS, envToCfg, envToSecrets, readEnv } = await import('@atproto/pds')
const plc = require('@did-plc/server')

if (!process.versions.node.startsWith('22.')) {
  fail(`needs Node 22, running ${process.version}; run tests/pds/harness/install.sh`)
}
for (const name of ['PDS_JWT_SECRET', 'PDS_ADMIN_PASSWORD', 'PDS_DATA_DIRECTORY']) {
  if (!process.env[name]) fail(`${name} must be set`)
}

// A free port from the kernel; the tiny window before the server takes it is acceptable
// for tests (the PDS needs its port before it starts, to build its public URL).
function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer()
    probe.once('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address()
      probe.close(() => resolve(port))
    })
  })
}

const dataDir = process.env.PDS_DATA_DIRECTORY
const blobDir = process.env.PDS_BLOBSTORE_DISK_LOCATION ?? path.join(dataDir, 'blobs')
fs.mkdirSync(blobDir, { recursive: true })

const plcPort = Number(process.env.PLC_PORT || 0) || (await freePort())
const plcServer = plc.PlcServer.create({ db: plc.Database.mock(), port: plcPort })
await plcServer.start()
const plcUrl = `http://127.0.0.1:${plcPort}`

const pdsPort = Number(process.env.PDS_PORT || 0) || (await freePort())
const defaults = {
  PDS_HOSTNAME: 'localhost',
  PDS_DEV_MODE: 'true',
  PDS_INVITE_REQUIRED: 'false',
  PDS_CRAWLERS: '',
  PDS_DISABLE_SSRF_PROTECTION: 'true',
  PDS_SERVICE_HANDLE_DOMAINS: '.test',
  // A fixed, test-only key: every start is a fresh PLC directory, so nothing outlives it.
  PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX:
    '0c7c7bd2e7e0e2ab2b5c0dbd6b1a7a8cb0dbbda8c3d6ac7f2b7e1c2d3e4f5a6b',
}
for (const [key, value] of Object.entries(defaults)) {
  if (process.env[key] === undefined) process.env[key] = value
}
process.env.PDS_PORT = String(pdsPort)
process.env.PDS_DID_PLC_URL = plcUrl
process.env.PDS_BLOBSTORE_DISK_LOCATION = blobDir

const env = readEnv()
const pds = await PDS.create(envToCfg(env), envToSecrets(env))
await pds.start()
const pdsUrl = `http://127.0.0.1:${pdsPort}`

const health = await fetch(`${pdsUrl}/xrpc/_health`)
if (!health.ok) fail(`PDS health check answered ${health.status}`)

process.stdout.write(
  JSON.stringify({
    ready: true,
    pid: process.pid,
    node: process.version,
    pds_url: pdsUrl,
    pds_port: pdsPort,
    plc_url: plcUrl,
    plc_port: plcPort,
    service_did: pds.ctx.cfg.service.did,
    rate_limits: Boolean(pds.ctx.cfg.rateLimits?.enabled),
    rate_limit_overrides: rateOverrides,
  }) + '\n',
)

let stopping = false
async function stop(signal) {
  if (stopping) return
  stopping = true
  // Never wait forever: a hung shutdown must not hang the test session that owns us.
  setTimeout(() => process.exit(1), 5000).unref()
  try {
    await pds.destroy()
    await plcServer.destroy()
  } catch (err) {
    process.stderr.write(`pds-harness: error while stopping on ${signal}: ${err}\n`)
    process.exit(1)
  }
  process.exit(0)
}
process.on('SIGTERM', () => void stop('SIGTERM'))
process.on('SIGINT', () => void stop('SIGINT'))
