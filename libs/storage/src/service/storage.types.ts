import type { Readable } from 'node:stream';
import type { BodySource, ByteRange, PresignedRequest, ResolvedRange } from '../contract/index.js';
import type { StoredArtifact } from '../registry/index.js';

/** A body, or a function that opens it afresh (which makes the upload retryable). */
export type ArtifactBody = BodySource | (() => BodySource | Promise<BodySource>);

export interface StoreArtifactInput {
  body: ArtifactBody;
  /** `image`, `video`, `model`, ... (an identifier; used for routing and limits). */
  artifactType: string;
  /** Declared content type; checked against the allow-list and (with inspectors) the bytes. */
  contentType: string;
  /** Defaults to `default`. */
  tenant?: string;
  /** Board-scoped artifact; omit for global artifacts such as models. */
  boardId?: string | null;
  /** Defaults to a time-ordered UUID. */
  artifactId?: string;
  /** Defaults to `original`. */
  variant?: string;
  /** Declared length: checked against limits before reading, and against the bytes after. */
  contentLength?: number;
  /** Expected SHA-256 (hex): the upload fails if the bytes differ. */
  sha256?: string;
  metadata?: Record<string, string>;
  /** The principal storing it (for the record and the audit trail). */
  createdBy?: string;
  /** Client-given file name (multipart), passed to inspectors. */
  filename?: string;
  /** Store under `temp/`, expiring after the configured TTL (or `ttlHours`). */
  temporary?: boolean | { ttlHours?: number; jobId?: string };
  /** Force a provider instead of the routing rules. */
  provider?: string;
  signal?: AbortSignal;
}

export interface OpenArtifactOptions {
  range?: ByteRange;
  signal?: AbortSignal;
}

export interface OpenedArtifact {
  artifact: StoredArtifact;
  body: Readable;
  range?: ResolvedRange;
  /** Bytes the body will carry. */
  contentLength: number;
}

export interface DownloadUrlOptions {
  /** Seconds; defaults to signedUrls.expiresInSeconds. */
  expiresIn?: number;
  /** Serve as an attachment with this name. */
  filename?: string;
}

export interface CreateUploadInput {
  artifactType: string;
  contentType: string;
  /** The exact size the client will upload. */
  size: number;
  tenant?: string;
  boardId?: string | null;
  variant?: string;
  metadata?: Record<string, string>;
  createdBy?: string;
  expiresIn?: number;
  temporary?: boolean | { ttlHours?: number; jobId?: string };
}

export interface CreatedUpload extends PresignedRequest {
  artifactId: string;
  artifact: StoredArtifact;
}

export interface ListArtifactsQuery {
  tenant?: string;
  boardId?: string | null;
  artifactType?: string;
  cursor?: string;
  limit?: number;
}
