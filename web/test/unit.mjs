// Unit tests of the page's logic without a browser: message checks, the alert store (de-duplication, order, filters,
// retained acks), the open episodes (retained …/active lists), strip decoding, and a mutation fuzz (a damaged message
// must only ever be refused with the typed error).
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
               export * from './src/topics.ts'; export * from './src/deviceStore.ts';`,
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
