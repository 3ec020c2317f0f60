/** Training: batches, seeded shuffling, Adam with early stopping, predictions and monitored losses. */
export * from "./random";
export * from "./batches";
export * from "./early-stopping";
export * from "./evaluate";
export * from "./trainer";
export * from "./progress-bar";
export * from "./rowwise";
export { WEIGHT_DECAY_FORMS } from "./adam";
export type { WeightDecayForm } from "./adam";
