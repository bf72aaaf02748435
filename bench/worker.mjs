// One benchmark case in its own process, so its RSS is its own. Talks JSON lines with the parent.
// Usage: node --expose-gc bench/worker.mjs <case> <bytes> <dir> <repetitions>
//
// Every case prints one line when ready. In-process cases then run one repetition for each "run"
// on stdin and print {seconds}; HTTP cases print {port, token} and serve the parent's requests.
// On "done", a case prints its result (peak RSS growth, CPU per repetition) and exits.
import 'reflect-metadata';
import { createWriteStream, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { createServer } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createHash, randomBytes } from 'node:crypto';
import { Session } from 'node:inspector/promises';
import { createInterface } from 'node:readline';
import { PerformanceObserver, constants as perfConstants } from 'node:perf_hooks';

const [, , kind, bytesText, dir, repetitionsText = '1'] = process.argv;
const total = Number(bytesText);
const repetitions = Number(repetitionsText);
const CHUNK = randomBytes(1024 * 1024);
const fsync = process.env.BENCH_FSYNC !== 'false';
const localConfig = (path) => ({ base_path: path, fsync, ...(process.env.BENCH_FSYNC_INTERVAL ? { fsync_interval: process.env.BENCH_FSYNC_INTERVAL } : {}) });

function* generate() {
  for (let sent = 0; sent < total; sent += CHUNK.length) yield sent + CHUNK.length <= total ? CHUNK : CHUNK.subarray(0, total - sent);
}

let peak = 0;
let baseline = 0;
let cpuAtStart = process.cpuUsage();
const sampler = setInterval(() => {
  peak = Math.max(peak, process.memoryUsage().rss);
}, 10);
let profiler;
// Garbage collection while measuring: milliseconds by kind (V8 pauses on the main thread).
const gc = { minor: 0, major: 0, count: 0 };
let measuring = false;
new PerformanceObserver((list) => {
  if (!measuring) return;
  for (const entry of list.getEntries()) {
    gc.count += 1;
    if (entry.detail?.kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR) gc.major += entry.duration;
    else gc.minor += entry.duration;
  }
}).observe({ entryTypes: ['gc'] });

async function startMeasuring() {
  globalThis.gc?.();
  baseline = process.memoryUsage().rss;
  peak = baseline;
  if (process.env.BENCH_PROFILE) {
    profiler = new Session();
    profiler.connect();
    await profiler.post('Profiler.enable');
    await profiler.post('Profiler.start');
  }
  cpuAtStart = process.cpuUsage();
  measuring = true;
}

async function report(extra = {}) {
  peak = Math.max(peak, process.memoryUsage().rss);
  clearInterval(sampler);
  const cpu = process.cpuUsage(cpuAtStart);
  if (profiler) {
    const { profile } = await profiler.post('Profiler.stop');
    writeFileSync(`${process.env.BENCH_PROFILE}/${kind}-${total}.cpuprofile`, JSON.stringify(profile));
  }
  const cpuSeconds = (cpu.user + cpu.system) / 1e6 / repetitions;
  const gcSeconds = (gc.minor + gc.major) / 1000 / repetitions;
  process.stdout.write(`${JSON.stringify({ kind, bytes: total, baselineRss: baseline, peakRssGrowth: peak - baseline, cpuSeconds, gcSeconds, gc, ...extra })}\n`);
}

/** In-process cases: one timed repetition of `once` per "run" line, then the report on "done". */
function runOnCommand(once, close = async () => undefined) {
  process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
  const lines = createInterface({ input: process.stdin });
  lines.on('line', async (line) => {
    if (line === 'run') {
      const started = performance.now();
      const cleanup = await once();
      const seconds = (performance.now() - started) / 1000;
      await cleanup?.();
      process.stdout.write(`${JSON.stringify({ seconds })}\n`);
    } else if (line === 'done') {
      lines.close();
      await report();
      await close();
    }
  });
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
        providers: { local: { type: 'local', config: localConfig(`${dir}/storage`) } },
        maxFileSize: '4GB',
        route: false,
      }),
    ],
  })(BenchModule);
  return { app: await NestFactory.createApplicationContext(BenchModule, { logger: ['error'] }), lib };
}

/** HTTP cases: serve until the parent says "done" on stdin, then report. */
function serveUntilDone(address, close) {
  process.stdout.write(`${JSON.stringify(address)}\n`);
  const lines = createInterface({ input: process.stdin });
  lines.on('line', async (line) => {
    if (line !== 'done') return;
    lines.close();
    await report();
    await close();
  });
}

/** The work of our write path by hand: hash every byte, write, and fsync when ours does. */
async function storeByHand(source, file) {
  const hash = createHash('sha256');
  await pipeline(
    source,
    async function* (chunks) {
      for await (const chunk of chunks) {
        hash.update(chunk);
        yield chunk;
      }
    },
    createWriteStream(file),
  );
  if (fsync) {
    const handle = await open(file, 'r');
    await handle.sync();
    await handle.close();
  }
  return hash.digest('hex');
}

/** A plain Node http server storing each request body with `store(request, file)`; the parent sends the bytes. */
function fileServer(name, store) {
  let count = 0;
  const server = createServer((request, response) => {
    const file = `${dir}/${name}-${count++}.bin`;
    store(request, file).then(
      () => response.writeHead(201).end('{}', () => rmSync(file)),
      (error) => response.writeHead(500).end(String(error)),
    );
  });
  server.listen(0, '127.0.0.1', async () => {
    await startMeasuring();
    serveUntilDone({ port: server.address().port }, () => server.close());
  });
}

if (kind === 'raw-pipeline') {
  await startMeasuring();
  runOnCommand(async () => {
    await pipeline(Readable.from(generate()), createWriteStream(`${dir}/raw.bin`));
    return () => rmSync(`${dir}/raw.bin`);
  });
} else if (kind === 'raw-same-work') {
  await startMeasuring();
  runOnCommand(async () => {
    await storeByHand(Readable.from(generate()), `${dir}/same-work.bin`);
    return () => rmSync(`${dir}/same-work.bin`);
  });
} else if (kind === 'service-local') {
  const { app, lib } = await storageContext();
  const storage = app.get(lib.StorageService);
  await startMeasuring();
  runOnCommand(async () => {
    const artifact = await storage.storeArtifact({ body: Readable.from(generate()), artifactType: 'model', contentType: 'application/octet-stream' });
    if (artifact.size !== total) throw new Error(`stored ${artifact.size} of ${total} bytes`);
    return () => storage.deleteArtifact(artifact.id);
  }, () => app.close());
} else if (kind === 'raw-http') {
  fileServer(kind, (request, file) => pipeline(request, createWriteStream(file)));
} else if (kind === 'raw-http-same-work') {
  fileServer(kind, storeByHand);
} else if (kind === 'api-post') {
  const { createServer: createApi } = await import('../dist/src/bootstrap.js');
  const { loadSettings } = await import('../dist/src/settings.js');
  const settings = loadSettings({ BOARDS_JWT_SECRET: 'bench-secret-bench-secret', DATABASE_URL: `sqlite:${dir}/api.sqlite`, PORT: '0' });
  const app = await createApi({
    settings,
    logger: ['error'],
    storage: {
      defaultProvider: 'local',
      providers: { local: { type: 'local', config: localConfig(`${dir}/api-storage`) } },
      maxFileSize: '4GB',
      ...(process.env.BENCH_NO_VALIDATION ? { contentValidation: { sniff: false, blockExecutables: false, utf8Text: false, json: false, safetensors: false, allowPickle: true } } : {}),
    },
  });
  await app.listen(0, '127.0.0.1');
  const { JwtService } = await import('@nestjs/jwt');
  const token = app.get(JwtService).sign({ sub: 'bench', tenant: 'bench', boards: { b1: 'editor' } });
  await startMeasuring();
  serveUntilDone({ port: app.getHttpServer().address().port, token }, () => app.close());
} else {
  console.error(`unknown case ${kind}`);
  process.exit(2);
}
