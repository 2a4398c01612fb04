import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isSousError, type SousError } from '@sous/core';
import { CommandSecrets, EnvSecrets, FileSecrets } from './index';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sous-secret-providers-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const err = (v: string | SousError | undefined) => (isSousError(v) ? v : undefined);

describe('the file provider', () => {
  it('reads one file per key (a trailing newline is not part of the value); a missing key is missing', async () => {
    fs.mkdirSync(path.join(dir, 'ledger'));
    fs.writeFileSync(path.join(dir, 'ledger/db-password'), 'p@ss word\n');
    fs.writeFileSync(path.join(dir, 'raw'), 'two\nlines');
    const got = await new FileSecrets(dir).read(['ledger/db-password', 'raw', 'ledger/none']);
    expect(got.get('ledger/db-password')).toBe('p@ss word');
    expect(got.get('raw')).toBe('two\nlines');
    expect(got.has('ledger/none')).toBe(false);
  });

  it('follows links inside the directory (as Kubernetes mounts them), never one that leads out', async () => {
    fs.mkdirSync(path.join(dir, '..data'));
    fs.writeFileSync(path.join(dir, '..data/token'), 't0k');
    fs.symlinkSync('..data/token', path.join(dir, 'token'));
    const outside = path.join(os.tmpdir(), `sous-outside-${process.pid}`);
    fs.writeFileSync(outside, 'not yours');
    fs.symlinkSync(outside, path.join(dir, 'escape'));
    try {
      const got = await new FileSecrets(dir).read(['token', 'escape']);
      expect(got.get('token')).toBe('t0k');
      expect(err(got.get('escape'))?.code).toBe('SECRET_PROVIDER_FAILED');
      expect(err(got.get('escape'))?.message).not.toContain('not yours');
    } finally {
      fs.rmSync(outside, { force: true });
    }
  });

  it('a provider kept between passes sees a changed file, and a link swapped to a new file, by the next read', async () => {
    fs.writeFileSync(path.join(dir, 'plain'), 'one');
    fs.mkdirSync(path.join(dir, '..2026_01'));
    fs.writeFileSync(path.join(dir, '..2026_01/token'), 'old-token');
    fs.symlinkSync('..2026_01', path.join(dir, '..data'));
    fs.symlinkSync('..data/token', path.join(dir, 'token'));
    const p = new FileSecrets(dir);
    try {
      const first = await p.read(['plain', 'token']);
      expect([first.get('plain'), first.get('token')]).toEqual(['one', 'old-token']);
      fs.writeFileSync(path.join(dir, 'plain'), 'two');
      // As the kubelet updates a mounted secret: a new directory, then the ..data link renamed over the old one.
      fs.mkdirSync(path.join(dir, '..2026_02'));
      fs.writeFileSync(path.join(dir, '..2026_02/token'), 'new-token');
      fs.symlinkSync('..2026_02', path.join(dir, '..data_tmp'));
      fs.renameSync(path.join(dir, '..data_tmp'), path.join(dir, '..data'));
      await new Promise((r) => setTimeout(r, 200));
      const second = await p.read(['plain', 'token']);
      expect([second.get('plain'), second.get('token')]).toEqual(['two', 'new-token']);
    } finally {
      p.close();
    }
  });

  it('a directory that does not exist has no keys', async () => {
    expect((await new FileSecrets(path.join(dir, 'nope')).read(['a'])).size).toBe(0);
  });
});

describe('the env provider', () => {
  it("reads the rectifier's own environment", async () => {
    const got = await new EnvSecrets({ STRIPE_KEY: 'sk_live' }).read(['STRIPE_KEY', 'OTHER']);
    expect([...got.entries()]).toEqual([['STRIPE_KEY', 'sk_live']]);
  });
});

describe('the command provider', () => {
  const script = (body: string) => {
    const p = path.join(dir, 'provider.sh');
    fs.writeFileSync(p, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
    return p;
  };

  it('runs the command with the key ({key} or the last argument) and takes stdout as the value', async () => {
    const p = script('printf "value-of-%s\\n" "$2"');
    const withPlaceholder = await new CommandSecrets({ run: [p, 'read', '{key}'] }).read(['prod/db']);
    expect(withPlaceholder.get('prod/db')).toBe('value-of-prod/db');
    const appended = await new CommandSecrets({ run: [p, 'read'] }).read(['api']);
    expect(appended.get('api')).toBe('value-of-api');
  });

  it('a command that exits non-zero fails that key with its stderr, never its stdout', async () => {
    const p = script('echo "half-printed-value" ; echo "vault: permission denied for $1" >&2; exit 2');
    const got = await new CommandSecrets({ run: [p] }).read(['prod/db']);
    const e = err(got.get('prod/db'))!;
    expect(e.code).toBe('SECRET_PROVIDER_FAILED');
    expect(e.message).toContain('vault: permission denied for prod/db');
    expect(e.message).toContain('exited 2');
    expect(e.message).not.toContain('half-printed-value');
  });

  it('a command that runs past its timeout is stopped and fails the key', async () => {
    const p = script('echo "still thinking" >&2; sleep 10');
    const t0 = Date.now();
    const got = await new CommandSecrets({ run: [p], timeoutSeconds: 0.5 }).read(['k']);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(err(got.get('k'))?.message).toMatch(/did not answer within 0.5s: still thinking/);
  });

  it('a command that does not exist fails with what the system said', async () => {
    const got = await new CommandSecrets({ run: [path.join(dir, 'no-such-command')] }).read(['k']);
    expect(err(got.get('k'))?.message).toMatch(/cannot run .*ENOENT/);
  });
});
