/**
 * The app under the stand-in Functions host (test/support/functionsHost), for the benchmark: the host in this process,
 * the app in the stand-in worker's, with the real `@azure/functions` library and its HTTP proxy between them.
 * The worker's CPU time is the app's cost on Azure's path; the stand-in host's is not ours (Azure's host is .NET).
 */
import { FunctionsHost } from '../test/support/functionsHost/host';

async function main(): Promise<void> {
  const env: Record<string, string | undefined> = {};
  for (const name of ['PATH', 'AZURE_OPENAI_ENDPOINT', 'AZURE_OPENAI_STREAM_COMPAT']) env[name] = process.env[name];
  // The package Azure runs (dist/package) when the bench names it; else the build in the project.
  const appDirectory = process.env.FUNCTIONS_APP_DIRECTORY;
  const host = await FunctionsHost.start({ env, record: false, ...(appDirectory !== undefined && { appDirectory }) });
  console.info(`functions host listening on ${host.url}/v1 (worker pid ${String(host.workerPid)})`);
  const stop = (): void => void host.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
