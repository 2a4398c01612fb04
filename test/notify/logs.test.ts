/**
 * Structured logs from real processes: JSON lines off a terminal, and no
 * secret in anything a process writes, whatever path it takes to the log.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CHILD, SOUS_BIN, freePort, receiver, requireBuilt, run, tempHome } from './helpers';

const SECRETS = {
  webhookSecret: 'whsec-it-secret-81818',
  urlPassword: 'url-pass-72727',
  smtpPassword: 'smtp-pass-63636',
  token: 'tok-env-secret-54545',
  passphrase: 'passphrase-env-45454',
};

beforeAll(requireBuilt);

function operatorConfig(hookPort: number, smtpPort: number): string {
  return [
    'notifiers:',
    '  - type: webhook',
    `    url: http://hookuser:${SECRETS.urlPassword}@127.0.0.1:${hookPort}/hook`,
    `    secret: ${SECRETS.webhookSecret}`,
    '    retry: { attempts: 2, minDelayMs: 50, maxDelayMs: 50 }',
    '  - type: email',
    `    smtp: smtp://mailer:${SECRETS.smtpPassword}@127.0.0.1:${smtpPort}`,
    '    from: sous@example.com',
    '    to: [ops@example.com]',
    '    retry: { attempts: 2, minDelayMs: 50, maxDelayMs: 50 }',
    '',
  ].join('\n');
}

function expectNoSecrets(output: string): void {
  for (const [name, value] of Object.entries(SECRETS)) {
    if (output.includes(value)) throw new Error(`the output shows the ${name}: ${output.slice(Math.max(0, output.indexOf(value) - 200), output.indexOf(value) + 50)}`);
  }
}

describe('logs of a real process', () => {
  it('are JSON lines with every secret redacted, through failures, retries and a debug dump of config and environment', async () => {
    const hook = await receiver();
    hook.state.answer = 500;
    const home = tempHome(operatorConfig(hook.port, await freePort()));
    try {
      const child = run([CHILD, 'emit'], { ...home.env, CHILD_LOG_LEVEL: 'debug', SOUS_TOKEN: SECRETS.token, SOUS_SIGNING_PASSPHRASE: SECRETS.passphrase });
      expect((await child.exited).code).toBe(0);
      const lines = child.stderr().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      // The secrets did reach the logger: the config dump, the environment, the failures.
      const dump = lines.find((l) => l.msg === 'resolved config') as { config: { token: string; notifiers: Record<string, string>[] } };
      expect(dump.config.token).toBe('[redacted]');
      expect(dump.config.notifiers[0]).toMatchObject({ url: expect.stringContaining('hookuser:[redacted]@'), secret: '[redacted]' });
      expect(dump.config.notifiers[1].smtp).toContain('mailer:[redacted]@');
      expect(String(lines.find((l) => String(l.msg).startsWith('environment: '))?.msg)).toContain('"SOUS_SIGNING_PASSPHRASE":"[redacted]"');
      expect(lines.filter((l) => l.level === 'error').map((l) => l.plugin).sort()).toEqual(['sous:notify-email', 'sous:notify-webhook']);
      expect(hook.got).toHaveLength(2);
      expectNoSecrets(child.stdout() + child.stderr());
    } finally {
      await hook.close();
      home.cleanup();
    }
  });

  it('sous config shows no secret, in text or --json', async () => {
    const home = tempHome(operatorConfig(9, 9).replace('notifiers:', `token: ${SECRETS.token}\nnotifiers:`));
    try {
      for (const args of [['config'], ['config', '--json', '--debug']]) {
        const r = run([SOUS_BIN, ...args], { ...home.env, SOUS_SIGNING_PASSPHRASE: SECRETS.passphrase });
        expect((await r.exited).code).toBe(0);
        expect(r.stdout()).toContain('notifiers');
        expect(r.stdout()).toContain('[redacted]');
        expectNoSecrets(r.stdout() + r.stderr());
      }
    } finally {
      home.cleanup();
    }
  });

  it('sous --version does not load the logger; a command that logs does', async () => {
    const home = tempHome('');
    try {
      const trace = path.join(home.dir, 'trace.js');
      const loaded = path.join(home.dir, 'loaded.txt');
      fs.writeFileSync(
        trace,
        `const M = require('module'); const fs = require('fs'); const orig = M._load;
         M._load = function (req, ...rest) { if (/^pino(\\/|$)/.test(req)) fs.appendFileSync(${JSON.stringify(loaded)}, req + '\\n'); return orig.call(this, req, ...rest); };`,
      );
      const version = run(['-r', trace, SOUS_BIN, '--version'], home.env);
      expect((await version.exited).code).toBe(0);
      expect(version.stdout()).toMatch(/^@sous\/cli\/\d/);
      expect(fs.existsSync(loaded)).toBe(false);
      const withWarning = run(['-r', trace, SOUS_BIN, 'config'], { ...home.env, SOUS_BOGUS_SETTING: '1' });
      expect((await withWarning.exited).code).toBe(0);
      expect(withWarning.stderr()).toContain('unknown environment variable SOUS_BOGUS_SETTING');
      expect(fs.readFileSync(loaded, 'utf8')).toContain('pino');
    } finally {
      home.cleanup();
    }
  });
});
