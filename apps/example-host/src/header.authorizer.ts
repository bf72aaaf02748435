import { Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { ArtifactAuthorizer, type ArtifactAction, type ArtifactTarget, type StoredArtifact } from '@app/storage';

interface DemoUser {
  id: string;
  tenant: string;
  /** Boards this user may edit. */
  boards: string[];
}

/**
 * The host app's access policy. A real app would read its session or a verified token here;
 * this example trusts an `x-demo-user` header of the form `user@tenant:board1,board2`.
 */
@Injectable()
export class HeaderAuthorizer extends ArtifactAuthorizer<DemoUser> {
  authenticate(request: Request): DemoUser | null {
    const header = request.headers['x-demo-user'];
    const match = typeof header === 'string' ? /^([\w-]+)@([\w-]+):([\w,-]*)$/.exec(header) : null;
    return match ? { id: match[1], tenant: match[2], boards: match[3].split(',').filter(Boolean) } : null;
  }

  tenantOf(user: DemoUser): string {
    return user.tenant;
  }

  idOf(user: DemoUser): string {
    return user.id;
  }

  canAccess(user: DemoUser, _action: ArtifactAction, artifact: StoredArtifact): boolean {
    return artifact.boardId !== null && user.boards.includes(artifact.boardId);
  }

  canAccessTarget(user: DemoUser, _action: ArtifactAction, target: ArtifactTarget): boolean {
    return target.boardId !== null && user.boards.includes(target.boardId);
  }
}
