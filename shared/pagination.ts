import { z } from 'zod';
import { ApiError } from './errors.ts';
import { LocalDate } from './schemas.ts';

/** Cursors are opaque to callers: a base64url JSON keyset of the last row returned. */
export function encodeCursor(key: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

const badCursor = () =>
  new ApiError(
    'validation_failed',
    'cursor is not one this list returned; start again without it.',
    [{ path: 'cursor', message: 'is not a cursor this list returned' }],
  );

/** Keyset parts, checked as strictly as the columns they are compared with. */
export const CursorPart = {
  instant: z.iso.datetime({ offset: false }),
  date: LocalDate,
  uuid: z.uuid(),
  id: z
    .string()
    .max(200)
    .regex(/^[A-Za-z0-9._-]*$/),
  seq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  index: z.number().int().min(0).max(100_000),
};

/**
 * Decode a cursor against the exact shape this list encodes. A forged or foreign cursor is a 400,
 * never a value handed to Postgres (which would fail as a data error).
 */
export function decodeCursor<T extends [z.ZodType, ...z.ZodType[]]>(
  cursor: string | undefined,
  parts: T,
): { [K in keyof T]: z.output<T[K]> } | null {
  if (cursor === undefined) return null;
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw badCursor();
  }
  const r = z.tuple(parts).safeParse(v);
  if (!r.success) throw badCursor();
  return r.data as { [K in keyof T]: z.output<T[K]> };
}

/** Take limit+1 rows, return limit with the next cursor when there were more. */
export function page<T>(rows: T[], limit: number, keyOf: (row: T) => (string | number)[]) {
  const more = rows.length > limit;
  const items = more ? rows.slice(0, limit) : rows;
  const last = items[items.length - 1];
  return { items, nextCursor: more && last !== undefined ? encodeCursor(keyOf(last)) : null };
}
