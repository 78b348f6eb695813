// Draws an alert's strip on standard ECG paper into a canvas, with the geometry of `ecgedge strip`
// (StripRenderer.cs; shared constants in strip-geometry.json): 10 px/mm, 25 mm/s, 10 mm/mV, 1 mm / 5 mm grid, one row
// per lead with its name and a 1 mV × 200 ms calibration pulse, a dashed onset marker under the traces, header and
// footer text. The grid, pulses, traces and marker land on the same pixels as the PNG (checked by web/test/e2e.mjs);
// the text uses the browser's fonts, so its glyphs differ.

import g from './strip-geometry.json';
import type { Alert } from './messages.ts';
import { parseStrip, type StripSignal } from './stripSignal.ts';

const px = g.pixelsPerMm;
const pxPerS = px * g.paperSpeedMmPerS;
const pxPerMv = px * g.gainMmPerMv;
const headerPx = g.headerMm * px;
const rowPx = g.rowMm * px;
const traceLeftPx = g.traceLeftMm * px;
const fontFamily = '"DejaVu Sans", "Liberation Sans", "Noto Sans", Arial, Helvetica, sans-serif';

export const rowTopPx = (lead: number) => headerPx + lead * rowPx;
export const baselinePx = (lead: number) => rowTopPx(lead) + g.baselineMm * px;
export const xForSeconds = (s: number) => traceLeftPx + s * pxPerS;

export function imageSize(durationS: number, leadCount: number): { width: number; height: number } {
  return {
    width: traceLeftPx + Math.round(durationS * pxPerS) + g.rightMarginMm * px,
    height: headerPx + leadCount * rowPx + g.footerMm * px,
  };
}

/** Where the onset marker is drawn, or null when the onset lies outside the strip (the footer says so). */
export function markerX(s: StripSignal): number | null {
  return s.eventOffsetS < 0 || s.eventOffsetS > s.durationS ? null : Math.round(xForSeconds(s.eventOffsetS));
}

/**
 * Sizes the canvas and draws the strip of the alert. Throws StripFormatError when the alert has no usable strip.
 */
export function drawStrip(canvas: HTMLCanvasElement, alert: Alert): StripSignal {
  const signal = parseStrip(alert.strip);
  const { width, height } = imageSize(signal.durationS, signal.leads.length);
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('no 2D canvas');
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, width, height);
  const gridBottom = rowTopPx(signal.leads.length);
  drawGrid(ctx, width, headerPx, gridBottom);
  const mx = markerX(signal);
  if (mx !== null) drawMarkerLine(ctx, mx, headerPx, gridBottom);
  for (let lead = 0; lead < signal.leads.length; lead++) drawRow(ctx, width, lead, signal);
  if (mx !== null) drawMarkerLabel(ctx, width, mx, headerPx);
  drawHeader(ctx, width, alert);
  drawFooter(ctx, width, height, alert, signal);
  return signal;
}

function drawGrid(ctx: CanvasRenderingContext2D, width: number, top: number, bottom: number): void {
  ctx.fillStyle = g.colors.paper;
  ctx.fillRect(0, top, width, bottom - top);
  // Minor lines first, then major over them. A 1 px line at +0.5 fills exactly one pixel; a 2 px line at an integer
  // fills the two pixels either side, as in Skia without antialiasing.
  for (const major of [false, true]) {
    ctx.beginPath();
    ctx.strokeStyle = major ? g.colors.majorGrid : g.colors.minorGrid;
    ctx.lineWidth = major ? g.majorGridStrokePx : g.minorGridStrokePx;
    const offset = major ? 0 : 0.5;
    for (let mm = 0; mm * px <= width; mm++) {
      if ((mm % 5 === 0) !== major) continue;
      ctx.moveTo(mm * px + offset, top);
      ctx.lineTo(mm * px + offset, bottom);
    }
    for (let mm = 0; top + mm * px <= bottom; mm++) {
      if ((mm % 5 === 0) !== major) continue;
      ctx.moveTo(0, top + mm * px + offset);
      ctx.lineTo(width, top + mm * px + offset);
    }
    ctx.stroke();
  }
}

function drawMarkerLine(ctx: CanvasRenderingContext2D, x: number, top: number, bottom: number): void {
  // Dashes as whole-pixel rectangles: Skia draws the 3 px non-antialiased line over columns x-1..x+1.
  const [on, off] = g.markerDashPx;
  const half = Math.floor(g.markerStrokePx / 2);
  ctx.fillStyle = g.colors.marker;
  for (let y = top; y < bottom; y += on + off) ctx.fillRect(x - half, y, g.markerStrokePx, Math.min(on, bottom - y));
}

function drawRow(ctx: CanvasRenderingContext2D, width: number, lead: number, s: StripSignal): void {
  const rowTop = rowTopPx(lead);
  const baseline = baselinePx(lead);
  ctx.fillStyle = g.colors.text;
  ctx.font = fitFont(ctx, s.leads[lead], 'bold', 4.5 * px, (g.labelWidthMm - 1.5) * px);
  ctx.textAlign = 'left';
  ctx.fillText(s.leads[lead], 1 * px, baseline - 2 * px);

  ctx.strokeStyle = g.colors.trace;
  ctx.lineWidth = g.traceStrokePx;
  ctx.lineJoin = 'round';
  ctx.lineCap = 'round';
  // Calibration pulse: 1 mV high, 200 ms wide, standing on the baseline.
  const rise = g.calibrationStartMm * px;
  const fall = rise + g.calibrationWidthS * pxPerS;
  const top = baseline - g.calibrationMv * pxPerMv;
  ctx.beginPath();
  ctx.moveTo(g.labelWidthMm * px, baseline);
  ctx.lineTo(rise, baseline);
  ctx.lineTo(rise, top);
  ctx.lineTo(fall, top);
  ctx.lineTo(fall, baseline);
  ctx.lineTo(traceLeftPx - 0.5 * px, baseline);
  ctx.stroke();

  // The trace, clipped to its row.
  const samples = s.millivolts[lead];
  const secondsPerSample = s.periodMs / 1000;
  ctx.save();
  ctx.beginPath();
  ctx.rect(traceLeftPx - px, rowTop, width - (traceLeftPx - px), rowPx);
  ctx.clip();
  ctx.beginPath();
  for (let i = 0; i < samples.length; i++) {
    const x = Math.fround(xForSeconds(i * secondsPerSample));
    const y = baseline - Math.fround(samples[i] * pxPerMv);
    if (i === 0) ctx.moveTo(x, y);
    else ctx.lineTo(x, y);
  }
  if (samples.length === 1) ctx.lineTo(xForSeconds(secondsPerSample), baseline - samples[0] * pxPerMv);
  ctx.stroke();
  ctx.restore();
}

function drawMarkerLabel(ctx: CanvasRenderingContext2D, width: number, x: number, top: number): void {
  const label = 'onset';
  ctx.font = `bold ${3.5 * px}px ${fontFamily}`;
  const w = ctx.measureText(label).width;
  const left = x + 8 + w + 8 <= width ? x + 8 : x - 8 - w;
  ctx.fillStyle = g.colors.paper;
  ctx.fillRect(left - 4, top + 6, w + 8, 4.5 * px);
  ctx.fillStyle = g.colors.marker;
  ctx.textAlign = 'left';
  ctx.fillText(label, left, top + 4 * px);
}

const typeNames: Record<string, string> = {
  af: 'AF (atrial fibrillation)', vt: 'VT (ventricular tachycardia)', vf: 'VF (ventricular fibrillation)', pause: 'Pause',
  asystole: 'Asystole', bradycardia: 'Bradycardia', tachycardia: 'Tachycardia', lead_off: 'Lead off', signal_quality: 'Signal quality',
};

export const typeName = (type: string) => typeNames[type] ?? type;

/** "2026-11-24 06:37:50.456 UTC", as ecgedge strip prints times. */
export function formatUtc(iso: string | undefined | null): string {
  if (!iso) return 'n/a';
  const t = Date.parse(iso);
  return Number.isNaN(t) ? 'n/a' : new Date(t).toISOString().replace('T', ' ').replace('Z', ' UTC');
}

const or = (v: string | null | undefined) => (v == null || v.trim() === '' ? 'n/a' : v);

function drawHeader(ctx: CanvasRenderingContext2D, width: number, a: Alert): void {
  const hr = a.heartRateBpm == null ? 'n/a' : `${a.heartRateBpm.toFixed(0)} bpm`;
  const text = `${typeName(a.type)}  ·  severity ${a.severity}  ·  phase ${a.phase}  ·  onset ${formatUtc(a.onset?.utc)}` +
    `  ·  HR ${hr}  ·  device ${or(a.deviceId)}  ·  model ${or(a.modelVersion)}`;
  ctx.font = fitFont(ctx, text, 'bold', 4 * px, width - 2 * px);
  ctx.fillStyle = g.colors.text;
  ctx.textAlign = 'left';
  ctx.fillText(text, 1 * px, 9.5 * px);
}

function drawFooter(ctx: CanvasRenderingContext2D, width: number, height: number, a: Alert, s: StripSignal): void {
  const scale = `${g.paperSpeedMmPerS} mm/s  ${g.gainMmPerMv} mm/mV`;
  const start = formatUtc(a.strip?.origin?.utc);
  let details = `strip ${start}, ${trim2(s.durationS)} s at ${trim1(1000 / s.periodMs)} Hz  ·  alert ${or(a.id)}`;
  if (s.eventOffsetS < 0 || s.eventOffsetS > s.durationS) details = `onset outside the strip (${trim2(s.eventOffsetS)} s)  ·  ` + details;
  const y = height - 3.5 * px;
  ctx.fillStyle = g.colors.text;
  ctx.font = `bold ${3.5 * px}px ${fontFamily}`;
  ctx.textAlign = 'left';
  ctx.fillText(scale, 1 * px, y);
  const room = width - 2 * px - ctx.measureText(scale).width - 4 * px;
  if (room <= 0) return;
  ctx.font = fitFont(ctx, details, '', 3 * px, room);
  ctx.textAlign = 'right';
  ctx.fillText(details, width - 1 * px, y);
}

/** "0.0#" of .NET: at least one decimal, at most two. */
const trim2 = (v: number) => { const t = v.toFixed(2).replace(/0$/, ''); return t; };
/** "0.#": at most one decimal. */
const trim1 = (v: number) => v.toFixed(1).replace(/\.0$/, '');

/** A CSS font of the largest size ≤ size at which the text fits maxWidth. */
function fitFont(ctx: CanvasRenderingContext2D, text: string, weight: string, size: number, maxWidth: number): string {
  let font = `${weight} ${size}px ${fontFamily}`.trim();
  for (let attempt = 0; attempt < 8; attempt++) {
    ctx.font = font;
    const measured = ctx.measureText(text).width;
    if (measured <= maxWidth || measured <= 0 || size <= 1) break;
    size = Math.max(1, (size * maxWidth) / measured * 0.98);
    font = `${weight} ${size}px ${fontFamily}`.trim();
  }
  return font;
}
