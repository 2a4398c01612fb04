#!/usr/bin/env node
/**
 * Pre-caching a second version of an image into a registry that already
 * holds the first: the bytes sent against the image's whole size. Goal: only
 * the changed layer (with the new config and manifests) moves. Baseline: the
 * same version copied into an empty registry, which must send everything.
 * Both images are signed, so their signatures travel too (counted apart).
 *
 *   node bench/verify/precache.js [--layers 4] [--layer-mb 1.5] [--runs 5] [--out bench/results/verify-precache.json]
 *
 * Starts its own registries (Debian's docker-registry) on free 127.0.0.1
 * ports with temporary storage, and stops them. Needs `npm run build`.
 */
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '../..');
const core = require(path.join(ROOT, 'packages/core/dist'));
const { copyWithSignature } = require(path.join(ROOT, 'packages/plugin-cache/dist'));
const { signImage, generateKeyPair } = require(path.join(ROOT, 'packages/plugin-sign/dist'));
const engine = require(path.join(ROOT, 'scripts/local-engine.js'));
const { median, time, option } = require(path.join(ROOT, 'bench/lib/stats.js'));
const { freePort } = require(path.join(ROOT, 'bench/lib/ports.js'));

const args = process.argv.slice(2);
const LAYERS = Number(option(args, 'layers', 4));
const LAYER_BYTES = Math.round(Number(option(args, 'layer-mb', 1.5)) * 1024 * 1024);
const RUNS = Number(option(args, 'runs', 5));
const OUT = option(args, 'out', path.join(ROOT, 'bench/results/verify-precache.json'));

async function registry(dir) {
  const r = await engine.startRegistry(dir, await freePort());
  return { addr: r.addr, stop: () => r.pid && process.kill(r.pid, 'SIGTERM') };
}

/** Pushes an image of these layers through the registry API; returns its digest and sizes. */
async function pushImage(addr, repo, layers, tag) {
  const c = new core.RegistryClient(addr);
  const descs = [];
  for (const l of layers) {
    const digest = core.digestOf(l);
    if ((await c.headBlob(repo, digest)) === undefined) await c.pushBlob(repo, digest, l);
    descs.push({ mediaType: core.MEDIA_TYPES.dockerLayer, size: l.length, digest });
  }
  const cfg = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: descs.map((d) => d.digest) }, config: { Labels: { version: tag } } }));
  const config = { mediaType: core.MEDIA_TYPES.dockerConfig, size: cfg.length, digest: core.digestOf(cfg) };
  await c.pushBlob(repo, config.digest, cfg);
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: core.MEDIA_TYPES.dockerManifest, config, layers: descs }));
  const digest = await c.putManifest(repo, tag, manifest, core.MEDIA_TYPES.dockerManifest);
  return { digest, total: manifest.length + cfg.length + descs.reduce((n, d) => n + d.size, 0), config: cfg.length, manifest: manifest.length };
}

async function main() {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'sous-bench-precache-'));
  const regs = [];
  try {
    const [A, B, C] = await Promise.all(['a', 'b', 'c'].map((n) => registry(path.join(work, n))));
    regs.push(A, B, C);
    const key = crypto.createPrivateKey(generateKeyPair().privateKeyPem);
    const rows = [];
    for (let run = 0; run < RUNS; run++) {
      const repo = `bench/app-${run}`;
      const shared = Array.from({ length: LAYERS - 1 }, () => crypto.randomBytes(LAYER_BYTES));
      const changed = crypto.randomBytes(LAYER_BYTES);
      const v1 = await pushImage(A.addr, repo, [...shared, crypto.randomBytes(LAYER_BYTES)], '1.0.0');
      const v2 = await pushImage(A.addr, repo, [...shared, changed], '1.1.0');
      for (const v of [v1, v2]) await signImage({ image: `${A.addr}/${repo}`, digest: v.digest, key });
      const src = (v) => ({ registry: A.addr, repository: repo, digest: v.digest });

      await copyWithSignature(src(v1), B.addr, { tags: ['1.0.0'] });
      let inc;
      const incMs = await time(async () => (inc = await copyWithSignature(src(v2), B.addr, { tags: ['1.1.0'] })));
      let full;
      const fullMs = await time(async () => (full = await copyWithSignature(src(v2), C.addr, { tags: ['1.1.0'] })));
      rows.push({
        total: v2.total,
        changedLayer: changed.length,
        minimum: changed.length + v2.config + v2.manifest,
        incremental: { imageBytes: inc.image.bytesSent, signatureBytes: inc.signature ? inc.signature.bytesSent : 0, ms: incMs, blobs: inc.image.blobs },
        baseline: { imageBytes: full.image.bytesSent, signatureBytes: full.signature ? full.signature.bytesSent : 0, ms: fullMs, blobs: full.image.blobs },
      });
    }
    const r = rows[0];
    const ratio = r.incremental.imageBytes / r.total;
    const pass = rows.every((x) => x.incremental.imageBytes <= x.minimum && x.baseline.imageBytes === x.total);
    const mb = (n) => `${(n / 1048576).toFixed(2)} MB`;
    console.log(`pre-cache v2 into a registry holding v1: ${LAYERS} layers of ${mb(LAYER_BYTES)}, one changed; ${RUNS} runs`);
    console.log(`  v2 total size                       ${mb(r.total)} (${r.total} bytes)`);
    console.log(`  baseline: into an empty registry    ${mb(r.baseline.imageBytes)} sent (+${r.baseline.signatureBytes} signature bytes), median ${median(rows.map((x) => x.baseline.ms)).toFixed(0)} ms`);
    console.log(`  sous: into the registry holding v1  ${mb(r.incremental.imageBytes)} sent (+${r.incremental.signatureBytes} signature bytes), median ${median(rows.map((x) => x.incremental.ms)).toFixed(0)} ms`);
    console.log(`  sent / total ${(ratio * 100).toFixed(1)}% (changed layer alone ${((r.changedLayer / r.total) * 100).toFixed(1)}%); goal: nothing but the changed layer, config and manifest: ${pass ? 'ok' : 'MISSED'}`);
    const result = {
      machine: `${os.cpus().length} cpus, ${os.type()} ${os.release()}, node ${process.version}`,
      layers: LAYERS,
      layerBytes: LAYER_BYTES,
      runs: RUNS,
      v2TotalBytes: r.total,
      changedLayerBytes: r.changedLayer,
      sentIncremental: r.incremental.imageBytes,
      sentBaseline: r.baseline.imageBytes,
      signatureBytes: r.incremental.signatureBytes,
      ratio: Number(ratio.toFixed(4)),
      medianMs: { incremental: median(rows.map((x) => x.incremental.ms)), baseline: median(rows.map((x) => x.baseline.ms)) },
      pass,
      rows,
    };
    if (OUT !== '-') {
      fs.mkdirSync(path.dirname(OUT), { recursive: true });
      fs.writeFileSync(OUT, JSON.stringify(result, null, 2) + '\n');
    }
    process.exitCode = pass ? 0 : 1;
  } finally {
    for (const r of regs) {
      try {
        r.stop();
      } catch {
        // Already gone.
      }
    }
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
