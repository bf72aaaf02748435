import { Injectable, Logger, Optional, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { StorageAuditLog } from '../audit/audit-log.js';
import { failureFacts, requestFacts } from '../audit/audit-request.js';
import { AUDIT_ACTION_METADATA, type AuditActionMetadata } from '../audit/audit.decorator.js';
import { toErrorBody } from '../http/storage-exception.filter.js';
import { AccessDeniedError, InvalidArgumentError, ObjectNotFoundError, UnauthenticatedError } from '../errors/index.js';
import { ArtifactRegistry, type StoredArtifact } from '../registry/index.js';
import {
  ARTIFACT_ACCESS_METADATA,
  REQUEST_ARTIFACT,
  REQUEST_PRINCIPAL,
  REQUEST_PRINCIPAL_ID,
  REQUEST_TARGET,
  REQUEST_TENANT,
  type ArtifactAccessMetadata,
  type ArtifactAccessSource,
} from './artifact-access.decorator.js';
import { ArtifactAuthorizer, type ArtifactAction, type ArtifactTarget } from './artifact-authorizer.js';

const SOURCE_NAMES = { query: 'Query parameter', params: 'Route parameter', body: 'Body field' } as const;

type GuardedRequest = Request & Record<string, unknown>;

/**
 * Enforces @ArtifactAccess: authenticates through the ArtifactAuthorizer, loads the artifact's
 * record, hides other tenants' and unreadable artifacts (404), and refuses forbidden actions on
 * readable ones (403). Default deny: with no authorizer, every marked route refuses. Every
 * refusal is written to the audit trail when StorageAuditModule is imported.
 *
 * The protected methods are the customisation points: override them in a subclass and use
 * that with @UseGuards.
 */
@Injectable()
export class ArtifactAccessGuard implements CanActivate {
  protected readonly logger = new Logger('ArtifactAccessGuard');

  constructor(
    protected readonly reflector: Reflector,
    protected readonly registry: ArtifactRegistry,
    @Optional() protected readonly authorizer?: ArtifactAuthorizer,
    @Optional() protected readonly audit?: StorageAuditLog,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const rule = this.ruleOf(context);
    if (!rule) return true;
    const request = context.switchToHttp().getRequest<GuardedRequest>();
    try {
      await this.authorize(request, rule);
      return true;
    } catch (error) {
      await this.onDenied(context, rule, error);
      throw error;
    }
  }

  /** The route's @ArtifactAccess metadata (handler over class); undefined: not guarded. */
  protected ruleOf(context: ExecutionContext): ArtifactAccessMetadata | undefined {
    return this.reflector.getAllAndOverride<ArtifactAccessMetadata | undefined>(ARTIFACT_ACCESS_METADATA, [
      context.getHandler(),
      context.getClass(),
    ]);
  }

  /** Authenticates, then decides on the board target or the artifact. Throws to refuse. */
  protected async authorize(request: GuardedRequest, rule: ArtifactAccessMetadata): Promise<void> {
    if (!this.authorizer) {
      this.logger.error('A route is marked @ArtifactAccess but no ArtifactAuthorizer is provided: refusing');
      throw new AccessDeniedError('Access denied');
    }
    const principal = await this.authorizer.authenticate(request);
    if (principal === null || principal === undefined) throw new UnauthenticatedError('Authentication required');
    const tenant = this.authorizer.tenantOf(principal);
    if (typeof tenant !== 'string' || tenant === '') throw new UnauthenticatedError('The caller has no tenant');
    request[REQUEST_PRINCIPAL] = principal;
    request[REQUEST_TENANT] = tenant;
    request[REQUEST_PRINCIPAL_ID] = this.authorizer.idOf(principal);

    if (rule.board) {
      // The target's tenant is always the caller's: nobody creates or lists in another tenant.
      const target: ArtifactTarget = {
        tenant,
        boardId: this.read(request, rule.board) ?? null,
        artifactType: rule.type ? this.read(request, rule.type) : undefined,
      };
      request[REQUEST_TARGET] = target;
      await this.decideTarget(principal, rule.action, target);
      return;
    }
    const id = request.params?.[rule.param ?? 'id'];
    const artifact = typeof id === 'string' ? await this.loadArtifact(id) : null;
    // Another tenant's artifact is indistinguishable from a missing one, whatever the token claims.
    if (!artifact || artifact.status === 'deleted' || artifact.tenant !== tenant) {
      throw new ObjectNotFoundError('artifact');
    }
    await this.decideArtifact(principal, rule.action, artifact);
    request[REQUEST_ARTIFACT] = artifact;
  }

  protected loadArtifact(id: string): Promise<StoredArtifact | null> {
    return this.registry.findById(id);
  }

  /**
   * A board or type named by the request. Absent (or empty) means none; any other shape (an
   * array from `?boardId=a&boardId=b`, an object, a number) is refused rather than read as
   * "no board", which would silently widen the target to global artifacts.
   */
  protected read(request: Request, where: ArtifactAccessSource): string | undefined {
    const source = (request as unknown as Record<string, unknown>)[where.from];
    if (where.from === 'body' && (typeof source !== 'object' || source === null || Array.isArray(source))) {
      throw new InvalidArgumentError('The request body must be a JSON object (Content-Type: application/json)');
    }
    const fields = source as Record<string, unknown> | undefined;
    const value = fields && Object.hasOwn(fields, where.name) ? fields[where.name] : undefined;
    if (value === undefined || value === null || value === '') {
      if (where.required) throw new InvalidArgumentError(`${SOURCE_NAMES[where.from]} "${where.name}" is required`);
      return undefined;
    }
    if (typeof value !== 'string') throw new InvalidArgumentError(`"${where.name}" must be a single string`);
    return value;
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

  /**
   * Called with every refusal before it is thrown: records it in the audit trail (under the
   * route's @AuditAction name, or `artifact.<action>` / `board.<action>`), with the artifact id
   * the caller asked for. Never throws: a failed audit write must not turn a 404 into a 500.
   */
  protected async onDenied(context: ExecutionContext, rule: ArtifactAccessMetadata, error: unknown): Promise<void> {
    if (!this.audit) return;
    const request = context.switchToHttp().getRequest<GuardedRequest>();
    const named = this.reflector.getAllAndOverride<AuditActionMetadata | undefined>(AUDIT_ACTION_METADATA, [
      context.getHandler(),
      context.getClass(),
    ]);
    const facts = requestFacts(request);
    const requested = rule.board ? undefined : request.params?.[rule.param ?? 'id'];
    try {
      await this.audit.record({
        action: named?.action ?? `${rule.board ? 'board' : 'artifact'}.${rule.action}`,
        ...facts,
        artifactId: facts.artifactId ?? (typeof requested === 'string' && /^[A-Za-z0-9-]{1,36}$/.test(requested) ? requested : null),
        ...failureFacts(error),
        // A refusal is a denial whatever its status (a hidden artifact is a 404); only a fault is an error.
        outcome: toErrorBody(error).statusCode >= 500 ? 'error' : 'denied',
      });
    } catch (auditError) {
      this.logger.warn({ msg: 'could not write an audit event for a refusal', error: String(auditError) });
    }
  }
}
