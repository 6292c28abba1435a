/**
 * The core logs through this small interface so each host can route lines to its own sink (the Functions
 * invocation context, or the console for the local host). Callers pass fields, never headers or bodies, so a
 * credential cannot reach a log by accident.
 */
export type LogFields = Readonly<Record<string, string | number | boolean | null | undefined>>;

export interface Logger {
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

function format(message: string, fields?: LogFields): string {
  if (fields === undefined) return message;
  const parts = Object.entries(fields)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `${key}=${typeof value === 'string' && /\s/.test(value) ? JSON.stringify(value) : String(value)}`);
  return parts.length === 0 ? message : `${message} ${parts.join(' ')}`;
}

export const consoleLogger: Logger = {
  info: (message, fields) => console.info(format(message, fields)),
  warn: (message, fields) => console.warn(format(message, fields)),
  error: (message, fields) => console.error(format(message, fields)),
};

export const silentLogger: Logger = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

export { format as formatLogLine };
