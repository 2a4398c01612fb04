import type { ServerClient } from '@sous/core';

/** A build job as GET /builds/:id answers. */
export interface BuildDoc {
  id: string;
  source: string;
  tag: string;
  version: string;
  commit: string;
  state: string;
  reason?: string;
  trigger: string;
  delivery?: string;
  author?: { name: string; email: string };
  attempts: number;
  interruptions: number;
  createdAt: string;
  finishedAt?: string;
  phase?: { name: string; status: string };
  result?: { reference: string; digest: string; signature?: { tag: string; keyId: string } };
  error?: { code: string; message: string };
  removed?: string[];
  autoDeploy?: { cluster: string; status: string; message: string; code?: string }[];
}

/** The configured Sous server: builds of pushed tags live only there. */
export async function buildServer(client: ServerClient | undefined): Promise<ServerClient> {
  if (client) return client;
  const { usageError } = await import('@sous/core');
  throw usageError('NO_SERVER', 'builds of pushed tags are kept by the Sous server, and none is configured', {
    hints: ['Set SOUS_SERVER=http://host:7070 and SOUS_TOKEN (a read token is enough)'],
  });
}
