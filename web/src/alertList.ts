// The alert feed as a virtualised list: a spacer as tall as every row and only the rows in view (plus a few) in the
// DOM, reused as the list scrolls. 10,000 alerts cost the same to draw as 20.

import type { AlertEntry } from './alertStore.ts';
import type { Alert } from './messages.ts';
import { typeName } from './stripCanvas.ts';

export const rowHeightPx = 52;
const overscan = 6;

export class AlertList {
  private entries: AlertEntry[] = [];
  private readonly spacer: HTMLElement;
  private readonly pool: HTMLElement[] = [];
  private selectedKey: string | null = null;

  constructor(private readonly container: HTMLElement, private readonly onSelect: (entry: AlertEntry) => void) {
    this.spacer = document.createElement('div');
    this.spacer.className = 'spacer';
    container.appendChild(this.spacer);
    container.addEventListener('scroll', () => this.draw(), { passive: true });
    container.addEventListener('click', e => {
      const row = (e.target as HTMLElement).closest<HTMLElement>('.row');
      if (row) this.selectIndex(Number(row.dataset.index));
    });
    container.addEventListener('keydown', e => this.onKey(e));
    new ResizeObserver(() => this.draw()).observe(container);
  }

  get length(): number { return this.entries.length; }

  /** Replaces the list (already filtered and sorted) and redraws what is in view. */
  update(entries: AlertEntry[]): void {
    this.entries = entries;
    this.spacer.style.height = `${entries.length * rowHeightPx}px`;
    this.draw();
  }

  select(key: string | null): void {
    this.selectedKey = key;
    this.draw();
  }

  private selectIndex(index: number): void {
    const entry = this.entries[index];
    if (!entry) return;
    this.selectedKey = entry.key;
    this.draw();
    this.onSelect(entry);
  }

  private onKey(e: KeyboardEvent): void {
    if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp' && e.key !== 'Enter') return;
    e.preventDefault();
    const current = this.entries.findIndex(x => x.key === this.selectedKey);
    const next = e.key === 'Enter' ? Math.max(current, 0) : Math.min(this.entries.length - 1, Math.max(0, current + (e.key === 'ArrowDown' ? 1 : -1)));
    const top = next * rowHeightPx;
    if (top < this.container.scrollTop) this.container.scrollTop = top;
    else if (top + rowHeightPx > this.container.scrollTop + this.container.clientHeight)
      this.container.scrollTop = top + rowHeightPx - this.container.clientHeight;
    this.selectIndex(next);
  }

  private draw(): void {
    const first = Math.max(0, Math.floor(this.container.scrollTop / rowHeightPx) - overscan);
    const count = Math.ceil(this.container.clientHeight / rowHeightPx) + 2 * overscan;
    const last = Math.min(this.entries.length, first + count);
    while (this.pool.length < last - first) {
      const row = document.createElement('div');
      row.className = 'row';
      row.setAttribute('role', 'option');
      this.container.appendChild(row);
      this.pool.push(row);
    }
    for (let i = 0; i < this.pool.length; i++) {
      const row = this.pool[i];
      const index = first + i;
      if (index >= last) {
        row.hidden = true;
        continue;
      }
      row.hidden = false;
      const entry = this.entries[index];
      row.style.transform = `translateY(${index * rowHeightPx}px)`;
      row.dataset.index = String(index);
      if (row.dataset.key !== entry.key || row.dataset.version !== version(entry)) fill(row, entry);
      row.setAttribute('aria-selected', String(entry.key === this.selectedKey));
    }
  }
}

function version(e: AlertEntry): string {
  // The last ack's id too: a clinician's newer retained ack replaces the older one in place.
  return `${e.acks.length}/${e.acks.at(-1)?.id ?? ''}/${e.ackState ?? ''}`;
}

function fill(row: HTMLElement, e: AlertEntry): void {
  row.dataset.key = e.key;
  row.dataset.version = version(e);
  row.replaceChildren();
  const a = e.alert;
  if (!a) {
    row.dataset.severity = 'invalid';
    // Pooled rows: nothing of the alert this row showed before may stay on it.
    delete row.dataset.id;
    delete row.dataset.endedBy;
    row.classList.remove('acked');
    row.append(line('invalid message', e.invalid?.topic ?? ''), line(e.invalid?.reason ?? '', ''));
    return;
  }
  row.dataset.severity = a.severity;
  row.dataset.id = a.id;
  const badge = document.createElement('span');
  badge.className = 'badge';
  badge.textContent = a.severity;
  const ended = monitoringEnded(a);
  const first = line(`${typeName(a.type)} · ${ended ? 'monitoring ended' : a.phase}`, a.deviceId);
  first.prepend(badge);
  const hr = a.heartRateBpm == null ? '' : ` · ${a.heartRateBpm.toFixed(0)} bpm`;
  const ack = e.acks.length > 0 ? `✓ ${e.acks[e.acks.length - 1].by}` : e.ackState === 'refused' ? 'ack refused' : e.ackState ? 'ack sent…' : '';
  // The time of this message's event: the episode's end for an offset, its onset otherwise. An offset sent because
  // monitoring ended is not the end of the condition: it may go on unobserved.
  const end = a.offset ? ` ${shortTime(a.offset.utc)}` : '';
  const when = ended ? `monitoring ${ended}${end}` : a.phase === 'offset' && a.offset ? `ended${end}` : shortTime(a.onset.utc);
  row.append(first, line(`${when}${hr}`, ack));
  row.classList.toggle('acked', e.acks.length > 0);
  if (ended) row.dataset.endedBy = a.endedBy!;
  else delete row.dataset.endedBy;
}

/** "stopped" / "interrupted" for an offset sent because monitoring ended (not because the condition did); else null. */
export function monitoringEnded(a: Alert): 'stopped' | 'interrupted' | null {
  if (a.phase !== 'offset' || a.endedBy == null) return null;
  return a.endedBy === 'monitoring_interrupted' ? 'interrupted' : 'stopped';
}

function line(left: string, right: string): HTMLElement {
  const div = document.createElement('div');
  div.className = 'line';
  const l = document.createElement('span');
  l.textContent = left;
  const r = document.createElement('span');
  r.className = 'right';
  r.textContent = right;
  div.append(l, r);
  return div;
}

/** Local date and time to the second. */
export function shortTime(iso: string): string {
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) return iso;
  const p = (n: number) => String(n).padStart(2, '0');
  return `${t.getFullYear()}-${p(t.getMonth() + 1)}-${p(t.getDate())} ${p(t.getHours())}:${p(t.getMinutes())}:${p(t.getSeconds())}`;
}
