import type { Request } from 'express';
import type { StoredArtifact } from '../registry/index.js';

export type ArtifactAction = 'read' | 'write' | 'delete';

/** Where a new or listed artifact would live (no record exists yet). */
export interface ArtifactTarget {
  tenant: string;
  /** Null for global artifacts (models, ...). */
  boardId: string | null;
  artifactType?: string;
}

/**
 * The host app's access policy (the design's `can_access_artifact`). ArtifactAccessGuard asks it
 * who is calling, which tenant they belong to, and whether they may act. Provide it in the
 * module that declares the guarded controllers: `{ provide: ArtifactAuthorizer, useClass: ... }`.
 * Without one, every guarded route refuses.
 */
export abstract class ArtifactAuthorizer<P = unknown> {
  /** The caller, from the request (a verified token, a session). null: unauthenticated (401). */
  abstract authenticate(request: Request): P | null | Promise<P | null>;

  /** The caller's tenant. Another tenant's artifacts answer 404, whatever else is claimed. */
  abstract tenantOf(principal: P): string;

  /** May the caller perform `action` on this existing artifact (already known to be in their tenant)? */
  abstract canAccess(principal: P, action: ArtifactAction, artifact: StoredArtifact): boolean | Promise<boolean>;

  /** May the caller perform `action` on a board (write: create artifacts in it; read: list it)? */
  abstract canAccessTarget(principal: P, action: ArtifactAction, target: ArtifactTarget): boolean | Promise<boolean>;

  /** A stable id of the caller for records and the audit trail. */
  abstract idOf(principal: P): string;
}
