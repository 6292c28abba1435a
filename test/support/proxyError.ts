import { ProxyError } from '../../src/core/errors/catalogue';

/** The ProxyError a promise rejects with; fails the test if it resolves or rejects with anything else. */
export async function proxyErrorOf(promise: Promise<unknown>): Promise<ProxyError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ProxyError) return error;
    throw error;
  }
  throw new Error('expected a ProxyError');
}
