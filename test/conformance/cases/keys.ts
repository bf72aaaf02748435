import { expect } from 'vitest';
import { assertValidKey } from '@app/storage';
import type { AwkwardKeyKind } from '../conformance.types.js';
import type { ConformanceRun } from '../suite.js';
import { absolute, bytesOf, responseBytes } from '../support.js';

/** Valid keys that trip up encoders: each must survive every path unchanged (Go CDK's drivertest list, extended). */
export const AWKWARD_KEYS: Record<AwkwardKeyKind, string> = {
  spaces: 'with spaces/a file  name .txt',
  unicode: 'ünïcödé/日本語-ファイル-😀.txt',
  plus: 'plus+sign/a+b++c.txt',
  percent: 'percent%25/100% sure %2F%zz.txt',
  equals: 'equals=/a=b&c=d;e.txt',
  punctuation: "punctuation/!$'()*,@[]~^`{}|.txt",
  'long name': `long/${'n'.repeat(200)}-${'é'.repeat(20)}.txt`,
};

export function defineKeyCases(run: ConformanceRun): void {
  const limited = (kind: AwkwardKeyKind) => () => {
    const reason = run.target.keyLimitations?.[kind];
    return reason ? `key kind "${kind}" unsupported: ${reason}` : undefined;
  };

  for (const [kind, suffix] of Object.entries(AWKWARD_KEYS) as [AwkwardKeyKind, string][]) {
    run.case(`awkward key (${kind}) round-trips through upload, head, list, download and copy`, { skipReason: limited(kind) }, async (_env, provider) => {
      const key = run.key('awkward', suffix);
      assertValidKey(key); // the case is about keys the shared layer accepts
      const body = Buffer.from(`bytes of ${kind}`);
      expect((await provider.put(key, body, { contentType: 'text/plain' })).key).toBe(key);
      expect((await provider.head(key)).key).toBe(key);
      expect((await bytesOf((await provider.get(key)).body)).equals(body)).toBe(true);
      if (provider.capabilities.list === true) {
        const folder = key.slice(0, key.lastIndexOf('/') + 1);
        expect((await provider.list({ prefix: folder })).items.map((item) => item.key)).toEqual([key]);
      }
      if (provider.capabilities.copy === true) {
        const copy = `${key}.copy`;
        await provider.copy(key, copy);
        expect((await bytesOf((await provider.get(copy)).body)).equals(body)).toBe(true);
        await provider.delete(copy);
      }
      await provider.delete(key);
      expect(await provider.exists(key)).toBe(false);
    });
  }

  run.case('awkward keys round-trip through presigned download URLs', { needs: ['presignDownload'] }, async (env, provider) => {
    for (const [kind, suffix] of Object.entries(AWKWARD_KEYS) as [AwkwardKeyKind, string][]) {
      if (run.target.keyLimitations?.[kind]) continue; // reported by the kind's own case
      const key = run.key('awkward-signed', suffix);
      const body = Buffer.from(`signed bytes of ${kind}`);
      await provider.put(key, body, { contentType: 'text/plain' });
      const request = await provider.presignDownload(key, { expiresIn: 300 });
      const response = await fetch(absolute(request.url, env.urlBase), { method: request.method, headers: request.headers });
      expect(response.status, `presigned download of the ${kind} key`).toBe(200);
      expect((await responseBytes(response)).equals(body), `bytes of the ${kind} key`).toBe(true);
    }
  });
}
