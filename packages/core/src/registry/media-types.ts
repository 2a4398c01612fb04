/**
 * Media types of the OCI image and distribution specifications and of
 * Docker's image manifest v2, schema 2: the manifests the registry client
 * reads, writes and copies.
 */
export const MEDIA_TYPES = Object.freeze({
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerForeignLayer: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociEmpty: 'application/vnd.oci.empty.v1+json',
});

/** Manifest media types that list blobs (a config and layers). */
export const IMAGE_MANIFEST_TYPES: readonly string[] = [MEDIA_TYPES.dockerManifest, MEDIA_TYPES.ociManifest];
/** Manifest media types that list other manifests (one per platform). */
export const INDEX_TYPES: readonly string[] = [MEDIA_TYPES.dockerManifestList, MEDIA_TYPES.ociIndex];

/**
 * Sent with every manifest request. Without the v2 types a distribution 2.x
 * registry answers a converted schema 1 manifest, whose digest is not the
 * image's.
 */
export const MANIFEST_ACCEPT = [...IMAGE_MANIFEST_TYPES, ...INDEX_TYPES].join(', ');

/** A content descriptor: what a manifest says about one blob or child manifest. */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  platform?: { architecture?: string; os?: string; variant?: string; [k: string]: unknown };
  [k: string]: unknown;
}

/** An image manifest (Docker v2 schema 2 or OCI). */
export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
  subject?: Descriptor;
}

/** A manifest list or OCI image index. */
export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

export function isIndexType(mediaType: string): boolean {
  return INDEX_TYPES.includes(mediaType);
}

export function isImageManifestType(mediaType: string): boolean {
  return IMAGE_MANIFEST_TYPES.includes(mediaType);
}

/**
 * Layers a registry must not be asked for: Windows base layers and other
 * non-distributable blobs, which live at their `urls`.
 */
export function isForeignLayer(d: Descriptor): boolean {
  return d.mediaType === MEDIA_TYPES.dockerForeignLayer || d.mediaType.startsWith('application/vnd.oci.image.layer.nondistributable.') || (d.urls?.length ?? 0) > 0;
}
