#!/usr/bin/env bash
# Unpacks the CUDA 11 / cuDNN 8 runtime libraries TensorFlow 2.9.1 opens into one folder (the GPU
# image's /opt/nvidia-cu11/lib), from NVIDIA's wheels on PyPI pinned in tensorflow/requirements-cuda.txt.
# Only the libraries TensorFlow opens (and what they need) are kept: libcudart, libcublas(Lt),
# libcufft, libcurand, libcusolver, libcusparse and cuDNN with its six sub-libraries.
# Usage: cuda-libs.sh DEST
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DEST=${1:?usage: cuda-libs.sh DEST}
PYTHON=${PYTHON:-python3}

CACHE=$(bash "$HERE/wheels.sh" "$HERE/requirements-cuda.txt")
mkdir -p "$DEST"
"$PYTHON" - "$HERE/requirements-cuda.txt" "$CACHE" "$DEST" <<'PY'
import hashlib, os, re, shutil, sys, zipfile
requirements, cache, dest = sys.argv[1:]
wanted = re.compile(r'^nvidia/[a-z_]+/lib/lib(cudart\.so\.11\.0|cublas\.so\.11|cublasLt\.so\.11|cufft\.so\.10|curand\.so\.10|cusolver\.so\.11|cusparse\.so\.11|cudnn(_[a-z]+_[a-z]+)?\.so\.8)$')
hashes = set(re.findall(r'sha256:([0-9a-f]{64})', open(requirements).read()))
found = 0
for name in sorted(os.listdir(cache)):
    path = os.path.join(cache, name)
    if not name.startswith('nvidia_') or not name.endswith('.whl'):
        continue
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    if digest.hexdigest() not in hashes:
        continue
    found += 1
    with zipfile.ZipFile(path) as z:
        for member in z.namelist():
            if wanted.match(member):
                target = os.path.join(dest, os.path.basename(member))
                with z.open(member) as src, open(target, 'wb') as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
                print(f'{os.path.basename(member)} from {name}')
if found != len(hashes):
    sys.exit(f'cuda-libs.sh: {found} of the {len(hashes)} pinned wheels found in {cache}')
PY
