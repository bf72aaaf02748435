import fresh from 'fresh';
import { pipeline } from 'node:stream/promises';
import { Controller, Delete, Get, HttpCode, Param, Post, Query, Req, Res, UseGuards } from '@nestjs/common';
import type { Request, Response } from 'express';
import {
  ArtifactAccess,
  ArtifactAccessGuard,
  AuditAction,
  CurrentArtifact,
  PrincipalId,
  RequestTenant,
  InvalidArgumentError,
  StorageService,
  applyContentHeaders,
  auditArtifact,
  declaredLength,
  parseRangeHeader,
  requestBody,
  type StoredArtifact,
} from '@app/storage';
import { absoluteUrl } from '../public-url.js';
import { artifactView } from './artifact.view.js';
import { multipartFile } from './multipart.js';

@Controller()
@UseGuards(ArtifactAccessGuard)
export class ArtifactsController {
  constructor(private readonly storage: StorageService) {}

  /** Stores the raw body (or the `file` field of a multipart form) as an artifact. */
  @Post('artifacts')
  @AuditAction('artifact.store')
  @ArtifactAccess('write', { board: { from: 'query', name: 'boardId' }, type: { from: 'query', name: 'type', required: true } })
  async create(
    @Req() request: Request,
    @Res() response: Response,
    @RequestTenant() tenant: string,
    @PrincipalId() principalId: string,
    @Query('type') type?: unknown,
    @Query('boardId') boardId?: unknown,
  ) {
    if (typeof type !== 'string' || type === '') throw new InvalidArgumentError('Query parameter "type" is required');
    if (boardId !== undefined && typeof boardId !== 'string') throw new InvalidArgumentError('Query parameter "boardId" must be a single value');
    const contentType = request.headers['content-type'] ?? '';
    const length = declaredLength(request);
    const body = requestBody(request);
    const common = {
      artifactType: type,
      tenant,
      boardId: boardId || null,
      createdBy: principalId,
    };
    let artifact: StoredArtifact;
    if (/^multipart\/form-data/i.test(contentType)) {
      const file = await multipartFile(request, body);
      artifact = await this.storage.storeArtifact({ ...common, body: file.stream, contentType: file.contentType, filename: file.filename });
    } else {
      artifact = await this.storage.storeArtifact({ ...common, body, contentType, contentLength: length });
    }
    auditArtifact(request, artifact);
    response.status(201).json(artifactView(artifact));
  }

  @Get('artifacts/:id')
  @ArtifactAccess('read')
  async get(@CurrentArtifact() artifact: StoredArtifact) {
    return artifactView(await this.storage.getArtifact(artifact.id));
  }

  /** The bytes, with Range (206), ETag and Content-Length. */
  @Get('artifacts/:id/content')
  @AuditAction('artifact.content')
  @ArtifactAccess('read')
  async content(@CurrentArtifact() found: StoredArtifact, @Req() request: Request, @Res() response: Response) {
    const artifact = await this.storage.getArtifact(found.id);
    const etag = `"${artifact.sha256}"`;
    const lastModified = artifact.createdAt.toUTCString();
    // If-None-Match (lists, weak tags, `*`), else If-Modified-Since. The origin evaluates them
    // whatever Cache-Control says (RFC 9110 13.2.1): fetch() sends `no-cache` with any
    // conditional header, which `fresh` alone would read as "never fresh".
    if (fresh({ ...request.headers, 'cache-control': undefined }, { etag, 'last-modified': lastModified })) {
      response.status(304).setHeader('ETag', etag).setHeader('Last-Modified', lastModified).end();
      return;
    }
    const range = request.headers['if-range'] && request.headers['if-range'] !== etag ? undefined : parseRangeHeader(request.headers.range);
    const opened = await this.storage.openArtifact(artifact, { range });
    applyContentHeaders(response, {
      contentType: artifact.contentType,
      contentLength: opened.contentLength,
      etag,
      lastModified: artifact.createdAt,
      range: opened.range,
    });
    await pipeline(opened.body, response);
  }

  @Get('artifacts/:id/download-url')
  @AuditAction('artifact.download_url')
  @ArtifactAccess('read')
  async downloadUrl(@CurrentArtifact() found: StoredArtifact, @Req() request: Request) {
    const artifact = await this.storage.getArtifact(found.id);
    const signed = await this.storage.getDownloadUrl(artifact);
    return { url: absoluteUrl(request, signed.url), expiresAt: signed.expiresAt.toISOString() };
  }

  @Delete('artifacts/:id')
  @HttpCode(204)
  @ArtifactAccess('delete')
  @AuditAction('artifact.delete')
  async remove(@CurrentArtifact() artifact: StoredArtifact, @RequestTenant() tenant: string) {
    await this.storage.deleteArtifact(artifact.id, { tenant });
  }

  @Get('boards/:boardId/artifacts')
  @ArtifactAccess('read', { board: { from: 'params', name: 'boardId' } })
  async list(
    @RequestTenant() tenant: string,
    @Param('boardId') boardId: string,
    @Query('type') type?: unknown,
    @Query('cursor') cursor?: unknown,
    @Query('limit') limit?: unknown,
  ) {
    for (const [name, value] of Object.entries({ type, cursor, limit })) {
      if (value !== undefined && typeof value !== 'string') throw new InvalidArgumentError(`Query parameter "${name}" must be a single value`);
    }
    // Digits only: Number() would also take ' 1', '0x10' and '1e2'.
    const size = limit === undefined ? 50 : /^\d{1,3}$/.test(limit as string) ? Number(limit) : NaN;
    if (!Number.isInteger(size) || size < 1 || size > 200) throw new InvalidArgumentError('limit must be 1-200');
    const page = await this.storage.listArtifacts({
      tenant,
      boardId,
      artifactType: (type as string | undefined) || undefined,
      cursor: (cursor as string | undefined) || undefined,
      limit: size,
    });
    return { items: page.items.map(artifactView), nextCursor: page.cursor ?? null };
  }
}
