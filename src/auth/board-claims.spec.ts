import { describe, expect, it } from 'vitest';
import { asBoardClaims } from './board-claims.js';

describe('board claims', () => {
  it('take sub, tenant and boards, with an optional global role', () => {
    expect(asBoardClaims({ sub: 'alice', tenant: 't1', boards: { b1: 'editor' } })).toMatchObject({ sub: 'alice', tenant: 't1', boards: { b1: 'editor' } });
    expect(asBoardClaims({ sub: 'alice', tenant: 't1', boards: {}, global: 'viewer' })).toMatchObject({ boards: {}, global: 'viewer' });
  });

  it('refuse a token without its boards claim, or with one of another shape', () => {
    for (const boards of [undefined, null, [], 'b1', { b1: 'owner' }]) {
      expect(asBoardClaims({ sub: 'alice', tenant: 't1', boards, global: 'viewer' }), JSON.stringify(boards)).toBeNull();
    }
  });

  it('refuse a sub with control characters (it is recorded as the creator)', () => {
    for (const sub of ['a\u0000b', 'line\nbreak', 'del\u007f']) {
      expect(asBoardClaims({ sub, tenant: 't1', boards: {} }), JSON.stringify(sub)).toBeNull();
    }
    expect(asBoardClaims({ sub: 'ünïcode user', tenant: 't1', boards: {} })).not.toBeNull();
  });
});
