import type { Readable } from 'node:stream';

export interface InspectionContext {
  artifactType: string;
  /** The declared content type (lower case, no parameters). */
  contentType: string;
  /** Parameters of the declared content type (`charset`, ...). */
  contentTypeParams: Record<string, string>;
  /** The declared length, when known. */
  contentLength?: number;
  /** File name given by the client, when any (multipart). */
  filename?: string;
}

/**
 * Checks bytes against what the client declared, before anything is stored. Receives the body
 * and returns the body to store (the same bytes, for example after peeking at its head, or
 * piped through a validating transform). Refuses by throwing, or by failing the returned stream,
 * with a StorageError such as ContentMismatchError.
 */
export interface ContentInspector {
  inspect(body: Readable, context: InspectionContext): Readable | Promise<Readable>;
}

export interface ScanContext extends InspectionContext {
  artifactId: string;
  provider: string;
  storageKey: string;
  size: number;
  sha256: string;
  /** Opens the stored bytes for reading. */
  open(): Promise<Readable>;
}

/**
 * The design's malware scanning hook: called after the bytes are stored and before the
 * artifact becomes `ready`. Throwing (a StorageError, typically ContentRejectedError) rejects the
 * artifact: its bytes and record are removed. A transient error (ProviderUnavailableError,
 * TimeoutError: the scanning service is down) leaves a direct upload pending, so that it can be
 * completed again; an upload through `storeArtifact` is removed either way (its body is spent).
 */
export interface ContentScanner {
  scan(context: ScanContext): Promise<void>;
}
