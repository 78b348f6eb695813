// The device list: one row per device from its retained status (online/offline, set by the broker's Last Will when the
// device vanishes; whether it still monitors the patient), its versions and its latest vitals (heart rate, rhythm, lead
// state), and its open episodes from the retained …/active list (so a page opened mid-episode shows the episode).

import type { ActiveEpisode, ActiveState, MonitoringState, Status, Vitals } from './messages.ts';

/** Whether anybody is watching the patient through this device, as the page shows it. */
export interface Monitoring {
  /** null: online and the status does not say (an older device). */
  state: MonitoringState | null;
  reason: string | null;
  /** False when inferred from an older device's online/offline status (it has no "monitoring"). */
  reported: boolean;
}

/**
 * The device's monitoring state. An offline device is never monitoring, whatever it says; an older device's offline
 * status (no "monitoring") is read as its reason implies: connection lost (its last will) = interrupted, shutdown = stopped.
 */
export function monitoringOf(s: Status): Monitoring {
  if (s.state === 'offline') {
    if (s.monitoring === 'stopped' || s.monitoring === 'interrupted')
      return { state: s.monitoring, reason: s.monitoringReason ?? offlineReason(s), reported: true };
    return { state: s.reason === 'shutdown' ? 'stopped' : 'interrupted', reason: offlineReason(s), reported: false };
  }
  if (s.monitoring) return { state: s.monitoring, reason: s.monitoringReason ?? null, reported: true };
  return { state: null, reason: null, reported: false };
}

function offlineReason(s: Status): string {
  return s.reason === 'shutdown' ? 'the device shut down' : s.reason === 'connection-lost' ? 'the device lost its connection' : 'the device is offline';
}

/** The broker published the device's last will: its "at" is when the device last connected, not when it vanished. */
export function isLastWill(s: Status): boolean {
  return s.state === 'offline' && s.reason === 'connection-lost';
}

export interface DeviceEntry {
  deviceId: string;
  status: Status | null;
  vitals: Vitals | null;
  /** The device's latest list of open episodes (null: none received, or cleared on the broker). */
  active: ActiveState | null;
  /** When the page received the vitals (ms since the epoch). */
  vitalsAt: number;
  /** The latest status or vitals message that did not fit its schema. */
  invalid: string | null;
  /** Since when monitoring is stopped or interrupted (the first such status of the run); null while active or unknown (a last will). */
  monitoringSince: string | null;
  /** The latest time the device's own messages carry (status, vitals, open episodes; ms since the epoch; 0: none). */
  lastHeard: number;
}

export class DeviceStore {
  private readonly byId = new Map<string, DeviceEntry>();
  private version = 0;

  /** Grows at every change: the view re-renders when it differs from the one it drew. */
  get changeCount(): number { return this.version; }

  private entry(deviceId: string): DeviceEntry {
    let e = this.byId.get(deviceId);
    if (!e) {
      e = { deviceId, status: null, vitals: null, active: null, vitalsAt: 0, invalid: null, monitoringSince: null, lastHeard: 0 };
      this.byId.set(deviceId, e);
    }
    return e;
  }

  setStatus(status: Status): void {
    const e = this.entry(status.deviceId);
    const previous = e.status;
    const now = monitoringOf(status).state;
    if (now === 'stopped' || now === 'interrupted') {
      // The worker says "stopped" online, then again in its offline status (up to 10 s later, after draining its outbox):
      // since when is the first of them. A last will's time is the device's last connect, not its end: unknown.
      const sameRun = previous !== null && previous.startedAt === status.startedAt && previous.clientId === status.clientId;
      if (!(sameRun && monitoringOf(previous).state === now && e.monitoringSince !== null))
        e.monitoringSince = isLastWill(status) ? null : status.at;
    } else e.monitoringSince = null;
    e.status = status;
    e.invalid = null;
    this.heard(e, status.at);
    this.version++;
  }

  private heard(e: DeviceEntry, iso: string): void {
    const t = Date.parse(iso);
    if (Number.isFinite(t) && t > e.lastHeard) e.lastHeard = t;
  }

  setVitals(vitals: Vitals, now = Date.now()): void {
    const e = this.entry(vitals.deviceId);
    // QoS 0 vitals may arrive out of order around a reconnect: keep the latest.
    if (e.vitals && Date.parse(e.vitals.at.utc) > Date.parse(vitals.at.utc)) return;
    e.vitals = vitals;
    e.vitalsAt = now;
    this.heard(e, vitals.at.utc);
    this.version++;
  }

  /** The device's open episodes: the latest list delivered replaces the previous one (null: the retained list was cleared). */
  setActive(deviceId: string, active: ActiveState | null): void {
    const e = this.entry(deviceId);
    e.active = active;
    if (active) this.heard(e, active.at);
    this.version++;
  }

  /** Devices whose monitoring was interrupted (nobody is watching the patient) or stopped, by id. */
  notMonitoring(): { interrupted: DeviceEntry[]; stopped: DeviceEntry[] } {
    const all = this.list();
    const state = (d: DeviceEntry) => (d.status ? monitoringOf(d.status).state : null);
    return { interrupted: all.filter(d => state(d) === 'interrupted'), stopped: all.filter(d => state(d) === 'stopped') };
  }

  /** Every open episode of every device: highest priority first, then oldest onset first. */
  activeEpisodes(): { device: DeviceEntry; episode: ActiveEpisode }[] {
    const all = [...this.byId.values()].flatMap(device => (device.active?.episodes ?? []).map(episode => ({ device, episode })));
    return all.sort((a, b) => severityRank[b.episode.severity] - severityRank[a.episode.severity]
      || Date.parse(a.episode.onset.utc) - Date.parse(b.episode.onset.utc) || a.device.deviceId.localeCompare(b.device.deviceId));
  }

  setInvalid(deviceId: string, reason: string): void {
    this.entry(deviceId).invalid = reason;
    this.version++;
  }

  /** Devices sorted: monitoring interrupted first (nobody is watching), then online, then the others; then by id. */
  list(): DeviceEntry[] {
    return [...this.byId.values()].sort((a, b) =>
      rank(a) - rank(b) || (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0));
  }

  get ids(): string[] { return [...this.byId.keys()].sort(); }
}

const severityRank: Record<ActiveEpisode['severity'], number> = { info: 0, low: 1, medium: 2, high: 3 };

function rank(e: DeviceEntry): number {
  if (!e.status) return 3;
  const m = monitoringOf(e.status).state;
  return m === 'interrupted' ? 0 : e.status.state === 'online' && m !== 'stopped' ? 1 : 2;
}
