/** Puts a response's token usage into its request's log line. */
import type { RequestContext } from '../context';
import type { TokenUsage } from './usage';

export function recordUsageIn(logFields: RequestContext['logFields']): (usage: TokenUsage | undefined) => void {
  return (usage) => {
    if (usage === undefined) return;
    logFields.prompt_tokens = usage.prompt;
    logFields.completion_tokens = usage.completion;
    logFields.total_tokens = usage.total;
  };
}
