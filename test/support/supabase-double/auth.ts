import type { IncomingMessage } from 'node:http';
import { JwtService } from '@nestjs/jwt';
import { errors } from './errors.js';

export interface Claims {
  role?: string;
  sub?: string;
  url?: string;
  owner?: string;
  upsert?: boolean;
  exp?: number;
  iat?: number;
}

const BEARER = /^Bearer\s+/i;

/**
 * The project's JWT secret: it verifies the API keys (service_role, anon) sent as Bearer tokens
 * and signs the tokens of signed URLs, as the real server does with the tenant's secret.
 */
export class DoubleAuth {
  private readonly jwt: JwtService;

  constructor(readonly secret: string) {
    this.jwt = new JwtService({ secret, signOptions: { algorithm: 'HS256' }, verifyOptions: { algorithms: ['HS256'] } });
  }

  /** An API key as Supabase issues them: a long-lived JWT naming a role. */
  apiKey(role: 'service_role' | 'anon'): string {
    return this.jwt.sign({ role, iss: 'supabase-double' }, { expiresIn: 10 * 365 * 24 * 3600 });
  }

  sign(claims: Claims, expiresInSeconds: number): string {
    return this.jwt.sign({ ...claims }, { expiresIn: expiresInSeconds });
  }

  /** Verifies a token, throwing with jsonwebtoken's own message ("jwt expired", "invalid signature"). */
  verify(token: string): Claims {
    return this.jwt.verify<Claims & object>(token);
  }

  /**
   * The checks of an authenticated route: the header is required by the route schema (a 400
   * validation error), then the JWT must verify (400 with statusCode "403" AccessDenied).
   */
  authenticate(req: IncomingMessage): Claims {
    const header = req.headers.authorization;
    if (header === undefined) throw errors.missingHeader('authorization');
    try {
      return this.verify(header.replace(BEARER, ''));
    } catch (error) {
      throw errors.accessDenied((error as Error).message);
    }
  }
}
