/**
 * The messages between the stand-in host and the stand-in worker: the subset of the Functions language-worker
 * protocol (azure-functions-language-worker-protobuf, `FunctionRpc.EventStream`) that an HTTP app uses, carried
 * over Node's IPC channel (as JSON) instead of gRPC. Field names follow the protobuf's (camel-cased as the Node
 * worker sees them), so the worker side can hand them to `@azure/functions` as the real worker does.
 */
import type { RpcBindingInfo, RpcLogLevel, RpcTypedData } from '../../../src/hosting/functions/functionsCore';

export type { RpcBindingInfo, RpcLogLevel, RpcTypedData };

/** `RpcFunctionMetadata` as the worker reports it from indexing (`FunctionsMetadataResponse`). */
export interface RpcFunctionMetadata {
  name: string;
  functionId: string;
  bindings: Record<string, RpcBindingInfo>;
}


/** Host to worker. */
export type HostMessage =
  /** `WorkerInitRequest` followed by `FunctionsMetadataRequest`: load the app, report capabilities and functions. */
  | { kind: 'workerInit'; functionAppDirectory: string; hostVersion: string }
  /** `InvocationRequest`. */
  | {
      kind: 'invocation';
      invocationId: string;
      functionId: string;
      inputData: { name: string; data: RpcTypedData }[];
      triggerMetadata: Record<string, RpcTypedData>;
    }
  /** `WorkerTerminate`: run the appTerminate hooks and exit. */
  | { kind: 'terminate' }
  /** Not in the protocol: the stand-in's way to sample the worker process (memory), for tests and the bench. */
  | { kind: 'sample'; id: number };

/** Worker to host. */
export type WorkerMessage =
  | {
      kind: 'workerInitResponse';
      capabilities: Record<string, string>;
      functions: RpcFunctionMetadata[];
      /** The app failed to load (the worker's `blockingAppStartError`): the host indexes no function. */
      error?: string;
      /** Not in the protocol: what loading the app cost, for the bench. */
      appLoad: AppLoad;
    }
  /** `RpcLog`: with an invocation id, a log of that invocation (`category` `<function>.Invocation`). */
  | { kind: 'rpcLog'; invocationId?: string; category?: string; level: RpcLogLevel; logCategory: 'user' | 'system'; message: string }
  /** `InvocationResponse`. */
  | { kind: 'invocationResponse'; invocationId: string; status: 'success' | 'failure'; exception?: string }
  | { kind: 'sampleResponse'; id: number; rssBytes: number; heapUsedBytes: number; externalBytes: number; cpuMicros: number; modules: string[] };

/** Loading the app's entry points and running its appStart hooks, in the worker. */
export interface AppLoad {
  /** From the first entry point's require to the end of the appStart hooks. */
  ms: number;
  /** From the worker process's start to the same point: what a cold start waits for before indexing. */
  sinceProcessStartMs: number;
  /** Modules the app loaded (files in require's cache that were not there before). */
  modules: number;
  rssBytes: number;
}
