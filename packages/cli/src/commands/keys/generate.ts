import * as path from 'node:path';
import { Flags } from '@oclif/core';
import { SousCommand } from '../../base';

export default class KeysGenerate extends SousCommand {
  static summary = 'Make a key pair for signing images.';
  static description =
    'Writes an ECDSA P-256 key pair: NAME.key (PKCS#8 PEM, mode 0600, encrypted with SOUS_SIGNING_PASSPHRASE when that is set) and NAME.pub (the public key, which `sous verify --key` and `cosign verify --key` read). Point signingKey in the config at the private key to sign every build; give clusters the public key (TrustedKeys). Never overwrites a key unless --force.';
  static examples = [
    '<%= config.bin %> keys generate',
    'SOUS_SIGNING_PASSPHRASE=… <%= config.bin %> keys generate --out /etc/sous/keys --name ci',
    '<%= config.bin %> keys generate --name ci --json',
  ];
  static flags = {
    out: Flags.string({ description: 'the directory to write the keys into (default: $XDG_CONFIG_HOME/sous/keys)' }),
    name: Flags.string({ description: 'the file name of the keys, without extension', default: 'sous' }),
    force: Flags.boolean({ description: 'replace an existing key pair of that name' }),
  };

  async run() {
    const { flags } = await this.parseFlags(KeysGenerate);
    const { configHome } = await import('@sous/core');
    const { writeKeyPair, PASSPHRASE_ENV } = await import('@sous/plugin-sign');
    const dir = flags.out ?? path.join(configHome(), 'sous', 'keys');
    const r = writeKeyPair({ dir, name: flags.name, force: flags.force, passphrase: process.env[PASSPHRASE_ENV] || undefined });
    this.log(`Private key: ${r.privateKey}${r.encrypted ? ' (encrypted)' : ` (not encrypted: set ${PASSPHRASE_ENV} to encrypt it)`}`);
    this.log(`Public key:  ${r.publicKey}`);
    this.log(`Key id:      ${r.keyId}`);
    return r;
  }
}
