/**
 * The real `sous` binary on a Singularity cluster: the plugin applied by
 * default, `sous rectify` and `sous plan` against modelled Singularity
 * exchanges (test/fixtures/modelled/singularity/cli.json).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ReplayServer } from './helpers/replay-server';
import { makeSousEnv, requireBuilt, sous } from './helpers/sous';

let replay: ReplayServer | undefined;

beforeAll(() => requireBuilt());
afterEach(async () => {
  await replay?.close();
  replay = undefined;
});

const MANIFEST = `Source: github.com/acme/shop
Owners:
- ops@acme.example
Kind: http-service
Deployments:
  east:
    NumInstances: 1
    Version: 1.2.0
    Digest: sha256:${'a'.repeat(64)}
`;

describe('sous rectify on Singularity (the sous binary, modelled exchanges)', () => {
  it('creates the deployment and waits for it; sous plan then finds nothing to do', async () => {
    replay = await ReplayServer.start('singularity/cli');
    const e = makeSousEnv(fs.mkdtempSync(path.join(os.tmpdir(), 'sous-sing-cli-')));
    const added = await sous(e, ['cluster', 'add', '--name', 'east', '--kind', 'singularity', '--base-url', `${replay.url}/singularity`, '--registry', 'registry.example.com', '--env', 'REGION=east', '--json']);
    expect(added.code).toBe(0);
    expect((await sous(e, ['manifest', 'set', '--repo', 'github.com/acme/shop'], { stdin: MANIFEST })).code).toBe(0);

    const rectified = await sous(e, ['rectify', '--all', '--json']);
    expect(rectified.stderr).not.toMatch(/Error/);
    expect(rectified.code).toBe(0);
    expect(rectified.json.outcomes.map((o: { action: { kind: string; deploymentID: string }; resolution: string; status: string }) => [o.action.kind, o.action.deploymentID, o.resolution, o.status])).toEqual([
      ['create', 'east:github.com/acme/shop', 'created', 'Active'],
    ]);

    const planned = await sous(e, ['plan', '--all', '--json']);
    expect(planned.code).toBe(0);
    expect(planned.json.plan).toMatchObject({ actions: [], unchanged: ['east:github.com/acme/shop'], errors: [] });
    replay.verify();
  });
});
