/**
 * The exchange's clock. `KTS_NOW` sets its starting point for demos and tests; from there it runs
 * forward in real time, so timeouts and ordering still behave.
 */
export interface Clock {
  now(): Date;
}

export function createClock(startAt?: string): Clock {
  if (!startAt) return { now: () => new Date() };
  const offset = Date.parse(startAt) - Date.now();
  return { now: () => new Date(Date.now() + offset) };
}

export function fixedClock(at: string | Date): Clock {
  const t = new Date(at).getTime();
  return { now: () => new Date(t) };
}
