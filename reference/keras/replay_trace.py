"""Replays a parity trace (written by reference/keras/write-trace.ts) in the Keras example and writes
what Keras computed: the fixture test/unit/keras-parity.test.ts compares the job with.

For each arm it builds the example's model (mixup_keras.get_training_model) with one change: its
Dropout(0.2) becomes ReplayDropout, which keeps the units the trace's masks kept and scales them by
1/(1 − p) exactly as keras.layers.Dropout does (tf.nn dropout: select(keep, x · 1/(1 − p), 0)). It loads
the trace's initial weights, compiles as the example does (Adam's defaults, categorical cross-entropy),
and runs each step with `train_on_batch`: Keras's own compiled train step, the one `fit` runs. Each
batch is gathered from the same local Fashion-MNIST files by the trace's rows and, for the mixup arm,
mixed by the example's own code (mixup_keras.mix_with) with the trace's λ.

It also records what Keras's default initialisers draw for this model (over several seeds), the
example's loss at saturation (a model whose last layer is scaled up until probabilities underflow),
and the versions that computed all of it.

Usage (reference/keras/record-fixture.sh runs it):
  .venv-keras/bin/python reference/keras/replay_trace.py TRACE_DIR OUT.json [--data DIR]
"""

import argparse
import base64
import datetime
import hashlib
import json
import os
import platform
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

import mixup_keras as example  # noqa: E402

FIXTURE_VERSION = 1
INIT_SEEDS = range(1, 11)
# How far the saturation check scales the last layer, and how many validation images it uses.
SATURATION_SCALES = [1.0, 30.0, 300.0]
SATURATION_IMAGES = 64


class ReplayDropout(keras.layers.Layer):
    """keras.layers.Dropout(rate) whose masks are given: step k of training uses keep[k]."""

    def __init__(self, rate, keep, **kwargs):
        super().__init__(**kwargs)
        self.rate = rate
        self.keep = tf.constant(keep)
        self.step = self.add_weight(shape=(), dtype="int32", initializer="zeros", trainable=False, name="replay_step")

    def call(self, inputs, training=None):
        if not training:
            return inputs
        keep = tf.gather(self.keep, self.step)
        self.step.assign_add(1)
        # tf.nn.experimental.stateless_dropout, which keras.layers.Dropout calls, with the mask given.
        scale = tf.convert_to_tensor(1 / (1 - self.rate), dtype=inputs.dtype)
        return tf.where(keep, inputs * scale, tf.zeros_like(inputs))


def read(trace_dir, meta, key, dtype):
    path = os.path.join(trace_dir, meta["files"][key])
    with open(path, "rb") as handle:
        body = handle.read()
    digest = hashlib.sha256(body).hexdigest()
    if key in meta["sha256"] and digest != meta["sha256"][key]:
        raise SystemExit(f"replay_trace.py: {path} has SHA-256 {digest}, trace.json says {meta['sha256'][key]}")
    return np.frombuffer(body, dtype=np.dtype(dtype).newbyteorder("<"))


def split_weights(flat, shapes):
    out, at = [], 0
    for shape in shapes:
        size = int(np.prod(shape))
        out.append(flat[at : at + size].reshape(shape).astype(np.float32))
        at += size
    if at != flat.size:
        raise SystemExit(f"replay_trace.py: {flat.size} weight floats, the shapes need {at}")
    return out


def f32_base64(array):
    return base64.b64encode(np.ascontiguousarray(array, dtype="<f4").tobytes()).decode("ascii")


def set_trainable(model, weights):
    if len(model.trainable_weights) != len(weights):
        raise SystemExit(f"replay_trace.py: the model has {len(model.trainable_weights)} weights, the trace {len(weights)}")
    for variable, value in zip(model.trainable_weights, weights):
        if tuple(variable.shape) != value.shape:
            raise SystemExit(f"replay_trace.py: weight {variable.path} is {tuple(variable.shape)}, the trace's {value.shape}")
        variable.assign(value)


def replay_arm(arm, meta, trace_dir, initial, x_train, y_train):
    settings = meta["settings"]
    steps, batch = settings["steps"], settings["batchSize"]
    unit_shape = meta["dropout"]["unitShape"]
    rows1 = read(trace_dir, meta, f"{arm}.rows1", "i4").reshape(steps, batch)
    keep = read(trace_dir, meta, f"{arm}.keep", "u1").reshape(steps, batch, *unit_shape).astype(bool)
    mixed = f"{arm}.rows2" in meta["files"]
    if mixed:
        rows2 = read(trace_dir, meta, f"{arm}.rows2", "i4").reshape(steps, batch)
        lam = read(trace_dir, meta, f"{arm}.lambda", "f4").reshape(steps, batch)

    dropout = ReplayDropout(meta["dropout"]["rate"], keep)
    model = example.get_training_model(dropout)
    set_trainable(model, initial)
    example.compile_model(model)
    losses = []
    for step in range(steps):
        images, labels = x_train[rows1[step]], y_train[rows1[step]]
        if mixed:
            images, labels = example.mix_with(images, labels, x_train[rows2[step]], y_train[rows2[step]], tf.constant(lam[step]))
        logs = model.train_on_batch(images, labels, return_dict=True)
        losses.append(float(logs["loss"]))
    if int(dropout.step.numpy()) != steps:
        raise SystemExit(f"replay_trace.py: dropout replayed {int(dropout.step.numpy())} masks for {steps} steps")
    return {
        "losses": losses,
        "weights": [f32_base64(w.numpy()) for w in model.trainable_weights],
    }


def init_statistics(shapes):
    """Per weight, what Keras's default initialisers drew for the example's model over INIT_SEEDS."""
    pooled = [[] for _ in shapes]
    for seed in INIT_SEEDS:
        keras.utils.set_random_seed(seed)
        model = example.get_training_model()
        for i, variable in enumerate(model.trainable_weights):
            pooled[i].append(variable.numpy().ravel())
    stats = []
    for values, shape in zip(pooled, shapes):
        v = np.concatenate(values).astype(np.float64)
        stats.append({"shape": shape, "count": int(v.size), "mean": float(v.mean()), "std": float(v.std()), "maxAbs": float(np.abs(v).max())})
    return stats


def saturation(initial, x_val, y_val):
    """The example's loss (test_on_batch: no dropout, no update) with the last kernel scaled up."""
    model = example.get_training_model()
    example.compile_model(model)
    out = []
    for scale in SATURATION_SCALES:
        weights = [w.copy() for w in initial]
        weights[-2] = (weights[-2] * np.float32(scale)).astype(np.float32)
        set_trainable(model, weights)
        logs = model.test_on_batch(x_val[:SATURATION_IMAGES], y_val[:SATURATION_IMAGES], return_dict=True)
        out.append({"scale": scale, "loss": float(logs["loss"])})
    return out


def main(argv):
    parser = argparse.ArgumentParser(description="Replay a parity trace in the Keras example.")
    parser.add_argument("trace")
    parser.add_argument("out")
    parser.add_argument("--data", default=os.environ.get("FASHION_MNIST_DIR", example.DEFAULT_DATA))
    args = parser.parse_args(argv)
    with open(os.path.join(args.trace, "trace.json")) as handle:
        meta = json.load(handle)
    settings = meta["settings"]
    if settings["batchSize"] != example.BATCH_SIZE:
        raise SystemExit(f"replay_trace.py: the trace's batch is {settings['batchSize']}, the example's {example.BATCH_SIZE}")
    # Keras's own kernels, run the same way every time.
    tf.config.experimental.enable_op_determinism()
    shapes = meta["weightShapes"]
    initial = split_weights(read(args.trace, meta, "initial", "f4"), shapes)

    (x_train, y_train), _ = example.load_data(args.data)
    x_train, y_train = example.prepare(x_train, y_train)
    y_train = np.asarray(y_train)
    x_val, y_val = x_train[: example.VAL_SAMPLES], y_train[: example.VAL_SAMPLES]
    x_train, y_train = x_train[example.VAL_SAMPLES :], y_train[example.VAL_SAMPLES :]

    arms = {arm: replay_arm(arm, meta, args.trace, initial, x_train, y_train) for arm in meta["arms"]}
    fixture = {
        "version": FIXTURE_VERSION,
        "recordedAt": datetime.date.today().isoformat(),
        "recordedWith": {
            "python": platform.python_version(),
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "numpy": np.__version__,
            "machine": platform.machine(),
        },
        "trace": {"settings": settings, "dropout": meta["dropout"], "weightShapes": shapes, "sha256": meta["sha256"]},
        "arms": arms,
        "init": {"seeds": list(INIT_SEEDS), "weights": init_statistics(shapes)},
        "saturation": {"images": SATURATION_IMAGES, "weight": len(shapes) - 2, "points": saturation(initial, x_val, y_val)},
    }
    with open(args.out, "w") as handle:
        json.dump(fixture, handle, indent=1)
        handle.write("\n")
    print(f"replay_trace.py: wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
