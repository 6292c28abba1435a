/** The start of every handler that calls Azure or answers for it: who is calling, checked before anything else. */
import { authorize, type Caller } from './clientKeys';
import type { RequestContext } from '../context';

export function callerOf({ request, services, logFields }: RequestContext): Caller {
  const caller = authorize(services.config, request.headers);
  if (caller.keyName !== undefined) logFields.client = caller.keyName;
  return caller;
}
