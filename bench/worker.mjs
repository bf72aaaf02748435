// One benchmark case in its own process, so its RSS is its own. Prints one JSON line.
// Usage: node --expose-gc bench/worker.mjs <case> <bytes> <dir>
import 'reflect-metadata';
import { createWriteStream } from 'node:fs';
import { createServer } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { randomBytes } from 'node:crypto';

const [, , kind, bytesText, dir] = process.argv;
const total = Number(bytesText);
const CHUNK = randomBytes(1024 * 1024);

function* generate() {
  for (let sent = 0; sent < total; sent += CHUNK.length) yield sent + CHUNK.length <= total ? CHUNK : CHUNK.subarray(0, total - sent);
}

let peak = 0;
let baseline = 0;
const sampler = setInterval(() => {
  peak = Math.max(peak, process.memoryUsage().rss);
}, 10);

function startMeasuring() {
  globalThis.gc?.();
  baseline = process.memoryUsage().rss;
  peak = baseline;
}

function report(extra = {}) {
  peak = Math.max(peak, process.memoryUsage().rss);
  clearInterval(sampler);
  process.stdout.write(`${JSON.stringify({ kind, bytes: total, baselineRss: baseline, peakRssGrowth: peak - baseline, ...extra })}\n`);
}

async function storageContext() {
  const { NestFactory } = await import('@nestjs/core');
  const { Module } = await import('@nestjs/common');
  const { TypeOrmModule } = await import('@nestjs/typeorm');
  const lib = await import('../dist/libs/storage/src/index.js');
  const { databaseOptions } = await import('../dist/src/database/database-options.js');
  class BenchModule {}
  Module({
    imports: [
      TypeOrmModule.forRoot(databaseOptions(`sqlite:${dir}/bench.sqlite`)),
      lib.StorageModule.forRoot({
        defaultProvider: 'local',
        providers: { local: { type: 'local', config: { base_path: `${dir}/storage`, fsync: process.env.BENCH_FSYNC !== 'false' } } },
        maxFileSize: '4GB',
        route: false,
      }),
    ],
  })(BenchModule);
  return { app: await NestFactory.createApplicationContext(BenchModule, { logger: ['error'] }), lib };
}

if (kind === 'raw-pipeline') {
  startMeasuring();
  const started = performance.now();
  await pipeline(Readable.from(generate()), createWriteStream(`${dir}/raw.bin`));
  report({ seconds: (performance.now() - started) / 1000 });
} else if (kind === 'raw-same-work') {
  // The same work our write path does, by hand: hash every byte, write, fsync.
  const { createHash } = await import('node:crypto');
  const { open } = await import('node:fs/promises');
  startMeasuring();
  const started = performance.now();
  const hash = createHash('sha256');
  await pipeline(
    Readable.from(generate()),
    async function* (source) {
      for await (const chunk of source) {
        hash.update(chunk);
        yield chunk;
      }
    },
    createWriteStream(`${dir}/same-work.bin`),
  );
  hash.digest('hex');
  const handle = await open(`${dir}/same-work.bin`, 'r');
  await handle.sync();
  await handle.close();
  report({ seconds: (performance.now() - started) / 1000 });
} else if (kind === 'service-local') {
  const { app, lib } = await storageContext();
  const storage = app.get(lib.StorageService);
  startMeasuring();
  const started = performance.now();
  const artifact = await storage.storeArtifact({ body: Readable.from(generate()), artifactType: 'model', contentType: 'application/octet-stream' });
  const seconds = (performance.now() - started) / 1000;
  if (artifact.size !== total) throw new Error(`stored ${artifact.size} of ${total} bytes`);
  report({ seconds });
  await app.close();
} else if (kind === 'raw-http') {
  // A plain Node http server writing the request body to a file; the parent sends the bytes.
  const server = createServer((request, response) => {
    pipeline(request, createWriteStream(`${dir}/raw-http.bin`)).then(
      () => response.writeHead(201).end('{}'),
      (error) => response.writeHead(500).end(String(error)),
    );
  });
  server.listen(0, '127.0.0.1', () => {
    startMeasuring();
    process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
  });
  process.stdin.once('data', () => {
    report();
    server.close();
  });
} else if (kind === 'api-post') {
  const { createServer: createApi } = await import('../dist/src/bootstrap.js');
  const { loadSettings } = await import('../dist/src/settings.js');
  const settings = loadSettings({ BOARDS_JWT_SECRET: 'bench-secret-bench-secret', DATABASE_URL: `sqlite:${dir}/api.sqlite`, PORT: '0' });
  const app = await createApi({
    settings,
    logger: ['error'],
    storage: {
      defaultProvider: 'local',
      providers: { local: { type: 'local', config: { base_path: `${dir}/api-storage`, fsync: process.env.BENCH_FSYNC !== 'false' } } },
      maxFileSize: '4GB',
      ...(process.env.BENCH_NO_VALIDATION ? { contentValidation: { sniff: false, blockExecutables: false, utf8Text: false, json: false, safetensors: false, allowPickle: true } } : {}),
    },
  });
  await app.listen(0, '127.0.0.1');
  const { JwtService } = await import('@nestjs/jwt');
  const token = app.get(JwtService).sign({ sub: 'bench', tenant: 'bench', boards: { b1: 'editor' } });
  startMeasuring();
  process.stdout.write(`${JSON.stringify({ port: app.getHttpServer().address().port, token })}\n`);
  process.stdin.once('data', async () => {
    report();
    await app.close();
  });
} else {
  console.error(`unknown case ${kind}`);
  process.exit(2);
}
