/**
 * The one-line summary of a study session (lib/study/runner.ts runStudy's StudyRunSummary), as `esmm study` and
 * `esmm tune` print it.
 */
import type { StudyRunSummary } from "../study/runner-report";
import { formatDuration } from "../plots/progress";

/** One line: "study NAME: 12 runs done, 48 skipped, 0 failed in 3:05 (results FILE)". */
export function formatStudySummary(s: StudyRunSummary): string {
  return (
    `study ${s.study}: ${s.done} run${s.done === 1 ? "" : "s"} done, ${s.skipped} skipped, ${s.failed.length} failed` +
    `${s.aborted ? " (aborted)" : ""} in ${formatDuration(s.wallSeconds)} wall time, ${s.workers} worker(s) (results ${s.results})`
  );
}
