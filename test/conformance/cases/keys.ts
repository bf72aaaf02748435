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
  const limitation = (kind: AwkwardKeyKind, copy = false) => () => {
    const whole = run.target.keyLimitations?.[kind];
    if (whole) return `key kind "${kind}" unsupported: ${whole}`;
    const copyOnly = copy ? run.target.keyLimitations?.[`copy:${kind}`] : undefined;
    return copyOnly ? `copying a "${kind}" key unsupported: ${copyOnly}` : undefined;
  };

  for (const [kind, suffix] of Object.entries(AWKWARD_KEYS) as [AwkwardKeyKind, string][]) {
    run.case(`awkward key (${kind}) round-trips through upload, head, list and download`, { skipReason: limitation(kind) }, async (_env, provider) => {
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
      await provider.delete(key);
      expect(await provider.exists(key)).toBe(false);
    });

    run.case(`awkward key (${kind}) survives copy as source and destination`, { needs: ['copy'], skipReason: limitation(kind, true) }, async (_env, provider) => {
      const source = run.key('awkward-copy', suffix);
      const destination = `${source}.copy`;
      const body = Buffer.from(`copied bytes of ${kind}`);
      await provider.put(source, body, { contentType: 'text/plain' });
      await provider.copy(source, destination);
      expect((await provider.head(destination)).key).toBe(destination);
      expect((await bytesOf((await provider.get(destination)).body)).equals(body)).toBe(true);
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
