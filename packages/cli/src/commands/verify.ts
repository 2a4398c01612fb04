import { Args, Flags } from '@oclif/core';
import { SousCommand } from '../base';

export default class Verify extends SousCommand {
  static summary = "Check an image's signature against trusted keys.";
  static description =
    'Looks up the cosign signatures stored next to the image (the sha256-<hex>.sig tag) and checks that one of them was made by a trusted key for exactly this digest. With a tag and no digest, the digest is resolved from the registry first. Exit 0 when verified; 1 when refused, with the reason as the code: SIGNATURE_MISSING, SIGNATURE_UNTRUSTED, SIGNATURE_INVALID, SIGNATURE_DIGEST_MISMATCH or SIGNATURE_PAYLOAD_CORRUPT.';
  static examples = [
    '<%= config.bin %> verify registry.acme.com/acme/shop@sha256:4f1c…',
    '<%= config.bin %> verify 127.0.0.1:5000/acme/shop:1.2.0 --key ci.pub',
    '<%= config.bin %> verify registry.acme.com/acme/shop:1.2.0 --key ci.pub --key release.pub --json',
  ];
  static args = {
    image: Args.string({ description: 'registry/repository[:tag][@digest]', required: true }),
  };
  static flags = {
    key: Flags.string({ description: 'a trusted public key: a PEM file (repeatable; default: trustedKeys from the config)', multiple: true }),
  };

  async run() {
    const { args, flags } = await this.parseFlags(Verify);
    const cfg = await this.config_();
    const { verifyImageSignature } = await import('@sous/plugin-sign');
    const keys = flags.key?.length ? flags.key : [...cfg.trustedKeys];
    const v = await verifyImageSignature({ image: args.image, keys, config: cfg });
    this.log(`Verified ${v.image}@${v.digest}`);
    for (const s of v.signatures) {
      const version = s.optional['sous.version'];
      this.log(`  signed by key ${s.keyId} (${s.keySource})${typeof version === 'string' ? `, sous ${version}` : ''}`);
    }
    return { verified: true, image: v.image, digest: v.digest, tag: v.tag, signatureDigest: v.signatureDigest, signatures: v.signatures };
  }
}
