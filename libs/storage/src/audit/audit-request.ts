import type { Request } from 'express';
import {
  REQUEST_ARTIFACT,
  REQUEST_PRINCIPAL_ID,
  REQUEST_TARGET,
  REQUEST_TENANT,
} from '../auth/artifact-access.decorator.js';
import type { ArtifactTarget } from '../auth/artifact-authorizer.js';
import { toErrorBody } from '../http/storage-exception.filter.js';
import type { StoredArtifact } from '../registry/index.js';
import type { AuditOutcome } from './audit-event.entity.js';
import type { AuditEventInput } from './audit-log.js';
import { REQUEST_AUDIT_ARTIFACT } from './audit.decorator.js';

type AuditedRequest = Request & Record<string, unknown>;

/** 401 and 403 are refusals of the caller; everything else that fails is an error. */
export function outcomeOf(status: number): AuditOutcome {
  if (status < 400) return 'success';
  return status === 401 || status === 403 ? 'denied' : 'error';
}

/** The facts of a request the audit trail keeps, as the guard and the handler left them. */
export function requestFacts(request: Request): Pick<
  AuditEventInput,
  'principalId' | 'tenant' | 'artifactId' | 'boardId' | 'clientAddress' | 'method' | 'path'
> {
  const bag = request as AuditedRequest;
  const artifact = (bag[REQUEST_AUDIT_ARTIFACT] ?? bag[REQUEST_ARTIFACT]) as Partial<StoredArtifact> | undefined;
  const target = bag[REQUEST_TARGET] as ArtifactTarget | undefined;
  return {
    principalId: (bag[REQUEST_PRINCIPAL_ID] as string | undefined) ?? null,
    tenant: (bag[REQUEST_TENANT] as string | undefined) ?? null,
    artifactId: artifact?.id ?? null,
    boardId: artifact?.boardId ?? target?.boardId ?? null,
    // request.ip honours Express's `trust proxy` setting; the socket is the fallback.
    clientAddress: request.ip ?? request.socket?.remoteAddress ?? null,
    method: request.method,
    path: (request.originalUrl ?? request.url ?? '').split('?')[0],
  };
}

/** The status, outcome and code of a request that failed with `error`. */
export function failureFacts(error: unknown): Pick<AuditEventInput, 'statusCode' | 'errorCode' | 'outcome'> {
  const body = toErrorBody(error);
  return { statusCode: body.statusCode, errorCode: body.code, outcome: outcomeOf(body.statusCode) };
}
