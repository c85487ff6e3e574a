/** Source of wall-clock time in milliseconds; injected so tests drive time instead of sleeping. */
export interface Clock {
  now(): number;
}

/** The real clock. */
export const systemClock: Clock = { now: () => Date.now() };
