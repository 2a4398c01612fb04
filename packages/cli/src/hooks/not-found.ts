import type { Hook } from '@oclif/core';
// The small text module only: a mistyped command should not load all of core.
import { levenshtein as distance } from '@sous/core/dist/util/text';

/** An unknown command: say so with the nearest command, exit 2 (a usage error). */
const hook: Hook<'command_not_found'> = async function ({ id, config, argv }) {
  const ids = config.commandIDs.map((c) => c.replace(/:/g, ' '));
  const wanted = id.replace(/:/g, ' ');
  const best = ids.map((c) => ({ c, d: distance(wanted, c) })).sort((a, b) => a.d - b.d)[0];
  const hint = best && best.d <= Math.max(2, Math.floor(wanted.length / 3)) ? `did you mean "sous ${best.c}"?` : 'sous --help lists the commands';
  const message = `"${wanted}" is not a sous command`;
  if ((argv ?? []).includes('--json')) {
    process.stdout.write(JSON.stringify({ error: { code: 'UNKNOWN_COMMAND', message, hints: [hint], exit: 2 } }, null, 2) + '\n');
  } else {
    process.stderr.write(`Error: ${message}  [UNKNOWN_COMMAND]\n  Try this: ${hint}\n`);
  }
  process.exit(2);
};

export default hook;
