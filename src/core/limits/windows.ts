/**
 * The windows limits are counted in: the current and the previous minute (a request's minute figures are the
 * sliding estimate `previous × (1 − elapsed share) + current`, as Cloudflare's limiter does, so a burst at a
 * minute's edge is not allowed twice), and the UTC day and month of the budgets.
 */
export interface Windows {
  minute: string;
  previousMinute: string;
  /** How far into the current minute, 0 to 1. */
  minuteElapsed: number;
  day: string;
  month: string;
  msToMinuteEnd: number;
  msToDayEnd: number;
  msToMonthEnd: number;
}

/** The last minute asked for, its ids and ends: every request asks, and they change once a minute. */
interface Calendar {
  minute: number;
  minuteMs: number;
  minuteId: string;
  previousMinuteId: string;
  dayId: string;
  monthId: string;
  dayEnd: number;
  monthEnd: number;
}

let cached: Calendar | undefined;

function calendarOf(now: number, minute: number, minuteMs: number): Calendar {
  const date = new Date(now);
  const iso = date.toISOString();
  return {
    minute,
    minuteMs,
    minuteId: `m${minute}`,
    previousMinuteId: `m${minute - 1}`,
    dayId: `d${iso.slice(0, 10)}`,
    monthId: `M${iso.slice(0, 7)}`,
    dayEnd: Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate() + 1),
    monthEnd: Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1),
  };
}

export function windowsAt(now: number, minuteMs = 60_000): Windows {
  const minute = Math.floor(now / minuteMs);
  let calendar = cached;
  if (calendar?.minute !== minute || calendar.minuteMs !== minuteMs) cached = calendar = calendarOf(now, minute, minuteMs);
  return {
    minute: calendar.minuteId,
    previousMinute: calendar.previousMinuteId,
    minuteElapsed: (now - minute * minuteMs) / minuteMs,
    day: calendar.dayId,
    month: calendar.monthId,
    msToMinuteEnd: (minute + 1) * minuteMs - now,
    msToDayEnd: calendar.dayEnd - now,
    msToMonthEnd: calendar.monthEnd - now,
  };
}

/** Whether a window id is still needed at these windows: counts of any other can be dropped. */
export function isCurrentWindow(id: string, windows: Windows): boolean {
  return id === windows.minute || id === windows.previousMinute || id === windows.day || id === windows.month;
}

/** A wait as OpenAI writes it in `x-ratelimit-reset-*`: `20ms`, `1s`, `6m0s`, `5h12m3s`. */
export function formatReset(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.ceil(ms))}ms`;
  const total = Math.ceil(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}
