import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../shared/queues/event-job.ts';
import { checkRegistrations } from '../../workers/main.ts';

describe('retry backoff', () => {
  it('grows exponentially, is jittered, and is capped at a minute', () => {
    expect(backoffDelay(1, () => 0)).toBe(250);
    expect(backoffDelay(1, () => 1)).toBe(500);
    expect(backoffDelay(4, () => 1)).toBe(4000);
    expect(backoffDelay(30, () => 1)).toBe(60_000);
    expect(backoffDelay(30, () => 0)).toBe(30_000);
  });
});

describe('worker registration', () => {
  const p = async () => undefined;
  it('refuses to boot when a queue has no processor or two', () => {
    expect(() => checkRegistrations([{ queue: 'a', processor: p }], ['a', 'b'])).toThrow(
      /"b" has 0 processors/,
    );
    expect(() =>
      checkRegistrations(
        [
          { queue: 'a', processor: p },
          { queue: 'a', processor: p },
        ],
        ['a'],
      ),
    ).toThrow(/"a" has 2/);
    expect(() =>
      checkRegistrations(
        [
          { queue: 'a', processor: p },
          { queue: 'c', processor: p },
        ],
        ['a'],
      ),
    ).toThrow(/unknown queue "c"/);
    expect(() => checkRegistrations([{ queue: 'a', processor: p }], ['a'])).not.toThrow();
  });
});
