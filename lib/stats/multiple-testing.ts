/**
 * Holm (1979) step-down adjustment, as statsmodels multipletests(method="holm") / R p.adjust("holm"):
 * with the m p-values sorted ascending p_(1) <= ... <= p_(m),
 *   adj_(i) = min(1, max_{j <= i} (m - j + 1) p_(j)),
 * returned in the input order. NaN p-values stay NaN and are not counted in m (as R does); values
 * outside [0, 1] throw.
 */
export function holm(pValues: ArrayLike<number>): number[] {
  const out = new Array<number>(pValues.length).fill(NaN);
  const present: number[] = [];
  for (let i = 0; i < pValues.length; i++) {
    const p = pValues[i];
    if (Number.isNaN(p)) continue;
    if (!(p >= 0 && p <= 1)) throw new Error(`holm: p-value ${i} is ${p}, outside [0, 1]`);
    present.push(i);
  }
  present.sort((i, j) => pValues[i] - pValues[j]);
  const m = present.length;
  let running = 0;
  present.forEach((idx, rank) => {
    running = Math.max(running, Math.min(1, (m - rank) * pValues[idx]));
    out[idx] = running;
  });
  return out;
}
