/**
 * Choosing a backend for each attempt, and remembering how backends fared.
 *
 * Within the first priority that has a backend available, attempts are spread by weight with smooth weighted
 * round-robin (the nginx algorithm: even and deterministic, A A B A for weights 3:1, not random clumps). A 429
 * puts a backend aside for its retry-after (capped); failures in a row (5xx, connection errors, timeouts) open
 * its circuit for a while. The state lives in this instance's memory: each Functions instance learns on its own.
 */
import type { RoutingSettings } from '../config/config';
import type { Backend } from '../config/modelMap';

interface BackendState {
  /** No attempt before this time (a 429's retry-after). */
  coolingUntil: number;
  /** Nor before this one (an open circuit). */
  openUntil: number;
  failures: number;
}

export type Choice =
  | { kind: 'backend'; backend: Backend }
  /** Nothing left to try: every untried backend is set aside; `waitMs` until the first is back. */
  | { kind: 'none'; waitMs: number; coolingDown: boolean };

export type Outcome = { kind: 'success' } | { kind: 'rate-limited'; retryAfterMs: number | undefined } | { kind: 'failure' };

/** What makes two backends the same one: the resource and the deployment. */
export function backendKey(backend: Backend, defaultEndpoint: string): string {
  return `${backend.endpoint ?? defaultEndpoint}|${backend.deployment}`;
}

/**
 * Endpoint hosts already parsed: every request names its backend twice (header and log line). Endpoints come
 * from the configuration only, so this stays small; backends may not (unmapped models make one per request).
 */
const hosts = new Map<string, string>();

function hostOf(endpoint: string): string {
  let host = hosts.get(endpoint);
  if (host === undefined) {
    try {
      host = new URL(endpoint).host;
    } catch {
      host = endpoint;
    }
    hosts.set(endpoint, host);
  }
  return host;
}

/** A name for a backend that can be shown and logged: the deployment, and the resource host when it has one. */
export function backendLabel(backend: Backend, defaultEndpoint: string): string {
  return `${backend.deployment}@${hostOf(backend.endpoint ?? defaultEndpoint)}`;
}

export class Balancer {
  readonly #states = new Map<string, BackendState>();
  /** The round-robin's running weights, by backend key. */
  readonly #current = new Map<string, number>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  #state(key: string): BackendState {
    let state = this.#states.get(key);
    if (state === undefined) {
      state = { coolingUntil: 0, openUntil: 0, failures: 0 };
      this.#states.set(key, state);
    }
    return state;
  }

  /** Whether a backend may be tried now: neither cooling down nor with its circuit open. */
  #isAvailable(backend: Backend, defaultEndpoint: string, now: number): boolean {
    const state = this.#states.get(backendKey(backend, defaultEndpoint));
    return state === undefined || (now >= state.coolingUntil && now >= state.openUntil);
  }

  /** The next backend to try, among those not yet `tried`, or how long until one is back. */
  choose(backends: readonly Backend[], tried: ReadonlySet<Backend>, defaultEndpoint: string): Choice {
    const now = this.#now();
    // A single backend, not set aside: nothing to weigh (the common case, kept cheap).
    const only = backends.length === 1 ? backends[0] : undefined;
    if (only !== undefined && !tried.has(only) && this.#isAvailable(only, defaultEndpoint, now)) return { kind: 'backend', backend: only };
    const untried = backends.filter((b) => !tried.has(b));
    const priorities = [...new Set(untried.map((b) => b.priority))].sort((a, b) => a - b);
    for (const priority of priorities) {
      const available = untried.filter((b) => b.priority === priority && this.#isAvailable(b, defaultEndpoint, now));
      if (available.length > 0) return { kind: 'backend', backend: this.#roundRobin(available, defaultEndpoint) };
    }
    let waitMs = Number.POSITIVE_INFINITY;
    let coolingDown = false;
    for (const backend of untried) {
      const state = this.#state(backendKey(backend, defaultEndpoint));
      const until = Math.max(state.coolingUntil, state.openUntil);
      if (until - now < waitMs) {
        waitMs = until - now;
        coolingDown = state.coolingUntil >= state.openUntil;
      }
    }
    return { kind: 'none', waitMs: Number.isFinite(waitMs) ? Math.max(0, waitMs) : 0, coolingDown };
  }

  #roundRobin(available: readonly Backend[], defaultEndpoint: string): Backend {
    let total = 0;
    let best: Backend | undefined;
    let bestWeight = Number.NEGATIVE_INFINITY;
    for (const backend of available) {
      const key = backendKey(backend, defaultEndpoint);
      const weight = (this.#current.get(key) ?? 0) + backend.weight;
      this.#current.set(key, weight);
      total += backend.weight;
      if (weight > bestWeight) {
        best = backend;
        bestWeight = weight;
      }
    }
    const chosen = best as Backend;
    const key = backendKey(chosen, defaultEndpoint);
    this.#current.set(key, (this.#current.get(key) ?? 0) - total);
    return chosen;
  }

  report(backend: Backend, outcome: Outcome, settings: RoutingSettings, defaultEndpoint: string): void {
    const key = backendKey(backend, defaultEndpoint);
    if (outcome.kind === 'success') {
      // No state is made for a backend that never failed: unmapped model names (one key each) would pile up.
      const known = this.#states.get(key);
      if (known !== undefined) known.failures = 0;
      return;
    }
    const state = this.#state(key);
    const now = this.#now();
    switch (outcome.kind) {
      case 'rate-limited':
        // Without a retry-after, a second: Azure always sends one; a gateway in front may not.
        state.coolingUntil = now + Math.min(outcome.retryAfterMs ?? 1000, settings.cooldownMaxMs);
        return;
      case 'failure':
        state.failures++;
        if (state.failures >= settings.circuitFailures) {
          state.openUntil = now + settings.circuitOpenMs;
          // Half-open afterwards: one more failure opens it again.
          state.failures = settings.circuitFailures - 1;
        }
        return;
    }
  }
}

/** A response's retry hint in ms: `retry-after-ms` first, then `retry-after` (seconds or an HTTP date). */
export function retryAfterMs(headers: Headers, now = Date.now()): number | undefined {
  const ms = Number(headers.get('retry-after-ms') ?? Number.NaN);
  if (Number.isFinite(ms) && ms >= 0) return ms;
  const after = headers.get('retry-after');
  if (after === null) return undefined;
  const seconds = Number(after);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(after);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
