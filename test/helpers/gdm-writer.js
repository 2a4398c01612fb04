#!/usr/bin/env node
/**
 * A GDM writer process for the concurrency and crash tests, using the built
 * @sous/core. Each write sets one metadata key on one deployment, and is
 * acknowledged on stdout ("ACK <manifest> <cluster> <key>") only after
 * Gdm.update returned, i.e. after the commit is on the branch.
 *
 *   node gdm-writer.js STATE_DIR NAME COUNT MANIFEST_ID CLUSTER [REMOTE=origin|none]
 */
const path = require('node:path');
const { Gdm, parseManifestID } = require(path.resolve(__dirname, '../../packages/core/dist'));

async function main() {
  const [state, name, countText, mid, cluster, remote] = process.argv.slice(2);
  const count = Number(countText);
  const id = parseManifestID(mid);
  const gdm = await Gdm.open(state, { remote: remote === 'none' ? false : undefined });
  const user = { name: `Writer ${name}`, email: `${name}@example.com` };
  for (let i = 0; i < count; i++) {
    const key = `${name}-${i}`;
    await gdm.update(
      (s) => {
        const stored = s.manifests.get(mid);
        const manifest = stored
          ? JSON.parse(JSON.stringify(stored.manifest))
          : { Source: mid.split('~')[0], ...(id.flavor ? { Flavor: id.flavor } : {}), Owners: [], Kind: 'worker', Deployments: { [cluster]: { NumInstances: 1 } } };
        const spec = manifest.Deployments[cluster];
        spec.Metadata = { ...(spec.Metadata || {}), [key]: String(i) };
        return { change: { message: `Set ${key} on ${mid} in ${cluster}`, setManifests: [manifest] }, result: null };
      },
      user,
      { retries: 1000 },
    );
    process.stdout.write(`ACK ${mid} ${cluster} ${key}\n`);
  }
}

main().catch((e) => {
  process.stderr.write(`writer failed: ${e && e.code} ${e && e.message}\n`);
  process.exit(1);
});
