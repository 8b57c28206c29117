import { ApiError } from './errors.ts';

/** Cursors are opaque to callers: a base64url JSON keyset of the last row returned. */
export function encodeCursor(key: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

export function decodeCursor(
  cursor: string | undefined,
  arity: number,
): (string | number)[] | null {
  if (cursor === undefined) return null;
  try {
    const v: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      Array.isArray(v) &&
      v.length === arity &&
      v.every((x) => typeof x === 'string' || typeof x === 'number')
    )
      return v;
  } catch {
    // fall through to the same answer as a well-formed but foreign cursor
  }
  throw new ApiError(
    'validation_failed',
    'cursor is not one this list returned; start again without it.',
    [{ path: 'cursor', message: 'is not a cursor this list returned' }],
  );
}

/** Take limit+1 rows, return limit with the next cursor when there were more. */
export function page<T>(rows: T[], limit: number, keyOf: (row: T) => (string | number)[]) {
  const more = rows.length > limit;
  const items = more ? rows.slice(0, limit) : rows;
  const last = items[items.length - 1];
  return { items, nextCursor: more && last !== undefined ? encodeCursor(keyOf(last)) : null };
}
