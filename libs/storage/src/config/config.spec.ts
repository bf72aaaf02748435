import { describe, expect, it } from 'vitest';
import { IsString } from 'class-validator';
import { StorageProviderType } from '../contract/index.js';
import { ConfigurationError } from '../errors/index.js';
import { MemoryStorageProvider } from '../providers/memory/memory.provider.js';
import { interpolateEnv, parseStorageConfig } from './load-yaml.js';
import { resolveStorageOptions } from './resolve-options.js';
import { parseSize } from './size.js';
import { FIVE_PROBLEMS, fiveProblemsYaml } from '../../../../test/support/config-problems.js';

const DESIGN_YAML = `
storage:
  default_provider: "supabase"
  providers:
    local:
      type: "local"
      config:
        base_path: "/var/boards/storage"
        public_url_base: "http://localhost:8000/storage"
    supabase:
      type: "supabase"
      config:
        url: "\${SUPABASE_URL}"
        key: "\${SUPABASE_ANON_KEY}"
        bucket: "boards-artifacts"
    s3:
      type: "s3"
      config:
        bucket: "boards-prod-artifacts"
        region: "us-west-2"
        access_key_id: "\${AWS_ACCESS_KEY_ID}"
        secret_access_key: "\${AWS_SECRET_ACCESS_KEY}"
  routing_rules:
    - condition:
        artifact_type: "video"
        size_gt: "100MB"
      provider: "s3"
    - condition:
        artifact_type: "model"
      provider: "supabase"
    - provider: "supabase"
  cleanup:
    temp_file_ttl_hours: 24
    cleanup_interval_hours: 1
    max_cleanup_batch_size: 1000
`;

const ENV = { SUPABASE_URL: 'http://sb', SUPABASE_ANON_KEY: 'anon', AWS_ACCESS_KEY_ID: 'id', AWS_SECRET_ACCESS_KEY: 'secret' };

function problemsOf(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError);
    return (error as ConfigurationError).problems;
  }
  throw new Error('expected a ConfigurationError');
}

describe('storage.yaml', () => {
  it("reads the design document's example as it is", () => {
    const options = parseStorageConfig(DESIGN_YAML, ENV);
    expect(options.defaultProvider).toBe('supabase');
    expect(options.providers.s3).toEqual({
      type: 's3',
      config: { bucket: 'boards-prod-artifacts', region: 'us-west-2', access_key_id: 'id', secret_access_key: 'secret' },
    });
    const resolved = resolveStorageOptions(options);
    expect(resolved.routingRules).toEqual([
      { artifactType: 'video', sizeGt: 100 * 1024 * 1024, contentType: undefined, provider: 's3' },
      { artifactType: 'model', sizeGt: undefined, contentType: undefined, provider: 'supabase' },
      { artifactType: undefined, sizeGt: undefined, contentType: undefined, provider: 'supabase' },
    ]);
    expect(resolved.cleanup).toMatchObject({ tempFileTtlHours: 24, cleanupIntervalHours: 1, maxCleanupBatchSize: 1000 });
    expect(resolved.maxFileSize).toBe(100 * 1024 * 1024);
    expect(resolved.allowedContentTypes).toContain('application/octet-stream');
  });

  it('interpolates ${VAR} and ${VAR:-default} in values only', () => {
    const problems: string[] = [];
    expect(interpolateEnv({ a: '${X}', b: 'pre-${Y:-dflt}-post', c: ['${X}'], d: 5 }, { X: 'x' }, '', problems)).toEqual({
      a: 'x',
      b: 'pre-dflt-post',
      c: ['x'],
      d: 5,
    });
    expect(problems).toEqual([]);
    // A value that looks like YAML stays a string: no structure can be injected.
    const options = parseStorageConfig(
      'default_provider: local\nproviders:\n  local:\n    type: local\n    config:\n      base_path: "${P}"\n',
      { P: '/x\nevil: true' },
    );
    expect(options.providers.local.config).toEqual({ base_path: '/x\nevil: true' });
  });

  it('lets booleans and integers come from the environment', () => {
    const yaml = `
default_provider: local
verify_on_read: "\${VERIFY}"
providers:
  local: { type: local, optional: "\${OPTIONAL:-false}", config: { base_path: /tmp/x } }
cleanup: { enabled: "\${CLEANUP_ENABLED}", max_cleanup_batch_size: "\${BATCH:-250}" }
`;
    const resolved = resolveStorageOptions(parseStorageConfig(yaml, { VERIFY: 'true', CLEANUP_ENABLED: 'false' }));
    expect(resolved.verifyOnRead).toBe(true);
    expect(resolved.cleanup.enabled).toBe(false);
    expect(resolved.cleanup.maxCleanupBatchSize).toBe(250);
    expect(problemsOf(() => parseStorageConfig(yaml, { VERIFY: 'yes', CLEANUP_ENABLED: 'false' }))).toEqual(['verify_on_read: must be a boolean value']);
  });

  it('lets provider booleans and integers come from the environment too', () => {
    const yaml = `
default_provider: files
providers:
  files:
    type: local
    config:
      base_path: /tmp/x
      fsync: "\${FSYNC:-false}"
      encryption: { master_keys: { k1: "\${KEY}" }, chunk_size: "\${CHUNK:-131072}" }
  scratch: { type: memory, config: { max_total_bytes: "\${SCRATCH_BYTES}" } }
  media: { type: gcs, config: { bucket: bkt, use_auth_with_custom_endpoint: "true", resumable_threshold: "1048576" } }
  models: { type: supabase, config: { url: "https://x.supabase.co", key: k, bucket: m, public: "false", tus_threshold_bytes: "0", tus_chunk_bytes: "6291456" } }
  archive: { type: s3, config: { bucket: b, region: r, queue_size: "2" } }
`;
    expect(() => parseStorageConfig(yaml, { KEY: Buffer.alloc(32, 1).toString('base64'), SCRATCH_BYTES: '1000' })).not.toThrow();
    expect(problemsOf(() => parseStorageConfig(yaml, { KEY: Buffer.alloc(32, 1).toString('base64'), SCRATCH_BYTES: 'lots', FSYNC: 'maybe' }))).toEqual([
      'providers.files.config.fsync: must be a boolean value',
      'providers.scratch.config.max_total_bytes: must not be less than 0',
      'providers.scratch.config.max_total_bytes: must be an integer number',
    ]);
  });

  it('names every unset variable with its path', () => {
    expect(problemsOf(() => parseStorageConfig(DESIGN_YAML, {}))).toEqual([
      'providers.supabase.config.url: environment variable SUPABASE_URL is not set (use ${SUPABASE_URL:-default} for a default)',
      'providers.supabase.config.key: environment variable SUPABASE_ANON_KEY is not set (use ${SUPABASE_ANON_KEY:-default} for a default)',
      'providers.s3.config.access_key_id: environment variable AWS_ACCESS_KEY_ID is not set (use ${AWS_ACCESS_KEY_ID:-default} for a default)',
      'providers.s3.config.secret_access_key: environment variable AWS_SECRET_ACCESS_KEY is not set (use ${AWS_SECRET_ACCESS_KEY:-default} for a default)',
    ]);
  });

  it('lists every problem at once, each with its path, in the YAML names', () => {
    const yaml = `
storage:
  default_provider: nowhere
  max_file_size: lots
  providers:
    local:
      type: local
      optional: "yes"
    "bad name!":
      type: local
    s3:
      type: s3
      config: { bucket: 7, region: eu-west-1, part_size: 1MB }
  routing_rules:
    - condition: { artifact_type: video, size_gt: huge }
      provider: missing
    - {}
  cleanup:
    temp_file_ttl_hours: -1
  unknown_key: 1
`;
    const problems = problemsOf(() => parseStorageConfig(yaml, {}));
    expect(problems).toEqual(
      expect.arrayContaining([
        'max_file_size: must be a size such as 104857600, "100MB" or "2GB"',
        'routing_rules[0].condition.size_gt: must be a size such as 104857600, "100MB" or "2GB"',
        'routing_rules[1].provider: must be a string',
        'cleanup.temp_file_ttl_hours: must not be less than 0',
        'unknown_key: is not a known option',
        'providers.local.optional: must be a boolean value',
        'providers.bad name!: a provider name must start with a letter and use letters, digits, "_" or "-"',
        'default_provider: "nowhere" is not a configured provider',
        'routing_rules[0].provider: "missing" is not a configured provider',
        // The config blocks of built-in types are checked in the same pass.
        'providers.s3.config.bucket: must be a string',
        'providers.s3.config.part_size: must be between 5MB and 5GB',
        'providers.local.config.base_path: should not be empty',
      ]),
    );
  });

  const FIVE_PROBLEMS_YAML = fiveProblemsYaml('/tmp/boards-never-created');

  it('reports cross-references, signing and encryption keys and the cleanup schedule in one error', () => {
    const problems = problemsOf(() => parseStorageConfig(FIVE_PROBLEMS_YAML, {}, 'storage.yaml', { providerTypes: [] }));
    expect(problems).toEqual(expect.arrayContaining(FIVE_PROBLEMS));
    expect(problems).toHaveLength(FIVE_PROBLEMS.length);
  });

  it('leaves a type that is not built in to the module unless it is told the custom types', () => {
    const problems = problemsOf(() => parseStorageConfig(FIVE_PROBLEMS_YAML, {}));
    expect(problems).toEqual(expect.arrayContaining(FIVE_PROBLEMS.filter((problem) => !problem.startsWith('providers.other.type'))));
    expect(problems).toHaveLength(FIVE_PROBLEMS.length - 1);
  });

  it('checks the config blocks of the custom types it is told, and knows their names', () => {
    class BoxConfig {
      @IsString() shelf!: string;
    }
    @StorageProviderType('box', { config: BoxConfig })
    class BoxProvider extends MemoryStorageProvider {}
    const yaml = 'default_provider: a\nproviders:\n  a: { type: box, config: { shelf: 3 } }\n  b: { type: crate }\n';
    expect(problemsOf(() => parseStorageConfig(yaml, {}, 'storage.yaml', { providerTypes: [BoxProvider] }))).toEqual([
      'providers.a.config.shelf: must be a string',
      'providers.b.type: unknown provider type "crate" (known: local, memory, s3, gcs, supabase, box; register custom types with providerTypes)',
    ]);
  });

  it('refuses signing keys that cannot sign, and a Redis lock without its URL, with their paths', () => {
    const yaml = `
default_provider: a
providers:
  a: { type: local, config: { base_path: /tmp/x, signing_keys: { k1: "0123456789abcdef" }, signing_key_id: k2 } }
  b: { type: memory, config: { signing_keys: {} } }
  c: { type: local, config: { base_path: /tmp/y, encryption: { master_keys: { k1: "${Buffer.alloc(32, 1).toString('base64')}" }, active_key_id: k9 } } }
cleanup: { lock: redis, cron: "15 */6 * * *" }
`;
    expect(problemsOf(() => parseStorageConfig(yaml, {}))).toEqual([
      'cleanup.lock is "redis" but cleanup.redis_url is not set',
      'providers.a.config.signing_key_id: "k2" is not one of signing_keys (k1)',
      'providers.b.config.signing_keys: at least one signing key is required (or leave signing_keys out)',
      'providers.c.config.encryption.active_key_id: "k9" is not one of master_keys (k1)',
    ]);
  });

  it('reads an empty active_key_id or signing_key_id as "the only key", as the key rings do', () => {
    const key = Buffer.alloc(32, 1).toString('base64');
    const yaml = `
default_provider: a
providers:
  a:
    type: local
    config:
      base_path: /tmp/x
      signing_keys: { k1: "0123456789abcdef" }
      signing_key_id:
      encryption: { master_keys: { k1: "${key}" }, active_key_id: }
`;
    expect(() => parseStorageConfig(yaml, {})).not.toThrow();
  });

  it('refuses a document that is not YAML or not a mapping', () => {
    expect(() => parseStorageConfig('a: [unclosed', {})).toThrowError(ConfigurationError);
    expect(() => parseStorageConfig('- a\n- b\n', {})).toThrowError(/must hold a mapping/);
  });
});

describe('options from code', () => {
  it('reports camelCase paths', () => {
    const problems = problemsOf(() =>
      resolveStorageOptions({ defaultProvider: 'x', providers: { a: { type: 'local', fallbacks: ['a', 'zz'] } }, maxFileSizeByType: { video: 'big' } }),
    );
    expect(problems).toEqual([
      'defaultProvider: "x" is not a configured provider',
      'providers.a.fallbacks[0]: "a" is not another configured provider',
      'providers.a.fallbacks[1]: "zz" is not another configured provider',
      'maxFileSizeByType.video: must be a size such as "2GB"',
    ]);
  });

  it('needs at least one provider', () => {
    expect(problemsOf(() => resolveStorageOptions({ defaultProvider: 'x', providers: {} }))).toContain('providers: must configure at least one provider');
  });
});

describe('parseSize', () => {
  it.each([
    [1024, 1024],
    ['100MB', 100 * 1024 * 1024],
    ['1.5GB', 1.5 * 1024 ** 3],
    ['512KiB', 512 * 1024],
    ['10b', 10],
    ['42', 42],
  ])('%j -> %d', (input, bytes) => expect(parseSize(input)).toBe(bytes));
  it.each(['lots', '-1MB', '', 'MB', -5, 1.5, '1e9'])('%j is not a size', (input) => expect(parseSize(input)).toBeUndefined());
});
