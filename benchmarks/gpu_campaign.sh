#!/usr/bin/env bash
# The GPU campaign: on one large GPU (H100/H200 class), in about 9 minutes in all, trains the VAE and GAN flagships
# with bf16 mixed precision at the largest budgets that fit (each entry's minutes below, beside the CPU entry's),
# tests each on its last checkpoint (`lightning test`: test_results.json) and prints a table against the shipped
# entries (checkpoints/results.json). Everything lands in OUT: OUT/<entry>/ (checkpoints, test_results.json) and
# OUT/campaign.json.
#     bash benchmarks/gpu_campaign.sh OUT                    # on the GPU machine, MNIST under ROOT (../shared/data)
#     SMOKE=1 ACCELERATOR=cpu PRECISION=32-true bash benchmarks/gpu_campaign.sh OUT   # two steps each: the CPU test
# (tests/test_gpu_campaign.py runs it so, with ONLY naming one VAE and one GAN entry).
set -euo pipefail
OUT=${1:?usage: gpu_campaign.sh OUT}
ROOT=${ROOT:-../shared/data}
ACCELERATOR=${ACCELERATOR:-gpu}
PRECISION=${PRECISION:-bf16-mixed}
SMOKE=${SMOKE:-0}
EXTRA_DATA=${EXTRA_DATA:-}  # more --data arguments (the CPU test's small fake MNIST)
ONLY=${ONLY:-}  # a space-separated subset of the entries
NLL_SAMPLES=$([[ $SMOKE == 1 ]] && echo 2 || echo 5000)  # the VAEs' IS-NLL k
mkdir -p "$OUT"
run() {  # entry recipe minutes [extra lightning test arguments]
  local entry=$1 recipe=$2 minutes=$3
  shift 3
  [[ -n $ONLY && " $ONLY " != *" $entry "* ]] && return 0
  local dir="$OUT/$entry" budget=(--trainer.max_time "00:00:$(printf %02d "$minutes"):00")
  local data=(--data.root "$ROOT" --data.download false $EXTRA_DATA)
  local common=(--trainer.accelerator "$ACCELERATOR" --trainer.devices 1 --trainer.precision "$PRECISION"
                --trainer.enable_progress_bar false --wandb off)
  local quick=()
  if [[ $SMOKE == 1 ]]; then
    budget=(--trainer.max_epochs 1 --trainer.limit_train_batches 2 --trainer.limit_val_batches 1)
    quick=(--trainer.fast_dev_run true)
    [[ $recipe == vae/* ]] && budget+=(--model.compile false)  # two steps: compiling would be most of the test
  fi
  lightning fit --config "configs/$recipe.yaml" "${data[@]}" "${common[@]}" "${budget[@]}" --seed_everything 0 \
    --trainer.default_root_dir "$dir" > "$dir.fit.log" 2>&1
  lightning test --config "configs/$recipe.yaml" "${data[@]}" "${common[@]}" "${quick[@]}" "$@" \
    --ckpt_path "$(ls "$dir"/lightning_logs/version_*/checkpoints/last.ckpt | tail -1)" \
    --trainer.logger false --trainer.default_root_dir "$dir" > "$dir.test.log" 2>&1
  echo "$entry $recipe $minutes" >> "$OUT/entries.txt"
}
: > "$OUT/entries.txt"
run vae_mlp.mnist vae/mlp_mnist_elbo 2 --model.test_nll.num_samples "$NLL_SAMPLES"
run iwae_mlp.mnist vae/mlp_mnist 2 --model.test_nll.num_samples "$NLL_SAMPLES"
run dcgan.mnist gan/dcgan_mnist 1
run hinge_sn.mnist gan/hinge_sn_mnist 1
python benchmarks/gpu_campaign_table.py "$OUT"
