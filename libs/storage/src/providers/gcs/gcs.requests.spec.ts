import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  fakeServiceAccount,
  startGcsEmulator,
  verifyV4SignedRequest,
  type GcsEmulator,
  type RecordedRequest,
} from '../../../../../test/support/gcs-emulator.js';
import {
  AccessDeniedError,
  AlreadyExistsError,
  InvalidArgumentError,
  ObjectNotFoundError,
  ProviderUnavailableError,
  UnauthenticatedError,
} from '../../errors/index.js';
import { readAll } from '../../streams/index.js';
import type { GcsProviderConfig } from './gcs.config.js';
import { GcsStorageProvider } from './gcs.provider.js';

// The emulator accepts any signed URL, answers 501 to a signed PUT and ignores ifGenerationMatch
// and KMS keys. What real Cloud Storage would enforce is checked here from the requests the
// provider sends and the URLs it signs (verified with the signing key, as GCS verifies them),
// and the answers GCS gives are injected to check how they are reported.

const KMS_KEY = 'projects/boards/locations/europe-west1/keyRings/artifacts/cryptoKeys/objects';
const account = fakeServiceAccount();
let emulator: GcsEmulator;
let provider: GcsStorageProvider;
const removers: (() => void)[] = [];
const bucket = `requests-${randomBytes(4).toString('hex')}`;

async function gcs(config: Partial<GcsProviderConfig> = {}): Promise<GcsStorageProvider> {
  const instance = new GcsStorageProvider();
  await instance.initialize({
    name: 'gcs',
    config: {
      bucket,
      api_endpoint: emulator.apiEndpoint,
      credentials: account.credentials,
      resumable_threshold: 64 * 1024,
      ...config,
    },
  });
  return instance;
}

function requestsFor(key: string): RecordedRequest[] {
  return emulator.requests.filter((request) => request.url.searchParams.get('name') === key || request.url.pathname.includes(encodeURIComponent(key)));
}

/** Answers requests matching `match` with a GCS-shaped JSON error. */
function answer(match: (request: RecordedRequest) => boolean, status: number, message = 'injected'): void {
  removers.push(
    emulator.intercept((request) =>
      match(request) ? { status, body: { error: { code: status, message, errors: [{ message, reason: 'injected' }] } } } : undefined,
    ),
  );
}

beforeAll(async () => {
  emulator = await startGcsEmulator();
  provider = await gcs({ kms_key_name: KMS_KEY });
});
afterEach(() => {
  while (removers.length) removers.pop()!();
});
afterAll(async () => {
  await emulator?.stop();
});

describe('create-only uploads', () => {
  it.each([
    ['one request', Buffer.from('small'), undefined, 'multipart'],
    ['a resumable session', Readable.from([randomBytes(100 * 1024)]), undefined, 'resumable'],
  ])('send ifGenerationMatch=0 with %s', async (_, body, contentLength, uploadType) => {
    const key = `create-only/${uploadType}`;
    await provider.put(key, body, { contentType: 'application/octet-stream', contentLength, ifNotExists: true });
    const [start] = requestsFor(key).filter((request) => request.method === 'POST');
    expect(start.url.searchParams.get('uploadType')).toBe(uploadType);
    expect(start.url.searchParams.get('ifGenerationMatch')).toBe('0');
  });

  it('do not send a precondition for an ordinary upload', async () => {
    await provider.put('create-only/plain', Buffer.from('x'), { contentType: 'text/plain' });
    const [start] = requestsFor('create-only/plain');
    expect(start.url.searchParams.has('ifGenerationMatch')).toBe(false);
  });

  it.each([
    ['one request', () => Buffer.from('newer')],
    ['a resumable session', () => Readable.from([randomBytes(100 * 1024)])],
  ])('report the 412 GCS answers through %s as AlreadyExistsError, old object intact', async (label, body) => {
    const key = `create-only/taken-${label.length}`;
    await provider.put(key, Buffer.from('first'), { contentType: 'text/plain' });
    answer((request) => request.method !== 'GET' && request.url.searchParams.get('ifGenerationMatch') === '0', 412, 'At least one of the pre-conditions you specified did not hold.');
    const error = await provider.put(key, body(), { contentType: 'text/plain', ifNotExists: true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AlreadyExistsError);
    expect((await readAll((await provider.get(key)).body)).toString()).toBe('first');
  });
});

describe('KMS key', () => {
  it('names the key on simple uploads, resumable sessions and copies', async () => {
    await provider.put('kms/simple', Buffer.from('a'), { contentType: 'text/plain' });
    await provider.put('kms/resumable', Readable.from([randomBytes(100 * 1024)]), { contentType: 'text/plain' });
    await provider.copy('kms/simple', 'kms/copy');
    expect(requestsFor('kms/simple')[0].url.searchParams.get('kmsKeyName')).toBe(KMS_KEY);
    expect(requestsFor('kms/resumable')[0].url.searchParams.get('kmsKeyName')).toBe(KMS_KEY);
    const rewrite = emulator.requests.find((request) => request.url.pathname.includes('/rewriteTo/') && request.url.pathname.endsWith('kms%2Fcopy'));
    expect(rewrite?.url.searchParams.get('destinationKmsKeyName')).toBe(KMS_KEY);
  });

  it('sends no key when none is configured', async () => {
    const plain = await gcs();
    await plain.put('kms/none', Buffer.from('a'), { contentType: 'text/plain' });
    expect(requestsFor('kms/none')[0].url.searchParams.has('kmsKeyName')).toBe(false);
  });
});

describe('V4 signed URLs', () => {
  it('a download URL works with plain fetch and carries a valid signature bound to GET', async () => {
    const key = 'signed/a file+with=odd%chars ünï.txt';
    await provider.put(key, Buffer.from('signed bytes'), { contentType: 'text/plain' });
    const signed = await provider.presignDownload(key, { expiresIn: 300, filename: 'report ü.txt' });
    expect(signed).toMatchObject({ method: 'GET', headers: {} });
    expect(signed.expiresAt.getTime()).toBeGreaterThan(Date.now() + 290_000);

    const response = await fetch(signed.url);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('signed bytes');

    const url = new URL(signed.url);
    expect(url.searchParams.get('X-Goog-Algorithm')).toBe('GOOG4-RSA-SHA256');
    expect(url.searchParams.get('X-Goog-Expires')).toBe('300');
    expect(url.searchParams.get('response-content-disposition')).toContain("filename*=UTF-8''report%20%C3%BC.txt");
    expect(verifyV4SignedRequest(account.publicKey, { method: 'GET', url: signed.url })).toBeUndefined();
    // What GCS refuses: another method, another object, a changed query, a late request.
    expect(verifyV4SignedRequest(account.publicKey, { method: 'PUT', url: signed.url })).toBe('signature does not match');
    expect(verifyV4SignedRequest(account.publicKey, { method: 'GET', url: signed.url.replace('signed/', 'other/') })).toBe('signature does not match');
    expect(
      verifyV4SignedRequest(account.publicKey, { method: 'GET', url: signed.url.replace('X-Goog-Expires=300', 'X-Goog-Expires=3000') }),
    ).toBe('signature does not match');
    expect(
      verifyV4SignedRequest(account.publicKey, { method: 'GET', url: signed.url, now: new Date(Date.now() + 301_000) }),
    ).toBe('expired');
  });

  it('an upload URL signs content-type, the size range and the KMS key, and GCS would refuse other values', async () => {
    const signed = await provider.presignUpload('signed/upload.png', { expiresIn: 600, contentType: 'image/png', maxSize: 1024 });
    expect(signed.method).toBe('PUT');
    expect(signed.headers).toEqual({
      'content-type': 'image/png',
      'x-goog-content-length-range': '0,1024',
      'x-goog-encryption-kms-key-name': KMS_KEY,
    });
    const signedHeaders = new URL(signed.url).searchParams.get('X-Goog-SignedHeaders')?.split(';');
    expect(signedHeaders).toEqual(['content-type', 'host', 'x-goog-content-length-range', 'x-goog-encryption-kms-key-name']);

    const attempt = { method: 'PUT', url: signed.url, headers: signed.headers };
    expect(verifyV4SignedRequest(account.publicKey, attempt)).toBeUndefined();
    expect(verifyV4SignedRequest(account.publicKey, { ...attempt, headers: { ...signed.headers, 'content-type': 'text/html' } })).toBe(
      'signature does not match',
    );
    expect(
      verifyV4SignedRequest(account.publicKey, { ...attempt, headers: { ...signed.headers, 'x-goog-content-length-range': '0,99999999' } }),
    ).toBe('signature does not match');
    const { 'content-type': _dropped, ...withoutType } = signed.headers;
    expect(verifyV4SignedRequest(account.publicKey, { ...attempt, headers: withoutType })).toBe('signed header content-type was not sent');
    expect(verifyV4SignedRequest(account.publicKey, { ...attempt, method: 'GET' })).toBe('signature does not match');
  });

  it('an upload URL without a size limit signs only content-type and host', async () => {
    const plain = await gcs();
    const signed = await plain.presignUpload('signed/plain.bin', { expiresIn: 60, contentType: 'application/octet-stream' });
    expect(new URL(signed.url).searchParams.get('X-Goog-SignedHeaders')).toBe('content-type;host');
    expect(verifyV4SignedRequest(account.publicKey, { method: 'PUT', url: signed.url, headers: signed.headers })).toBeUndefined();
  });

  it('refuses lifetimes GCS cannot sign (over seven days, or none)', async () => {
    await expect(provider.presignDownload('k', { expiresIn: 8 * 24 * 3600 })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(provider.presignUpload('k', { expiresIn: 0, contentType: 'text/plain' })).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});

describe('error mapping of real GCS answers', () => {
  it.each([
    [401, UnauthenticatedError],
    [403, AccessDeniedError],
    [404, ObjectNotFoundError],
    [429, ProviderUnavailableError],
    [503, ProviderUnavailableError],
  ])('%i on a metadata read', async (status, type) => {
    answer((request) => request.method === 'GET' && request.url.pathname.endsWith('/o/errors%2Fhead'), status);
    const error = await provider.head('errors/head').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(type);
    expect((error as { transient: boolean }).transient).toBe(status >= 429);
  });

  it('503 on an upload session and on a media read', async () => {
    answer((request) => request.url.searchParams.get('name') === 'errors/upload', 503);
    await expect(provider.put('errors/upload', Readable.from([randomBytes(100 * 1024)]), { contentType: 'text/plain' })).rejects.toBeInstanceOf(
      ProviderUnavailableError,
    );
    await provider.put('errors/read', Buffer.from('x'), { contentType: 'text/plain' });
    answer((request) => request.url.pathname.startsWith('/download/') && request.url.pathname.endsWith('errors%2Fread'), 503);
    await expect(provider.get('errors/read')).rejects.toBeInstanceOf(ProviderUnavailableError);
  });

  it('403 on delete and list', async () => {
    answer((request) => request.method === 'DELETE' || request.url.pathname.endsWith('/o'), 403);
    await expect(provider.delete('errors/any')).rejects.toBeInstanceOf(AccessDeniedError);
    await expect(provider.list({ prefix: 'errors/' })).rejects.toBeInstanceOf(AccessDeniedError);
  });

  it('ping reports a missing bucket as down', async () => {
    answer((request) => request.url.pathname.endsWith('/o') && request.url.searchParams.get('maxResults') === '1', 404, 'The specified bucket does not exist.');
    await expect(provider.ping()).rejects.toThrow(/does not exist/);
  });
});

describe('credentials on requests', () => {
  /** Gives the SDK's own auth client a valid token, so no token request leaves the machine. */
  async function withToken(instance: GcsStorageProvider, token: string): Promise<void> {
    const sdk = (instance as unknown as { storage: { authClient: { getClient(): Promise<{ credentials: object }> } } }).storage;
    const client = await sdk.authClient.getClient();
    client.credentials = { access_token: token, token_type: 'Bearer', expiry_date: Date.now() + 3_600_000 };
  }

  it('with use_auth_with_custom_endpoint, uploads, metadata reads and media downloads carry the bearer token', async () => {
    const authed = await gcs({ use_auth_with_custom_endpoint: true });
    await withToken(authed, 'token-for-tests');
    await authed.put('auth/object', Buffer.from('x'), { contentType: 'text/plain' });
    await readAll((await authed.get('auth/object')).body);
    const seen = requestsFor('auth/object');
    expect(seen.map((request) => `${request.method} ${request.url.pathname.split('/')[1]}`)).toEqual(['POST upload', 'GET storage', 'GET download']);
    for (const request of seen) expect(request.headers.authorization).toBe('Bearer token-for-tests');
  });

  it('without it, nothing is sent to a custom endpoint (an emulator)', async () => {
    const plain = await gcs();
    await plain.put('auth/none', Buffer.from('x'), { contentType: 'text/plain' });
    await readAll((await plain.get('auth/none')).body);
    for (const request of requestsFor('auth/none')) expect(request.headers.authorization).toBeUndefined();
  });
});

describe('connections that die under a request', () => {
  /** Drops the connection of the first `count` requests matching `match`. */
  function resetFirst(match: (request: RecordedRequest) => boolean, count = 1): void {
    let left = count;
    removers.push(emulator.intercept((request) => (match(request) && left-- > 0 ? 'reset' : undefined)));
  }

  it('an idempotent request is sent once more', async () => {
    await provider.put('reset/read', Buffer.from('still here'), { contentType: 'text/plain' });
    const before = requestsFor('reset/read').length;
    resetFirst((request) => request.method === 'GET' && request.url.pathname.endsWith('/o/reset%2Fread'));
    expect((await provider.head('reset/read')).size).toBe(10);
    expect(requestsFor('reset/read').length - before).toBe(2);
  });

  it('twice in a row is ProviderUnavailableError', async () => {
    resetFirst((request) => request.method === 'GET' && request.url.pathname.endsWith('/o/reset%2Ftwice'), 2);
    await expect(provider.head('reset/twice')).rejects.toBeInstanceOf(ProviderUnavailableError);
  });

  it('an upload is not sent again by the driver: the caller decides (a stream cannot be replayed)', async () => {
    resetFirst((request) => request.method === 'POST' && request.url.searchParams.get('name') === 'reset/upload');
    await expect(provider.put('reset/upload', Buffer.from('once'), { contentType: 'text/plain' })).rejects.toBeInstanceOf(
      ProviderUnavailableError,
    );
    expect(requestsFor('reset/upload').filter((request) => request.method === 'POST')).toHaveLength(1);
    expect(await provider.exists('reset/upload')).toBe(false);
  });
});
