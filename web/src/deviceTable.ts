// The device table: state from the retained status (Last Will: offline, connection lost), versions, latest vitals and
// lead state. While the page's own link to the broker is down every state is shown as stale.

import { leadProblems, type DeviceEntry } from './deviceStore.ts';
import { shortTime } from './alertList.ts';

const rhythmNames: Record<string, string> = { sinus_other: 'sinus/other', af_afl: 'AF/flutter', noise: 'noise', vt_vf: 'VT/VF' };

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

function row(d: DeviceEntry, linkUp: boolean, now: number): HTMLTableRowElement {
  const tr = document.createElement('tr');
  tr.dataset.device = d.deviceId;
  const s = d.status;
  const state = s ? s.state : 'unknown';
  tr.dataset.state = linkUp ? state : 'stale';
  const stateText = !s ? 'no status' : s.state === 'online' ? 'online' : `offline (${s.reason ?? 'unknown reason'})`;
  const stateCell = cell(linkUp ? stateText : `${stateText}? (broker link down)`);
  stateCell.className = 'state';
  const since = s ? shortTime(s.at) : '';
  const versions = s ? Object.entries(s.versions).map(([k, v]) => `${k} ${v}`).join('\n') : '';
  const v = d.vitals;
  let vitals = '—';
  let leads = '—';
  if (v) {
    const hr = v.heartRateBpm == null ? 'HR n/a' : `HR ${v.heartRateBpm.toFixed(0)}`;
    const rhythm = v.rhythm ? rhythmNames[v.rhythm] ?? v.rhythm : 'rhythm n/a';
    const ectopy = v.veb == null ? '' : ` · VEB ${v.veb} SVEB ${v.sveb ?? 0}`;
    const age = Math.max(0, Math.round((now - d.vitalsAt) / 1000));
    vitals = `${hr} · ${rhythm}${ectopy} · ${age} s ago`;
    const problems = leadProblems(v.leadState);
    leads = problems.length === 0 ? `all ok (${Object.keys(v.leadState).join(', ')})` : problems.join(', ');
  }
  const leadCell = cell(leads);
  if (v && leadProblems(v.leadState).length > 0) leadCell.className = 'lead-problem';
  if (v?.rhythm === 'noise') leadCell.textContent += ' · noisy signal';
  const idCell = cell(d.deviceId);
  idCell.className = 'device-id';
  tr.append(idCell, stateCell, cell(since), cell(versions), cell(vitals), leadCell, cell(d.invalid ? `invalid message: ${d.invalid}` : ''));
  return tr;
}

function cell(text: string): HTMLTableCellElement {
  const td = document.createElement('td');
  td.textContent = text;
  return td;
}
