#!/usr/bin/env bash
# Long image-model runs side by side on one GPU for a fixed wall-clock budget (issue 3's "do the
# modern models leave their early collapse with more kimg?"), then a few exported EMA generators per
# run, packed small enough to bring back and evaluate on the CPU with `ganforge eval EXPORT --data D`.
#
#   MINUTES=6.5 OUT=out DATA=.gpucache/prepared bash benchmarks/long_runs.sh
#
# DATA holds prepared datasets (mnist-32/, emoji-32/: copies of `ganforge data` cache folders), since
# a lent GPU machine cannot fetch the built-in data. Small networks leave a GPU launch-bound, so the
# runs share it; each is deterministic given its seed, whatever it shares the GPU with, only its kimg
# for the budget changes. OUT gets one <run>.tar per run (config, metrics, sample grids, exports).
set -u
MINUTES=${MINUTES:-6.5}
OUT=${OUT:-long-runs}
DATA=${DATA:-.gpucache/prepared}
RUNS=${RUNS:-/tmp/long-runs}
PRECISION=${PRECISION:-fp32}
mkdir -p "$OUT" "$RUNS"
export PYTHONPATH=${PYTHONPATH:+$PYTHONPATH:}src PYTHONUNBUFFERED=1

gf() { python3 -c "from ganforge.cli.main import entry; entry()" "$@"; }

train() {  # its status is the training's, so that a crashed run shows in the summary
    local name=$1 status
    shift
    gf train image --out "$RUNS" --name "$name" --resolution 32 --minutes "$MINUTES" --kimg 100000 \
        --sample-every 50 --checkpoint-every 50 --keep 1000 --precision "$PRECISION" --seed 0 "$@" \
        >"$RUNS/$name.log" 2>&1
    status=$?
    echo "$name: $(tail -n 1 "$RUNS/$name.log")"
    return $status
}

nvidia-smi -L 2>/dev/null || true
start=$(date +%s)
pids=()
train stylegan2-mnist --model stylegan2 --data "$DATA/mnist-32" & pids+=($!)
train r3gan-mnist --model r3gan --data "$DATA/mnist-32" & pids+=($!)
train stylegan2-emoji --model stylegan2 --data "$DATA/emoji-32" & pids+=($!)
train r3gan-emoji --model r3gan --data "$DATA/emoji-32" & pids+=($!)
if [ -z "${SKIP_DCGAN:-}" ]; then train dcgan-emoji --model dcgan --data "$DATA/emoji-32" & pids+=($!); fi
failed=0
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
echo "trained in $(($(date +%s) - start)) s"

# Three exports per run: the last checkpoint and those nearest a third and two thirds of its kimg;
# DCGAN's instead nearest the last kimg of the other emoji runs, so that each has a same-kimg comparison.
pick() {
    python3 - "$@" <<'EOF'
import sys
from pathlib import Path


def ckpts(run):
    return sorted(Path(run, "checkpoints").glob("kimg-*"), key=lambda p: float(p.name[5:]))


mine = ckpts(sys.argv[1])
if mine:
    last = float(mine[-1].name[5:])
    others = [float(c[-1].name[5:]) for c in map(ckpts, sys.argv[2:]) if c]
    targets = others or [last / 3, 2 * last / 3]
    near = lambda x: min(mine, key=lambda p: abs(float(p.name[5:]) - x))  # noqa: E731
    print(" ".join(sorted({str(near(t)) for t in targets} | {str(mine[-1])})))
EOF
}
shopt -s nullglob
declare -A picks
for run in "$RUNS"/*/; do  # every pick before any checkpoint folder goes: DCGAN's read the others'
    name=$(basename "$run")
    if [ "$name" = dcgan-emoji ]; then
        picks[$name]=$(pick "$run" "$RUNS/stylegan2-emoji" "$RUNS/r3gan-emoji")
    else
        picks[$name]=$(pick "$run")
    fi
done
for run in "$RUNS"/*/; do
    name=$(basename "$run")
    mkdir -p "$run/exports"
    for ckpt in ${picks[$name]}; do
        gf export "$ckpt" --out "$run/exports/$(basename "$ckpt")" >/dev/null
    done
    rm -rf "$run/checkpoints"
    tar -cf "$OUT/$name.tar" -C "$RUNS" "$name" "$name.log"
    echo "$name: exported $(ls "$run/exports" | tr '\n' ' ')"
done
[ "$failed" = 0 ] || { echo "some runs failed: see their logs in the tars"; exit 1; }
