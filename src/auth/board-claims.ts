/** Claims of the reference server's bearer tokens (HS256, signed with BOARDS_JWT_SECRET). */
export interface BoardClaims {
  sub: string;
  tenant: string;
  /** Role per board id; the key `*` grants a role on every board of the tenant. */
  boards: Record<string, BoardRole>;
  /** Role on global (board-less) artifacts such as models; every tenant member may read them. */
  global?: BoardRole;
  exp?: number;
  iat?: number;
}

export type BoardRole = 'viewer' | 'editor';

const IDENTIFIER = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** Checks a verified token's payload has the claims' shape (a valid signature is not enough). */
export function asBoardClaims(payload: unknown): BoardClaims | null {
  if (!payload || typeof payload !== 'object') return null;
  const claims = payload as Record<string, unknown>;
  // The sub is recorded as the artifact's creator: no control characters, as the registry requires.
  if (typeof claims.sub !== 'string' || claims.sub.length === 0 || claims.sub.length > 255 || /[\u0000-\u001f\u007f]/.test(claims.sub)) return null;
  if (typeof claims.tenant !== 'string' || !IDENTIFIER.test(claims.tenant)) return null;
  // Required, as SECURITY.md says: a principal of no board still says so with `boards: {}`.
  const boards = claims.boards;
  if (typeof boards !== 'object' || boards === null || Array.isArray(boards)) return null;
  for (const role of Object.values(boards)) if (role !== 'viewer' && role !== 'editor') return null;
  if (claims.global !== undefined && claims.global !== 'viewer' && claims.global !== 'editor') return null;
  return { ...(claims as unknown as BoardClaims), boards: boards as Record<string, BoardRole> };
}
