#!/usr/bin/env bash
# Train the real-world x4 and x2 upscalers together on one GPU, from the latest weights.
# Usage (repo root; PACK from `python -m enhance.training.pack runs/pack`, carried with the tree):
#   MODE=smoke OUT=$OUT PACK=runs/pack bash training/gpu_realsr.sh     # about a minute: every path once
#   MODE=run MINUTES=8 OUT=$OUT PACK=runs/pack bash training/gpu_realsr.sh
# Each model: a short fidelity phase on the real-world chain, then the GAN phase (3/4 of the time),
# warm-started from weights/sr-xN-real.safetensors when it exists, else from sr-xN-fidelity.
# Degradations run on the GPU (CUDA generator), bf16 autocast, batch 48 of 256 px crops.
# Results in $OUT (8 files): per model best_gan.safetensors, log.csv, console.log, last_samples.png;
# the runs themselves stay in $WORK. DEVICE=cpu with MODE=smoke checks the script on a CPU.
set -u
MODE=${MODE:-smoke}
MINUTES=${MINUTES:-8}
OUT=${OUT:-runs/gpu_realsr}
PACK=${PACK:-runs/pack}
DEVICE=${DEVICE:-auto}
VGG=${VGG:-$PACK/vgg19_e5_base.pth}
WORK=${WORK:-runs/gpu_realsr_work}
export PYTHONUNBUFFERED=1
mkdir -p "$OUT" "$WORK"
[ -f "$PACK/split.json" ] || { echo "gpu_realsr.sh: $PACK/split.json not found (run python -m enhance.training.pack $PACK)" >&2; exit 2; }
[ -f "$VGG" ] || { echo "gpu_realsr.sh: VGG weights $VGG not found (carry them)" >&2; exit 2; }
case $MODE in
  smoke) batch=${BATCH:-4}; patch=${PATCH:-128}; timing="pretrain_steps=4 gan_steps=4 val_every=4 ckpt_every=4 sample_every=8 log_every=2" ;;
  run) batch=${BATCH:-48}; patch=${PATCH:-256}
       pre=$(python3 -c "print($MINUTES/4)"); gan=$(python3 -c "print($MINUTES*3/4)")
       timing="pretrain_steps=1000000 gan_steps=1000000 pretrain_minutes=$pre gan_minutes=$gan val_every=200 ckpt_every=200 sample_every=400 log_every=20" ;;
  *) echo "gpu_realsr.sh: MODE must be smoke or run, not '$MODE'" >&2; exit 2 ;;
esac
data="{\"train_dirs\": [\"$PACK\"], \"manifest\": \"$PACK/split.json\", \"val_images\": 40}"
pids=()
for s in 4 2; do
  start=weights/sr-x$s-real.safetensors
  [ -f "$start" ] || start=weights/sr-x$s-fidelity.safetensors
  # shellcheck disable=SC2086
  python3 -m training sr --config "training/configs/sr_x${s}_real.toml" \
    --set out_dir="\"$WORK/x$s\"" vgg_weights="\"$VGG\"" data="$data" warm_start="\"$start\"" device="\"$DEVICE\"" \
          batch=$batch patch=$patch pool_size=$((batch * 6)) lr_g=1e-4 $timing \
    > "$WORK/x$s.log" 2>&1 &
  pids+=($!)
done
status=0
for p in "${pids[@]}"; do wait "$p" || status=1; done
# what comes back (8 files): per model its best GAN weights, log.csv, console log and last sample grid
for s in 4 2; do
  mkdir -p "$OUT/x$s"
  for f in best_gan.safetensors log.csv; do [ -f "$WORK/x$s/$f" ] && cp "$WORK/x$s/$f" "$OUT/x$s/"; done
  cp "$WORK/x$s.log" "$OUT/x$s/console.log"
  last=$(ls "$WORK/x$s/samples/"*.png 2>/dev/null | sort | tail -1)
  [ -n "$last" ] && cp "$last" "$OUT/x$s/last_samples.png"
done
exit $status
