// A loopback static server for web/dist (the perf test measures the page alone; the e2e uses `ecgedge watch --web`).
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join, normalize } from 'node:path';

const types = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.txt': 'text/plain' };

export function serveDist(dist, config) {
  const server = createServer(async (req, res) => {
    const path = new URL(req.url, 'http://127.0.0.1').pathname;
    if (path === '/config.json') return send(res, 200, 'application/json', JSON.stringify(config));
    const rel = normalize(path === '/' ? 'index.html' : path.slice(1));
    if (rel.startsWith('..')) return send(res, 400, 'text/plain', 'refused');
    try {
      send(res, 200, types[rel.slice(rel.lastIndexOf('.'))] ?? 'application/octet-stream', await readFile(join(dist, rel)));
    } catch {
      send(res, 404, 'text/plain', 'not found');
    }
  });
  return new Promise(ok => server.listen(0, '127.0.0.1', () => ok(server)));
}

function send(res, code, type, body) {
  res.writeHead(code, { 'Content-Type': type, 'Cache-Control': 'no-cache' });
  res.end(body);
}
