/* eslint-disable */
// Generated from schemas/ by scripts/gen-types.js. Do not edit by hand: edit the schema and run `npm run gen:types`.

/**
 * A built image of one version of one source location, in the GDM's artifact index.
 */
export interface ArtifactRecord {
  /**
   * repo[,dir]
   */
  Source: string;
  Version: string;
  Revision?: string;
  /**
   * registry/name, without tag or digest
   */
  Image: string;
  Digest: string;
  Tags?: string[];
  Labels?: {
    [k: string]: string;
  };
  Advisories?: string[];
  BuiltAt?: string;
  ContentKey?: string;
  Stack?: string;
  Contracts?: ContractResultRecord[];
  Signature?: SignatureRecord;
  Precache?: {
    [k: string]: PrecacheRecord;
  };
  /**
   * True once contracts passed (and the image was signed when signing is on).
   */
  Deployable?: boolean;
}
export interface ContractResultRecord {
  Name: string;
  Status: 'passed' | 'failed' | 'warning' | 'skipped';
  Message?: string;
  DurationMs?: number;
}
export interface SignatureRecord {
  Tag?: string;
  Digest?: string;
  KeyID?: string;
}
export interface PrecacheRecord {
  Registry?: string;
  Status?: 'copied' | 'present' | 'failed' | 'skipped';
  Message?: string;
  BytesSent?: number;
}
