import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, it, type TestContext } from 'vitest';
import type { StorageProvider } from '@app/storage';
import { defineDataCases } from './cases/data.js';
import { defineKeyCases } from './cases/keys.js';
import { defineObjectCases } from './cases/objects.js';
import { definePresignCases } from './cases/presign.js';
import type { ConformanceCheck, ConformanceEnvironment, ConformanceTarget } from './conformance.types.js';

declare module '@vitest/runner' {
  interface TaskMeta {
    /** Marks a conformance case (or suite) with the provider it ran against, for the table reporter. */
    conformance?: { provider: string };
  }
}

export interface CaseOptions {
  /** Capabilities the case relies on: unsupported or unverifiable ones skip it, with the reason. */
  needs?: ConformanceCheck[];
  /** Skips the case with this reason when set (a fact of the target, not of a capability). */
  skipReason?: (env: ConformanceEnvironment) => string | undefined;
  timeout?: number;
}

export type CaseBody = (env: ConformanceEnvironment, provider: StorageProvider, test: TestContext) => Promise<void>;

/** What the case files use: the target, a key namespace, and a way to declare a case. */
export class ConformanceRun {
  private env?: ConformanceEnvironment;
  private setupError?: unknown;
  /** Every key of this run lives under this prefix, so runs and targets never collide. */
  readonly root = `conformance-${randomUUID().slice(0, 8)}`;

  constructor(readonly target: ConformanceTarget) {}

  key(...parts: string[]): string {
    return [this.root, ...parts].join('/');
  }

  async start(): Promise<void> {
    try {
      this.env = await this.target.setup();
    } catch (error) {
      this.setupError = error;
      throw error;
    }
  }

  async stop(): Promise<void> {
    await this.env?.teardown();
  }

  /** Why a capability cannot be checked here, or undefined when it can. */
  limitation(provider: StorageProvider, capability: ConformanceCheck): string | undefined {
    const own = (provider.capabilities as Partial<Record<ConformanceCheck, true | string>>)[capability];
    if (typeof own === 'string') return `${capability} unsupported by the provider: ${own}`;
    const backend = this.target.backendLimitations?.[capability];
    if (backend) return `${capability} not checkable against the test backend: ${backend}`;
    return undefined;
  }

  case(name: string, options: CaseOptions, body: CaseBody): void {
    it(name, { timeout: options.timeout, meta: { conformance: { provider: this.target.name } } }, async (test) => {
      if (!this.env) throw new Error(`conformance target "${this.target.name}" failed to start: ${String(this.setupError)}`);
      const provider = this.env.provider;
      for (const capability of options.needs ?? []) {
        const reason = this.limitation(provider, capability);
        if (reason) test.skip(reason);
      }
      const reason = options.skipReason?.(this.env);
      if (reason) test.skip(reason);
      await body(this.env, provider, test);
    });
  }
}

/**
 * The shared provider conformance suite: every provider runs every case below; a provider
 * supplies only its target (a factory and what its test backend cannot check). A case the
 * provider or backend cannot do is skipped with its reason, never passed silently.
 */
export function runConformanceSuite(target: ConformanceTarget): void {
  describe(`conformance: ${target.name}`, { meta: { conformance: { provider: target.name } } }, () => {
    const run = new ConformanceRun(target);
    beforeAll(() => run.start(), 300_000);
    afterAll(() => run.stop(), 120_000);

    describe('uploads and downloads', () => defineDataCases(run));
    describe('object operations', () => defineObjectCases(run));
    describe('keys', () => defineKeyCases(run));
    describe('presigned URLs', () => definePresignCases(run));
  });
}
