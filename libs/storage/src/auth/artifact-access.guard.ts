import { Injectable, Logger, Optional, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { AccessDeniedError, ObjectNotFoundError, UnauthenticatedError } from '../errors/index.js';
import { ArtifactRegistry, type StoredArtifact } from '../registry/index.js';
import {
  ARTIFACT_ACCESS_METADATA,
  REQUEST_ARTIFACT,
  REQUEST_PRINCIPAL,
  REQUEST_PRINCIPAL_ID,
  REQUEST_TENANT,
  type ArtifactAccessMetadata,
} from './artifact-access.decorator.js';
import { ArtifactAuthorizer, type ArtifactAction, type ArtifactTarget } from './artifact-authorizer.js';

/**
 * Enforces @ArtifactAccess: authenticates through the ArtifactAuthorizer, loads the artifact's
 * record, hides other tenants' and unreadable artifacts (404), and refuses forbidden actions on
 * readable ones (403). Default deny: with no authorizer, every marked route refuses.
 */
@Injectable()
export class ArtifactAccessGuard implements CanActivate {
  private readonly logger = new Logger('ArtifactAccessGuard');

  constructor(
    protected readonly reflector: Reflector,
    protected readonly registry: ArtifactRegistry,
    @Optional() protected readonly authorizer?: ArtifactAuthorizer,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const rule = this.reflector.getAllAndOverride<ArtifactAccessMetadata | undefined>(ARTIFACT_ACCESS_METADATA, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (!rule) return true;
    if (!this.authorizer) {
      this.logger.error('A route is marked @ArtifactAccess but no ArtifactAuthorizer is provided: refusing');
      throw new AccessDeniedError('Access denied');
    }
    const request = context.switchToHttp().getRequest<Request & Record<string, unknown>>();
    const principal = await this.authorizer.authenticate(request);
    if (principal === null || principal === undefined) throw new UnauthenticatedError('Authentication required');
    const tenant = this.authorizer.tenantOf(principal);
    request[REQUEST_PRINCIPAL] = principal;
    request[REQUEST_TENANT] = tenant;
    request[REQUEST_PRINCIPAL_ID] = this.authorizer.idOf(principal);

    if (rule.board) {
      const target: ArtifactTarget = {
        tenant,
        boardId: this.read(request, rule.board) ?? null,
        artifactType: rule.type ? this.read(request, rule.type) : undefined,
      };
      await this.decideTarget(principal, rule.action, target);
      return true;
    }
    const id = request.params?.[rule.param ?? 'id'];
    const artifact = typeof id === 'string' ? await this.registry.findById(id) : null;
    if (!artifact || artifact.status === 'deleted' || artifact.tenant !== tenant) {
      throw new ObjectNotFoundError('artifact');
    }
    await this.decideArtifact(principal, rule.action, artifact);
    request[REQUEST_ARTIFACT] = artifact;
    return true;
  }

  protected read(request: Request, where: { from: 'query' | 'params' | 'body'; name: string }): string | undefined {
    const source = (request as unknown as Record<string, Record<string, unknown> | undefined>)[where.from];
    const value = source?.[where.name];
    return typeof value === 'string' && value !== '' ? value : undefined;
  }

  /** Unreadable means invisible (404); readable but not allowed means 403. */
  protected async decideArtifact(principal: unknown, action: ArtifactAction, artifact: StoredArtifact): Promise<void> {
    const authorizer = this.authorizer!;
    if (!(await authorizer.canAccess(principal, 'read', artifact))) throw new ObjectNotFoundError('artifact');
    if (action !== 'read' && !(await authorizer.canAccess(principal, action, artifact))) {
      throw new AccessDeniedError(`Not allowed to ${action} this artifact`);
    }
  }

  protected async decideTarget(principal: unknown, action: ArtifactAction, target: ArtifactTarget): Promise<void> {
    const authorizer = this.authorizer!;
    if (!(await authorizer.canAccessTarget(principal, 'read', target))) throw new ObjectNotFoundError('board');
    if (action !== 'read' && !(await authorizer.canAccessTarget(principal, action, target))) {
      throw new AccessDeniedError(`Not allowed to ${action} in this board`);
    }
  }
}
