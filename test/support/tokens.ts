import { createHmac } from 'node:crypto';

export const TEST_JWT_SECRET = 'test-secret-of-the-boards-reference-server';

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Signs an HS256 JWT by hand (so tests can also forge bad ones). */
export function signToken(
  claims: Record<string, unknown>,
  { secret = TEST_JWT_SECRET, expiresIn = 3600, header = { alg: 'HS256', typ: 'JWT' } as Record<string, unknown> } = {},
): string {
  const now = Math.floor(Date.now() / 1000);
  const payload = { iat: now, exp: now + expiresIn, ...claims };
  const unsigned = `${b64(header)}.${b64(payload)}`;
  const signature = createHmac('sha256', secret).update(unsigned).digest('base64url');
  return `${unsigned}.${signature}`;
}

export function bearer(claims: Record<string, unknown>, options?: Parameters<typeof signToken>[1]): Record<string, string> {
  return { authorization: `Bearer ${signToken(claims, options)}` };
}
