import { Controller, Get, Query, UseGuards } from '@nestjs/common';
import {
  ArtifactAccess,
  ArtifactAccessGuard,
  AuditAction,
  CurrentArtifact,
  InvalidArgumentError,
  StorageAuditLog,
  type StorageAuditEvent,
  type StoredArtifact,
} from '@app/storage';

function eventView(event: StorageAuditEvent) {
  return {
    id: event.id,
    occurredAt: event.occurredAt.toISOString(),
    action: event.action,
    outcome: event.outcome,
    statusCode: event.statusCode,
    errorCode: event.errorCode,
    principalId: event.principalId,
    artifactId: event.artifactId,
    boardId: event.boardId,
    clientAddress: event.clientAddress,
    method: event.method,
    path: event.path,
  };
}

/**
 * An artifact's audit trail, for those who may change it (editors; viewers get 403). Only
 * events of the artifact's own tenant are listed: another tenant's probes stay with operators.
 */
@Controller('artifacts')
@UseGuards(ArtifactAccessGuard)
export class ArtifactAuditController {
  constructor(private readonly audit: StorageAuditLog) {}

  @Get(':id/audit')
  @ArtifactAccess('write')
  @AuditAction('artifact.audit')
  async list(
    @CurrentArtifact() artifact: StoredArtifact,
    @Query('limit') limit?: unknown,
    @Query('cursor') cursor?: unknown,
  ) {
    for (const [name, value] of Object.entries({ limit, cursor })) {
      if (value !== undefined && typeof value !== 'string') throw new InvalidArgumentError(`Query parameter "${name}" must be a single value`);
    }
    const size = limit === undefined ? 100 : /^\d{1,3}$/.test(limit as string) ? Number(limit) : NaN;
    if (!Number.isInteger(size) || size < 1 || size > 500) throw new InvalidArgumentError('limit must be 1-500');
    const page = await this.audit.findByArtifact(artifact.id, {
      tenant: artifact.tenant,
      limit: size,
      cursor: (cursor as string | undefined) || undefined,
    });
    return { items: page.items.map(eventView), nextCursor: page.cursor ?? null };
  }
}
