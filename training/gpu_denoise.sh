#!/usr/bin/env bash
# Train the real-photo denoiser on one GPU, from the latest weights (weights/denoise.safetensors,
# or START=file.safetensors).
# Usage (repo root; PACK from `python -m enhance.training.pack runs/pack --crop 128 --per-image 1 --budget-mb 8`
# (6.4 MB of crops + the VGG file: with the tree about 55 MB of the 64 MiB the device carries)):
#   MODE=smoke OUT=$OUT PACK=runs/pack bash training/gpu_denoise.sh     # about a minute: every path once
#   MODE=run MINUTES=8 OUT=$OUT PACK=runs/pack bash training/gpu_denoise.sh
# training/configs/denoise_real.toml (camera-pipeline + synthetic noise), half of the time
# reconstruction, half WGAN-GP; degradations on the GPU (CUDA generator, kornia's JPEG), bf16
# autocast, batch 48 of 128 px crops. Results in $OUT (5 files): best_pretrain.safetensors,
# best_gan.safetensors, log.csv, console.log, last_samples.png; the run stays in $WORK.
# DEVICE=cpu with MODE=smoke checks the script on a CPU (done: 5 minutes on 2 busy cores, rc 0, 5 files).
set -u
MODE=${MODE:-smoke}
MINUTES=${MINUTES:-8}
OUT=${OUT:-runs/gpu_denoise}
PACK=${PACK:-runs/pack}
DEVICE=${DEVICE:-auto}
VGG=${VGG:-$PACK/vgg19_e5_base.pth}
WORK=${WORK:-runs/gpu_denoise_work}
START=${START:-weights/denoise.safetensors}
export PYTHONUNBUFFERED=1
mkdir -p "$OUT" "$WORK"
[ -f "$PACK/split.json" ] || { echo "gpu_denoise.sh: $PACK/split.json not found (run python -m enhance.training.pack $PACK)" >&2; exit 2; }
[ -f "$VGG" ] || { echo "gpu_denoise.sh: VGG weights $VGG not found (carry them)" >&2; exit 2; }
[ -f "$START" ] || { echo "gpu_denoise.sh: start weights $START not found" >&2; exit 2; }
case $MODE in
  smoke) batch=${BATCH:-4}; patch=${PATCH:-64}; timing="pretrain_steps=4 gan_steps=4 val_every=4 ckpt_every=4 sample_every=8 log_every=2" ;;
  run) batch=${BATCH:-48}; patch=${PATCH:-128}
       half=$(python3 -c "print($MINUTES/2)")
       timing="pretrain_steps=1000000 gan_steps=1000000 pretrain_minutes=$half gan_minutes=$half val_every=250 ckpt_every=250 sample_every=1000 log_every=25" ;;
  *) echo "gpu_denoise.sh: MODE must be smoke or run, not '$MODE'" >&2; exit 2 ;;
esac
data="{\"train_dirs\": [\"$PACK\"], \"manifest\": \"$PACK/split.json\", \"val_images\": 40}"
# shellcheck disable=SC2086
python3 -m training pix2pix --config training/configs/denoise_real.toml \
  --set out_dir="\"$WORK/denoise\"" vgg_weights="\"$VGG\"" data="$data" warm_start="\"$START\"" device="\"$DEVICE\"" \
        batch=$batch patch=$patch $timing \
  > "$WORK/denoise.log" 2>&1
status=$?
for f in best_pretrain.safetensors best_gan.safetensors log.csv; do [ -f "$WORK/denoise/$f" ] && cp "$WORK/denoise/$f" "$OUT/"; done
cp "$WORK/denoise.log" "$OUT/console.log"
last=$(ls "$WORK/denoise/samples/"*.png 2>/dev/null | sort | tail -1)
[ -n "$last" ] && cp "$last" "$OUT/last_samples.png"
exit $status
