import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { createClock } from '../../shared/clock.ts';
import { createTestDatabase, startTestExchange, type TestExchange } from './context.ts';
import { NOW } from './county.ts';

/**
 * Child processes and per-test clean-up for the tests that run the exchange as real processes
 * (test/faults, the CLI tests). Each test file gets its own copy of this module's state (vitest
 * isolates files), so `cleanUp` only ever touches what that file started.
 */

/** The repository root: where `node --import tsx infra/main.ts` runs from, as in production. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

const children: ChildProcess[] = [];
const cleanups: Array<() => Promise<void>> = [];

/** Undo `fn` after the test; cleanUp runs these newest first, so a thing closes before its parent. */
export function onCleanup(fn: () => Promise<void>): void {
  cleanups.push(fn);
}

/** Children that `cleanUp` SIGKILLs if a test leaves them running (a failed test usually does). */
export function track<C extends ChildProcess>(child: C): C {
  children.push(child);
  return child;
}

/**
 * Use as `afterEach(cleanUp)`: SIGKILLs the tracked children still up, then runs the cleanups;
 * their errors are ignored so one broken handle does not leak the rest.
 */
export async function cleanUp(): Promise<void> {
  for (const child of children.splice(0))
    await killAndWait(child, 'SIGKILL', 10_000).catch(() => undefined);
  for (const fn of cleanups.splice(0).reverse()) await fn().catch(() => undefined);
}

/** Neither exited nor killed by a signal yet. */
export const running = (child: ChildProcess) =>
  child.exitCode === null && child.signalCode === null;

/** The child's exit code once it exits (null after a signal); rejects after `timeoutMs`. */
export function exitOf(child: ChildProcess, timeoutMs: number): Promise<number | null> {
  if (!running(child)) return Promise.resolve(child.exitCode);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`pid ${child.pid} did not exit within ${timeoutMs} ms`)),
      timeoutMs,
    );
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

/** Signal the child if it is still up and wait for it to be gone; rejects after `timeoutMs`. */
export async function killAndWait(
  child: ChildProcess,
  signal: NodeJS.Signals,
  timeoutMs: number,
): Promise<void> {
  if (!running(child)) return;
  child.kill(signal);
  await exitOf(child, timeoutMs);
}

/**
 * `node [--import X]... --import tsx <script>` from the repository root with exactly `env` (plus
 * PATH): no variable of the test runner leaks into the process under test. Not tracked.
 */
export function spawnTsx(
  script: string,
  env: Record<string, string>,
  opts: { args?: string[]; imports?: string[]; stdout?: 'pipe' | 'ignore' } = {},
): ChildProcess {
  const imports = [...(opts.imports ?? []), 'tsx'].flatMap((i) => ['--import', i]);
  return spawn(process.execPath, [...imports, script, ...(opts.args ?? [])], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', opts.stdout ?? 'pipe', 'pipe'],
  });
}

/** The exchange (`infra/main.ts`) in a process of its own, tracked for `cleanUp`. */
export function spawnExchange(
  env: Record<string, string>,
  opts: { stdout?: 'pipe' | 'ignore' } = {},
): ChildProcess {
  return track(spawnTsx('infra/main.ts', env, opts));
}

/** Call `fn` with each non-blank line of `stream` as it arrives (pino writes one JSON per line). */
export function onLines(stream: Readable | null, fn: (line: string) => void): void {
  let partial = '';
  stream?.on('data', (d: Buffer) => {
    partial += d.toString();
    const parts = partial.split('\n');
    partial = parts.pop() ?? '';
    for (const p of parts) if (p.trim()) fn(p);
  });
}

/** The last `max` characters `stream` wrote: enough to explain a crash, bounded for a long run. */
export function keepTail(stream: Readable | null, max = 20_000): () => string {
  let text = '';
  stream?.on('data', (d: Buffer) => {
    text += d.toString();
    if (text.length > max) text = text.slice(-max);
  });
  return () => text;
}

/**
 * Print a worker's stderr when it dies other than by a clean exit (0), the second-SIGTERM exit
 * (130) or the test's own SIGKILL: otherwise a crash only shows as a timeout somewhere else.
 */
export function reportCrash(child: ChildProcess): void {
  const stderr = keepTail(child.stderr);
  child.on('exit', (code, signal) => {
    if (code !== 0 && code !== 130 && signal !== 'SIGKILL')
      process.stderr.write(`worker ${child.pid} exited ${code} ${signal ?? ''}\n${stderr()}\n`);
  });
}

export interface PinoLog {
  /** pino's JSON lines from the child's stdout (a line that is not JSON as `{ msg: line }`). */
  lines: Array<Record<string, unknown>>;
  /** Resolves once the child logged `ready` ("workers started" by default); rejects if it exits before. */
  started: Promise<void>;
}

/**
 * Collect an exchange process's log lines and tell when it is ready. The process serves before
 * its workers reach Redis, so for a worker process "ready" is its "workers started" line.
 */
export function pinoLog(child: ChildProcess, ready = 'workers started'): PinoLog {
  const lines: Array<Record<string, unknown>> = [];
  let onStarted: () => void = () => {};
  let onDied: (err: Error) => void = () => {};
  const started = new Promise<void>((resolve, reject) => {
    onStarted = resolve;
    onDied = reject;
  });
  onLines(child.stdout, (p) => {
    try {
      const line = JSON.parse(p) as Record<string, unknown>;
      lines.push(line);
      if (line.msg === ready) onStarted();
    } catch {
      lines.push({ msg: p });
    }
  });
  child.on('exit', (code, signal) =>
    onDied(new Error(`worker ${child.pid} exited ${code} ${signal ?? ''} before it started`)),
  );
  return { lines, started };
}

/**
 * An api-only exchange in this process on a fresh database, both undone by `cleanUp`: intake and
 * reads here, so the workers under test (other processes, or started by the test) do all applying.
 */
export async function apiOnlyExchange(): Promise<{
  database: { url: string; drop: () => Promise<void> };
  t: TestExchange;
}> {
  const database = await createTestDatabase();
  onCleanup(() => database.drop());
  const t = await startTestExchange({
    clock: createClock(NOW),
    env: { KTS_ROLES: 'api' },
    database,
  });
  onCleanup(() => t.close());
  return { database, t };
}
