// The active alarms: every open episode of every device, from the devices' retained …/active lists, so that a page
// opened mid-episode shows the ongoing AF/VT/… episode although its onset alert was published before the page
// connected. Each row shows who acknowledged the episode's latest alert (retained acks, kept for every clinician) and
// offers to acknowledge it; a click selects the alert in the feed when the page has it. A device whose monitoring was
// interrupted (nobody is watching the patient) is an alarm too, listed first; it has no alert to acknowledge.

import type { Ack, ActiveEpisode } from './messages.ts';
import { monitoringOf, type DeviceEntry } from './deviceStore.ts';
import { monitoringText, sinceText } from './deviceTable.ts';
import { shortTime } from './alertList.ts';
import { typeName } from './stripCanvas.ts';

export interface ActiveRow {
  device: DeviceEntry;
  episode: ActiveEpisode;
  /** Acks of the episode's latest alert. */
  acks: readonly Ack[];
  /** Acks of earlier alerts of the same episode (before a priority update). */
  earlierAcks: readonly Ack[];
  /** This page's ack in progress, if any. */
  ackState?: { state: 'sending' | 'sent' | 'refused' | undefined; error?: string };
}

export interface ActiveActions {
  acknowledge(episode: ActiveEpisode, deviceId: string): void;
  /** The name this page acknowledges under. */
  clinician(): string;
  /** Why acknowledging is not possible now, or null. */
  ackBlocked(): string | null;
  /** Selects the episode's alert in the feed; false when the page does not have it. */
  select(alertId: string): boolean;
}

export function renderActive(tbody: HTMLTableSectionElement, rows: ActiveRow[], linkUp: boolean, actions: ActiveActions,
  interrupted: readonly DeviceEntry[] = []): void {
  tbody.replaceChildren(...interrupted.map(d => monitoringRow(d, linkUp)), ...rows.map(r => row(r, linkUp, actions)));
  if (rows.length === 0 && interrupted.length === 0) {
    const tr = document.createElement('tr');
    const td = cell(linkUp ? 'no open episode' : 'not connected to the broker');
    td.colSpan = 6;
    td.className = 'empty';
    tr.append(td);
    tbody.append(tr);
  }
}

function row(r: ActiveRow, linkUp: boolean, actions: ActiveActions): HTMLTableRowElement {
  const { device, episode: e } = r;
  const tr = document.createElement('tr');
  tr.dataset.device = device.deviceId;
  tr.dataset.episode = e.episodeId;
  tr.dataset.alertId = e.alertId;
  tr.dataset.type = e.type;
  tr.dataset.severity = e.severity;
  tr.dataset.acked = String(r.acks.length > 0);
  // The list is the device's last word: while it is offline or not monitoring (or our link is down) the episode may
  // have ended unseen.
  const offline = device.status?.state === 'offline';
  const monitoring = device.status ? monitoringOf(device.status).state : null;
  const ended = monitoring === 'stopped' || monitoring === 'interrupted';
  if (offline || ended || !linkUp) tr.dataset.stale = 'true';
  const badge = document.createElement('span');
  badge.className = 'badge';
  badge.textContent = e.severity;
  const what = cell(`${typeName(e.type)}${e.phase === 'update' ? ' (updated)' : ''}`);
  what.prepend(badge);
  const deviceCell = cell(device.deviceId + (ended ? ` (monitoring ${monitoring}; last known)` : offline ? ` (offline: ${device.status?.reason ?? 'unknown'}; last known)` : ''));
  const ackCell = cell(ackText(r));
  ackCell.className = r.acks.length > 0 ? 'acked' : r.ackState?.state === 'refused' ? 'refused' : 'unacked';
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'ack-episode';
  // Acknowledged by this page's clinician already: a new note goes through the alert's detail, when the page has it.
  const mine = r.acks.some(k => k.by === actions.clinician());
  button.textContent = mine ? 'Acknowledged' : 'Acknowledge';
  const blocked = actions.ackBlocked();
  button.disabled = mine || blocked !== null || r.ackState?.state === 'sending';
  button.title = mine ? `you acknowledged alert ${e.alertId}` : blocked ?? `acknowledge alert ${e.alertId}`;
  button.addEventListener('click', ev => {
    ev.stopPropagation();
    actions.acknowledge(e, device.deviceId);
  });
  const actionCell = document.createElement('td');
  actionCell.append(button);
  tr.append(what, deviceCell, cell(shortTime(e.onset.utc)), cell(e.criteria), ackCell, actionCell);
  tr.addEventListener('click', () => {
    if (!actions.select(e.alertId)) tr.title = 'this alert was published before the page connected; its details are not here';
  });
  return tr;
}

/** A device whose monitoring was interrupted: an alarm with no alert behind it (nothing to acknowledge). */
function monitoringRow(d: DeviceEntry, linkUp: boolean): HTMLTableRowElement {
  const tr = document.createElement('tr');
  tr.dataset.device = d.deviceId;
  tr.dataset.kind = 'monitoring';
  tr.dataset.severity = 'high';
  if (!linkUp) tr.dataset.stale = 'true';
  const badge = document.createElement('span');
  badge.className = 'badge';
  badge.textContent = 'no monitor';
  const what = cell('Monitoring interrupted');
  what.prepend(badge);
  const why = monitoringText(monitoringOf(d.status!)).replace(/^monitoring interrupted: ?/, '');
  const ackCell = cell('nobody is watching this patient: check the patient and the device');
  ackCell.className = 'unacked';
  tr.append(what, cell(d.deviceId), cell(sinceText(d)), cell(why || 'no reason given'), ackCell, document.createElement('td'));
  return tr;
}

function ackText(r: ActiveRow): string {
  if (r.acks.length > 0) return r.acks.map(k => `✓ ${k.by} ${shortTime(k.at)}${k.note ? ` “${k.note}”` : ''}`).join('\n');
  const state = r.ackState?.state;
  if (state === 'sending') return 'acknowledgement sending…';
  if (state === 'sent') return 'acknowledgement sent, waiting for the broker to echo it';
  if (state === 'refused') return `acknowledgement refused: ${r.ackState?.error ?? ''}`;
  if (r.earlierAcks.length > 0)
    return `not acknowledged since the last update (earlier: ${[...new Set(r.earlierAcks.map(k => k.by))].join(', ')})`;
  return 'not acknowledged';
}

function cell(text: string): HTMLTableCellElement {
  const td = document.createElement('td');
  td.textContent = text;
  return td;
}
