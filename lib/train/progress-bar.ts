/** A progress bar per epoch for `trainModel`'s onProgress hook, in notebooks and in the terminal. */
import { createProgress, Progress } from "../plots/progress";
import type { TrainProgress } from "./trainer";

export function epochProgressBars(label = ""): (p: TrainProgress) => void {
  let bar: Progress | undefined;
  let epoch = 0;
  return (p) => {
    if (!bar || p.epoch !== epoch) {
      bar?.done();
      epoch = p.epoch;
      bar = createProgress({ total: p.totalBatches, label: `${label || p.model} epoch ${p.epoch}/${p.maxEpochs}`, unit: "batches" });
    }
    bar.tick(p.batch - bar.value, { loss: p.loss.toFixed(5), "examples/s": Math.round(p.examplesPerSecond) });
    if (p.batch === p.totalBatches) bar.done();
  };
}
