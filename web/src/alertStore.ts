// The alert feed's state: alerts de-duplicated by id (delivery is at-least-once), newest first, with acknowledgements
// and filters. Messages are added as they arrive and merged into the sorted list once per frame (flush), so that a burst
// of 10,000 queued alerts costs one sort per frame rather than one re-render per message.
// Acknowledgements are retained on the broker, one per clinician and alert, so they are kept here by alert id whether or
// not the alert itself is in the feed (a page opened mid-episode gets the acks and the open episodes, not the old alerts).

import type { Ack, Alert, Severity } from './messages.ts';

export interface AlertEntry {
  /** Sort key: the alert id (UUIDv7: time-ordered) or, for an invalid message, a key of the same form from the arrival time. */
  key: string;
  alert: Alert | null;
  /** Why the message was refused, when alert is null. */
  invalid?: { topic: string; reason: string; preview: string; fingerprint: string };
  receivedAt: number;
  acks: Ack[];
  /** An ack published from this page whose echo from the broker has not come back yet; or the broker's refusal. */
  ackState?: 'sending' | 'sent' | 'refused';
  ackError?: string;
}

export interface AlertFilter {
  device: string;   // '' = all
  type: string;     // '' = all
  severity: string; // '' = all
  unackedOnly: boolean;
}

export const noFilter: AlertFilter = { device: '', type: '', severity: '', unackedOnly: false };

const maxInvalid = 500;
const severityRank: Record<Severity, number> = { info: 0, low: 1, medium: 2, high: 3 };

export class AlertStore {
  private readonly byId = new Map<string, AlertEntry>();
  private sorted: AlertEntry[] = [];
  private pending: AlertEntry[] = [];
  /** Every ack by alert id (the same array as the entry's acks once the alert is here); one per clinician. */
  private readonly acksByAlert = new Map<string, Ack[]>();
  /** Alert ids acknowledged per episode (for an open episode whose latest alert is not acknowledged yet). */
  private readonly alertsByEpisode = new Map<string, Set<string>>();
  /** This page's ack in progress for an alert that is not in the feed (opened mid-episode). */
  private readonly ackStates = new Map<string, { state: AlertEntry['ackState']; error?: string }>();
  private readonly ackIds = new Set<string>();
  private ackChanges = 0;
  private readonly invalidFingerprints = new Set<string>();
  private invalidCount = 0;
  private invalidSeq = 0;
  private filter: AlertFilter = noFilter;
  private view: AlertEntry[] | null = null;
  readonly devices = new Set<string>();
  duplicates = 0;

  get size(): number { return this.byId.size + this.invalidCount; }
  get pendingCount(): number { return this.pending.length; }
  /** Grows at every change of acknowledgements or of this page's ack states (views redraw when it differs). */
  get ackVersion(): number { return this.ackChanges; }

  /** Adds an alert; false when its id was seen before (a duplicate delivery). */
  add(alert: Alert, now = Date.now()): boolean {
    if (this.byId.has(alert.id)) {
      this.duplicates++;
      return false;
    }
    const entry: AlertEntry = { key: alert.id, alert, receivedAt: now, acks: this.ackList(alert.id) };
    const state = this.ackStates.get(alert.id);
    if (state) {
      entry.ackState = state.state;
      entry.ackError = state.error;
      this.ackStates.delete(alert.id);
    }
    this.byId.set(alert.id, entry);
    this.devices.add(alert.deviceId);
    this.pending.push(entry);
    return true;
  }

  /**
   * Keeps a refused message in the feed (at most maxInvalid; the oldest go first); false when the same bytes came on the
   * same topic before (a redelivery: an invalid message has no usable id to de-duplicate on).
   */
  addInvalid(topic: string, reason: string, payload: string, now = Date.now()): boolean {
    const fingerprint = `${topic}\n${payload.length}:${fnv1a(payload, 0x811c9dc5)}:${fnv1a(payload, 0x01000193)}`;
    if (this.invalidFingerprints.has(fingerprint)) {
      this.duplicates++;
      return false;
    }
    this.invalidFingerprints.add(fingerprint);
    const key = now.toString(16).padStart(12, '0') + 'ffff' + (this.invalidSeq++).toString(16).padStart(16, '0');
    this.pending.push({ key, alert: null, invalid: { topic, reason, preview: payload.slice(0, 200), fingerprint }, receivedAt: now, acks: [] });
    this.invalidCount++;
    return true;
  }

  private ackList(alertId: string): Ack[] {
    let list = this.acksByAlert.get(alertId);
    if (!list) {
      list = [];
      this.acksByAlert.set(alertId, list);
    }
    return list;
  }

  /**
   * Records an acknowledgement (possibly before its alert arrives, or for an alert this page never gets); false for a
   * duplicate or an older one. The broker keeps one retained ack per clinician and alert, so a newer ack by the same
   * clinician (a later id: UUIDv7) replaces the older one here too, and every page ends with the same list.
   */
  addAck(ack: Ack): boolean {
    if (this.ackIds.has(ack.id)) return false;
    this.ackIds.add(ack.id);
    const list = this.ackList(ack.alertId);
    const same = list.findIndex(k => k.by === ack.by);
    if (same >= 0 && list[same].id > ack.id) return false;
    if (same >= 0) list[same] = ack;
    else list.push(ack);
    let alerts = this.alertsByEpisode.get(ack.episodeId);
    if (!alerts) this.alertsByEpisode.set(ack.episodeId, (alerts = new Set()));
    alerts.add(ack.alertId);
    this.clearAckState(ack.alertId);
    this.changed();
    return true;
  }

  /** A clinician's retained ack was cleared on the broker (empty retained payload): it is gone for every page. */
  removeAck(alertId: string, by: string): boolean {
    const list = this.acksByAlert.get(alertId);
    const index = list ? list.findIndex(k => k.by === by) : -1;
    if (!list || index < 0) return false;
    list.splice(index, 1);
    this.changed();
    return true;
  }

  /** The acknowledgements of an alert (also of one that is not in the feed). */
  acksFor(alertId: string): readonly Ack[] { return this.acksByAlert.get(alertId) ?? []; }

  /** The acknowledgements of any alert of an episode. */
  acksForEpisode(episodeId: string): Ack[] {
    return [...this.alertsByEpisode.get(episodeId) ?? []].flatMap(id => this.acksFor(id));
  }

  /** This page's ack in progress for the alert, if any. */
  ackStateOf(alertId: string): { state: AlertEntry['ackState']; error?: string } | undefined {
    const entry = this.byId.get(alertId);
    if (entry) return entry.ackState ? { state: entry.ackState, error: entry.ackError } : undefined;
    return this.ackStates.get(alertId);
  }

  private clearAckState(alertId: string): void {
    const entry = this.byId.get(alertId);
    if (entry) {
      entry.ackState = undefined;
      entry.ackError = undefined;
    }
    this.ackStates.delete(alertId);
  }

  private changed(): void {
    this.ackChanges++;
    this.view = null;
  }

  get(id: string): AlertEntry | undefined { return this.byId.get(id); }

  /** Merges what arrived since the last call into the newest-first list; true when anything changed. */
  flush(): boolean {
    if (this.pending.length === 0) return false;
    const incoming = this.pending.sort(newestFirst);
    this.pending = [];
    const merged: AlertEntry[] = new Array(this.sorted.length + incoming.length);
    let i = 0, j = 0, k = 0;
    while (i < this.sorted.length && j < incoming.length)
      merged[k++] = newestFirst(this.sorted[i], incoming[j]) <= 0 ? this.sorted[i++] : incoming[j++];
    while (i < this.sorted.length) merged[k++] = this.sorted[i++];
    while (j < incoming.length) merged[k++] = incoming[j++];
    this.sorted = merged;
    this.trimInvalid();
    this.view = null;
    return true;
  }

  setFilter(filter: AlertFilter): void {
    this.filter = filter;
    this.view = null;
  }

  /** The entries that pass the filter, newest first (cached until the next change). */
  visible(): AlertEntry[] {
    if (this.view) return this.view;
    const f = this.filter;
    const all = f.device === '' && f.type === '' && f.severity === '' && !f.unackedOnly;
    this.view = all ? this.sorted : this.sorted.filter(e => matches(e, f));
    return this.view;
  }

  /** Marks that this page is acknowledging the alert (in the feed or not), or that the broker refused it. */
  setAckState(id: string, state: AlertEntry['ackState'], error?: string): void {
    const entry = this.byId.get(id);
    if (entry) {
      entry.ackState = state;
      entry.ackError = error;
    } else this.ackStates.set(id, { state, error });
    this.changed();
  }

  private trimInvalid(): void {
    if (this.invalidCount <= maxInvalid) return;
    let excess = this.invalidCount - maxInvalid;
    for (let i = this.sorted.length - 1; i >= 0 && excess > 0; i--) {
      if (this.sorted[i].alert === null) {
        this.invalidFingerprints.delete(this.sorted[i].invalid!.fingerprint);
        this.sorted.splice(i, 1);
        this.invalidCount--;
        excess--;
      }
    }
  }
}

/** 32-bit FNV-1a of the UTF-16 code units, from the given offset basis. */
function fnv1a(text: string, basis: number): string {
  let h = basis >>> 0;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16);
}

function newestFirst(a: AlertEntry, b: AlertEntry): number {
  return a.key < b.key ? 1 : a.key > b.key ? -1 : 0;
}

function matches(e: AlertEntry, f: AlertFilter): boolean {
  const a = e.alert;
  if (!a) return f.device === '' && f.type === '' && f.severity === '' && !f.unackedOnly;
  if (f.device !== '' && a.deviceId !== f.device) return false;
  if (f.type !== '' && a.type !== f.type) return false;
  if (f.severity !== '' && severityRank[a.severity] < severityRank[f.severity as Severity]) return false;
  if (f.unackedOnly && e.acks.length > 0) return false;
  return true;
}
