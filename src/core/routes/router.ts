/**
 * Matching a URL path against route templates such as `/models/{model}`. Paths are OpenAI's, under `/v1`;
 * the same paths without `/v1` are accepted too, since some clients are given a bare base URL.
 */

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD' | 'OPTIONS';

export interface RouteTemplate {
  methods: readonly HttpMethod[];
  /** OpenAI path without the `/v1` prefix; `{name}` is one path segment. */
  path: string;
}

export interface RouteMatch<R extends RouteTemplate> {
  route: R;
  params: Record<string, string>;
}

export type MatchResult<R extends RouteTemplate> =
  | { kind: 'match'; match: RouteMatch<R> }
  | { kind: 'method-not-allowed'; allowed: readonly HttpMethod[] }
  | { kind: 'no-route' };

interface CompiledRoute<R extends RouteTemplate> {
  route: R;
  pattern: RegExp;
  paramNames: readonly string[];
}

function compile<R extends RouteTemplate>(route: R): CompiledRoute<R> {
  const paramNames: string[] = [];
  const source = route.path
    .split('/')
    .map((segment) => {
      const param = /^\{(\w+)\}$/.exec(segment);
      if (param?.[1] !== undefined) {
        paramNames.push(param[1]);
        return '([^/]+)';
      }
      return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return { route, pattern: new RegExp(`^${source}/?$`), paramNames };
}

/** The path with one leading `/v1` removed: `/v1/chat/completions` and `/chat/completions` are the same route. */
export function openAIPath(pathname: string): string {
  if (pathname === '/v1') return '/';
  return pathname.startsWith('/v1/') ? pathname.slice(3) : pathname;
}

export class Router<R extends RouteTemplate> {
  readonly #compiled: readonly CompiledRoute<R>[];

  constructor(routes: readonly R[]) {
    this.#compiled = routes.map(compile);
  }

  match(method: string, pathname: string): MatchResult<R> {
    const path = openAIPath(pathname);
    const allowed: HttpMethod[] = [];
    for (const { route, pattern, paramNames } of this.#compiled) {
      const found = pattern.exec(path);
      if (found === null) continue;
      // HEAD is GET without the body (RFC 9110 9.3.2): a GET route answers it (the host sends no body).
      if (!route.methods.includes(method as HttpMethod) && !(method === 'HEAD' && route.methods.includes('GET'))) {
        allowed.push(...route.methods);
        continue;
      }
      const params: Record<string, string> = {};
      try {
        paramNames.forEach((name, index) => {
          params[name] = decodeURIComponent(found[index + 1] ?? '');
        });
      } catch {
        return { kind: 'no-route' };
      }
      return { kind: 'match', match: { route, params } };
    }
    return allowed.length > 0 ? { kind: 'method-not-allowed', allowed } : { kind: 'no-route' };
  }
}
