/**
 * The rows a design table ends with, the same in every notebook that shows its study's design (03's ablation
 * study, 08's real data): the negative keep rate, the loss normalisation, whether the test split is scored every
 * epoch (when the table shows it), max epochs / patience and the worker processes.
 */
import type { TrainConfig } from "../train/trainer";

/** One setting of a study's design, as a table row. */
export type SettingRow = { setting: string; value: string | number };

/**
 * The training settings' rows. `train`: the resolved settings (DEFAULT_TRAIN_CONFIG over the spec's); `keepRate`: the
 * data's negative keep rate (the weight of a kept non-clicked row is 1/keepRate); `showTestEveryEpoch`: add the row
 * saying whether the test split is scored every epoch (TrainConfig.testEveryEpoch; records only).
 */
export function trainingSettingRows(
  keepRate: number,
  train: Pick<TrainConfig, "lossNormalization" | "maxEpochs" | "patience" | "testEveryEpoch">,
  options: { workers: number; showTestEveryEpoch?: boolean },
): SettingRow[] {
  return [
    { setting: "negative keep rate (weight 1/r)", value: keepRate },
    { setting: "loss normalisation", value: train.lossNormalization },
    ...(options.showTestEveryEpoch ? [{ setting: "test split scored every epoch (records only)", value: train.testEveryEpoch === true ? "yes" : "no" }] : []),
    { setting: "max epochs / patience", value: `${train.maxEpochs} / ${train.patience}` },
    { setting: "worker processes", value: options.workers },
  ];
}
