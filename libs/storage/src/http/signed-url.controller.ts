import { pipeline } from 'node:stream/promises';
import { Controller, Get, Head, Inject, Put, Req, Res, UseFilters } from '@nestjs/common';
import type { Request, Response } from 'express';
import {
  ContentTypeNotAllowedError,
  InvalidArgumentError,
  ObjectNotFoundError,
  PayloadTooLargeError,
} from '../errors/index.js';
import { assertValidKey, isServiceKey } from '../keys/index.js';
import { AuditAction } from '../audit/audit.decorator.js';
import { SelfServedProvider } from '../providers/self-served.provider.js';
import { StorageProviderRegistry } from '../providers/storage-provider.registry.js';
import { ArtifactRegistry, type StoredArtifact } from '../registry/index.js';
import { parseContentType } from '../service/content-type.js';
import { StorageInstrumentation, type OperationEvent } from '../service/instrumentation.js';
import { MeteredStream, parseRangeHeader } from '../streams/index.js';
import { applyContentHeaders } from './content-headers.js';
import { declaredLength, requestBody } from './request-body.js';
import { StorageExceptionFilter } from './storage-exception.filter.js';

/**
 * Serves presigned URLs of self-served providers (local, memory): GET/HEAD download and PUT
 * upload, each checked against its HMAC signature. Mounted at the module's `route` option.
 * Once a request is verified, its storage operation is reported to StorageInstrumentation like
 * StorageService's own (logs, metrics): a GET is a `read`, a HEAD a `head`, a PUT an `upload`.
 */
@Controller()
@UseFilters(StorageExceptionFilter)
export class SignedUrlController {
  constructor(
    @Inject(StorageProviderRegistry) private readonly providers: StorageProviderRegistry,
    @Inject(ArtifactRegistry) private readonly registry: ArtifactRegistry,
    @Inject(StorageInstrumentation) private readonly instrumentation: StorageInstrumentation,
  ) {}

  /**
   * A signed URL outlives what it was issued for: the artifact may have been deleted, the upload
   * completed or abandoned. For a key StorageService made, the record must still allow the
   * request: a ready artifact to read, a pending upload to send bytes to. (Keys of other shapes
   * were presigned through the provider directly; their signature is all there is to check.)
   * Returns the record, if there is one.
   */
  private async assertRecordAllows(providerName: string, key: string, status: 'ready' | 'pending'): Promise<StoredArtifact | null> {
    if (!isServiceKey(key)) return null;
    const record = await this.registry.findByLocation(providerName, key);
    if (record?.status !== status) throw new ObjectNotFoundError('signed URL target');
    return record;
  }

  /** The operation event of a verified request (the artifact's id and type when a record names the key). */
  private event(operation: OperationEvent['operation'], provider: string, record: StoredArtifact | null): Omit<OperationEvent, 'outcome' | 'durationMs'> {
    const event: Omit<OperationEvent, 'outcome' | 'durationMs'> = { operation, provider };
    if (record) {
      event.artifactId = record.id;
      event.artifactType = record.artifactType;
    }
    return event;
  }

  private target(request: Request) {
    const providerName = String(request.params.provider);
    const segments = request.params.key as unknown;
    const key = Array.isArray(segments) ? segments.join('/') : String(segments ?? '');
    assertValidKey(key);
    if (!this.providers.has(providerName)) throw new ObjectNotFoundError('signed URL target');
    const provider = this.providers.get(providerName);
    if (!(provider instanceof SelfServedProvider)) throw new ObjectNotFoundError('signed URL target');
    return { provider, providerName, key };
  }

  // Declared before the GET route: Express hands HEAD requests to the first GET route that
  // matches, so a HEAD route declared after it is never reached.
  @Head(':provider/*key')
  @AuditAction('signed_url.head', { locate: true })
  async head(@Req() request: Request, @Res() response: Response): Promise<void> {
    await this.serve(request, response, true);
  }

  @Get(':provider/*key')
  @AuditAction('signed_url.download', { locate: true })
  async download(@Req() request: Request, @Res() response: Response): Promise<void> {
    await this.serve(request, response, false);
  }

  private async serve(request: Request, response: Response, headOnly: boolean): Promise<void> {
    const { provider, providerName, key } = this.target(request);
    const claims = provider.signer.verify({ method: 'GET', provider: providerName, key, query: request.query });
    const record = await this.assertRecordAllows(providerName, key, 'ready');
    const range = parseRangeHeader(request.headers.range);
    if (headOnly) {
      const info = await this.instrumentation.track(this.event('head', providerName, record), () => provider.head(key));
      applyContentHeaders(response, { ...info, contentLength: info.size, filename: claims.filename });
      response.end();
      return;
    }
    // Counted when the provider opens the bytes, as StorageService's reads are (a client that
    // goes away early still counts the bytes opened).
    const { body, info, range: resolved } = await this.instrumentation.track(
      this.event('read', providerName, record),
      () => provider.get(key, { range }),
      (opened) => (opened.range ? opened.range.end - opened.range.start + 1 : opened.info.size),
    );
    applyContentHeaders(response, {
      ...info,
      contentLength: resolved ? resolved.end - resolved.start + 1 : info.size,
      range: resolved,
      filename: claims.filename,
    });
    await pipeline(body, response);
  }

  @Put(':provider/*key')
  @AuditAction('signed_url.upload', { locate: true })
  async upload(@Req() request: Request, @Res() response: Response): Promise<void> {
    const { provider, providerName, key } = this.target(request);
    const claims = provider.signer.verify({ method: 'PUT', provider: providerName, key, query: request.query });
    const record = await this.assertRecordAllows(providerName, key, 'pending');
    const declared = parseContentType(request.headers['content-type']);
    if (!claims.contentType || declared.essence !== claims.contentType.toLowerCase()) {
      throw new ContentTypeNotAllowedError(`This upload URL accepts only ${claims.contentType ?? 'no'} content`);
    }
    const length = declaredLength(request);
    if (claims.maxSize !== undefined && length !== undefined && length > claims.maxSize) {
      throw new PayloadTooLargeError(claims.maxSize);
    }
    if (length === undefined && request.headers['transfer-encoding'] === undefined) {
      throw new InvalidArgumentError('An upload needs a Content-Length or a chunked body');
    }
    // The transfer is the operation (as for `store`): refusals of the request's headers above are not.
    const result = await this.instrumentation.track(
      this.event('upload', providerName, record),
      async () => {
        const meter = new MeteredStream({ maxBytes: claims.maxSize, expectedLength: length });
        const body = requestBody(request);
        const feeding = pipeline(body, meter).catch((error: unknown) => error);
        let written;
        try {
          written = await provider.put(key, meter, { contentType: declared.essence, contentLength: length, ifNotExists: true });
        } catch (error) {
          meter.destroy();
          const fed = await feeding;
          throw fed instanceof Error && 'code' in fed ? fed : error;
        }
        const fed = await feeding;
        if (fed) {
          await provider.delete(key);
          throw fed;
        }
        return written;
      },
      (written) => written.size,
    );
    if (result.etag) response.setHeader('ETag', result.etag);
    response.status(200).json({ key, size: result.size });
  }
}
