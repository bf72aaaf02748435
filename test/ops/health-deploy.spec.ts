import { readFileSync, readdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadStorageConfig, parseStorageConfig, resolveStorageOptions } from '@app/storage';
import { startTestServer, type TestServer } from '../support/server.js';
import { tempDir } from '../support/temp-dir.js';
import { restartableS3rver } from './health-support.js';

const DEPLOY = resolve(dirname(fileURLToPath(import.meta.url)), '../../deploy/kubernetes');

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Manifest = Record<string, any>;

function loadManifests(): { file: string; manifest: Manifest }[] {
  const out: { file: string; manifest: Manifest }[] = [];
  for (const file of readdirSync(DEPLOY).filter((name) => name.endsWith('.yaml'))) {
    for (const document of parseAllDocuments(readFileSync(join(DEPLOY, file), 'utf8'))) {
      if (document.errors.length) throw new Error(`${file}: ${document.errors.map((e) => e.message).join('; ')}`);
      out.push({ file, manifest: document.toJS() as Manifest });
    }
  }
  return out;
}

const manifests = loadManifests();
const byKind = (kind: string) => manifests.filter((m) => m.manifest.kind === kind).map((m) => m.manifest);
const named = (kind: string, name: string) => {
  const found = byKind(kind).find((m) => m.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name}`);
  return found;
};
const deployments = byKind('Deployment');
const matches = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.entries(selector).every(([key, value]) => labels[key] === value);

/** The environment a container of a Deployment sees (ConfigMap envFrom, plain values, the example Secret). */
function containerEnv(deployment: Manifest): Record<string, string> {
  const container = deployment.spec.template.spec.containers[0];
  const secret = named('Secret', 'boards-storage-secrets');
  const env: Record<string, string> = {};
  for (const source of container.envFrom ?? []) Object.assign(env, named('ConfigMap', source.configMapRef.name).data);
  for (const variable of container.env ?? []) {
    if (variable.value !== undefined) env[variable.name] = variable.value;
    else env[variable.name] = secret.stringData[variable.valueFrom.secretKeyRef.key];
  }
  return env;
}

describe('deploy/kubernetes manifests', () => {
  it('parse as YAML, each a named Kubernetes object, and the kustomization lists files that exist', () => {
    expect(manifests.length).toBeGreaterThanOrEqual(8);
    for (const { file, manifest } of manifests) {
      if (manifest.kind === 'Kustomization') continue;
      expect(manifest.apiVersion, file).toEqual(expect.any(String));
      expect(manifest.metadata?.name, file).toMatch(/^[a-z0-9-]+$/);
    }
    expect(new Set(deployments.map((d) => d.metadata.name))).toEqual(new Set(['boards-storage-api', 'boards-storage-cleanup']));
    const kustomization = byKind('Kustomization')[0];
    const files = new Set(readdirSync(DEPLOY));
    for (const resource of kustomization.resources) expect(files).toContain(resource);
    expect(kustomization.resources).not.toContain('secret.example.yaml'); // placeholders are never applied as-is
  });

  it('wire liveness and startup probes to /health/live and readiness to /health/ready on the container port', () => {
    for (const deployment of deployments) {
      const container = deployment.spec.template.spec.containers[0];
      const ports = new Map(container.ports.map((p: { name: string; containerPort: number }) => [p.name, p.containerPort]));
      expect(container.livenessProbe.httpGet.path).toBe('/health/live');
      expect(container.startupProbe.httpGet.path).toBe('/health/live');
      expect(container.readinessProbe.httpGet.path).toBe('/health/ready');
      for (const probe of [container.livenessProbe, container.startupProbe, container.readinessProbe]) {
        expect(ports.has(probe.httpGet.port)).toBe(true);
      }
      const env = containerEnv(deployment);
      expect(ports.get('http')).toBe(Number(env.PORT));
      // The server's own check timeout must end before the probe's, so a slow backend is reported by name.
      expect(container.readinessProbe.timeoutSeconds * 1000).toBeGreaterThan(Number(env.HEALTH_TIMEOUT_MS));
      expect(deployment.spec.template.spec.terminationGracePeriodSeconds * 1000).toBeGreaterThan(Number(env.SHUTDOWN_GRACE_MS));
      expect(deployment.spec.template.metadata.annotations['prometheus.io/path']).toBe('/metrics');
      expect(deployment.spec.template.metadata.annotations['prometheus.io/port']).toBe(env.PORT);
    }
  });

  it('route the Service and the disruption budget to the API pods only, never to the cleanup worker', () => {
    const api = named('Deployment', 'boards-storage-api');
    const worker = named('Deployment', 'boards-storage-cleanup');
    const service = named('Service', 'boards-storage');
    expect(matches(service.spec.selector, api.spec.template.metadata.labels)).toBe(true);
    expect(matches(service.spec.selector, worker.spec.template.metadata.labels)).toBe(false);
    expect(service.spec.ports[0].targetPort).toBe('http');
    const pdb = named('PodDisruptionBudget', 'boards-storage-api');
    expect(matches(pdb.spec.selector.matchLabels, api.spec.template.metadata.labels)).toBe(true);
    expect(matches(pdb.spec.selector.matchLabels, worker.spec.template.metadata.labels)).toBe(false);
    expect(pdb.spec.minAvailable).toBeLessThan(api.spec.replicas);
    for (const deployment of deployments) expect(matches(deployment.spec.selector.matchLabels, deployment.spec.template.metadata.labels)).toBe(true);
  });

  it('take every secret from the Secret, whose example holds only placeholders', () => {
    const secret = named('Secret', 'boards-storage-secrets');
    for (const key of ['BOARDS_JWT_SECRET', 'DATABASE_URL', 'STORAGE_SIGNING_SECRET']) expect(secret.stringData).toHaveProperty(key);
    for (const deployment of deployments) {
      const env = deployment.spec.template.spec.containers[0].env as { name: string; value?: string; valueFrom?: Manifest }[];
      for (const name of ['BOARDS_JWT_SECRET', 'DATABASE_URL', 'STORAGE_SIGNING_SECRET']) {
        const variable = env.find((v) => v.name === name);
        expect(variable?.valueFrom?.secretKeyRef, `${deployment.metadata.name} ${name}`).toMatchObject({ name: 'boards-storage-secrets', key: name });
      }
      for (const variable of env) {
        if (variable.valueFrom) expect(secret.stringData).toHaveProperty(variable.valueFrom.secretKeyRef.key);
      }
    }
    // ConfigMaps hold no secret: no Secret key among the env, and storage.yaml takes credentials from ${VAR} only.
    const secretKeys = Object.keys(secret.stringData);
    expect(Object.keys(named('ConfigMap', 'boards-storage-env').data).filter((key) => secretKeys.includes(key))).toEqual([]);
    for (const [key, text] of Object.entries(named('ConfigMap', 'boards-storage-config').data as Record<string, string>)) {
      const credentials = [...text.matchAll(/^\s*(access_key_id|secret_access_key|signing_secret|credentials):\s*(.*)$/gm)];
      expect(credentials.length, key).toBeGreaterThan(0);
      for (const [, field, value] of credentials) expect(value, `${key} ${field}`).toMatch(/^"\$\{[A-Z_]+(:-)?\}"$/);
    }
  });

  it('mount a storage.yaml that validates, with cleanup off on the API and on in the worker', () => {
    const files = named('ConfigMap', 'boards-storage-config').data as Record<string, string>;
    const resolved: Record<string, ReturnType<typeof resolveStorageOptions>> = {};
    for (const deployment of deployments) {
      const container = deployment.spec.template.spec.containers[0];
      const env = containerEnv(deployment);
      const mount = container.volumeMounts.find((m: { name: string }) => m.name === 'storage-config');
      const volume = deployment.spec.template.spec.volumes.find((v: { name: string }) => v.name === 'storage-config');
      expect(volume.configMap.name).toBe('boards-storage-config');
      const [item] = volume.configMap.items as { key: string; path: string }[];
      expect(env.STORAGE_CONFIG).toBe(`${mount.mountPath}/${item.path}`);
      expect(files).toHaveProperty([item.key]);
      const options = resolveStorageOptions(parseStorageConfig(files[item.key], env, `deploy ${item.key}`));
      expect(options.defaultProvider).toBe('primary');
      expect(options.providers.archive).toMatchObject({ type: 's3', optional: true, fallbacks: ['primary'] });
      resolved[deployment.metadata.name] = options;
    }
    const api = resolved['boards-storage-api'];
    const worker = resolved['boards-storage-cleanup'];
    expect([api.cleanup.enabled, worker.cleanup.enabled]).toEqual([false, true]);
    // The worker's copy differs in nothing else.
    expect({ ...worker, cleanup: { ...worker.cleanup, enabled: false } }).toEqual(api);
  });
});

/** The API container's storage.yaml and environment, against s3rver instead of AWS. */
describe('deploy/kubernetes: the server booted with the manifests\' storage.yaml', () => {
  let server: TestServer;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let s3: Awaited<ReturnType<typeof restartableS3rver>>;

  beforeAll(async () => {
    dir = await tempDir('boards-deploy-');
    const api = named('Deployment', 'boards-storage-api');
    const env = containerEnv(api);
    s3 = await restartableS3rver(`${dir.path}/s3`, [env.S3_BUCKET, env.S3_ARCHIVE_BUCKET]);
    Object.assign(env, {
      S3_ENDPOINT: s3.endpoint,
      S3_FORCE_PATH_STYLE: 'true',
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
    });
    const file = `${dir.path}/storage.yaml`;
    await writeFile(file, named('ConfigMap', 'boards-storage-config').data['storage.yaml']);
    server = await startTestServer({
      storage: () => loadStorageConfig(file, env),
      // Not the manifest's 2000 ms: on a loaded test machine the first S3 ping can take longer.
      env: { HEALTH_TIMEOUT_MS: '15000' },
    });
  });
  afterAll(async () => {
    await server?.close();
    await s3?.stop();
    await dir?.remove();
  });

  it('answers 200 on every path a manifest probes or scrapes, ready with both S3 providers up', async () => {
    const paths = new Set<string>();
    for (const deployment of deployments) {
      const { containers } = deployment.spec.template.spec;
      for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) paths.add(containers[0][probe].httpGet.path);
      paths.add(deployment.spec.template.metadata.annotations['prometheus.io/path']);
    }
    expect([...paths].sort()).toEqual(['/health/live', '/health/ready', '/metrics']);
    for (const path of paths) expect((await fetch(`${server.url}${path}`)).status, path).toBe(200);
    const ready = await (await fetch(`${server.url}/health/ready`)).json();
    expect(ready.status).toBe('ok');
    expect(ready.details['storage:primary']).toMatchObject({ status: 'up', type: 's3', optional: false });
    expect(ready.details['storage:archive']).toMatchObject({ status: 'up', type: 's3', optional: true });
  });
});
