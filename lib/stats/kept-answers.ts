/**
 * A bounded memory of a pure function's numeric answers by a string key (e.g. "df|alpha|power"): the statistics
 * ask for the same few quantiles, powers and noncentralities again and again (a study's summaries and findings,
 * a Monte Carlo of thousands of studies), each an iterative computation. `get` computes on a miss and keeps the
 * answer; at `size` answers it forgets them all (a long session's keys are not bounded). Never changes an answer:
 * the kept one is the one `compute` returned.
 */
export class KeptAnswers {
  private readonly answers = new Map<string, number>();

  constructor(private readonly size: number) {}

  /** The answer kept under `key`, else `compute()`'s, then kept. */
  get(key: string, compute: () => number): number {
    const known = this.answers.get(key);
    if (known !== undefined) return known;
    const answer = compute();
    if (this.answers.size >= this.size) this.answers.clear();
    this.answers.set(key, answer);
    return answer;
  }
}
