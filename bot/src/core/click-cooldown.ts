/**
 * A per-member cooldown for the buttons that start renders: abuse protection only, so it lives
 * in memory (a restart forgets it). "One render per click" does not rely on it: a click's render
 * is keyed by the interaction id. Pure apart from the clock passed in.
 */
export class ClickCooldown {
  private readonly last = new Map<string, number>();

  constructor(
    private readonly ms: number,
    private readonly now: () => number,
  ) {}

  /**
   * Takes the member's turn if the cooldown has passed (true), or says how long is left in ms.
   * Synchronous, so clicks handled concurrently cannot both get through.
   */
  take(key: string): true | number {
    const t = this.now();
    const previous = this.last.get(key);
    if (previous !== undefined && t - previous < this.ms) return this.ms - (t - previous);
    this.last.set(key, t);
    if (this.last.size > 10_000) this.prune(t);
    return true;
  }

  private prune(t: number): void {
    for (const [key, at] of this.last) if (t - at >= this.ms) this.last.delete(key);
  }
}
