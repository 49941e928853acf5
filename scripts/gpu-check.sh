#!/usr/bin/env bash
# Check bench's GPU paths on one GPU in about ten minutes, everything written under one folder.
#
#   scripts/gpu-check.sh [--out DIR] [--python PY] [--keras-wheel WHEEL] [--no-doc] [--dry-run]
#
# Runs from the source tree (PYTHONPATH; nothing is pip-installed, except a Keras wheel given
# with --keras-wheel, installed with `pip install --no-deps`). Uses what is importable: torch,
# and Keras on JAX (and on TensorFlow where it is installed); Keras on torch is left out.
#   1. bench doctor --run --json-out DIR/doctor.json  (probes, tiny trials, the acceptance checks)
#   2. a precision sweep fp32,tf32,bf16,fp16 of deep_cnn at batch 256
#   3. a data-parallel torch trial of world size 1 (NCCL on CUDA)
#   4. a warm-cache pair (cold and warm compile-mode trials)
#   5. scripts/verified_rows.py: the record's rows into docs/verified-on.md (not with --no-doc),
#      and a copy of that page in DIR
# --dry-run prints the plan (the exact commands) and exits 0. The exit code is 1 when a step
# failed (each step still runs); DIR/steps.txt lists each step's exit code.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="gpu-check-$(date -u +%Y%m%d-%H%M%S)"
PY="${PYTHON:-python3}"
DRY=0
DOC=1
WHEEL=""
while [ $# -gt 0 ]; do
  case "$1" in
    --out) OUT="${2:?--out needs a folder}"; shift 2 ;;
    --python) PY="${2:?--python needs an interpreter}"; shift 2 ;;
    --keras-wheel) WHEEL="${2:?--keras-wheel needs a .whl file}"; shift 2 ;;
    --no-doc) DOC=0; shift ;;
    --dry-run) DRY=1; shift ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "gpu-check.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
case "$OUT" in /*) ;; *) OUT="$PWD/$OUT" ;; esac
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
cd "$ROOT" || exit 2
FAILED=0

step() {  # step NAME COMMAND...: print it; unless --dry-run, run it with its log in $OUT
  local name="$1"; shift
  local arg words=()
  for arg in "$@"; do
    if [[ "$arg" =~ ^[A-Za-z0-9_./:,=@%+-]+$ ]]; then words+=("$arg"); else words+=("$(printf '%q' "$arg")"); fi
  done
  echo "${words[*]}"
  [ "$DRY" = 1 ] && return 0
  "$@" > >(tee "$OUT/$name.log") 2>&1
  local rc=$?
  echo "$name $rc" >> "$OUT/steps.txt"
  [ "$rc" = 0 ] || FAILED=1
}

have() {  # whether a module can be imported (found without importing it)
  "$PY" -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('$1') is None)" 2>/dev/null
}

[ "$DRY" = 1 ] || mkdir -p "$OUT" || exit 2
[ -n "$WHEEL" ] && step keras-wheel "$PY" -m pip install --no-deps "$WHEEL"
FRAMEWORKS=()
BACKENDS=()
have torch && FRAMEWORKS+=(torch)
if have keras; then
  have jax && BACKENDS+=(jax)
  have tensorflow && BACKENDS+=(tensorflow)
  [ ${#BACKENDS[@]} -gt 0 ] && FRAMEWORKS+=(keras)
fi
if [ ${#FRAMEWORKS[@]} -eq 0 ]; then
  echo "gpu-check.sh: neither torch nor Keras (on JAX or TensorFlow) can be imported by $PY" >&2
  exit 2
fi
FW="$(IFS=,; echo "${FRAMEWORKS[*]}")"
KB="$(IFS=,; echo "${BACKENDS[*]:-jax}")"
# Keras on JAX has no graph mode: its trials run `xla`, as Keras on TensorFlow's here.
COMMON=(--devices cuda:0 --repeats 1 --out "$OUT/runs")
BOTH=(--frameworks "$FW" --keras-backends "$KB" --keras-modes xla)
echo "# gpu-check: frameworks $FW, Keras backends $KB, results under $OUT"

step doctor "$PY" -m bench doctor --run --frameworks "$FW" --keras-backends "$KB" \
  --devices cuda:0 --json-out "$OUT/doctor.json"
step precision "$PY" -m bench run "${BOTH[@]}" "${COMMON[@]}" --name precision --models deep_cnn \
  --batch-sizes 256 --precisions fp32,tf32,bf16,fp16 --epochs 3 --samples 12800
if have torch; then
  step data-parallel "$PY" -m bench run --frameworks torch "${COMMON[@]}" --name ddp \
    --models seed_cnn --parallel data --world-sizes 1 --epochs 3 --samples 6400
fi
step warm-cache "$PY" -m bench run "${BOTH[@]}" "${COMMON[@]}" --name cache --models seed_cnn \
  --torch-modes compile --caches cold,warm --epochs 2 --samples 3200
if [ "$DOC" = 1 ]; then
  step verified-rows "$PY" scripts/verified_rows.py "$OUT/doctor.json"
  step verified-copy cp docs/verified-on.md "$OUT/verified-on.md"
else
  step verified-rows "$PY" scripts/verified_rows.py "$OUT/doctor.json" --print
fi
[ "$DRY" = 1 ] || echo "# gpu-check: done; each step's exit code in $OUT/steps.txt"
exit "$FAILED"
