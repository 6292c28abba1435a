/**
 * ChatGPT-style web UIs ask OpenAI's (undocumented) billing endpoints for a balance and show an error when they
 * fail. Azure OpenAI has no such API, so these answers are mocks: every body says so in `note`, and every
 * response carries `x-mock: true`. The amounts are zero or, for the limit, a large placeholder.
 */
import type { RouteHandler } from '../context';
import { jsonResponse } from '../errors/catalogue';
import { callerOf } from '../auth/caller';

const NOTE = 'Mocked by the Azure OpenAI proxy: Azure OpenAI has no billing API. See the Azure portal for costs.';
const MOCK_HEADERS = { 'x-mock': 'true' } as const;
const PLACEHOLDER_LIMIT_USD = 1_000_000;

export const billingSubscription: RouteHandler = async (context) => {
  callerOf(context);
  return jsonResponse(
    200,
    {
      object: 'billing_subscription',
      has_payment_method: true,
      canceled: false,
      soft_limit_usd: PLACEHOLDER_LIMIT_USD,
      hard_limit_usd: PLACEHOLDER_LIMIT_USD,
      system_hard_limit_usd: PLACEHOLDER_LIMIT_USD,
      access_until: 4_102_444_800,
      plan: { title: 'Azure OpenAI (mock)', id: 'azure-openai-proxy-mock' },
      note: NOTE,
    },
    MOCK_HEADERS,
  );
};

export const billingUsage: RouteHandler = async (context) => {
  callerOf(context);
  return jsonResponse(200, { object: 'list', total_usage: 0, daily_costs: [], note: NOTE }, MOCK_HEADERS);
};

export const billingCreditGrants: RouteHandler = async (context) => {
  callerOf(context);
  return jsonResponse(
    200,
    {
      object: 'credit_summary',
      total_granted: 0,
      total_used: 0,
      total_available: 0,
      grants: { object: 'list', data: [] },
      note: NOTE,
    },
    MOCK_HEADERS,
  );
};
