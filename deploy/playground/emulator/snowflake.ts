/** Discord's epoch (2015-01-01T00:00:00Z) in milliseconds. */
const DISCORD_EPOCH = 1_420_070_400_000n;

/**
 * Returns a generator of Discord-shaped snowflake ids (timestamp << 22 | worker << 17 | increment).
 * Real-looking ids matter: discord.js buckets routes by id, and short ids change that bucketing.
 * Ids from "now" have 19 digits.
 * @see https://discord.com/developers/docs/reference#snowflakes
 */
export function createSnowflakeGenerator(worker = 1, now: () => number = Date.now): () => string {
  let increment = 0n;
  let last = 0n;
  return () => {
    let ts = BigInt(now()) - DISCORD_EPOCH;
    // Ids must be strictly increasing even within one millisecond and across clock hiccups.
    if (ts < last) ts = last;
    if (ts === last) {
      increment = (increment + 1n) & 0xfffn;
      if (increment === 0n) ts += 1n;
    } else {
      increment = 0n;
    }
    last = ts;
    return ((ts << 22n) | (BigInt(worker & 0x1f) << 17n) | increment).toString();
  };
}

/** The creation time encoded in a snowflake. */
export function snowflakeTime(id: string): number {
  return Number((BigInt(id) >> 22n) + DISCORD_EPOCH);
}
