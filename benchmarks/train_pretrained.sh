#!/usr/bin/env bash
# Trains the pretrained zoo entries on real MNIST (../shared/data), two at a time, one CPU thread each.
# Each run: `lightning fit` of its recipe with seed 0 and a wall-clock budget; the checkpoints land in
# runs/zoo/<entry>/ and `python -m zoo.export` turns them into checkpoints/<entry>/ weights folders.
#     bash benchmarks/train_pretrained.sh [minutes per run, default 7]
set -euo pipefail
MINUTES=${1:-7}
ROOT=${ROOT:-../shared/data}
train() {  # entry recipe
  OMP_NUM_THREADS=1 lightning fit --config "configs/$2.yaml" --data.root "$ROOT" --data.download false \
    --seed_everything 0 --trainer.max_time "00:00:$(printf %02d "$MINUTES"):00" \
    --trainer.default_root_dir "runs/zoo/$1" --trainer.enable_progress_bar false > "runs/zoo/$1.log" 2>&1
}
export -f train; export MINUTES ROOT
mkdir -p runs/zoo
printf '%s\n' \
  "vae_mlp.mnist vae/mlp_mnist_elbo" "vae_conv_gaussian.mnist vae/conv_mnist_gaussian" \
  "beta_vae.mnist vae/beta_vae_mnist" "cvae_mlp.mnist vae/cvae_mnist" \
  "gan_mlp.mnist gan/gan_mlp_mnist" "wgan_gp.mnist gan/wgan_gp_mnist" \
  "hinge_sn.mnist gan/hinge_sn_mnist" "cgan.mnist gan/cgan_mnist" \
  | xargs -P 2 -L 1 bash -c 'train "$0" "$1"'
