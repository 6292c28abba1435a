/**
 * The proxy instance the Azure Functions share, configured from the app settings once per process. A bad
 * setting throws here, when the host loads the functions, so a misconfigured app refuses to start instead of
 * failing each request.
 */
import { loadConfig } from '../core/config';
import { createProxy, type OpenAIProxy } from '../core/proxy';
import { setupFunctionsApp } from './azureFunctions';

setupFunctionsApp();

const proxy = createProxy(loadConfig(process.env));

export function functionsProxy(): OpenAIProxy {
  return proxy;
}
