#!/usr/bin/env bash
# Trains the pretrained zoo entries on real MNIST (../shared/data), two at a time, one CPU thread each, with
# seed 0 and each entry's wall-clock budget (minutes); the checkpoints land in runs/zoo/<entry>/ and
# `zoo release` turns them into checkpoints/<entry>/ weights folders and cards.
# The two extra Stacked MNIST seeds are not entries: `python benchmarks/stacked_mnist_seeds.py` measures the
# three seeds' runs side by side (see the README).
#     bash benchmarks/train_pretrained.sh            # every entry with its own budget
#     bash benchmarks/train_pretrained.sh 7          # every entry for 7 minutes
set -euo pipefail
MINUTES=${1:-}
ROOT=${ROOT:-../shared/data}
train() {  # entry recipe minutes [extra lightning arguments]
  local entry=$1 recipe=$2 minutes=${MINUTES:-$3}
  shift 3
  local data=(--data.root "$ROOT" --data.download false)
  [[ $recipe == *sprites* ]] && data=()  # Sprites are rendered, not read
  OMP_NUM_THREADS=1 lightning fit --config "configs/$recipe.yaml" "${data[@]}" \
    --seed_everything 0 --trainer.max_time "00:$(printf %02d $((minutes / 60))):$(printf %02d $((minutes % 60))):00" \
    --trainer.default_root_dir "runs/zoo/$entry" --trainer.enable_progress_bar false --wandb off "$@" \
    > "runs/zoo/$entry.log" 2>&1
}
export -f train; export MINUTES ROOT
mkdir -p runs/zoo
printf '%s\n' \
  "vae_mlp.mnist vae/mlp_mnist_elbo 60" "dcgan.mnist gan/dcgan_mnist 60" \
  "hvae_vamp.mnist vae/hvae_vamp_mnist 60 --model.compile true" "dcgan.stacked_mnist gan/dcgan_stacked_mnist 50" \
  "dcgan.stacked_mnist.seed1 gan/dcgan_stacked_mnist 50 --seed_everything 1" \
  "dcgan.stacked_mnist.seed2 gan/dcgan_stacked_mnist 50 --seed_everything 2" \
  "vae_conv_gaussian.mnist vae/conv_mnist_gaussian 40" "iwae_mlp.mnist vae/mlp_mnist 60" \
  "wae_mmd.mnist vae/wae_mmd_mnist 35" "infovae.mnist vae/infovae_mnist 60" \
  "vqvae.mnist vae/vqvae_mnist 40 --model.prior_start_epoch 8 --trainer.max_epochs 16 --model.lr_scheduler.init_args.T_max 8 --model.prior_lr_scheduler.init_args.T_max 8" \
  "dcgan.mnist10 gan/dcgan_mnist10 60" "dcgan_diffaugment.mnist10 gan/dcgan_diffaugment_mnist10 60" \
  "infogan.mnist gan/infogan_mnist 40" "acgan.mnist gan/acgan_mnist 40" \
  "beta_tcvae.sprites vae/beta_tcvae_sprites 45" "vae.sprites vae/vae_sprites 45" \
  "beta_vae.mnist vae/beta_vae_mnist 7" "cvae_mlp.mnist vae/cvae_mnist 7" \
  "lsgan.mnist gan/lsgan_mnist 60" "wgan_gp.mnist gan/wgan_gp_mnist 60" \
  "hinge_sn.mnist gan/hinge_sn_mnist 60" "cgan.mnist gan/cgan_mnist 60" \
  "gan_mlp.mnist gan/gan_mlp_mnist 19 --trainer.max_epochs 200" \
  | xargs -P 2 -L 1 bash -c 'train "$@"' _
