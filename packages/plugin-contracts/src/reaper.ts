/**
 * Run as a detached process by cleanup.ts when Sous is interrupted in the
 * middle of a contract: force-removes the given containers, then exits.
 * argv[2]: JSON list of { host: the engine address, ids: string[] }.
 */
import { connectEngine } from '@sous/plugin-docker';

async function main(): Promise<void> {
  const groups = JSON.parse(process.argv[2] ?? '[]') as { host: string; ids: string[] }[];
  await Promise.all(
    groups.flatMap((g) => {
      const docker = connectEngine(g.host);
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
