"""The Keras code example "MixUp augmentation for image classification" (keras.io,
examples/vision/mixup.py, by Sayak Paul), as mixup-batch's reference.

It follows the example's code: Fashion-MNIST as pixels / 255 with one-hot labels; the first 2,000
training images validate, the other 58,000 train; two independently shuffled streams over the
training set (`Dataset.shuffle(BATCH_SIZE * 100)`, batch 64) zipped pairwise; λ per sample as
g1 / (g1 + g2) with g ~ Gamma(shape = α); x = λ·x1 + (1 − λ)·x2 and the same for the labels; the
CNN Conv2D(16, 5) → MaxPool 2 → Conv2D(32, 5) → MaxPool 2 → Dropout 0.2 → GlobalAveragePooling2D →
Dense(128, relu) → Dense(10, softmax) with Keras's default initialisers; Adam's defaults
(learning rate 1e-3), categorical cross-entropy, `model.fit`; both arms start from one saved set of
initial weights; the baseline trains on the first stream alone.

What differs from the example, and why:
- the data come from the four IDX gz files in --data (keras.datasets downloads them);
- --seed seeds Python, NumPy and TensorFlow (keras.utils.set_random_seed); the example is unseeded.
  Every model is built before any arm trains, so `--arms baseline` gives the baseline of `--arms both`;
- --epochs, --alpha and --arms replace the example's constants, and the results are one JSON line on
  stdout (Keras's progress goes to stderr, one line per epoch);
- nothing is plotted.

Usage (after reference/keras/setup.sh):
  .venv-keras/bin/python reference/keras/mixup_keras.py --seed 1 --epochs 10 --arms both
"""

import argparse
import gzip
import json
import os
import platform
import struct
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import keras  # noqa: E402
from keras import layers  # noqa: E402
import tensorflow as tf  # noqa: E402
from tensorflow import data as tf_data  # noqa: E402
from tensorflow.random import gamma as tf_random_gamma  # noqa: E402

BATCH_SIZE = 64
VAL_SAMPLES = 2000
CLASSES = 10
DEFAULT_DATA = "/usr/share/datasets/fashion-mnist"
FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}


class UsageError(Exception):
    pass


def read_idx(path, magic):
    """An IDX file (gzip or not): images [n, 28, 28] or labels [n], as uint8."""
    try:
        with open(path, "rb") as handle:
            body = handle.read()
    except OSError as err:
        raise UsageError(f"cannot read {path}: {err.strerror}") from err
    if body[:2] == b"\x1f\x8b":
        body = gzip.decompress(body)
    if len(body) < 8 or struct.unpack(">I", body[:4])[0] != magic:
        raise UsageError(f"{path}: not an IDX file with magic number {magic}")
    count = struct.unpack(">I", body[4:8])[0]
    if magic == 2051:
        rows, cols = struct.unpack(">II", body[8:16])
        data = np.frombuffer(body, dtype=np.uint8, offset=16)
        if data.size != count * rows * cols:
            raise UsageError(f"{path}: {data.size} pixel bytes, the header says {count}×{rows}×{cols}")
        return data.reshape(count, rows, cols)
    data = np.frombuffer(body, dtype=np.uint8, offset=8)
    if data.size != count:
        raise UsageError(f"{path}: {data.size} labels, the header says {count}")
    return data


def load_data(directory):
    """What keras.datasets.fashion_mnist.load_data() returns, read from local files."""
    path = {role: os.path.join(directory, name) for role, name in FILES.items()}
    return (
        (read_idx(path["train_images"], 2051), read_idx(path["train_labels"], 2049)),
        (read_idx(path["test_images"], 2051), read_idx(path["test_labels"], 2049)),
    )


def prepare(images, labels):
    """The example's preprocessing: float32 pixels / 255, shape [n, 28, 28, 1], one-hot labels."""
    x = images.astype("float32") / 255.0
    x = np.reshape(x, (-1, 28, 28, 1))
    y = keras.ops.one_hot(labels, CLASSES)
    return x, y


def sample_beta_distribution(size, concentration_0=0.2, concentration_1=0.2):
    gamma_1_sample = tf_random_gamma(shape=[size], alpha=concentration_1)
    gamma_2_sample = tf_random_gamma(shape=[size], alpha=concentration_0)
    return gamma_1_sample / (gamma_1_sample + gamma_2_sample)


def mix_up(ds_one, ds_two, alpha=0.2):
    # Unpack two datasets
    images_one, labels_one = ds_one
    images_two, labels_two = ds_two
    batch_size = keras.ops.shape(images_one)[0]

    # Sample lambda and reshape it to do the mixup
    l = sample_beta_distribution(batch_size, alpha, alpha)  # noqa: E741 (the example's name)
    return mix_with(images_one, labels_one, images_two, labels_two, l)


def mix_with(images_one, labels_one, images_two, labels_two, l):  # noqa: E741
    """The example's mixing, for a given λ (the parity replay passes recorded ones)."""
    batch_size = keras.ops.shape(images_one)[0]
    x_l = keras.ops.reshape(l, (batch_size, 1, 1, 1))
    y_l = keras.ops.reshape(l, (batch_size, 1))

    # Perform mixup on both images and labels by combining a pair of images/labels
    # (one from each dataset) into one image/label
    images = images_one * x_l + images_two * (1 - x_l)
    labels = labels_one * y_l + labels_two * (1 - y_l)
    return (images, labels)


def get_training_model(dropout=None):
    """The example's model. `dropout` replaces its Dropout(0.2) layer (the parity replay's masks)."""
    model = keras.Sequential(
        [
            layers.Input(shape=(28, 28, 1)),
            layers.Conv2D(16, (5, 5), activation="relu"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Conv2D(32, (5, 5), activation="relu"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            dropout if dropout is not None else layers.Dropout(0.2),
            layers.GlobalAveragePooling2D(),
            layers.Dense(128, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ]
    )
    return model


def compile_model(model):
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])


class EpochLines(keras.callbacks.Callback):
    """One line per epoch on stderr, so that stdout carries only the result."""

    def __init__(self, arm):
        super().__init__()
        self.arm = arm

    def on_epoch_end(self, epoch, logs=None):
        shown = " ".join(f"{k}={v:.4f}" for k, v in sorted((logs or {}).items()))
        print(f"{self.arm} epoch {epoch + 1}: {shown}", file=sys.stderr, flush=True)


def history_records(history):
    h = history.history
    return [
        {
            "epoch": i + 1,
            "loss": float(h["loss"][i]),
            "accuracy": float(h["accuracy"][i]),
            "valLoss": float(h["val_loss"][i]),
            "valAccuracy": float(h["val_accuracy"][i]),
        }
        for i in range(len(h["loss"]))
    ]


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=42, help="seed for Python, NumPy and TensorFlow (default 42)")
    parser.add_argument("--epochs", type=int, default=10, help="training epochs per arm (default 10)")
    parser.add_argument("--alpha", type=float, default=0.2, help="Beta(α, α) concentration (default 0.2)")
    parser.add_argument("--arms", choices=["both", "mixup", "baseline"], default="both")
    parser.add_argument("--data", default=os.environ.get("FASHION_MNIST_DIR", DEFAULT_DATA), help=f"directory of the four IDX gz files (default $FASHION_MNIST_DIR, else {DEFAULT_DATA})")
    args = parser.parse_args(argv)
    if args.seed < 0 or args.seed >= 2**31:
        parser.error("--seed must be from 0 to 2^31 − 1")
    if args.epochs < 1:
        parser.error("--epochs must be ≥ 1")
    if not args.alpha > 0:
        parser.error("--alpha must be > 0 (the example's Gamma draws need a positive shape)")
    return args


def main(argv):
    args = parse_args(argv)
    started = time.time()
    keras.utils.set_random_seed(args.seed)
    (x_train, y_train), (x_test, y_test) = load_data(args.data)
    x_train, y_train = prepare(x_train, y_train)
    x_test, y_test = prepare(x_test, y_test)

    # Put aside a few samples to create our validation set
    x_val, y_val = x_train[:VAL_SAMPLES], y_train[:VAL_SAMPLES]
    new_x_train, new_y_train = x_train[VAL_SAMPLES:], y_train[VAL_SAMPLES:]

    train_ds_one = tf_data.Dataset.from_tensor_slices((new_x_train, new_y_train)).shuffle(BATCH_SIZE * 100).batch(BATCH_SIZE)
    train_ds_two = tf_data.Dataset.from_tensor_slices((new_x_train, new_y_train)).shuffle(BATCH_SIZE * 100).batch(BATCH_SIZE)
    # Because we will be mixing up the images and their corresponding labels, we will be
    # combining two shuffled datasets from the same training data.
    train_ds = tf_data.Dataset.zip((train_ds_one, train_ds_two))
    val_ds = tf_data.Dataset.from_tensor_slices((x_val, y_val)).batch(BATCH_SIZE)
    test_ds = tf_data.Dataset.from_tensor_slices((x_test, y_test)).batch(BATCH_SIZE)

    # First create the new dataset using our `mix_up` utility
    train_ds_mu = train_ds.map(lambda ds_one, ds_two: mix_up(ds_one, ds_two, alpha=args.alpha), num_parallel_calls=tf_data.AUTOTUNE)

    arms = ["mixup", "baseline"] if args.arms == "both" else [args.arms]
    results = {}
    with tempfile.TemporaryDirectory() as scratch:
        # Keras 3 saves weights only to files named *.weights.h5.
        initial = os.path.join(scratch, "initial_weights.weights.h5")
        initial_model = get_training_model()
        initial_model.save_weights(initial)
        models = {}
        for arm in ["mixup", "baseline"]:
            models[arm] = get_training_model()
            models[arm].load_weights(initial)
        for arm in arms:
            model = models[arm]
            compile_model(model)
            # Notice that the baseline does NOT use the mixed up dataset.
            dataset = train_ds_mu if arm == "mixup" else train_ds_one
            arm_started = time.time()
            history = model.fit(dataset, validation_data=val_ds, epochs=args.epochs, verbose=0, callbacks=[EpochLines(arm)])
            test_loss, test_acc = model.evaluate(test_ds, verbose=0)
            results[arm] = {
                "history": history_records(history),
                "test": {"loss": float(test_loss), "accuracy": float(test_acc)},
                "seconds": round(time.time() - arm_started, 3),
            }
            print(f"{arm} test accuracy: {test_acc * 100:.2f}%", file=sys.stderr, flush=True)

    print(
        json.dumps(
            {
                "reference": "keras.io examples/vision/mixup.py",
                "seed": args.seed,
                "epochs": args.epochs,
                "alpha": args.alpha,
                "batchSize": BATCH_SIZE,
                "valSamples": VAL_SAMPLES,
                "train": int(new_x_train.shape[0]),
                "arms": results,
                "versions": {
                    "python": platform.python_version(),
                    "tensorflow": tf.__version__,
                    "keras": keras.__version__,
                    "numpy": np.__version__,
                },
                "wallSeconds": round(time.time() - started, 3),
            }
        ),
        flush=True,
    )
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except UsageError as err:
        print(f"mixup_keras.py: {err}", file=sys.stderr)
        sys.exit(2)
