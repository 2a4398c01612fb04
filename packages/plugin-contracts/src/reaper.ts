/**
 * Run as a detached process by cleanup.ts when Sous is interrupted in the
 * middle of a contract: force-removes the given containers, then exits.
 * argv[2]: JSON list of { address: EngineAddress, ids: string[] }.
 */
import Docker from 'dockerode';
import type { EngineAddress } from './engine';

async function main(): Promise<void> {
  const groups = JSON.parse(process.argv[2] ?? '[]') as { address: EngineAddress; ids: string[] }[];
  await Promise.all(
    groups.flatMap((g) => {
      const docker = new Docker(g.address.options);
      return g.ids.map(async (id) => {
        for (let attempt = 0; attempt < 3; attempt++) {
          try {
            await docker.getContainer(id).remove({ force: true, v: true });
            return;
          } catch (e) {
            const status = (e as { statusCode?: number }).statusCode;
            if (status === 404) return;
            await new Promise((r) => setTimeout(r, 200));
          }
        }
      });
    }),
  );
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    () => process.exit(1),
  );
}
