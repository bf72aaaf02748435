/**
 * One storage configuration with five problems of five kinds, each of which used to stop a boot
 * on its own, one per attempt, some only once a provider or the sweeper started.
 */
export function fiveProblemsYaml(basePath: string): string {
  return `
storage:
  default_provider: local
  providers:
    local:
      type: local
      fallbacks: [local]
      config:
        base_path: ${basePath}
        signing_keys: { k1: short }
        encryption: { master_keys: { k1: not-a-key } }
    other:
      type: nosuchtype
  cleanup:
    cron: "not a cron"
`;
}

/** The problems that configuration must be refused with, every one in the same error. */
export const FIVE_PROBLEMS = [
  'providers.local.fallbacks[0]: "local" is not another configured provider',
  'providers.other.type: unknown provider type "nosuchtype" (known: local, memory, s3, gcs, supabase; register custom types with providerTypes)',
  'providers.local.config.signing_keys.k1: must be a secret of at least 16 characters',
  'providers.local.config.encryption.master_keys.k1: must be 32 random bytes in base64 (e.g. `openssl rand -base64 32`)',
  'cleanup.cron "not a cron" is not a valid cron expression',
];
