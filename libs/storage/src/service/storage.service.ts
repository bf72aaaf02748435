import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { v7 as uuidv7 } from 'uuid';
import type { ResolvedStorageOptions } from '../config/index.js';
import type { BodySource, StorageProvider } from '../contract/index.js';
import { keepPendingAlive } from '../cleanup/pending-heartbeat.js';
import { GenerationJobScope } from '../cleanup/job-scope.js';
import {
  ChecksumMismatchError,
  ContentMismatchError,
  ContentRejectedError,
  ContentTypeNotAllowedError,
  CorruptionError,
  IncompleteBodyError,
  InvalidArgumentError,
  ObjectNotFoundError,
  PayloadTooLargeError,
  StorageError,
} from '../errors/index.js';
import type { ContentInspector, ContentScanner, InspectionContext } from '../hooks/index.js';
import { assertIdentifier, assertValidKey, buildArtifactKey, buildTempKey } from '../keys/index.js';
import { StorageProviderRegistry } from '../providers/storage-provider.registry.js';
import { ArtifactNotReady, ArtifactRegistry, type StoredArtifact } from '../registry/index.js';
import { fallbackChain, writeWithFallback } from '../resilience/fallback-writer.js';
import { StorageResilience, type ResilientOperation } from '../resilience/storage-resilience.js';
import { STORAGE_CONTENT_INSPECTORS, STORAGE_CONTENT_SCANNERS, STORAGE_OPTIONS } from '../storage.constants.js';
import { MeteredStream, VerifyingStream, assertValidRange, knownLength, resolveRange, toReadable } from '../streams/index.js';
import { assertContentTypeAllowed, parseContentType } from './content-type.js';
import { StorageInstrumentation } from './instrumentation.js';
import { selectProvider } from './routing.js';
import type {
  ArtifactBody,
  CreateUploadInput,
  CreatedUpload,
  DownloadUrlOptions,
  ListArtifactsQuery,
  OpenArtifactOptions,
  OpenedArtifact,
  StoreArtifactInput,
} from './storage.types.js';

const DEFAULT_TENANT = 'default';

/**
 * The design's StorageManager: validation, routing, size limits, checksums and the artifact
 * registry above the providers. Every call into a provider goes through StorageResilience
 * (timeouts, retries, breakers); writes move to fallbacks there. Every request path streams.
 */
/** Failures that are a verdict on an upload's bytes (as opposed to a backend failing on the way). */
const BYTE_VERDICTS = [
  PayloadTooLargeError,
  ContentMismatchError,
  ContentTypeNotAllowedError,
  ContentRejectedError,
  IncompleteBodyError,
  ChecksumMismatchError,
  CorruptionError,
];

function rejectsUploadedBytes(error: unknown): boolean {
  return BYTE_VERDICTS.some((verdict) => error instanceof verdict);
}

/** A failure worth trying again (a backend or a scanner unavailable, a timeout). */
function isTransient(error: unknown): boolean {
  return error instanceof StorageError && error.transient;
}

@Injectable()
export class StorageService {
  private readonly logger = new Logger('StorageService');

  constructor(
    @Inject(STORAGE_OPTIONS) readonly options: ResolvedStorageOptions,
    readonly providers: StorageProviderRegistry,
    readonly registry: ArtifactRegistry,
    readonly instrumentation: StorageInstrumentation,
    readonly resilience: StorageResilience,
    @Optional() @Inject(STORAGE_CONTENT_INSPECTORS) private readonly inspectors: ContentInspector[] = [],
    @Optional() @Inject(STORAGE_CONTENT_SCANNERS) private readonly scanners: ContentScanner[] = [],
  ) {}

  /** Runs one idempotent provider call under its provider's time limit, breaker and retries. */
  private guarded<T>(provider: string, operation: ResilientOperation, run: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T> {
    return this.resilience.call(provider, operation, (context) => run(context.signal), { idempotent: true, signal });
  }

  /** The upload limit for an artifact type. */
  maxSizeFor(artifactType: string): number {
    return this.options.maxFileSizeByType[artifactType] ?? this.options.maxFileSize;
  }

  /** The provider the routing rules pick for these facts. */
  route(facts: { artifactType: string; contentType: string; size?: number }): string {
    return selectProvider(this.options.routingRules, this.options.defaultProvider, facts);
  }

  provider(name: string): StorageProvider {
    return this.providers.get(name);
  }

  private checkCommon(input: { artifactType: string; tenant?: string; boardId?: string | null; variant?: string; createdBy?: string }) {
    assertIdentifier(input.artifactType, 'artifact type');
    if (input.createdBy != null && (typeof input.createdBy !== 'string' || input.createdBy.length > 255 || /[\u0000-\u001f]/.test(input.createdBy))) {
      throw new InvalidArgumentError('createdBy must be at most 255 characters, without control characters');
    }
    const tenant = input.tenant ?? DEFAULT_TENANT;
    assertIdentifier(tenant, 'tenant');
    if (input.boardId != null) assertIdentifier(input.boardId, 'board id');
    const variant = input.variant ?? 'original';
    assertIdentifier(variant, 'variant');
    return { tenant, variant, boardId: input.boardId ?? null };
  }

  private checkMetadata(metadata: Record<string, string> | undefined): void {
    if (!metadata) return;
    let total = 0;
    for (const [key, value] of Object.entries(metadata)) {
      if (!/^[a-z0-9][a-z0-9_-]{0,63}$/.test(key) || typeof value !== 'string') {
        throw new InvalidArgumentError(`Invalid metadata entry "${key.slice(0, 64)}": keys are lower-case letters, digits, "_" or "-"; values are strings`);
      }
      total += key.length + Buffer.byteLength(value);
    }
    if (total > 2048) throw new InvalidArgumentError('Metadata is larger than 2 KiB');
  }

  private expiryOf(temporary: StoreArtifactInput['temporary']): { expiresAt: Date | null; jobId: string | null } {
    if (!temporary) return { expiresAt: null, jobId: null };
    const ttlHours = (typeof temporary === 'object' ? temporary.ttlHours : undefined) ?? this.options.cleanup.tempFileTtlHours;
    const jobId = typeof temporary === 'object' ? (temporary.jobId ?? null) : null;
    if (jobId !== null) assertIdentifier(jobId, 'job id');
    return { expiresAt: new Date(Date.now() + ttlHours * 3600_000), jobId };
  }

  private keyFor(
    temporary: boolean,
    parts: { tenant: string; artifactType: string; boardId: string | null; artifactId: string; variant: string },
  ): string {
    if (temporary) return buildTempKey(parts.tenant, parts.boardId ?? parts.artifactType, parts.artifactId, parts.variant);
    return buildArtifactKey(parts);
  }

  /**
   * Runs the content inspectors over a body and returns the body to store. Inspectors may
   * read its head (bounded) before anything is stored, and refuse by throwing.
   */
  private async inspect(body: Readable, context: InspectionContext): Promise<Readable> {
    let current = body;
    for (const inspector of this.inspectors) current = await inspector.inspect(current, context);
    return current;
  }

  /**
   * Streams a body into the routed provider and records it. Reading stops at the size limit;
   * any failure leaves no object and no record. A Buffer or a reopenable body (a function) is
   * retried on transient failures and, when the provider stays down, written to its next
   * fallback; a one-shot stream is tried once, and reaches a fallback only when the routed
   * provider's breaker is already open (before any byte is read). The record names the
   * provider that holds the bytes.
   */
  async storeArtifact(input: StoreArtifactInput): Promise<StoredArtifact> {
    const { tenant, variant, boardId } = this.checkCommon(input);
    const { essence, params } = parseContentType(input.contentType);
    assertContentTypeAllowed(essence, this.options.allowedContentTypes);
    this.checkMetadata(input.metadata);
    const limit = this.maxSizeFor(input.artifactType);
    const replayable = typeof input.body === 'function' || input.body instanceof Uint8Array;
    const firstBody = typeof input.body === 'function' ? await input.body() : input.body;
    const declared = input.contentLength ?? knownLength(firstBody);
    if (declared !== undefined) {
      if (!Number.isSafeInteger(declared) || declared < 0) throw new InvalidArgumentError('Content length must be a whole number of bytes');
      if (declared > limit) {
        destroyBody(firstBody);
        throw new PayloadTooLargeError(limit);
      }
    }
    if (input.sha256 !== undefined && !/^[0-9a-f]{64}$/i.test(input.sha256)) {
      throw new InvalidArgumentError('sha256 must be 64 hexadecimal characters');
    }
    const artifactId = input.artifactId ?? uuidv7();
    if (input.artifactId !== undefined) assertIdentifier(artifactId, 'artifact id');
    const providerName = input.provider ?? this.route({ artifactType: input.artifactType, contentType: essence, size: declared });
    this.providers.get(providerName); // an unknown name fails here, before anything is read
    const { expiresAt, jobId } = this.expiryOf(input.temporary);
    const storageKey = this.keyFor(Boolean(input.temporary), { tenant, artifactType: input.artifactType, boardId, artifactId, variant });
    const context: InspectionContext = {
      artifactType: input.artifactType,
      contentType: essence,
      contentTypeParams: params,
      contentLength: declared,
      filename: input.filename,
    };

    // The event names the provider that ends up holding the bytes (a fallback may take them).
    const event = { operation: 'store' as const, provider: providerName, artifactId, artifactType: input.artifactType };
    const chain = input.provider ? [input.provider] : fallbackChain(this.options.providers, providerName);
    return this.instrumentation.track(
      event,
      async () => {
        // Inspect before anything exists: a refused body leaves no record and no object.
        let inspected: Readable | undefined = await this.inspect(toReadable(firstBody), context).catch((error) => {
          destroyBody(firstBody);
          throw error;
        });
        const record = await this.registry.createPending({
          id: artifactId,
          tenant,
          boardId,
          artifactType: input.artifactType,
          variant,
          storageKey,
          provider: providerName,
          contentType: essence,
          size: declared ?? null,
          createdBy: input.createdBy ?? null,
          jobId,
          metadata: input.metadata ?? null,
          expiresAt,
        });
        let holder = providerName; // the provider the record names
        const stopHeartbeat = keepPendingAlive(this.registry, record.id, this.options.cleanup.pendingTimeoutMinutes);
        try {
          const written = await writeWithFallback(this.resilience, {
            chain,
            replayable,
            signal: input.signal,
            write: async (name, attempt) => {
              let source: Readable;
              if (inspected) {
                source = inspected;
                inspected = undefined;
              } else {
                const again = typeof input.body === 'function' ? await input.body() : input.body;
                source = await this.inspect(toReadable(again), context);
              }
              return this.putMetered(this.providers.get(name), storageKey, source, {
                contentType: essence,
                metadata: input.metadata,
                limit,
                declared,
                sha256: input.sha256,
                signal: attempt.signal,
                watchProgress: attempt.watchProgress,
              });
            },
            // The record moves first: a crash mid-write leaves a pending row naming the right provider.
            switchTo: async (name) => {
              await this.registry.repository.update({ id: record.id, status: 'pending' }, { provider: name, updatedAt: new Date() });
              holder = name;
            },
            discard: (name) => this.discardObject(name, storageKey, record.id),
          });
          event.provider = written.provider;
          await this.runScanners({ ...context, artifactId, provider: written.provider, storageKey, ...written.result });
          return await this.registry.markReady(record.id, { size: written.result.size, sha256: written.result.sha256, provider: written.provider });
        } catch (error) {
          inspected?.destroy();
          await this.discard(holder, storageKey, record.id);
          throw error;
        } finally {
          stopHeartbeat();
        }
      },
      (artifact) => artifact.size ?? undefined,
    );
  }

  /** Streams `source` through a meter (limit, length, checksum) into the provider. */
  private async putMetered(
    provider: StorageProvider,
    key: string,
    source: Readable,
    facts: {
      contentType: string;
      metadata?: Record<string, string>;
      limit: number;
      declared?: number;
      sha256?: string;
      signal?: AbortSignal;
      watchProgress?: (probe: () => number) => void;
    },
  ): Promise<{ size: number; sha256: string }> {
    const meter = new MeteredStream({ maxBytes: facts.limit, expectedLength: facts.declared, expectedSha256: facts.sha256 });
    facts.watchProgress?.(() => meter.bytesSeen);
    const feeding = pipeline(source, meter).catch((error: unknown) => error);
    try {
      await provider.put(key, meter, {
        contentType: facts.contentType,
        metadata: facts.metadata,
        contentLength: facts.declared,
        ifNotExists: true,
        signal: facts.signal,
      });
    } catch (error) {
      source.destroy();
      meter.destroy();
      // The meter's own error (too large, incomplete, checksum) explains the failure best.
      const fed = await feeding;
      throw fed instanceof StorageError ? fed : error;
    }
    const fed = await feeding;
    if (fed) throw fed;
    return { size: meter.bytesSeen, sha256: meter.sha256 };
  }

  private async runScanners(
    context: InspectionContext & { artifactId: string; provider: string; storageKey: string; size: number; sha256: string },
  ): Promise<void> {
    const provider = this.providers.get(context.provider);
    for (const scanner of this.scanners) {
      await scanner.scan({
        ...context,
        open: async () => (await this.guarded(context.provider, 'read', (signal) => provider.get(context.storageKey, { signal }))).body,
      });
    }
  }

  /**
   * Best-effort removal of a failed upload's object (the orphan sweep catches what remains). A
   * cleanup for the breaker: its faults count, its success does not (deleting a key a failing
   * backend never wrote succeeds, and must not reset the count of that backend's write faults).
   */
  private async discardObject(providerName: string, key: string, artifactId: string): Promise<void> {
    try {
      const provider = this.providers.get(providerName);
      await this.resilience.call(providerName, 'delete', () => provider.delete(key), { idempotent: true, cleanup: true });
    } catch (error) {
      this.logger.warn('could not remove the object of a failed upload; the sweeper will', { artifactId, provider: providerName, error: String(error) });
    }
  }

  /** Best-effort removal of a failed upload's object and pending row (the sweeper catches the rest). */
  private async discard(providerName: string, key: string, artifactId: string): Promise<void> {
    await this.discardObject(providerName, key, artifactId);
    try {
      await this.registry.removePending(artifactId);
    } catch (error) {
      this.logger.warn('could not remove the pending record of a failed upload; the sweeper will', { artifactId, error: String(error) });
    }
  }

  /** The record of a ready artifact; ObjectNotFoundError otherwise (also for another tenant's). */
  async getArtifact(id: string, scope: { tenant?: string } = {}): Promise<StoredArtifact> {
    const artifact = await this.registry.findById(id);
    if (!artifact || artifact.status !== 'ready' || (scope.tenant !== undefined && artifact.tenant !== scope.tenant)) {
      throw new ObjectNotFoundError(`artifact ${String(id).slice(0, 64)}`);
    }
    return artifact;
  }

  /** Opens an artifact's bytes (optionally a range) from the provider its record names. */
  async openArtifact(idOrArtifact: string | StoredArtifact, options: OpenArtifactOptions = {}): Promise<OpenedArtifact> {
    const artifact = typeof idOrArtifact === 'string' ? await this.getArtifact(idOrArtifact) : idOrArtifact;
    if (options.range) {
      assertValidRange(options.range);
      if (artifact.size !== null) resolveRange(options.range, artifact.size); // 416 before touching the backend
    }
    const provider = this.providers.get(artifact.provider);
    const opened = await this.instrumentation.track(
      { operation: 'read', provider: artifact.provider, artifactId: artifact.id, artifactType: artifact.artifactType },
      () => this.guarded(artifact.provider, 'read', (signal) => provider.get(artifact.storageKey, { range: options.range, signal }), options.signal),
      (result) => (result.range ? result.range.end - result.range.start + 1 : result.info.size),
    );
    let body = opened.body;
    if (this.options.verifyOnRead && !opened.range && artifact.sha256 && artifact.size !== null) {
      // A mismatch is an error event with the CorruptionError's own code (counted by the metrics).
      const verifier = new VerifyingStream({ size: artifact.size, sha256: artifact.sha256 }, (what) => {
        this.logger.error('stored bytes do not match their record', { artifactId: artifact.id, provider: artifact.provider, mismatch: what });
        this.instrumentation.operation({
          operation: 'read',
          provider: artifact.provider,
          outcome: 'error',
          durationMs: 0,
          artifactId: artifact.id,
          errorCode: 'E_CORRUPTION',
        });
      });
      body = opened.body.pipe(verifier);
      opened.body.once('error', (error) => verifier.destroy(error));
    }
    const contentLength = opened.range ? opened.range.end - opened.range.start + 1 : opened.info.size;
    return { artifact, body, range: opened.range, contentLength };
  }

  async getDownloadUrl(idOrArtifact: string | StoredArtifact, options: DownloadUrlOptions = {}) {
    const artifact = typeof idOrArtifact === 'string' ? await this.getArtifact(idOrArtifact) : idOrArtifact;
    const provider = this.providers.get(artifact.provider);
    return this.instrumentation.track(
      { operation: 'presign_download', provider: artifact.provider, artifactId: artifact.id },
      () =>
        this.guarded(artifact.provider, 'presign', () =>
          provider.presignDownload(artifact.storageKey, {
            expiresIn: options.expiresIn ?? this.options.signedUrls.expiresInSeconds,
            filename: options.filename,
          }),
        ),
    );
  }

  /**
   * Starts a direct client upload: a pending record and a presigned request bound to the
   * content type and size. The client sends the bytes, then calls completeUpload.
   */
  async createUpload(input: CreateUploadInput): Promise<CreatedUpload> {
    const { tenant, variant, boardId } = this.checkCommon(input);
    const { essence } = parseContentType(input.contentType);
    assertContentTypeAllowed(essence, this.options.allowedContentTypes);
    this.checkMetadata(input.metadata);
    if (!Number.isSafeInteger(input.size) || input.size < 0) throw new InvalidArgumentError('size must be a whole number of bytes');
    const limit = this.maxSizeFor(input.artifactType);
    if (input.size > limit) throw new PayloadTooLargeError(limit);
    // Nothing is sent yet: a routed provider whose breaker is open hands the upload to a fallback.
    const routed = this.route({ artifactType: input.artifactType, contentType: essence, size: input.size });
    const providerName = fallbackChain(this.options.providers, routed).find((name) => this.resilience.isAvailable(name)) ?? routed;
    const provider = this.providers.get(providerName);
    const artifactId = uuidv7();
    const { expiresAt, jobId } = this.expiryOf(input.temporary);
    const storageKey = this.keyFor(Boolean(input.temporary), { tenant, artifactType: input.artifactType, boardId, artifactId, variant });
    const artifact = await this.registry.createPending({
      id: artifactId,
      tenant,
      boardId,
      artifactType: input.artifactType,
      variant,
      storageKey,
      provider: providerName,
      contentType: essence,
      size: input.size,
      createdBy: input.createdBy ?? null,
      jobId,
      metadata: input.metadata ?? null,
      expiresAt,
    });
    try {
      const request = await this.instrumentation.track(
        { operation: 'presign_upload', provider: providerName, artifactId },
        () =>
          this.guarded(providerName, 'presign', () =>
            provider.presignUpload(storageKey, {
              contentType: essence,
              maxSize: input.size,
              expiresIn: input.expiresIn ?? this.options.signedUrls.expiresInSeconds,
            }),
          ),
      );
      return { ...request, artifactId, artifact };
    } catch (error) {
      await this.registry.removePending(artifactId);
      throw error;
    }
  }

  /**
   * Finishes a direct upload: checks the stored object against what was declared (size, and
   * the content inspectors on its bytes), computes its SHA-256 by streaming it, and marks the
   * artifact ready. Bytes that are refused (size, type, inspectors, scanners) end the upload:
   * the record, then the object, are removed. A backend failing on the way leaves it pending,
   * to be completed again. Concurrent completions of one upload all answer the ready record.
   */
  async completeUpload(artifactId: string, scope: { tenant?: string } = {}): Promise<StoredArtifact> {
    const artifact = await this.registry.findById(artifactId);
    if (!artifact || (scope.tenant !== undefined && artifact.tenant !== scope.tenant)) {
      throw new ObjectNotFoundError(`upload ${String(artifactId).slice(0, 64)}`);
    }
    if (artifact.status === 'ready') return artifact;
    if (artifact.status !== 'pending') throw new ObjectNotFoundError(`upload ${artifactId}`);
    const provider = this.providers.get(artifact.provider);
    return this.instrumentation.track(
      { operation: 'complete_upload', provider: artifact.provider, artifactId, artifactType: artifact.artifactType },
      async () => {
        let info;
        try {
          info = await this.guarded(artifact.provider, 'head', () => provider.head(artifact.storageKey));
        } catch (error) {
          if (error instanceof ObjectNotFoundError) {
            throw new ObjectNotFoundError(`uploaded bytes of ${artifactId} (send them to the upload URL first)`);
          }
          throw error;
        }
        const limit = this.maxSizeFor(artifact.artifactType);
        let scanning = false;
        try {
          if (info.size > limit) throw new PayloadTooLargeError(limit);
          if (artifact.size !== null && info.size !== artifact.size) {
            throw new ContentMismatchError(`Uploaded ${info.size} bytes, declared ${artifact.size}`);
          }
          const context: InspectionContext = {
            artifactType: artifact.artifactType,
            contentType: artifact.contentType,
            contentTypeParams: {},
            contentLength: info.size,
          };
          const { body } = await this.guarded(artifact.provider, 'read', (signal) => provider.get(artifact.storageKey, { signal }));
          const inspected = await this.inspect(body, context);
          const meter = new MeteredStream({ maxBytes: limit, expectedLength: info.size });
          await pipeline(inspected, meter, async function* (source) {
            for await (const _chunk of source); // drain: only the meter's count and hash matter
          });
          scanning = true;
          await this.runScanners({
            ...context,
            artifactId,
            provider: artifact.provider,
            storageKey: artifact.storageKey,
            size: meter.bytesSeen,
            sha256: meter.sha256,
          });
          return await this.registry.markReady(artifactId, { size: meter.bytesSeen, sha256: meter.sha256 });
        } catch (error) {
          // Another completion of the same upload may have won; then its answer is this one's.
          if (error instanceof ArtifactNotReady) return this.completedElsewhere(artifactId);
          // Only a verdict on the bytes ends the upload: a refusal by the checks, or by a scanner
          // (anything it throws but a transient failure). A backend that failed on the way leaves
          // the upload pending, so that the client can call complete again.
          if (rejectsUploadedBytes(error) || (scanning && !isTransient(error))) await this.discardUpload(artifact);
          throw error;
        }
      },
      (ready) => ready.size ?? undefined,
    );
  }

  /** The answer to a completion that lost to a concurrent one: the record that one made ready. */
  private async completedElsewhere(artifactId: string): Promise<StoredArtifact> {
    const current = await this.registry.findById(artifactId);
    if (current?.status === 'ready') return current;
    throw new ObjectNotFoundError(`upload ${artifactId}`);
  }

  /**
   * Ends a direct upload whose bytes were refused. The pending record goes first, and only the
   * call that removed it deletes the object: a concurrent completion that made the record ready
   * keeps its bytes.
   */
  private async discardUpload(artifact: StoredArtifact): Promise<void> {
    let removed = false;
    try {
      removed = await this.registry.removePending(artifact.id);
    } catch (error) {
      this.logger.warn('could not remove the pending record of a refused upload; the sweeper will', { artifactId: artifact.id, error: String(error) });
      return;
    }
    if (removed) await this.discardObject(artifact.provider, artifact.storageKey, artifact.id);
  }

  /**
   * Deletes an artifact: the record is marked deleted first (readers stop finding it), then the
   * bytes go. Idempotent: deleting a deleted artifact succeeds.
   */
  async deleteArtifact(id: string, scope: { tenant?: string } = {}): Promise<void> {
    const artifact = await this.registry.findById(id);
    if (!artifact || (scope.tenant !== undefined && artifact.tenant !== scope.tenant)) {
      throw new ObjectNotFoundError(`artifact ${String(id).slice(0, 64)}`);
    }
    if (artifact.status === 'deleted') return;
    await this.instrumentation.track({ operation: 'delete', provider: artifact.provider, artifactId: id }, async () => {
      await this.registry.markDeleted(id);
      try {
        const provider = this.providers.get(artifact.provider);
        await this.guarded(artifact.provider, 'delete', () => provider.delete(artifact.storageKey));
      } catch (error) {
        this.logger.warn('bytes of a deleted artifact remain; the sweeper will retry', { artifactId: id, provider: artifact.provider, error: String(error) });
      }
    });
  }

  async listArtifacts(query: ListArtifactsQuery) {
    const tenant = query.tenant ?? DEFAULT_TENANT;
    assertIdentifier(tenant, 'tenant');
    if (query.boardId != null) assertIdentifier(query.boardId, 'board id');
    // A filter is compared, never stored: types stored before the 64-character bound still match.
    if (query.artifactType !== undefined) assertIdentifier(query.artifactType, 'artifact type', 128);
    if (query.cursor !== undefined && !/^[A-Za-z0-9_-]{1,64}$/.test(query.cursor)) throw new InvalidArgumentError('Malformed cursor');
    return this.registry.list({ ...query, tenant });
  }

  /** Stores a temporary artifact under `temp/`, swept after its TTL (or with its job). */
  storeTemporary(input: Omit<StoreArtifactInput, 'temporary'> & { ttlHours?: number; jobId?: string }) {
    const { ttlHours, jobId, ...rest } = input;
    return this.storeArtifact({ ...rest, temporary: { ttlHours, jobId } });
  }

  /**
   * A generation job's scope: temporary artifacts stored through it carry the job id and are
   * removed by `complete()` / `fail()` (or `run(work)`), without waiting for their TTL.
   */
  jobScope(jobId: string): GenerationJobScope {
    return new GenerationJobScope(this, jobId);
  }

  /** Removes every temporary artifact a job created. Returns how many were removed. */
  async deleteJobArtifacts(jobId: string): Promise<number> {
    assertIdentifier(jobId, 'job id');
    const rows = await this.registry.findByJob(jobId);
    for (const row of rows) await this.deleteArtifact(row.id);
    return rows.length;
  }

  /** Low-level: a validated key straight to a provider (no record). For tools and migrations. */
  async putObject(providerName: string, key: string, body: BodySource, contentType: string): Promise<void> {
    assertValidKey(key);
    await this.providers.get(providerName).put(key, body, { contentType });
  }
}

function destroyBody(body: ArtifactBody | BodySource): void {
  if (body && typeof (body as Readable).destroy === 'function') (body as Readable).destroy();
}
