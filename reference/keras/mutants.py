"""Shows that the Keras parity test (test/unit/keras-parity.test.ts) fails for each changed default it must
catch: applies one mutant at a time to the job's source, runs the test, prints which checks failed and with
what numbers, and puts the source back (`git checkout` of the touched files). docs/keras-parity.md lists the
results. It refuses to start if a file it would touch has uncommitted changes, so it never discards work.

Usage: python3 reference/keras/mutants.py [NAME ...]   (default: all; any Python 3, no TensorFlow)
"""

import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TEST = "test/unit/keras-parity.test.ts"

# name: what it changes, then (file, the job's text, the mutant's text) for each edit.
MUTANTS = {
    "he-init": (
        "He-uniform kernels instead of Keras's Glorot-uniform default",
        [("job/model.ts", "tf.initializers.glorotUniform(", "tf.initializers.heUniform(")],
    ),
    "adam-eps-inside-sqrt": (
        "Adam's ε inside the square root, √(v + ε), instead of √v + ε",
        [
            ("job/backend/kernels/adam.ts", "f(f(newM * alpha) / f(f(Math.sqrt(newV)) + eps))", "f(f(newM * alpha) / f(Math.sqrt(f(newV + eps))))"),
            (
                "job/backend/kernels/wasm-adam.ts",
                "...op.get(newV), ...op.f32x4Sqrt, ...op.get(eps), ...op.f32x4Add,",
                "...op.get(newV), ...op.get(eps), ...op.f32x4Add, ...op.f32x4Sqrt,",
            ),
        ],
    ),
    "dropout-no-rescale": (
        "Dropout without the 1/(1 − p) scaling of the kept units",
        [
            (
                "job/backend/kernels/dropout.ts",
                "multiplier[i] = Math.fround(Math.floor(Math.fround(u + keep)) / keep);",
                "multiplier[i] = Math.fround(Math.floor(Math.fround(u + keep)));",
            )
        ],
    ),
    "loss-clipped-probabilities": (
        "cross-entropy of the probabilities clipped to [1e-7, 1 − 1e-7] (tfjs-layers') instead of Keras's from the logits",
        [
            (
                "job/train-step.ts",
                "return [softmaxCrossentropy(ys, logits), countCorrect(ys, probs)];",
                "return [tf.metrics.categoricalCrossentropy(ys, probs) as tf.Tensor1D, countCorrect(ys, probs)];",
            )
        ],
    ),
    "tfjs-adam": (
        "tfjs' own Adam (ε added to the bias-corrected √v̂), which the job used before",
        [
            (
                "job/train-step.ts",
                "return new FusedAdamOptimizer(LEARNING_RATE, 0.9, 0.999, 1e-7);",
                "return tf.train.adam(LEARNING_RATE, 0.9, 0.999, 1e-7);",
            )
        ],
    ),
}


def git(*args):
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout


def main(names):
    unknown = [n for n in names if n not in MUTANTS]
    if unknown:
        print(f"mutants.py: unknown mutant {', '.join(unknown)}; known: {', '.join(MUTANTS)}", file=sys.stderr)
        return 2
    files = sorted({path for name in names for path, _, _ in MUTANTS[name][1]})
    dirty = git("status", "--porcelain", "--", *files).strip()
    if dirty:
        print(f"mutants.py: uncommitted changes in files a mutant touches; commit or stash them first:\n{dirty}", file=sys.stderr)
        return 2
    survived = []
    for name in names:
        what, edits = MUTANTS[name]
        touched = sorted({path for path, _, _ in edits})
        try:
            for path, old, new in edits:
                full = os.path.join(ROOT, path)
                with open(full) as handle:
                    text = handle.read()
                if text.count(old) != 1:
                    raise SystemExit(f"mutants.py: {name}: {path} no longer holds the text this mutant edits; update the mutant")
                with open(full, "w") as handle:
                    handle.write(text.replace(old, new))
            run = subprocess.run(["node", "--import", "tsx", "--test", TEST], cwd=ROOT, capture_output=True, text=True)
        finally:
            git("checkout", "--", *touched)
        print(f"=== {name}: {what}")
        for line in run.stdout.splitlines():
            if re.match(r"\s+not ok \d", line) or re.match(r"\s+error: ", line) or re.match(r"\s+(today's|weight|mixup|baseline|last kernel)", line):
                print(line.strip()[:300])
        if run.returncode == 0:
            survived.append(name)
            print("SURVIVED: the test passed with this mutant")
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or list(MUTANTS)))
