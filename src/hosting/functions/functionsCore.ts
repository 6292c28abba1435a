/**
 * Types of the module `@azure/functions-core`, which the Azure Functions Node.js worker builds in and
 * `@azure/functions` drives (types-core/index.d.ts in Azure/azure-functions-nodejs-worker; no package ships them):
 * the parts the app's invocation bridge uses, and the test stand-in for the worker provides. Types only.
 */

export type RpcLogLevel = 'trace' | 'debug' | 'information' | 'warning' | 'error' | 'critical' | 'none';
export type RpcLogCategory = 'user' | 'system' | 'customMetric';
export type InvocationState = 'preInvocationHooks' | 'postInvocationHooks' | 'invocation';
export type FunctionCallback = (...args: unknown[]) => unknown;

/** `TypedData`: the forms of it an HTTP invocation with HTTP streams uses (the body goes by the HTTP proxy). */
export interface RpcTypedData {
  string?: string;
  json?: string;
  http?: Record<string, unknown>;
}

export interface RpcBindingInfo {
  type?: string;
  direction?: 'in' | 'out' | 'inout';
  [property: string]: unknown;
}

/** What the worker gives the programming model about one invocation. */
export interface CoreInvocationContext {
  invocationId: string;
  request: { invocationId: string; functionId: string; inputData: { name: string; data: RpcTypedData }[]; triggerMetadata: Record<string, RpcTypedData> };
  metadata: { name: string; bindings: Record<string, RpcBindingInfo> };
  state?: InvocationState;
  /** "The recommended way to log": an RpcLog with this invocation's id and its function's category. */
  log(level: RpcLogLevel, category: RpcLogCategory, message: string): void;
}

export interface InvocationModel {
  getArguments(): Promise<{ context: unknown; inputs: unknown[] }>;
  invokeFunction(context: unknown, inputs: unknown[], callback: FunctionCallback): Promise<unknown>;
  getResponse(context: unknown, result: unknown): Promise<unknown>;
}

export interface ProgrammingModel {
  name: string;
  version: string;
  getInvocationModel(context: CoreInvocationContext): InvocationModel | Promise<InvocationModel>;
  getCapabilities?(capabilities: Record<string, string>): Record<string, string> | Promise<Record<string, string>>;
}

/** The module's functions that the bridge calls. */
export interface CoreApi {
  getProgrammingModel(): ProgrammingModel | undefined;
  setProgrammingModel(model: ProgrammingModel): void;
  log(level: RpcLogLevel, category: RpcLogCategory, message: string): void;
}
