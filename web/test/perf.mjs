// 10,000 historical alerts: does the page stay responsive? A persistent session is created for the page's client id,
// 10,000 alerts (50 devices, realistic 12 s two-lead strips, ~15 kB each) are published while the page is away, so the
// broker queues them; then the page opens and receives them all at once. Measured in headless Chromium:
//   - time from navigation until all 10,000 are listed; long tasks (> 50 ms) and the worst timer lag meanwhile;
//   - after loading: time from a filter change, a scroll or a click until the next frame is painted;
//   - JS heap.
//   node test/perf.mjs [--alerts N] [--json FILE] [--screenshot FILE] [--via bridge|mosquitto-ws] [--seconds S] [--enforce-limits]
//   (from web/; exit 77 = skipped)
// --via bridge (default): the page reaches mosquitto's TCP listener through a WebSocket→TCP bridge (test/lib/wsbridge.mjs),
// which measures the page. --via mosquitto-ws: through mosquitto's own WebSockets listener, which sends large messages
// slowly (2.0.11): measures only how many alerts per second arrive during --seconds (default 30).
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { launchBrowser, Mosquitto, repoRoot, skip, waitFor, webDir, workDir, findChromium, stop } from './lib/env.mjs';
import { serveDist } from './lib/static.mjs';
import { startBridge } from './lib/wsbridge.mjs';

const args = process.argv.slice(2);
const opt = (name, fallback) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : fallback; };
const count = Number(opt('--alerts', '10000'));
const jsonOut = opt('--json', null);
const via = opt('--via', 'bridge');
const drainSeconds = Number(opt('--seconds', '30'));
// The documented 10,000-alert screenshot is refreshed only by a 10,000-alert run; other sizes need --screenshot FILE.
const screenshotOpt = opt('--screenshot', count === 10000 ? join(repoRoot, 'docs/images/web-10k.png') : null);
const screenshot = screenshotOpt && resolve(screenshotOpt);
if (!findChromium()) skip('Chromium is not installed (apt-get install chromium)');
let mqtt;
try { mqtt = (await import('mqtt')).default; } catch { skip('node packages missing (cd web && npm ci)'); }

// A benchmark: it prints what it measured and fails only when the page broke (errors, alerts missing). The timing
// budgets below are checked only with --enforce-limits (a manual run on a quiet machine), never in CI: filters,
// scrolling and selection painted within 100 ms; opening an alert (decoding and drawing a 3,250 × 950 px strip) within 300 ms.
const limits = { loadS: 120, maxInteractionMs: 100, openAlertMs: 300 };
const enforceLimits = process.argv.includes('--enforce-limits');
const dir = workDir('web-perf');
const broker = await new Mosquitto(dir, { persist: false }).init();
await broker.start();
const clientId = 'perf-page';
const prefix = 'ecgedge';

// 1. The page's persistent session, with the page's subscriptions (web/src/topics.ts).
const session = mqtt.connect(broker.tcpUrl, { protocolVersion: 5, clientId, clean: false, properties: { sessionExpiryInterval: 3600 } });
await new Promise(ok => session.on('connect', ok));
await session.subscribeAsync({
  [`${prefix}/+/status`]: { qos: 1 }, [`${prefix}/+/vitals`]: { qos: 0 }, [`${prefix}/+/alerts`]: { qos: 1 }, [`${prefix}/+/active`]: { qos: 1 },
  [`${prefix}/+/acks/+/+`]: { qos: 1 },
});
await session.endAsync();

// 2. 10,000 alerts while the page is away.
const publisher = mqtt.connect(broker.tcpUrl, { protocolVersion: 5, clientId: 'perf-publisher', clean: true });
await new Promise(ok => publisher.on('connect', ok));
const random = mulberry32(11);
const devices = Array.from({ length: 50 }, (_, i) => `ward-${String(i).padStart(3, '0')}`);
for (const d of devices) await publisher.publishAsync(`${prefix}/${d}/status`, JSON.stringify(status(d)), { qos: 1, retain: true });
const strip = syntheticStrip();
const published = Date.now();
const start = Date.now() - 7 * 24 * 3600 * 1000;
let bytes = 0;
for (let i = 0; i < count; i += 200) {
  const batch = [];
  for (let j = i; j < Math.min(count, i + 200); j++) {
    const a = alert(devices[Math.floor(random() * devices.length)], start + j * 60_000, strip);
    const text = JSON.stringify(a);
    bytes += text.length;
    batch.push(publisher.publishAsync(`${prefix}/${a.deviceId}/alerts`, text, { qos: 1 }));
  }
  await Promise.all(batch);
}
await publisher.endAsync();
const publishS = (Date.now() - published) / 1000;
console.log(`perf: published ${count} alerts (${(bytes / 1e6).toFixed(1)} MB) in ${publishS.toFixed(1)} s; the broker queues them for ${clientId}`);

// 3. The page opens and receives them.
const bridge = via === 'bridge' ? await startBridge(broker.tcpPort) : null;
const server = await serveDist(join(webDir, 'dist'), { broker: bridge ? bridge.url : broker.wsUrl, autoconnect: true });
const browser = await launchBrowser();
const page = await (await browser.newContext({ viewport: { width: 1440, height: 900 } })).newPage();
const errors = [];
page.on('pageerror', e => errors.push(String(e)));
await page.addInitScript(() => {
  const p = { longTasks: [], maxLagMs: 0 };
  window.__perf = p;
  new PerformanceObserver(list => { for (const e of list.getEntries()) p.longTasks.push(e.duration); }).observe({ type: 'longtask', buffered: true });
  let expected = performance.now() + 50;
  setInterval(() => {
    const now = performance.now();
    p.maxLagMs = Math.max(p.maxLagMs, now - expected);
    expected = now + 50;
  }, 50);
});
const navigated = Date.now();
await page.goto(`http://127.0.0.1:${server.address().port}/?clientId=${clientId}`);
if (via !== 'bridge') {
  await new Promise(r => setTimeout(r, drainSeconds * 1000));
  const s = await page.evaluate(() => window.ecgedgeStats());
  const perS = s.alerts / drainSeconds;
  const result = { via, alerts: s.alerts, seconds: drainSeconds, alertsPerS: +perS.toFixed(1), bytesPerAlert: Math.round(bytes / count),
    minutesFor: { [count]: +(count / perS / 60).toFixed(1) } };
  console.log('perf: result', JSON.stringify(result));
  if (jsonOut) writeFileSync(jsonOut, JSON.stringify(result, null, 2) + '\n');
  await browser.close();
  process.exit(0);
}
const progress = setInterval(async () => {
  const s = await page.evaluate(() => window.ecgedgeStats?.()).catch(() => null);
  if (s) console.log(`perf: ${((Date.now() - navigated) / 1000).toFixed(0)} s: ${s.alerts} alerts, ${s.messages} messages, link ${s.link}`);
}, 5000);
await page.waitForFunction(n => Number(document.querySelector('#alert-count')?.dataset.total) >= n, count, { timeout: limits.loadS * 1000, polling: 100 });
clearInterval(progress);
const loadS = (Date.now() - navigated) / 1000;
const during = await page.evaluate(() => {
  const t = window.__perf.longTasks;
  return { longTasks: t.length, longTaskMaxMs: Math.max(0, ...t), longTaskTotalMs: t.reduce((s, x) => s + x, 0), maxTimerLagMs: window.__perf.maxLagMs };
});
const stats = await page.evaluate(() => window.ecgedgeStats());
console.log(`perf: ${stats.alerts} alerts listed ${loadS.toFixed(2)} s after navigation (${stats.duplicates} duplicates); during loading:`, JSON.stringify(during));

// 4. Interactions on the loaded page: time until the next frame is painted.
const interactions = {};
async function timed(name, action) {
  interactions[name] = await page.evaluate(async code => {
    const t = performance.now();
    (0, eval)(code);
    await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
    return Math.round((performance.now() - t) * 10) / 10;
  }, action);
}
const setSelect = (id, value) => `{const s=document.getElementById('${id}'); s.value='${value}'; s.dispatchEvent(new Event('change'));}`;
await timed('filter severity ≥ high', setSelect('filter-severity', 'high'));
const shownHigh = await page.getAttribute('#alert-count', 'data-shown');
await timed('filter device', setSelect('filter-device', devices[17]));
await timed('filter type af', setSelect('filter-type', 'af'));
await timed('filters reset', `${setSelect('filter-device', '')}${setSelect('filter-type', '')}${setSelect('filter-severity', '')}`);
for (const f of [0.25, 0.5, 0.75, 1]) {
  await timed(`scroll to ${f * 100} %`, `{const l=document.getElementById('alert-list'); l.scrollTop=${f}*(l.scrollHeight-l.clientHeight); l.dispatchEvent(new Event('scroll'));}`);
}
await timed('open an alert (strip drawn)', `document.querySelector('#alert-list .row[data-id]').click()`);
const stripDrawMs = await page.evaluate(() => Math.round(window.ecgedgeStats().lastStripMs * 10) / 10);
await timed('unacknowledged filter', `{const c=document.getElementById('filter-unacked'); c.checked=true; c.dispatchEvent(new Event('change'));}`);
const heapMb = await page.evaluate(() => (performance.memory ? performance.memory.usedJSHeapSize / 1e6 : null));
if (screenshot) await page.screenshot({ path: screenshot });

const result = {
  via, alerts: count, payloadMb: +(bytes / 1e6).toFixed(1), loadS: +loadS.toFixed(2), shownHigh: Number(shownHigh), during, interactionsMs: interactions,
  stripDrawMs, heapMb: heapMb && +heapMb.toFixed(0), chromium: browser.version(), cpus: (await import('node:os')).cpus().length,
};
console.log('perf: result', JSON.stringify(result, null, 1));
if (jsonOut) writeFileSync(jsonOut, JSON.stringify(result, null, 2) + '\n');
await browser.close();
server.close();
bridge?.close();
await broker.kill();
await stop(broker.process);

const slow = !enforceLimits ? [] : Object.entries(interactions).filter(([name, ms]) => ms > (name.startsWith('open') ? limits.openAlertMs : limits.maxInteractionMs));
if (errors.length > 0 || stats.alerts < count || slow.length > 0) {
  console.error(`perf: FAIL: ${errors.join(' | ')} ${slow.map(([k, v]) => `${k} ${v} ms`).join(', ')}`);
  process.exit(1);
}
console.log(enforceLimits
  ? `perf: PASS (filters and scrolling under ${limits.maxInteractionMs} ms, opening an alert under ${limits.openAlertMs} ms; all ${count} listed in ${loadS.toFixed(1)} s)`
  : `perf: all ${count} listed in ${loadS.toFixed(1)} s, no page error (timings above are measurements; --enforce-limits checks the budgets)`);
process.exit(0);

function status(d) {
  const now = new Date().toISOString();
  return { state: 'online', deviceId: d, clientId: d, at: now, startedAt: now, versions: { software: '0.1.0', model: 'ecg-nat 0.1.0' } };
}

function alert(deviceId, ms, stripJson) {
  const types = ['af', 'af', 'af', 'vt', 'pause', 'bradycardia', 'tachycardia', 'lead_off', 'signal_quality'];
  const type = types[Math.floor(random() * types.length)];
  const severity = { af: 'medium', vt: 'high', pause: 'high', bradycardia: 'low', tachycardia: 'low', lead_off: 'info', signal_quality: 'info' }[type];
  const phase = ['onset', 'onset', 'update', 'offset'][Math.floor(random() * 4)];
  const utc = new Date(ms).toISOString();
  return {
    schema: 'ecgedge.alert/1', id: uuid7(ms), deviceId, type, phase, severity, episodeId: uuid7(ms - 30_000),
    onset: { utc, sampleIndex: 1000 }, offset: phase === 'offset' ? { utc, sampleIndex: 9000 } : null, durationS: phase === 'offset' ? 32 : null,
    heartRateBpm: Math.round(50 + random() * 100), confidence: 0.9, modelVersion: 'ecg-nat 0.1.0', leadState: { II: 'ok', V1: 'ok' },
    criteria: 'synthetic alert for the 10,000-alert load test', strip: { ...stripJson, origin: { utc, sampleIndex: 0 } },
  };
}

function syntheticStrip() {
  // 12 s, two leads at 250 Hz, 5 µV per count: a beat every 0.8 s with noise, interleaved like the worker's strips.
  const values = [];
  for (let i = 0; i < 3000; i++) {
    const t = (i % 200) / 250;
    const qrs = Math.exp(-(((t - 0.3) / 0.012) ** 2)) * 200;
    values.push(Math.round(qrs + (random() - 0.5) * 20), Math.round(-qrs * 0.6 + (random() - 0.5) * 20));
  }
  return { periodMs: 4, factor: 0.005, unit: 'mV', leads: ['II', 'V1'], dimensions: 2, eventOffsetS: 4, data: values.join(' ') };
}

function uuid7(ms) {
  const hex = Array.from({ length: 20 }, () => Math.floor(random() * 16).toString(16)).join('');
  return ms.toString(16).padStart(12, '0') + '7' + hex.slice(0, 3) + '8' + hex.slice(4, 19);
}

function mulberry32(seed) {
  return () => {
    seed |= 0; seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
