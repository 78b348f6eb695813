// Shared set-up for the browser tests: finding the tools (skip with exit 77 when one is missing), free loopback
// ports, a mosquitto with a TCP listener (for the worker) and a WebSockets listener (for the page), processes that are
// always stopped by their own pid, and headless Chromium through playwright-core.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const webDir = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const repoRoot = resolve(webDir, '..');
export const SKIP = 77;

export function skip(reason) {
  console.log(`SKIP: ${reason}`);
  process.exit(SKIP);
}

export function which(names) {
  for (const name of names) {
    if (name.includes('/')) { if (existsSync(name)) return name; continue; }
    for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/usr/bin', '/usr/local/bin'])) {
      const p = join(dir, name);
      if (existsSync(p)) return p;
    }
  }
  return null;
}

export function findChromium() {
  return which([process.env.CHROMIUM ?? '', 'chromium', 'chromium-browser', 'google-chrome'].filter(Boolean));
}

export async function loadPlaywright() {
  try {
    return (await import('playwright-core')).chromium;
  } catch {
    skip('playwright-core is not installed (cd web && npm ci)');
  }
}

export async function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
    s.on('error', fail);
  });
}

export const sleep = ms => new Promise(r => setTimeout(r, ms));

export async function waitFor(what, check, timeoutMs, intervalMs = 100) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** A temporary folder removed at exit (kept with KEEP=1). */
export function workDir(name) {
  const dir = mkdtempSync(join(tmpdir(), `ecgedge-${name}-`));
  process.on('exit', () => { if (process.env.KEEP !== '1') rmSync(dir, { recursive: true, force: true }); });
  return dir;
}

const children = new Set();
process.on('exit', () => { for (const c of children) try { c.kill('SIGKILL'); } catch { /* gone */ } });
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

/** Starts a process with its output appended to logFile; stopped by pid at exit. */
export function start(cmd, args, logFile, env = {}) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  children.add(child);
  child.on('exit', () => children.delete(child));
  child.output = '';
  const append = chunk => {
    child.output += chunk;
    if (logFile) writeFileSync(logFile, chunk, { flag: 'a' });
  };
  child.stdout.on('data', append);
  child.stderr.on('data', append);
  return child;
}

export async function stop(child, signal = 'SIGTERM') {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise(r => child.once('exit', r));
  child.kill(signal);
  await Promise.race([exited, sleep(10_000)]);
}

/** mosquitto with a loopback TCP listener and a WebSockets listener (mosquitto 2.0.11 binds it on every address). */
export class Mosquitto {
  /** persist: save after every change (survives SIGKILL; slow with thousands of queued messages). */
  constructor(dir, { extraConf = '', persist = true } = {}) {
    this.persist = persist;
    this.exe = which(['mosquitto']);
    if (!this.exe) skip('mosquitto is not installed (apt-get install mosquitto)');
    this.dir = join(dir, 'broker');
    mkdirSync(this.dir, { recursive: true });
    this.extraConf = extraConf;
  }

  async init() {
    this.tcpPort = await freePort();
    this.wsPort = await freePort();
    writeFileSync(join(this.dir, 'mosquitto.conf'), [
      `user ${userInfo().username}`,
      'per_listener_settings false',
      'allow_anonymous true',
      `listener ${this.tcpPort} 127.0.0.1`,
      `listener ${this.wsPort}`,
      'protocol websockets',
      `persistence ${this.persist}`,
      `persistence_location ${this.dir}/`,
      'autosave_interval 1',
      `autosave_on_changes ${this.persist}`,
      'max_queued_messages 20000',
      'max_inflight_messages 100',
      `log_dest file ${this.dir}/mosquitto.log`,
      this.extraConf,
      '',
    ].join('\n'));
    return this;
  }

  get tcpUrl() { return `mqtt://127.0.0.1:${this.tcpPort}`; }
  get wsUrl() { return `ws://127.0.0.1:${this.wsPort}`; }

  async start() {
    this.process = start(this.exe, ['-c', join(this.dir, 'mosquitto.conf')], join(this.dir, 'stdout.log'));
    await waitFor('mosquitto to listen', () => canConnect(this.tcpPort), 10_000, 50);
    await waitFor('mosquitto websockets', () => canConnect(this.wsPort), 10_000, 50);
  }

  async kill() { await stop(this.process, 'SIGKILL'); }
}

async function canConnect(port) {
  const { connect } = await import('node:net');
  return new Promise(ok => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => { s.destroy(); ok(true); });
    s.once('error', () => ok(false));
  });
}

/** The built worker (ECGEDGE_DLL, else src/EcgEdge/bin/Release/net10.0/ecgedge.dll, built when missing). */
export function ecgedgeDll() {
  const dotnet = which(['dotnet']);
  if (!dotnet) skip('dotnet is not installed');
  const dll = process.env.ECGEDGE_DLL ?? join(repoRoot, 'src/EcgEdge/bin/Release/net10.0/ecgedge.dll');
  if (!existsSync(dll)) {
    console.log('building src/EcgEdge (Release)…');
    const r = spawnSync(dotnet, ['build', join(repoRoot, 'src/EcgEdge'), '-c', 'Release', '-nologo', '-v', 'quiet'], { stdio: 'inherit' });
    if (r.status !== 0) throw new Error('dotnet build failed');
  }
  return { dotnet, dll };
}

export async function launchBrowser() {
  const exe = findChromium();
  if (!exe) skip('Chromium is not installed (apt-get install chromium)');
  const chromium = await loadPlaywright();
  return chromium.launch({
    executablePath: exe,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-dev-shm-usage'],
  });
}
