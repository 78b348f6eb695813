// An alert's strip decoded into millivolts, with the same checks (and messages) as StripRenderer.Parse in C#.

import geometry from './strip-geometry.json';
import type { StripJson } from './messages.ts';

export interface StripSignal {
  leads: string[];
  /** millivolts[lead][sample]; every lead has the same length (at least 1). */
  millivolts: Float32Array[];
  periodMs: number;
  eventOffsetS: number;
  sampleCount: number;
  durationS: number;
}

/** The strip cannot be drawn: missing, malformed or inconsistent (the page shows the reason instead). */
export class StripFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StripFormatError';
  }
}

export function parseStrip(strip: StripJson | null | undefined): StripSignal {
  if (strip == null || typeof strip !== 'object') throw new StripFormatError('the alert has no strip');
  const dims = strip.dimensions;
  if (!Number.isInteger(dims) || dims < 1 || dims > geometry.maxLeads)
    throw new StripFormatError(`strip dimensions must be 1 to ${geometry.maxLeads}, not ${dims}`);
  const leads = strip.leads;
  if (!Array.isArray(leads) || leads.length !== dims)
    throw new StripFormatError(`strip has ${Array.isArray(leads) ? leads.length : 0} lead names for ${dims} dimensions`);
  if (typeof strip.periodMs !== 'number' || !Number.isFinite(strip.periodMs) || strip.periodMs <= 0)
    throw new StripFormatError(`strip periodMs must be a positive number, not ${strip.periodMs}`);
  if (typeof strip.factor !== 'number' || !Number.isFinite(strip.factor) || strip.factor === 0)
    throw new StripFormatError(`strip factor must be a non-zero number, not ${strip.factor}`);
  if (typeof strip.eventOffsetS !== 'number' || !Number.isFinite(strip.eventOffsetS))
    throw new StripFormatError(`strip eventOffsetS must be a number, not ${strip.eventOffsetS}`);
  if (typeof strip.data !== 'string') throw new StripFormatError('strip has no data');
  const millivolts = parseData(strip.data, dims, strip.factor * millivoltsPerUnit(strip.unit));
  const sampleCount = millivolts[0].length;
  const durationS = (sampleCount * strip.periodMs) / 1000;
  if (durationS > geometry.maxDurationS)
    throw new StripFormatError(`strip lasts ${durationS.toFixed(1)} s; at most ${geometry.maxDurationS} s are rendered`);
  return {
    leads: leads.map(n => (typeof n === 'string' && n.trim() !== '' ? n.trim() : '?')),
    millivolts,
    periodMs: strip.periodMs,
    eventOffsetS: strip.eventOffsetS,
    sampleCount,
    durationS,
  };
}

function millivoltsPerUnit(unit: unknown): number {
  const u = typeof unit === 'string' ? unit.trim() : unit;
  if (u == null || u === '' || u === 'mV' || u === 'mv') return 1;
  if (u === 'uV' || u === 'µV' || u === 'μV' || u === 'uv') return 0.001;
  if (u === 'V') return 1000;
  throw new StripFormatError(`strip unit '${String(unit)}' is not a voltage (expected mV)`);
}

const isSpace = (c: number) => c === 32 || (c >= 9 && c <= 13);

/**
 * Decodes SampledData-style integers separated by whitespace, interleaved by lead, into result[lead][sample] =
 * factor × integer. Every value must be a 32-bit integer; the count must be a multiple of the lead count.
 */
export function parseData(data: string, dimensions: number, factor = 1): Float32Array[] {
  const values: number[] = [];
  const n = data.length;
  let pos = 0;
  while (true) {
    while (pos < n && isSpace(data.charCodeAt(pos))) pos++;
    if (pos >= n) break;
    const start = pos;
    let negative = false;
    if (data.charCodeAt(pos) === 45 /* - */ || data.charCodeAt(pos) === 43 /* + */) negative = data.charCodeAt(pos++) === 45;
    let value = 0;
    let digits = 0;
    while (pos < n && !isSpace(data.charCodeAt(pos))) {
      const d = data.charCodeAt(pos) - 48;
      if (d < 0 || d > 9) { digits = -1; break; }
      value = value * 10 + d;
      digits++;
      pos++;
    }
    if (negative) value = -value;
    if (digits <= 0 || value > 2147483647 || value < -2147483648) {
      while (pos < n && !isSpace(data.charCodeAt(pos))) pos++;
      const token = data.slice(start, pos);
      throw new StripFormatError(`strip data value ${values.length + 1} ('${token.length <= 20 ? token : token.slice(0, 20) + '…'}') is not an integer`);
    }
    values.push(value);
  }
  if (values.length === 0) throw new StripFormatError('strip data holds no samples');
  if (values.length % dimensions !== 0)
    throw new StripFormatError(`strip data holds ${values.length} values, not a multiple of its ${dimensions} dimensions (leads)`);
  const frames = values.length / dimensions;
  const result: Float32Array[] = [];
  for (let lead = 0; lead < dimensions; lead++) result.push(new Float32Array(frames));
  for (let i = 0; i < values.length; i++) result[i % dimensions][Math.floor(i / dimensions)] = values[i] * factor;
  return result;
}
