"""PyTorch peer of bench/train-throughput.ts: training examples/s of ESMM on the reference shape.

Same model, loss, optimizer and data as the TypeScript benchmark child: 8 categorical fields of
vocabulary 1,000 (one nn.Embedding of size 8 per field), shared layers 128-64 (ReLU), CTR and CVR heads
32-16-1, ESMM losses (CTR cross-entropy on every impression + CTCVR cross-entropy of
pCTCVR = pCTR * pCVR on every impression, each normalised by the batch's total sample weight, the CTCVR
one computed in log space from the logits), Adam (lr 1e-3, betas 0.9/0.999, eps 1e-8), synthetic rows
(uniform indices, 20 % clicks, 10 % of clicks convert, weight 1). Per epoch: a seeded shuffle, then the
batches (rows gathered per batch), the batch losses read back every 25 batches. The rate is the best of
epochs 2-3 (epoch 1 warms up), as in the TypeScript child.

Usage: .venv/bin/python bench/torch_bench.py [--batch 1024,4096] [--batches 40] [--threads 2] [--epochs 3]
Prints one JSON line per batch size: {"batch", "examplesPerSec", "threads", "torch"}.
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
    def __init__(self):
        super().__init__()
        self.embeddings = torch.nn.ModuleList([torch.nn.Embedding(VOCAB, EMBEDDING) for _ in range(FIELDS)])
        for e in self.embeddings:
            torch.nn.init.uniform_(e.weight, -0.05, 0.05)
        self.trunk = mlp([FIELDS * EMBEDDING] + SHARED, logit=False)
        self.ctr = mlp([SHARED[-1]] + HEAD, logit=True)
        self.cvr = mlp([SHARED[-1]] + HEAD, logit=True)

    def forward(self, x):
        h = torch.cat([e(x[:, f]) for f, e in enumerate(self.embeddings)], dim=1)
        h = self.trunk(h)
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
    return x, click, conversion, torch.ones(rows)


def run(batch, batches, epochs):
    torch.manual_seed(1)
    model = Esmm()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
    x, click, conversion, weight = synthetic(batch * batches, 1)
    n = x.shape[0]
    g = torch.Generator().manual_seed(2)
    rates = []
    for _ in range(epochs):
        start = time.perf_counter()
        order = torch.randperm(n, generator=g)
        pending = []
        for s in range(0, n, batch):
            idx = order[s : s + batch]
            a, b = model(x[idx])
            loss = esmm_loss(a, b, click[idx], conversion[idx], weight[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
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
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    for b in [int(v) for v in args.batch.split(",")]:
        rate = run(b, args.batches, args.epochs)
        print(json.dumps({"batch": b, "examplesPerSec": round(rate), "threads": torch.get_num_threads(), "torch": torch.__version__}), flush=True)


if __name__ == "__main__":
    main()
