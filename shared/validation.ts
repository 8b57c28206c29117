import { z } from 'zod';
import { ApiError, type ErrorDetail } from './errors.ts';

/**
 * Messages for the rules zod checks without a message of ours, in words a school's IT person
 * understands. Set once, process-wide; schema-level messages still win.
 */
z.config({
  customError: (iss) => {
    switch (iss.code) {
      case 'invalid_type':
        return iss.input === undefined ? 'is required' : `must be ${article(iss.expected)}`;
      case 'unrecognized_keys':
        return `is not a field of this request (${iss.keys.map((k) => `"${k}"`).join(', ')}); remove it`;
      case 'invalid_value':
        return `must be one of ${iss.values.map((v) => JSON.stringify(v)).join(', ')}`;
      case 'too_small':
        return iss.origin === 'array'
          ? `must hold at least ${iss.minimum} items`
          : iss.origin === 'string'
            ? `must be at least ${iss.minimum} characters`
            : `must be at least ${iss.minimum}`;
      case 'too_big':
        return iss.origin === 'array'
          ? `must hold at most ${iss.maximum} items`
          : iss.origin === 'string'
            ? `must be at most ${iss.maximum} characters`
            : `must be at most ${iss.maximum}`;
      case 'invalid_union':
        return 'does not match any accepted form';
      default:
        return undefined;
    }
  },
});

function article(expected: string): string {
  if (expected === 'array') return 'a list';
  if (expected === 'object') return 'an object';
  if (expected === 'int') return 'a whole number';
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
}

export function issuesToDetails(error: z.ZodError, prefix = ''): ErrorDetail[] {
  return error.issues.slice(0, 50).map((i) => {
    // An unknown field is reported at the field itself, so the path names what to remove.
    const path =
      i.code === 'unrecognized_keys' && i.keys.length === 1 ? [...i.path, i.keys[0]!] : i.path;
    const p = [prefix, ...path.map(String)].filter(Boolean).join('.');
    return { path: p, message: i.message };
  });
}

/** Issues in one line, each with its path: for logs and job failure reasons. */
export function describeIssues(error: z.ZodError): string {
  return issuesToDetails(error)
    .map((d) => `${d.path || '(root)'} ${d.message}`)
    .join('; ');
}

/** Parse or answer 400 `validation_failed` with a path per broken rule; nothing is stored. */
export function parseOr400<S extends z.ZodType>(
  schema: S,
  input: unknown,
  what: string,
  prefix = '',
): z.output<S> {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const details = issuesToDetails(r.error, prefix);
  const first = details[0];
  const summary = first ? `${first.path || what} ${first.message}` : 'is not valid';
  const more =
    details.length > 1
      ? ` (and ${details.length - 1} more problem${details.length > 2 ? 's' : ''})`
      : '';
  throw new ApiError('validation_failed', `The ${what} is not valid: ${summary}${more}.`, details);
}
