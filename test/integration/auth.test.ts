import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, type TestExchange } from '../support/context.ts';
import {
  attendance,
  enroll,
  seededExchange,
  YEAR,
  type County,
  countEvents,
} from '../support/county.ts';

let t: TestExchange;
let c: County;

beforeAll(async () => {
  ({ t, c } = await seededExchange());
});
afterAll(async () => t?.close());

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');
const basic = (token: string, user = 'someone') =>
  `Basic ${Buffer.from(`${user}:${token}`, 'utf8').toString('base64')}`;

function expectError(r: { status: number; body: unknown }, status: number, code: string) {
  expect(r.status, JSON.stringify(r.body)).toBe(status);
  expect(r.body).toEqual({
    error: { code, message: expect.any(String), details: expect.any(Array) },
  });
  const msg = (r.body as { error: { message: string } }).error.message;
  expect(msg.length).toBeGreaterThan(0);
}

describe('401 unauthorized', () => {
  it('without a token', async () => {
    expectError(await t.api('GET', `/v1/catalog/${YEAR}`, { token: null }), 401, 'unauthorized');
  });

  it('with a malformed Authorization header', async () => {
    for (const authorization of [
      'Bearer',
      'Bearer ',
      'Token abcdefghijklmnop',
      ADMIN_TOKEN,
      basic(ADMIN_TOKEN), // Basic auth is for the pages for people, not the API
    ]) {
      const r = await t.api('GET', `/v1/catalog/${YEAR}`, {
        token: null,
        headers: { authorization },
      });
      expectError(r, 401, 'unauthorized');
    }
  });

  it('with an unknown token', async () => {
    expectError(
      await t.api('GET', `/v1/catalog/${YEAR}`, { token: 'kts_not-a-real-token-at-all-00000000' }),
      401,
      'unauthorized',
    );
  });

  it('with a revoked token, at once', async () => {
    const created = await t.api('POST', '/v1/credentials', {
      body: { schoolId: 'HS1', label: 'to revoke' },
    });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      credentialId: expect.any(String),
      token: expect.any(String),
      label: 'to revoke',
    });
    const { credentialId, token } = created.body as { credentialId: string; token: string };
    const before = await t.api('GET', `/v1/catalog/${YEAR}`, { token });
    expect(before.status, JSON.stringify(before.body)).toBe(200);

    const del = await t.api('DELETE', `/v1/credentials/${credentialId}`);
    expect(del.status).toBe(204);
    expect(del.body).toBeNull();

    expectError(await t.api('GET', `/v1/catalog/${YEAR}`, { token }), 401, 'unauthorized');
    const row = await t.db
      .selectFrom('credentials')
      .select(['revoked_at'])
      .where('id', '=', credentialId)
      .executeTakeFirstOrThrow();
    expect(row.revoked_at).toBeInstanceOf(Date);
    // Revoking twice: the credential is no longer live.
    expectError(await t.api('DELETE', `/v1/credentials/${credentialId}`), 404, 'not_found');
  });
});

describe('403 forbidden for the wrong role', () => {
  it('ops posting an event', async () => {
    const e = enroll(c.students.hs1[0]!, c.sections.atcWelding, { schoolId: 'HS1' });
    const before = await countEvents(t);
    expectError(
      await t.api('POST', '/v1/events', { token: c.tokens.ops, body: e }),
      403,
      'forbidden',
    );
    expect(await countEvents(t)).toBe(before);
  });

  it('a high school posting attendance-entered', async () => {
    const e = attendance(c.sections.atcWelding, '2027-01-19', [
      { studentId: c.students.hs1[0], status: 'present' },
    ]);
    const before = await countEvents(t);
    expectError(
      await t.api('POST', '/v1/events', { token: c.tokens.hs1, body: e }),
      403,
      'forbidden',
    );
    expect(await countEvents(t)).toBe(before);
  });

  it('a tech center posting enrollment-changed', async () => {
    const e = enroll(c.students.hs1[0]!, c.sections.atcWelding);
    const before = await countEvents(t);
    expectError(
      await t.api('POST', '/v1/events', { token: c.tokens.atc, body: e }),
      403,
      'forbidden',
    );
    expect(await countEvents(t)).toBe(before);
  });

  it('a school credential registering a school', async () => {
    const body = {
      name: 'Sneaky High',
      kind: 'high_school',
      districtId: 'D-017',
      timezone: 'America/New_York',
    };
    expectError(
      await t.api('PUT', '/v1/schools/X', { token: c.tokens.hs1, body }),
      403,
      'forbidden',
    );
    expectError(
      await t.api('PUT', '/v1/schools/HS1', { token: c.tokens.hs1, body }),
      403,
      'forbidden',
    );
    expect(
      await t.db.selectFrom('schools').select('id').where('id', '=', 'X').executeTakeFirst(),
    ).toBeUndefined();
    const hs1 = await t.db
      .selectFrom('schools')
      .select('name')
      .where('id', '=', 'HS1')
      .executeTakeFirstOrThrow();
    expect(hs1.name).toBe('Bourbon County High');
  });

  it("a high school reading another high school's attendance", async () => {
    expectError(
      await t.api('GET', '/v1/high-schools/HS2/attendance?date=2027-01-19', {
        token: c.tokens.hs1,
      }),
      403,
      'forbidden',
    );
    // Its own report is allowed.
    const own = await t.api('GET', '/v1/high-schools/HS1/attendance?date=2027-01-19', {
      token: c.tokens.hs1,
    });
    expect(own.status).toBe(200);
  });

  it("an ATC reading the CTC's roster", async () => {
    expectError(
      await t.api('GET', `/v1/tech-centers/CTC1/rosters/${YEAR}/${c.sections.ctcAuto}`, {
        token: c.tokens.atc,
      }),
      403,
      'forbidden',
    );
    const own = await t.api('GET', `/v1/tech-centers/CTC1/rosters/${YEAR}/${c.sections.ctcAuto}`, {
      token: c.tokens.ctc,
    });
    expect(own.status).toBe(200);
  });

  it('ops reading the catalog', async () => {
    expectError(
      await t.api('GET', `/v1/catalog/${YEAR}`, { token: c.tokens.ops }),
      403,
      'forbidden',
    );
  });
});

describe('credentials', () => {
  it('stores tokens only as their SHA-256', async () => {
    const r = await t.api('POST', '/v1/credentials', {
      body: { role: 'ops', label: 'hash check' },
    });
    expect(r.status).toBe(201);
    const { credentialId, token } = r.body as { credentialId: string; token: string };
    const row = await t.db
      .selectFrom('credentials')
      .selectAll()
      .where('id', '=', credentialId)
      .executeTakeFirstOrThrow();
    expect(row.token_hash).toBe(sha256(token));
    // No column of any credential row holds a token in clear.
    const all = await sql<{ row: string }>`select c::text as row from credentials c`.execute(t.db);
    expect(all.rows.length).toBeGreaterThanOrEqual(6);
    for (const tok of [token, ...Object.values(c.tokens)]) {
      expect(all.rows.filter((x) => x.row.includes(tok))).toEqual([]);
      const hashed = await t.db
        .selectFrom('credentials')
        .select('id')
        .where('token_hash', '=', sha256(tok))
        .execute();
      expect(hashed).toHaveLength(1);
    }
  });

  it('lists credentials without tokens, paginated with nextCursor', async () => {
    const put = await t.api('PUT', '/v1/schools/HS3', {
      body: {
        name: 'Nicholas County High',
        kind: 'high_school',
        districtId: 'D-018',
        timezone: 'America/New_York',
      },
    });
    expect(put.status).toBe(200);
    const created: { credentialId: string; token: string; label: string | null }[] = [];
    for (const label of ['one', 'two', 'three']) {
      const r = await t.api('POST', '/v1/credentials', { body: { schoolId: 'HS3', label } });
      expect(r.status).toBe(201);
      created.push(r.body);
    }
    const p1 = await t.api('GET', '/v1/credentials?schoolId=HS3&limit=2');
    expect(p1.status).toBe(200);
    expect(Object.keys(p1.body).sort()).toEqual(['credentials', 'nextCursor']);
    expect(p1.body.credentials).toHaveLength(2);
    expect(typeof p1.body.nextCursor).toBe('string');
    const p2 = await t.api(
      'GET',
      `/v1/credentials?schoolId=HS3&limit=2&cursor=${encodeURIComponent(p1.body.nextCursor)}`,
    );
    expect(p2.status).toBe(200);
    expect(p2.body.credentials).toHaveLength(1);
    expect(p2.body.nextCursor).toBeNull();

    const listed = [...p1.body.credentials, ...p2.body.credentials];
    expect(listed.map((x: { credentialId: string }) => x.credentialId).sort()).toEqual(
      created.map((x) => x.credentialId).sort(),
    );
    for (const item of listed) {
      expect(item).toEqual({
        credentialId: expect.any(String),
        schoolId: 'HS3',
        role: 'high_school',
        label: expect.any(String),
        createdAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
        lastUsedAt: null,
      });
    }
    expect(listed.map((x: { label: string }) => x.label).sort()).toEqual(['one', 'three', 'two']);
    const text = JSON.stringify([p1.body, p2.body]);
    for (const x of created) {
      expect(text).not.toContain(x.token);
      expect(text).not.toContain(sha256(x.token));
    }
  });

  it('only the state office manages credentials', async () => {
    expectError(await t.api('GET', '/v1/credentials', { token: c.tokens.hs1 }), 403, 'forbidden');
    expectError(
      await t.api('POST', '/v1/credentials', { token: c.tokens.ops, body: { role: 'ops' } }),
      403,
      'forbidden',
    );
  });
});

describe('operations endpoints', () => {
  it('/healthz and /readyz need no token', async () => {
    const h = await t.api('GET', '/healthz', { token: null });
    expect(h.status).toBe(200);
    expect(h.body).toEqual({ status: 'ok' });
    const r = await t.api('GET', '/readyz', { token: null });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.status).toBe('ready');
    expect(Array.isArray(r.body.checks)).toBe(true);
  });

  it('/metrics needs ops or state_admin', async () => {
    expectError(await t.api('GET', '/metrics', { token: null }), 401, 'unauthorized');
    expectError(await t.api('GET', '/metrics', { token: c.tokens.hs1 }), 403, 'forbidden');
    expectError(await t.api('GET', '/metrics', { token: c.tokens.atc }), 403, 'forbidden');
    for (const token of [c.tokens.ops, ADMIN_TOKEN]) {
      const r = await t.api('GET', '/metrics', { token });
      expect(r.status).toBe(200);
      expect(String(r.headers['content-type'])).toMatch(/^text\/plain/);
      expect(typeof r.body).toBe('string');
      expect(r.body).toMatch(/^# (HELP|TYPE) /m);
    }
  });

  it('/ops/queues opens with Basic auth for ops and the state office', async () => {
    for (const token of [c.tokens.ops, ADMIN_TOKEN]) {
      const r = await t.api('GET', '/ops/queues', {
        token: null,
        headers: { authorization: basic(token, token === ADMIN_TOKEN ? 'admin' : 'anything') },
      });
      expect(r.status).toBe(200);
      expect(String(r.headers['content-type'])).toMatch(/^text\/html/);
      expect(String(r.body)).toMatch(/<html/i);
    }
  });

  it('/ops/queues: 401 without a token', async () => {
    const none = await t.api('GET', '/ops/queues', { token: null });
    expectError(none, 401, 'unauthorized');
    expect(String(none.headers['www-authenticate'])).toMatch(/^Basic /);
  });

  it('/ops/queues: 401 with an unknown Basic password', async () => {
    expectError(
      await t.api('GET', '/ops/queues', {
        token: null,
        headers: { authorization: basic('wrong-token-wrong-token-wrong') },
      }),
      401,
      'unauthorized',
    );
  });

  it('/ops/queues: 403 for a school token', async () => {
    expectError(
      await t.api('GET', '/ops/queues', {
        token: null,
        headers: { authorization: basic(c.tokens.hs1) },
      }),
      403,
      'forbidden',
    );
    expectError(await t.api('GET', '/ops/queues', { token: c.tokens.atc }), 403, 'forbidden');
  });

  it('the dashboard is read-only for ops', async () => {
    const queue = t.exchange.enqueuer!.queues[0]!;
    const r = await t.api('PUT', `/ops/queues/api/queues/${encodeURIComponent(queue.name)}/pause`, {
      token: null,
      headers: { authorization: basic(c.tokens.ops) },
    });
    expectError(r, 403, 'forbidden');
    expect(await queue.isPaused()).toBe(false);
    // A read of the same API is allowed for ops.
    const list = await t.api('GET', '/ops/queues/api/queues', {
      token: null,
      headers: { authorization: basic(c.tokens.ops) },
    });
    expect(list.status).toBe(200);
  });
});
