/** `evaluate --rolling`'s defaults: six as-of dates, fourteen days apart (kept apart from rolling.ts so `--help` loads no evaluation code). */
export const ROLLING_DEFAULTS = { dates: 6, stepDays: 14 } as const;
