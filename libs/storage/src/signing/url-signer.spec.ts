import { describe, expect, it } from 'vitest';
import { InvalidSignatureError } from '../errors/index.js';
import { SIGNED_QUERY, UrlSigner } from './url-signer.js';

const signer = new UrlSigner({ keys: { k1: 'a-signing-secret-of-some-length' }, activeKeyId: 'k1' });
const expires = Math.floor(Date.now() / 1000) + 600;
const query = () => Object.fromEntries(signer.sign({ method: 'GET', provider: 'local', key: 't/a/b', expires }).entries());
const verify = (q: Record<string, unknown>) => signer.verify({ method: 'GET', provider: 'local', key: 't/a/b', query: q });

describe('UrlSigner', () => {
  it('verifies the URL it signed', () => {
    expect(verify(query())).toMatchObject({ method: 'GET', key: 't/a/b', expires });
  });

  it('takes one spelling of a URL only: no zero-padded numbers, no padded or re-encoded signature', () => {
    const base = query();
    const signature = base[SIGNED_QUERY.signature];
    const variants: Record<string, Record<string, string>> = {
      'zero-padded expiry': { ...base, [SIGNED_QUERY.expires]: `0${base[SIGNED_QUERY.expires]}` },
      'padding after the signature': { ...base, [SIGNED_QUERY.signature]: `${signature}=` },
      'signature in base64 with + and /': { ...base, [SIGNED_QUERY.signature]: Buffer.from(signature, 'base64url').toString('base64') },
    };
    for (const [name, variant] of Object.entries(variants)) {
      expect(() => verify(variant), name).toThrow(InvalidSignatureError);
    }
  });
});
