/**
 * The deployment manifests (deploy/k8s, the compose files, the Dockerfile) against the code, so
 * names cannot drift: stream, consumer and subject names from shared/src/subjects.ts, environment
 * names from CONFIG_VARS, credentials paths from the per-role nkey convention. Every Kubernetes
 * object is validated offline against the Kubernetes schemas (kubernetes-models); KEDA objects
 * structurally.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Deployment } from 'kubernetes-models/apps/v1';
import { Job } from 'kubernetes-models/batch/v1';
import { ConfigMap, Namespace, Secret } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { FARM_ROLES } from '../../shared/src/auth.js';
import { CONFIG_VARS } from '../../shared/src/config.js';
import { createFarmMetrics } from '../../shared/src/metrics.js';
import {
  allCancelsSubject,
  allEventsSubject,
  allFramesSubject,
  eventsStream,
  jobsConsumer,
  jobsStream,
  jobsStreamSubjects,
  rendererPresenceSubject,
} from '../../shared/src/subjects.js';

const root = path.resolve(import.meta.dirname, '..', '..');
const k8sDir = path.join(root, 'deploy', 'k8s');

/** Variables whose CONFIG_VARS entries land in parallel (issue 13 / the security issue). */
const LANDING_VARS = ['NATS_NKEY_FILE', 'NATS_REPLICAS', 'METRICS_PORT'];
/** Read by the NVIDIA container toolkit / the image's runtime, not by tessera. */
const PLATFORM_VARS = [
  'NVIDIA_VISIBLE_DEVICES',
  'NVIDIA_DRIVER_CAPABILITIES',
  'NODE_ENV',
  'HOME',
  'DEBIAN_FRONTEND',
];
const KNOWN_VARS = new Set([...Object.keys(CONFIG_VARS), ...LANDING_VARS, ...PLATFORM_VARS]);
/** Every role has a Secret, a chart user and (where a workload runs as it) a mounted seed. */
const ROLES: readonly string[] = FARM_ROLES;
const SECRETS_DIR = '/run/secrets/tessera';

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML, walked freely; the assertions check its shape
type Obj = Record<string, any>;

function parseFile(file: string): Obj[] {
  const docs = parseAllDocuments(readFileSync(file, 'utf8'));
  return docs.map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${path.relative(root, file)}: ${doc.errors[0]!.message}`);
    return doc.toJS() as Obj;
  });
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.ya?ml$/.test(e.name))
    .map((e) => path.join(e.parentPath, e.name))
    .sort();
}

const k8sFiles = yamlFiles(k8sDir);
const kustomization = parseFile(path.join(k8sDir, 'kustomization.yaml'))[0]!;
/** Applied by the kustomization, plus the example Secrets (made by make-secrets.sh in a real cluster). */
const objects = [...(kustomization.resources as string[]), 'secrets.example.yaml'].flatMap((f) =>
  parseFile(path.join(k8sDir, f)),
);
const natsValues = parseFile(path.join(k8sDir, 'nats', 'values.yaml'))[0]!;
const composeFiles = readdirSync(path.join(root, 'deploy'))
  .filter((f) => /^docker-compose.*\.ya?ml$/.test(f))
  .map((f) => path.join(root, 'deploy', f));
const compose = Object.fromEntries(composeFiles.map((f) => [path.basename(f), parseFile(f)[0]!]));

function find(kind: string, name: string): Obj {
  const o = objects.find((x) => x.kind === kind && x.metadata?.name === name);
  if (!o) throw new Error(`no ${kind} ${name} in deploy/k8s`);
  return o;
}
const config = find('ConfigMap', 'tessera-config').data as Record<string, string>;

function podSpec(o: Obj): Obj {
  return o.spec.template.spec;
}
function envOf(container: Obj): Record<string, string | undefined> {
  return Object.fromEntries((container.env ?? []).map((e: Obj) => [e.name, e.value]));
}

const VALIDATORS: Record<string, (o: Obj) => void> = {
  'v1/Namespace': (o) => new Namespace(o as never).validate(),
  'v1/Secret': (o) => new Secret(o as never).validate(),
  'v1/ConfigMap': (o) => new ConfigMap(o as never).validate(),
  'apps/v1/Deployment': (o) => new Deployment(o as never).validate(),
  'batch/v1/Job': (o) => new Job(o as never).validate(),
  'keda.sh/v1alpha1/ScaledObject': validateScaledObject,
};

function validateScaledObject(o: Obj): void {
  const spec = o.spec;
  if (typeof o.metadata?.name !== 'string') throw new Error('ScaledObject: metadata.name');
  if (typeof spec?.scaleTargetRef?.name !== 'string')
    throw new Error('ScaledObject: spec.scaleTargetRef.name');
  for (const k of ['minReplicaCount', 'maxReplicaCount', 'pollingInterval', 'cooldownPeriod']) {
    if (spec[k] !== undefined && !Number.isInteger(spec[k]))
      throw new Error(`ScaledObject: spec.${k} not an integer`);
  }
  if (!Array.isArray(spec.triggers) || spec.triggers.length === 0)
    throw new Error('ScaledObject: no triggers');
  for (const t of spec.triggers as Obj[]) {
    if (typeof t.type !== 'string') throw new Error('ScaledObject: trigger without type');
    for (const [k, v] of Object.entries(t.metadata ?? {})) {
      // KEDA's trigger metadata is map[string]string: a bare number or boolean is rejected.
      if (typeof v !== 'string') throw new Error(`ScaledObject: trigger metadata ${k} must be a string`);
    }
  }
}

describe('deploy/k8s: every object is valid', () => {
  it('every YAML file parses and every manifest is listed in the kustomization', () => {
    const listed = new Set((kustomization.resources as string[]).map((f) => path.join(k8sDir, f)));
    const manifests = k8sFiles.filter(
      (f) => !/kustomization\.yaml$|\.example\.yaml$|[/\\]nats[/\\]values\.yaml$/.test(f),
    );
    for (const f of k8sFiles) expect(() => parseFile(f)).not.toThrow();
    expect([...listed].sort()).toEqual(manifests);
  });

  it('validates against the Kubernetes schemas (KEDA structurally)', () => {
    expect(objects.length).toBeGreaterThanOrEqual(8);
    for (const o of objects) {
      const validate = VALIDATORS[`${o.apiVersion}/${o.kind}`];
      expect(validate, `no validator for ${o.apiVersion} ${o.kind}`).toBeDefined();
      expect(() => validate!(o), `${o.kind} ${o.metadata?.name}`).not.toThrow();
    }
  });

  it('the validators do reject a broken object', () => {
    const broken = structuredClone(find('Deployment', 'tessera-renderer'));
    podSpec(broken).terminationGracePeriodSeconds = '150';
    expect(() => VALIDATORS['apps/v1/Deployment']!(broken)).toThrow(/terminationGracePeriodSeconds/);
    const keda = structuredClone(find('ScaledObject', 'tessera-renderer'));
    keda.spec.triggers.find((t: Obj) => t.type === 'nats-jetstream').metadata.lagThreshold = 1;
    expect(() => validateScaledObject(keda)).toThrow(/lagThreshold/);
  });
});

describe('deploy/k8s: names match the code', () => {
  it('the KEDA trigger reads the real jobs stream and consumer from the NATS chart monitoring port', () => {
    const scaled = find('ScaledObject', 'tessera-renderer');
    expect(scaled.spec.scaleTargetRef.name).toBe(find('Deployment', 'tessera-renderer').metadata.name);
    expect(scaled.spec.minReplicaCount).toBe(0);
    expect(scaled.spec.maxReplicaCount).toBeGreaterThan(1);
    const trigger = (scaled.spec.triggers as Obj[]).find((t) => t.type === 'nats-jetstream');
    expect(trigger!.metadata.stream).toBe(jobsStream());
    expect(trigger!.metadata.consumer).toBe(jobsConsumer(config.RENDERER_MODEL!));
    // No accounts block in the chart's auth: every user is in the global account.
    expect(natsValues.config.merge.authorization.users.length).toBe(ROLES.length);
    expect(natsValues.config.merge.accounts).toBeUndefined();
    expect(trigger!.metadata.account).toBe('$G');
    const [host, port] = (trigger!.metadata.natsServerMonitoringEndpoint as string).split(':');
    expect(host).toBe(`${natsValues.fullnameOverride}-headless.${kustomization.namespace}.svc.cluster.local`);
    expect(Number(port)).toBe(natsValues.config.monitor.port);
  });

  it('with the scheduler on, KEDA also sees the jobs waiting in intake (the whole-backlog metric)', () => {
    // The bot submits to intake (SCHEDULER=on for every pod); the work queue then holds only the
    // released jobs, so a second trigger reads tessera_queue_depth: lag + the model's intake.
    expect(CONFIG_VARS.SCHEDULER.schema.parse(config.SCHEDULER)).toBe('on');
    const scaled = find('ScaledObject', 'tessera-renderer');
    const prom = (scaled.spec.triggers as Obj[]).find((t) => t.type === 'prometheus');
    expect(prom, 'a prometheus trigger').toBeDefined();
    const metric = createFarmMetrics({ role: 'bot', processMetrics: false }).queueDepth as unknown as Obj;
    const consumer = jobsConsumer(config.RENDERER_MODEL!);
    expect(prom!.metadata.query).toBe(`max(${metric.name}{consumer="${consumer}"})`);
    expect(metric.labelNames).toEqual(['consumer']);
    expect(prom!.metadata.threshold).toBe('1');
    // The bot, always up, serves the metric while there are no renderers to scrape.
    expect(find('Deployment', 'tessera-bot').spec.template.metadata.annotations['prometheus.io/scrape']).toBe(
      'true',
    );
  });

  it('the NATS chart runs a 3-node JetStream cluster and the clients know every node', () => {
    expect(natsValues.config.cluster).toMatchObject({ enabled: true, replicas: 3 });
    expect(natsValues.config.jetstream.enabled).toBe(true);
    expect(config.NATS_REPLICAS).toBe('3');
    const seeds = config.NATS_URL!.split(',');
    expect(seeds).toEqual(
      [0, 1, 2].map(
        (i) => `nats://${natsValues.fullnameOverride}-${i}.${natsValues.fullnameOverride}-headless:4222`,
      ),
    );
    expect(() => CONFIG_VARS.NATS_URL.schema.parse(config.NATS_URL)).not.toThrow();
  });

  it('the chart takes each role public key from that role Secret', () => {
    const users = natsValues.config.merge.authorization.users as Obj[];
    const env = natsValues.container.env as Record<string, Obj>;
    for (const role of ROLES) {
      const name = `NKEY_${role.toUpperCase()}`;
      expect(users.map((u) => u.nkey)).toContain(`<< $${name} >>`);
      const ref = env[name]!.valueFrom.secretKeyRef;
      expect(ref).toEqual({ name: `tessera-nats-${role}`, key: `${role}.pub` });
      expect(Object.keys(find('Secret', ref.name).stringData).sort()).toEqual([`${role}.nk`, `${role}.pub`]);
    }
  });

  it('every environment variable and ConfigMap key is one tessera reads, with a valid value', () => {
    const names: [string, string | undefined][] = Object.entries(config);
    for (const o of objects.filter((x) => x.kind === 'Deployment' || x.kind === 'Job')) {
      for (const c of podSpec(o).containers as Obj[]) names.push(...Object.entries(envOf(c)));
    }
    for (const [name, value] of names) {
      expect(KNOWN_VARS, `${name} is not in CONFIG_VARS`).toContain(name);
      const spec = CONFIG_VARS[name as keyof typeof CONFIG_VARS];
      if (spec && value !== undefined)
        expect(spec.schema.safeParse(value).success, `${name}=${value}`).toBe(true);
    }
  });

  it('stream and subject names in any manifest are the ones shared/src/subjects.ts builds', () => {
    const kinds = new Set(
      [
        jobsStreamSubjects()[0]!,
        allEventsSubject(),
        allFramesSubject(),
        allCancelsSubject(),
        rendererPresenceSubject('x'),
      ].map((s) => s.split('.')[1]),
    );
    const streams = new Set([jobsStream(), eventsStream()]);
    const texts = [...k8sFiles, ...composeFiles].map((f) => readFileSync(f, 'utf8'));
    for (const text of texts) {
      for (const m of text.matchAll(/(?<![\w.-])tessera\.([a-z]+)\./g)) expect(kinds).toContain(m[1]);
      for (const m of text.matchAll(/(?<![${\w])TESSERA_[A-Z_]+\b/g)) expect(streams).toContain(m[0]);
    }
    expect(texts.join('\n')).toContain(jobsStream());
  });
});

describe('deploy/k8s: the workloads', () => {
  it('renderers: one GPU, a grace period covering the longest render plus drain, a readiness probe', () => {
    const renderer = find('Deployment', 'tessera-renderer');
    const [c] = podSpec(renderer).containers as Obj[];
    const env = envOf(c!);
    expect(c!.args).toEqual(['renderer']);
    expect(c!.resources.limits['nvidia.com/gpu']).toBe(1);
    expect(env.NVIDIA_DRIVER_CAPABILITIES?.split(',')).toContain('graphics');
    const graceMs = Number(env.RENDERER_SHUTDOWN_GRACE_MS ?? CONFIG_VARS.RENDERER_SHUTDOWN_GRACE_MS.default);
    expect(podSpec(renderer).terminationGracePeriodSeconds * 1000).toBeGreaterThanOrEqual(graceMs + 15_000);
    const probePort = (c!.ports as Obj[]).find((p) => p.name === c!.readinessProbe.httpGet.port);
    expect(c!.readinessProbe.httpGet.path).toBe('/readyz');
    expect(String(probePort?.containerPort)).toBe(env.RENDERER_HEALTH_PORT);
  });

  it('the bot is one replica and never two at once', () => {
    const bot = find('Deployment', 'tessera-bot');
    expect(bot.spec.replicas).toBe(1);
    expect(bot.spec.strategy).toEqual({ type: 'Recreate' });
    expect((podSpec(bot).containers as Obj[])[0]!.args).toEqual(['bot']);
  });

  it('the scheduler runs twice (one active, one standby through the KV lease) with its own key', () => {
    const scheduler = find('Deployment', 'tessera-scheduler');
    expect(scheduler.spec.replicas).toBe(2);
    // The lease, not the rollout, decides who releases: a surge to three is harmless.
    expect(scheduler.spec.strategy.type).toBe('RollingUpdate');
    const [c] = podSpec(scheduler).containers as Obj[];
    expect(c!.args).toEqual(['scheduler']);
    expect(envOf(c!).NATS_NKEY_FILE).toBe(`${SECRETS_DIR}/scheduler.nk`);
    expect(c!.envFrom).toEqual([{ configMapRef: { name: 'tessera-config' } }]);
    const lease = Number(envOf(c!).SCHEDULER_LEASE_MS ?? CONFIG_VARS.SCHEDULER_LEASE_MS.default);
    // SIGTERM hands the lease over; the grace period covers that and the drain.
    expect(podSpec(scheduler).terminationGracePeriodSeconds * 1000).toBeGreaterThan(lease);
    for (const name of Object.keys(envOf(c!)))
      expect(['all', 'scheduler']).toContain(CONFIG_VARS[name as keyof typeof CONFIG_VARS]?.usedBy ?? 'all');
  });

  it('make-secrets.sh makes a Secret for every role', () => {
    const script = readFileSync(path.join(k8sDir, 'make-secrets.sh'), 'utf8');
    const list = script.match(/for \(const role of (\[[^\]]*\])\)/)?.[1];
    expect(JSON.parse(list ?? '[]')).toEqual([...ROLES]);
  });

  it('the setup Job runs `tessera setup` with the admin credentials', () => {
    const [c] = podSpec(find('Job', 'tessera-setup')).containers as Obj[];
    expect(c!.args).toEqual(['setup']);
    expect(envOf(c!).NATS_NKEY_FILE).toBe(`${SECRETS_DIR}/admin.nk`);
  });

  it('each pod mounts exactly the seed its NATS_NKEY_FILE names, from its role Secret', () => {
    for (const o of objects.filter((x) => x.kind === 'Deployment' || x.kind === 'Job')) {
      const spec = podSpec(o);
      const [c] = spec.containers as Obj[];
      const file = envOf(c!).NATS_NKEY_FILE!;
      const role = path.basename(file, '.nk');
      expect(ROLES).toContain(role);
      expect(path.dirname(file)).toBe(SECRETS_DIR);
      const mount = (c!.volumeMounts as Obj[]).find((m) => m.mountPath === SECRETS_DIR);
      const volume = (spec.volumes as Obj[]).find((v) => v.name === mount?.name);
      expect(volume?.secret).toEqual({
        secretName: `tessera-nats-${role}`,
        items: [{ key: `${role}.nk`, path: `${role}.nk` }],
      });
    }
  });

  it('scrapes metrics on METRICS_PORT', () => {
    for (const name of ['tessera-renderer', 'tessera-bot']) {
      const d = find('Deployment', name);
      expect(d.spec.template.metadata.annotations['prometheus.io/port']).toBe(config.METRICS_PORT);
      const ports = (podSpec(d).containers as Obj[])[0]!.ports as Obj[];
      expect(ports.map((p) => String(p.containerPort))).toContain(config.METRICS_PORT);
    }
  });
});

describe('compose files and the Dockerfile', () => {
  it('environment names are ones tessera reads; nkey files are mounted where NATS_NKEY_FILE says', () => {
    expect(Object.keys(compose)).toContain('docker-compose.yml');
    for (const [file, doc] of Object.entries(compose)) {
      for (const [service, s] of Object.entries(doc.services as Record<string, Obj>)) {
        const env = (s.environment ?? {}) as Record<string, string>;
        for (const name of Object.keys(env))
          expect(KNOWN_VARS, `${file} ${service}: ${name}`).toContain(name);
        if (env.NATS_NKEY_FILE === undefined) continue;
        expect((s.secrets as Obj[]).map((x) => x.target)).toContain(env.NATS_NKEY_FILE);
        expect(ROLES).toContain(path.basename(env.NATS_NKEY_FILE, '.nk'));
      }
    }
    const main = compose['docker-compose.yml']!.services as Record<string, Obj>;
    expect(main.setup!.command).toEqual(['setup']);
    expect(main.renderer!.command).toEqual(['renderer']);
    expect(main.bot!.command).toEqual(['bot']);
  });

  it('compose runs two schedulers with the scheduler key, and the bot submits to intake', () => {
    const doc = compose['docker-compose.yml']!;
    const main = doc.services as Record<string, Obj>;
    const scheduler = main.scheduler!;
    expect(scheduler.command).toEqual(['scheduler']);
    expect(scheduler.deploy.replicas).toBe(2);
    expect(scheduler.environment.NATS_NKEY_FILE).toBe(`${SECRETS_DIR}/scheduler.nk`);
    const [secret] = scheduler.secrets as Obj[];
    expect(doc.secrets[secret!.source].file).toBe('./secrets/scheduler.nk');
    expect(main.bot!.environment.SCHEDULER).toBe('on');
    expect(Object.keys(scheduler.depends_on)).toEqual(['setup']);
    // Every role seed `tessera credentials` writes has a compose secret (one file per role).
    const files = Object.values(doc.secrets as Record<string, Obj>).map((x) => path.basename(x.file, '.nk'));
    expect(files.sort()).toEqual(ROLES.filter((r) => r !== 'operator').sort());
  });

  it('the GPU example reserves an NVIDIA GPU with the graphics capability for WebGPU', () => {
    const gpu = compose['docker-compose.gpu.yml']!.services.renderer as Obj;
    const [device] = gpu.deploy.resources.reservations.devices as Obj[];
    expect(device!.capabilities).toContain('gpu');
    expect(gpu.environment.NVIDIA_DRIVER_CAPABILITIES.split(',')).toEqual(
      expect.arrayContaining(['compute', 'utility', 'graphics']),
    );
  });

  it('the Dockerfile sets only known variables and runs the compiled CLI as PID 1', () => {
    const text = readFileSync(path.join(root, 'deploy', 'docker', 'Dockerfile'), 'utf8');
    const envBlocks = text.match(/^ENV (?:.*\\\n)*.*$/gm) ?? [];
    const names = envBlocks.flatMap((b) => [...b.matchAll(/([A-Z_][A-Z0-9_]*)=/g)].map((m) => m[1]!));
    expect(names).toContain('RENDERER_MODELS_DIR');
    for (const name of names) expect(KNOWN_VARS, `Dockerfile ENV ${name}`).toContain(name);
    expect(text).toMatch(/^ENTRYPOINT \["node", "dist\/deploy\/cli\/main\.js"\]$/m);
    const instructions = text.split('\n').filter((l) => !l.trimStart().startsWith('#'));
    expect(instructions.join('\n')).not.toMatch(/--(import|loader)[ =]tsx|tessera\.mjs|\.ts\b"/);
    // …and the image drops tsx itself, so nothing in it can run TypeScript.
    expect(instructions.join('\n')).toMatch(/rm -rf node_modules\/tsx /);
  });
});
