// The device list: one row per device from its retained status (online/offline, set by the broker's Last Will when the
// device vanishes), its versions and its latest vitals (heart rate, rhythm, lead state), and its open episodes from the
// retained …/active list (so a page opened mid-episode shows the episode).

import type { ActiveEpisode, ActiveState, Status, Vitals } from './messages.ts';

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
}

export class DeviceStore {
  private readonly byId = new Map<string, DeviceEntry>();
  private version = 0;

  /** Grows at every change: the view re-renders when it differs from the one it drew. */
  get changeCount(): number { return this.version; }

  private entry(deviceId: string): DeviceEntry {
    let e = this.byId.get(deviceId);
    if (!e) {
      e = { deviceId, status: null, vitals: null, active: null, vitalsAt: 0, invalid: null };
      this.byId.set(deviceId, e);
    }
    return e;
  }

  setStatus(status: Status): void {
    const e = this.entry(status.deviceId);
    e.status = status;
    e.invalid = null;
    this.version++;
  }

  setVitals(vitals: Vitals, now = Date.now()): void {
    const e = this.entry(vitals.deviceId);
    // QoS 0 vitals may arrive out of order around a reconnect: keep the latest.
    if (e.vitals && Date.parse(e.vitals.at.utc) > Date.parse(vitals.at.utc)) return;
    e.vitals = vitals;
    e.vitalsAt = now;
    this.version++;
  }

  /** The device's open episodes: the latest list delivered replaces the previous one (null: the retained list was cleared). */
  setActive(deviceId: string, active: ActiveState | null): void {
    this.entry(deviceId).active = active;
    this.version++;
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

  /** Devices sorted: online first, then by id. */
  list(): DeviceEntry[] {
    return [...this.byId.values()].sort((a, b) =>
      rank(a) - rank(b) || (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0));
  }

  get ids(): string[] { return [...this.byId.keys()].sort(); }
}

const severityRank: Record<ActiveEpisode['severity'], number> = { info: 0, low: 1, medium: 2, high: 3 };

function rank(e: DeviceEntry): number {
  return e.status?.state === 'online' ? 0 : e.status ? 1 : 2;
}

/** Leads whose state is not "ok", e.g. "V1: LeadOff". */
export function leadProblems(leadState: Record<string, string>): string[] {
  return Object.entries(leadState).filter(([, s]) => s !== 'ok').map(([lead, s]) => `${lead}: ${s}`);
}
