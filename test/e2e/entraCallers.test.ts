/**
 * Callers signed in with Microsoft Entra ID: the `openai` SDK sends the access token as its API key, the proxy
 * verifies it against the tenant's signing keys (the Entra stand-in's OpenID configurations and JWKS on loopback,
 * driven by the real `jose`), and maps its app roles to what a client key would carry. Client keys keep working.
 */
import OpenAI from 'openai';
import { SignJWT } from 'jose';
import { startStack, type Stack } from '../support/stack';
import { entraToken, signingKey, startEntraStandIn, type EntraStandIn, type SigningKey } from '../support/entraStandIn';
import { EMULATOR_API_KEY } from '../../src/emulator/server';
import { loadConfig } from '../../src/core/config/config';
import type { ProxyOptions } from '../../src/core/proxy';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const OTHER_TENANT = '0a0a0a0a-1b1b-2c2c-3d3d-4e4e4e4e4e4e';
const APP_ID_URI = 'api://openai-proxy';
const CLIENT_ID = '99999999-8888-7777-6666-555555555555';

let entra: EntraStandIn;
let stack: Stack;
let key: SigningKey;
let otherTenantKey: SigningKey;

/** A proxy on the emulator that holds the Azure key and takes client keys and Entra tokens. */
function proxyFor(standIn: EntraStandIn, proxy: ProxyOptions = {}): Promise<Stack> {
  return startStack({
    proxy,
    env: {
      AZURE_OPENAI_AUTH: 'key',
      AZURE_OPENAI_TOKEN: EMULATOR_API_KEY,
      PROXY_API_KEYS: 'client-key-1',
      PROXY_ENTRA_TENANT_IDS: TENANT,
      PROXY_ENTRA_AUDIENCE: `${APP_ID_URI},${CLIENT_ID}`,
      PROXY_ENTRA_AUTHORITY_HOST: standIn.url,
      PROXY_ENTRA_ROLES: JSON.stringify({ 'Proxy.Mini': { models: ['gpt-4o-mini'] }, 'Proxy.All': {} }),
    },
  });
}

beforeAll(async () => {
  key = await signingKey('key-1');
  otherTenantKey = await signingKey('other-1');
  entra = await startEntraStandIn({ [TENANT]: [key], [OTHER_TENANT]: [otherTenantKey] });
  stack = await proxyFor(entra);
});
afterAll(async () => {
  await stack.close();
  await entra.close();
});

const chat = (token: string, model = 'gpt-4o', on: Stack = stack): Promise<unknown> =>
  new OpenAI({ apiKey: token, baseURL: on.baseURL, maxRetries: 0 }).chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] });

const allRoles = { roles: ['Proxy.All'] };

describe('Microsoft Entra callers', () => {
  it('accepts a v2 token for the client id and a v1 token for the App ID URI, logging the app and the object id', async () => {
    await expect(chat(await entraToken({ tenant: TENANT, audience: CLIENT_ID, key, claims: allRoles }))).resolves.toMatchObject({ object: 'chat.completion' });
    await expect(chat(await entraToken({ tenant: TENANT, audience: APP_ID_URI, key, version: 1, claims: allRoles }))).resolves.toMatchObject({ object: 'chat.completion' });
    const line = stack.logs.filter((l) => l.startsWith('info request ')).at(-1) ?? '';
    expect(line).toContain('client=entra:11111111-2222-3333-4444-555555555555');
    expect(line).toContain('client_object_id=aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee');
    // The token itself is in no log line.
    expect(stack.logs.join('\n')).not.toMatch(/eyJ[\w-]+\.eyJ/);
  });

  it('keeps client keys working beside tokens', async () => {
    await expect(chat('client-key-1')).resolves.toMatchObject({ object: 'chat.completion' });
  });

  it.each([
    ['expired', { expiresIn: -600 }, /expired/],
    ['not valid yet', { notBefore: 600 }, /not valid yet/],
    ['for another audience', { audience: 'api://someone-else' }, /another audience/],
    ['from an issuer that is not its tenant', { issuer: `https://login.microsoftonline.com/${OTHER_TENANT}/v2.0` }, /issuer/],
  ])('refuses a token %s with a 401 saying why', async (_name, options, reason) => {
    const token = await entraToken({ tenant: TENANT, audience: CLIENT_ID, key, claims: allRoles, ...options });
    await expect(chat(token)).rejects.toMatchObject({ status: 401, code: 'invalid_api_key', message: expect.stringMatching(reason) as unknown });
  });

  it('allows a minute of clock skew', async () => {
    await expect(chat(await entraToken({ tenant: TENANT, audience: CLIENT_ID, key, claims: allRoles, expiresIn: -30 }))).resolves.toMatchObject({ object: 'chat.completion' });
  });

  it("refuses a tenant not listed, even with its own tenant's valid signature", async () => {
    const token = await entraToken({ tenant: OTHER_TENANT, audience: CLIENT_ID, key: otherTenantKey, claims: allRoles });
    await expect(chat(token)).rejects.toMatchObject({ status: 401, message: expect.stringMatching(/tenant this proxy accepts/) as unknown });
  });

  it('refuses a tampered payload, a key the tenant does not publish, alg none and a symmetric signature', async () => {
    const good = await entraToken({ tenant: TENANT, audience: CLIENT_ID, key, claims: { roles: ['Proxy.Mini'] } });
    const [header, payload, signature] = good.split('.') as [string, string, string];
    const raised = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), roles: ['Proxy.All'] })).toString('base64url');
    await expect(chat(`${header}.${raised}.${signature}`)).rejects.toMatchObject({ status: 401, message: expect.stringMatching(/signature does not verify/) as unknown });

    const stranger = await signingKey('key-1');
    await expect(chat(await entraToken({ tenant: TENANT, audience: CLIENT_ID, key: stranger, claims: allRoles }))).rejects.toMatchObject({ status: 401, message: expect.stringMatching(/signature/) as unknown });
    const unknown = await signingKey('never-published');
    await expect(chat(await entraToken({ tenant: TENANT, audience: CLIENT_ID, key: unknown, claims: allRoles }))).rejects.toMatchObject({ status: 401, message: expect.stringMatching(/does not publish/) as unknown });

    const claims = { tid: TENANT, azp: 'x', roles: ['Proxy.All'], aud: CLIENT_ID, iss: `https://login.microsoftonline.com/${TENANT}/v2.0`, exp: Math.floor(Date.now() / 1000) + 600 };
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.`;
    await expect(chat(none)).rejects.toMatchObject({ status: 401 });
    const symmetric = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid: 'key-1' }).sign(new TextEncoder().encode(JSON.stringify(key.publicJwk)));
    await expect(chat(symmetric)).rejects.toMatchObject({ status: 401, message: expect.stringMatching(/RS256/) as unknown });
  });

  it('limits a caller to the models of its app role, and refuses one with no role the proxy grants', async () => {
    const mini = await entraToken({ tenant: TENANT, audience: CLIENT_ID, key, claims: { roles: ['Proxy.Mini'] } });
    await expect(chat(mini, 'gpt-4o-mini')).resolves.toMatchObject({ object: 'chat.completion' });
    await expect(chat(mini, 'gpt-4o')).rejects.toMatchObject({ status: 403, code: 'model_not_allowed' });
    const none = await entraToken({ tenant: TENANT, audience: CLIENT_ID, key, claims: { roles: ['Something.Else'] } });
    await expect(chat(none)).rejects.toMatchObject({ status: 403, code: 'caller_not_allowed' });
  });

  it("answers 503 naming the tenant while its signing keys cannot be read, and reads them again for the next token", async () => {
    const standIn = await startEntraStandIn({});
    const own = await proxyFor(standIn);
    try {
      const token = await entraToken({ tenant: TENANT, audience: CLIENT_ID, key, claims: allRoles });
      const refused = await chat(token, 'gpt-4o', own).catch((error: unknown) => error);
      expect(refused).toMatchObject({ status: 503, code: 'proxy_not_ready' });
      // Either configuration (v2 or v1, read at once) may be the first to fail.
      const configuration = `${standIn.url}/${TENANT}/(v2\\.0/)?\\.well-known/openid-configuration`;
      expect((refused as Error).message).toMatch(new RegExp(`signing keys of Microsoft Entra tenant ${TENANT}: ${configuration} answered 400\\.`));
      // The failure is not kept: once the tenant answers, the next token is verified.
      standIn.published.set(TENANT, [key]);
      await expect(chat(token, 'gpt-4o', own)).resolves.toMatchObject({ object: 'chat.completion' });
    } finally {
      await own.close();
      await standIn.close();
    }
  });

  it("takes a rotated key after fetching the tenant's keys again, and fetches them at most once per cooldown for unknown keys", async () => {
    // A proxy of its own, with a cooldown of a second instead of 30 s.
    const standIn = await startEntraStandIn({ [TENANT]: [key] });
    const own = await proxyFor(standIn, { entraKeysCooldownMs: 1000 });
    // Made first: making keys takes time, and these are sent within the cooldown below.
    const madeUp = await Promise.all(Array.from({ length: 5 }, async (_, n) => entraToken({ tenant: TENANT, audience: CLIENT_ID, key: await signingKey(`made-up-${n}`), claims: allRoles })));
    try {
      await expect(chat(await entraToken({ tenant: TENANT, audience: CLIENT_ID, key, claims: allRoles }), 'gpt-4o', own)).resolves.toMatchObject({ object: 'chat.completion' });
      expect(standIn.keyFetches).toBe(1);
      const rotated = await signingKey('key-2');
      standIn.published.set(TENANT, [key, rotated]);
      await new Promise((resolve) => setTimeout(resolve, 1050));
      await expect(chat(await entraToken({ tenant: TENANT, audience: CLIENT_ID, key: rotated, claims: allRoles }), 'gpt-4o', own)).resolves.toMatchObject({ object: 'chat.completion' });
      expect(standIn.keyFetches).toBe(2);
      // Tokens with made-up key ids, one after another: no fetch within the cooldown that fetch started.
      for (const token of madeUp) await expect(chat(token, 'gpt-4o', own)).rejects.toMatchObject({ status: 401 });
      expect(standIn.keyFetches).toBe(2);
    } finally {
      await own.close();
      await standIn.close();
    }
  });
});

describe('Entra settings', () => {
  it('are refused with passthrough, and need the tenants and the audience together', () => {
    const endpoint = { AZURE_OPENAI_ENDPOINT: 'https://r.openai.azure.com' };
    expect(() => loadConfig({ ...endpoint, PROXY_ENTRA_TENANT_IDS: TENANT, PROXY_ENTRA_AUDIENCE: CLIENT_ID })).toThrow(/AZURE_OPENAI_AUTH is passthrough/);
    expect(() => loadConfig({ ...endpoint, AZURE_OPENAI_AUTH: 'key', AZURE_OPENAI_TOKEN: 'k', PROXY_ENTRA_TENANT_IDS: TENANT })).toThrow(/both PROXY_ENTRA_TENANT_IDS/);
    expect(() => loadConfig({ ...endpoint, AZURE_OPENAI_AUTH: 'key', AZURE_OPENAI_TOKEN: 'k', PROXY_ENTRA_TENANT_IDS: 'contoso', PROXY_ENTRA_AUDIENCE: CLIENT_ID })).toThrow(/PROXY_ENTRA_TENANT_IDS.*tenant ids/);
    // Tokens are callers of their own: no client key is needed beside them.
    expect(loadConfig({ ...endpoint, AZURE_OPENAI_AUTH: 'key', AZURE_OPENAI_TOKEN: 'k', PROXY_ENTRA_TENANT_IDS: TENANT, PROXY_ENTRA_AUDIENCE: CLIENT_ID }).entra).toMatchObject({
      tenants: [TENANT],
      audiences: [CLIENT_ID],
      authority: 'https://login.microsoftonline.com',
      roles: [['*', {}]],
    });
  });
});
