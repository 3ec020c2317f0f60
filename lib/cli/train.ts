/** `esmm train`: one model, one seed, on a prepared data set (or a simulated log, prepared on the fly). */
import * as fs from "node:fs";
import * as path from "node:path";
import { Command, UsageError, checkOutputOption, numberValue, requireNumber, requireString } from "./args";
import { RATE_RANGE, SEED_RANGE, intRange } from "../ranges";
import { initBackend } from "../backend";
import { isPreparedDir, readPrepared } from "../data/prepared-files";
import { readManifest, readSimulatedLog } from "../data/simulated-files";
import { checkEvaluationScaling, DEFAULT_NEGATIVE_KEEP_RATE, DEFAULT_OOV_MASK_RATE, DEFAULT_OOV_MIN_COUNT, DEFAULT_PREPARE_SEED, defaultSplitPlan, degenerateSplitLines, prepare, PreparedData } from "../data/prepare";
import { makeDirs } from "../data/output-paths";
import { MODEL_NAMES, LOSS_NORMALIZATIONS, LossNormalization } from "../models";
import { runModel } from "../study/run";
import { sourceKind } from "../sources/registry";
import { DEFAULT_TRAIN_CONFIG, EMBEDDING_UPDATES, EmbeddingUpdates, epochProgressBars, WEIGHT_DECAY_FORMS, WeightDecayForm } from "../train";

export const trainCommand: Command = {
  name: "train",
  summary: "train one model with one seed and write its metrics",
  usage: `esmm train --model NAME --data DIR --seed S --out FILE.json [--epochs N] [--batch-size B]
                 [--learning-rate LR] [--patience P] [--loss-normalization own-rows|batch-weight|batch-rows]
                 [--keep-rate R] [--min-count K] [--oov-mask-rate M] [--backend auto|tensorflow|wasm|cpu]
                 [--embedding-updates dense|rowwise] [--weight-decay W] [--weight-decay-form coupled|decoupled]
                 [--test-every-epoch]

Models: ${MODEL_NAMES.join(", ")} (case-insensitive). DIR is a prepared folder (\`esmm prepare\`) or a
simulated log (\`esmm simulate\`, prepared on the fly with --keep-rate, default ${DEFAULT_NEGATIVE_KEEP_RATE}, drawn with seed ${DEFAULT_PREPARE_SEED} as the study draws it, and --min-count and
--oov-mask-rate, the out-of-vocabulary rules of \`esmm prepare\`, defaults ${DEFAULT_OOV_MIN_COUNT} and ${DEFAULT_OOV_MASK_RATE}). Defaults: --epochs ${DEFAULT_TRAIN_CONFIG.maxEpochs}, --batch-size ${DEFAULT_TRAIN_CONFIG.batchSize},
--learning-rate ${DEFAULT_TRAIN_CONFIG.learningRate} (Adam), --patience ${DEFAULT_TRAIN_CONFIG.patience}, --loss-normalization ${DEFAULT_TRAIN_CONFIG.lossNormalization}. Early stopping uses the validation day only.
FILE.json holds the run's config, metrics on the test day and later days (CTCVR over all impressions, CVR over clicked ones, CTR), oracle cross-entropies, parameter count, backend and timings.
A simulated log with --evaluation-multiplier other than 1, prepared on the fly (2 later days), must scale
exactly the test and 2 later days (--evaluation-days 3, the default), never the validation day; else exit 2.

--embedding-updates (default: the data source's, dense on a simulated log, rowwise on a prepared folder):
how Adam updates the embedding tables. dense: every row and its moments every step, the lookup's gradient a
[vocabulary, dim] tensor (PyTorch's dense Adam, what the paper's reference implementations use, and every
recorded result on simulated data). rowwise: only the rows a batch touches, with their summed gradients (never a
[vocabulary, dim] tensor), the lazy rule of PyTorch's SparseAdam / TF Addons' LazyAdam (bias corrections from the
global step; weight decay, if any, on touched rows only), written in place: a step whose cost grows far less
with the vocabulary. Different numbers: on the default design the % vs IP moved by at most 0.2 points and one of
nine verdicts changed (docs/embedding-updates.md); real logs have millions of ids, where dense Adam is several
times slower (4.2x at 2M ids in the bench: docs/speed.md), so they default to rowwise. Dense layers use dense Adam either way.
Huge pages: a study's workers and the bench start with GLIBC_TUNABLES=glibc.malloc.hugetlb=1 (ESMM_HUGE_PAGES,
which applies to the processes esmm starts, not to this one); to train this command in them, start it with that
variable set. At 2M ids row-wise they changed this project's rate by 0-7 % (docs/speed.md).
Native kernels: on the native backend, esmm-lab's own TensorFlow kernels (fused Adam, the embedding gradient and
row gathers, row-wise Adam in place, a layer's bias and ReLU; built by make native: docs/native-backend.md) run where they are built, the same bits as
the op chains they replace; ESMM_NATIVE_KERNELS=0 (or false, no, off) turns them off. The first line this
command prints says whether they are loaded.

--weight-decay W (default 0: none) and --weight-decay-form (default coupled): Adam's weight decay on every
trainable variable, embeddings included. coupled: L2, W p added to the gradient before the moments (PyTorch's
Adam(weight_decay=W), what every recorded result used; divided by sqrt(v) like the gradient, so a parameter
with small gradients is pulled to 0 at about the learning rate per step whatever W). decoupled: AdamW
(Loshchilov & Hutter ICLR'19, PyTorch's AdamW(weight_decay=W)), p <- p - LR W p before the Adam step, whose
moments never see W: a like pull on a parameter of median gradient scale needs W about 2e4-8e4 times the
coupled one (measured in docs/weight-decay.md).
With --embedding-updates rowwise either form decays only the rows a batch touches.

--test-every-epoch (study spec: train.testEveryEpoch): also score the test day after every epoch and keep,
in each epoch of FILE.json's training.epochs, its test log loss, ROC AUC and PR AUC per space (CTCVR on all
impressions, CVR on clicked ones, CTR). A measurement only: the epoch is still chosen on the validation day
and the weights, predictions and final metrics are the same bit for bit; it measures what choosing the epoch
on the test set would report (lib/study/epoch-choice.ts). One more prediction pass over the test day per epoch.`,
  options: {
    model: { type: "string" },
    data: { type: "string" },
    seed: { type: "string", number: SEED_RANGE },
    out: { type: "string" },
    epochs: { type: "string", number: intRange(1) },
    "batch-size": { type: "string", number: intRange(1) },
    "learning-rate": { type: "string", number: { gt: 0 } },
    patience: { type: "string", number: intRange(0) },
    "loss-normalization": { type: "string" },
    "keep-rate": { type: "string", number: RATE_RANGE },
    "min-count": { type: "string", number: intRange(1) },
    "oov-mask-rate": { type: "string", number: { ge: 0, lt: 1 } },
    backend: { type: "string" },
    "embedding-updates": { type: "string" },
    "weight-decay": { type: "string", number: { ge: 0 } },
    "weight-decay-form": { type: "string" },
    "test-every-epoch": { type: "boolean" },
  },
  async run(v) {
    const cmd = "train";
    const modelArg = requireString(v, "model", cmd);
    const model = MODEL_NAMES.find((m) => m.toLowerCase() === modelArg.toLowerCase());
    if (!model) throw new UsageError(`${cmd}: unknown model "${modelArg}" (models: ${MODEL_NAMES.join(", ")})`);
    const dataDir = requireString(v, "data", cmd);
    const out = requireString(v, "out", cmd);
    const seed = requireNumber(v, "seed", cmd);
    const norm = v["loss-normalization"] as string | undefined;
    if (norm !== undefined && !LOSS_NORMALIZATIONS.includes(norm as LossNormalization)) {
      throw new UsageError(`${cmd}: --loss-normalization must be one of ${LOSS_NORMALIZATIONS.join(", ")}`);
    }
    const embeddingUpdates = v["embedding-updates"] as string | undefined;
    if (embeddingUpdates !== undefined && !EMBEDDING_UPDATES.includes(embeddingUpdates as EmbeddingUpdates)) {
      throw new UsageError(`${cmd}: --embedding-updates must be one of ${EMBEDDING_UPDATES.join(", ")}`);
    }
    const weightDecayForm = v["weight-decay-form"] as string | undefined;
    if (weightDecayForm !== undefined && !WEIGHT_DECAY_FORMS.includes(weightDecayForm as WeightDecayForm)) {
      throw new UsageError(`${cmd}: --weight-decay-form must be one of ${WEIGHT_DECAY_FORMS.join(", ")}`);
    }
    const backend = (v.backend as string | undefined) ?? "auto";
    if (!["auto", "tensorflow", "wasm", "cpu"].includes(backend)) throw new UsageError(`${cmd}: --backend must be auto, tensorflow, wasm or cpu`);
    if (!fs.existsSync(dataDir)) throw new UsageError(`${cmd}: --data ${dataDir} does not exist`);
    checkOutputOption(cmd, "out", out, "file");
    let data: PreparedData;
    if (isPreparedDir(dataDir)) {
      const given = ["keep-rate", "min-count", "oov-mask-rate"].find((o) => v[o] !== undefined);
      if (given) throw new UsageError(`${cmd}: --${given} applies to a simulated log, not to the prepared folder ${dataDir} (prepare it again with \`esmm prepare --${given}\`)`);
      data = readPrepared(dataDir);
    } else {
      const manifest = readManifest(dataDir);
      const plan = defaultSplitPlan(manifest.days.length);
      try {
        checkEvaluationScaling(plan, manifest.config);
      } catch (e) {
        throw new UsageError(`${cmd}: ${(e as Error).message}`);
      }
      data = prepare(readSimulatedLog(dataDir), {
        plan,
        negativeKeepRate: numberValue(v, "keep-rate", DEFAULT_NEGATIVE_KEEP_RATE),
        oovMinCount: numberValue(v, "min-count", DEFAULT_OOV_MIN_COUNT),
        oovMaskRate: numberValue(v, "oov-mask-rate", DEFAULT_OOV_MASK_RATE),
        seed: DEFAULT_PREPARE_SEED,
        simulator: manifest.config,
      });
    }
    for (const line of degenerateSplitLines(data.report)) console.error(`${cmd}: ${line}`);
    const info = await initBackend(backend as "auto");
    const kernels = info.nativeKernels ? ` (esmm-lab's native kernels ${info.nativeKernels})` : "";
    console.error(`train: ${model}, seed ${seed}, backend ${info.name}${kernels}, ${data.train.size.toLocaleString("en-US")} training rows`);
    const record = await runModel(data, {
      model,
      seed,
      train: {
        maxEpochs: numberValue(v, "epochs"),
        batchSize: numberValue(v, "batch-size"),
        learningRate: numberValue(v, "learning-rate"),
        patience: numberValue(v, "patience"),
        lossNormalization: norm as LossNormalization | undefined,
        // the data source's rule when not given (lib/sources/kind.ts embeddingUpdates)
        embeddingUpdates: (embeddingUpdates as EmbeddingUpdates | undefined) ?? sourceKind({ kind: isPreparedDir(dataDir) ? "prepared" : "simulated" }).embeddingUpdates,
        weightDecay: numberValue(v, "weight-decay"),
        weightDecayForm: weightDecayForm as WeightDecayForm | undefined,
        testEveryEpoch: v["test-every-epoch"] === true ? true : undefined,
        onProgress: epochProgressBars(),
      },
    });
    // beside, then renamed into place: a failed write leaves no half-written FILE.json (and an older one intact)
    makeDirs(path.dirname(path.resolve(out)));
    const tmp = `${out}.tmp-${process.pid}`;
    try {
      fs.writeFileSync(tmp, JSON.stringify(record, null, 1) + "\n");
      fs.renameSync(tmp, out);
    } catch (e) {
      fs.rmSync(tmp, { force: true });
      throw new UsageError(`${cmd}: cannot write --out ${out} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    const m = record.test.metrics.ctcvr;
    console.log(
      `${model} seed ${seed}: test CTCVR log loss ${m.logLoss.toFixed(6)}` +
        (record.test.oracle ? ` (oracle ${record.test.oracle.ctcvr.toFixed(6)})` : "") +
        `, PR-AUC ${m.prAuc.toFixed(4)}, best epoch ${record.training.bestEpoch}, ${record.timings.totalSeconds.toFixed(1)} s; wrote ${out}`,
    );
  },
};
