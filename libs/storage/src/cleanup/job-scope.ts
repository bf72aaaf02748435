import { Logger } from '@nestjs/common';
import { InvalidArgumentError } from '../errors/index.js';
import { assertIdentifier } from '../keys/index.js';
import type { StoredArtifact } from '../registry/index.js';
import type { StoreArtifactInput } from '../service/storage.types.js';

/** What a job scope needs from StorageService (kept narrow so the scope stays testable). */
export interface JobScopeStorage {
  storeTemporary(input: Omit<StoreArtifactInput, 'temporary'> & { ttlHours?: number; jobId?: string }): Promise<StoredArtifact>;
  deleteJobArtifacts(jobId: string): Promise<number>;
  readonly registry: { findByJob(jobId: string): Promise<StoredArtifact[]> };
}

export type JobOutcome = 'completed' | 'failed';

/**
 * The design's GenerationJob: temporary artifacts stored through a scope carry its job id, and
 * `complete()` or `fail()` removes them at once instead of waiting for their TTL. The TTL still
 * applies if the process dies first, so nothing a job leaves behind lives forever.
 */
export class GenerationJobScope {
  private readonly logger = new Logger('GenerationJobScope');
  private ended?: JobOutcome;

  constructor(
    private readonly storage: JobScopeStorage,
    readonly jobId: string,
  ) {
    assertIdentifier(jobId, 'job id');
  }

  get outcome(): JobOutcome | undefined {
    return this.ended;
  }

  /** Stores a temporary artifact owned by this job (under `temp/`, with the job's id on its record). */
  async store(input: Omit<StoreArtifactInput, 'temporary'> & { ttlHours?: number }): Promise<StoredArtifact> {
    if (this.ended) throw new InvalidArgumentError(`Job ${this.jobId} has ${this.ended}; it cannot store more artifacts`);
    return this.storage.storeTemporary({ ...input, jobId: this.jobId });
  }

  /** The job's temporary artifacts still held (pending or ready). */
  artifacts(): Promise<StoredArtifact[]> {
    return this.storage.registry.findByJob(this.jobId);
  }

  /** The job succeeded: its intermediates go. Returns how many were removed. */
  complete(): Promise<number> {
    return this.end('completed');
  }

  /** The job failed: its intermediates go too. Returns how many were removed. */
  fail(error?: unknown): Promise<number> {
    if (error !== undefined) this.logger.warn('generation job failed; removing its temporary artifacts', { jobId: this.jobId, error: String(error) });
    return this.end('failed');
  }

  /** Runs `work` in the scope: completes on success, fails (and rethrows) on error. */
  async run<T>(work: (job: GenerationJobScope) => Promise<T>): Promise<T> {
    let result: T;
    try {
      result = await work(this);
    } catch (error) {
      await this.fail(error).catch((cleanupError) =>
        this.logger.warn("could not remove a failed job's temporary artifacts; the TTL sweep will", { jobId: this.jobId, error: String(cleanupError) }),
      );
      throw error;
    }
    await this.complete();
    return result;
  }

  private async end(outcome: JobOutcome): Promise<number> {
    // Ending twice is harmless: the second call finds nothing left (or what a retry left behind).
    this.ended ??= outcome;
    return this.storage.deleteJobArtifacts(this.jobId);
  }
}
