import { Logger } from '@nestjs/common';
import { isProviderFault } from './provider-faults.js';
import { CircuitOpenError } from './resilience.errors.js';
import type { AttemptContext, StorageResilience } from './storage-resilience.js';

export interface FallbackWrite<T> {
  /** The routed provider first, then its fallbacks in order. */
  chain: string[];
  /**
   * A Buffer or a reopenable body: retried, and sent to the next provider after a failure. A
   * one-shot stream is tried once, and moves to a fallback only while none of it was read.
   */
  replayable: boolean;
  /** One attempt of the upload into `provider`. */
  write: (provider: string, context: AttemptContext) => Promise<T>;
  /** Called before bytes go to a provider other than the one the record names (move the record first). */
  switchTo: (provider: string) => Promise<void>;
  /** Best-effort removal of what a failed provider may hold under the key. */
  discard: (provider: string) => Promise<void>;
  signal?: AbortSignal;
}

export interface FallbackOutcome<T> {
  /** Where the bytes are. */
  provider: string;
  result: T;
  /** Providers passed over, with why. */
  skipped: { provider: string; error: unknown }[];
}

const logger = new Logger('StorageFallback');

/**
 * Writes to the first healthy provider of a chain. A provider whose breaker is open is passed
 * over without touching the body; a provider fault after retries moves a replayable body to the
 * next one. The caller's own errors (size, checksum, content) and faults on a one-shot body that
 * already started flowing end the write: the first error is the one reported.
 */
export async function writeWithFallback<T>(resilience: StorageResilience, job: FallbackWrite<T>): Promise<FallbackOutcome<T>> {
  const skipped: FallbackOutcome<T>['skipped'] = [];
  let recorded = job.chain[0];
  let bodyTouched = false;
  let firstFault: unknown;
  for (const provider of job.chain) {
    if (bodyTouched && !job.replayable) break;
    if (!resilience.isAvailable(provider)) {
      skipped.push({ provider, error: new CircuitOpenError(provider) });
      continue;
    }
    if (provider !== recorded) {
      await job.switchTo(provider);
      recorded = provider;
    }
    try {
      const result = await resilience.call(
        provider,
        'write',
        (context) => {
          bodyTouched = true;
          return job.write(provider, context);
        },
        { idempotent: job.replayable, signal: job.signal },
      );
      if (provider !== job.chain[0]) {
        logger.warn('write stored on a fallback provider', { provider, primary: job.chain[0], skipped: skipped.map((s) => s.provider) });
      }
      return { provider, result, skipped };
    } catch (error) {
      if (!(error instanceof CircuitOpenError) && !isProviderFault(error)) throw error;
      firstFault ??= error instanceof CircuitOpenError ? undefined : error;
      skipped.push({ provider, error });
      await job.discard(provider);
    }
  }
  // Every candidate was open or failed: report the first real fault, else the primary's open breaker.
  throw firstFault ?? skipped.find((s) => s.provider === job.chain[0])?.error ?? new CircuitOpenError(job.chain[0]);
}

/** The routed provider followed by its configured fallbacks, each once. */
export function fallbackChain(providers: Record<string, { fallbacks?: string[] }>, primary: string): string[] {
  return [...new Set([primary, ...(providers[primary]?.fallbacks ?? [])])];
}
