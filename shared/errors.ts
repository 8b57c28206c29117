/** Error codes of the HTTP contract (api.md, "Errors"). */
export type ErrorCode =
  | 'validation_failed'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'payload_too_large'
  | 'unprocessable'
  | 'rate_limited'
  | 'unavailable';

export interface ErrorDetail {
  path: string;
  message: string;
}

const statusOf: Record<ErrorCode, number> = {
  validation_failed: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  unprocessable: 422,
  rate_limited: 429,
  unavailable: 503,
};

/** An answer to give the caller, in the contract's error shape. */
export class ApiError extends Error {
  override name = 'ApiError';
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: ErrorDetail[] = [],
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.status = statusOf[code];
  }
  toBody() {
    return { error: { code: this.code, message: this.message, details: this.details } };
  }
}

export const forbidden = (what: string) =>
  new ApiError('forbidden', `This credential may not ${what}.`);
export const notFound = (what: string) => new ApiError('not_found', `${what} was not found.`);

const pgCode = (err: unknown): string | undefined =>
  typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string'
    ? err.code
    : undefined;

/**
 * Postgres errors worth retrying: connection loss (08), serialization and deadlock (40), lock
 * timeouts (55P03), shutdown or crash (57P01-57P03), and too many connections (53300). Node's own
 * socket errors count too. Everything else (constraint 23, data 22) would fail the same way again.
 */
export function isTransientDbError(err: unknown): boolean {
  const code = pgCode(err);
  // node-postgres reports a lost or unreachable connection without a code.
  if (!code)
    return (
      err instanceof Error &&
      /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|Connection ended/i.test(
        err.message,
      )
    );
  if (/^(08|40|57P0)/.test(code) || code === '55P03' || code === '53300' || code === '53400')
    return true;
  return ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN'].includes(
    code,
  );
}

export const isUniqueViolation = (err: unknown) => pgCode(err) === '23505';

/** Integrity constraint (23) and data (22) errors: the same statement fails the same way again. */
export const isPermanentDbError = (err: unknown) => /^(22|23)/.test(pgCode(err) ?? '');
