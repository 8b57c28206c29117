/**
 * Run `task` now and every `ms`, never two at once (a slow round skips the next tick instead of
 * piling up), and let `stop()` wait for the round in flight so shutdown never cuts one in half.
 */
export function every(
  ms: number,
  task: () => Promise<void>,
  onError: (err: unknown) => void,
): { stop(): Promise<void> } {
  let inFlight: Promise<void> | null = null;
  const tick = () => {
    if (inFlight) return;
    inFlight = task()
      .catch(onError)
      .finally(() => {
        inFlight = null;
      });
  };
  const timer = setInterval(tick, ms);
  timer.unref();
  tick();
  return {
    async stop() {
      clearInterval(timer);
      await inFlight;
    },
  };
}
