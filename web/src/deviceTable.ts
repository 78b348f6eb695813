// The device table: state from the retained status (Last Will: offline, connection lost), whether the device still
// monitors the patient (interrupted: a red row, first; stopped: marked), versions, latest vitals and lead state. While
// the page's own link to the broker is down every state is shown as stale.

import { isLastWill, monitoringOf, type DeviceEntry, type Monitoring } from './deviceStore.ts';
import { shortTime } from './alertList.ts';
import { leadNodes, summarizeLeads } from './leads.ts';

const rhythmNames: Record<string, string> = { sinus_other: 'sinus/other', af_afl: 'AF/flutter', noise: 'noise', vt_vf: 'VT/VF' };
const maxReasonChars = 300;

export function renderDevices(tbody: HTMLTableSectionElement, devices: DeviceEntry[], linkUp: boolean, now = Date.now()): void {
  tbody.replaceChildren(...devices.map(d => row(d, linkUp, now)));
  if (devices.length === 0) {
    const tr = document.createElement('tr');
    const td = cell(linkUp ? 'no device has published a status yet' : 'not connected to the broker');
    td.colSpan = 7;
    td.className = 'empty';
    tr.append(td);
    tbody.append(tr);
  }
}

/** "monitoring interrupted: <reason>" / "monitoring stopped: <reason>"; '' while monitoring (or not said). */
export function monitoringText(m: Monitoring): string {
  if (m.state !== 'stopped' && m.state !== 'interrupted') return '';
  return `monitoring ${m.state}${m.reason ? `: ${clip(m.reason)}` : ''}`;
}

/** Since when the device is in its state: monitoring ended at, or for a last will the last time it was heard from. */
export function sinceText(d: DeviceEntry): string {
  const s = d.status;
  if (!s) return '';
  if (d.monitoringSince) return shortTime(d.monitoringSince);
  if (isLastWill(s)) return d.lastHeard > 0 ? `connection lost after ${shortTime(new Date(d.lastHeard).toISOString())} (last heard)` : 'connection lost (time unknown)';
  return shortTime(s.at);
}

function row(d: DeviceEntry, linkUp: boolean, now: number): HTMLTableRowElement {
  const tr = document.createElement('tr');
  tr.dataset.device = d.deviceId;
  const s = d.status;
  const state = s ? s.state : 'unknown';
  tr.dataset.state = linkUp ? state : 'stale';
  const m = s ? monitoringOf(s) : null;
  if (m?.state) tr.dataset.monitoring = m.state;
  const ended = m?.state === 'stopped' || m?.state === 'interrupted';
  const connection = !s ? 'no status' : s.state === 'online' ? 'online' : `offline (${s.reason ?? 'unknown reason'})`;
  const stateCell = document.createElement('td');
  stateCell.className = 'state';
  if (ended) {
    // What a clinician must see first: nobody is watching this patient (interrupted), or monitoring was ended (stopped).
    const what = document.createElement('strong');
    what.className = 'monitoring';
    what.textContent = `MONITORING ${m.state === 'interrupted' ? 'INTERRUPTED' : 'STOPPED'}`;
    const why = document.createElement('div');
    why.className = 'monitoring-reason';
    why.textContent = m.reason ? clip(m.reason) : '';
    stateCell.append(what, why, document.createTextNode(linkUp ? connection : `${connection}? (broker link down)`));
  } else stateCell.textContent = linkUp ? connection : `${connection}? (broker link down)`;
  const versions = s ? Object.entries(s.versions).map(([k, v]) => `${k} ${v}`).join('\n') : '';
  const v = d.vitals;
  let vitals = '—';
  const leadCell = document.createElement('td');
  leadCell.className = 'leads';
  if (v) {
    const hr = v.heartRateBpm == null ? 'HR n/a' : `HR ${v.heartRateBpm.toFixed(0)}`;
    const rhythm = v.rhythm ? rhythmNames[v.rhythm] ?? v.rhythm : 'rhythm n/a';
    const ectopy = v.veb == null ? '' : ` · VEB ${v.veb} SVEB ${v.sveb ?? 0}`;
    const age = Math.max(0, Math.round((now - d.vitalsAt) / 1000));
    vitals = `${hr} · ${rhythm}${ectopy} · ${age} s ago`;
    const leads = summarizeLeads(v.leadState);
    for (const k of ['ok', 'pending', 'absent', 'problem', 'unreported'] as const) leadCell.dataset[k] = leads[k].join(',');
    leadCell.append(...leadNodes(leads));
    if (v.rhythm === 'noise') leadCell.append(document.createTextNode(' · noisy signal'));
  } else leadCell.textContent = '—';
  const vitalsCell = cell(vitals);
  if (ended && v) {
    // The last vitals of a device that no longer monitors are history, not the patient's state.
    vitalsCell.prepend('last known: ');
    leadCell.prepend('last known: ');
    vitalsCell.classList.add('last-known');
    leadCell.classList.add('last-known');
  }
  const idCell = cell(d.deviceId);
  idCell.className = 'device-id';
  tr.append(idCell, stateCell, cell(sinceText(d)), cell(versions), vitalsCell, leadCell, cell(d.invalid ? `invalid message: ${d.invalid}` : ''));
  return tr;
}

function clip(text: string): string {
  return text.length > maxReasonChars ? `${text.slice(0, maxReasonChars - 1)}…` : text;
}

function cell(text: string): HTMLTableCellElement {
  const td = document.createElement('td');
  td.textContent = text;
  return td;
}
