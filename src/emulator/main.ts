/** `npm run emulator`: the Azure OpenAI emulator on its own, for trying clients against Azure's wire format. */
import { AzureOpenAIEmulator, EMULATOR_API_KEY } from './server';

async function main(): Promise<void> {
  const emulator = await AzureOpenAIEmulator.start({
    host: process.env.EMULATOR_HOST ?? '127.0.0.1',
    port: Number(process.env.EMULATOR_PORT ?? 8081),
    chunkDelayMs: Number(process.env.EMULATOR_CHUNK_DELAY_MS ?? 20),
  });
  console.info(
    `Azure OpenAI emulator at ${emulator.url} (api-key: ${EMULATOR_API_KEY}; deployments: ` +
      `${emulator.deployments.map((d) => d.name).join(', ')})`,
  );
  const stop = (): void => void emulator.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
