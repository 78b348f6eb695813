// Compares the page's strip canvas with the PNG of `ecgedge strip` for the same alert, inside the browser (the PNG is
// decoded by Chromium, so no image library is needed). Text is not compared (the fonts differ); everything else is:
//   - image size;
//   - paper, grid and onset marker: every pixel that is exactly one of those colours in both images must be the same
//     colour in both (mismatches are counted; expected 0), except in the band of the "onset" label (text);
//   - traces: per lead and per pixel column of the trace area, the centre of the dark (trace) pixels; the distance
//     between the two renderings' centres (median, 99th percentile, max) and the columns where only one has a trace.
import { readFileSync } from 'node:fs';

const geometry = JSON.parse(readFileSync(new URL('../../src/strip-geometry.json', import.meta.url), 'utf8'));

export async function compareWithPng(page, canvasSelector, pngPath, leadCount) {
  const png = 'data:image/png;base64,' + readFileSync(pngPath).toString('base64');
  return page.evaluate(async ({ selector, png, g, leadCount }) => {
    const canvas = document.querySelector(selector);
    const img = new Image();
    img.src = png;
    await img.decode();
    const size = { page: [canvas.width, canvas.height], png: [img.naturalWidth, img.naturalHeight] };
    if (canvas.width !== img.naturalWidth || canvas.height !== img.naturalHeight) return { size, sameSize: false };
    const w = canvas.width, h = canvas.height;
    const a = canvas.getContext('2d').getImageData(0, 0, w, h).data;
    const off = new OffscreenCanvas(w, h);
    const octx = off.getContext('2d');
    octx.drawImage(img, 0, 0);
    const b = octx.getImageData(0, 0, w, h).data;

    const hex = s => [1, 3, 5].map(i => parseInt(s.slice(i, i + 2), 16));
    const classes = Object.entries({ paper: g.colors.paper, minor: g.colors.minorGrid, major: g.colors.majorGrid, marker: g.colors.marker })
      .map(([name, c]) => [name, hex(c)]);
    const classOf = (d, i) => {
      for (const [name, [r, gg, bb]] of classes) if (d[i] === r && d[i + 1] === gg && d[i + 2] === bb) return name;
      return null;
    };
    const px = g.pixelsPerMm;
    const top = g.headerMm * px;
    const bottom = top + leadCount * g.rowMm * px;
    let gridPixels = 0, gridMismatch = 0;
    const mismatchAt = [];
    for (let y = top; y < bottom; y++) {
      // The "onset" label (browser font) and its backing lie in the band top + 6 … top + 51: left out.
      if (y >= top + 6 && y < top + 52) continue;
      for (let x = 0; x < w; x++) {
        const i = (y * w + x) * 4;
        const ca = classOf(a, i), cb = classOf(b, i);
        if (ca && cb) {
          gridPixels++;
          if (ca !== cb) { gridMismatch++; if (mismatchAt.length < 12) mismatchAt.push([x, y, ca, cb]); }
        }
      }
    }

    // Trace centres: darkness-weighted mean row of the dark pixels in each column of each lead's row.
    const darkness = (d, i) => { const m = Math.max(d[i], d[i + 1], d[i + 2]); return m < 128 ? 255 - m : 0; };
    const diffs = [];
    let onlyOne = 0, columns = 0;
    const x0 = g.traceLeftMm * px, x1 = w - g.rightMarginMm * px;
    for (let lead = 0; lead < leadCount; lead++) {
      const rowTop = top + lead * g.rowMm * px;
      // The "onset" label (text, browser font) sits in the top 5.2 mm of the first row: left out.
      const yStart = lead === 0 ? rowTop + 52 : rowTop;
      for (let x = x0; x < x1; x++) {
        let sa = 0, wa = 0, sb = 0, wb = 0;
        for (let y = yStart; y < rowTop + g.rowMm * px; y++) {
          const i = (y * w + x) * 4;
          const da = darkness(a, i), db = darkness(b, i);
          sa += da * y; wa += da; sb += db * y; wb += db;
        }
        if (wa === 0 && wb === 0) continue;
        columns++;
        if (wa === 0 || wb === 0) { onlyOne++; continue; }
        diffs.push(Math.abs(sa / wa - sb / wb));
      }
    }
    diffs.sort((p, q) => p - q);
    const q = f => diffs.length ? diffs[Math.min(diffs.length - 1, Math.floor(f * diffs.length))] : NaN;
    return {
      size, sameSize: true, gridPixels, gridMismatch, mismatchAt,
      traceColumns: columns, traceColumnsOnlyOne: onlyOne,
      traceCentreDiffPx: { median: q(0.5), p99: q(0.99), max: diffs.length ? diffs[diffs.length - 1] : NaN },
    };
  }, { selector: canvasSelector, png, g: geometry, leadCount });
}
