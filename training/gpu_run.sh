#!/usr/bin/env bash
# Train the shipped models side by side on one GPU (each run is small; they share it).
# Usage (from the repo root):
#   OUT=somewhere bash training/gpu_run.sh [DATA_DIR] [VGG]
#       from scratch, every config's own recipe: sr_x4, sr_x2, denoise, inpaint
#   MODE=continue MINUTES=8 OUT=somewhere bash training/gpu_run.sh [DATA_DIR] [VGG]
#       a short GPU window: denoise, inpaint and inpaint-thin go on from weights/*.safetensors
#       (inpaint-thin with its ring samples: training/configs/inpaint_thin_rings.toml)
#       (reconstruction losses only, a fresh cosine over MINUTES at a lower learning rate, the
#       configs' GPU batch and crop sizes); release the best with
#       python -m enhance.training.release $OUT/<run>/best_pretrain.safetensors <model> --fp16
#       after checking it with the benchmarks (benchmarks/denoise.py --weights ..., benchmarks/inpaint.py).
# DATA_DIR defaults to ../shared/data/train; VGG to ../shared/data/models/vgg19_pruned/e5_base.pth.
set -u
DATA=${1:-../shared/data/train}
VGG=${2:-../shared/data/models/vgg19_pruned/e5_base.pth}
OUT=${OUT:-runs}
MODE=${MODE:-scratch}
MINUTES=${MINUTES:-8}
export PYTHONUNBUFFERED=1
mkdir -p "$OUT"
data="{\"train_dirs\": [\"$DATA\"], \"manifest\": \"training/splits/bsds400_photos.json\", \"val_images\": 40}"
case $MODE in
  scratch) jobs="sr_x4:sr sr_x2:sr denoise:pix2pix inpaint:pix2pix" ;;
  continue) jobs="denoise:pix2pix:denoise:1e-4 inpaint:pix2pix:inpaint:1e-4 inpaint_thin_rings:pix2pix:inpaint-thin:5e-5" ;;
  *) echo "gpu_run.sh: MODE must be scratch or continue, not '$MODE'" >&2; exit 2 ;;
esac
pids=()
for job in $jobs; do
  IFS=: read -r name kind model lr <<< "$job"
  extra=()
  if [ "$MODE" = continue ]; then
    extra=(warm_start="\"weights/$model.safetensors\"" lr_g="$lr" pretrain_minutes="$MINUTES"
           pretrain_steps=1000000 gan_steps=0 val_every=250 ckpt_every=250)
  fi
  python3 -m training "$kind" --config "training/configs/$name.toml" \
    --set out_dir="\"$OUT/$name\"" vgg_weights="\"$VGG\"" data="$data" "${extra[@]}" \
    > "$OUT/$name.log" 2>&1 &
  pids+=($!)
done
status=0
for p in "${pids[@]}"; do wait "$p" || status=1; done
exit $status
