import { SetMetadata, createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { ArtifactAction } from './artifact-authorizer.js';

export const ARTIFACT_ACCESS_METADATA = 'boards-storage:artifact-access';

export interface ArtifactAccessOptions {
  /** Route parameter holding the artifact id. Default `id`. */
  param?: string;
  /**
   * For routes without an artifact (create, list): where the board id is read from, e.g.
   * `{ from: 'query', name: 'boardId' }`. A missing board id means a global artifact.
   */
  board?: ArtifactAccessSource;
  /** Where the artifact type is read from, for create routes (passed to the authorizer). */
  type?: ArtifactAccessSource;
}

/**
 * A request value the guard reads. With `required`, a request without it is refused with a 400
 * before any access decision (otherwise a missing board reads as a global target, and the caller
 * may get a 403 for what is a malformed request). With `from: 'body'`, a body that is not a JSON
 * object is always a 400.
 */
export interface ArtifactAccessSource {
  from: 'query' | 'params' | 'body';
  name: string;
  required?: boolean;
}

export interface ArtifactAccessMetadata extends ArtifactAccessOptions {
  action: ArtifactAction;
}

/** Protects a route with ArtifactAccessGuard for an action on an artifact (or on a board). */
export const ArtifactAccess = (action: ArtifactAction, options: ArtifactAccessOptions = {}) =>
  SetMetadata(ARTIFACT_ACCESS_METADATA, { action, ...options } satisfies ArtifactAccessMetadata);

/** Properties ArtifactAccessGuard sets on the request. */
export const REQUEST_PRINCIPAL = 'storagePrincipal';
export const REQUEST_PRINCIPAL_ID = 'storagePrincipalId';
export const REQUEST_TENANT = 'storageTenant';
export const REQUEST_ARTIFACT = 'storageArtifact';
/** The board target (create, list routes) the guard authorized. */
export const REQUEST_TARGET = 'storageTarget';

/** The caller the guard authenticated. */
export const StoragePrincipal = createParamDecorator((_data: unknown, context: ExecutionContext) => {
  return context.switchToHttp().getRequest()[REQUEST_PRINCIPAL];
});

/** The artifact record the guard loaded and authorized. */
export const CurrentArtifact = createParamDecorator((_data: unknown, context: ExecutionContext) => {
  return context.switchToHttp().getRequest()[REQUEST_ARTIFACT];
});

/** The caller's tenant, as the guard established it. */
export const RequestTenant = createParamDecorator((_data: unknown, context: ExecutionContext): string => {
  return context.switchToHttp().getRequest()[REQUEST_TENANT];
});

/** The caller's stable id (ArtifactAuthorizer.idOf). */
export const PrincipalId = createParamDecorator((_data: unknown, context: ExecutionContext): string => {
  return context.switchToHttp().getRequest()[REQUEST_PRINCIPAL_ID];
});
