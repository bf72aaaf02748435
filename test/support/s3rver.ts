import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { once } from 'node:events';
import { tempDir } from './temp-dir.js';

export interface S3rverInstance {
  /** `http://127.0.0.1:<port>` */
  endpoint: string;
  /** Credentials s3rver accepts (it checks none, but the SDK needs some to sign). */
  credentials: { accessKeyId: string; secretAccessKey: string };
  region: string;
  /** Stops the server and removes its folder. */
  stop: () => Promise<void>;
}

// Runs in the child. s3rver encrypts ListObjectsV2 continuation tokens with DES, which Node >= 17
// only offers under --openssl-legacy-provider: without it every second page answers 500. The
// flag is given to this child alone, not to the test process.
const CHILD = `
const S3rver = require(process.env.S3RVER_MODULE);
const buckets = JSON.parse(process.env.S3RVER_BUCKETS).map((name) => ({ name }));
new S3rver({ address: '127.0.0.1', port: Number(process.env.S3RVER_PORT), silent: true, directory: process.env.S3RVER_DIR, configureBuckets: buckets })
  .run()
  .then((address) => process.stdout.write(JSON.stringify({ port: address.port }) + '\\n'))
  .catch((error) => { console.error(error); process.exit(1); });
// The parent holds stdin open; when it goes away (even killed), so does this server.
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
`;

export interface S3rverProcess {
  child: ChildProcess;
  port: number;
  /** What the server wrote to stderr so far. */
  stderr: () => string;
}

/** Spawns s3rver over `directory` with `buckets` on `port` (0: a free one); resolves once it listens. */
export async function spawnS3rver(directory: string, buckets: string[], port = 0): Promise<S3rverProcess> {
  const child = spawn(process.execPath, ['--openssl-legacy-provider', '-e', CHILD], {
    env: {
      ...process.env,
      NODE_OPTIONS: '',
      S3RVER_MODULE: createRequire(import.meta.url).resolve('s3rver'),
      S3RVER_BUCKETS: JSON.stringify(buckets),
      S3RVER_DIR: directory,
      S3RVER_PORT: String(port),
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const listening = await new Promise<number>((resolve, reject) => {
    let stdout = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const line = stdout.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve((JSON.parse(line) as { port: number }).port);
    });
    child.once('exit', (code) => reject(new Error(`s3rver exited with ${code}: ${stderr}`)));
    child.once('error', reject);
  });
  return { child, port: listening, stderr: () => stderr };
}

/** Starts s3rver in a child process on a free port, with the given buckets created. */
export async function startS3rver(buckets: string[]): Promise<S3rverInstance> {
  const dir = await tempDir('boards-s3rver-');
  const { child, port, stderr } = await spawnS3rver(dir.path, buckets);
  let stopping = false;
  child.once('exit', (code, signal) => {
    // A crash mid-run shows up as refused connections: say why, once.
    if (!stopping) console.error(`s3rver exited unexpectedly (${code ?? signal}):\n${stderr().slice(-4000)}`);
  });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    region: 'us-east-1',
    stop: async () => {
      stopping = true;
      if (child.exitCode === null && child.signalCode === null) {
        const exited = once(child, 'exit');
        child.stdin!.end();
        child.kill('SIGTERM');
        await exited;
      }
      await dir.remove();
    },
  };
}
