/**
 * Dropout for the MLPs of blocks.ts (Srivastava et al. JMLR 2014, inverted form as tf.dropout and
 * torch.nn.Dropout): in training mode each unit of a hidden ReLU layer's output is kept with probability
 * 1 - rate and scaled by 1 / (1 - rate), else set to 0; in evaluation mode nothing happens.
 *
 * Seeding: the mask of layer `name` at the MLP's k-th training-mode pass is tfjs' seeded uniform draw
 * (`tf.dropout`'s `randomUniform`, alea from seedrandom, computed in JS, so the same on every backend)
 * with the seed `<model seed>/<mlp scope>/dropout/<layer name>/<k>`. A model built with the same seed and
 * trained on the same batches therefore draws the same masks: a run is reproducible, and no two layers or
 * steps share a mask.
 */
import type * as tfjs from "@tensorflow/tfjs";
import { tf } from "../backend";

/** The dropout state of one MLP: its rate, its seed prefix and how many training passes it has made. */
export interface MlpDropout {
  /** In (0, 1). */
  rate: number;
  /** `<model seed>/<mlp scope>/dropout` (VariableStore.seedFor). */
  seed: string;
  /** Training-mode passes so far (advanced by applyMlpLayers, once per pass). */
  calls: number;
}

/** `h` [batch, units] with inverted dropout at `drop.rate`, mask seeded by (`drop.seed`, `layer`, `call`). */
export function applyDropout(h: tfjs.Tensor2D, drop: MlpDropout, layer: string, call: number): tfjs.Tensor2D {
  return tf().dropout(h, drop.rate, undefined, `${drop.seed}/${layer}/${call}`) as tfjs.Tensor2D;
}
