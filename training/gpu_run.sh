#!/usr/bin/env bash
# Train every shipped model at once on one GPU (the four runs share it; each is small).
# Usage (from the repo root): OUT=somewhere bash training/gpu_run.sh [DATA_DIR] [VGG]
# DATA_DIR defaults to ../shared/data/train; VGG to ../shared/data/models/vgg19_pruned/e5_base.pth.
set -u
DATA=${1:-../shared/data/train}
VGG=${2:-../shared/data/models/vgg19_pruned/e5_base.pth}
OUT=${OUT:-runs}
export PYTHONUNBUFFERED=1
mkdir -p "$OUT"
pids=()
for job in sr_x4:sr sr_x2:sr denoise:pix2pix inpaint:pix2pix; do
  name=${job%%:*}; kind=${job##*:}
  python3 -m training "$kind" --config "training/configs/$name.toml" \
    --set out_dir="\"$OUT/$name\"" vgg_weights="\"$VGG\"" \
    data="{\"train_dirs\": [\"$DATA\"], \"manifest\": \"training/splits/bsds400_photos.json\", \"val_images\": 40}" \
    > "$OUT/$name.log" 2>&1 &
  pids+=($!)
done
status=0
for p in "${pids[@]}"; do wait "$p" || status=1; done
exit $status
