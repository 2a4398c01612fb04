'use strict';
// A tiny HTTP service the way a scheduler runs one: the port comes from PORT0 (then PORT),
// the version from APP_VERSION (set in the image by the build).
const http = require('node:http');

const port = Number(process.env.PORT0 || process.env.PORT || 8080);
const version = process.env.APP_VERSION || 'unknown';

function send(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://localhost');
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, { error: 'method not allowed' });
  if (url.pathname === '/health') return send(res, 200, { status: 'ok' });
  if (url.pathname === '/') return send(res, 200, { name: 'hello-node', version, revision: process.env.APP_REVISION || undefined });
  return send(res, 404, { error: 'not found' });
});

server.listen(port, () => console.log(`hello-node ${version} listening on ${port}`));

// Stop promptly when the scheduler asks (node is PID 1 in the container).
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => server.close(() => process.exit(0)));
