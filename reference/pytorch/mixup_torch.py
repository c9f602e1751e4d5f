#!/usr/bin/python3
"""PyTorch (CPU) reference for the Keras example "MixUp augmentation for image classification".

Model: Conv2D(16,5x5,relu) -> MaxPool2 -> Conv2D(32,5x5,relu) -> MaxPool2 -> Dropout(0.2)
       -> GlobalAveragePooling2D -> Dense(128,relu) -> Dense(10,softmax)
Loss: categorical crossentropy on (possibly mixed) one-hot labels. Adam lr=1e-3 (eps=1e-7 as in Keras).
Batch 64, first 2000 train images = validation, remaining 58000 = training.
Init: Keras-style glorot_uniform weights, zero biases (same initial weights for both runs).
Shuffle: tf.data-style shuffle buffer of BATCH*100 = 6400 per stream, reshuffled each epoch
         (--shuffle-buffer 0 = full permutation). Partial last batch (16 images) is kept, as tf.data does.
MixUp: per-sample lambda = g1/(g1+g2), g ~ Gamma(alpha, 1), mixing stream one with an independent stream two.

Usage (Debian: apt-get install python3-torch):
  /usr/bin/python3 mixup_torch.py bench                 # steady-state throughput (baseline, mixup, mixup op cost)
  /usr/bin/python3 mixup_torch.py train --mode baseline # full run
  /usr/bin/python3 mixup_torch.py train --mode mixup    # full run
--data DIR reads the four Fashion-MNIST .gz files from DIR (default $FASHION_MNIST_DIR, else
/usr/share/datasets/fashion-mnist, where Debian's dataset-fashion-mnist puts them).
Outputs a JSON line prefixed with RESULT.
"""
import argparse
import gzip
import json
import os
import resource
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

DATA_DIR = os.environ.get("FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist")
BATCH = 64
VAL_SAMPLES = 2000


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic = int.from_bytes(data[0:4], "big")
    dtype_code = (magic >> 8) & 0xFF
    ndim = magic & 0xFF
    assert dtype_code == 0x08, "expected unsigned byte IDX"
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    offset = 4 + 4 * ndim
    return np.frombuffer(data, dtype=np.uint8, offset=offset).reshape(dims)


def load_data(data_dir):
    xtr = read_idx(os.path.join(data_dir, "train-images-idx3-ubyte.gz"))
    ytr = read_idx(os.path.join(data_dir, "train-labels-idx1-ubyte.gz"))
    xte = read_idx(os.path.join(data_dir, "t10k-images-idx3-ubyte.gz"))
    yte = read_idx(os.path.join(data_dir, "t10k-labels-idx1-ubyte.gz"))
    # NCHW float32 in [0,1]
    f = lambda x: torch.from_numpy(x.astype(np.float32) / 255.0).reshape(-1, 1, 28, 28)
    xtr, xte = f(xtr), f(xte)
    ytr = torch.from_numpy(ytr.astype(np.int64))
    yte = torch.from_numpy(yte.astype(np.int64))
    return (xtr[VAL_SAMPLES:], ytr[VAL_SAMPLES:]), (xtr[:VAL_SAMPLES], ytr[:VAL_SAMPLES]), (xte, yte)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 5)   # valid padding: 28 -> 24
        self.conv2 = nn.Conv2d(16, 32, 5)  # 12 -> 8
        self.drop = nn.Dropout(0.2)
        self.fc1 = nn.Linear(32, 128)
        self.fc2 = nn.Linear(128, 10)
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.xavier_uniform_(m.weight)  # == Keras glorot_uniform
                nn.init.zeros_(m.bias)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = self.drop(x)
        x = x.mean(dim=(2, 3))  # GlobalAveragePooling2D
        x = F.relu(self.fc1(x))
        return self.fc2(x)  # logits; softmax folded into the loss


def soft_ce(logits, target_probs):
    # categorical crossentropy(softmax(logits), target) averaged over batch
    return -(target_probs * F.log_softmax(logits, dim=1)).sum(dim=1).mean()


def shuffled_order(n, rng, buffer_size):
    """tf.data Dataset.shuffle(buffer_size) semantics over indices 0..n-1 (buffer_size<=0: full permutation)."""
    if buffer_size <= 0 or buffer_size >= n:
        return rng.permutation(n)
    out = np.empty(n, dtype=np.int64)
    buf = list(range(buffer_size))
    nxt = buffer_size
    r = rng.integers(0, 1 << 62, size=n)
    for i in range(n):
        j = int(r[i] % len(buf))
        out[i] = buf[j]
        if nxt < n:
            buf[j] = nxt
            nxt += 1
        else:
            buf[j] = buf[-1]
            buf.pop()
    return out


def sample_beta(size, alpha, gen):
    # torch.distributions.Gamma uses the global torch RNG (seeded via torch.manual_seed)
    d = torch.distributions.Gamma(torch.tensor(alpha), torch.tensor(1.0))
    g1 = d.sample((size,))
    g2 = d.sample((size,))
    return g1 / (g1 + g2)


def mix_up(x1, y1oh, x2, y2oh, alpha):
    n = x1.shape[0]
    lam = sample_beta(n, alpha, None)
    xl = lam.view(n, 1, 1, 1)
    yl = lam.view(n, 1)
    return x1 * xl + x2 * (1 - xl), y1oh * yl + y2oh * (1 - yl)


@torch.no_grad()
def evaluate(model, x, y):
    model.eval()
    correct = 0
    for i in range(0, x.shape[0], BATCH):
        logits = model(x[i:i + BATCH])
        correct += (logits.argmax(1) == y[i:i + BATCH]).sum().item()
    model.train()
    return correct / x.shape[0]


def make_opt(model):
    return torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-7)


def train_step(model, opt, xb, yb_probs):
    opt.zero_grad(set_to_none=True)
    loss = soft_ce(model(xb), yb_probs)
    loss.backward()
    opt.step()
    return loss


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def cmd_bench(args):
    torch.manual_seed(args.seed)
    (xtr, ytr), _, _ = load_data(args.data)
    yoh = F.one_hot(ytr, 10).float()
    n = xtr.shape[0]
    res = {"torch": torch.__version__, "threads": torch.get_num_threads(), "batch": BATCH}
    rng = np.random.default_rng(args.seed)

    def run(mode, warm, steps):
        model = Net()
        opt = make_opt(model)
        model.train()
        o1 = torch.from_numpy(rng.permutation(n))
        o2 = torch.from_numpy(rng.permutation(n))
        times = []
        for s in range(warm + steps):
            t0 = time.perf_counter()
            i1 = o1[s * BATCH:(s + 1) * BATCH]
            xb, yb = xtr[i1], yoh[i1]
            if mode == "mixup":
                i2 = o2[s * BATCH:(s + 1) * BATCH]
                xb, yb = mix_up(xb, yb, xtr[i2], yoh[i2], args.alpha)
            loss = train_step(model, opt, xb, yb)
            loss.item()
            times.append(time.perf_counter() - t0)
        ts = np.array(times[warm:])
        return {"steps": steps, "warmup": warm, "mean_ms": ts.mean() * 1e3, "median_ms": float(np.median(ts)) * 1e3,
                "img_per_s": BATCH * steps / ts.sum()}

    for rep in range(args.reps):
        res.setdefault("baseline", []).append(run("baseline", args.warmup, args.steps))
        res.setdefault("mixup", []).append(run("mixup", args.warmup, args.steps))

    # cost of the mixup op alone (gamma/beta sampling + mixing a 64x1x28x28 batch + labels)
    x1, x2 = xtr[:BATCH].clone(), xtr[BATCH:2 * BATCH].clone()
    y1, y2 = yoh[:BATCH].clone(), yoh[BATCH:2 * BATCH].clone()
    for _ in range(100):
        mix_up(x1, y1, x2, y2, args.alpha)
    k = 2000
    t0 = time.perf_counter()
    for _ in range(k):
        xm, ym = mix_up(x1, y1, x2, y2, args.alpha)
    res["mixup_op_ms"] = (time.perf_counter() - t0) / k * 1e3
    t0 = time.perf_counter()
    for _ in range(k):
        lam = sample_beta(BATCH, args.alpha, None)
    res["beta_sample_only_ms"] = (time.perf_counter() - t0) / k * 1e3
    res["peak_rss_mib"] = peak_rss_mib()
    print("RESULT " + json.dumps(res), flush=True)


def cmd_train(args):
    t_start = time.perf_counter()
    (xtr, ytr), (xva, yva), (xte, yte) = load_data(args.data)
    yoh = F.one_hot(ytr, 10).float()
    n = xtr.shape[0]
    # identical initial weights for both modes: built from the same seed
    torch.manual_seed(args.seed)
    model = Net()
    init_sd = {k: v.clone() for k, v in model.state_dict().items()}
    if args.save_init:
        torch.save(init_sd, args.save_init)
    model.load_state_dict(init_sd)
    opt = make_opt(model)
    torch.manual_seed(args.seed + 1)  # dropout + gamma RNG
    rng1 = np.random.default_rng(args.seed + 100)  # stream one shuffle
    rng2 = np.random.default_rng(args.seed + 200)  # stream two shuffle
    log = {"mode": args.mode, "alpha": args.alpha, "epochs": args.epochs, "seed": args.seed,
           "shuffle_buffer": args.shuffle_buffer, "threads": torch.get_num_threads(), "torch": torch.__version__,
           "init": "glorot_uniform weights, zero biases", "per_epoch": []}
    print(f"data+init {time.perf_counter() - t_start:.2f}s", flush=True)
    train_time = 0.0
    for ep in range(args.epochs):
        t0 = time.perf_counter()
        o1 = torch.from_numpy(shuffled_order(n, rng1, args.shuffle_buffer))
        o2 = torch.from_numpy(shuffled_order(n, rng2, args.shuffle_buffer)) if args.mode == "mixup" else None
        model.train()
        tot_loss, tot_n = 0.0, 0
        for s in range(0, n, BATCH):
            i1 = o1[s:s + BATCH]
            xb, yb = xtr[i1], yoh[i1]
            if args.mode == "mixup":
                i2 = o2[s:s + BATCH]
                xb, yb = mix_up(xb, yb, xtr[i2], yoh[i2], args.alpha)
            loss = train_step(model, opt, xb, yb)
            tot_loss += loss.item() * xb.shape[0]
            tot_n += xb.shape[0]
        t_train = time.perf_counter() - t0
        train_time += t_train
        va = evaluate(model, xva, yva)
        t_ep = time.perf_counter() - t0
        rec = {"epoch": ep + 1, "train_loss": tot_loss / tot_n, "val_acc": va, "epoch_s": t_ep,
               "train_s": t_train, "train_img_per_s": n / t_train}
        log["per_epoch"].append(rec)
        print(json.dumps(rec), flush=True)
    log["test_acc"] = evaluate(model, xte, yte)
    log["train_only_s"] = train_time
    log["wall_s"] = time.perf_counter() - t_start
    log["peak_rss_mib"] = peak_rss_mib()
    print("RESULT " + json.dumps(log), flush=True)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("bench")
    b.add_argument("--steps", type=int, default=300)
    b.add_argument("--warmup", type=int, default=30)
    b.add_argument("--reps", type=int, default=2)
    b.add_argument("--alpha", type=float, default=0.2)
    b.add_argument("--seed", type=int, default=42)
    b.add_argument("--threads", type=int, default=2)
    b.add_argument("--data", default=DATA_DIR)
    t = sub.add_parser("train")
    t.add_argument("--mode", choices=["baseline", "mixup"], required=True)
    t.add_argument("--epochs", type=int, default=10)
    t.add_argument("--alpha", type=float, default=0.2)
    t.add_argument("--seed", type=int, default=42)
    t.add_argument("--threads", type=int, default=2)
    t.add_argument("--shuffle-buffer", type=int, default=BATCH * 100)
    t.add_argument("--save-init", default="")
    t.add_argument("--data", default=DATA_DIR)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    if args.cmd == "bench":
        cmd_bench(args)
    else:
        cmd_train(args)


if __name__ == "__main__":
    main()
