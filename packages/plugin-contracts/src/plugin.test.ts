import * as os from 'node:os';
import * as path from 'node:path';
import { Sous, type ContractReport, type ResolvedConfig } from '@sous/core';
import { contracts } from './plugin';

describe('the contracts plugin', () => {
  it('taps testImage and validate under its own name', () => {
    const sous = new Sous({ warnings: [], contracts: {} } as unknown as ResolvedConfig).use(contracts());
    expect(sous.hooks.testImage.taps.map((t) => t.name)).toEqual(['sous:contracts']);
    expect(sous.hooks.validate.taps.map((t) => t.name)).toEqual(['sous:contracts']);
  });

  it('stops with ENGINE_UNREACHABLE, naming the plugin, when no engine answers', async () => {
    const socket = path.join(os.tmpdir(), `sous-no-engine-${process.pid}.sock`);
    const sous = new Sous({ warnings: [], contracts: {}, dockerHost: `unix://${socket}` } as unknown as ResolvedConfig).use(contracts());
    const report: ContractReport = { image: { id: 'sha256:' + '0'.repeat(64), name: 'x', tags: [], labels: {}, contentKey: '' }, kind: 'http-service', results: [] };
    await expect(sous.hooks.testImage.promise(report)).rejects.toMatchObject({ code: 'ENGINE_UNREACHABLE', details: expect.objectContaining({ plugin: 'sous:contracts', hook: 'testImage' }) });
    expect(report.results).toEqual([]);
  });
});
