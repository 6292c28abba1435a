/**
 * Choosing a backend for each attempt, and remembering how backends fared.
 *
 * Within the first priority that has a backend available, attempts are spread by weight with smooth weighted
 * round-robin (the nginx algorithm: even and deterministic, A A B A for weights 3:1, not random clumps). A 429
 * puts a backend aside for its retry-after (capped): Azure's quotas are per deployment, and it says when to come
 * back. Failures (5xx, connection errors, timeouts) set a backend aside only as production balancers do it
 * (Envoy's outlier detection and panic threshold, LiteLLM's cooldowns), so that a modest failure rate never
 * becomes an outage:
 *  - on a failure rate over a minimum volume, not a streak: over the last WINDOW_MS, at least `circuitFailures`
 *    failures that are at least `circuitFailureRate` of the attempts (7% of errors at random never opens it);
 *  - never the last backends a request could use: when every backend it has left is set aside by its circuit,
 *    they are tried anyway (the "panic" of a load balancer), rather than answered 503 untried;
 *  - after `circuitOpenMs`, half-open: one request at a time probes it; a success closes the circuit, a failure
 *    opens it again.
 * The state lives in this instance's memory: each Functions instance learns on its own.
 */
import type { RoutingSettings } from '../config/config';
import type { Backend } from '../config/modelMap';

/** The span the failure rate is measured over, in one-second buckets. */
const WINDOW_MS = 10_000;
const BUCKET_MS = 1000;
const BUCKETS = WINDOW_MS / BUCKET_MS;

interface BackendState {
  /** No attempt before this time (a 429's retry-after). */
  coolingUntil: number;
  /** Nor before this one (an open circuit). */
  openUntil: number;
  /** Whether the circuit has opened and not yet closed again (a success of its probe closes it). */
  open: boolean;
  /** While a half-open backend's probe is out, no other request is sent to it, until this time at the latest. */
  probeUntil: number;
  /** Attempts and failures in the last WINDOW_MS, by second (the bucket's second, its counts). */
  seconds: number[];
  attempts: number[];
  failures: number[];
}

export type Choice =
  | { kind: 'backend'; backend: Backend }
  /** Nothing left to try: every untried backend is rate limited (`waitMs` until the first is back), or none is left. */
  | { kind: 'none'; waitMs: number; coolingDown: boolean };

export type Outcome = { kind: 'success' } | { kind: 'rate-limited'; retryAfterMs: number | undefined } | { kind: 'failure' };

function newState(): BackendState {
  return { coolingUntil: 0, openUntil: 0, open: false, probeUntil: 0, seconds: new Array<number>(BUCKETS).fill(-1), attempts: new Array<number>(BUCKETS).fill(0), failures: new Array<number>(BUCKETS).fill(0) };
}

/** Counts one attempt (and whether it failed) in the window. */
function count(state: BackendState, now: number, failed: boolean): void {
  const second = Math.floor(now / BUCKET_MS);
  const index = second % BUCKETS;
  if (state.seconds[index] !== second) {
    state.seconds[index] = second;
    state.attempts[index] = 0;
    state.failures[index] = 0;
  }
  state.attempts[index]! += 1;
  if (failed) state.failures[index]! += 1;
}

/** The attempts and failures of the last WINDOW_MS. */
function windowOf(state: BackendState, now: number): { attempts: number; failures: number } {
  const oldest = Math.floor(now / BUCKET_MS) - BUCKETS + 1;
  let attempts = 0;
  let failures = 0;
  for (let i = 0; i < BUCKETS; i++) {
    if (state.seconds[i]! >= oldest) {
      attempts += state.attempts[i]!;
      failures += state.failures[i]!;
    }
  }
  return { attempts, failures };
}

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
      state = newState();
      this.#states.set(key, state);
    }
    return state;
  }

  /** Whether a backend (its state) may be tried now: not cooling down, its circuit closed, or half-open with no probe out. */
  #isAvailable(state: BackendState | undefined, now: number): boolean {
    if (state === undefined) return true;
    if (now < state.coolingUntil) return false;
    if (!state.open) return true;
    return now >= state.openUntil && now >= state.probeUntil;
  }

  /** Set aside by its circuit alone (not by a 429): what a request may still try when nothing else is left. */
  #isOnlyCircuitOpen(backend: Backend, defaultEndpoint: string, now: number): boolean {
    const state = this.#states.get(backendKey(backend, defaultEndpoint));
    return state !== undefined && state.open && now >= state.coolingUntil;
  }

  /** A backend chosen; when half-open, this request is its probe, and no other is sent until it reports. */
  #picked(backend: Backend, state: BackendState | undefined, now: number, settings: RoutingSettings): Choice {
    if (state?.open === true && now >= state.openUntil) state.probeUntil = now + settings.attemptTimeoutMs;
    return { kind: 'backend', backend };
  }

  /** The next backend to try, among those not yet `tried`, or how long until one is back. */
  choose(backends: readonly Backend[], tried: ReadonlySet<Backend>, defaultEndpoint: string, settings: RoutingSettings): Choice {
    const now = this.#now();
    // A single backend, not set aside: nothing to weigh (the common case, kept cheap).
    const only = backends.length === 1 ? backends[0] : undefined;
    if (only !== undefined && !tried.has(only)) {
      // No backend has failed yet (the usual case): no key is made to look for a state there is none of.
      const state = this.#states.size === 0 ? undefined : this.#states.get(backendKey(only, defaultEndpoint));
      if (this.#isAvailable(state, now)) return this.#picked(only, state, now, settings);
    }
    const untried = backends.filter((b) => !tried.has(b));
    const priorities = [...new Set(untried.map((b) => b.priority))].sort((a, b) => a - b);
    for (const priority of priorities) {
      const available = untried.filter((b) => b.priority === priority && this.#isAvailable(this.#states.get(backendKey(b, defaultEndpoint)), now));
      if (available.length > 0) {
        const chosen = this.#roundRobin(available, defaultEndpoint);
        return this.#picked(chosen, this.#states.get(backendKey(chosen, defaultEndpoint)), now, settings);
      }
    }
    // Panic: every backend left is set aside, and some only by their circuits. Try those (in priority order,
    // by weight) rather than refuse the request without trying: a circuit steers traffic, it never stops it.
    for (const priority of priorities) {
      const failing = untried.filter((b) => b.priority === priority && this.#isOnlyCircuitOpen(b, defaultEndpoint, now));
      if (failing.length > 0) return { kind: 'backend', backend: this.#roundRobin(failing, defaultEndpoint) };
    }
    // What is left is rate limited (a circuit alone never refuses): the wait is the shortest retry-after left.
    let waitMs = Number.POSITIVE_INFINITY;
    for (const backend of untried) waitMs = Math.min(waitMs, this.#state(backendKey(backend, defaultEndpoint)).coolingUntil - now);
    return { kind: 'none', waitMs: Number.isFinite(waitMs) ? Math.max(0, waitMs) : 0, coolingDown: untried.length > 0 };
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
    // No state is made for a backend that never failed: unmapped model names (one key each) would pile up.
    if (outcome.kind === 'success' && this.#states.size === 0) return;
    const key = backendKey(backend, defaultEndpoint);
    const now = this.#now();
    if (outcome.kind === 'success') {
      const known = this.#states.get(key);
      if (known === undefined) return;
      count(known, now, false);
      if (known.open && now >= known.openUntil) {
        // The probe (or a panic attempt after the open time) succeeded: closed, with a clean window.
        this.#states.set(key, { ...newState(), coolingUntil: known.coolingUntil });
      }
      return;
    }
    const state = this.#state(key);
    switch (outcome.kind) {
      case 'rate-limited':
        // Without a retry-after, a second: Azure always sends one; a gateway in front may not.
        state.coolingUntil = now + Math.min(outcome.retryAfterMs ?? 1000, settings.cooldownMaxMs);
        return;
      case 'failure': {
        count(state, now, true);
        if (state.open) {
          // A failed probe (or panic attempt) once the open time is over: open again for another period.
          if (now >= state.openUntil) {
            state.openUntil = now + settings.circuitOpenMs;
            state.probeUntil = 0;
          }
          return;
        }
        const { attempts, failures } = windowOf(state, now);
        if (failures >= settings.circuitFailures && failures >= settings.circuitFailureRate * attempts) {
          state.open = true;
          state.openUntil = now + settings.circuitOpenMs;
          state.probeUntil = 0;
        }
        return;
      }
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
