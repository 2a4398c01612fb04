import * as crypto from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { failure, usageError, type SousError } from '../errors';

const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;

/** True for a sha256 content digest (`sha256:` and 64 lowercase hex digits). */
export function isDigest(s: string): boolean {
  return DIGEST_RE.test(s);
}

/** The content digest of bytes, as registries name them. */
export function digestOf(data: Buffer | string): string {
  return `sha256:${crypto.createHash('sha256').update(data).digest('hex')}`;
}

/** Refuses anything that is not a sha256 digest: only sha256 is checked on download. */
export function checkDigest(d: string, what = 'digest'): string {
  if (!isDigest(d)) {
    throw usageError('INVALID_DIGEST', `${JSON.stringify(d)} is not a sha256 digest (${what})`, { hints: ['A digest reads sha256: followed by 64 lowercase hex digits'] });
  }
  return d;
}

export function digestMismatch(what: string, expected: string, actual: string, details: Record<string, unknown> = {}): SousError {
  return failure('DIGEST_MISMATCH', `${what} is not what its digest says: expected ${expected}, got ${actual}`, {
    hints: ['The registry served other bytes than it was asked for: its storage may be corrupt, or something between rewrote the content'],
    details: { expected, actual, ...details },
  });
}

/**
 * Passes bytes through while hashing them, and fails the stream at its end
 * when they do not hash to the expected digest, so a consumer never takes
 * corrupt content for good.
 */
export class DigestCheck extends Transform {
  private readonly hash = crypto.createHash('sha256');
  /** Bytes passed through so far. */
  bytes = 0;

  constructor(
    private readonly expected: string,
    private readonly what: string,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    const actual = `sha256:${this.hash.digest('hex')}`;
    cb(actual === this.expected ? null : digestMismatch(this.what, this.expected, actual, { bytes: this.bytes }));
  }
}
