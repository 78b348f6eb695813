// Browser test of the clinician page against a broker that requires TLS and a password (the production set-up of
// deploy/mosquitto/ecgedge.conf, port 8884): mosquitto with
//   - a secure WebSockets listener (wss://, a test CA and a server certificate for 127.0.0.1/localhost made here with
//     openssl), allow_anonymous false, a password file made with mosquitto_passwd -b, and the shipped
//     deploy/mosquitto/ecgedge-web.acl verbatim (clinicians read alerts/status/vitals/active/acks, write only their own
//     retained acks);
//   - a TLS TCP listener on loopback for the device and a privileged observer, with their own password file and ACL.
// A device account publishes a retained "online" status, one real alert (test/fixtures/alert-201-af-onset.json, the
// AF onset the worker emits for MIT-BIH 201; it validates against docs/schemas/alert.schema.json) and the retained list
// of open episodes naming it (…/active, as the worker does). The page is served
// by `ecgedge watch --web --broker wss://… --username clinician-ward-a`, the password typed into its form:
//   wrong password → the link is refused (not authorised), a disconnected banner, no alert listed;
//   right password → the session resumed, the device online, the queued alert listed and its episode shown as active,
//   an acknowledgement published by the page reaches the broker (seen by the observer) retained on
//   ecgedge/<device>/acks/clinician-ward-a/<alert id>; an ack in another clinician's name, an alert and an active list
//   published with the clinician's credentials are refused by the ACL and not delivered.
// Trust: Chromium gets --ignore-certificate-errors-spki-list=<base64 SHA-256 of the server's public key>, which accepts
// exactly that key (any other certificate error still fails); the node clients verify the chain against the test CA.
// Checked first: a Chromium without that flag does not connect to the wss:// listener (the certificate is not trusted).
//
//   node test/e2e-auth.mjs [--screenshots DIR]      (from web/, after npm ci; exit 77 = skipped)
//   env: CHROMIUM, ECGEDGE_DLL (as test/e2e.mjs), KEEP=1 keeps the temporary folder
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { userInfo } from 'node:os';
import { ecgedgeDll, findChromium, freePort, loadPlaywright, repoRoot, skip, start, stop, waitFor, which, workDir } from './lib/env.mjs';

const args = process.argv.slice(2);
const opt = (name, fallback) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : fallback; };
const shots = resolve(opt('--screenshots', join(repoRoot, 'docs/images')));
mkdirSync(shots, { recursive: true });
const chromiumExe = findChromium();
if (!chromiumExe) skip('Chromium is not installed (apt-get install chromium)');
const mosquittoExe = which(['mosquitto']);
const passwdExe = which(['mosquitto_passwd']);
const opensslExe = which(['openssl']);
if (!mosquittoExe || !passwdExe) skip('mosquitto / mosquitto_passwd are not installed (apt-get install mosquitto)');
if (!opensslExe) skip('openssl is not installed');
let mqtt;
try { mqtt = (await import('mqtt')).default; } catch { skip('node packages missing (cd web && npm ci)'); }

const t0 = Date.now();
const step = (name) => console.log(`e2e-auth: ${name}`);
const alertText = readFileSync(join(repoRoot, 'web/test/fixtures/alert-201-af-onset.json'), 'utf8');
const alert = JSON.parse(alertText);
const device = alert.deviceId;
const clinician = 'clinician-ward-a';
const password = 'correct horse battery staple';
const deviceUser = device, devicePassword = 'device-secret';
const observerUser = 'e2e-observer', observerPassword = 'observer-secret';

// Test CA and a server certificate for 127.0.0.1 / localhost (EC P-256: quick to make).
const dir = workDir('web-e2e-auth');
const f = name => join(dir, name);
const ssl = (...a) => execFileSync(opensslExe, a, { stdio: ['ignore', 'pipe', 'pipe'] });
ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.pem'),
  '-days', '2', '-subj', '/CN=EcgEdge e2e test CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
ssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=127.0.0.1');
writeFileSync(f('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n');
ssl('x509', '-req', '-in', f('server.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('server.pem'), '-days', '2', '-extfile', f('server.ext'));
// The pin Chromium trusts: base64(SHA-256(DER SubjectPublicKeyInfo)) of the server key.
const spkiDer = ssl('pkey', '-in', f('server.key'), '-pubout', '-outform', 'DER');
const spkiPin = (await import('node:crypto')).createHash('sha256').update(spkiDer).digest('base64');

// Password files (mosquitto_passwd -b; -c creates) and the device listener's ACL.
const passwd = (file, user, pw, create) => execFileSync(passwdExe, [...(create ? ['-c'] : []), '-b', f(file), user, pw], { stdio: 'ignore' });
passwd('clinicians.passwd', clinician, password, true);
passwd('devices.passwd', deviceUser, devicePassword, true);
passwd('devices.passwd', observerUser, observerPassword, false);
writeFileSync(f('devices.acl'), `user ${deviceUser}\ntopic write ecgedge/${device}/#\n\nuser ${observerUser}\ntopic read ecgedge/#\n`);
const tcpPort = await freePort();
const wssPort = await freePort();
writeFileSync(f('mosquitto.conf'), [
  `user ${userInfo().username}`,
  'per_listener_settings true',
  `listener ${tcpPort} 127.0.0.1`,
  'protocol mqtt',
  `cafile ${f('ca.pem')}`, `certfile ${f('server.pem')}`, `keyfile ${f('server.key')}`, 'tls_version tlsv1.2',
  'allow_anonymous false',
  `password_file ${f('devices.passwd')}`,
  `acl_file ${f('devices.acl')}`,
  `listener ${wssPort}`,
  'protocol websockets',
  `certfile ${f('server.pem')}`, `keyfile ${f('server.key')}`, 'tls_version tlsv1.2',
  'allow_anonymous false',
  `password_file ${f('clinicians.passwd')}`,
  `acl_file ${join(repoRoot, 'deploy/mosquitto/ecgedge-web.acl')}`,
  'persistence false',
  `log_dest file ${f('mosquitto.log')}`,
  'log_type all',
  '',
].join('\n'));
const broker = start(mosquittoExe, ['-c', f('mosquitto.conf')], f('mosquitto.stdout'));
const wssUrl = `wss://127.0.0.1:${wssPort}`;
const tls = { ca: readFileSync(f('ca.pem')), rejectUnauthorized: true, servername: 'localhost' };

// The device: retained online status and the alert, over TLS with its password; the observer sees acks and alerts.
const connectNode = (url, options) => {
  const c = mqtt.connect(url, { protocolVersion: 5, clean: true, reconnectPeriod: 300, connectTimeout: 5000, ...tls, ...options });
  c.on('error', () => { /* retried; the waits below report */ });
  return c;
};
const seen = { acks: [], alerts: [], active: [] };
const observer = connectNode(`mqtts://127.0.0.1:${tcpPort}`, { clientId: 'e2e-auth-observer', username: observerUser, password: observerPassword });
observer.on('connect', () => observer.subscribe({ [`ecgedge/${device}/acks/+/+`]: { qos: 1 }, [`ecgedge/${device}/alerts`]: { qos: 1 },
  [`ecgedge/${device}/active`]: { qos: 1 } }));
observer.on('message', (topic, payload) => (topic.endsWith('/alerts') ? seen.alerts : topic.endsWith('/active') ? seen.active : seen.acks)
  .push({ topic, text: payload.toString('utf8') }));
await waitFor('the observer connected over TLS', () => observer.connected, 15_000);
// The page's persistent session exists before the alert is sent (as for a clinician whose page was closed): created
// with the clinician's credentials over wss:// from node, with the page's client id and subscriptions. The broker
// queues the alert in it; only a login with the right password gets it.
const pageClientId = 'e2e-auth-page';
const session = connectNode(wssUrl, { clientId: pageClientId, clean: false, username: clinician, password, properties: { sessionExpiryInterval: 3600 } });
await waitFor('the clinician session over wss:// (node, test CA)', () => session.connected, 10_000);
await new Promise((ok, fail) => session.subscribe({ [`ecgedge/+/status`]: { qos: 1 }, [`ecgedge/+/vitals`]: { qos: 0 }, [`ecgedge/+/alerts`]: { qos: 1 },
  [`ecgedge/+/active`]: { qos: 1 }, [`ecgedge/+/acks/+/+`]: { qos: 1 } }, e => (e ? fail(e) : ok())));
await new Promise(ok => session.end(false, {}, ok));
const deviceClient = connectNode(`mqtts://127.0.0.1:${tcpPort}`, { clientId: `${device}-test`, username: deviceUser, password: devicePassword });
await waitFor('the device connected over TLS', () => deviceClient.connected, 10_000);
const now = new Date().toISOString();
const status = { state: 'online', deviceId: device, clientId: `${device}-test`, at: now, startedAt: now, versions: { ecgedge: 'e2e-auth' } };
await pub(deviceClient, `ecgedge/${device}/status`, JSON.stringify(status), true);
await pub(deviceClient, `ecgedge/${device}/alerts`, alertText, false);
const activeList = { schema: 'ecgedge.active/1', id: alert.id.slice(0, 12) + '7fff8' + '0'.repeat(15), deviceId: device, at: now, episodes: [
  { alertId: alert.id, episodeId: alert.episodeId, type: alert.type, phase: alert.phase, severity: alert.severity, onset: alert.onset, criteria: alert.criteria }] };
await pub(deviceClient, `ecgedge/${device}/active`, JSON.stringify(activeList), true);
await waitFor('the observer to get the alert and the active list', () => seen.alerts.length === 1 && seen.active.length === 1, 10_000);
step('broker up (TLS + passwords + ecgedge-web.acl); the page\'s session made; the device published its retained status and one alert');

// The page, served by ecgedge, pointed at the wss:// listener with a user name (it then asks for the password).
const { dotnet, dll } = ecgedgeDll();
const httpPort = await freePort();
const web = start(dotnet, [dll, 'watch', '--web', '--port', String(httpPort), '--broker', wssUrl, '--username', clinician], f('web.log'));
await waitFor('watch --web to serve', () => web.output.includes('clinician page on'), 30_000);
const config = await (await fetch(`http://127.0.0.1:${httpPort}/config.json`)).json();
check(config.broker === wssUrl && config.username === clinician, `config.json: ${JSON.stringify(config)}`);
check(!JSON.stringify(config).toLowerCase().includes('password'), 'config.json mentions a password');

const chromium = await loadPlaywright();
const launch = extra => chromium.launch({
  executablePath: chromiumExe,
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-dev-shm-usage', ...extra],
});

// Without the pin the test certificate is not trusted: the right password does not get the page connected.
{
  const untrusting = await launch([]);
  const p = await untrusting.newPage();
  await p.goto(`http://127.0.0.1:${httpPort}/?clientId=e2e-auth-untrusted`);
  await p.fill('#cfg-password', password);
  await p.click('#connect-form button[type="submit"]');
  await p.waitForSelector('#banner:not([hidden])', { timeout: 15_000 });
  const state = await p.getAttribute('#link-state', 'data-state');
  check(state !== 'connected' && state !== 'refused', `an untrusted certificate was accepted (link state ${state})`);
  await untrusting.close();
  check(!readFileSync(f('mosquitto.log'), 'utf8').includes('e2e-auth-untrusted'), 'the untrusting browser reached MQTT CONNECT');
  step(`without the SPKI pin: not connected (${state}; the TLS handshake fails)`);
}

// Playwright passes its own --user-data-dir, which Chromium requires for the SPKI list to take effect.
const browser = await launch([`--ignore-certificate-errors-spki-list=${spkiPin}`]);
const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
const page = await context.newPage();
const pageErrors = [];
page.on('pageerror', e => pageErrors.push(String(e)));
// Chromium logs each refused WebSocket connection; expected while the password is wrong.
page.on('console', m => { if (m.type() === 'error' && !/^WebSocket connection to .* failed/.test(m.text())) pageErrors.push(m.text()); });
await page.goto(`http://127.0.0.1:${httpPort}/?clientId=${pageClientId}`);
await page.waitForSelector('#connect-form:not([hidden])', { timeout: 10_000 });
check(await page.inputValue('#cfg-username') === clinician, 'the form is not pre-filled with the user name');
check(await page.inputValue('#cfg-broker') === wssUrl, 'the form is not pre-filled with the broker');

// Wrong password: refused by the broker; the page says so and lists nothing.
await page.fill('#cfg-password', 'wrong password');
await page.click('#connect-form button[type="submit"]');
await page.waitForSelector('#banner:not([hidden])', { timeout: 15_000 });
await waitFor('the refusal in the page', async () => /not authori[sz]ed|bad user name or password/i.test(await bannerAndState()), 15_000, 100);
const refusedText = await bannerAndState();
check(await page.getAttribute('#link-state', 'data-state') === 'refused', 'link state is not "refused"');
check(await page.getAttribute('#link-state', 'data-state') !== 'connected', 'connected with a wrong password');
await page.waitForTimeout(1000);
check(await total() === 0, 'alerts listed with a wrong password');
check(await page.locator(`#device-rows tr[data-device="${device}"]`).count() === 0, 'device listed with a wrong password');
check(await page.inputValue('#cfg-password') === '', 'the password field was not cleared');
step(`wrong password: refused, nothing listed (${refusedText.replace(/\s+/g, ' ')})`);

// Right password.
if (await page.locator('#connect-form').isHidden()) await page.click('#settings-button');
await page.fill('#cfg-password', password);
await page.click('#connect-form button[type="submit"]');
await page.waitForSelector('#link-state[data-state="connected"]', { timeout: 15_000 });
await page.waitForSelector('#banner', { state: 'hidden', timeout: 5_000 });
check(/session resumed/.test(await page.getAttribute('#link-state', 'title')), 'the page did not resume its session');
const row = page.locator(`#device-rows tr[data-device="${device}"]`);
await waitFor('device online on the page', async () => (await row.getAttribute('data-state').catch(() => null)) === 'online', 15_000, 100);
const alertRow = page.locator(`#alert-list .row[data-id="${alert.id}"]`);
await alertRow.waitFor({ timeout: 15_000 });
check(await page.locator('#alert-list .row[data-severity="invalid"]').count() === 0, 'an alert is listed as invalid');
const activeRow = page.locator(`#active-rows tr[data-episode="${alert.episodeId}"]`);
await activeRow.waitFor({ timeout: 15_000 });
check(await activeRow.getAttribute('data-acked') === 'false', 'the open episode is shown acknowledged before any ack');
step('right password: connected over wss://, session resumed, device online (retained status), the queued alert listed, its episode active');

// Acknowledge from the page: the ACL lets it through on the clinician's own ack topic.
await alertRow.click();
await page.waitForSelector('#detail:not([hidden])');
await page.fill('#ack-note', 'seen (auth test)');
await page.click('#ack-button');
await page.waitForSelector(`#alert-list .row[data-id="${alert.id}"].acked`, { timeout: 10_000 });
await waitFor('the ack at the observer', () => seen.acks.length > 0, 10_000);
const ackTopic = `ecgedge/${device}/acks/${clinician}/${alert.id}`;
check(seen.acks[0].topic === ackTopic, `ack topic ${seen.acks[0].topic}`);
await page.waitForSelector(`#active-rows tr[data-episode="${alert.episodeId}"][data-acked="true"]`, { timeout: 10_000 });
const ack = JSON.parse(seen.acks[0].text);
check(ack.alertId === alert.id && ack.by === clinician && ack.schema === 'ecgedge.ack/1', `ack ${seen.acks[0].text}`);
await page.screenshot({ path: join(shots, 'web-auth.png') });
step(`acknowledged: the ack reached the broker on ${seen.acks[0].topic}`);

// What the ACL forbids with the clinician's credentials (mqtt.js in node over the same wss:// listener): an ack in
// another clinician's name, an alert and a list of open episodes. Each gets PUBACK "Not authorized" and the observer
// receives none of them.
const intruder = connectNode(wssUrl, { clientId: 'e2e-auth-intruder', username: clinician, password });
await waitFor('the clinician credentials over wss:// from node', () => intruder.connected, 10_000);
const refused = [];
for (const [topic, payload] of [[`ecgedge/${device}/acks/clinician-other/${alert.id}`, seen.acks[0].text], [`ecgedge/${device}/alerts`, alertText],
  [`ecgedge/${device}/active`, JSON.stringify({ ...activeList, episodes: [] })]])
  refused.push(await pub(intruder, topic, payload, true).then(() => 'accepted', e => e.message));
// A permitted ack on the same connection after them: once the observer has it, the ones before it were handled.
await pub(intruder, ackTopic, seen.acks[0].text, true);
await waitFor('the permitted marker ack at the observer', () => seen.acks.length === 2, 10_000);
check(refused.every(r => /not authori[sz]ed/i.test(r)), `forbidden publishes not refused: ${refused.join(' | ')}`);
check(seen.acks.every(a => a.topic === ackTopic) && seen.alerts.length === 1 && seen.active.length === 1,
  `a forbidden publish was delivered: acks on ${seen.acks.map(a => a.topic).join(', ')}; ${seen.alerts.length} alert(s), ${seen.active.length} active list(s)`);
step(`the ACL refused an ack in another name, an alert and an active list from the clinician (${refused.join('; ')}); none delivered`);

check(pageErrors.length === 0, `errors in the page: ${pageErrors.join(' | ')}`);
const seconds = (Date.now() - t0) / 1000;
await browser.close();
for (const c of [intruder, deviceClient, observer]) c.end(true);
await stop(web);
await stop(broker, 'SIGKILL');
console.log(`e2e-auth: PASS in ${seconds.toFixed(1)} s; screenshot ${join(shots, 'web-auth.png')}`);
process.exit(0);

function check(ok, message) {
  if (ok) return;
  console.error(`e2e-auth: FAIL: ${message}`);
  console.error(`  (mosquitto log: ${f('mosquitto.log')}; run with KEEP=1 to keep it)`);
  process.exit(1);
}

function pub(client, topic, payload, retain) {
  return new Promise((ok, fail) => client.publish(topic, payload, { qos: 1, retain }, e => (e ? fail(e) : ok())));
}

async function total() {
  return Number(await page.getAttribute('#alert-count', 'data-total'));
}

async function bannerAndState() {
  return `link "${await page.textContent('#link-state')}", banner "${await page.textContent('#banner')}"`;
}
