import { Injectable } from '@nestjs/common';
import { IsIn, IsObject, IsOptional } from 'class-validator';
import {
  LocalStorageProvider,
  MemoryStorageProvider,
  StorageProvider,
  StorageProviderType,
  toReadable,
  type BodySource,
  type GetOptions,
  type GetResult,
  type ListOptions,
  type ListPage,
  type ObjectInfo,
  type PresignDownloadOptions,
  type PresignedRequest,
  type PresignUploadOptions,
  type ProviderCapabilities,
  type ProviderContext,
  type PutOptions,
  type PutResult,
} from '@app/storage';

/** `providers.<name>.config` of a `faulty` provider: the real provider it wraps. */
export class FaultyProviderConfig {
  @IsIn(['local', 'memory']) inner!: 'local' | 'memory';
  /** The wrapped provider's own config block. */
  @IsOptional() @IsObject() inner_config?: Record<string, unknown>;
}

export type FaultyOperation = 'put' | 'get' | 'head' | 'delete' | 'list' | 'copy' | 'presign' | 'ping';
const ALL: FaultyOperation[] = ['put', 'get', 'head', 'delete', 'list', 'copy', 'presign', 'ping'];

interface Fault {
  ops: Set<FaultyOperation>;
  remaining: number;
  kind: 'error' | 'hang' | 'after-bytes';
  bytes?: number;
  error: () => Error;
}

/** What a refused connection looks like coming out of an SDK: untyped, with an errno code. */
export function connectionReset(): Error {
  return Object.assign(new Error('socket hang up (injected)'), { code: 'ECONNRESET' });
}

/**
 * A provider type for fault injection: it wraps a real local or memory provider and, on
 * command, fails the next N calls, fails a body after N bytes, or hangs (ignoring its abort
 * signal, like a dead socket). Register it with `providerTypes: [FaultyStorageProvider]` and
 * reach an instance with `app.get(getStorageProviderToken(name))`.
 */
@Injectable()
@StorageProviderType('faulty', { config: FaultyProviderConfig })
export class FaultyStorageProvider extends StorageProvider<FaultyProviderConfig> {
  inner!: StorageProvider;
  private faults: Fault[] = [];
  /** Every call that reached this provider (faulty or not), in order. */
  readonly calls: { op: FaultyOperation; key?: string }[] = [];
  private readonly hung = new Set<() => void>();

  get capabilities(): ProviderCapabilities {
    return this.inner.capabilities;
  }

  override async initialize(context: ProviderContext<FaultyProviderConfig>): Promise<void> {
    await super.initialize(context);
    this.inner = context.config.inner === 'local' ? new LocalStorageProvider() : new MemoryStorageProvider();
    await this.inner.initialize({ name: context.name, config: context.config.inner_config ?? {} });
  }

  /** The next `times` calls of `ops` fail with `error` (a connection reset by default). */
  failNext(times: number, ops: FaultyOperation[] = ALL, error: () => Error = connectionReset): this {
    this.faults.push({ ops: new Set(ops), remaining: times, kind: 'error', error });
    return this;
  }

  /** Every call of `ops` fails until `heal()`: the backend is down. */
  down(ops: FaultyOperation[] = ALL, error: () => Error = connectionReset): this {
    return this.failNext(Number.POSITIVE_INFINITY, ops, error);
  }

  /** The next `times` uploads (or reads) pass `bytes` bytes, then their stream fails. */
  failAfterBytes(bytes: number, times = 1, ops: FaultyOperation[] = ['put'], error: () => Error = connectionReset): this {
    this.faults.push({ ops: new Set(ops), remaining: times, kind: 'after-bytes', bytes, error });
    return this;
  }

  /** The next `times` calls of `ops` never answer (until `heal()`), whatever their signal says. */
  hang(times = Number.POSITIVE_INFINITY, ops: FaultyOperation[] = ALL): this {
    this.faults.push({ ops: new Set(ops), remaining: times, kind: 'hang', error: connectionReset });
    return this;
  }

  /** Clears every fault; hung calls fail now (as a dropped connection would). */
  heal(): this {
    this.faults = [];
    for (const release of this.hung) release();
    this.hung.clear();
    return this;
  }

  count(op: FaultyOperation): number {
    return this.calls.filter((call) => call.op === op).length;
  }

  private take(op: FaultyOperation): Fault | undefined {
    const fault = this.faults.find((f) => f.ops.has(op) && f.remaining > 0);
    if (fault) fault.remaining--;
    return fault;
  }

  private async gate<T>(op: FaultyOperation, key: string | undefined, run: (fault?: Fault) => Promise<T>): Promise<T> {
    this.calls.push({ op, key });
    const fault = this.take(op);
    if (fault?.kind === 'error') throw fault.error();
    if (fault?.kind === 'hang') {
      await new Promise<void>((resolve) => this.hung.add(resolve));
      throw connectionReset();
    }
    return run(fault);
  }

  /** Passes `limit` bytes of a body, then fails it. */
  private static cut(body: BodySource, limit: number, error: () => Error): AsyncIterable<Uint8Array> {
    const source = toReadable(body);
    return (async function* () {
      let seen = 0;
      for await (const chunk of source) {
        const buffer = chunk as Buffer;
        if (seen + buffer.length > limit) {
          if (limit > seen) yield buffer.subarray(0, limit - seen);
          source.destroy();
          throw error();
        }
        seen += buffer.length;
        yield buffer;
      }
    })();
  }

  put(key: string, body: BodySource, options: PutOptions): Promise<PutResult> {
    return this.gate('put', key, (fault) => {
      const source = fault?.kind === 'after-bytes' ? FaultyStorageProvider.cut(body, fault.bytes!, fault.error) : body;
      return this.inner.put(key, source, options);
    });
  }

  get(key: string, options?: GetOptions): Promise<GetResult> {
    return this.gate('get', key, async (fault) => {
      const result = await this.inner.get(key, options);
      if (fault?.kind !== 'after-bytes') return result;
      return { ...result, body: toReadable(FaultyStorageProvider.cut(result.body, fault.bytes!, fault.error)) };
    });
  }

  head(key: string): Promise<ObjectInfo> {
    return this.gate('head', key, () => this.inner.head(key));
  }

  delete(key: string): Promise<void> {
    return this.gate('delete', key, () => this.inner.delete(key));
  }

  list(options: ListOptions): Promise<ListPage> {
    return this.gate('list', options.prefix, () => this.inner.list(options));
  }

  copy(sourceKey: string, destinationKey: string): Promise<void> {
    return this.gate('copy', destinationKey, () => this.inner.copy(sourceKey, destinationKey));
  }

  presignDownload(key: string, options: PresignDownloadOptions): Promise<PresignedRequest> {
    return this.gate('presign', key, () => this.inner.presignDownload(key, options));
  }

  presignUpload(key: string, options: PresignUploadOptions): Promise<PresignedRequest> {
    return this.gate('presign', key, () => this.inner.presignUpload(key, options));
  }

  ping(signal?: AbortSignal): Promise<void> {
    return this.gate('ping', undefined, () => this.inner.ping(signal));
  }

  override async close(): Promise<void> {
    this.heal();
    await this.inner.close();
  }
}
