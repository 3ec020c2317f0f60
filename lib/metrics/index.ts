/**
 * Metrics over plain arrays (no tensorflow): sklearn-compatible log loss, ROC AUC and average
 * precision, normalized entropy, calibration, the ESMM evaluation spaces (CTCVR / CVR / CTR), and the
 * mechanism metrics of a pCVR against the simulator's true conversion probability (mechanism.ts).
 * Undefined metrics are NaN, with a reason from the `...Result` variants (see result.ts).
 */
export * from "./result";
export * from "./classification";
export * from "./calibration";
export * from "./spaces";
export * from "./mechanism";
export * from "./calibration-decomposition";
