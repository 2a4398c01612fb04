import { Flags } from '@oclif/core';

/** A duration: 90, 90s, 5m, 1h, 30d (a bare number is seconds). Parsed to milliseconds. */
export const durationFlag = Flags.custom<number>({
  parse: async (input) => {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(input.trim());
    if (!m) throw new Error(`Expected a duration such as 90s, 5m or 1h, got ${JSON.stringify(input)}`);
    const n = Number(m[1]);
    const unit = m[2] ?? 's';
    return Math.round(n * (unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'm' ? 60_000 : unit === 'h' ? 3_600_000 : 86_400_000));
  },
});

export const tagFlag = Flags.string({ char: 't', description: 'the version to deploy (a semver tag that was built)', required: true });

/** The original's dry runs. */
export const DRY_RUNS = ['none', 'scheduler', 'registry', 'both'] as const;

/**
 * `--dry-run[=none|scheduler|registry|both]`, the original's values: `scheduler`
 * asks nothing of the schedulers (rectify shows the plan; deploy writes the
 * GDM and deploys nothing); `registry` changes nothing here, since deploys
 * and rectifies only read registries; `both` is `scheduler`. A bare
 * `--dry-run` is `both`.
 */
export const dryRunFlag = Flags.string({ description: 'none, scheduler (ask nothing of the schedulers), registry (nothing is written to registries: always so) or both; bare --dry-run is both', options: [...DRY_RUNS] });

export function schedulerDryRun(v: string | undefined): boolean {
  return v === 'scheduler' || v === 'both';
}
