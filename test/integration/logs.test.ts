import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClock } from '../../shared/clock.ts';
import { ADMIN_TOKEN, startTestExchange, type TestExchange } from '../support/context.ts';
import { applied, attendance, enroll, NOW, seedCounty } from '../support/county.ts';

/**
 * Logs carry ids, never student names or tokens: a school day at LOG_LEVEL=debug, every line
 * captured and searched for every name and token the test used.
 */
const lines: string[] = [];
const sink = new Writable({
  write(chunk, _enc, done) {
    lines.push(String(chunk));
    done();
  },
});

let t: TestExchange;
beforeAll(async () => {
  t = await startTestExchange({
    clock: createClock(NOW),
    env: { LOG_LEVEL: 'debug' },
    logTo: sink,
  });
});
afterAll(async () => t?.close());

describe('logs', () => {
  it('hold ids, never student names or tokens', async () => {
    const c = await seedCounty(t);
    const [s1] = c.students.hs1;
    const e = enroll(s1!, c.sections.atcWelding);
    expect((await t.api('POST', '/v1/events', { token: c.tokens.hs1, body: e })).status).toBe(202);
    await applied(t, e.eventId, c.tokens.hs1);
    const a = attendance(c.sections.atcWelding, '2027-01-19', [
      { studentId: s1, status: 'absent', excuse: 'unknown' },
    ]);
    expect((await t.api('POST', '/v1/events', { token: c.tokens.atc, body: a })).status).toBe(202);
    await applied(t, a.eventId, c.tokens.atc);
    expect(
      (
        await t.api('GET', `/v1/tech-centers/ATC1/rosters/2026-2027/${c.sections.atcWelding}`, {
          token: c.tokens.atc,
        })
      ).status,
    ).toBe(200);
    expect(
      (
        await t.api('GET', '/v1/high-schools/HS1/attendance?date=2027-01-19', {
          token: c.tokens.hs1,
        })
      ).status,
    ).toBe(200);
    const bad = 'kts_not-a-real-token-but-secret';
    expect(
      (await t.api('GET', '/v1/high-schools/HS1/attendance?date=2027-01-19', { token: bad }))
        .status,
    ).toBe(401);

    const log = lines.join('');
    expect(lines.length).toBeGreaterThan(20);
    // The ids are there, so an operator can follow an event...
    expect(log).toContain(a.eventId);
    // ...the names and tokens are not.
    for (const name of ['First0', 'Last0', 'First500', 'Last500']) expect(log).not.toContain(name);
    for (const token of [ADMIN_TOKEN, ...Object.values(c.tokens), bad])
      expect(log).not.toContain(token);
  });
});
