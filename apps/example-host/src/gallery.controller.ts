import { pipeline } from 'node:stream/promises';
import { Controller, Get, Post, Query, Req, Res, UseGuards } from '@nestjs/common';
import type { Request, Response } from 'express';
import {
  ArtifactAccess,
  ArtifactAccessGuard,
  CurrentArtifact,
  PrincipalId,
  RequestTenant,
  StorageService,
  applyContentHeaders,
  declaredLength,
  requestBody,
  type StoredArtifact,
} from '@app/storage';

/** A host app's own routes, storing and serving images through StorageService. */
@Controller('gallery')
@UseGuards(ArtifactAccessGuard)
export class GalleryController {
  constructor(private readonly storage: StorageService) {}

  @Post()
  @ArtifactAccess('write', { board: { from: 'query', name: 'board' } })
  async upload(
    @Req() request: Request,
    @RequestTenant() tenant: string,
    @PrincipalId() user: string,
    @Query('board') board: string,
  ) {
    const artifact = await this.storage.storeArtifact({
      body: requestBody(request), // streamed: never buffered
      contentLength: declaredLength(request),
      contentType: request.headers['content-type'] ?? '',
      artifactType: 'image',
      tenant,
      boardId: board,
      createdBy: user,
    });
    return { id: artifact.id, size: artifact.size, sha256: artifact.sha256 };
  }

  @Get(':id')
  @ArtifactAccess('read')
  async show(@CurrentArtifact() artifact: StoredArtifact, @Res() response: Response) {
    const opened = await this.storage.openArtifact(artifact.id);
    applyContentHeaders(response, { contentType: artifact.contentType, contentLength: opened.contentLength });
    await pipeline(opened.body, response);
  }
}
