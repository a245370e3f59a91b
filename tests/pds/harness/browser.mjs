// Signs in on the PDS's OAuth page and approves, in headless Chromium, the way a user does:
// opens the authorization URL, types the password into the page's form, submits, clicks the
// consent button, and waits until the browser lands on the app's redirect URI. Prints one JSON
// line: {"callback": "<the URL the browser was sent back to>"} or {"error": …, "page": …}.
//
// Run: node browser.mjs <authorization URL> <redirect URI prefix>, with BROWSER_PASSWORD in
// the environment (kept off the command line) and CHROMIUM (default /usr/bin/chromium).
// Talks to Chromium over the DevTools protocol with Node 22's own WebSocket: no npm package.
// Every wait is bounded; Chromium and its fresh profile directory are removed at the end.
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

const [authorizeUrl, callbackPrefix] = process.argv.slice(2)
const password = process.env.BROWSER_PASSWORD ?? ''
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium'
const deadline = Date.now() + Number(process.env.BROWSER_TIMEOUT_MS || 45000)
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

function out(value) {
  process.stdout.write(JSON.stringify(value) + '\n')
}

if (!authorizeUrl || !callbackPrefix || !password) {
  out({ error: 'usage: BROWSER_PASSWORD=… node browser.mjs <url> <redirect prefix>' })
  process.exit(2)
}

const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'brandkit-chromium-'))
const chromium = spawn(
  chromiumPath,
  [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
    '--disable-dev-shm-usage',
    `--user-data-dir=${profile}`,
    '--remote-debugging-address=127.0.0.1',
    '--remote-debugging-port=0',
    'about:blank',
  ],
  { stdio: ['ignore', 'ignore', 'pipe'] },
)
let chromiumLog = ''
chromium.stderr.on('data', (chunk) => {
  chromiumLog = (chromiumLog + chunk.toString()).slice(-4000)
})

async function cleanUp() {
  if (chromium.exitCode === null) {
    chromium.kill('SIGTERM')
    for (let i = 0; i < 60 && chromium.exitCode === null; i++) await sleep(50)
    if (chromium.exitCode === null) chromium.kill('SIGKILL')
  }
  for (let i = 0; i < 20; i++) {
    try {
      fs.rmSync(profile, { recursive: true, force: true })
      return
    } catch {
      await sleep(100) // Chromium's last writes may still land while it exits
    }
  }
}

async function main() {
  const portFile = path.join(profile, 'DevToolsActivePort')
  while (!fs.existsSync(portFile)) {
    if (Date.now() > deadline || chromium.exitCode !== null) {
      throw new Error(`Chromium did not start: ${chromiumLog}`)
    }
    await sleep(50)
  }
  let lines = []
  while (lines.length < 2 || !lines[1]) {
    lines = fs.readFileSync(portFile, 'utf8').split('\n')
    if (Date.now() > deadline) throw new Error('Chromium wrote no DevTools port')
    await sleep(20)
  }
  const ws = new WebSocket(`ws://127.0.0.1:${lines[0]}${lines[1]}`)
  await new Promise((resolve, reject) => {
    ws.onopen = resolve
    ws.onerror = () => reject(new Error('cannot reach Chromium over DevTools'))
  })
  let nextId = 0
  const pending = new Map()
  ws.onmessage = (event) => {
    const message = JSON.parse(event.data)
    const resolve = message.id ? pending.get(message.id) : undefined
    if (resolve) {
      pending.delete(message.id)
      resolve(message)
    }
  }
  async function send(method, params = {}, sessionId = undefined) {
    const id = ++nextId
    ws.send(JSON.stringify({ id, method, params, sessionId }))
    const answer = await Promise.race([
      new Promise((resolve) => pending.set(id, resolve)),
      // unref: a pending guard timer must not keep Node alive after the work is done.
      new Promise((resolve) => {
        setTimeout(resolve, Math.max(1, deadline - Date.now()), {
          error: { message: 'timeout' },
        }).unref()
      }),
    ])
    if (answer.error) throw new Error(`${method}: ${answer.error.message}`)
    return answer.result
  }
  try {
    const { targetId } = await send('Target.createTarget', { url: 'about:blank' })
    const { sessionId } = await send('Target.attachToTarget', { targetId, flatten: true })
    const page = (method, params) => send(method, params, sessionId)
    const evaluate = async (expression) => {
      const { result } = await page('Runtime.evaluate', { expression, returnByValue: true })
      return result.value
    }
    await page('Page.enable')
    await page('Page.navigate', { url: authorizeUrl })

    // What the page shows now, and the one thing a user would do next.
    const look = `(() => {
      const href = location.href
      const visible = (el) => el && el.offsetParent !== null && !el.disabled
      const pw = document.querySelector('input[type=password]')
      const buttons = [...document.querySelectorAll('button')].filter(visible)
      const named = (re) => buttons.find((b) => re.test(b.textContent.trim()))
      const consent = named(/^(accept|authori[sz]e|allow|approve)$/i)
      const submit = pw && pw.form && [...pw.form.querySelectorAll('button[type=submit]')].find(visible)
      return {
        href,
        password: visible(pw) ? (pw.value ? 'filled' : 'empty') : 'none',
        submit: Boolean(submit),
        consent: consent ? consent.textContent.trim() : null,
        text: document.body ? document.body.innerText.slice(0, 1500) : '',
      }
    })()`
    let submitted = false
    let consented = false
    let last = null
    while (Date.now() < deadline) {
      let state
      try {
        state = await evaluate(look)
      } catch {
        await sleep(100) // the page is navigating
        continue
      }
      last = state
      if (state && state.href.startsWith(callbackPrefix)) {
        out({ callback: state.href })
        return
      }
      if (state && state.password === 'empty') {
        await evaluate(`document.querySelector('input[type=password]').focus()`)
        await page('Input.insertText', { text: password })
      } else if (state && state.password === 'filled' && state.submit && !submitted) {
        submitted = true
        await evaluate(
          `[...document.querySelector('input[type=password]').form
            .querySelectorAll('button[type=submit]')].find((b) => b.offsetParent !== null).click()`,
        )
      } else if (state && state.consent && !consented) {
        consented = true
        await evaluate(
          `[...document.querySelectorAll('button')].find((b) =>
            /^(accept|authori[sz]e|allow|approve)$/i.test(b.textContent.trim())).click()`,
        )
      }
      await sleep(150)
    }
    out({ error: 'timed out before the browser came back to the app', page: last })
    process.exitCode = 1
  } finally {
    ws.close()
  }
}

try {
  await main()
} catch (err) {
  out({ error: String(err && err.message ? err.message : err) })
  process.exitCode = 1
} finally {
  await cleanUp()
}
