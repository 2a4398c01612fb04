import { Flags } from '@oclif/core';

/** A duration: 90, 90s, 5m, 1h (a bare number is seconds). Parsed to milliseconds. */
export const durationFlag = Flags.custom<number>({
  parse: async (input) => {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(input.trim());
    if (!m) throw new Error(`Expected a duration such as 90s, 5m or 1h, got ${JSON.stringify(input)}`);
    const n = Number(m[1]);
    const unit = m[2] ?? 's';
    return Math.round(n * (unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'm' ? 60_000 : 3_600_000));
  },
});

export const tagFlag = Flags.string({ char: 't', description: 'the version to deploy (a semver tag that was built)', required: true });
