import { Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import type { Request } from 'express';
import {
  ArtifactAuthorizer,
  UnauthenticatedError,
  type ArtifactAction,
  type ArtifactTarget,
  type StoredArtifact,
} from '@app/storage';
import { asBoardClaims, type BoardClaims, type BoardRole } from './board-claims.js';

function allows(role: BoardRole | undefined, action: ArtifactAction): boolean {
  if (!role) return false;
  return action === 'read' || role === 'editor';
}

/**
 * The reference server's access policy, from the bearer token's claims: a board's viewers read,
 * its editors also write and delete; global artifacts are read by the whole tenant and written
 * by `global: editor`.
 */
@Injectable()
export class JwtArtifactAuthorizer extends ArtifactAuthorizer<BoardClaims> {
  constructor(private readonly jwt: JwtService) {
    super();
  }

  async authenticate(request: Request): Promise<BoardClaims | null> {
    const header = request.headers.authorization;
    if (!header) return null;
    // The scheme name is case-insensitive (RFC 9110 11.1); one or more spaces before the token.
    const match = /^Bearer +([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)$/i.exec(header);
    if (!match) throw new UnauthenticatedError('Malformed Authorization header');
    let payload: unknown;
    try {
      payload = await this.jwt.verifyAsync(match[1], { algorithms: ['HS256'] });
    } catch {
      throw new UnauthenticatedError('Invalid or expired token');
    }
    const claims = asBoardClaims(payload);
    if (!claims) throw new UnauthenticatedError('Token lacks the sub, tenant and boards claims');
    return claims;
  }

  tenantOf(claims: BoardClaims): string {
    return claims.tenant;
  }

  idOf(claims: BoardClaims): string {
    return claims.sub;
  }

  private roleOn(claims: BoardClaims, boardId: string | null): BoardRole | undefined {
    if (boardId === null) return claims.global ?? 'viewer';
    return Object.hasOwn(claims.boards, boardId) ? claims.boards[boardId] : claims.boards['*'];
  }

  canAccess(claims: BoardClaims, action: ArtifactAction, artifact: StoredArtifact): boolean {
    return artifact.tenant === claims.tenant && allows(this.roleOn(claims, artifact.boardId), action);
  }

  canAccessTarget(claims: BoardClaims, action: ArtifactAction, target: ArtifactTarget): boolean {
    return target.tenant === claims.tenant && allows(this.roleOn(claims, target.boardId), action);
  }
}
