/**
 * The stand-in for the Azure Functions Node.js language worker (Azure/azure-functions-nodejs-worker, v3.x), run
 * as its own process by the stand-in host. It does what the worker does for an HTTP app, written from its source:
 *  - provides the built-in module `@azure/functions-core` (`setupCoreModule.ts`: a `require` hook) with
 *    `registerFunction`, `setProgrammingModel`/`getProgrammingModel`, `registerHook`, `log` and `Disposable`;
 *  - loads the app's entry points, the files `package.json`'s `main` names (`startApp.ts`); a file that throws
 *    blocks the app, as on Node 20 and later, and no function is indexed;
 *  - asks the programming model for its capabilities (`getWorkerCapabilities.ts`), which is when
 *    `@azure/functions` starts its HTTP proxy and reports it as `HttpUri`;
 *  - runs each invocation through the programming model's invocation model, with the same states and hooks as
 *    `InvocationHandler.ts`, and logs through the invocation's `CoreInvocationContext.log`.
 * So the real `@azure/functions` library runs here as it does on Azure, its HTTP-stream path included.
 */
import { readdirSync, readFileSync } from 'node:fs';
import Module from 'node:module';
import { join } from 'node:path';
import type { CoreInvocationContext, FunctionCallback, ProgrammingModel, RpcBindingInfo, RpcLogCategory, RpcLogLevel } from '../../../src/hosting/functions/functionsCore';
import type { AppLoad, HostMessage, RpcFunctionMetadata, WorkerMessage } from './protocol';

type HookName = 'appStart' | 'appTerminate' | 'preInvocation' | 'postInvocation';
type HookCallback = (context: Record<string, unknown>) => unknown;

function send(message: WorkerMessage): void {
  process.send?.(message);
}

class Disposable {
  static from(...items: { dispose: () => unknown }[]): Disposable {
    return new Disposable(() => items.forEach((item) => item.dispose()));
  }

  #callOnDispose: (() => unknown) | undefined;

  constructor(callOnDispose: () => unknown) {
    this.#callOnDispose = callOnDispose;
  }

  dispose(): unknown {
    const call = this.#callOnDispose;
    this.#callOnDispose = undefined;
    return call?.();
  }
}

const functions = new Map<string, { metadata: RpcFunctionMetadata; callback: FunctionCallback }>();
const hooks: Record<HookName, HookCallback[]> = { appStart: [], appTerminate: [], preInvocation: [], postInvocation: [] };
const appHookData: Record<string, unknown> = {};
let programmingModel: ProgrammingModel | undefined;
let indexingLocked = false;
let hostVersion = '';

const coreApi = {
  version: '3.10.1-stand-in',
  get hostVersion(): string {
    return hostVersion;
  },
  registerHook(name: HookName, callback: HookCallback): Disposable {
    hooks[name].push(callback);
    return new Disposable(() => {
      hooks[name] = hooks[name].filter((hook) => hook !== callback);
    });
  },
  setProgrammingModel(model: ProgrammingModel): void {
    programmingModel = model;
  },
  getProgrammingModel(): ProgrammingModel | undefined {
    return programmingModel;
  },
  /** "The recommended way to log information outside the context of an invocation": no invocation id. */
  log(level: RpcLogLevel, category: RpcLogCategory, message: string): void {
    send({ kind: 'rpcLog', level, logCategory: category === 'system' ? 'system' : 'user', message });
  },
  registerFunction(metadata: { name: string; functionId?: string; bindings: Record<string, RpcBindingInfo> }, callback: FunctionCallback): Disposable {
    if (indexingLocked) throw new Error('A function can only be registered during app startup.');
    const functionId = metadata.functionId ?? metadata.name;
    if (functions.has(functionId)) throw new Error(`A function with id "${functionId}" has already been registered.`);
    functions.set(functionId, { metadata: { name: metadata.name, functionId, bindings: metadata.bindings }, callback });
    return new Disposable(() => functions.delete(functionId));
  },
  Disposable,
};

type Require = (this: unknown, id: string) => unknown;
const moduleRequire = (Module.prototype as unknown as { require: Require }).require;
(Module.prototype as unknown as { require: Require }).require = new Proxy(moduleRequire, {
  apply(target, thisArg, args: [string]) {
    return args[0] === '@azure/functions-core' ? coreApi : Reflect.apply(target, thisArg, args);
  },
});

/** The files a `main` pattern names: `*` within a path segment, as the worker's globby reads this project's. */
function entryPoints(directory: string, pattern: string): string[] {
  let paths = [''];
  for (const segment of pattern.split('/')) {
    if (!segment.includes('*')) {
      paths = paths.map((path) => (path === '' ? segment : `${path}/${segment}`));
      continue;
    }
    const matcher = new RegExp(`^${segment.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^/]*')}$`);
    paths = paths.flatMap((path) => {
      try {
        return readdirSync(join(directory, path)).filter((name) => matcher.test(name)).sort().map((name) => (path === '' ? name : `${path}/${name}`));
      } catch {
        return [];
      }
    });
  }
  return paths;
}

async function runHooks(name: HookName, context: Record<string, unknown>): Promise<void> {
  for (const hook of hooks[name]) await hook(context);
}

const appLoad: AppLoad = { ms: 0, sinceProcessStartMs: 0, modules: 0, rssBytes: 0 };

async function startApp(directory: string): Promise<string | undefined> {
  const before = new Set(Object.keys(require.cache));
  const started = performance.now();
  const main = (JSON.parse(readFileSync(join(directory, 'package.json'), 'utf8')) as { main?: string }).main ?? 'index.js';
  const files = entryPoints(directory, main);
  try {
    if (files.length === 0) throw new Error('Found zero files matching the supplied pattern');
    for (const file of files) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      require(join(directory, file));
    }
  } catch (error) {
    // Node 20 and later: an entry point that throws blocks the app (startApp.ts, shouldBlockOnEntryPointError).
    const reason = error instanceof Error ? error : new Error(String(error));
    console.error(reason.stack);
    return `Worker was unable to load entry point "${main}": ${reason.message}`;
  }
  await runHooks('appStart', { hookData: {}, appHookData, functionAppDirectory: directory });
  const ended = performance.now();
  Object.assign(appLoad, {
    ms: ended - started,
    sinceProcessStartMs: ended,
    modules: Object.keys(require.cache).filter((file) => !before.has(file)).length,
    rssBytes: process.memoryUsage().rss,
  });
  return undefined;
}

async function workerInit(directory: string): Promise<WorkerMessage> {
  const loadError = await startApp(directory);
  indexingLocked = true;
  let capabilities: Record<string, string> = {
    RawHttpBodyBytes: 'true',
    RpcHttpTriggerMetadataRemoved: 'true',
    RpcHttpBodyOnly: 'true',
    IgnoreEmptyValuedRpcHttpHeaders: 'true',
    UseNullableValueDictionaryForHttp: 'true',
    WorkerStatus: 'true',
    TypedDataCollection: 'true',
    HandlesWorkerTerminateMessage: 'true',
  };
  if (programmingModel?.getCapabilities !== undefined) capabilities = await programmingModel.getCapabilities(capabilities);
  if (loadError !== undefined) return { kind: 'workerInitResponse', capabilities, functions: [], error: loadError, appLoad };
  return { kind: 'workerInitResponse', capabilities, functions: [...functions.values()].map((f) => f.metadata), appLoad };
}

async function invoke(message: Extract<HostMessage, { kind: 'invocation' }>): Promise<void> {
  const registered = functions.get(message.functionId);
  const { invocationId } = message;
  try {
    if (registered === undefined) throw new Error(`Function code for '${message.functionId}' is not loaded and cannot be invoked.`);
    if (programmingModel === undefined) throw new Error('No programming model is set.');
    const { metadata } = registered;
    const category = `${metadata.name}.Invocation`;
    const core: CoreInvocationContext = {
      invocationId,
      request: { invocationId, functionId: message.functionId, inputData: message.inputData, triggerMetadata: message.triggerMetadata },
      metadata: { name: metadata.name, bindings: metadata.bindings },
      log(level, logCategory, text) {
        send({ kind: 'rpcLog', invocationId, category, level, logCategory: logCategory === 'system' ? 'system' : 'user', message: text });
      },
    };
    const model = await programmingModel.getInvocationModel(core);
    const { context, inputs } = await model.getArguments();
    const hookData: Record<string, unknown> = {};
    const pre = { hookData, appHookData, invocationContext: context, functionCallback: registered.callback, inputs };
    core.state = 'preInvocationHooks';
    try {
      await runHooks('preInvocation', pre);
    } finally {
      core.state = undefined;
    }
    const post: { result: unknown; error: unknown; [field: string]: unknown } = { hookData, appHookData, invocationContext: context, inputs: pre.inputs, result: null, error: null };
    core.state = 'invocation';
    try {
      post.result = await model.invokeFunction(context, pre.inputs, pre.functionCallback);
    } catch (error) {
      post.error = error;
    } finally {
      core.state = undefined;
    }
    core.state = 'postInvocationHooks';
    try {
      await runHooks('postInvocation', post);
    } finally {
      core.state = undefined;
    }
    if (post.error !== null) throw post.error instanceof Error ? post.error : new Error('The function failed with a value that is not an Error.');
    await model.getResponse(context, post.result);
    send({ kind: 'invocationResponse', invocationId, status: 'success' });
  } catch (error) {
    send({ kind: 'invocationResponse', invocationId, status: 'failure', exception: error instanceof Error ? error.message : String(error) });
  }
}

process.on('message', (message: HostMessage) => {
  switch (message.kind) {
    case 'workerInit':
      hostVersion = message.hostVersion;
      process.chdir(message.functionAppDirectory);
      void workerInit(message.functionAppDirectory).then(send, (error: unknown) =>
        send({ kind: 'workerInitResponse', capabilities: {}, functions: [], error: error instanceof Error ? error.message : String(error), appLoad }),
      );
      return;
    case 'invocation':
      void invoke(message);
      return;
    case 'sample': {
      const memory = process.memoryUsage();
      const cpu = process.cpuUsage();
      send({ kind: 'sampleResponse', id: message.id, rssBytes: memory.rss, heapUsedBytes: memory.heapUsed, externalBytes: memory.external, cpuMicros: cpu.user + cpu.system, modules: Object.keys(require.cache) });
      return;
    }
    case 'terminate':
      void runHooks('appTerminate', { hookData: {}, appHookData }).finally(() => process.exit(0));
      return;
  }
});

// The host's end of the channel is gone: so is the host.
process.on('disconnect', () => process.exit(0));
