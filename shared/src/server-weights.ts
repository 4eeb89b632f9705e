/**
 * Parsing and printing fair-share server weights: `guildId:weight` pairs, comma-separated, as in
 * `SCHEDULER_SERVER_WEIGHTS` and `tessera farm weights`.
 */

export type ServerWeightsParse =
  | { ok: true; weights: Record<string, number> }
  | { ok: false; problem: string };

const SERVER_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** `"a:2, b:0.5"` → `{ a: 2, b: 0.5 }`; an empty string is no weights. Weights from 0.01 to 1000. */
export function parseServerWeights(text: string): ServerWeightsParse {
  const weights: Record<string, number> = {};
  for (const raw of text.split(',')) {
    const pair = raw.trim();
    if (pair === '') continue;
    const m = /^([^:\s]+)\s*:\s*([0-9]*\.?[0-9]+)$/.exec(pair);
    if (!m) return { ok: false, problem: `'${pair}' is not id:weight` };
    const [, id, w] = m as unknown as [string, string, string];
    if (!SERVER_ID.test(id)) return { ok: false, problem: `'${id}' is not a server id` };
    const weight = Number(w);
    if (!(weight >= 0.01 && weight <= 1000))
      return { ok: false, problem: `weight ${w} is not from 0.01 to 1000` };
    weights[id] = weight;
  }
  return { ok: true, weights };
}

export function formatServerWeights(weights: Record<string, number>): string {
  return Object.entries(weights)
    .map(([id, w]) => `${id}:${w}`)
    .join(',');
}
