/**
 * Adam for the training loop, with fewer kernels per step than tfjs' AdamOptimizer (which runs ~14
 * kernels per variable and uploads a scalar tensor for every constant of every op).
 *
 * Same update as tfjs' (and PyTorch's) Adam, with the bias corrections folded into two scalars per step:
 *   m <- b1 m + (1 - b1) g,  v <- b2 v + (1 - b2) g^2,
 *   p <- p - lr_t m / (sqrt(v) + eps_t),  lr_t = lr sqrt(1 - b2^t) / (1 - b1^t),  eps_t = eps sqrt(1 - b2^t),
 * which is algebraically p - lr m^ / (sqrt(v^) + eps) with m^ = m / (1 - b1^t), v^ = v / (1 - b2^t)
 * (float32 results differ in the last bits; b^t and 1 - b^t are rounded to float32 as tfjs does).
 * 12 kernels per group of variables; on the native backend with esmm-lab's kernels built (`make native`), one
 * (`EsmmAdam`, lib/backend/native-kernels.cc: the same float32 operations in the same order, so the same bits;
 * 1.7 ms against 11.3 ms for 860,000 parameters).
 *
 * Weight decay (`weightDecay` λ, default 0) in one of two forms (`weightDecayForm`, default "coupled"):
 * - "coupled" (L2), as PyTorch's `torch.optim.Adam(weight_decay=λ)`: the gradient becomes g + λ p before the
 *   moments are updated, so the decay is divided by sqrt(v^) like the gradient (a parameter with small
 *   gradients is pulled to 0 at about lr per step, whatever λ).
 * - "decoupled" (AdamW, Loshchilov & Hutter ICLR'19, as PyTorch's `torch.optim.AdamW(weight_decay=λ)`):
 *   p <- p - lr λ p first, then the Adam step above with the undecayed gradient (the moments never see λ):
 *   a pull toward 0 of lr λ |p| per step, independent of the gradient's scale. Float32: computed as
 *   p - fround(lr λ) p (PyTorch multiplies by 1 - lr λ, which rounds to exactly 1 in float32 when
 *   lr λ < 2^-25 ≈ 3e-8 and the decay vanishes; the two agree in exact arithmetic).
 * Either form applies to every variable the optimizer holds, embedding tables included (their gradient is
 * dense here, one scatter-add into the whole table, so every row decays every step, as with PyTorch's dense
 * embeddings). With λ = 0 the update runs exactly the ops it ran before in either form (no extra kernel), so
 * results are unchanged.
 *
 * Grouping (`defaultAdamGrouping` picks the fastest measured on the current backend):
 * - `"flat"` (tensorflow): all variables updated as one vector (their gradients concatenated, the new
 *   values split back: 12 kernels plus a concat, a split and reshapes, whatever the number of variables;
 *   tfjs-node's split is one TensorFlow op). Keeps a flat master copy of the values: only this optimizer
 *   may change the variables while it is in use.
 * - `"kernel"` (wasm, cpu): one `EsmmAdamUpdate` kernel per variable (./adam-kernel.ts), a single JS pass
 *   over the elements; +4 % examples/s on wasm at batch 1024 over `"per-variable"` (wasm's Slice copies
 *   its whole input per piece, so `"flat"` does not pay there).
 * - `"per-variable"` (any other backend): the 12 kernels per variable.
 */
import type * as tfjs from "@tensorflow/tfjs";
import { nativeKernelsStatus, tf } from "../backend";
import { adamStep, adamStepParts } from "../backend/native-kernels";
import { AdamKernelAttrs, registerAdamKernel, runAdamKernel } from "./adam-kernel";

export type AdamGrouping = "flat" | "per-variable" | "kernel";

/** How weight decay enters Adam: "coupled" L2 (g + λ p, PyTorch Adam) or "decoupled" (p - lr λ p, PyTorch AdamW). */
export type WeightDecayForm = "coupled" | "decoupled";
export const WEIGHT_DECAY_FORMS: readonly WeightDecayForm[] = Object.freeze(["coupled", "decoupled"]);

/**
 * The two scalars a step's weight decay uses: `coupled` λ added as λ p to the gradient, `decoupled` lr λ
 * subtracted as (lr λ) p from the value before the step; the other one 0. Throws on λ not finite and >= 0 or
 * an unknown form (`who` names the optimizer in the message).
 */
export function weightDecayTerms(config: { learningRate: number; weightDecay?: number; weightDecayForm?: WeightDecayForm }, who: string): { coupled: number; decoupled: number } {
  const decay = config.weightDecay ?? 0;
  const form = config.weightDecayForm ?? "coupled";
  if (!(Number.isFinite(decay) && decay >= 0)) throw new Error(`${who}: weightDecay must be a finite number >= 0, got ${decay}`);
  if (!WEIGHT_DECAY_FORMS.includes(form)) throw new Error(`${who}: weightDecayForm must be one of ${WEIGHT_DECAY_FORMS.join(", ")}, got "${form}"`);
  return form === "coupled" ? { coupled: decay, decoupled: 0 } : { coupled: 0, decoupled: config.learningRate * decay };
}

export interface AdamConfig {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  grouping: AdamGrouping;
  /** Weight decay λ >= 0 (see `weightDecayForm`). Default 0 (none). */
  weightDecay?: number;
  /** "coupled" (g + λ p, PyTorch Adam's weight_decay; the default) or "decoupled" (p - lr λ p, PyTorch AdamW's). */
  weightDecayForm?: WeightDecayForm;
}

/** The faster grouping on the current backend (measured at the reference shape, batch 1024 and 4096). */
export function defaultAdamGrouping(): AdamGrouping {
  const name = tf().getBackend();
  return name === "wasm" || name === "cpu" ? "kernel" : name === "tensorflow" ? "flat" : "per-variable";
}

/** beta1^t and beta2^t, accumulated in float32 (adamStepConstants advances them). */
export interface AdamAccumulators {
  beta1: number;
  beta2: number;
}

/** The accumulators before the first step: beta1^1 and beta2^1 in float32. */
export function adamAccumulators(config: { beta1: number; beta2: number }): AdamAccumulators {
  return { beta1: Math.fround(config.beta1), beta2: Math.fround(config.beta2) };
}

/**
 * The constants of Adam's next step, and `acc` advanced by one step. Bias corrections exactly as tfjs'
 * AdamOptimizer computes them: beta^t accumulated in float32 and 1 - beta^t rounded to float32 (for beta2 = 0.999
 * that is 1.3e-5 off the exact value, and training is sensitive to such a change of the step size; see
 * test/speed-equivalence.test.ts): lrT = -lr sqrt(1 - b2^t) / (1 - b1^t), epsT = eps sqrt(1 - b2^t). One definition
 * for the dense Adam (below) and the row-wise one (./rowwise.ts).
 */
export function adamStepConstants(acc: AdamAccumulators, config: { learningRate: number; beta1: number; beta2: number; epsilon: number }): AdamKernelAttrs {
  const c1 = Math.fround(1 - acc.beta1);
  const c2 = Math.sqrt(Math.fround(1 - acc.beta2));
  acc.beta1 = Math.fround(acc.beta1 * Math.fround(config.beta1));
  acc.beta2 = Math.fround(acc.beta2 * Math.fround(config.beta2));
  return {
    b1: Math.fround(config.beta1),
    oneMinusB1: Math.fround(1 - config.beta1),
    b2: Math.fround(config.beta2),
    oneMinusB2: Math.fround(1 - config.beta2),
    lrT: -(config.learningRate * c2) / c1,
    epsT: config.epsilon * c2,
  };
}

interface Group {
  vars: tfjs.Variable[];
  sizes: number[];
  /** Flat master copy of the group's values (flat grouping with more than one variable). */
  flat?: tfjs.Variable;
  m: tfjs.Variable;
  v: tfjs.Variable;
}

let adamCounter = 0;

export class Adam {
  private readonly groups: Group[] = [];
  private readonly constants: { b1: tfjs.Scalar; oneMinusB1: tfjs.Scalar; b2: tfjs.Scalar; oneMinusB2: tfjs.Scalar };
  private steps = 0;
  /** beta1^t and beta2^t (adamStepConstants). */
  private readonly acc: AdamAccumulators;
  /** λ of the coupled form and lr λ of the decoupled one (weightDecayTerms; at most one is not 0). */
  private readonly decay: { coupled: number; decoupled: number };
  /** The native backend with esmm-lab's kernels loaded: each group's step is one kernel, EsmmAdamParts for a flat group and EsmmAdam for one variable (same bits). */
  private readonly fused: boolean;

  constructor(
    readonly variables: tfjs.Variable[],
    readonly config: AdamConfig,
  ) {
    const t = tf();
    const id = ++adamCounter;
    this.decay = weightDecayTerms(config, "Adam");
    this.acc = adamAccumulators(config);
    this.fused = config.grouping !== "kernel" && t.getBackend() === "tensorflow" && nativeKernelsStatus().loaded;
    this.constants = {
      b1: t.scalar(config.beta1),
      oneMinusB1: t.scalar(1 - config.beta1),
      b2: t.scalar(config.beta2),
      oneMinusB2: t.scalar(1 - config.beta2),
    };
    if (config.grouping === "kernel") {
      const name = t.getBackend();
      if (name !== "wasm" && name !== "cpu") throw new Error(`Adam: grouping "kernel" needs the wasm or cpu backend, not ${name}`);
      registerAdamKernel(t, name);
    }
    const partition = config.grouping === "flat" ? [variables] : variables.map((v) => [v]);
    partition.forEach((vars, k) => {
      if (vars.length === 0) return;
      const sizes = vars.map((v) => v.size);
      const shape = vars.length === 1 ? vars[0].shape : [sizes.reduce((a, b) => a + b, 0)];
      const zeros = (name: string) => {
        const z = t.zeros(shape);
        const variable = t.variable(z, false, `adam#${id}/${k}/${name}`);
        z.dispose();
        return variable;
      };
      const group: Group = { vars, sizes, m: zeros("m"), v: zeros("v") };
      if (vars.length > 1) {
        const value = t.tidy(() => t.concat(vars.map((x) => (x.rank === 1 ? x : t.reshape(x, [x.size])))));
        group.flat = t.variable(value, false, `adam#${id}/${k}/flat`);
        value.dispose();
      }
      this.groups.push(group);
    });
  }

  /** One update from `grads` (same order as `variables`). Call inside tf.tidy. */
  apply(grads: tfjs.Tensor[]): void {
    if (grads.length !== this.variables.length) throw new Error(`Adam: ${grads.length} gradients for ${this.variables.length} variables`);
    const t = tf();
    this.steps++;
    const attrs = adamStepConstants(this.acc, this.config);
    if (this.config.grouping === "kernel") {
      this.groups.forEach((group, i) => {
        const p0 = this.shrunk(group.vars[0]);
        const [p, m, v] = runAdamKernel(t, p0, group.m, group.v, this.decayed(grads[i], p0), attrs);
        group.m.assign(m);
        group.v.assign(v);
        group.vars[0].assign(p);
      });
      return;
    }
    const { b1, oneMinusB1, b2, oneMinusB2 } = this.constants;
    let stepScalars: { lrT: tfjs.Scalar; epsT: tfjs.Scalar } | undefined; // the chain's, made once a step
    let offset = 0;
    for (const group of this.groups) {
      const n = group.vars.length;
      const groupGrads = grads.slice(offset, offset + n);
      offset += n;
      if (this.fused && group.flat) {
        // A flat group in one kernel that takes the gradients as they are and returns the values in their shapes
        // (EsmmAdamParts: the bits of the concat, EsmmAdam (with the decay ops) and split below).
        const [p1, m1, v1, ...parts] = adamStepParts(t.backend(), group.flat, group.m, group.v, groupGrads, { ...attrs, decay: Math.fround(this.decay.coupled), shrink: Math.fround(this.decay.decoupled) });
        group.m.assign(m1);
        group.v.assign(v1);
        group.flat.assign(p1);
        group.vars.forEach((x, i) => x.assign(parts[i]));
        continue;
      }
      const flatten = (x: tfjs.Tensor) => (x.rank === 1 ? x : t.reshape(x, [x.size]));
      const current = this.shrunk(group.flat ?? group.vars[0]);
      const g = this.decayed(n === 1 ? groupGrads[0] : t.concat(groupGrads.map(flatten)), current);
      let next: tfjs.Tensor;
      if (this.fused) {
        // The same step in one pass (lib/backend/native-kernels.cc's EsmmAdam: the same bits as the chain below).
        const [p1, m1, v1] = adamStep(t.backend(), current, group.m, group.v, g, attrs);
        group.m.assign(m1);
        group.v.assign(v1);
        next = p1;
      } else {
        stepScalars ??= { lrT: t.scalar(attrs.lrT), epsT: t.scalar(attrs.epsT) };
        const { lrT, epsT } = stepScalars;
        const m = t.add(t.mul(group.m, b1), t.mul(g, oneMinusB1));
        const v = t.add(t.mul(group.v, b2), t.mul(t.square(g), oneMinusB2));
        group.m.assign(m);
        group.v.assign(v);
        next = t.add(current, t.mul(t.div(m, t.add(t.sqrt(v), epsT)), lrT));
      }
      if (!group.flat) {
        group.vars[0].assign(next);
        continue;
      }
      group.flat.assign(next);
      const parts = t.split(next, group.sizes);
      group.vars.forEach((x, i) => x.assign(x.rank === 1 ? parts[i] : t.reshape(parts[i], x.shape)));
    }
  }

  /**
   * This optimizer's state for a seed group reduced to slots `kept` of its `seeds` (./compaction.ts): a new Adam
   * over `variables` (the smaller group's, same order, already holding the kept slots' values) whose moments are
   * the kept slots' moments and whose step count and bias corrections go on from this one's, so each kept seed's
   * next updates are the ones it would have had in the whole group. Every variable must be seed-major with `seeds`
   * slots (lib/models blocks.ts). This optimizer is left as it was (the caller disposes it).
   */
  keepSeeds(variables: tfjs.Variable[], seeds: number, kept: number[]): Adam {
    if (variables.length !== this.variables.length) throw new Error(`Adam.keepSeeds: ${variables.length} variables for ${this.variables.length}`);
    const t = tf();
    const next = new Adam(variables, this.config);
    next.steps = this.steps;
    next.acc.beta1 = this.acc.beta1;
    next.acc.beta2 = this.acc.beta2;
    this.groups.forEach((group, k) => {
      const target = next.groups[k];
      for (const key of ["m", "v"] as const) {
        const value = t.tidy(() => {
          const parts = group.vars.length === 1 ? [group[key]] : t.split(group[key], group.sizes);
          const slices = parts.map((x) => t.reshape(t.concat(kept.map((s) => t.slice(t.reshape(x, [seeds, -1]), [s, 0], [1, -1])), 0), [-1]));
          return t.reshape(slices.length === 1 ? slices[0] : t.concat(slices), target[key].shape);
        });
        target[key].assign(value);
        value.dispose();
      }
    });
    return next;
  }

  /** g + λ p (coupled L2 weight decay); `g` itself when the coupled λ is 0. Call inside tf.tidy. */
  private decayed(g: tfjs.Tensor, p: tfjs.Tensor): tfjs.Tensor {
    const decay = this.decay.coupled;
    if (decay === 0) return g;
    const t = tf();
    return t.add(g, t.mul(p, t.scalar(decay)));
  }

  /** p - (lr λ) p (decoupled weight decay, before the step); `p` itself when it is 0. Call inside tf.tidy. */
  private shrunk(p: tfjs.Tensor): tfjs.Tensor {
    const shrink = this.decay.decoupled;
    if (shrink === 0) return p;
    const t = tf();
    return t.sub(p, t.mul(p, t.scalar(shrink)));
  }

  dispose(): void {
    for (const g of this.groups) {
      g.m.dispose();
      g.v.dispose();
      g.flat?.dispose();
    }
    this.groups.length = 0;
    for (const c of Object.values(this.constants)) c.dispose();
  }
}
