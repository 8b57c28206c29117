import { z } from 'zod';

/**
 * The environment, parsed once at start and frozen. A bad value stops the process with a message
 * naming the variable (see `ConfigError`), because a half-configured exchange that starts anyway
 * is worse than one that refuses to.
 */
const Roles = ['api', 'workers', 'scheduler'] as const;
export type Role = (typeof Roles)[number];

const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

const EnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
    .default('postgres://postgres@127.0.0.1:5432/kts'),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must be a redis:// URL')
    .default('redis://127.0.0.1:6379'),
  KTS_ADMIN_TOKEN: z
    .string()
    .min(24, 'must be at least 24 characters (it is the state office key)'),
  KTS_QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_{}-]{1,64}$/, 'must be 1-64 letters, digits, _ - { }')
    .default('kts'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  KTS_ROLES: z
    .string()
    .default('api,workers,scheduler')
    .transform((s, ctx) => {
      const roles = s
        .split(',')
        .map((r) => r.trim())
        .filter(Boolean);
      for (const r of roles) {
        if (!(Roles as readonly string[]).includes(r)) {
          ctx.addIssue({
            code: 'custom',
            message: `unknown role "${r}" (use ${Roles.join(', ')})`,
          });
          return z.NEVER;
        }
      }
      if (roles.length === 0) {
        ctx.addIssue({ code: 'custom', message: `name at least one of ${Roles.join(', ')}` });
        return z.NEVER;
      }
      return [...new Set(roles)] as Role[];
    }),
  KTS_NOW: z.iso.datetime({ offset: true }).optional(),
  KTS_WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(200).default(8),
  /** Lock and stall intervals are shortened only by the fault tests. */
  KTS_LOCK_DURATION_MS: z.coerce.number().int().min(1000).default(30_000),
  KTS_STALLED_INTERVAL_MS: z.coerce.number().int().min(1000).default(30_000),
  KTS_SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(100).default(25_000),
  KTS_SWEEP_INTERVAL_MS: z.coerce.number().int().min(100).default(15_000),
  /** An event still pending this long after it arrived is enqueued again by the sweeper. */
  KTS_SWEEP_AFTER_MS: z.coerce.number().int().min(0).default(30_000),
  /** A request (headers and body) must arrive within this long, or the connection is cut. */
  KTS_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).default(30_000),
  KTS_DB_POOL_MAX: z.coerce.number().int().min(1).max(100).default(10),
  KTS_MIGRATE_ON_START: bool.default(true),
  /**
   * Requests per credential per window (all API processes together). The default, 3000 per 10 s,
   * sustains 300 requests/s with room for a center posting a whole morning at once.
   */
  KTS_RATE_LIMIT_MAX: z.coerce.number().int().min(1).default(3000),
  KTS_RATE_LIMIT_WINDOW_MS: z.coerce.number().int().min(100).default(10_000),
  /** Local time of the nightly unknown-attendance sync in each time zone in use. */
  KTS_SYNC_AT: z
    .string()
    .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be a local time written HH:MM, like 01:30')
    .default('01:30'),
  /** Safety hold: a school's night is held when it would create more than max(MIN, FACTOR x usual) unknowns. */
  KTS_SYNC_HOLD_MIN: z.coerce.number().int().min(0).default(500),
  KTS_SYNC_HOLD_FACTOR: z.coerce.number().min(1).default(5),
  /** How often the scheduler re-upserts the job schedulers (new time zones; Redis restarted empty). */
  KTS_SCHEDULER_REFRESH_MS: z.coerce.number().int().min(1000).default(60_000),
});

export type Config = Readonly<Omit<z.infer<typeof EnvSchema>, 'KTS_ROLES'>> & {
  readonly KTS_ROLES: readonly Role[];
};

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // Empty strings mean "unset", as in most deploy tools' templates.
  const cleaned = Object.fromEntries(
    Object.entries(env).filter(([, v]) => v !== undefined && v !== ''),
  );
  const result = EnvSchema.safeParse(cleaned);
  if (!result.success) {
    const lines = result.error.issues.map((i) => {
      const name = String(i.path[0] ?? '?');
      const msg =
        i.code === 'invalid_type' && cleaned[name] === undefined ? 'is required' : i.message;
      return `${name} ${msg}`;
    });
    throw new ConfigError(`Invalid environment: ${lines.join('; ')}`);
  }
  const config = result.data;
  if (config.KTS_NOW && config.NODE_ENV === 'production') {
    throw new ConfigError('KTS_NOW is refused when NODE_ENV=production (it moves the clock)');
  }
  return Object.freeze(config);
}

/** For commands: the config, or the bad variable named on stderr and exit code 2 (nothing started). */
export function loadConfigOrExit(program: string, env: NodeJS.ProcessEnv = process.env): Config {
  try {
    return loadConfig(env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${program}: ${err.message}\n`);
    process.exit(2);
  }
}
