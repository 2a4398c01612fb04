/** Where a build job stands. `queued` and `running` are pending; the rest are final. */
export type JobState = 'queued' | 'running' | 'built' | 'skipped' | 'failed' | 'cancelled';

export const FINAL_STATES: readonly JobState[] = ['built', 'skipped', 'failed', 'cancelled'];

/** How the server learnt of the tag. */
export type JobTrigger = 'webhook' | 'poll';

/** What one cluster's AutoDeploy range made of a finished build. */
export interface AutoDeployOutcome {
  manifestID: string;
  cluster: string;
  range: string;
  /** deployed: written to the GDM (and queued for rectification); skipped: not for this version; refused: the cluster or the deploy check said no. */
  status: 'deployed' | 'skipped' | 'refused';
  message: string;
  code?: string;
  /** The deploy queue item, when this server rectifies the cluster. */
  queueItem?: string;
}

/**
 * One pushed semver tag of one application, built once by the server. Jobs
 * are JSON files under the state's `.git/sous/builds/jobs/`.
 */
export interface BuildJob {
  id: string;
  /** The repository as manifests name it (github.com/acme/shop). */
  repo: string;
  /** The application's directory in the repository ('' for the root). */
  offset: string;
  /** repo[,offset], as artifact records name it. */
  source: string;
  /** The tag as git names it (1.2.3 or v1.2.3). */
  tag: string;
  /** The version the tag stands for (no leading v). */
  version: string;
  /** The commit the tag named when it was seen; a tag that moved since is not built by this job. */
  commit: string;
  trigger: JobTrigger;
  /** The webhook delivery that announced it. */
  delivery?: string;
  state: JobState;
  /** Why a job was skipped or cancelled. */
  reason?: string;
  createdAt: string;
  updatedAt: string;
  startedAt?: string;
  finishedAt?: string;
  /** How many times the build itself started (a resumed job has 2; one cancelled before it started has 0). */
  attempts: number;
  /** Fetches of the repository that failed in a row; the job waits and tries again a few times. */
  fetchFailures?: number;
  /** A queued job waiting to try again does not start before this time (ISO 8601). */
  notBefore?: string;
  /** How many times a server stopped while it ran; the second one fails it. */
  interruptions: number;
  /** The last phase the build reported. */
  phase?: { name: string; status: string; at: string };
  /** The person the tag stands for: its tagger, or its commit's author. */
  author?: { name: string; email: string };
  /** Set once the build began pushing: a job that stops after this may have left images that were never recorded. */
  publishStarted?: boolean;
  /** What the build pushed, before the artifact record made it an artifact. */
  pushed?: { image: string; digest: string };
  /** Images removed because they were pushed but never recorded (image@digest). */
  removed?: string[];
  result?: {
    status: 'built' | 'already-built';
    image: string;
    reference: string;
    digest: string;
    tags: string[];
    signature?: { tag: string; keyId: string };
    timings: Record<string, number>;
  };
  error?: { code: string; message: string; hints?: string[] };
  autoDeploy?: AutoDeployOutcome[];
}

/** A tag the server learnt of, by webhook or by polling. */
export interface TagSighting {
  repo: string;
  tag: string;
  /** The commit the tag names. */
  commit: string;
  trigger: JobTrigger;
  delivery?: string;
}
