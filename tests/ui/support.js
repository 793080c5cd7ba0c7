// Shared helpers of the browser tests (tests/ui/*_test.js): real sites on loopback, Debian's
// headless Chromium through playwright-core, screenshots, and a step runner that fails fast.
//
// A "site" is what scripts/demo-dr starts: an application with the plugin (rocksdr_node serve
// --control-socket) and its sidecar (rocksdr server -config sidecar.yaml, ui: true, plain HTTP on
// 127.0.0.1). Everything lives in one temporary directory, removed at the end; every child is
// killed when the test ends, however it ends.
'use strict';

const assert = require('node:assert/strict');
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const CHROMIUM = process.env.ROCKSDR_CHROMIUM || '/usr/bin/chromium';

function parseArgs(argv) {
  const out = { buildDir: '', artifacts: '' };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--build-dir') out.buildDir = argv[++i];
    else if (argv[i] === '--artifacts') out.artifacts = argv[++i];
    else throw new Error(`unknown argument ${argv[i]} (usage: --build-dir DIR [--artifacts DIR])`);
  }
  if (!out.buildDir) throw new Error('--build-dir is required');
  out.buildDir = path.resolve(out.buildDir);
  out.artifacts = path.resolve(out.artifacts || path.join(out.buildDir, 'ui-artifacts'));
  out.rocksdr = path.join(out.buildDir, 'tools', 'rocksdr');
  out.node = path.join(out.buildDir, 'examples', 'rocksdr_node', 'rocksdr_node');
  if (!fs.existsSync(out.rocksdr)) throw new Error(`${out.rocksdr} is missing: build the rocksdr target first`);
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run scripts/deps (installs Debian's chromium)`);
  return out;
}

function loadPlaywright() {
  try {
    return require('playwright-core');
  } catch (e) {
    throw new Error('playwright-core is not installed: run scripts/deps (npm ci in tests/ui)');
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// Waits until fn() returns a truthy value; fails with `what` after timeoutMs.
async function waitFor(what, fn, timeoutMs = 20000, everyMs = 100) {
  const end = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) { last = e; }
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}` + (last ? `: ${last.message}` : ''));
    await sleep(everyMs);
  }
}

class Harness {
  constructor(opts) {
    this.opts = opts;
    this.work = fs.mkdtempSync(path.join(os.tmpdir(), 'rocksdr-ui-'));
    fs.chmodSync(this.work, 0o700);
    this.children = [];
    this.context = null;
    this.pageErrors = [];
    fs.mkdirSync(opts.artifacts, { recursive: true });
    const kill = () => { for (const c of this.children) { try { c.kill('SIGKILL'); } catch (e) { /* gone */ } } };
    process.on('exit', kill);
  }

  spawnLogged(name, bin, args) {
    const log = fs.openSync(path.join(this.work, `${name}.log`), 'a');
    const child = spawn(bin, args, { stdio: ['ignore', log, log] });
    fs.closeSync(log);
    child.on('exit', (code, sig) => { child.exitedWith = sig || code; });
    this.children.push(child);
    return child;
  }

  // Starts an application (plugin + control socket) and its sidecar; returns {name, addr, dir}.
  async startSite(name, extraSidecarYaml = '') {
    if (!fs.existsSync(this.opts.node)) throw new Error(`${this.opts.node} is missing: build the rocksdr_node target first`);
    const dir = path.join(this.work, name);
    fs.mkdirSync(dir);
    const apiPort = await freePort(), replPort = await freePort();
    fs.writeFileSync(path.join(dir, 'plugin.yaml'), [
      'role: disabled', 'replication:', `  listen_address: "127.0.0.1:${replPort}"`, 'limits:',
      '  heartbeat_interval_ms: 200', '  peer_timeout_ms: 3000', ''].join('\n'));
    fs.writeFileSync(path.join(dir, 'sidecar.yaml'), [
      'listener:', `  address: "127.0.0.1:${apiPort}"`, '  tls_disable: true', 'plugin:',
      `  control_socket: "${dir}/rocksdr.sock"`, 'log:', '  level: warn', 'ui: true', extraSidecarYaml, ''].join('\n'));
    const node = this.spawnLogged(`${name}-node`, this.opts.node, ['serve', '--db', `${dir}/db`, '--config',
      `${dir}/plugin.yaml`, '--control-socket', `${dir}/rocksdr.sock`, '--replication-address',
      `127.0.0.1:${replPort}`, '--no-verify-host', '--load-every-ms', '0']);
    await waitFor(`${name}'s control socket`, () => {
      if (node.exitedWith !== undefined) throw new Error(`${name}'s node exited (${node.exitedWith}); see ${name}-node.log`);
      return fs.existsSync(`${dir}/rocksdr.sock`);
    });
    const sidecar = this.spawnLogged(`${name}-sidecar`, this.opts.rocksdr, ['server', '-config', `${dir}/sidecar.yaml`,
      '-address-file', `${dir}/api.addr`]);
    await waitFor(`${name}'s sidecar`, () => {
      if (sidecar.exitedWith !== undefined) throw new Error(`${name}'s sidecar exited (${sidecar.exitedWith})`);
      return fs.existsSync(`${dir}/api.addr`) && fs.readFileSync(`${dir}/api.addr`, 'utf8').trim() !== '';
    });
    return { name, dir, addr: `http://127.0.0.1:${apiPort}`, node, sidecar };
  }

  // Starts `rocksdr server -dev` (in memory, unsealed); returns {addr, rootToken}.
  async startDevSidecar() {
    const file = path.join(this.work, 'dev.addr');
    const child = this.spawnLogged('dev-sidecar', this.opts.rocksdr, ['server', '-dev', '-dev-listen-address',
      '127.0.0.1:0', '-address-file', file]);
    await waitFor('the dev sidecar', () => fs.existsSync(file) && fs.readFileSync(file, 'utf8').trim() !== '');
    const addr = fs.readFileSync(file, 'utf8').trim();
    const log = await waitFor('the dev root token', () => {
      const text = fs.readFileSync(path.join(this.work, 'dev-sidecar.log'), 'utf8');
      return /Root Token: (\S+)/.exec(text);
    });
    return { addr, rootToken: log[1], child };
  }

  // operator init (5 shares, threshold 3) + unseal through the API; returns {keys, rootToken}.
  async initUnseal(site) {
    const init = await api(site.addr, 'POST', 'sys/init', { secret_shares: 5, secret_threshold: 3 });
    assert.equal(init.keys_base64.length, 5);
    for (const k of init.keys_base64.slice(0, 3)) await api(site.addr, 'POST', 'sys/unseal', { key: k });
    const seal = await api(site.addr, 'GET', 'sys/seal-status');
    assert.equal(seal.sealed, false, `${site.name} is still sealed after 3 keys`);
    return { keys: init.keys_base64, rootToken: init.root_token };
  }

  async launchBrowser(playwright) {
    const profile = path.join(this.work, 'chromium-profile');
    this.context = await playwright.chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1100, height: 800 },
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
      timeout: 30000,
    });
    this.context.setDefaultTimeout(15000);
    return this.context;
  }

  // A new tab that records page errors and console errors (a test fails if any happened).
  async newPage(label) {
    const page = await this.context.newPage();
    page.on('pageerror', (e) => this.pageErrors.push(`${label}: page error: ${e.message}`));
    page.on('console', (m) => {
      // 4xx/5xx answers are logged by Chromium as "Failed to load resource": those are the API
      // errors the tests provoke on purpose.
      if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) {
        this.pageErrors.push(`${label}: console error: ${m.text()}`);
      }
    });
    return page;
  }

  async shot(page, name) {
    await page.screenshot({ path: path.join(this.opts.artifacts, `${name}.png`), fullPage: true });
  }

  async close(ok) {
    if (this.context) {
      try { await this.context.close(); } catch (e) { /* already gone */ }
    }
    for (const c of this.children) {
      if (c.exitedWith === undefined) c.kill('SIGTERM');
    }
    await waitFor('children to exit', () => this.children.every((c) => c.exitedWith !== undefined), 10000)
      .catch(() => { for (const c of this.children) c.kill('SIGKILL'); });
    if (!ok) {
      for (const f of fs.readdirSync(this.work).filter((n) => n.endsWith('.log'))) {
        const text = fs.readFileSync(path.join(this.work, f), 'utf8').split('\n').slice(-15).join('\n');
        console.error(`--- ${f} (last lines)\n${text}`);
      }
    }
    fs.rmSync(this.work, { recursive: true, force: true });
  }
}

// A JSON API call (for setup only: the steps under test go through the UI).
async function api(addr, method, apiPath, body, token) {
  const headers = { 'Content-Type': 'application/json' };
  if (token) headers['X-Vault-Token'] = token;
  const res = await fetch(`${addr}/v1/${apiPath}`, { method, headers, body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(15000) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${apiPath}: HTTP ${res.status}: ${text}`);
  return text ? JSON.parse(text) : null;
}

// Runs the steps in order; the first failure takes a screenshot of every open page, prints the
// logs and exits non-zero. A deadline bounds the whole run.
async function run(title, deadlineMs, body) {
  const opts = parseArgs(process.argv.slice(2));
  const h = new Harness(opts);
  const started = Date.now();
  const timer = setTimeout(() => {
    console.error(`${title}: FAILED: still running after ${deadlineMs / 1000} s`);
    process.exit(1);
  }, deadlineMs);
  let passed = 0, ok = false;
  const step = async (name, fn) => {
    const t0 = Date.now();
    try {
      await fn();
    } catch (e) {
      e.message = `step "${name}": ${e.message}`;
      throw e;
    }
    passed++;
    console.log(`ok ${passed} - ${name} (${Date.now() - t0} ms)`);
  };
  try {
    await body(h, step);
    assert.deepEqual(h.pageErrors, [], 'the pages logged errors');
    ok = true;
  } catch (e) {
    console.error(`${title}: FAILED: ${e.stack || e}`);
    if (h.context) {
      let i = 0;
      for (const p of h.context.pages()) {
        if (p.url() === 'about:blank') continue;
        await h.shot(p, `failure-${++i}`).catch(() => {});
      }
    }
  } finally {
    clearTimeout(timer);
    await h.close(ok);
  }
  console.log(`${title}: ${passed} steps passed in ${((Date.now() - started) / 1000).toFixed(1)} s; ` +
    `screenshots in ${opts.artifacts}`);
  console.log(ok ? `${passed} passed, 0 failed` : `${passed} passed, 1 failed`);
  process.exit(ok ? 0 : 1);
}

function runCli(opts, args) {
  return execFileSync(opts.rocksdr, args, { encoding: 'utf8', timeout: 15000 }).trim();
}

module.exports = { run, api, waitFor, sleep, loadPlaywright, runCli };
