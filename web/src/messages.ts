// Typed views of the JSON messages on the broker (docs/schemas/*.schema.json) and their checks. Everything that comes
// from the network goes through parse* here: a message that does not fit its schema becomes an InvalidMessageError
// (shown as "invalid" in the page), never an exception that stops the page.

export const severities = ['info', 'low', 'medium', 'high'] as const;
export type Severity = (typeof severities)[number];
export const alertTypes = ['af', 'vt', 'vf', 'pause', 'asystole', 'bradycardia', 'tachycardia', 'lead_off', 'signal_quality'] as const;
export type AlertType = (typeof alertTypes)[number];
export const phases = ['onset', 'update', 'offset'] as const;
export type Phase = (typeof phases)[number];

export interface TimePoint { utc: string; sampleIndex: number }

/** The eight leads of the front-end, in their display order; leadState (alerts, vitals) uses these names only. */
export const leadNames = ['I', 'II', 'V1', 'V2', 'V3', 'V4', 'V5', 'V6'] as const;

/** Why an offset was sent when the condition was not seen to end: monitoring stopped (stop, end of a recording) or was interrupted. */
export const endedByValues = ['monitoring_stopped', 'monitoring_interrupted'] as const;
export type EndedBy = (typeof endedByValues)[number];

/** Whether the device analyses the patient's signal (status "monitoring"; absent from older devices' statuses). */
export const monitoringStates = ['active', 'stopped', 'interrupted'] as const;
export type MonitoringState = (typeof monitoringStates)[number];

export interface StripJson {
  origin: TimePoint | null;
  periodMs: number;
  factor: number;
  unit: string;
  leads: string[];
  dimensions: number;
  eventOffsetS: number;
  data: string;
}

export interface Alert {
  schema: 'ecgedge.alert/1';
  id: string;
  deviceId: string;
  type: AlertType;
  phase: Phase;
  severity: Severity;
  episodeId: string;
  onset: TimePoint;
  offset: TimePoint | null;
  durationS: number | null;
  heartRateBpm: number | null;
  confidence: number;
  modelVersion: string | null;
  /** Every lead: "ok", "pending", "absent" or its problems ("LeadOff, HighNoise"); older devices list fewer leads. */
  leadState: Record<string, string>;
  criteria: string;
  /** Left unchecked here (it is large); stripSignal.ts checks it when the strip is drawn. */
  strip: StripJson | null;
  /** Set on an offset sent because monitoring ended, not because the condition did (null when absent: older devices). */
  endedBy: EndedBy | null;
}

export interface Status {
  state: 'online' | 'offline';
  deviceId: string;
  clientId: string;
  reason?: 'connection-lost' | 'shutdown';
  at: string;
  startedAt: string;
  /** Absent from older devices' statuses (see monitoringOf in deviceStore.ts). */
  monitoring?: MonitoringState;
  monitoringReason?: string;
  versions: Record<string, string>;
}

export interface Vitals {
  schema: 'ecgedge.vitals/1';
  id: string;
  deviceId: string;
  at: TimePoint;
  periodS: number;
  heartRateBpm: number | null;
  beats: number;
  veb: number | null;
  sveb: number | null;
  rhythm: null | 'sinus_other' | 'af_afl' | 'noise' | 'vt_vf';
  leadState: Record<string, string>;
}

/** One open episode of a device (docs/schemas/active.schema.json): what its latest onset or update alert said. */
export interface ActiveEpisode {
  /** The episode's latest onset or update alert: the one to acknowledge (an update that raised the priority needs it again). */
  alertId: string;
  episodeId: string;
  type: AlertType;
  phase: 'onset' | 'update';
  severity: Severity;
  onset: TimePoint;
  criteria: string;
}

/** The open episodes of a device, retained on {prefix}/{deviceId}/active; re-published at every onset, update, offset. */
export interface ActiveState {
  schema: 'ecgedge.active/1';
  id: string;
  deviceId: string;
  at: string;
  episodes: ActiveEpisode[];
}

/** An acknowledgement (docs/schemas/ack.schema.json), retained on {prefix}/{deviceId}/acks/{by}/{alertId}. */
export interface Ack {
  schema: 'ecgedge.ack/1';
  id: string;
  alertId: string;
  episodeId: string;
  deviceId: string;
  by: string;
  at: string;
  note?: string;
}

/** A message that does not fit its schema or its topic. */
export class InvalidMessageError extends Error {
  constructor(readonly topic: string, readonly reason: string) {
    super(`${topic}: ${reason}`);
    this.name = 'InvalidMessageError';
  }
}

const hexId = /^[0-9a-f]{32}$/;
const deviceIdPattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** One MQTT topic level a clinician's name may use (the ack topic's last level). */
export const topicLevelPattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const rhythms = [null, 'sinus_other', 'af_afl', 'noise', 'vt_vf'];
const maxNoteChars = 500;

type Json = Record<string, unknown>;

class Checker {
  /** prefix: where a nested object sits, e.g. "episodes[2]: ", so that the reason names it. */
  constructor(private readonly topic: string, private readonly o: Json, private readonly prefix = '') {}

  fail(reason: string): never {
    throw new InvalidMessageError(this.topic, this.prefix + reason);
  }

  str(key: string, pattern?: RegExp): string {
    const v = this.o[key];
    if (typeof v !== 'string') this.fail(`"${key}" must be a string`);
    if (pattern && !pattern.test(v)) this.fail(`"${key}" is not well formed`);
    return v;
  }

  optStr(key: string): string | null {
    return this.o[key] == null ? null : this.str(key);
  }

  num(key: string, min = -Infinity, max = Infinity): number {
    const v = this.o[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) this.fail(`"${key}" must be a number in [${min}, ${max}]`);
    return v;
  }

  optNum(key: string, min = -Infinity, max = Infinity): number | null {
    return this.o[key] == null ? null : this.num(key, min, max);
  }

  oneOf<T>(key: string, allowed: readonly T[]): T {
    const v = this.o[key] as T;
    if (!allowed.includes(v)) this.fail(`"${key}" is not one of ${allowed.join(', ')}`);
    return v;
  }

  time(key: string): TimePoint {
    const v = this.o[key];
    if (!isObject(v) || typeof v.utc !== 'string' || Number.isNaN(Date.parse(v.utc)) || !Number.isInteger(v.sampleIndex) || (v.sampleIndex as number) < 0)
      this.fail(`"${key}" must be {utc, sampleIndex}`);
    return { utc: v.utc as string, sampleIndex: v.sampleIndex as number };
  }

  date(key: string): string {
    const v = this.str(key);
    if (Number.isNaN(Date.parse(v))) this.fail(`"${key}" is not a date`);
    return v;
  }

  stringMap(key: string): Record<string, string> {
    const v = this.o[key];
    if (!isObject(v) || Object.values(v).some(x => typeof x !== 'string')) this.fail(`"${key}" must map names to strings`);
    return v as Record<string, string>;
  }

  /** leadState: a string per lead, named as the front-end names them (the schemas' propertyNames). */
  leadState(key: string): Record<string, string> {
    const v = this.stringMap(key);
    const other = Object.keys(v).find(k => !(leadNames as readonly string[]).includes(k));
    if (other !== undefined) this.fail(`"${key}" names an unknown lead "${other.slice(0, 20)}"`);
    return v;
  }
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseObject(topic: string, text: string): Json {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new InvalidMessageError(topic, 'not JSON');
  }
  if (!isObject(value)) throw new InvalidMessageError(topic, 'not a JSON object');
  return value;
}

/** The payload's deviceId must be the topic's device level (the broker's ACL binds a device to its own topic). */
function checkDevice(c: Checker, deviceId: string, topicDevice: string): void {
  if (deviceId !== topicDevice) c.fail(`deviceId "${deviceId}" differs from the topic's device "${topicDevice}"`);
}

export function parseAlert(topic: string, topicDevice: string, text: string): Alert {
  const o = parseObject(topic, text);
  const c = new Checker(topic, o);
  if (o.schema !== 'ecgedge.alert/1') c.fail('"schema" is not ecgedge.alert/1');
  const deviceId = c.str('deviceId', deviceIdPattern);
  checkDevice(c, deviceId, topicDevice);
  const strip = o.strip;
  if (strip != null && !isObject(strip)) c.fail('"strip" must be an object or null');
  return {
    schema: 'ecgedge.alert/1',
    id: c.str('id', hexId),
    deviceId,
    type: c.oneOf('type', alertTypes),
    phase: c.oneOf('phase', phases),
    severity: c.oneOf('severity', severities),
    episodeId: c.str('episodeId', hexId),
    onset: c.time('onset'),
    offset: o.offset == null ? null : c.time('offset'),
    durationS: c.optNum('durationS', 0),
    heartRateBpm: c.optNum('heartRateBpm', 0, 400),
    confidence: c.num('confidence', 0, 1),
    modelVersion: c.optStr('modelVersion'),
    leadState: c.leadState('leadState'),
    criteria: c.str('criteria'),
    strip: (strip ?? null) as StripJson | null,
    endedBy: o.endedBy == null ? null : c.oneOf('endedBy', endedByValues),
  };
}

export function parseStatus(topic: string, topicDevice: string, text: string): Status {
  const o = parseObject(topic, text);
  const c = new Checker(topic, o);
  const deviceId = c.str('deviceId', deviceIdPattern);
  checkDevice(c, deviceId, topicDevice);
  const status: Status = {
    state: c.oneOf('state', ['online', 'offline'] as const),
    deviceId,
    clientId: c.str('clientId'),
    at: c.date('at'),
    startedAt: c.date('startedAt'),
    versions: c.stringMap('versions'),
  };
  if (o.reason != null) status.reason = c.oneOf('reason', ['connection-lost', 'shutdown'] as const);
  if (o.monitoring != null) status.monitoring = c.oneOf('monitoring', monitoringStates);
  if (o.monitoringReason != null) status.monitoringReason = c.str('monitoringReason');
  return status;
}

export function parseVitals(topic: string, topicDevice: string, text: string): Vitals {
  const o = parseObject(topic, text);
  const c = new Checker(topic, o);
  if (o.schema !== 'ecgedge.vitals/1') c.fail('"schema" is not ecgedge.vitals/1');
  const deviceId = c.str('deviceId', deviceIdPattern);
  checkDevice(c, deviceId, topicDevice);
  const beats = c.num('beats', 0);
  return {
    schema: 'ecgedge.vitals/1',
    id: c.str('id', hexId),
    deviceId,
    at: c.time('at'),
    periodS: c.num('periodS', 0),
    heartRateBpm: c.optNum('heartRateBpm', 0, 400),
    beats,
    veb: c.optNum('veb', 0),
    sveb: c.optNum('sveb', 0),
    rhythm: c.oneOf('rhythm', rhythms) as Vitals['rhythm'],
    leadState: c.leadState('leadState'),
  };
}

const maxCriteriaChars = 300;

/** The retained list of a device's open episodes ({prefix}/{device}/active). */
export function parseActive(topic: string, topicDevice: string, text: string): ActiveState {
  const o = parseObject(topic, text);
  const c = new Checker(topic, o);
  if (o.schema !== 'ecgedge.active/1') c.fail('"schema" is not ecgedge.active/1');
  const deviceId = c.str('deviceId', deviceIdPattern);
  checkDevice(c, deviceId, topicDevice);
  const list = o.episodes;
  // At most one open episode per alert type (the worker's event engine), so at most as many as there are types.
  if (!Array.isArray(list) || list.length > alertTypes.length) return c.fail(`"episodes" must be a list of at most ${alertTypes.length}`);
  const episodes = list.map((e: unknown, i: number): ActiveEpisode => {
    if (!isObject(e)) return c.fail(`episodes[${i}] must be an object`);
    const k = new Checker(topic, e, `episodes[${i}]: `);
    const criteria = k.str('criteria');
    if (criteria.length === 0 || criteria.length > maxCriteriaChars) k.fail(`"criteria" must be 1 to ${maxCriteriaChars} characters`);
    return {
      alertId: k.str('alertId', hexId),
      episodeId: k.str('episodeId', hexId),
      type: k.oneOf('type', alertTypes),
      phase: k.oneOf('phase', ['onset', 'update'] as const),
      severity: k.oneOf('severity', severities),
      onset: k.time('onset'),
      criteria,
    };
  });
  return { schema: 'ecgedge.active/1', id: c.str('id', hexId), deviceId, at: c.date('at'), episodes };
}

/**
 * An ack from {prefix}/{device}/acks/{by}/{alertId}: the topic's clinician level is the clinician the broker
 * authenticated (the ACL lets each clinician write only under its own name), so a payload naming someone else is
 * refused; so is one whose alert is not the topic's (the topic is what keeps one retained ack per clinician and alert).
 */
export function parseAck(topic: string, topicDevice: string, topicBy: string, topicAlertId: string, text: string): Ack {
  const o = parseObject(topic, text);
  const c = new Checker(topic, o);
  if (o.schema !== 'ecgedge.ack/1') c.fail('"schema" is not ecgedge.ack/1');
  const deviceId = c.str('deviceId', deviceIdPattern);
  checkDevice(c, deviceId, topicDevice);
  const by = c.str('by', topicLevelPattern);
  if (by !== topicBy) c.fail(`"by" (${by}) differs from the topic's clinician (${topicBy})`);
  const alertId = c.str('alertId', hexId);
  if (alertId !== topicAlertId) c.fail(`"alertId" (${alertId}) differs from the topic's alert (${topicAlertId})`);
  const ack: Ack = {
    schema: 'ecgedge.ack/1',
    id: c.str('id', hexId),
    alertId,
    episodeId: c.str('episodeId', hexId),
    deviceId,
    by,
    at: c.date('at'),
  };
  if (o.note != null) {
    const note = c.str('note');
    if (note.length > maxNoteChars) c.fail(`"note" is longer than ${maxNoteChars} characters`);
    ack.note = note;
  }
  return ack;
}

/** A new message id: UUIDv7 in 32 hex digits, like the worker's (time-sortable). */
export function newId(now = Date.now()): string {
  const random = new Uint8Array(10);
  crypto.getRandomValues(random);
  const hex = [...random].map(b => b.toString(16).padStart(2, '0')).join('');
  // 48-bit ms timestamp, version 7, 12 random bits, variant 10xx, 62 random bits.
  const variant = ((parseInt(hex[3], 16) & 0x3) | 0x8).toString(16);
  return now.toString(16).padStart(12, '0') + '7' + hex.slice(0, 3) + variant + hex.slice(4, 19);
}
