import { NestFactory } from '@nestjs/core';
import type { INestApplication } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StorageExceptionFilter } from '@app/storage';
import { tempDir } from '../support/temp-dir.js';

const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8ffff3f0005fe02fea7d6a0a50000000049454e44ae426082', 'hex');

describe('the module used from another Nest app (apps/example-host)', () => {
  let app: INestApplication;
  let url: string;
  let dir: { path: string; remove: () => Promise<void> };

  beforeAll(async () => {
    dir = await tempDir();
    process.env.EXAMPLE_STORAGE = `${dir.path}/images`;
    const { ExampleHostModule } = await import('../../apps/example-host/src/app.module.js');
    app = await NestFactory.create(ExampleHostModule, { bodyParser: false, logger: ['error'], abortOnError: false });
    app.useGlobalFilters(new StorageExceptionFilter());
    await app.listen(0, '127.0.0.1');
    url = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
  });
  afterAll(async () => {
    await app?.close();
    await dir?.remove();
    delete process.env.EXAMPLE_STORAGE;
  });

  it('stores through the host controller and serves back, guarded by the host policy', async () => {
    const owner = { 'x-demo-user': 'ann@acme:gallery1' };
    const created = await fetch(`${url}/gallery?board=gallery1`, { method: 'POST', headers: { ...owner, 'content-type': 'image/png' }, body: PNG });
    expect(created.status).toBe(201);
    const { id, size } = await created.json();
    expect(size).toBe(PNG.length);

    const shown = await fetch(`${url}/gallery/${id}`, { headers: owner });
    expect(shown.status).toBe(200);
    expect(Buffer.from(await shown.arrayBuffer())).toEqual(PNG);

    expect((await fetch(`${url}/gallery/${id}`)).status).toBe(401);
    expect((await fetch(`${url}/gallery/${id}`, { headers: { 'x-demo-user': 'bo@acme:other' } })).status).toBe(404);
    expect((await fetch(`${url}/gallery/${id}`, { headers: { 'x-demo-user': 'ann@other:gallery1' } })).status).toBe(404);
    const text = await fetch(`${url}/gallery?board=gallery1`, { method: 'POST', headers: { ...owner, 'content-type': 'text/plain' }, body: 'hi' });
    expect(text.status).toBe(415);
  });
});
