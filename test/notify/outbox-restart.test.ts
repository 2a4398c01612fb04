/**
 * At-least-once delivery across processes: real child processes with the
 * same operator config share the outbox; what one leaves pending (killed, or
 * out of time) the next one sends, with the same delivery id.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { verifyWebhookSignature } from '@sous/plugin-notify-webhook';
import { CHILD, freePort, pending, receiver, requireBuilt, run, tempHome, until } from './helpers';

const SECRET = 'restart-test-secret-1';

beforeAll(requireBuilt);

function webhookConfig(port: number, extra = ''): string {
  return `notifiers:\n  - type: webhook\n    url: http://127.0.0.1:${port}/hook\n    secret: ${SECRET}\n    timeoutMs: 30000\n${extra}`;
}

describe('deliveries pending when a process ends', () => {
  it('are sent by the next process after the first is killed mid-delivery', async () => {
    const hook = await receiver();
    const home = tempHome(webhookConfig(hook.port));
    try {
      hook.state.answer = 'hang';
      const first = run([CHILD, 'emit'], home.env);
      await until('the first attempt to reach the receiver', () => hook.got.length === 1);
      const eventId = JSON.parse(first.stdout().trim()).event as string;
      first.kill('SIGKILL');
      expect((await first.exited).signal).toBe('SIGKILL');

      // The delivery and the dead process's claim on it are still there.
      const left = pending(home.outbox);
      expect(left.filter((f) => f.endsWith('.json'))).toHaveLength(1);
      expect(left.filter((f) => f.endsWith('.claim'))).toHaveLength(1);

      hook.state.answer = 200;
      const second = run([CHILD, 'resume'], home.env);
      const { code } = await second.exited;
      expect(second.stderr()).not.toContain('child failed');
      expect(code).toBe(0);

      expect(hook.got).toHaveLength(2);
      const [a, b] = hook.got;
      expect(b.headers['x-sous-delivery']).toBe(a.headers['x-sous-delivery']);
      expect(b.headers['x-sous-event-id']).toBe(eventId);
      expect(JSON.parse(b.body)).toMatchObject({ id: eventId, type: 'deploy.succeeded', version: '1.2.3', deploymentID: 'prod:github.com/acme/shop' });
      expect(verifyWebhookSignature(b.body, b.headers['x-sous-signature'], SECRET).ok).toBe(true);
      expect(pending(home.outbox)).toEqual([]);
    } finally {
      await hook.close();
      home.cleanup();
    }
  });

  it('are left in the outbox when the receiver is down past the bounded wait, and sent by the next process', async () => {
    const port = await freePort();
    const home = tempHome(webhookConfig(port, '    retry: { attempts: 50, minDelayMs: 500, maxDelayMs: 1000 }\n'));
    try {
      const first = run([CHILD, 'emit'], home.env);
      const { code } = await first.exited;
      expect(code).toBe(0);
      const eventId = JSON.parse(first.stdout().trim()).event as string;
      expect(pending(home.outbox).filter((f) => f.endsWith('.json'))).toHaveLength(1);
      const logLines = first.stderr().trim().split('\n').map((l) => JSON.parse(l) as { level: string; msg: string });
      expect(logLines.filter((l) => l.level === 'warn').length).toBeGreaterThanOrEqual(1);
      expect(logLines.find((l) => l.level === 'warn')?.msg).toMatch(/^delivering deploy.succeeded failed \(attempt 1 of 50\), retrying in .*: cannot reach 127\.0\.0\.1:\d+: ECONNREFUSED$/);
      const [notifierDir] = fs.readdirSync(home.outbox);
      const attempts = fs.readFileSync(path.join(home.outbox, notifierDir, 'deliveries.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      expect(attempts.every((x: { ok: boolean }) => !x.ok)).toBe(true);

      const hook = await receiver(port);
      try {
        const second = run([CHILD, 'resume'], home.env);
        expect((await second.exited).code).toBe(0);
        expect(hook.got.map((g) => g.headers['x-sous-event-id'])).toEqual([eventId]);
        expect(pending(home.outbox)).toEqual([]);
      } finally {
        await hook.close();
      }
    } finally {
      home.cleanup();
    }
  });
});
