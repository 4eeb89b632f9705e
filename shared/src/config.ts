/**
 * Configuration from environment variables. One table (`CONFIG_VARS`) holds every variable with
 * its default and description; the README's configuration table is generated from it
 * (`configTableMarkdown()`), and `loadConfig()` validates it with zod, naming the variable and
 * what it expected when something is wrong.
 */
import os from 'node:os';
import { z } from 'zod';
import { ModelName } from './contracts.js';
import { ConfigError } from './errors.js';
import { parseServerWeights } from './server-weights.js';
import { parseWebGpuOptions } from './webgpu-options.js';

const int = (min: number, max: number) => {
  const expected = `an integer from ${min} to ${max}`;
  return z.coerce.number({ error: expected }).int(expected).min(min, expected).max(max, expected);
};
const optionalString = z
  .string()
  .optional()
  .transform((s) => (s === undefined || s.trim() === '' ? undefined : s.trim()));

interface VarSpec<S extends z.ZodType> {
  schema: S;
  /** The default as a string (what an operator would write); none when absent. */
  default?: string;
  /** Shown in the README instead of `default` when the default is computed at start. */
  defaultLabel?: string;
  description: string;
  secret?: boolean;
  /** Which process reads it (for the README). */
  usedBy: 'all' | 'renderer' | 'bot' | 'cli' | 'scheduler';
}

function v<S extends z.ZodType>(spec: VarSpec<S>): VarSpec<S> {
  return spec;
}

/** Every environment variable tessera reads. */
export const CONFIG_VARS = {
  NATS_URL: v({
    schema: z.string().regex(/^(nats|tls|wss?):\/\/\S+$/, 'a nats:// URL (comma-separated for several)'),
    default: 'nats://127.0.0.1:4222',
    description: 'NATS server(s), comma-separated.',
    usedBy: 'all',
  }),
  NATS_USER: v({
    schema: optionalString,
    description: 'NATS user name (optional).',
    usedBy: 'all',
  }),
  NATS_PASSWORD: v({
    schema: optionalString,
    description: 'NATS password (optional).',
    secret: true,
    usedBy: 'all',
  }),
  NATS_TOKEN: v({
    schema: optionalString,
    description: 'NATS auth token (optional).',
    secret: true,
    usedBy: 'all',
  }),
  NATS_NKEY_FILE: v({
    schema: optionalString,
    description:
      "File holding this process's NATS nkey seed (`SU…`, one per role: admin, bot, renderer, operator, scheduler). `tessera start` generates them under `.tessera/credentials/`; deploy mounts them at `/run/secrets/tessera/<role>.nk`.",
    usedBy: 'all',
  }),
  NATS_TLS_CA: v({
    schema: optionalString,
    description: 'CA certificate (PEM file) to verify the NATS server with; set it to connect over TLS.',
    usedBy: 'all',
  }),
  NATS_TLS_CERT: v({
    schema: optionalString,
    description: 'Client certificate (PEM file) when the server verifies clients (with NATS_TLS_KEY).',
    usedBy: 'all',
  }),
  NATS_TLS_KEY: v({
    schema: optionalString,
    description: 'Private key (PEM file) of NATS_TLS_CERT.',
    secret: true,
    usedBy: 'all',
  }),
  FARM_MODELS: v({
    schema: optionalString.pipe(
      z
        .string()
        .regex(/^[a-z0-9][a-z0-9_-]{0,63}(,[a-z0-9][a-z0-9_-]{0,63})*$/, 'comma-separated model names')
        .optional(),
    ),
    defaultLabel: 'RENDERER_MODEL',
    description:
      '`tessera setup`: models that get a jobs consumer (`renderer-<model>`), comma-separated. Renderers cannot create consumers: add a model here and rerun setup before starting its renderers.',
    usedBy: 'cli',
  }),
  NATS_REPLICAS: v({
    schema: z.coerce
      .number({ error: '1 or 3' })
      .refine((n) => n === 1 || n === 3, '1 or 3')
      .transform((n) => n as 1 | 3),
    default: '1',
    description:
      'Copies of every stream, KV bucket and the object store: 1 on one NATS node, 3 on a cluster (raises existing ones; see `deploy/nats/CLUSTER.md`).',
    usedBy: 'all',
  }),
  METRICS_PORT: v({
    schema: int(0, 65_535),
    default: '0',
    description: 'Port of the Prometheus `/metrics` endpoint of the bot or renderer; 0 = off.',
    usedBy: 'all',
  }),
  LOG_LEVEL: v({
    schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    default: 'info',
    description: 'pino log level.',
    usedBy: 'all',
  }),
  RENDERER_MODEL: v({
    schema: ModelName,
    default: 'tiny-shapes',
    description:
      'Model bundle this renderer serves (a folder under RENDERER_MODELS_DIR); also the default model of jobs.',
    usedBy: 'all',
  }),
  RENDERER_MODELS_DIR: v({
    schema: z.string().min(1),
    default: 'models',
    description: 'Folder holding model bundles (relative to the working directory).',
    usedBy: 'renderer',
  }),
  RENDERER_EP: v({
    schema: z.enum(['auto', 'cpu', 'webgpu', 'cuda']),
    default: 'auto',
    description:
      'onnxruntime execution provider: auto picks cuda, then webgpu (only where a GPU device exists), then cpu.',
    usedBy: 'renderer',
  }),
  RENDERER_WEBGPU_OPTIONS: v({
    schema: z
      .string()
      .optional()
      .transform((s, ctx) => {
        try {
          return parseWebGpuOptions(s ?? '');
        } catch (err) {
          ctx.addIssue({
            code: 'custom',
            message: `name=value pairs of the WebGPU provider: ${(err as Error).message}`,
          });
          return z.NEVER;
        }
      }),
    description:
      'WebGPU provider options, e.g. `validationMode=disabled,preferredLayout=NCHW` (names and values: `shared/src/webgpu-options.ts`).',
    usedBy: 'renderer',
  }),
  RENDERER_VULKAN_ICD: v({
    schema: z.string().min(1).optional(),
    defaultLabel: 'auto',
    description:
      "Vulkan driver for WebGPU: unset, an NVIDIA node whose only ICD is the GLX one (which needs an X server) gets NVIDIA's headless EGL ICD; `off` leaves the loader alone; a path names an ICD file.",
    usedBy: 'renderer',
  }),
  RENDERER_ID: v({
    schema: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,128}$/, 'an id of A-Z a-z 0-9 _ . - (max 128)')
      .optional(),
    defaultLabel: '`<hostname>-<pid>`',
    description: 'Name of this renderer in presence, events and logs.',
    usedBy: 'renderer',
  }),
  RENDERER_FRAME_EVERY: v({
    schema: int(1, 10_000),
    default: '10',
    description: 'Publish a progress frame at most every N steps.',
    usedBy: 'renderer',
  }),
  RENDERER_FRAME_MIN_INTERVAL_MS: v({
    schema: int(0, 60_000),
    default: '250',
    description: 'And at most one progress event per this many milliseconds.',
    usedBy: 'renderer',
  }),
  RENDERER_MAX_JOB_BYTES: v({
    schema: int(1024, 1_048_576),
    default: '65536',
    description: 'Jobs larger than this are refused (images travel by object-store reference).',
    usedBy: 'renderer',
  }),
  RENDERER_RETRY_DELAY_MS: v({
    schema: int(0, 600_000),
    default: '2000',
    description: 'Base delay before a transiently failed job is redelivered; doubles per attempt.',
    usedBy: 'renderer',
  }),
  RENDERER_SHUTDOWN_GRACE_MS: v({
    schema: int(0, 600_000),
    default: '10000',
    description: 'On SIGTERM, how long the current job may run on before it is handed back to the queue.',
    usedBy: 'renderer',
  }),
  RENDERER_HEALTH_PORT: v({
    schema: int(0, 65_535),
    default: '0',
    description:
      'Serve `GET /readyz` (200 while taking jobs, else 503) and `/livez` on this port, for Kubernetes probes; 0 = off.',
    usedBy: 'renderer',
  }),
  JOB_ACK_WAIT_MS: v({
    schema: int(500, 3_600_000),
    default: '30000',
    description:
      'JetStream AckWait of the jobs consumer; renderers heartbeat (`working()`) at a third of it.',
    usedBy: 'all',
  }),
  JOB_MAX_DELIVER: v({
    schema: int(1, 100),
    default: '3',
    description: 'Deliveries of a job before it fails with `max-deliveries`.',
    usedBy: 'all',
  }),
  JOB_DUPLICATE_WINDOW_MS: v({
    schema: int(1000, 86_400_000),
    default: '120000',
    description: 'Window in which a job published again with the same id is dropped.',
    usedBy: 'all',
  }),
  JOB_MAX_QUEUE_S: v({
    schema: int(1, 604_800),
    default: '900',
    description:
      'A job no renderer has taken within this many seconds ends `failed: expired` (refunded); renderers sweep for them.',
    usedBy: 'all',
  }),
  RENDERER_SWEEP_INTERVAL_MS: v({
    schema: int(100, 3_600_000),
    default: '30000',
    description:
      'How often a renderer sweeps the work queue: expires jobs queued past `JOB_MAX_QUEUE_S` and removes acked jobs a server crash left behind.',
    usedBy: 'renderer',
  }),
  EVENTS_MAX_AGE_S: v({
    schema: int(60, 31_536_000),
    default: '86400',
    description: 'How long job events stay in the events stream.',
    usedBy: 'all',
  }),
  RESULTS_MAX_AGE_S: v({
    schema: int(60, 31_536_000),
    default: '604800',
    description: 'How long jobs, results and images are kept.',
    usedBy: 'all',
  }),
  SCHEDULER: v({
    schema: z.enum(['on', 'off']),
    default: 'off',
    description:
      'on: jobs go to the intake stream and the fair-share scheduler (`tessera scheduler`) releases them to the renderers; off: straight to the work queue in arrival order. `tessera start` runs one and turns it on for the bot (SCHEDULER=off: no scheduler); `tessera imagine` with SCHEDULER unset follows the farm (intake while a scheduler holds its lease).',
    usedBy: 'all',
  }),
  SCHEDULER_SERVER_WEIGHTS: v({
    schema: z
      .string()
      .optional()
      .transform((s, ctx) => {
        const parsed = parseServerWeights(s ?? '');
        if (parsed.ok) return parsed.weights;
        ctx.addIssue({
          code: 'custom',
          message: `guildId:weight pairs, comma-separated (${parsed.problem})`,
        });
        return z.NEVER;
      }),
    description:
      'Fair-share weight per Discord server, e.g. `123456789012345678:2,876543210987654321:0.5` (others weigh 1; `tessera farm weights` overrides at run time).',
    usedBy: 'scheduler',
  }),
  SCHEDULER_PREFETCH: v({
    schema: int(0, 100),
    default: '1',
    description:
      'Jobs released per model beyond the idle renderers, so a renderer that frees up never waits for the scheduler.',
    usedBy: 'scheduler',
  }),
  SCHEDULER_MEMBER_MAX_RUNNING: v({
    schema: int(0, 1000),
    default: '0',
    description: 'Renders one member may have released or running at once (0: no limit beyond fair share).',
    usedBy: 'scheduler',
  }),
  SCHEDULER_LEASE_MS: v({
    schema: int(1000, 60_000),
    default: '2500',
    description:
      'A standby scheduler takes over when the active one has not renewed its lease for this long.',
    usedBy: 'scheduler',
  }),
  DISCORD_TOKEN: v({
    schema: optionalString,
    description: 'Bot token. Without it `tessera start` runs no bot.',
    secret: true,
    usedBy: 'bot',
  }),
  DISCORD_APP_ID: v({
    schema: optionalString,
    description: 'Application id (for registering slash commands).',
    usedBy: 'bot',
  }),
  DISCORD_GUILD_ID: v({
    schema: optionalString,
    description: 'Register commands in this guild only (instant; for development).',
    usedBy: 'bot',
  }),
  DISCORD_API_BASE: v({
    schema: optionalString.pipe(z.url('an http(s) URL').optional()),
    defaultLabel: 'Discord',
    description: 'REST API base, e.g. `http://127.0.0.1:PORT/api` for a local fake Discord.',
    usedBy: 'bot',
  }),
  PLAYGROUND_PORT: v({
    schema: int(0, 65535),
    default: '8790',
    description:
      'Port of the playground page that `tessera start` opens without `DISCORD_TOKEN` (0 = any free port; `--playground-port` overrides).',
    usedBy: 'cli',
  }),
  BENCH_USE_NATS_URL: v({
    schema: z.enum(['0', '1'], { error: '0 or 1' }).transform((s) => s === '1'),
    default: '0',
    description:
      '`1`: the bot benchmark uses the server at `NATS_URL` instead of starting its own nats-server.',
    usedBy: 'cli',
  }),
} as const;

export type ConfigVarName = keyof typeof CONFIG_VARS;

/** The validated configuration, keyed by variable name. */
export type Config = { [K in ConfigVarName]: z.output<(typeof CONFIG_VARS)[K]['schema']> };

/** Variables whose values the logger must never print. */
export const SECRET_VARS = (Object.keys(CONFIG_VARS) as ConfigVarName[]).filter(
  (name) => (CONFIG_VARS[name] as VarSpec<z.ZodType>).secret === true,
);

function describeExpected(issue: z.core.$ZodIssue): string {
  // zod's own wording starts with "Invalid option: expected …"; keep the part after "expected".
  return issue.message.replace(/^Invalid (input|option): /, '').replace(/^expected /, '');
}

/**
 * Reads and validates every variable. Throws `ConfigError` listing each bad variable as
 * `NAME: expected …, got "…"` (secrets are not echoed).
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const out: Record<string, unknown> = {};
  const problems: { name: string; expected: string; got?: string }[] = [];
  for (const [name, spec] of Object.entries(CONFIG_VARS) as [ConfigVarName, VarSpec<z.ZodType>][]) {
    const raw = env[name] !== undefined && env[name] !== '' ? env[name] : spec.default;
    const parsed = spec.schema.safeParse(raw);
    if (parsed.success) {
      out[name] = parsed.data;
    } else {
      const expected = parsed.error.issues.map(describeExpected).join('; ');
      problems.push({ name, expected, ...(spec.secret ? {} : { got: raw }) });
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const config = out as Config;
  return { ...config, RENDERER_ID: config.RENDERER_ID ?? `${os.hostname()}-${process.pid}` };
}

/** The models `tessera setup` creates jobs consumers for: FARM_MODELS, else RENDERER_MODEL. */
export function farmModels(config: Config): string[] {
  return config.FARM_MODELS?.split(',') ?? [config.RENDERER_MODEL];
}

/** The README configuration table, generated from `CONFIG_VARS`. */
export function configTableMarkdown(): string {
  const rows = (Object.entries(CONFIG_VARS) as [ConfigVarName, VarSpec<z.ZodType>][]).map(([name, spec]) => {
    const def = spec.defaultLabel ?? (spec.default === undefined ? '—' : `\`${spec.default}\``);
    return `| \`${name}\` | ${def} | ${spec.usedBy} | ${spec.description}${spec.secret ? ' Secret: redacted in logs.' : ''} |`;
  });
  return ['| variable | default | used by | meaning |', '|---|---|---|---|', ...rows].join('\n');
}
