export { SignPlugin, sign, artifactAnnotations, type SignPluginOptions, type SignConfig } from './plugin';
export { signImage, type SignImageOptions, type SignImageResult } from './sign';
export { verifyImageSignature, type VerifyImageOptions, type VerifiedSignature, type SignatureVerification } from './verify';
export {
  generateKeyPair,
  writeKeyPair,
  loadPrivateKey,
  loadPublicKey,
  loadTrustedKeys,
  keyIdOf,
  PASSPHRASE_ENV,
  type GeneratedKeyPair,
  type WrittenKeyPair,
  type TrustedKey,
} from './keys';
export { COSIGN, SOUS_ANNOTATIONS, OPTIONAL_KEYS, signatureTag, makePayload, parsePayload, signatureImage, signatureLayer, type SimpleSigningPayload } from './cosign';
