// Builds the page into dist/ (committed: `ecgedge watch --web` embeds it, so devices need no node at run time).
//   node build.mjs           build into dist/
//   node build.mjs --check   build into a temporary folder and fail (exit 1) when dist/ differs from it
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const check = process.argv.includes('--check');
const out = check ? mkdtempSync(join(tmpdir(), 'ecgedge-web-')) : join(here, 'dist');

mkdirSync(out, { recursive: true });
const result = await build({
  entryPoints: [join(here, 'src/main.ts')],
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['chrome110', 'firefox115', 'safari16'],
  minify: true,
  legalComments: 'eof',
  metafile: true,
  outfile: join(out, 'app.js'),
  logLevel: 'warning',
});
copyFileSync(join(here, 'index.html'), join(out, 'index.html'));
copyFileSync(join(here, 'src/style.css'), join(out, 'style.css'));

// Third-party packages inside app.js, with their licences (from their package.json).
const packages = new Map();
for (const input of Object.keys(result.metafile.inputs)) {
  const m = input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\//g);
  if (!m) continue;
  const name = m[m.length - 1].slice('node_modules/'.length, -1);
  const dir = input.slice(0, input.lastIndexOf(m[m.length - 1]) + m[m.length - 1].length);
  if (packages.has(name)) continue;
  const pkg = JSON.parse(readFileSync(join(here, dir, 'package.json'), 'utf8'));
  packages.set(name, `${pkg.name} ${pkg.version} (${typeof pkg.license === 'string' ? pkg.license : 'see package'})`);
}
writeFileSync(join(out, 'THIRD-PARTY.txt'),
  'Packages bundled into app.js (licence texts: their legal comments at the end of app.js and node_modules/<name>/LICENSE*):\n' +
  [...packages.values()].sort().join('\n') + '\n');

if (check) {
  const dist = join(here, 'dist');
  const names = new Set([...readdirSync(out), ...safeList(dist)]);
  const differing = [...names].filter(n => !same(join(out, n), join(dist, n)));
  rmSync(out, { recursive: true, force: true });
  if (differing.length > 0) {
    console.error(`web/dist is stale (differs from a fresh build): ${differing.join(', ')}; run: cd web && npm run build`);
    process.exit(1);
  }
  console.log('web/dist matches a fresh build');
} else {
  console.log(`built ${out}: ${readdirSync(out).join(', ')}`);
}

function safeList(dir) {
  try { return readdirSync(dir); } catch { return []; }
}

function same(a, b) {
  try { return readFileSync(a).equals(readFileSync(b)); } catch { return false; }
}
