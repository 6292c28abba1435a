/**
 * The api-versions of Azure OpenAI's data plane (azure-rest-api-specs, specification/cognitiveservices/data-plane/
 * AzureOpenAI/inference, stable and preview), to tell a typo (`2024-13-45`, `2024-10-22`) from a real version, which
 * Azure would otherwise answer with a bare 404 on every call. A version dated after the newest here is taken as a
 * newer one this list does not know yet: passed on, with a notice at start.
 */
export const KNOWN_API_VERSIONS: readonly string[] = [
  '2022-12-01',
  '2023-03-15-preview',
  '2023-05-15',
  '2023-06-01-preview',
  '2023-07-01-preview',
  '2023-08-01-preview',
  '2023-09-01-preview',
  '2023-10-01-preview',
  '2023-12-01-preview',
  '2024-02-01',
  '2024-02-15-preview',
  '2024-03-01-preview',
  '2024-04-01-preview',
  '2024-05-01-preview',
  '2024-06-01',
  '2024-07-01-preview',
  '2024-08-01-preview',
  '2024-09-01-preview',
  '2024-10-01-preview',
  '2024-10-21',
  '2024-12-01-preview',
  '2025-01-01-preview',
  '2025-02-01-preview',
  '2025-03-01-preview',
  '2025-04-01-preview',
];

const NEWEST = KNOWN_API_VERSIONS.reduce((a, b) => (a.slice(0, 10) > b.slice(0, 10) ? a : b)).slice(0, 10);

export type ApiVersionStatus = 'known' | 'newer' | 'impossible' | 'unknown';

/** How a dated api-version (already of the form YYYY-MM-DD[-preview]) stands; `v1` and `preview` are known. */
export function apiVersionStatus(version: string): ApiVersionStatus {
  if (version === 'v1' || version === 'preview' || KNOWN_API_VERSIONS.includes(version)) return 'known';
  const date = version.slice(0, 10);
  const parsed = new Date(`${date}T00:00:00Z`);
  if (Number.isNaN(parsed.getTime()) || parsed.toISOString().slice(0, 10) !== date) return 'impossible';
  return date > NEWEST ? 'newer' : 'unknown';
}
