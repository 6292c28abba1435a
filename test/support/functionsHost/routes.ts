/**
 * How the Functions host picks the function for a request, as its source does it:
 *  - `FunctionMetadataManager.LoadFunctionMetadata` (azure-functions-host) orders the functions by name,
 *    `StringComparer.OrdinalIgnoreCase`;
 *  - `WebScriptHostHttpRoutesManager.InitializeHttpFunctionRoutes` maps one route per HTTP function in that order
 *    (`routePrefix` from host.json before each template), with an `HttpMethodRouteConstraint`;
 *  - the routes go into one ASP.NET Core `RouteCollection` (`WebJobsRouteBuilder.Build`,
 *    azure-webjobs-sdk-extensions), which tries them in order and takes the first that matches.
 * So a catch-all template shadows every function whose name sorts after its own. Templates here are the parts of
 * ASP.NET Core's route template syntax this app uses: literal segments (case-insensitive), `{name}` for one
 * segment, and `{*name}` for the rest of the path; anything else is refused, rather than matched wrongly.
 */

type Segment = { kind: 'literal'; text: string } | { kind: 'parameter'; name: string; catchAll: boolean };

export interface HttpFunctionRoute {
  functionId: string;
  functionName: string;
  /** The name of the function's HTTP trigger binding, which the invocation's input data is given under. */
  triggerName: string;
  template: string;
  /** Upper-case methods; null means every method. */
  methods: readonly string[] | null;
}

interface CompiledRoute extends HttpFunctionRoute {
  segments: readonly Segment[];
}

export interface RouteMatch {
  route: HttpFunctionRoute;
  params: Record<string, string>;
}

function parseTemplate(template: string): Segment[] {
  const trimmed = template.replace(/^\/+|\/+$/g, '');
  if (trimmed === '') return [];
  return trimmed.split('/').map((text, index, all) => {
    const parameter = /^\{(\*?)([A-Za-z_][\w]*)\}$/.exec(text);
    if (parameter !== null) {
      const catchAll = parameter[1] === '*';
      if (catchAll && index !== all.length - 1) throw new Error(`A catch-all parameter must be the last segment of "${template}"`);
      return { kind: 'parameter', name: parameter[2] as string, catchAll };
    }
    if (/[{}]/.test(text)) throw new Error(`The stand-in host does not support the route segment "${text}" of "${template}"`);
    return { kind: 'literal', text: text.toLowerCase() };
  });
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** .NET's `StringComparer.OrdinalIgnoreCase` on the ASCII names functions may have. */
export function compareOrdinalIgnoreCase(a: string, b: string): number {
  const x = a.toUpperCase();
  const y = b.toUpperCase();
  return x < y ? -1 : x > y ? 1 : 0;
}

export class RouteTable {
  readonly #routes: CompiledRoute[];

  constructor(routes: readonly HttpFunctionRoute[], routePrefix: string) {
    this.#routes = [...routes]
      .sort((a, b) => compareOrdinalIgnoreCase(a.functionName, b.functionName))
      .map((route) => ({ ...route, segments: parseTemplate(routePrefix === '' ? route.template : `${routePrefix}/${route.template}`) }));
  }

  /** The routes in the order the host tries them. */
  get order(): readonly HttpFunctionRoute[] {
    return this.#routes;
  }

  match(method: string, pathname: string): RouteMatch | undefined {
    const path = pathname.replace(/^\/+/, '').replace(/\/$/, '');
    const parts = path === '' ? [] : path.split('/');
    for (const route of this.#routes) {
      if (route.methods !== null && !route.methods.includes(method.toUpperCase())) continue;
      const params = matchSegments(route.segments, parts);
      if (params !== undefined) return { route, params };
    }
    return undefined;
  }
}

function matchSegments(segments: readonly Segment[], parts: readonly string[]): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i] as Segment;
    if (segment.kind === 'parameter' && segment.catchAll) {
      // A catch-all takes the rest of the path, which may be empty (then the parameter has no value).
      const rest = parts.slice(i).map(decode).join('/');
      if (rest !== '') params[segment.name] = rest;
      return params;
    }
    const part = parts[i];
    if (part === undefined || part === '') return undefined;
    if (segment.kind === 'literal') {
      if (decode(part).toLowerCase() !== segment.text) return undefined;
    } else {
      params[segment.name] = decode(part);
    }
  }
  return parts.length === segments.length ? params : undefined;
}
