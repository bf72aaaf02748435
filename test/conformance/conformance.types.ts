import type { CapabilityName, StorageProvider } from '@app/storage';

/** A running backend and a provider instance pointed at it. */
export interface ConformanceEnvironment {
  provider: StorageProvider;
  /**
   * Origin that relative presigned URLs are resolved against (self-served providers sign
   * path-only URLs, served by the module's SignedUrlController).
   */
  urlBase?: string;
  /** A provider of the same type pointed at an unreachable backend (for `ping` down). */
  unreachable?: () => Promise<StorageProvider>;
  /** Stops servers, removes temp folders. */
  teardown: () => Promise<void>;
}

/**
 * What each provider supplies to the shared conformance suite: only a factory and what its
 * test backend cannot check. Everything else is the suite's.
 */
export interface ConformanceTarget {
  /** Row name in the results table (`local`, `memory`, `s3`, `gcs`, `supabase`, `custom`). */
  name: string;
  setup: () => Promise<ConformanceEnvironment>;
  /**
   * Checks the test backend cannot make although the provider supports them against the real
   * service (e.g. s3rver does not verify presigned signatures), each with the reason. They are
   * skipped visibly, next to capabilities the provider itself lacks.
   */
  backendLimitations?: Partial<Record<ConformanceCheck, string>>;
  /** Bytes of the large streamed object case. Default 100 MiB. */
  largeObjectBytes?: number;
  /**
   * Bytes the backend itself keeps alive in the test process once the large object is stored
   * (the memory provider holds it by design). Added to the memory bound of the large case.
   */
  largeObjectRetainedBytes?: number;
  /**
   * Awkward-key checks the provider or its backend cannot pass, each with the reason (e.g. a
   * service whose key alphabet excludes unicode). A kind (`unicode`) skips every check of that
   * kind; `copy:<kind>` skips only its copy. Skipped visibly like capabilities.
   */
  keyLimitations?: Partial<Record<AwkwardKeyKind | `copy:${AwkwardKeyKind}`, string>>;
}

/** The kinds of awkward but valid keys every provider is asked to round-trip. */
export type AwkwardKeyKind = 'spaces' | 'unicode' | 'plus' | 'percent' | 'equals' | 'punctuation' | 'long name';

/**
 * What a backend limitation can name: a provider capability, or a finer check of the suite that
 * a test backend may get wrong although the provider supports it (s3rver and `bytes=0-0`).
 */
export type ConformanceCheck = CapabilityName | 'singleByteRange';
