/** A seeded linear congruential generator: its successive states in [0, 2³¹), so a run can be replayed. */
function lcg(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state;
  };
}

/** A seeded shuffle, so a test or benchmark run can be replayed. */
export function seededShuffle<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  const next = lcg(seed);
  for (let i = out.length - 1; i > 0; i--) {
    const j = next() % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/** Seeded numbers in [0, 1), from the same generator. */
export function seededRandom(seed: number): () => number {
  const next = lcg(seed);
  return () => next() / 2 ** 31;
}
