import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import type { PresignedRequest } from '@app/storage';
import type { ConformanceRun } from '../suite.js';
import { absolute, bytesOf, responseBytes, sendPresignedUpload, untilExpired } from '../support.js';

/** The request with its key's last path segment (or form field) pointed at another key. */
function retargeted(request: PresignedRequest, fromKey: string, toKey: string): { url?: string; fields?: Record<string, string> } {
  if (request.fields && Object.values(request.fields).includes(fromKey)) {
    const field = Object.entries(request.fields).find(([, value]) => value === fromKey)![0];
    return { fields: { [field]: toKey } };
  }
  const from = encodeURIComponent(fromKey.split('/').at(-1)!);
  const to = encodeURIComponent(toKey.split('/').at(-1)!);
  const url = new URL(request.url, 'http://relative.invalid');
  expect(url.pathname.endsWith(`/${from}`), `the key should end the URL path: ${url.pathname}`).toBe(true);
  url.pathname = `${url.pathname.slice(0, -from.length)}${to}`;
  const text = url.toString();
  return { url: /^https?:\/\//i.test(request.url) ? text : text.replace('http://relative.invalid', '') };
}

const PNG = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), randomBytes(120)]);

export function definePresignCases(run: ConformanceRun): void {
  run.case('presigned download URL works with plain fetch and no credentials', { needs: ['presignDownload'] }, async (env, provider) => {
    const key = run.key('presign', 'download.txt');
    await provider.put(key, Buffer.from('fetched without credentials'), { contentType: 'text/plain' });
    const request = await provider.presignDownload(key, { expiresIn: 300 });
    expect(request.method).toBe('GET');
    expect(request.expiresAt.getTime()).toBeGreaterThan(Date.now());
    const response = await fetch(absolute(request.url, env.urlBase), { method: 'GET', headers: request.headers });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    expect((await responseBytes(response)).toString()).toBe('fetched without credentials');
  });

  run.case('presigned download URL with a file name serves an attachment', { needs: ['presignDownload'] }, async (env, provider) => {
    const key = run.key('presign', 'attachment.txt');
    await provider.put(key, Buffer.from('attached'), { contentType: 'text/plain' });
    const request = await provider.presignDownload(key, { expiresIn: 300, filename: 'report final.txt' });
    const response = await fetch(absolute(request.url, env.urlBase), { headers: request.headers });
    expect(response.status).toBe(200);
    const disposition = response.headers.get('content-disposition') ?? '';
    expect(disposition).toMatch(/^attachment/i);
    expect(decodeURIComponent(disposition)).toContain('report final.txt');
    await responseBytes(response);
  });

  run.case('presigned upload accepts a body of the declared content type', { needs: ['presignUpload'] }, async (env, provider) => {
    const key = run.key('presign', 'upload.png');
    const request = await provider.presignUpload(key, { expiresIn: 300, contentType: 'image/png', maxSize: 4096 });
    expect(['PUT', 'POST']).toContain(request.method);
    const response = await sendPresignedUpload(request, PNG, env.urlBase);
    expect(response.status, await response.clone().text()).toBeLessThan(300);
    await responseBytes(response);
    const { body, info } = await provider.get(key);
    expect((await bytesOf(body)).equals(PNG)).toBe(true);
    expect(info.contentType).toBe('image/png');
  });

  run.case(
    'presigned upload refuses another content type',
    { needs: ['presignUpload', 'presignUploadEnforcesContentType'] },
    async (env, provider) => {
      const key = run.key('presign', 'wrong-type.png');
      const request = await provider.presignUpload(key, { expiresIn: 300, contentType: 'image/png', maxSize: 4096 });
      const response = await sendPresignedUpload(request, PNG, env.urlBase, { contentType: 'text/html' });
      await responseBytes(response);
      expect(response.status).toBeGreaterThanOrEqual(400);
      expect(await provider.exists(key)).toBe(false);
    },
  );

  run.case('presigned upload refuses a body over its size limit', { needs: ['presignUpload', 'presignUploadEnforcesMaxSize'] }, async (env, provider) => {
    const key = run.key('presign', 'too-big.png');
    const request = await provider.presignUpload(key, { expiresIn: 300, contentType: 'image/png', maxSize: 64 });
    const response = await sendPresignedUpload(request, PNG, env.urlBase);
    await responseBytes(response);
    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(await provider.exists(key)).toBe(false);
  });

  run.case('presigned URLs refuse tampering', { needs: ['presignDownload', 'presignUpload', 'presignEnforcesSignature'] }, async (env, provider) => {
    const secret = run.key('presign', 'tamper-secret.txt');
    const allowed = run.key('presign', 'tamper-allowed.txt');
    await provider.put(secret, Buffer.from('not for you'), { contentType: 'text/plain' });
    await provider.put(allowed, Buffer.from('for you'), { contentType: 'text/plain' });

    // A download URL pointed at another key.
    const download = await provider.presignDownload(allowed, { expiresIn: 300 });
    const elsewhere = retargeted(download, allowed, secret);
    const stolen = await fetch(absolute(elsewhere.url!, env.urlBase), { headers: download.headers });
    expect((await responseBytes(stolen)).toString()).not.toBe('not for you');
    expect(stolen.status).toBeGreaterThanOrEqual(400);

    // A download URL without its query (the signature).
    const bare = absolute(download.url, env.urlBase).split('?')[0];
    const unsigned = await fetch(bare);
    await responseBytes(unsigned);
    expect(unsigned.status).toBeGreaterThanOrEqual(400);

    // An upload URL pointed at another key: neither key may change.
    const target = run.key('presign', 'tamper-upload.png');
    const victim = run.key('presign', 'tamper-victim.png');
    const upload = await provider.presignUpload(target, { expiresIn: 300, contentType: 'image/png', maxSize: 4096 });
    const redirected = await sendPresignedUpload(upload, PNG, env.urlBase, retargeted(upload, target, victim));
    await responseBytes(redirected);
    expect(redirected.status).toBeGreaterThanOrEqual(400);
    expect(await provider.exists(victim)).toBe(false);
    expect(await provider.exists(target)).toBe(false);
  });

  run.case('presigned upload URL cannot be used to GET the object', { needs: ['presignUpload', 'presignEnforcesSignature'] }, async (env, provider) => {
    const key = run.key('presign', 'get-on-put.txt');
    await provider.put(key, Buffer.from('stored earlier'), { contentType: 'text/plain' });
    const request = await provider.presignUpload(key, { expiresIn: 300, contentType: 'text/plain', maxSize: 4096 });
    const response = await fetch(absolute(request.url, env.urlBase), { method: 'GET' });
    const body = await responseBytes(response);
    expect(body.toString()).not.toBe('stored earlier');
    expect(response.status).toBeGreaterThanOrEqual(400);
  });

  run.case(
    'expired presigned URLs are refused',
    { needs: ['presignDownload', 'presignUpload', 'presignEnforcesExpiry'], timeout: 30_000 },
    async (env, provider) => {
      const key = run.key('presign', 'expiring.txt');
      const uploadKey = run.key('presign', 'expiring-upload.png');
      await provider.put(key, Buffer.from('short-lived'), { contentType: 'text/plain' });
      const download = await provider.presignDownload(key, { expiresIn: 1 });
      // No maxSize: the plainest upload form of each provider (S3 answers a PUT URL then, a POST policy with it).
      const upload = await provider.presignUpload(uploadKey, { expiresIn: 1, contentType: 'image/png' });
      await untilExpired(download);
      await untilExpired(upload);

      const late = await fetch(absolute(download.url, env.urlBase), { headers: download.headers });
      expect((await responseBytes(late)).toString()).not.toBe('short-lived');
      expect(late.status).toBeGreaterThanOrEqual(400);
      const lateUpload = await sendPresignedUpload(upload, PNG, env.urlBase);
      await responseBytes(lateUpload);
      expect(lateUpload.status).toBeGreaterThanOrEqual(400);
      expect(await provider.exists(uploadKey)).toBe(false);
    },
  );
}
