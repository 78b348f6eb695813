// What a clinician reads of a device's leads (leadState of vitals and alerts): every lead is "ok" (judged by the quality
// monitor, no problem), "pending" (acquired, not judged yet), "absent" (not acquired: not in the recording, not wired)
// or its problems ("LeadOff, HighNoise"). An absent lead is never shown as ok nor as a failure: it is "not connected",
// out of the way; a lead an older device did not list is "not reported". E.g. a 2-lead recording (II, V1):
//   "II ok, V1 ok; not connected: I, V2–V6"

import { leadNames } from './messages.ts';

export interface LeadGroup {
  kind: 'problem' | 'pending' | 'ok' | 'absent' | 'unreported';
  leads: string[];
  text: string;
}

export interface LeadSummary {
  /** In display order: problems, checking, ok, not connected, not reported; empty groups left out. */
  groups: LeadGroup[];
  /** The groups' texts joined with "; ". */
  text: string;
  problem: string[];
  pending: string[];
  ok: string[];
  absent: string[];
  unreported: string[];
}

const problemNames: Record<string, string> = { LeadOff: 'lead off', FlatLine: 'flat line', Saturated: 'saturated', HighNoise: 'high noise' };

/** A lead's problems as words ("LeadOff, HighNoise" → "lead off + high noise"); an unknown one is shown as written. */
export function problemText(state: string): string {
  const parts = state.split(',').map(p => p.trim()).filter(p => p.length > 0);
  return parts.length === 0 ? 'unknown state' : parts.map(p => problemNames[p] ?? p).join(' + ');
}

/**
 * Lead names in display order as short segments: a run of three or more consecutive chest leads becomes a range
 * ("V2–V6"), everything else is listed ("I", "II", "V5", "V6").
 */
export function leadSegments(leads: readonly string[]): string[] {
  const order = leadNames as readonly string[];
  const known = [...new Set(leads.filter(l => order.includes(l)))].sort((a, b) => order.indexOf(a) - order.indexOf(b));
  const segments: string[] = [];
  for (let i = 0; i < known.length;) {
    let j = i;
    if (known[i].startsWith('V'))
      while (j + 1 < known.length && order.indexOf(known[j + 1]) === order.indexOf(known[j]) + 1) j++;
    if (j - i >= 2) segments.push(`${known[i]}–${known[j]}`);
    else segments.push(...known.slice(i, j + 1));
    i = j + 1;
  }
  return segments.concat(leads.filter(l => !order.includes(l)));
}

export function summarizeLeads(leadState: Record<string, string>): LeadSummary {
  const s: LeadSummary = { groups: [], text: '', problem: [], pending: [], ok: [], absent: [], unreported: [] };
  const problems = new Map<string, string[]>(); // problem text → leads
  for (const lead of leadNames) {
    const state = Object.hasOwn(leadState, lead) ? leadState[lead].trim() : undefined;
    if (state === undefined) s.unreported.push(lead);
    else if (state === 'ok') s.ok.push(lead);
    else if (state === 'pending') s.pending.push(lead);
    else if (state === 'absent') s.absent.push(lead);
    else {
      s.problem.push(lead);
      const text = problemText(state);
      problems.set(text, [...(problems.get(text) ?? []), lead]);
    }
  }
  const each = (leads: string[], word: string) => leadSegments(leads).map(seg => `${seg} ${word}`).join(', ');
  if (problems.size > 0)
    s.groups.push({ kind: 'problem', leads: s.problem, text: [...problems].map(([text, leads]) => each(leads, text)).join(', ') });
  if (s.pending.length > 0) s.groups.push({ kind: 'pending', leads: s.pending, text: each(s.pending, 'checking') });
  if (s.ok.length > 0) s.groups.push({ kind: 'ok', leads: s.ok, text: each(s.ok, 'ok') });
  if (s.absent.length > 0) s.groups.push({ kind: 'absent', leads: s.absent, text: `not connected: ${leadSegments(s.absent).join(', ')}` });
  // An older device listed only some leads (or none): the others are unknown, not ok and not absent.
  if (s.unreported.length > 0 && s.unreported.length < leadNames.length)
    s.groups.push({ kind: 'unreported', leads: s.unreported, text: `not reported: ${leadSegments(s.unreported).join(', ')}` });
  if (s.unreported.length === leadNames.length) s.groups.push({ kind: 'unreported', leads: s.unreported, text: 'no lead state reported' });
  s.text = s.groups.map(g => g.text).join('; ');
  return s;
}

/** The summary as text nodes in spans (classes lead-problem, lead-pending, lead-ok, lead-absent, lead-unreported). */
export function leadNodes(summary: LeadSummary): Node[] {
  const nodes: Node[] = [];
  summary.groups.forEach((g, i) => {
    if (i > 0) nodes.push(document.createTextNode('; '));
    const span = document.createElement('span');
    span.className = `lead-${g.kind}`;
    span.dataset.leads = g.leads.join(',');
    span.textContent = g.text;
    nodes.push(span);
  });
  return nodes;
}
