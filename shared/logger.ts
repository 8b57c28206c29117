import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

/**
 * Logs carry ids (school, event, job, credential), never student names or tokens. Redaction is the
 * safety net for the paths where one could slip in; the code does not log bodies in the first place.
 */
export function createLogger(level: string, name = 'kts', destination?: DestinationStream): Logger {
  const options = {
    name,
    level,
    redact: {
      paths: [
        'req.headers.authorization',
        'headers.authorization',
        'token',
        '*.token',
        'firstName',
        'lastName',
        '*.firstName',
        '*.lastName',
        'records',
        '*.records',
      ],
      censor: '[redacted]',
    },
  };
  return destination ? pino(options, destination) : pino(options);
}
