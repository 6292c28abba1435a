/**
 * Which Azure deployment serves an OpenAI model name.
 *
 * Order: an explicit mapping wins; then the built-in renames of families that Azure spells differently
 * (`gpt-3.5-turbo*` is deployed as `gpt-35-turbo*`); otherwise the model name is the deployment name, unchanged.
 * The old images stripped `.` and `:` from unmapped names, which breaks today's deployments such as `gpt-4.1`.
 */

/** Azure deployment names: letters, digits, `-`, `_` and `.`, at most 64 characters. */
const DEPLOYMENT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Families that OpenAI and Azure name differently; the prefix is replaced, the suffix kept. */
const BUILT_IN_RENAMES: ReadonlyArray<readonly [openAIPrefix: string, azurePrefix: string]> = [
  ['gpt-3.5-turbo', 'gpt-35-turbo'],
];

export type DeploymentSource = 'mapped' | 'renamed' | 'unchanged';

/** Where a mapped model goes: its deployment, and optionally its own resource endpoint and api-version. */
export interface ModelTarget {
  deployment: string;
  endpoint?: string;
  apiVersion?: string;
}

export interface DeploymentResolution extends ModelTarget {
  source: DeploymentSource;
}

export class ModelMap {
  readonly #entries: ReadonlyMap<string, ModelTarget>;

  constructor(entries: ReadonlyMap<string, ModelTarget> = new Map()) {
    this.#entries = entries;
  }

  /** This map with `overrides` laid over it (an override of a model replaces its entry). */
  withOverrides(overrides: ReadonlyMap<string, ModelTarget>): ModelMap {
    return overrides.size === 0 ? this : new ModelMap(new Map([...this.#entries, ...overrides]));
  }

  /** The explicitly configured models, in configuration order. */
  get models(): readonly string[] {
    return [...this.#entries.keys()];
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The explicit entry for a model, if any. */
  explicit(model: string): ModelTarget | undefined {
    return this.#entries.get(model);
  }

  /**
   * The deployment for a model, or undefined when the model is not mapped and its name cannot be a deployment
   * name (so it would never reach a deployment, and must not be put into a URL path).
   */
  resolve(model: string): DeploymentResolution | undefined {
    const mapped = this.#entries.get(model);
    if (mapped !== undefined) return { ...mapped, source: 'mapped' };
    for (const [openAIPrefix, azurePrefix] of BUILT_IN_RENAMES) {
      if (model.startsWith(openAIPrefix)) {
        return { deployment: azurePrefix + model.slice(openAIPrefix.length), source: 'renamed' };
      }
    }
    return isDeploymentName(model) ? { deployment: model, source: 'unchanged' } : undefined;
  }
}

export function isDeploymentName(name: string): boolean {
  return DEPLOYMENT_NAME.test(name);
}

export class ModelMapSyntaxError extends Error {
  override readonly name = 'ModelMapSyntaxError';
}

/**
 * Parses the `AZURE_OPENAI_MODEL_MAPPER` form `model=deployment,model=deployment` (blanks around names and
 * empty entries are ignored). Throws a ModelMapSyntaxError that names the bad entry.
 */
export function parseModelMapper(text: string, settingName = 'AZURE_OPENAI_MODEL_MAPPER'): ModelMap {
  const entries = new Map<string, ModelTarget>();
  const parts = text.split(',');
  parts.forEach((raw, index) => {
    const entry = raw.trim();
    if (entry === '') return;
    const where = `${settingName}: entry ${index + 1} "${entry}"`;
    const eq = entry.indexOf('=');
    if (eq < 0 || entry.indexOf('=', eq + 1) >= 0) {
      throw new ModelMapSyntaxError(`${where} is not of the form model=deployment`);
    }
    const model = entry.slice(0, eq).trim();
    const deployment = entry.slice(eq + 1).trim();
    if (model === '' || /\s/.test(model)) {
      throw new ModelMapSyntaxError(`${where} has an empty model name or one with blanks in it`);
    }
    if (!isDeploymentName(deployment)) {
      throw new ModelMapSyntaxError(
        `${where} names deployment "${deployment}", which is not a valid Azure deployment name ` +
          '(letters, digits, "-", "_" and "." only, at most 64 characters)',
      );
    }
    const earlier = entries.get(model)?.deployment;
    if (earlier !== undefined && earlier !== deployment) {
      throw new ModelMapSyntaxError(`${where} maps "${model}" again, to a different deployment than "${earlier}"`);
    }
    entries.set(model, { deployment });
  });
  return new ModelMap(entries);
}
