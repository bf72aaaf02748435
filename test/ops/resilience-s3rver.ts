import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { spawnS3rver } from '../support/s3rver.js';

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

  /** Starts the server: on a free port the first time, on the same port and folder after a kill. */
  async start(): Promise<void> {
    const { child, port } = await spawnS3rver(this.directory, this.buckets, this.port);
    this.port = port;
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
