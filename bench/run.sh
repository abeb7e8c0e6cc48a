#!/usr/bin/env bash
# Runs the Functional.NN benchmark (W1..W4) beside its PyTorch / OpenBLAS peer and writes
# bench/results/latest.json; a partial run (--only, --no-peer, --quick, fewer than 7 rounds) writes
# bench/results/partial.json instead, which git ignores (--out FILE: elsewhere). Set-up once: see
# bench/README.md. Extra arguments go to the runner (--rounds N, --quick, --no-peer, --only W1,W4, --out FILE). `bash bench/run.sh onnx [--rounds N] [--calls C] [--warm-ms W] [--breakdown] [--quick] [--python PATH]` runs the
# ONNX benchmark instead (bench/Bench.CSharp/OnnxBench.cs, peer bench/onnx_peer.py).
set -euo pipefail
cd "$(dirname "$0")/.."
# The peer needs an interpreter with torch and numpy: Debian's, where python3-torch and
# python3-numpy install. A pyenv or venv python3 may come first on PATH, so take the first
# python3 on PATH that imports both (or $PYTHON when set).
if [ -z "${PYTHON:-}" ]; then
  for candidate in $(type -ap python3); do
    if "$candidate" -c "import torch, numpy" 2>/dev/null; then PYTHON="$candidate"; break; fi
  done
fi
if [ -z "${PYTHON:-}" ] || ! "$PYTHON" -c "import torch, numpy" 2>/dev/null; then
  echo "The peer needs a python3 with PyTorch and numpy. Set up with:" >&2
  echo "  apt-get update && apt-get install -y python3-torch python3-numpy libopenblas0-pthread" >&2
  exit 1
fi
export PYTHON
dotnet build bench/Bench.CSharp -c Release -v quiet -nologo >/dev/null
exec dotnet bench/Bench.CSharp/bin/Release/net10.0/Functional.NN.Bench.dll "$@"
