#!/usr/bin/env bash
# Train the print-defect detector on one GPU machine, from the shipped weights (or START=file).
# Usage (repo root; PACK from
#   python -m enhance.training.pack runs/pack_defects --crop 256 --per-image 1 --budget-mb 24 --vgg none
#   mkdir -p runs/pack_defects/textures && cp ../shared/data/train/textures/{digikam-data__paper2-texture,digikam-data__brownCard,digikam-data__roughPhotoCard}.jpg runs/pack_defects/textures/
# (24 MB of 256 px crops, used near full size: scale_range 0.7-1; with the tree well inside the 64 MiB the device carries)):
#   MODE=smoke OUT=$OUT PACK=runs/pack_defects bash training/gpu_defects.sh   # about a minute
#   MODE=run MINUTES=8 OUT=$OUT PACK=runs/pack_defects bash training/gpu_defects.sh
# The damage is drawn on the machine's CPUs into a bank (WORKERS processes) before training; the
# GPU then trains training/configs/defects.toml with a larger batch. Results in $OUT (4 files):
# best.safetensors, log.csv, console.log, config.json.
# DEVICE=cpu with MODE=smoke checks the script on a CPU.
set -u
MODE=${MODE:-smoke}
MINUTES=${MINUTES:-8}
OUT=${OUT:-runs/gpu_defects}
PACK=${PACK:-runs/pack_defects}
DEVICE=${DEVICE:-auto}
WORK=${WORK:-runs/gpu_defects_work}
START=${START:-weights/defects.safetensors}
WORKERS=${WORKERS:-$(python3 -c "import os; print(max(1, (os.cpu_count() or 2) - 2))")}
export PYTHONUNBUFFERED=1
mkdir -p "$OUT" "$WORK"
[ -f "$PACK/split.json" ] || { echo "gpu_defects.sh: $PACK/split.json not found (see the usage above)" >&2; exit 2; }
[ -d "$PACK/textures" ] || { echo "gpu_defects.sh: $PACK/textures not found (see the usage above)" >&2; exit 2; }
warm=""
[ -f "$START" ] && warm="warm_start=\"$START\""
textures=$(python3 -c "import glob, json, os; print(json.dumps([os.path.relpath(p, '$PACK') for p in sorted(glob.glob('$PACK/textures/*.jpg'))]))")
case $MODE in
  smoke) timing="minutes=null bank_size=64 val_size=16 batch=4 patch=128 scale_range=[0.7,1.0] steps=20 log_every=5 val_every=10 ckpt_every=10" ;;
  run) timing="bank_size=12000 val_size=320 batch=48 patch=224 scale_range=[0.7,1.0] minutes=$MINUTES steps=1000000 log_every=50 val_every=250 ckpt_every=250 lr=3e-3" ;;
  *) echo "gpu_defects.sh: MODE must be smoke or run, not '$MODE'" >&2; exit 2 ;;
esac
# shellcheck disable=SC2086
python3 -m training detector --config training/configs/defects.toml \
  --set out_dir="\"$WORK/defects\"" data_root="\"$PACK\"" manifest="\"$PACK/split.json\"" textures="$textures" \
        device="\"$DEVICE\"" workers=$WORKERS threads=0 $warm $timing \
  > "$WORK/defects.log" 2>&1
status=$?
for f in best.safetensors log.csv config.json; do [ -f "$WORK/defects/$f" ] && cp "$WORK/defects/$f" "$OUT/"; done
cp "$WORK/defects.log" "$OUT/console.log"
exit $status
