#!/usr/bin/env bash
# The GPU check (issue 15 item 5): on a CUDA machine, after `bash setup.sh test` (or main), run
#     bash textattack_rift/bench/gpu_check.sh [OUT_DIR]
# It runs, in about 8 minutes on one GPU:
#   1. a short `textattack train --rift` with bf16 autocast (--rift-bf16 on),
#   2. the same under `torchrun --nproc_per_node 1` (DistributedDataParallel over NCCL),
#   3. `textattack-rift bench train-step --device cuda` (plain vs RIFT step ratio and peak memory),
#   4. `textattack-rift evaluate` with the four rift- attacks on a few examples, the victim on the GPU,
# and prints one table (step, status, seconds, what it showed). Each step's log is in OUT_DIR.
# DEVICE=cpu runs the same steps on the CPU (without bf16 and NCCL), to check the script itself.
# Status: written 2026-12-01 and syntax-checked; it has NOT yet run on a GPU (none was lent) nor end to end.
set -uo pipefail
OUT=${1:-outputs/gpu-check}
DEVICE=${DEVICE:-cuda}
PY=${PYTHON:-python3}
mkdir -p "$OUT"
export TEXTATTACK_RIFT_OFFLINE=${TEXTATTACK_RIFT_OFFLINE:-1} HF_HUB_OFFLINE=${HF_HUB_OFFLINE:-1}
BIN=$(dirname "$(command -v "$PY")")
TA=${BIN}/textattack; [ -x "$TA" ] || TA=textattack
ROWS=()

step() {  # step NAME -- command...; records status, seconds and the log's last line
  local name=$1; shift 2
  local start=$SECONDS
  "$@" >"$OUT/$name.log" 2>&1
  local rc=$?
  local last; last=$(grep -v '^\s*$' "$OUT/$name.log" | tail -n 1 | cut -c1-110)
  ROWS+=("$(printf '| %-14s | %-6s | %5ss | %s |' "$name" "$([ $rc = 0 ] && echo ok || echo "rc=$rc")" "$((SECONDS - start))" "$last")")
}

if [ "$DEVICE" = cuda ]; then
  "$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" \
    || { echo "gpu_check: no CUDA device visible to torch (DEVICE=cpu checks the script on the CPU)" >&2; exit 2; }
  BF16=(--rift-bf16 on); TRAIN_ENV=(env); LAUNCH=(torchrun --nproc_per_node 1)
else
  BF16=(--rift-bf16 off); TRAIN_ENV=(env CUDA_VISIBLE_DEVICES=); LAUNCH=(torchrun --nproc_per_node 1)
fi
TRAIN=(--rift --model-name-or-path minilm --dataset rotten_tomatoes --dataset-train-split 'train[:256]'
       --dataset-eval-split 'validation[:64]' --per-device-train-batch-size 32 --model-max-length 48
       --num-epochs 1 --rift-adv-steps 2 --rift-no-register)

step train-bf16 -- "${TRAIN_ENV[@]}" "$TA" train "${TRAIN[@]}" "${BF16[@]}" --output-dir "$OUT/train-bf16"
step torchrun-ddp -- "${TRAIN_ENV[@]}" "${LAUNCH[@]}" "$(command -v "$TA")" train "${TRAIN[@]}" "${BF16[@]}" \
  --output-dir "$OUT/train-ddp"
step bench-step -- "$PY" -m textattack_rift bench train-step --device "$DEVICE" --variants rift,short2-lr3 \
  --no-strength --json "$OUT/bench-step.json"
step evaluate -- "${TRAIN_ENV[@]}" "$PY" -m textattack_rift evaluate --model "$OUT/train-bf16/best_model" \
  --num-examples 8 --attacks rift-pwws,rift-textfooler,rift-genetic,rift-ascc \
  --attack-option rift-genetic:pop_size=20 --attack-option rift-genetic:max_iters=10 --out "$OUT/evaluate"

# What each step showed, read from its outputs (missing files print as "-").
"$PY" - "$OUT" <<'EOF' >"$OUT/facts.txt" 2>&1
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
def load(path):
    try:
        return json.loads(Path(path).read_text())
    except Exception:
        return None
for name in ("train-bf16", "train-ddp"):
    s = load(out / name / "train_summary.json") or {}
    info = load(out / name / "run_info.json") or {}
    print(f"{name}: steps {s.get('steps', '-')}, validation {s.get('validation', '-')}, world size "
          f"{s.get('world_size', '-')}, gpu {(info.get('machine') or {}).get('gpu', '-')}")
b = load(out / "bench-step.json") or {}
for row in b.get("rows", []):
    print(f"bench {row.get('name')}: {row.get('seconds')} s/step, x plain {row.get('ratio')}, peak MB {row.get('peak_mb')}")
e = load(out / "evaluate" / "summary.json") or {}
print(f"evaluate: clean {e.get('clean_accuracy', '-')}, attacks {list((e.get('attacks') or {}).keys())}, "
      f"device {e.get('device', '-')}")
EOF

echo
echo "| step           | status | time   | last line of the log |"
echo "|----------------|--------|--------|----------------------|"
printf '%s\n' "${ROWS[@]}"
echo
cat "$OUT/facts.txt"
