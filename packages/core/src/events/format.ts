/**
 * How an event reads to a person: one title line and a few labelled facts,
 * shared by the console, chat and e-mail notifiers so they say the same thing.
 */
import { EVENT_OUTCOMES, type EventOutcome, type TypedEvent } from './catalogue';

export interface EventSummary {
  outcome: EventOutcome;
  /** An emoji for the outcome (chat, terminals). */
  emoji: string;
  /** One line: what happened to what. */
  title: string;
  /** Labelled facts in reading order. */
  facts: [label: string, value: string][];
  /** Named URLs. */
  links: [label: string, url: string][];
}

const EMOJI: Record<TypedEvent['type'], string> = {
  'build.started': '🔨',
  'build.failed': '❌',
  'contract.failed': '❌',
  'artifact.ready': '📦',
  'deploy.requested': '🚀',
  'deploy.succeeded': '✅',
  'deploy.failed': '❌',
  'rectify.drift': '⚠️',
  'rectify.held': '⛔',
  'rectify.removed': '⚠️',
};

function where(e: TypedEvent): string {
  return `${e.manifestID}${e.version ? ` ${e.version}` : ''}${e.cluster ? ` → ${e.cluster}` : ''}`;
}

function title(e: TypedEvent): string {
  switch (e.type) {
    case 'build.started':
      return `Building ${where(e)}`;
    case 'build.failed':
      return `Build failed: ${where(e)} (${e.phase})`;
    case 'contract.failed':
      return `Contracts failed: ${where(e)}`;
    case 'artifact.ready':
      return `Ready to deploy: ${where(e)}`;
    case 'deploy.requested':
      return `Deploy requested: ${where(e)}`;
    case 'deploy.succeeded':
      return `Deployed: ${where(e)}`;
    case 'deploy.failed':
      return `Deploy failed: ${where(e)} (${e.phase})`;
    case 'rectify.drift':
      return `Drift: ${e.deploymentID} differs from the GDM`;
    case 'rectify.held':
      return `Held after ${e.failures} failures: ${where(e)}`;
    case 'rectify.removed':
      return `No longer intended, left running: ${e.deploymentID}`;
  }
}

function facts(e: TypedEvent): [string, string][] {
  const f: [string, string][] = [['Deployment', e.deploymentID ?? e.manifestID]];
  if (e.version) f.push(['Version', e.version]);
  if (e.cluster) f.push(['Cluster', e.cluster]);
  if (e.user) f.push(['User', e.user.email ? `${e.user.name} <${e.user.email}>` : e.user.name]);
  switch (e.type) {
    case 'build.failed':
      f.push(['Phase', e.phase], ['Error', `${e.error.message} [${e.error.code}]`]);
      break;
    case 'contract.failed': {
      const failed = e.contracts.filter((c) => c.status === 'failed');
      f.push(['Failed contracts', failed.map((c) => (c.message ? `${c.name}: ${c.message}` : c.name)).join('; ') || 'none reported']);
      break;
    }
    case 'artifact.ready': {
      f.push(['Image', e.image]);
      if (e.signature) f.push(['Signed by', e.signature.keyId]);
      const pc = Object.entries(e.precache);
      if (pc.length) f.push(['Pre-cached', pc.map(([c, r]) => `${c}: ${r.status}`).join(', ')]);
      break;
    }
    case 'deploy.requested':
    case 'deploy.succeeded':
      if (e.previousVersion) f.push(['Previous version', e.previousVersion]);
      if (e.digest) f.push(['Digest', e.digest]);
      break;
    case 'deploy.failed':
      f.push(['Phase', e.phase], ['Error', `${e.error.message} [${e.error.code}]`]);
      for (const c of e.checks?.filter((x) => !x.ok) ?? []) f.push([`Check ${c.name}`, c.message]);
      break;
    case 'rectify.drift':
      f.push(['Differences', e.differences.join('; ')]);
      if (e.action) f.push(['Action', e.action]);
      break;
    case 'rectify.held':
      f.push(['Last error', `${e.error.message} [${e.error.code}]`]);
      break;
    case 'rectify.removed':
      f.push(['Reason', e.reason]);
      break;
    default:
      break;
  }
  return f;
}

/** The colour each outcome is shown in (Slack attachments, email headings). */
export const OUTCOME_COLOURS: Record<EventOutcome, string> = {
  success: '#2eb67d',
  failure: '#e01e5a',
  warning: '#ecb22e',
  info: '#1d9bd1',
};

export function summarize(e: TypedEvent): EventSummary {
  return {
    outcome: EVENT_OUTCOMES[e.type],
    emoji: EMOJI[e.type],
    title: title(e),
    facts: facts(e),
    links: Object.entries(e.links ?? {}),
  };
}
