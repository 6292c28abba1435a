/** The start of every handler that calls Azure or answers for it: who is calling, and may they now, checked before anything else. */
import { authorize, type Caller } from './clientKeys';
import type { RequestContext } from '../context';

export function callerOf({ request, services, logFields, quota, entra }: RequestContext): Caller {
  const caller = authorize(services.config, request.headers, entra);
  if (caller.keyName !== undefined) logFields.client = caller.keyName;
  if (entra?.objectId !== undefined) logFields.client_object_id = entra.objectId;
  // A limited key is admitted (or refused with OpenAI's 429) before anything is read or sent.
  if (caller.keyName !== undefined && caller.limits !== undefined) {
    const account = { key: caller.keyName, limits: caller.limits };
    services.limiter.admit(account);
    quota.account = account;
  }
  return caller;
}
