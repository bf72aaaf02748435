import { SetMetadata } from '@nestjs/common';

export const AUDIT_ACTION_METADATA = 'boards-storage:audit-action';

export interface AuditActionOptions {
  /**
   * Find the artifact from the route's `:provider` and `*key` parameters (signed-URL routes,
   * whose callers name a storage key, not an artifact).
   */
  locate?: boolean;
}

export interface AuditActionMetadata extends AuditActionOptions {
  action: string;
}

/**
 * Records every request to this route in the audit trail as `action` (success, denial or
 * error), through StorageAuditInterceptor; denials by ArtifactAccessGuard are recorded by
 * the guard itself under the same name.
 */
export const AuditAction = (action: string, options: AuditActionOptions = {}) =>
  SetMetadata(AUDIT_ACTION_METADATA, { action, ...options } satisfies AuditActionMetadata);

/** Request property naming the artifact a handler created (the route had no `:id`). */
export const REQUEST_AUDIT_ARTIFACT = 'storageAuditArtifact';

/** Tells the audit trail which artifact this request created or touched. */
export function auditArtifact(request: object, artifact: { id: string; boardId?: string | null } | string): void {
  (request as Record<string, unknown>)[REQUEST_AUDIT_ARTIFACT] = typeof artifact === 'string' ? { id: artifact } : artifact;
}
