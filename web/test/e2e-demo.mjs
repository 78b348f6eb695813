// End-to-end test of the README's two-command demo with nothing else installed (no mosquitto): the worker with its
// embedded MQTTnet broker (MQTT over WebSockets on loopback), `ecgedge watch --web` started with the exact command the
// worker logs, and two clinician pages in headless Chromium (Debian's chromium through playwright-core).
//   1. the worker replays the bundled MIT-BIH 201 at 10x real time on free ports (--Mqtt:EmbeddedPort=0,
//      --Mqtt:EmbeddedWebSocketPort=0) with a temporary outbox; its log names the WebSocket endpoint and the command;
//   2. page 1 connects, shows the device online, lists the AF alert and its open episode, and acknowledges the alert;
//   3. page 2, opened afterwards with a new session, never receives that AF alert (it was published before it
//      connected) yet shows the episode as active (the retained …/active list) with page 1's acknowledgement (retained
//      acks, one per clinician and alert);
//   4. the worker is stopped (SIGTERM, as Ctrl+C) mid-episode: both pages show the device "monitoring stopped" and the
//      episode gone from the active alarms, and page 1 lists the AF offset as "monitoring ended", not as the end of AF
//      (the embedded broker stops with the worker, after its last messages: the pages then show the link down).
// The AF episode of 201 that opens first lasts ~375 s of signal (~37 s here); everything above takes a few seconds.
//
//   node test/e2e-demo.mjs [--screenshots DIR]      (from web/, after npm ci; exit 77 = skipped)
//   env: CHROMIUM, ECGEDGE_DLL (as test/e2e.mjs), KEEP=1 keeps the temporary folder
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ecgedgeDll, findChromium, freePort, launchBrowser, repoRoot, skip, start, stop, waitFor, workDir } from './lib/env.mjs';

const args = process.argv.slice(2);
const opt = (name, fallback) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : fallback; };
const shots = resolve(opt('--screenshots', join(repoRoot, 'docs/images')));
mkdirSync(shots, { recursive: true });
const record = join(repoRoot, 'src/EcgEdge/Resources/mitdb/201');
if (!existsSync(record + '.hea')) skip(`record ${record} not found`);
if (!findChromium()) skip('Chromium is not installed (apt-get install chromium)');
let mqtt;
try { mqtt = (await import('mqtt')).default; } catch { skip('node packages missing (cd web && npm ci)'); }

const t0 = Date.now();
const step = (name) => console.log(`e2e-demo: ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
const dir = workDir('web-e2e-demo');
const { dotnet, dll } = ecgedgeDll();

// 1. The worker as `dotnet run --project src/EcgEdge -c Release` runs it (embedded broker, default device id), but on
// free ports, faster, and with its own outbox and health file.
const worker = start(dotnet, [dll, 'run', '--realtime', 'true', '--Replay:Speed=10', '--loop', 'true',
  '--Mqtt:EmbeddedPort=0', '--Mqtt:EmbeddedWebSocketPort=0', `--Mqtt:Outbox:Directory=${join(dir, 'outbox')}`,
  `--Pipeline:HealthFile=${join(dir, 'health.json')}`], join(dir, 'worker.log'));
const logged = await waitFor('the worker to log its WebSocket endpoint', () => /clinician page: (ecgedge watch --web --broker (ws:\/\/127\.0\.0\.1:\d+\/mqtt))/.exec(worker.output), 60_000);
const [, command, wsUrl] = logged;
const device = /subscribe with: .*\(topic ecgedge\/([^/]+)\/#\)/.exec(worker.output)?.[1];
check(device, `the worker did not log its device id:\n${worker.output}`);
step(`worker up; it says: ${command}`);

// A test-side client over the same WebSocket endpoint (node, no Origin header), for diagnostics and the ack's topic.
const seen = { alerts: [], acks: [], active: [] };
const observer = mqtt.connect(wsUrl, { protocolVersion: 5, clientId: 'e2e-demo-observer', clean: true, reconnectPeriod: 300 });
observer.on('connect', () => observer.subscribe({ [`ecgedge/${device}/alerts`]: { qos: 1 }, [`ecgedge/${device}/acks/+/+`]: { qos: 1 },
  [`ecgedge/${device}/active`]: { qos: 1 } }));
observer.on('message', (topic, payload) => {
  const text = payload.toString('utf8');
  const kind = topic.endsWith('/alerts') ? 'alerts' : topic.endsWith('/active') ? 'active' : 'acks';
  seen[kind].push({ topic, at: Date.now(), value: text ? JSON.parse(text) : null });
});
await waitFor('the observer over WebSockets', () => observer.connected, 10_000);
// Page 1's persistent session exists before the first alert (as for a clinician who had the page open before): the
// broker queues the AF onset for it even if Chromium takes longer to start than the replay takes to reach AF.
const page1ClientId = 'e2e-demo-page-1';
const session = mqtt.connect(wsUrl, { protocolVersion: 5, clientId: page1ClientId, clean: false, properties: { sessionExpiryInterval: 3600 } });
await waitFor('page 1\'s session', () => session.connected, 10_000);
await session.subscribeAsync({ // the page's subscriptions (web/src/topics.ts)
  [`ecgedge/+/status`]: { qos: 1 }, [`ecgedge/+/vitals`]: { qos: 0 }, [`ecgedge/+/alerts`]: { qos: 1 }, [`ecgedge/+/active`]: { qos: 1 },
  [`ecgedge/+/acks/+/+`]: { qos: 1 },
});
await session.endAsync();
const sessionReadyAt = Date.now();

// 2. `ecgedge watch --web` exactly as logged, on a free HTTP port.
const httpPort = await freePort();
const webArgs = command.split(' ').slice(1); // "watch --web --broker ws://…"
const web = start(dotnet, [dll, ...webArgs, '--port', String(httpPort)], join(dir, 'web.log'));
await waitFor('watch --web to serve', () => web.output.includes('clinician page on'), 30_000);
const served = Buffer.from(await (await fetch(`http://127.0.0.1:${httpPort}/app.js`)).arrayBuffer());
check(served.equals(readFileSync(join(repoRoot, 'web/dist/app.js'))), `${dll} embeds another web/dist/app.js than web/dist: rebuild it (dotnet build src/EcgEdge -c Release)`);
const config = await (await fetch(`http://127.0.0.1:${httpPort}/config.json`)).json();
check(config.broker === wsUrl && config.autoconnect === true && config.clinician, `config.json: ${JSON.stringify(config)}`);
const clinician = config.clinician;

const browser = await launchBrowser();
const pageErrors = [];
let brokerGone = false;
async function openPage(clientId) {
  // A context per page: its own localStorage, like a second clinician's browser.
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await context.newPage();
  page.on('pageerror', e => pageErrors.push(`${clientId}: ${e}`));
  // Once the worker (and its embedded broker) stopped, the pages' reconnect attempts fail and a last send (a PUBACK, a
  // ping) may meet the closed socket: Chromium logs each one.
  const brokerGoneLine = /^WebSocket connection to .* failed|^WebSocket is already in CLOSING or CLOSED state/;
  page.on('console', m => { if (m.type() === 'error' && !(brokerGone && brokerGoneLine.test(m.text()))) pageErrors.push(`${clientId}: ${m.text()}`); });
  await page.goto(`http://127.0.0.1:${httpPort}/?clientId=${clientId}`);
  await page.waitForSelector('#link-state[data-state="connected"]', { timeout: 15_000 });
  return page;
}

const page1 = await openPage(page1ClientId);
const row1 = page1.locator(`#device-rows tr[data-device="${device}"]`);
await waitFor('device online on page 1', async () => (await row1.getAttribute('data-state').catch(() => null)) === 'online', 30_000, 100);
step('page 1 connected to the embedded broker over WebSockets; device online');
const onsetRow = page1.locator('#alert-list .row', { hasText: 'AF (atrial fibrillation) · onset' }).first();
await onsetRow.waitFor({ timeout: 90_000 }).catch(() => check(false, 'page 1 lists no AF onset' +
  (seen.alerts.some(a => a.value?.type === 'af' && a.at < sessionReadyAt) ? ' (the worker sent it before page 1\'s session existed: too slow a start)' : '')));
const alertId = await onsetRow.getAttribute('data-id');
const active1 = page1.locator(`#active-rows tr[data-alert-id="${alertId}"]`);
await active1.waitFor({ timeout: 10_000 });
check(await active1.getAttribute('data-type') === 'af' && await active1.getAttribute('data-acked') === 'false', 'page 1: the AF episode is not shown active and unacknowledged');
step(`page 1: AF onset ${alertId} listed, its episode active`);

await onsetRow.click();
await page1.waitForSelector('#detail:not([hidden])');
const note = 'seen on page 1, calling the patient';
await page1.fill('#ack-note', note);
await page1.click('#ack-button');
await page1.waitForSelector(`#alert-list .row[data-id="${alertId}"].acked`, { timeout: 10_000 });
await page1.waitForSelector(`#active-rows tr[data-alert-id="${alertId}"][data-acked="true"]`, { timeout: 10_000 });
await waitFor('the ack at the observer', () => seen.acks.length > 0, 10_000);
check(seen.acks[0].topic === `ecgedge/${device}/acks/${clinician}/${alertId}`, `ack topic ${seen.acks[0].topic}`);
step(`page 1 acknowledged it as ${clinician} (retained on ${seen.acks[0].topic})`);

// 3. A page opened later, with a new session: the state comes from what the broker retains.
const page2 = await openPage('e2e-demo-page-2');
const row2 = page2.locator(`#device-rows tr[data-device="${device}"]`);
await waitFor('device online on page 2', async () => (await row2.getAttribute('data-state').catch(() => null)) === 'online', 10_000, 100);
const active2 = page2.locator(`#active-rows tr[data-alert-id="${alertId}"]`);
const offsetFirst = () => seen.alerts.some(a => a.value?.phase === 'offset' && a.value.episodeId === seen.acks[0].value.episodeId);
await active2.waitFor({ timeout: 10_000 }).catch(() => check(false,
  `page 2 does not show the AF episode as active${offsetFirst() ? ' (its offset came before page 2 connected: the machine ran the 37-s episode out)' : ''}`));
await page2.waitForSelector(`#active-rows tr[data-alert-id="${alertId}"][data-acked="true"]`, { timeout: 10_000 });
const ackText = await active2.textContent();
check(ackText.includes(clinician) && ackText.includes(note), `page 2's active row does not show page 1's ack: ${ackText}`);
check(await page2.locator(`#alert-list .row[data-id="${alertId}"]`).count() === 0, 'page 2 received the AF onset alert itself (the active row must come from the retained state)');
check(Number(await page2.getAttribute('#active-count', 'data-open')) >= 1, 'page 2 counts no open episode');
await page2.screenshot({ path: join(shots, 'web-active.png') });
step('page 2 (opened later, new session): the AF episode active, acknowledged by page 1, without its onset alert');

// 4. Ctrl+C on the worker, AF still open: the episode is closed by an offset marked monitoring_stopped, the retained
// status says monitoring stopped; then the embedded broker stops with the worker.
check(!offsetFirst(), 'the AF episode ended before the worker was stopped (the machine ran the 37-s episode out)');
brokerGone = true;
await stop(worker);
check(worker.exitCode === 0 || worker.signalCode === 'SIGTERM', `the worker did not stop cleanly: ${worker.exitCode ?? worker.signalCode}`);
const stoppedOffset = seen.alerts.find(a => a.value?.phase === 'offset' && a.value.episodeId === seen.acks[0].value.episodeId);
check(stoppedOffset?.value.endedBy === 'monitoring_stopped', `the AF episode's offset at the stop: ${JSON.stringify(stoppedOffset?.value ?? null)?.slice(0, 300)}`);
for (const [name, page, row] of [['page 1', page1, row1], ['page 2', page2, row2]]) {
  await waitFor(`${name}: monitoring stopped`, async () => (await row.getAttribute('data-monitoring')) === 'stopped', 10_000, 100)
    .catch(async () => check(false, `${name} does not show monitoring stopped: ${(await row.innerText()).replace(/\s+/g, ' ')}`));
  const text = (await row.innerText()).replace(/\s+/g, ' ');
  check(/MONITORING STOPPED/.test(text) && text.includes('the worker was stopped'), `${name}'s device row: ${text}`);
  check(await page.locator(`#active-rows tr[data-alert-id="${alertId}"]`).count() === 0, `${name} still shows the AF episode active`);
}
const endedRow = page1.locator(`#alert-list .row[data-id="${stoppedOffset.value.id}"]`);
await endedRow.waitFor({ timeout: 10_000 });
const endedText = (await endedRow.innerText()).replace(/\s+/g, ' ');
check(await endedRow.getAttribute('data-ended-by') === 'monitoring_stopped' && /AF \(atrial fibrillation\) · monitoring ended/.test(endedText), `page 1 lists the offset as: ${endedText}`);
step(`worker stopped: both pages show "monitoring stopped"; page 1 lists "${endedText}"`);

check(pageErrors.length === 0, `errors in the pages: ${pageErrors.join(' | ')}`);
const seconds = (Date.now() - t0) / 1000;
await browser.close();
observer.end(true);
await stop(web);
console.log(`e2e-demo: PASS in ${seconds.toFixed(1)} s; screenshot ${join(shots, 'web-active.png')}`);
process.exit(0);

function check(ok, message) {
  if (ok) return;
  console.error(`e2e-demo: FAIL: ${message}`);
  console.error(`  (worker and web logs in ${dir}; run with KEEP=1 to keep them)`);
  process.exit(1);
}
