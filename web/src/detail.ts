// The alert detail: the alert's fields, its acknowledgements and the acknowledge action, and its strip on ECG paper.

import type { AlertEntry } from './alertStore.ts';
import { monitoringEnded } from './alertList.ts';
import { leadNodes, summarizeLeads } from './leads.ts';
import { formatUtc, drawStrip, typeName } from './stripCanvas.ts';
import { StripFormatError } from './stripSignal.ts';

export interface DetailActions {
  acknowledge(entry: AlertEntry, note: string): void;
  /** Why acknowledging is not possible now, or null. */
  ackBlocked(): string | null;
}

export class DetailView {
  private shown: AlertEntry | null = null;
  /** How long decoding and drawing the last strip took (ms), for diagnostics. */
  lastStripMs = 0;
  private drawnKey: string | null = null;
  private shownSignature = '';

  constructor(private readonly root: HTMLElement, private readonly actions: DetailActions) {
    this.el('ack-button').addEventListener('click', () => {
      if (!this.shown) return;
      const note = this.el<HTMLInputElement>('ack-note').value.trim();
      this.actions.acknowledge(this.shown, note);
      this.el<HTMLInputElement>('ack-note').value = '';
    });
    this.el<HTMLSelectElement>('strip-zoom').addEventListener('change', () => this.applyZoom());
    new ResizeObserver(() => this.applyZoom()).observe(this.el('strip-scroll'));
  }

  get current(): AlertEntry | null { return this.shown; }

  show(entry: AlertEntry | null): void {
    this.shown = entry;
    this.root.hidden = entry === null;
    (document.getElementById('detail-empty') as HTMLElement).hidden = entry !== null;
    if (entry) this.refresh();
  }

  /** Redraws the fields and acks (cheap); the strip only when another alert is shown. */
  refresh(): void {
    const e = this.shown;
    if (!e) return;
    // Rebuilding unchanged fields would re-lay out the pane and repaint the large strip canvas under it.
    const signature = `${e.key}|${e.acks.map(k => k.id).join(',')}|${e.ackState ?? ''}|${e.ackError ?? ''}|${this.actions.ackBlocked() ?? ''}`;
    if (signature === this.shownSignature) return;
    this.shownSignature = signature;
    const a = e.alert;
    this.root.dataset.severity = a?.severity ?? 'invalid';
    if (!a) {
      delete this.root.dataset.endedBy;
      this.el('detail-title').textContent = 'Invalid message';
      this.fields([['topic', e.invalid?.topic ?? ''], ['problem', e.invalid?.reason ?? ''], ['payload (start)', e.invalid?.preview ?? '']]);
      this.el('acks').replaceChildren();
      this.el('ack-form').hidden = true;
      this.stripMessage('');
      this.view().hidden = true;
      this.drawnKey = e.key;
      return;
    }
    // An offset sent because monitoring ended says so: the condition was not seen to end and may go on unobserved.
    const ended = monitoringEnded(a);
    this.el('detail-title').textContent = `${typeName(a.type)} — ${ended ? `monitoring ended (${ended})` : a.phase}`;
    if (ended) this.root.dataset.endedBy = a.endedBy!;
    else delete this.root.dataset.endedBy;
    const leads = summarizeLeads(a.leadState);
    const leadsField = document.createElement('span');
    leadsField.append(...leadNodes(leads));
    this.fields([
      ['severity', a.severity],
      ['device', a.deviceId],
      ['onset', formatUtc(a.onset.utc)],
      ...(ended ? [
        ['monitoring ended', `${a.offset ? formatUtc(a.offset.utc) : 'time not given'} (${ended}${ended === 'interrupted' ? ': nobody was watching after it' : ''})`],
        ['offset', 'none: the episode was not seen to end; it may continue unobserved'],
        ['observed for', a.durationS == null ? '—' : `${a.durationS.toFixed(0)} s, until monitoring ended`],
      ] as [string, string][] : [
        ['offset', a.offset ? formatUtc(a.offset.utc) : '—'],
        ['duration', a.durationS == null ? '—' : `${a.durationS.toFixed(0)} s`],
      ] as [string, string][]),
      ['heart rate', a.heartRateBpm == null ? 'n/a' : `${a.heartRateBpm.toFixed(0)} bpm`],
      ['confidence', a.confidence.toFixed(3)],
      ['criteria', a.criteria],
      ['leads', leads.groups.length > 0 ? leadsField : '—'],
      ['model', a.modelVersion ?? 'n/a'],
      ['episode', a.episodeId],
      ['alert id', a.id],
    ]);
    const acks = e.acks.map(k => {
      const li = document.createElement('li');
      li.textContent = `acknowledged by ${k.by} at ${formatUtc(k.at)}${k.note ? ` — “${k.note}”` : ''}`;
      return li;
    });
    if (e.ackState === 'sending' || e.ackState === 'sent') acks.push(note(e.ackState === 'sending' ? 'acknowledgement sending…' : 'acknowledgement sent, waiting for the broker to echo it'));
    if (e.ackState === 'refused') acks.push(note(`acknowledgement refused: ${e.ackError ?? ''}`, 'error'));
    this.el('acks').replaceChildren(...acks);
    this.el('ack-form').hidden = false;
    const blocked = this.actions.ackBlocked();
    const button = this.el<HTMLButtonElement>('ack-button');
    button.disabled = blocked !== null || e.ackState === 'sending';
    button.title = blocked ?? '';
    this.el('ack-blocked').textContent = blocked ?? '';
    const download = this.el<HTMLAnchorElement>('download-json');
    download.download = `${a.id}.json`;
    download.onclick = () => {
      download.href = URL.createObjectURL(new Blob([JSON.stringify(a)], { type: 'application/json' }));
      setTimeout(() => URL.revokeObjectURL(download.href), 10_000);
    };
    if (this.drawnKey !== e.key) this.drawStrip(e);
  }

  private drawStrip(e: AlertEntry): void {
    this.drawnKey = e.key;
    const canvas = this.canvas();
    try {
      const started = performance.now();
      const s = drawStrip(canvas, e.alert!);
      this.lastStripMs = performance.now() - started;
      canvas.dataset.alertId = e.alert!.id;
      this.view().hidden = false;
      this.stripMessage(`${s.leads.length} lead(s), ${s.durationS.toFixed(1)} s at ${(1000 / s.periodMs).toFixed(0)} Hz · 25 mm/s · 10 mm/mV`);
      this.applyZoom();
    } catch (err) {
      delete canvas.dataset.alertId;
      this.view().hidden = true;
      if (err instanceof StripFormatError) this.stripMessage(`No strip to draw: ${err.message}`, true);
      else {
        console.error(err);
        this.stripMessage(`The strip could not be drawn: ${(err as Error).message}`, true);
      }
    }
  }

  /**
   * Shows the strip at the chosen zoom. The 10 px/mm drawing (#strip, the same pixels as `ecgedge strip`) stays off
   * screen; what is shown is a copy scaled once to the screen's pixels, because a browser without GPU rasterisation
   * would otherwise rescale the whole 10 px/mm bitmap at every repaint of the page (~100 ms a frame).
   */
  private applyZoom(): void {
    const master = this.canvas();
    const view = this.view();
    if (view.hidden || !master.dataset.alertId) return;
    const zoom = this.el<HTMLSelectElement>('strip-zoom').value;
    // "fit": the whole strip in the pane's width; a number: that many CSS pixels per paper pixel (1 = 10 px/mm).
    const cssWidth = zoom === 'fit' ? Math.max(100, this.el('strip-scroll').clientWidth - 2) : master.width * Number(zoom);
    const ratio = Math.min(window.devicePixelRatio || 1, master.width / cssWidth);
    const width = Math.round(cssWidth * ratio);
    const height = Math.round((master.height * width) / master.width);
    if (view.width !== width || view.height !== height || view.dataset.alertId !== master.dataset.alertId) {
      view.width = width;
      view.height = height;
      const ctx = view.getContext('2d')!;
      ctx.imageSmoothingEnabled = true;
      ctx.imageSmoothingQuality = 'high';
      ctx.drawImage(master, 0, 0, width, height);
      view.dataset.alertId = master.dataset.alertId;
    }
    view.style.width = `${cssWidth}px`;
  }

  private stripMessage(text: string, error = false): void {
    const el = this.el('strip-info');
    el.textContent = text;
    el.classList.toggle('error', error);
  }

  private fields(pairs: [string, string | Node][]): void {
    const dl = this.el('detail-fields');
    dl.replaceChildren(...pairs.flatMap(([k, v]) => {
      const dt = document.createElement('dt');
      dt.textContent = k;
      const dd = document.createElement('dd');
      dd.dataset.field = k;
      if (typeof v === 'string') dd.textContent = v;
      else dd.append(v);
      return [dt, dd];
    }));
  }

  /** The strip at 10 px/mm (never displayed). */
  private canvas(): HTMLCanvasElement { return this.el<HTMLCanvasElement>('strip'); }

  /** The strip as displayed. */
  private view(): HTMLCanvasElement { return this.el<HTMLCanvasElement>('strip-view'); }

  private el<T extends HTMLElement = HTMLElement>(id: string): T {
    return document.getElementById(id) as T;
  }
}

function note(text: string, cls = 'pending'): HTMLLIElement {
  const li = document.createElement('li');
  li.className = cls;
  li.textContent = text;
  return li;
}
