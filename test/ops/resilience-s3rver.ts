import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createRequire } from 'node:module';

// The same child as test/support/s3rver.ts, with a fixed port and folder so that a stopped server
// can come back where its clients expect it, holding the objects it had.
const CHILD = `
const S3rver = require(process.env.S3RVER_MODULE);
new S3rver({ address: '127.0.0.1', port: Number(process.env.S3RVER_PORT), silent: true, directory: process.env.S3RVER_DIR,
  configureBuckets: JSON.parse(process.env.S3RVER_BUCKETS).map((name) => ({ name })) })
  .run()
  .then((address) => process.stdout.write(JSON.stringify({ port: address.port }) + '\\n'))
  .catch((error) => { console.error(error); process.exit(1); });
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
`;

/** An s3rver that can be killed (as a crashed backend is) and started again on the same port and data. */
export class RestartableS3rver {
  private child?: ChildProcess;
  port = 0;

  constructor(
    private readonly directory: string,
    private readonly buckets: string[],
  ) {}

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const child = spawn(process.execPath, ['--openssl-legacy-provider', '-e', CHILD], {
      env: {
        ...process.env,
        NODE_OPTIONS: '',
        S3RVER_MODULE: createRequire(import.meta.url).resolve('s3rver'),
        S3RVER_PORT: String(this.port),
        S3RVER_DIR: this.directory,
        S3RVER_BUCKETS: JSON.stringify(this.buckets),
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    this.port = await new Promise<number>((resolve, reject) => {
      let stdout = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        const line = stdout.split('\n').find((l) => l.startsWith('{'));
        if (line) resolve((JSON.parse(line) as { port: number }).port);
      });
      child.once('exit', (code) => reject(new Error(`s3rver exited with ${code}: ${stderr}`)));
    });
    this.child = child;
  }

  /** Kills the server at once: open connections drop, new ones are refused. */
  async kill(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }
}
