import { Body, Controller, HttpCode, Param, Post, Req, UseGuards, ValidationPipe } from '@nestjs/common';
import type { Request } from 'express';
import { IsInt, IsNotEmpty, IsOptional, IsString, Max, Min } from 'class-validator';
import {
  ArtifactAccess,
  ArtifactAccessGuard,
  AuditAction,
  CurrentArtifact,
  PrincipalId,
  RequestTenant,
  StorageService,
  auditArtifact,
  type StoredArtifact,
} from '@app/storage';
import { absoluteUrl } from '../public-url.js';
import { validationFailed } from './validation.js';
import { artifactView } from './artifact.view.js';

export class CreateUploadDto {
  @IsString() @IsNotEmpty() type!: string;
  @IsOptional() @IsString() @IsNotEmpty() boardId?: string;
  @IsString() @IsNotEmpty() contentType!: string;
  @IsInt() @Min(0) @Max(Number.MAX_SAFE_INTEGER) size!: number;
}

/** Direct uploads: the client sends the bytes to a presigned URL, then completes. */
@Controller('uploads')
@UseGuards(ArtifactAccessGuard)
export class UploadsController {
  constructor(private readonly storage: StorageService) {}

  @Post()
  @AuditAction('upload.create')
  @ArtifactAccess('write', { board: { from: 'body', name: 'boardId' }, type: { from: 'body', name: 'type', required: true } })
  async create(
    @Body(new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true, exceptionFactory: validationFailed }))
    body: CreateUploadDto,
    @Req() request: Request,
    @RequestTenant() tenant: string,
    @PrincipalId() principalId: string,
  ) {
    const upload = await this.storage.createUpload({
      artifactType: body.type,
      boardId: body.boardId ?? null,
      contentType: body.contentType,
      size: body.size,
      tenant,
      createdBy: principalId,
    });
    auditArtifact(request, upload.artifact);
    return {
      artifactId: upload.artifactId,
      url: absoluteUrl(request, upload.url),
      method: upload.method,
      headers: upload.headers,
      ...(upload.fields ? { fields: upload.fields } : {}),
      expiresAt: upload.expiresAt.toISOString(),
    };
  }

  @Post(':artifactId/complete')
  @HttpCode(200)
  @AuditAction('upload.complete')
  @ArtifactAccess('write', { param: 'artifactId' })
  async complete(@CurrentArtifact() artifact: StoredArtifact, @RequestTenant() tenant: string) {
    return artifactView(await this.storage.completeUpload(artifact.id, { tenant }));
  }
}
