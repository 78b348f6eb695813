// Unit tests of the page's logic without a browser: message checks, the alert store (de-duplication, order, filters,
// retained acks), the open episodes (retained …/active lists), lead state as shown (ok / checking / not connected /
// problems), the devices' monitoring state (active / stopped / interrupted, older devices), offsets sent because
// monitoring ended, strip decoding, and a mutation fuzz (a damaged message must only ever be refused with the typed error).
//   node test/unit.mjs          (from web/; bundles src/ with esbuild into a temporary module first)
import { build } from 'esbuild';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';

const dir = mkdtempSync(join(tmpdir(), 'ecgedge-unit-'));
const out = join(dir, 'logic.mjs');
await build({
  stdin: {
    contents: `export * from './src/messages.ts'; export * from './src/alertStore.ts'; export * from './src/stripSignal.ts';
               export * from './src/topics.ts'; export * from './src/deviceStore.ts'; export * from './src/leads.ts';
               export { monitoringEnded } from './src/alertList.ts';`,
    resolveDir: new URL('..', import.meta.url).pathname, loader: 'ts',
  },
  bundle: true, format: 'esm', platform: 'node', outfile: out, logLevel: 'error',
});
const m = await import(pathToFileURL(out).href);
rmSync(dir, { recursive: true, force: true });

const hex = n => n.toString(16).padStart(12, '0') + '7000' + '8' + '0'.repeat(15);
function alert(over = {}) {
  return {
    schema: 'ecgedge.alert/1', id: hex(1000), deviceId: 'dev1', type: 'af', phase: 'onset', severity: 'medium', episodeId: hex(999),
    onset: { utc: '2026-01-01T00:00:00Z', sampleIndex: 0 }, offset: null, durationS: null, heartRateBpm: 90, confidence: 0.9,
    modelVersion: 'm', leadState: { II: 'ok' }, criteria: 'x',
    strip: { origin: { utc: '2026-01-01T00:00:00Z', sampleIndex: 0 }, periodMs: 4, factor: 0.005, unit: 'mV', leads: ['II', 'V1'], dimensions: 2, eventOffsetS: 0.004, data: '1 2 3 4 -5 6' },
    ...over,
  };
}
const topic = 'ecgedge/dev1/alerts';

test('a valid alert is parsed; its device must be the topic\'s', () => {
  const a = m.parseAlert(topic, 'dev1', JSON.stringify(alert()));
  assert.equal(a.id, hex(1000));
  assert.throws(() => m.parseAlert('ecgedge/dev2/alerts', 'dev2', JSON.stringify(alert())), m.InvalidMessageError);
});

test('bad alerts are refused with InvalidMessageError and a reason', () => {
  for (const bad of ['not json', '[]', 'null', JSON.stringify(alert({ id: 'x' })), JSON.stringify(alert({ severity: 'urgent' })),
    JSON.stringify(alert({ onset: { utc: 'yesterday', sampleIndex: 0 } })), JSON.stringify(alert({ strip: 'text' })),
    JSON.stringify(alert({ heartRateBpm: 1e9 })), JSON.stringify(alert({ schema: 'other' }))]) {
    assert.throws(() => m.parseAlert(topic, 'dev1', bad), e => e instanceof m.InvalidMessageError && e.reason.length > 0, bad);
  }
});

test('the store de-duplicates by id and lists newest first', () => {
  const s = new m.AlertStore();
  assert.equal(s.add(m.parseAlert(topic, 'dev1', JSON.stringify(alert({ id: hex(2) })))), true);
  assert.equal(s.add(m.parseAlert(topic, 'dev1', JSON.stringify(alert({ id: hex(3) })))), true);
  assert.equal(s.add(m.parseAlert(topic, 'dev1', JSON.stringify(alert({ id: hex(2) })))), false);
  s.flush();
  s.add(m.parseAlert(topic, 'dev1', JSON.stringify(alert({ id: hex(1) }))));
  s.flush();
  assert.deepEqual(s.visible().map(e => e.key), [hex(3), hex(2), hex(1)]);
  assert.equal(s.duplicates, 1);
  // An invalid message redelivered (same bytes, same topic) is listed once; other bytes are another message.
  assert.equal(s.addInvalid(topic, 'not JSON', '{"x"'), true);
  assert.equal(s.addInvalid(topic, 'not JSON', '{"x"'), false);
  assert.equal(s.addInvalid(topic, 'not JSON', '{"y"'), true);
  s.flush();
  assert.equal(s.visible().filter(e => e.alert === null).length, 2);
  assert.equal(s.duplicates, 2);
});

test('filters: device, type, severity at least, unacknowledged; an ack arriving before its alert is kept', () => {
  const s = new m.AlertStore();
  const ack = { schema: 'ecgedge.ack/1', id: hex(50), alertId: hex(4), episodeId: hex(999), deviceId: 'dev2', by: 'c', at: '2026-01-01T00:00:00Z' };
  assert.equal(s.addAck(ack), true);
  assert.equal(s.addAck(ack), false);
  s.add(alert({ id: hex(2), severity: 'high', type: 'vt' }));
  s.add(alert({ id: hex(3), severity: 'low', type: 'bradycardia' }));
  s.add(alert({ id: hex(4), deviceId: 'dev2' }));
  s.flush();
  const keys = f => { s.setFilter({ ...m.noFilter, ...f }); return s.visible().map(e => e.key); };
  assert.deepEqual(keys({ device: 'dev2' }), [hex(4)]);
  assert.deepEqual(keys({ type: 'vt' }), [hex(2)]);
  assert.deepEqual(keys({ severity: 'medium' }), [hex(4), hex(2)]);
  assert.deepEqual(keys({ unackedOnly: true }), [hex(3), hex(2)]);
});

const ackOf = (over = {}) => ({ schema: 'ecgedge.ack/1', id: hex(50), alertId: hex(4), episodeId: hex(999), deviceId: 'dev1', by: 'clin-a', at: '2026-01-01T00:00:00Z', ...over });

test('acks: the payload\'s clinician and alert must be the topic\'s', () => {
  const ack = ackOf();
  const t = `ecgedge/dev1/acks/clin-a/${hex(4)}`;
  assert.equal(m.parseAck(t, 'dev1', 'clin-a', hex(4), JSON.stringify(ack)).by, 'clin-a');
  assert.throws(() => m.parseAck(`ecgedge/dev1/acks/clin-b/${hex(4)}`, 'dev1', 'clin-b', hex(4), JSON.stringify(ack)), m.InvalidMessageError);
  assert.throws(() => m.parseAck(`ecgedge/dev1/acks/clin-a/${hex(5)}`, 'dev1', 'clin-a', hex(5), JSON.stringify(ack)),
    e => e instanceof m.InvalidMessageError && /differs from the topic's alert/.test(e.reason));
  assert.throws(() => m.parseAck(t, 'dev1', 'clin-a', hex(4), JSON.stringify({ ...ack, note: 'x'.repeat(501) })), m.InvalidMessageError);
});

test('topics: alerts, status, vitals, active, and acks one per clinician and alert', () => {
  assert.deepEqual(m.parseTopic('ecgedge', `ecgedge/d/acks/c/${hex(4)}`), { kind: 'acks', deviceId: 'd', by: 'c', alertId: hex(4) });
  assert.deepEqual(m.parseTopic('ecgedge', 'ecgedge/d/status'), { kind: 'status', deviceId: 'd' });
  assert.deepEqual(m.parseTopic('ecgedge', 'ecgedge/d/active'), { kind: 'active', deviceId: 'd' });
  assert.equal(m.parseTopic('ecgedge', 'ecgedge/d/acks/c'), null); // the old, non-retained form
  assert.equal(m.parseTopic('ecgedge', 'ecgedge/d/events'), null);
  assert.equal(m.parseTopic('ecgedge', 'other/d/alerts'), null);
  assert.equal(m.ackTopic('ecgedge', 'd', 'c', hex(4)), `ecgedge/d/acks/c/${hex(4)}`);
  const subs = Object.keys(m.subscriptions('ecgedge'));
  assert.ok(subs.includes('ecgedge/+/active') && subs.includes('ecgedge/+/acks/+/+'), subs.join(' '));
  assert.match(m.newId(), /^[0-9a-f]{32}$/);
});

const episodeOf = (over = {}) => ({ alertId: hex(1000), episodeId: hex(999), type: 'af', phase: 'onset', severity: 'medium',
  onset: { utc: '2026-01-01T00:00:00Z', sampleIndex: 0 }, criteria: 'AF/flutter (model rhythm) for 32 s (≥ 30 s)', ...over });
const activeOf = (episodes, over = {}) => ({ schema: 'ecgedge.active/1', id: hex(2000), deviceId: 'dev1', at: '2026-01-01T00:00:05Z', episodes, ...over });
const activeTopic = 'ecgedge/dev1/active';

test('active: the retained list of open episodes is parsed and checked', () => {
  const a = m.parseActive(activeTopic, 'dev1', JSON.stringify(activeOf([episodeOf(), episodeOf({ episodeId: hex(998), type: 'vt', phase: 'update', severity: 'high' })])));
  assert.deepEqual(a.episodes.map(e => [e.type, e.phase, e.severity]), [['af', 'onset', 'medium'], ['vt', 'update', 'high']]);
  assert.equal(m.parseActive(activeTopic, 'dev1', JSON.stringify(activeOf([]))).episodes.length, 0);
  const bad = [
    [activeOf([episodeOf()], { deviceId: 'dev2' }), /differs from the topic's device/],
    [activeOf([episodeOf()], { schema: 'ecgedge.alert/1' }), /schema/],
    [activeOf('none'), /"episodes" must be a list/],
    [activeOf(Array.from({ length: 10 }, () => episodeOf())), /at most 9/],
    [activeOf([episodeOf({ phase: 'offset' })]), /episodes\[0\]: "phase"/],
    [activeOf([episodeOf(), episodeOf({ alertId: 'x' })]), /episodes\[1\]: "alertId"/],
    [activeOf([episodeOf({ criteria: 'x'.repeat(301) })]), /"criteria" must be 1 to 300/],
    [activeOf([episodeOf({ onset: null })]), /"onset"/],
    [activeOf([42]), /episodes\[0\] must be an object/],
  ];
  for (const [value, reason] of bad)
    assert.throws(() => m.parseActive(activeTopic, 'dev1', JSON.stringify(value)), e => e instanceof m.InvalidMessageError && reason.test(e.reason), JSON.stringify(value).slice(0, 120));
});

test('active: every device\'s open episodes, highest priority first, then oldest; a new list replaces the old one', () => {
  const d = new m.DeviceStore();
  d.setActive('dev1', m.parseActive(activeTopic, 'dev1', JSON.stringify(activeOf([episodeOf({ onset: { utc: '2026-01-01T00:00:10Z', sampleIndex: 5000 } })]))));
  d.setActive('dev2', m.parseActive('ecgedge/dev2/active', 'dev2', JSON.stringify(activeOf([
    episodeOf({ episodeId: hex(1), type: 'bradycardia', onset: { utc: '2026-01-01T00:00:01Z', sampleIndex: 500 } }),
    episodeOf({ episodeId: hex(2), type: 'vt', severity: 'high', onset: { utc: '2026-01-01T00:00:20Z', sampleIndex: 10000 } }),
  ], { deviceId: 'dev2' }))));
  assert.deepEqual(d.activeEpisodes().map(x => `${x.device.deviceId}:${x.episode.type}`), ['dev2:vt', 'dev2:bradycardia', 'dev1:af']);
  d.setActive('dev2', m.parseActive('ecgedge/dev2/active', 'dev2', JSON.stringify(activeOf([], { deviceId: 'dev2' }))));
  assert.deepEqual(d.activeEpisodes().map(x => x.episode.type), ['af']);
  d.setActive('dev1', null); // a cleared retained list
  assert.equal(d.activeEpisodes().length, 0);
});

test('acks are kept by alert whether or not the alert is here; one per clinician, the newest wins; a cleared one goes', () => {
  const s = new m.AlertStore();
  // An open episode's alert this page never received (opened mid-episode): its retained acks are still known.
  assert.equal(s.addAck(ackOf({ id: hex(60), by: 'clin-a', note: 'first' })), true);
  assert.equal(s.addAck(ackOf({ id: hex(61), by: 'clin-b' })), true);
  assert.deepEqual(s.acksFor(hex(4)).map(k => k.by), ['clin-a', 'clin-b']);
  // clin-a acknowledged again (the broker replaced its retained ack): the newer one replaces it, an older copy does not.
  assert.equal(s.addAck(ackOf({ id: hex(62), by: 'clin-a', note: 'second' })), true);
  assert.equal(s.addAck(ackOf({ id: hex(59), by: 'clin-a', note: 'stale' })), false);
  assert.deepEqual(s.acksFor(hex(4)).map(k => k.note ?? ''), ['second', '']);
  // The alert arrives later: its entry shows the same acks.
  s.add(alert({ id: hex(4) }));
  s.flush();
  assert.equal(s.get(hex(4)).acks.length, 2);
  assert.equal(s.removeAck(hex(4), 'clin-b'), true);
  assert.equal(s.removeAck(hex(4), 'clin-b'), false);
  assert.deepEqual(s.get(hex(4)).acks.map(k => k.by), ['clin-a']);
  // By episode: an update raised the priority; the earlier alert's ack is still known for the episode.
  s.addAck(ackOf({ id: hex(63), alertId: hex(5), by: 'clin-c' }));
  assert.deepEqual(s.acksForEpisode(hex(999)).map(k => `${k.alertId === hex(4) ? 'onset' : 'update'}:${k.by}`), ['onset:clin-a', 'update:clin-c']);
});

test('this page\'s ack state for an alert not in the feed is kept, cleared by the echo, and moves into the entry', () => {
  const s = new m.AlertStore();
  const v0 = s.ackVersion;
  s.setAckState(hex(7), 'sending');
  assert.equal(s.ackStateOf(hex(7)).state, 'sending');
  assert.ok(s.ackVersion > v0);
  s.setAckState(hex(7), 'refused', 'Not authorized');
  s.add(alert({ id: hex(7) }));
  assert.deepEqual([s.get(hex(7)).ackState, s.get(hex(7)).ackError], ['refused', 'Not authorized']);
  s.setAckState(hex(8), 'sent');
  s.addAck(ackOf({ id: hex(64), alertId: hex(8) }));
  assert.equal(s.ackStateOf(hex(8)), undefined);
});

test('strip data: interleaved leads in mV, and the C# errors for bad data', () => {
  const s = m.parseStrip(alert().strip);
  assert.deepEqual([...s.millivolts[0]].map(v => +v.toFixed(4)), [0.005, 0.015, -0.025]);
  assert.deepEqual([...s.millivolts[1]].map(v => +v.toFixed(4)), [0.01, 0.02, 0.03]);
  assert.equal(s.durationS, 0.012);
  const bad = [
    [{ data: '1 2 3' }, /not a multiple of its 2 dimensions/], [{ data: '1 x' }, /value 2 \('x'\) is not an integer/],
    [{ data: '   ' }, /holds no samples/], [{ data: '99999999999 1' }, /is not an integer/], [{ dimensions: 0 }, /dimensions must be 1 to 12/],
    [{ leads: ['II'] }, /1 lead names for 2 dimensions/], [{ periodMs: 0 }, /periodMs must be a positive number/],
    [{ factor: 0 }, /factor must be a non-zero/], [{ unit: 'mmHg' }, /is not a voltage/], [{ periodMs: 100000 }, /at most 30 s/],
  ];
  for (const [over, message] of bad) assert.throws(() => m.parseStrip({ ...alert().strip, ...over }), e => e instanceof m.StripFormatError && message.test(e.message), JSON.stringify(over));
  assert.throws(() => m.parseStrip(null), m.StripFormatError);
});

test('fuzz: damaged alerts are refused only with the typed errors, never anything else', () => {
  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const text = JSON.stringify(alert());
  const junk = ['', 'null', '"', '{', '}', '[', '-', '1e999', 'true', ' ', '\u0000', '"strip":null', ','];
  let refused = 0;
  for (let i = 0; i < 5000; i++) {
    let t = text;
    for (let k = 0, n = 1 + Math.floor(random() * 3); k < n; k++) {
      const at = Math.floor(random() * t.length);
      const len = Math.floor(random() * 8);
      t = t.slice(0, at) + junk[Math.floor(random() * junk.length)] + t.slice(at + len);
    }
    let a;
    try { a = m.parseAlert(topic, 'dev1', t); } catch (e) { assert.ok(e instanceof m.InvalidMessageError, `${e} for ${t}`); refused++; continue; }
    try { m.parseStrip(a.strip); } catch (e) { assert.ok(e instanceof m.StripFormatError, `${e} for ${t}`); }
  }
  assert.ok(refused > 1000, `only ${refused} refused`);
});

test('fuzz: damaged active lists are refused only with InvalidMessageError', () => {
  let seed = 11;
  const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const text = JSON.stringify(activeOf([episodeOf(), episodeOf({ episodeId: hex(998), type: 'vt', phase: 'update', severity: 'high' })]));
  const junk = ['', 'null', '"', '{', '}', '[', ']', '-', '1e999', 'true', ' ', '\u0000', ','];
  let refused = 0;
  for (let i = 0; i < 3000; i++) {
    let t = text;
    for (let k = 0, n = 1 + Math.floor(random() * 3); k < n; k++) {
      const at = Math.floor(random() * t.length);
      t = t.slice(0, at) + junk[Math.floor(random() * junk.length)] + t.slice(at + Math.floor(random() * 8));
    }
    try { m.parseActive(activeTopic, 'dev1', t); } catch (e) { assert.ok(e instanceof m.InvalidMessageError, `${e} for ${t}`); refused++; }
  }
  assert.ok(refused > 1000, `only ${refused} refused`);
});

const eight = (over = {}) => ({ I: 'absent', II: 'ok', V1: 'ok', V2: 'absent', V3: 'absent', V4: 'absent', V5: 'absent', V6: 'absent', ...over });

test('lead state: a 2-lead recording reads "II ok, V1 ok; not connected: I, V2–V6", never "all ok"', () => {
  const s = m.summarizeLeads(eight());
  assert.equal(s.text, 'II ok, V1 ok; not connected: I, V2–V6');
  assert.deepEqual([s.ok, s.absent, s.problem, s.pending], [['II', 'V1'], ['I', 'V2', 'V3', 'V4', 'V5', 'V6'], [], []]);
  assert.deepEqual(s.groups.map(g => g.kind), ['ok', 'absent']);
  assert.doesNotMatch(s.text, /all ok/);
  // Before the first judgement: checking, not ok.
  assert.equal(m.summarizeLeads(eight({ II: 'pending', V1: 'pending' })).text, 'II checking, V1 checking; not connected: I, V2–V6');
  // Problems first, in words; leads with the same problems together; absent leads never among them.
  const p = m.summarizeLeads(eight({ II: 'LeadOff, HighNoise', V1: 'ok', V2: 'FlatLine', V3: 'FlatLine', V4: 'FlatLine', V5: 'ok' }));
  assert.equal(p.text, 'II lead off + high noise, V2–V4 flat line; V1 ok, V5 ok; not connected: I, V6');
  assert.deepEqual(p.groups.map(g => g.kind), ['problem', 'ok', 'absent']);
  assert.deepEqual(p.problem, ['II', 'V2', 'V3', 'V4']);
  // Eight leads judged ok.
  const all = m.summarizeLeads(Object.fromEntries(m.leadNames.map(l => [l, 'ok'])));
  assert.equal(all.text, 'I ok, II ok, V1–V6 ok');
  // An unknown state is not ok: shown as written, as a problem.
  assert.deepEqual(m.summarizeLeads(eight({ V1: 'Weird' })).problem, ['V1']);
  assert.equal(m.problemText('Saturated'), 'saturated');
});

test('lead state of older devices: leads they did not list are "not reported", not ok and not absent', () => {
  const s = m.summarizeLeads({ II: 'ok', V1: 'ok' });
  assert.equal(s.text, 'II ok, V1 ok; not reported: I, V2–V6');
  assert.deepEqual(s.absent, []);
  assert.equal(m.summarizeLeads({}).text, 'no lead state reported');
});

test('lead segments: three or more consecutive chest leads as a range, the rest listed', () => {
  assert.deepEqual(m.leadSegments(['V6', 'V1', 'V2', 'V3']), ['V1–V3', 'V6']);
  assert.deepEqual(m.leadSegments(['V5', 'V6']), ['V5', 'V6']);
  assert.deepEqual(m.leadSegments(['I', 'II', 'V1', 'V2']), ['I', 'II', 'V1', 'V2']);
  assert.deepEqual(m.leadSegments(['II', 'V1', 'V2', 'V3', 'V5']), ['II', 'V1–V3', 'V5']);
  assert.deepEqual(m.leadSegments([]), []);
});

test('leadState must name the eight leads only (the schemas\' propertyNames)', () => {
  assert.equal(m.parseAlert(topic, 'dev1', JSON.stringify(alert({ leadState: eight() }))).leadState.V6, 'absent');
  for (const leadState of [{ III: 'ok' }, { II: 1 }, [], { ['__proto__']: 'ok' }])
    assert.throws(() => m.parseAlert(topic, 'dev1', JSON.stringify(alert({ leadState }))), m.InvalidMessageError, JSON.stringify(leadState));
  const text = JSON.stringify({ ...vitalsOf(), leadState: { aVR: 'ok' } });
  assert.throws(() => m.parseVitals('ecgedge/dev1/vitals', 'dev1', text), e => e instanceof m.InvalidMessageError && /unknown lead "aVR"/.test(e.reason));
});

const vitalsOf = (over = {}) => ({ schema: 'ecgedge.vitals/1', id: hex(3000), deviceId: 'dev1', at: { utc: '2026-01-01T00:01:00Z', sampleIndex: 21600 },
  periodS: 10, heartRateBpm: 80, beats: 13, veb: 0, sveb: 0, rhythm: 'sinus_other', leadState: eight(), ...over });

test('alert endedBy: absent or null on older devices, stopped or interrupted on an offset sent because monitoring ended', () => {
  assert.equal(m.parseAlert(topic, 'dev1', JSON.stringify(alert())).endedBy, null);
  assert.equal(m.parseAlert(topic, 'dev1', JSON.stringify(alert({ endedBy: null }))).endedBy, null);
  const offset = over => m.parseAlert(topic, 'dev1', JSON.stringify(alert({ phase: 'offset', offset: { utc: '2026-01-01T00:05:00Z', sampleIndex: 75000 }, durationS: 300, ...over })));
  assert.equal(offset({ endedBy: 'monitoring_stopped' }).endedBy, 'monitoring_stopped');
  assert.equal(m.monitoringEnded(offset({ endedBy: 'monitoring_stopped' })), 'stopped');
  assert.equal(m.monitoringEnded(offset({ endedBy: 'monitoring_interrupted' })), 'interrupted');
  assert.equal(m.monitoringEnded(offset({})), null); // the condition ended
  assert.equal(m.monitoringEnded(m.parseAlert(topic, 'dev1', JSON.stringify(alert({ endedBy: 'monitoring_stopped' })))), null); // only offsets
  for (const endedBy of ['stopped', 'monitoring_paused', 1, true])
    assert.throws(() => offset({ endedBy }), e => e instanceof m.InvalidMessageError && /endedBy/.test(e.reason), String(endedBy));
});

const statusOf = (over = {}) => ({ state: 'online', deviceId: 'dev1', clientId: 'dev1-c', at: '2026-01-01T00:00:00Z', startedAt: '2026-01-01T00:00:00Z',
  versions: { software: '1' }, ...over });
const statusTopic = 'ecgedge/dev1/status';
const status = over => m.parseStatus(statusTopic, 'dev1', JSON.stringify(statusOf(over)));

test('status monitoring: parsed when present, tolerated when absent, checked', () => {
  assert.equal(status({}).monitoring, undefined);
  const s = status({ monitoring: 'interrupted', monitoringReason: 'source failed: truncated file' });
  assert.deepEqual([s.monitoring, s.monitoringReason], ['interrupted', 'source failed: truncated file']);
  assert.equal(status({ monitoring: null, monitoringReason: null }).monitoring, undefined);
  for (const bad of [{ monitoring: 'paused' }, { monitoring: 1 }, { monitoringReason: 42 }])
    assert.throws(() => status(bad), m.InvalidMessageError, JSON.stringify(bad));
});

test('monitoring as shown: reported, or inferred for older devices; an offline device is never monitoring', () => {
  const of = over => { const x = m.monitoringOf(status(over)); return `${x.state}|${x.reported}`; };
  assert.equal(of({ monitoring: 'active' }), 'active|true');
  assert.equal(of({}), 'null|false'); // an older device, online: not said
  assert.equal(of({ state: 'online', monitoring: 'stopped', monitoringReason: 'end of the replayed recording' }), 'stopped|true');
  assert.equal(of({ state: 'offline', reason: 'shutdown', monitoring: 'stopped' }), 'stopped|true');
  assert.equal(of({ state: 'offline', reason: 'connection-lost', monitoring: 'interrupted' }), 'interrupted|true');
  // Older devices: the last will means nobody is watching; a clean shutdown means stopped.
  assert.equal(of({ state: 'offline', reason: 'connection-lost' }), 'interrupted|false');
  assert.equal(of({ state: 'offline', reason: 'shutdown' }), 'stopped|false');
  assert.equal(of({ state: 'offline' }), 'interrupted|false');
  assert.equal(of({ state: 'offline', reason: 'shutdown', monitoring: 'active' }), 'stopped|false');
  assert.equal(m.monitoringOf(status({ state: 'offline', reason: 'shutdown', monitoring: 'stopped', monitoringReason: 'the worker was stopped' })).reason, 'the worker was stopped');
  assert.equal(m.monitoringOf(status({ state: 'offline', reason: 'connection-lost' })).reason, 'the device lost its connection');
});

test('devices: since when monitoring ended (first status of the run that says so), last heard for a last will, interrupted first', () => {
  const d = new m.DeviceStore();
  const run = { startedAt: '2026-01-01T00:00:00Z', clientId: 'dev1-c' };
  d.setStatus(status({ ...run, monitoring: 'active', at: '2026-01-01T00:00:01Z' }));
  const e = () => d.list().find(x => x.deviceId === 'dev1');
  assert.equal(e().monitoringSince, null);
  d.setVitals(m.parseVitals('ecgedge/dev1/vitals', 'dev1', JSON.stringify(vitalsOf({ at: { utc: '2026-01-01T00:04:00Z', sampleIndex: 1 } }))));
  // End of the replay: "stopped" online, then "stopped" again in the offline status after the outbox drained.
  d.setStatus(status({ ...run, monitoring: 'stopped', monitoringReason: 'end of the replayed recording', at: '2026-01-01T00:05:00Z' }));
  d.setStatus(status({ ...run, state: 'offline', reason: 'shutdown', monitoring: 'stopped', monitoringReason: 'end of the replayed recording', at: '2026-01-01T00:05:08Z' }));
  assert.equal(e().monitoringSince, '2026-01-01T00:05:00Z');
  assert.deepEqual(d.notMonitoring().stopped.map(x => x.deviceId), ['dev1']);
  // A new run: monitoring again.
  const run2 = { startedAt: '2026-01-01T01:00:00Z', clientId: 'dev1-c' };
  d.setStatus(status({ ...run2, monitoring: 'active', at: '2026-01-01T01:00:00Z' }));
  assert.equal(e().monitoringSince, null);
  assert.equal(d.notMonitoring().stopped.length, 0);
  d.setActive('dev1', m.parseActive(activeTopic, 'dev1', JSON.stringify(activeOf([], { at: '2026-01-01T01:02:00Z' }))));
  // Its last will (built when it connected: "at" is its connect time): since unknown, last heard is the latest message.
  d.setStatus(status({ ...run2, state: 'offline', reason: 'connection-lost', monitoring: 'interrupted', at: '2026-01-01T01:00:00Z' }));
  assert.equal(e().monitoringSince, null);
  assert.equal(new Date(e().lastHeard).toISOString(), '2026-01-01T01:02:00.000Z');
  assert.ok(m.isLastWill(e().status));
  // A failure said interrupted before the crash: since then, the will changes nothing.
  const run3 = { startedAt: '2026-01-01T02:00:00Z', clientId: 'dev1-c' };
  d.setStatus(status({ ...run3, monitoring: 'interrupted', monitoringReason: 'source failed: x', at: '2026-01-01T02:10:00Z' }));
  d.setStatus(status({ ...run3, state: 'offline', reason: 'connection-lost', monitoring: 'interrupted', at: '2026-01-01T02:00:00Z' }));
  assert.equal(e().monitoringSince, '2026-01-01T02:10:00Z');
  // Order: interrupted first (nobody is watching), then online, then stopped or offline.
  d.setStatus(m.parseStatus('ecgedge/a-online/status', 'a-online', JSON.stringify(statusOf({ deviceId: 'a-online', monitoring: 'active' }))));
  d.setStatus(m.parseStatus('ecgedge/b-stopped/status', 'b-stopped', JSON.stringify(statusOf({ deviceId: 'b-stopped', state: 'offline', reason: 'shutdown', monitoring: 'stopped' }))));
  d.setStatus(m.parseStatus('ecgedge/c-old/status', 'c-old', JSON.stringify(statusOf({ deviceId: 'c-old' }))));
  assert.deepEqual(d.list().map(x => x.deviceId), ['dev1', 'a-online', 'c-old', 'b-stopped']);
  assert.deepEqual(d.notMonitoring().interrupted.map(x => x.deviceId), ['dev1']);
});
