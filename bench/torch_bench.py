"""PyTorch peer of bench/train-throughput.ts: training examples/s of ESMM on the reference shape.

Same model, loss, optimizer and data as the TypeScript benchmark child: 8 categorical fields of
vocabulary 1,000 (one nn.Embedding of size 8 per field), shared layers 128-64 (ReLU), CTR and CVR heads
32-16-1, ESMM losses (CTR cross-entropy on every impression + CTCVR cross-entropy of
pCTCVR = pCTR * pCVR on every impression, each normalised by the batch's total sample weight, the CTCVR
one computed in log space from the logits), Adam (lr 1e-3, betas 0.9/0.999, eps 1e-8), synthetic rows
(uniform indices, 20 % clicks, 10 % of clicks convert, weight 1). Per epoch: a seeded shuffle, then the
batches (rows gathered per batch), the batch losses read back every 25 batches. The rate is the best of
epochs 2-3 (epoch 1 warms up), as in the TypeScript child.

With --shape ali-ccp (what `esmm bench --shape ali-ccp --peer torch` runs): the synthetic Ali-CCP rows of
bench/ali-ccp-synthetic.ts, one field per --vocabularies size (ids floor(V u^3), skewed to small ids), --numeric
inputs (0.0 with probability 0.3, else a multiple of 1e-4 in (0, 1]), clicks at --click-rate, conversions among
clicks at --conversion-rate, the same architecture (embedding 8 per field, numeric inputs concatenated after the
embeddings, shared 128-64, heads 32-16-1). --optimizers lists how the embeddings are updated, each timed on its own
model: "adam" (nn.Embedding's dense gradient, torch.optim.Adam over every parameter: what torch-rechub, MTReclib,
DeepCTR-Torch and FuxiCTR do) and "sparse-adam" (nn.Embedding(sparse=True) with torch.optim.SparseAdam for the
embeddings, the lazy rule; torch.optim.Adam for the dense layers). Same lr, betas and eps everywhere.

Usage: .venv/bin/python bench/torch_bench.py [--batch 1024,4096] [--batches 40] [--threads 2] [--epochs 3]
       [--shape reference|ali-ccp --vocabularies V1,V2,... --numeric 8 --click-rate 0.04 --conversion-rate 0.0053]
       [--optimizers adam,sparse-adam]
Prints one JSON line per batch size and optimizer: {"batch", "optimizer", "vocabulary", "examplesPerSec", "threads", "torch"}
(vocabulary: total ids).
"""
import argparse
import json
import time
import warnings

# torch warns at import when numpy is absent (not needed here).
warnings.filterwarnings("ignore", message="Failed to initialize NumPy")
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

FIELDS = 8
VOCAB = 1000
EMBEDDING = 8
SHARED = [128, 64]
HEAD = [32, 16]
SYNC_EVERY = 25


def mlp(sizes, logit):
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
        layers.append(torch.nn.ReLU())
    if logit:
        layers.append(torch.nn.Linear(sizes[-1], 1))
    return torch.nn.Sequential(*layers)


class Esmm(torch.nn.Module):
    def __init__(self, vocabularies, numeric=0, sparse=False):
        super().__init__()
        self.embeddings = torch.nn.ModuleList([torch.nn.Embedding(v, EMBEDDING, sparse=sparse) for v in vocabularies])
        for e in self.embeddings:
            torch.nn.init.uniform_(e.weight, -0.05, 0.05)
        self.trunk = mlp([len(vocabularies) * EMBEDDING + numeric] + SHARED, logit=False)
        self.ctr = mlp([SHARED[-1]] + HEAD, logit=True)
        self.cvr = mlp([SHARED[-1]] + HEAD, logit=True)

    def forward(self, x, numeric=None):
        parts = [e(x[:, f]) for f, e in enumerate(self.embeddings)]
        if numeric is not None and numeric.shape[1] > 0:
            parts.append(numeric)
        h = self.trunk(torch.cat(parts, dim=1))
        return self.ctr(h).squeeze(1), self.cvr(h).squeeze(1)


def esmm_loss(a, b, click, conversion, weight):
    """CTR cross-entropy + CTCVR cross-entropy of sigmoid(a) * sigmoid(b), each / sum(weight)."""
    total = weight.sum().clamp_min(1e-12)
    ctr = (weight * F.binary_cross_entropy_with_logits(a, click, reduction="none")).sum() / total
    y = click * conversion
    log_p = F.logsigmoid(a) + F.logsigmoid(b)
    # 1 - s(a) s(b) = s(-a) + s(a) s(-b): a sum of positive terms, in log space.
    log_1mp = torch.logaddexp(F.logsigmoid(-a), F.logsigmoid(a) + F.logsigmoid(-b))
    ctcvr = (weight * -(y * log_p + (1 - y) * log_1mp)).sum() / total
    return ctr + ctcvr


def synthetic(rows, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, VOCAB, (rows, FIELDS), generator=g)
    click = (torch.rand(rows, generator=g) < 0.2).float()
    conversion = click * (torch.rand(rows, generator=g) < 0.1).float()
    return x, click, conversion, torch.ones(rows), torch.zeros(rows, 0)


def synthetic_ali_ccp(rows, seed, vocabularies, numeric, click_rate, conversion_rate):
    """Rows as bench/ali-ccp-synthetic.ts draws them (its distributions; torch's random stream, not the same rows)."""
    g = torch.Generator().manual_seed(seed)
    click = (torch.rand(rows, generator=g, dtype=torch.float64) < click_rate).float()
    conversion = click * (torch.rand(rows, generator=g, dtype=torch.float64) < conversion_rate).float()
    u = torch.rand(rows, len(vocabularies), generator=g, dtype=torch.float64)
    x = (torch.tensor(vocabularies, dtype=torch.float64) * u * u * u).floor().long()
    v = torch.rand(rows, numeric, generator=g, dtype=torch.float64)
    codes = ((v - 0.3) / 0.7 * 1e4).round().clamp_min(1)
    num = torch.where(v < 0.3, torch.zeros_like(v), codes / 1e4).float()
    return x, click, conversion, torch.ones(rows), num


def optimizers(model, kind):
    """The optimizers of `kind`: "adam" (one Adam over every parameter) or "sparse-adam" (SparseAdam for the embeddings)."""
    hyper = dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
    if kind == "adam":
        return [torch.optim.Adam(model.parameters(), **hyper)]
    if kind == "sparse-adam":
        embedding = [e.weight for e in model.embeddings]
        ids = {id(p) for p in embedding}
        dense = [p for p in model.parameters() if id(p) not in ids]
        return [torch.optim.SparseAdam(embedding, **hyper), torch.optim.Adam(dense, **hyper)]
    raise ValueError(f"unknown optimizer {kind!r} (adam or sparse-adam)")


def run(batch, batches, epochs, data=None, vocabularies=None, optimizer="adam"):
    torch.manual_seed(1)
    vocabularies = vocabularies or [VOCAB] * FIELDS
    x, click, conversion, weight, numeric = data(batch * batches, 1) if data else synthetic(batch * batches, 1)
    model = Esmm(vocabularies, numeric.shape[1], sparse=optimizer == "sparse-adam")
    opts = optimizers(model, optimizer)
    n = x.shape[0]
    g = torch.Generator().manual_seed(2)
    rates = []
    for _ in range(epochs):
        start = time.perf_counter()
        order = torch.randperm(n, generator=g)
        pending = []
        for s in range(0, n, batch):
            idx = order[s : s + batch]
            a, b = model(x[idx], numeric[idx])
            loss = esmm_loss(a, b, click[idx], conversion[idx], weight[idx])
            for opt in opts:
                opt.zero_grad(set_to_none=True)
            loss.backward()
            for opt in opts:
                opt.step()
            pending.append(loss.detach())
            if len(pending) >= SYNC_EVERY:
                values = torch.stack(pending).tolist()
                pending = []
                if not all(v == v for v in values):
                    raise RuntimeError("training loss is NaN")
        if pending:
            torch.stack(pending).tolist()
        rates.append(n / (time.perf_counter() - start))
    return max(rates[1:]) if len(rates) > 1 else rates[0]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--batch", default="1024")
    p.add_argument("--batches", type=int, default=40)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--shape", default="reference", choices=["reference", "ali-ccp"])
    p.add_argument("--vocabularies", help="ali-ccp: vocabulary size per categorical field, comma-separated")
    p.add_argument("--numeric", type=int, default=8)
    p.add_argument("--click-rate", type=float, default=0.04)
    p.add_argument("--conversion-rate", type=float, default=0.0053)
    p.add_argument("--optimizers", default="adam")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    data = None
    vocabularies = [VOCAB] * FIELDS
    if args.shape == "ali-ccp":
        if not args.vocabularies:
            p.error("--shape ali-ccp needs --vocabularies")
        vocabularies = [int(v) for v in args.vocabularies.split(",")]
        data = lambda rows, seed: synthetic_ali_ccp(rows, seed, vocabularies, args.numeric, args.click_rate, args.conversion_rate)  # noqa: E731
    for b in [int(v) for v in args.batch.split(",")]:
        for kind in args.optimizers.split(","):
            rate = run(b, args.batches, args.epochs, data, vocabularies, kind)
            print(json.dumps({"batch": b, "optimizer": kind, "vocabulary": sum(vocabularies), "examplesPerSec": round(rate), "threads": torch.get_num_threads(), "torch": torch.__version__}), flush=True)


if __name__ == "__main__":
    main()
