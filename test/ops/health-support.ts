/* eslint-disable no-console */

export interface ProbeResult {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

/** GET /health/<kind> and its JSON. */
export async function probe(url: string, kind: 'live' | 'ready'): Promise<ProbeResult> {
  const response = await fetch(`${url}/health/${kind}`);
  return { status: response.status, body: await response.json() };
}

/** One line per readiness answer: HTTP status, overall status, each check (the e2e output doubles as a record). */
export function printTransition(what: string, result: ProbeResult): void {
  const checks = Object.entries((result.body?.details ?? {}) as Record<string, { status: string; message?: string }>)
    .map(([key, detail]) => `${key}=${detail.status}${detail.message ? ` (${detail.message.slice(0, 90)})` : ''}`)
    .join(', ');
  console.log(`[readiness] ${what}: HTTP ${result.status} ${result.body?.status}; ${checks}`);
}
