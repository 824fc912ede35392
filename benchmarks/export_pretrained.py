"""Export the trained zoo entries to `checkpoints/<name>/`, re-evaluate the shipped weights with `lightning test`,
and regenerate the model cards, `zoo/pretrained.json` (names, recipes, sha256) and the README's results table.

    python benchmarks/export_pretrained.py --root ../shared/data [--only vae_mlp.mnist ...] [--no-export]

Sources are the runs that `benchmarks/train_pretrained.sh` (and the benchmarks named below) left in runs/.
"""

import argparse
import json
import shutil
from pathlib import Path

import yaml
from fit_ex_post_sampler import fit_into

from zoo import hub
from zoo.cards import default_sampler, draw_picture
from zoo.cli import main as cli
from zoo.publish import hub_header

REPO = Path(__file__).resolve().parent.parent
SCRIPT = "bash benchmarks/train_pretrained.sh 7"
HOUR = ("OMP_NUM_THREADS=1 lightning fit --config configs/{}.yaml --data.root ../shared/data --data.download false "
        "--seed_everything 0")
ENTRIES = [  # name, recipe, description, source run, training command, IS-NLL samples for VAEs
    ("vae_mlp.mnist", "vae/mlp_mnist_elbo", "VAE (Kingma & Welling): MLP 512-512, latent 32, Bernoulli, one-sample "
     "ELBO, dynamically binarised MNIST", "runs/zoo/vae_mlp.mnist", HOUR.format("vae/mlp_mnist_elbo"), 5000),
    ("iwae_mlp.mnist", "vae/mlp_mnist", "IWAE (Burda et al.): MLP 512-512, latent 32, Bernoulli, 5-sample IWAE "
     "bound, dynamically binarised MNIST", "runs/zoo/iwae_mlp.mnist",
     HOUR.format("vae/mlp_mnist") + " --trainer.max_time 00:01:00:00", 5000),
    ("vae_conv_gaussian.mnist", "vae/conv_mnist_gaussian", "convolutional VAE, Gaussian likelihood with the "
     "optimal sigma (Rybkin et al. 2021: sigma^2 = the batch MSE), grey-level MNIST",
     "runs/zoo/vae_conv_gaussian.mnist",
     HOUR.format("vae/conv_mnist_gaussian") + " --trainer.max_time 00:00:40:00", 100),
    ("hvae_vamp.mnist", "vae/hvae_vamp_mnist", "two-stochastic-layer HVAE with the VampPrior (Tomczak & Welling "
     "2018): q(z2|x), q(z1|x, z2), p(z1|z2), p(x|z1, z2), gated MLP layers of 300, z1 = z2 = 40, K = 500 "
     "pseudo-inputs started near the data, ELBO with KL warm-up, dynamically binarised MNIST. The shipped model "
     "before this one stacked Burda et al.'s form (the decoder saw z1 only) and its top layer z2 had died (0 of 50 "
     "units active)", "runs/zoo/hvae_vamp.mnist", HOUR.format("vae/hvae_vamp_mnist"), 5000),
    ("infovae.mnist", "vae/infovae_mnist",
     "InfoVAE (Zhao et al. 2019), the MMD-VAE: the MLP VAE of vae_mlp.mnist with 999 MMD^2(q(z), p(z)) "
     "(alpha = 0, lambda = 1000) under the authors' one RBF kernel exp(-||x - y||^2 / d), dynamically binarised "
     "MNIST. The shipped model before this one summed seven inverse-multiquadratic scales, an MMD about 400 times "
     "the authors' at d = 32, and lost to the plain VAE (IS-NLL 119.5 against 87.9)", "runs/zoo/infovae.mnist",
     HOUR.format("vae/infovae_mnist"), 1000),
    ("wae_mmd.mnist", "vae/wae_mmd_mnist", "WAE-MMD (Tolstikhin et al. 2018) as the paper builds it: a "
     "deterministic encoder z = mu(x), a decoder mean that ends in a sigmoid, latent 8, inverse-multiquadratic MMD "
     "to N(0, I) with the paper's weight, no KL, grey-level MNIST; the MLP nets of vae_mlp.mnist. The entry before "
     "this one sampled z = mu + sigma eps (a VAE with beta = 0), had an unbounded decoder and a batch-norm encoder "
     "whose train-mode codes, those the MMD matched, had twice the variance of those sampling met: FID 264",
     "runs/zoo/wae_mmd.mnist", HOUR.format("vae/wae_mmd_mnist"), None),
    ("vae_gaussian8.mnist", "vae/vae_gaussian8_mnist", "wae_mmd.mnist's VAE twin: the same MLP nets, latent 8, "
     "sigmoid decoder mean, Gaussian likelihood (sigma 0.1), batch 100 and 100 epochs, with the KL to N(0, I) in "
     "place of the MMD and z = mu + sigma eps; the fair baseline of the WAE's N(0, I) samples",
     "runs/zoo/vae_gaussian8.mnist", HOUR.format("vae/vae_gaussian8_mnist"), None),
    ("vqvae.mnist", "vae/vqvae_mnist", "VQ-VAE (van den Oord et al. 2017): 7x7 codes from an EMA codebook of 64, "
     "then a causal transformer prior over the codes so that sample() draws new digits, grey-level MNIST",
     "runs/zoo/vqvae.mnist", HOUR.format("vae/vqvae_mnist") + " --trainer.max_time 00:01:35:00", None),
    ("beta_vae.mnist", "vae/beta_vae_mnist", "beta-VAE (Higgins et al.), beta = 4 with KL warm-up",
     "runs/zoo/beta_vae.mnist", SCRIPT, 1000),
    ("cvae_mlp.mnist", "vae/cvae_mnist", "conditional VAE (Sohn et al.): the digit label enters encoder and "
     "decoder", "runs/zoo/cvae_mlp.mnist", SCRIPT, 1000),
    ("beta_tcvae.sprites", "vae/beta_tcvae_sprites", "beta-TCVAE (Chen et al. 2018): the KL split into index-code "
     "MI, total correlation and dimension-wise KL, weighted 1, 6, 1 by minibatch-weighted sampling; the authors' "
     "MLP encoder (1200-1200, ReLU) and decoder (1200-1200-1200, tanh), latent 10, Bernoulli, batch 256, on the "
     "zoo's Sprites (dSprites-like, rendered from five factors: not dSprites itself). The entry before this one had "
     "a conv net of a quarter of the authors' width (8-16-32-64 channels): MIG 0.019 against its twin's 0.016, "
     "though a better likelihood (IS-NLL 76.2 nats, k = 20)", "runs/zoo/beta_tcvae.sprites",
     "OMP_NUM_THREADS=1 lightning fit --config configs/vae/beta_tcvae_sprites.yaml --seed_everything 0; export its "
     "last.ckpt (zoo export), then OMP_NUM_THREADS=1 lightning fit --config configs/vae/beta_tcvae_sprites.yaml "
     "--weights <that folder> (6,000 more steps)", 20),
    ("vae.sprites", "vae/vae_sprites", "VAE, the plain twin of beta_tcvae.sprites: the same networks, latent 10, "
     "Bernoulli and schedule, beta = 1, on the zoo's Sprites (dSprites-like, not dSprites itself)",
     "runs/zoo/vae.sprites", "OMP_NUM_THREADS=1 lightning fit --config configs/vae/vae_sprites.yaml "
     "--seed_everything 0; export its last.ckpt (zoo export), then OMP_NUM_THREADS=1 lightning fit --config "
     "configs/vae/vae_sprites.yaml --weights <that folder> (6,000 more steps)", 20),
    ("gan_mlp.mnist", "gan/gan_mlp_mnist", "the original GAN (Goodfellow et al.): MLP players, non-saturating "
     "generator loss", "runs/zoo/gan_mlp.mnist", HOUR.format("gan/gan_mlp_mnist").replace("THREADS=1", "THREADS=2")
     + " --trainer.max_time 00:00:19:00 --trainer.max_epochs 200", None),
    ("dcgan.mnist", "gan/dcgan_mnist", "DCGAN (Radford et al.), 32 base channels, with an EMA generator",
     "runs/zoo/dcgan.mnist", HOUR.format("gan/dcgan_mnist"), None),
    ("lsgan.mnist", "gan/lsgan_mnist", "least-squares GAN (Mao et al. 2017), DCGAN players with 64 base channels, "
     "EMA generator", "runs/zoo/lsgan.mnist", HOUR.format("gan/lsgan_mnist"), None),
    ("wgan_gp.mnist", "gan/wgan_gp_mnist", "WGAN-GP (Gulrajani et al.): Wasserstein critic, gradient penalty 10, "
     "5 critic steps, EMA generator", "runs/zoo/wgan_gp.mnist", HOUR.format("gan/wgan_gp_mnist"), None),
    ("hinge_sn.mnist", "gan/hinge_sn_mnist", "hinge loss with a spectrally normalised discriminator (Miyato et al.), "
     "EMA generator", "runs/zoo/hinge_sn.mnist", HOUR.format("gan/hinge_sn_mnist"), None),
    ("cgan.mnist", "gan/cgan_mnist", "class-conditional GAN with a projection discriminator, EMA generator",
     "runs/zoo/cgan.mnist", HOUR.format("gan/cgan_mnist"), None),
    ("r3gan.mnist", "gan/r3gan_mnist", "R3GAN's objective (Huang et al. 2024): the relativistic pairing loss with "
     "zero-centred R1 and R2 penalties (gamma 0.1 each, every 4 discriminator steps), on DCGAN-shaped players of 64 "
     "base channels with an unnormalised discriminator, EMA generator", "runs/zoo/r3gan.mnist",
     HOUR.format("gan/r3gan_mnist"), None),
    ("dcgan.mnist10", "gan/dcgan_mnist10", "DCGAN (32 base channels, EMA generator) on 10 % of MNIST (6,000 "
     "images): the plain twin of dcgan_diffaugment.mnist10", "runs/zoo/dcgan.mnist10",
     HOUR.format("gan/dcgan_mnist10"), None),
    ("dcgan_diffaugment.mnist10", "gan/dcgan_diffaugment_mnist10", "DCGAN with DiffAugment (Zhao et al. 2020, "
     "translation + cutout) on 10 % of MNIST (6,000 images), the same steps as its plain twin dcgan.mnist10",
     "runs/zoo/dcgan_diffaugment.mnist10", HOUR.format("gan/dcgan_diffaugment_mnist10"), None),
    ("dcgan.mnist1", "gan/dcgan_mnist1", "DCGAN (32 base channels, EMA generator) on 1 % of MNIST (600 images): "
     "the plain twin of dcgan_diffaugment.mnist1", "runs/zoo/dcgan.mnist1", HOUR.format("gan/dcgan_mnist1"), None),
    ("dcgan_diffaugment.mnist1", "gan/dcgan_diffaugment_mnist1", "DCGAN with DiffAugment (Zhao et al. 2020, "
     "translation + cutout) on 1 % of MNIST (600 images), the same steps as its plain twin dcgan.mnist1",
     "runs/zoo/dcgan_diffaugment.mnist1", HOUR.format("gan/dcgan_diffaugment_mnist1"), None),
    ("infogan.mnist", "gan/infogan_mnist", "InfoGAN (Chen et al. 2016) with the paper's networks (G: FC 1024 - FC "
     "7x7x128 - two up-convolutions; D: two convolutions - FC 1024; Q: its own FC 128 on D's body), a 10-way "
     "categorical and 2 continuous codes weighted 1 as in the authors' code, learning rates 1e-3 (G) and 2e-4 (D)",
     "runs/zoo/infogan.mnist", HOUR.format("gan/infogan_mnist").replace(" --seed_everything 0", "") +
     " --data.batch_size 128 --trainer.max_epochs 12 --trainer.max_time 00:01:05:00, stopped by max_time after "
     "8.2 epochs, then resumed from its last.ckpt with --trainer.max_epochs 16 --trainer.max_time 00:02:00:00", None),
    ("acgan.mnist", "gan/acgan_mnist", "ACGAN (Odena et al. 2017): DCGAN-sized players, the discriminator's class "
     "head beside its real/fake logit, EMA generator", "runs/zoo/acgan.mnist",
     HOUR.format("gan/acgan_mnist") + " --trainer.max_time 00:00:40:00", None),
    ("dcgan.stacked_mnist", "gan/dcgan_stacked_mnist", "PacDCGAN2 (Lin et al. 2018) on Stacked MNIST: DCGAN with "
     "32 base channels, the discriminator judging two samples at once, EMA generator", "runs/zoo/dcgan.stacked_mnist",
     HOUR.format("gan/dcgan_stacked_mnist") + " --trainer.max_time 00:00:50:00", None),
    ("r3gan.stacked_mnist", "gan/r3gan_stacked_mnist", "R3GAN's objective (Huang et al. 2024) on Stacked MNIST: "
     "dcgan.stacked_mnist's networks, the discriminator unpacked and unnormalised, relativistic pairing loss with R1 "
     "and R2 (gamma 0.1 each, every 4 discriminator steps), EMA generator", "runs/zoo/r3gan.stacked_mnist",
     HOUR.format("gan/r3gan_stacked_mnist") + " --trainer.max_time 00:00:50:00", None),
    ("gan_mlp.ring", "gan/toy_ring", "GAN on PacGAN's ring of 8 Gaussians (non-saturating, R1, EMA)",
     "runs/benchmark_toy/ring_seed0", "python benchmarks/toy_modes.py --recipes ring  (seed 0)", None),
    ("gan_mlp.grid", "gan/toy_grid", "GAN on PacGAN's grid of 25 Gaussians (non-saturating, R1, EMA)",
     "runs/benchmark_toy/grid_seed0", "python benchmarks/toy_modes.py --recipes grid  (seed 0)", None),
]
PAPER = {  # the paper's figure on the same protocol, beside each entry in the README table
    "vae_mlp.mnist": "86.76 nats (Burda et al. 2016, VAE, 3280 epochs)",
    "iwae_mlp.mnist": "84.78 nats (Burda et al. 2016, IWAE k=50)",
    "hvae_vamp.mnist": "81.24 nats (Tomczak & Welling 2018, HVAE + VampPrior)",
    "cvae_mlp.mnist": "none on this protocol",
    "infovae.mnist": "none on this protocol (Zhao et al. report no MNIST IS-NLL; their claim: the likelihood of a "
                     "VAE, better samples)",
    "vqvae.mnist": "none comparable: the paper gives no MNIST figures",
    "infogan.mnist": "clustering accuracy about 95 % (Chen et al. 2016, 5 % error)",
    "acgan.mnist": "none comparable: digit-classifier FID, not Inception's",
    "vae_gaussian8.mnist": "none: the baseline of wae_mmd.mnist",
    "wae_mmd.mnist": "none comparable: the paper gives MNIST samples and an Inception FID on CelebA only",
    "dcgan.mnist10": "BigGAN on 10 % of CIFAR-10: Inception FID 39.78 (Zhao et al. 2020)",
    "dcgan_diffaugment.mnist10": "BigGAN + DiffAugment on 10 % of CIFAR-10: Inception FID 22.40 (Zhao et al. 2020)",
    "dcgan.mnist1": "none comparable: the paper's smallest split is 10 % of CIFAR-10 (BigGAN: FID 39.78)",
    "dcgan_diffaugment.mnist1": "none comparable: the paper's smallest split is 10 % of CIFAR-10 (with DiffAugment: "
                                "FID 22.40)",
    "beta_tcvae.sprites": "MIG about 0.22 on dSprites (Chen et al. 2018, beta-TCVAE); this renderer is not dSprites",
    "vae.sprites": "MIG about 0.05 on dSprites (Chen et al. 2018, VAE); this renderer is not dSprites",
    "dcgan.stacked_mnist": "1000 modes, KL 0.06 (Lin et al. 2018, PacDCGAN2); DCGAN 99 / 3.40",
    "r3gan.stacked_mnist": "1000 modes, KL about 0.03 (Huang et al. 2024, R3GAN, as issue 30 quotes its table)",
    "r3gan.mnist": "none comparable: R3GAN reports no MNIST FID; digit-classifier FID (MNIST train vs test: 2.95)",
    **{name: "none comparable: digit-classifier FID, not Inception's (MNIST train vs test: 2.95)"
       for name in ("gan_mlp.mnist", "dcgan.mnist", "lsgan.mnist", "wgan_gp.mnist", "hinge_sn.mnist", "cgan.mnist")},
}
BUDGET = {  # training budget of the shipped weights; entries not named here had 7 one-thread CPU minutes
    "vae_mlp.mnist": "51 min, 1 CPU thread, 180 epochs",
    "iwae_mlp.mnist": "41 min, 1 CPU thread, 70 epochs",
    "infovae.mnist": "70 min, 1 CPU thread, 180 epochs (77,400 steps)",
    "wae_mmd.mnist": "33 min, 1 CPU thread, 100 epochs (55,000 steps of 100)",
    "vae_gaussian8.mnist": "about 30 min, 1 CPU thread, 100 epochs (55,000 steps of 100)",
    "r3gan.mnist": "60 min, 1 CPU thread, 11.5 epochs (9,633 generator iterations)",
    "dcgan.mnist10": "50 epochs (4,700 generator iterations), 1 CPU thread, 13 min running on a shared machine",
    "dcgan_diffaugment.mnist10": "50 epochs (4,700 generator iterations), 1 CPU thread, 22 min wall (12.5 CPU min)",
    "vqvae.mnist": "1 CPU thread, 28 epochs (12,040 steps): 8 auto-encoder epochs, then 20 of the prior (width "
                   "128), 75 wall-minutes beside another training. The prior of width 64 (3 layers, 30 epochs) gave "
                   "FID 45.9 from reconstructions that score FID 10.6: the prior's capacity was what held it back",
    "infogan.mnist": "about 107 min, 1 CPU thread: 16 epochs at batch 128 (6,880 generator iterations; the "
                     "authors': 5,000)",
    "acgan.mnist": "37 min wall (19 CPU min), 1 CPU thread: 10 epochs (8,600 generator iterations)",
    "dcgan.mnist": "60 min, 1 CPU thread",
    "gan_mlp.mnist": "19 min, 2 CPU threads",
    **{name: "41 CPU min, 1 CPU thread (85 min wall, four runs sharing 2 cores)"
       for name in ("lsgan.mnist", "wgan_gp.mnist", "hinge_sn.mnist", "cgan.mnist")},
    "beta_tcvae.sprites": "12,000 steps of 256 (3.1 M images; the authors': 18,000 of 2,048): 6,000 from scratch "
                          "(56 min), then 6,000 more from those weights with a fresh Adam (33 min), 1 CPU thread",
    "vae.sprites": "12,000 steps of 256 (3.1 M images), the same two stages as its twin's, 1 CPU thread",
    "dcgan.mnist1": "470 epochs of 600 images (4,700 generator iterations), 10 min, 1 CPU thread",
    "dcgan_diffaugment.mnist1": "470 epochs of 600 images (4,700 generator iterations), 16 min, 1 CPU thread",
    "vae_conv_gaussian.mnist": "40 min, 1 CPU thread",
    "hvae_vamp.mnist": "about 75 min, 1 CPU thread, 60 epochs (33,000 steps)",
    "dcgan.stacked_mnist": "50 min, 1 CPU thread (34,000 generator iterations); 3 seeds in benchmarks/",
    "gan_mlp.ring": "458 s, 1 CPU thread",
    "gan_mlp.grid": "474 s, 1 CPU thread",
}
SHORT_OF = {  # the first words of the card of an entry that falls short of its paper or target
    "hvae_vamp.mnist": "IS-NLL 83.74 nats (k = 5000), 4.2 nats better than the one-layer vae_mlp.mnist (87.93) "
                       "and short of Tomczak & Welling's 81.24 after 60 epochs (theirs: up to 2000)",
    "infovae.mnist": "IS-NLL 90.25 nats (k = 1000), 2.3 behind vae_mlp.mnist (87.93; the target was within 2), and "
                     "its N(0, I) samples FID 63.1 against vae_mlp.mnist's 62.5 from the same prior: the MMD term no "
                     "longer hurts, but it does not sharpen the samples either. The cause measured so far: at latent "
                     "32 the plain VAE's aggregate posterior is already about as close to N(0, I) as a batch of 500 "
                     "can tell (MMD^2 1.7e-4 with the authors' kernel, two prior draws up to 1.7e-4 apart; InfoVAE's "
                     "1.8e-4, no closer: benchmarks/results/aggregate_posterior_mmd.json), so the term has little "
                     "to move; the prior's "
                     "holes that cost the samples (a fitted mixture gives vae_mlp.mnist FID 16.4) are finer than it "
                     "sees",
    "infogan.mnist": "Its categorical code is the digit: clustering accuracy 90.1 % on the test digits (the target "
                     "90 %; the entry before issue 26: 45.7 %), short of the paper's about 95 %. 16 epochs (the "
                     "previous weights: 8.2 at 86.2 %)",
    "vae_mlp.mnist": "IS-NLL 87.9 nats, short of the target 87.0 (Burda et al.: 86.76). sample(n) draws from a "
                     "10-component Gaussian mixture fitted to the aggregate posterior: FID 16.4 against 62.5 from "
                     "N(0, I) (sample(n, sampler=\"prior\"); benchmarks/results/ex_post_gmm_vae_mlp.mnist.json)",
    "iwae_mlp.mnist": "IS-NLL 86.4 nats, short of the target 85.0 (Burda et al.'s IWAE k=50: 84.78)",
    "vae_conv_gaussian.mnist": "sample(n) draws from a 100-component Gaussian mixture fitted to its aggregate "
                               "posterior: FID 23.9, short of the target 20 (benchmarks/results/"
                               "ex_post_gmm_num_components100_vae_conv_gaussian.mnist.json); its N(0, I) prior "
                               "(sample(n, sampler=\"prior\")) draws no digits (FID 984)",
    "wae_mmd.mnist": "sample() FID 73.7 from N(0, I) against 325 for its VAE twin vae_gaussian8.mnist (the same "
                     "nets, latent 8, likelihood, batch and epochs, the KL in place of the MMD): the WAE's prior "
                     "samples are far better than a VAE's built the same way, the paper's effect (the entry before "
                     "this one: 264). Still short of vae_mlp.mnist's 62.5 from N(0, I), a VAE of latent 32 on "
                     "binarised digits with a Bernoulli likelihood. Its codes match N(0, I) in mean and covariance "
                     "(eigenvalues 0.97-1.12) and it reconstructs the test digits at FID 16.4, so what is left is "
                     "the codes' non-Gaussian shape, which the batch-of-100 MMD does not see",
    "beta_vae.mnist": "Trained for 7 CPU minutes only: blurred samples (FID 220)",
    "dcgan.mnist": "FID 66.8, far from the target of 5",
    "gan_mlp.mnist": "FID 120.1 after 19 minutes on 2 CPU threads, far from the target of 15",
    "lsgan.mnist": "FID 84.5, far from the target of 8, after 3,900 generator iterations",
    "wgan_gp.mnist": "FID 74.7, far from the target of 8, after about 1,500 generator iterations (5 critic steps each)",
    "hinge_sn.mnist": "FID 38.6, far from the target of 5, after 8,000 generator iterations",
    "cgan.mnist": "FID 12.0 (the trained generator: 9.7), short of the target of 3, after 5,700 generator iterations",
    "dcgan_diffaugment.mnist10": "Worse than its plain twin, where the paper finds DiffAugment better: FID 221 "
                                 "against dcgan.mnist10's 102 after the same 4,700 generator iterations",
    "dcgan_diffaugment.mnist1": "Worse than its plain twin, where the paper finds DiffAugment better, though here "
                                "its discriminator memorises: FID 225 against dcgan.mnist1's 122.5 after the same "
                                "4,700 generator iterations, while D's mean on its 600 training digits against "
                                "held-out ones falls from 0.889 / 0.504 (plain) to 0.598 / 0.573 (benchmarks/results/"
                                "discriminator_gap.json). Alone, translation gives FID 183 (gap 0.029) and cutout "
                                "FID 121.8 (gap 0.252; benchmarks/results/diffaugment_ablation_mnist1.json): the "
                                "translation that stops the memorising is what costs the FID. Not yet measured: "
                                "whether the plain twin's FID degrades with longer training, where the paper's gain "
                                "appears",
    "dcgan.stacked_mnist": "All 1000 modes on each of 3 seeds, but KL 0.146 +- 0.005 to uniform (the trained "
                           "generators: 0.135 +- 0.003) against PacGAN's 0.06 (benchmarks/results/"
                           "stacked_mnist_seeds.json); these weights are seed 0's, KL 0.141",
    "beta_tcvae.sprites": "Meets the MIG targets (0.15 and 3x its twin): MIG 0.202 against vae.sprites' 0.030 "
                          "(6.7x; Chen et al.'s dSprites figures 0.22 and 0.05), after 12,000 steps of 256 where the "
                          "authors train 18,000 of 2,048. The cause of the earlier 0.093 was too few steps: the "
                          "6,000-step entry had its two position latents rotated (x and y mixed), and the further "
                          "6,000 steps undid it (val MIG 0.128, 0.149, 0.176, 0.170, 0.199, 0.202; pos_x gap 0.10 -> "
                          "0.31, pos_y 0.09 -> 0.28), while the plain twin's fell (0.043 -> 0.030). The traversal "
                          "shows one latent each for x, y and scale. Still short: orientation is not held at all "
                          "(gap 0.0004), and the samples place and size a sprite but draw a round blob, not its shape",
    "vae.sprites": "MIG 0.030 (Chen et al.: about 0.05 for a VAE on dSprites)",
}
EFFECTS = [  # family, the paper's effect, entry, baseline (None; or (name, "prior"): its N(0, I) sample path), measure,
    # whether "lower" or "higher" is better, and for "higher" the factor over the baseline that shows the effect
    ("two stochastic layers + VampPrior", "HVAE + VampPrior 81.24 nats on dynamic MNIST, about 5 nats below the "
     "one-layer VAE with N(0, I) (Tomczak & Welling 2018)", "hvae_vamp.mnist", "vae_mlp.mnist", "test/nll", "lower",
     1.0),
    ("IWAE bound", "IWAE k=50 84.78 nats against the VAE's 86.76 with the same nets (Burda et al. 2016)",
     "iwae_mlp.mnist", "vae_mlp.mnist", "test/nll", "lower", 1.0),
    ("beta-TCVAE", "MIG about 0.22 against about 0.05 for a VAE on dSprites (Chen et al. 2018)",
     "beta_tcvae.sprites", "vae.sprites", "test/mig", "higher", 3.0),  # the bar: 3x its twin
    ("WAE-MMD", "N(0, I) samples as good as or sharper than a VAE's with the same nets (Tolstikhin et al. 2018)",
     "wae_mmd.mnist", "vae_gaussian8.mnist", "test/fid", "lower", 1.0),
    ("InfoVAE (MMD-VAE)", "a VAE's likelihood with better N(0, I) samples (Zhao et al. 2019)", "infovae.mnist",
     ("vae_mlp.mnist", "prior"), "test/fid", "lower", 1.0),
    ("InfoGAN", "the categorical code is the digit: about 95 % clustering accuracy (Chen et al. 2016)",
     "infogan.mnist", None, "test/cluster_accuracy", "higher", 1.0),
    ("DiffAugment, 10 % of the data", "with 10 % of CIFAR-10, BigGAN's Inception FID 39.78 falls to 22.40 (Zhao "
     "et al. 2020)", "dcgan_diffaugment.mnist10", "dcgan.mnist10", "test/fid", "lower", 1.0),
    ("DiffAugment, 1 % of the data", "the less data, the larger the gain (Zhao et al. 2020: 100-shot and 10 % "
     "splits)", "dcgan_diffaugment.mnist1", "dcgan.mnist1", "test/fid", "lower", 1.0),
]


def measure(name_or_path, metric: str, rows: dict) -> float | None:
    """The metric of a shipped entry (checkpoints/results.json), or of its N(0, I) sample path."""
    if isinstance(name_or_path, tuple):  # `lightning test ... --model.sampler prior`'s report
        report = REPO / "benchmarks" / "results" / f"prior_sampler_{name_or_path[0]}.json"
        return json.loads(report.read_text())["metrics"].get(metric) if report.is_file() else None
    return rows.get(name_or_path, {}).get("metrics", {}).get(metric)


def effects_table(ordered: list[dict]) -> str:
    """Each family's paper effect beside what its entry shows against its baseline, from the shipped weights."""
    rows = {row["name"]: row for row in ordered}
    out = ["| family | the paper's effect | entry | baseline | measured (`lightning test` on the shipped weights) | "
           "shows it | training budget |", "|---|---|---|---|---|---|---|"]
    for family, paper, entry, baseline, metric, better, factor in EFFECTS:
        value, base = measure(entry, metric, rows), measure(baseline, metric, rows) if baseline else None
        if value is None:
            continue
        name = metric.removeprefix("test/")
        measured = f"{name} {value:.4g}" + (f" against {base:.4g}" if base is not None else "")
        if base is not None:
            shows = "yes" if (value < base if better == "lower" else value >= factor * base) else "no"
        else:  # a clustering accuracy: chance is 0.1, the target 0.9
            shows = "yes" if value >= 0.9 else "partly" if value > 0.5 else "no"
        label = ("" if baseline is None else f"`{baseline[0]}` from N(0, I)" if isinstance(baseline, tuple)
                 else f"`{baseline}`")
        out.append(f"| {family} | {paper} | `{entry}` | {label} | {measured} | {shows} | "
                   f"{BUDGET.get(entry, '7 min, 1 CPU thread')} |")
    return "\n".join(out)


EX_POST = {  # ex-post samplers fitted to the shipped weights, kind and options: sample(n, sampler=kind) draws from them
    "vae_mlp.mnist": ("gmm", {"num_components": 10}),
    "vae_conv_gaussian.mnist": ("gmm", {"num_components": 100}),
}
LOOKS_FILE = REPO / "benchmarks" / "results" / "looks.json"
LOOKS = json.loads(LOOKS_FILE.read_text()) if LOOKS_FILE.is_file() else {}
CLASSIFIER = ("digit_classifier.mnist", None, "MNIST digit classifier: the domain feature extractor of FID/KID/IS",
              None, "python benchmarks/train_digit_classifier.py --root ../shared/data --epochs 4", None)
MANIFOLD = ["test/precision", "test/recall", "test/density", "test/coverage"]  # where lightning test gave them
SHOWN = {"VAEModule": ["test/nll", "test/elbo", "test/fid", "test/inception_score_mean", *MANIFOLD],
         "GANModule": ["test/fid", "test/fid_live", "test/kid_mean", "test/inception_score_mean", *MANIFOLD,
                       "test/cluster_accuracy", "test/class_accuracy"],
         "vqvae": ["test/fid", "test/inception_score_mean", "test/psnr", "test/perplexity", "test/codes_used"],
         "toy": ["test/modes", "test/high_quality", "test/reverse_kl"],
         "stacked": ["test/modes", "test/kl", "test/modes_live", "test/kl_live"],
         "sprites": ["test/mig", "test/elbo"]}
LIVE = ("`*_live`: the trained generator's samples from the same noise; the other sample metrics are the EMA "
        "generator's, which `sample()` draws from.")
TRAINED_ON = {"toy": "the 2-D toy data", "sprites": "the zoo's 722,280 training sprites (rendered, no download)",
              "stacked": "the 128,000 Stacked-MNIST stacks of the MNIST training digits",
              "mnist": "the 60,000 MNIST training images", "mnist10": "6,000 MNIST training images (train_size)"}


def kind_of(recipe: str) -> str:
    for kind in ("toy", "stacked", "sprites", "vqvae"):
        if kind in recipe:
            return kind
    return "VAEModule" if recipe.startswith("vae") else "GANModule"


def last_checkpoint(run: str) -> Path:
    found = sorted((REPO / run).glob("lightning_logs/version_*/checkpoints/last.ckpt"), key=lambda p: p.stat().st_mtime)
    if not found:
        raise FileNotFoundError(f"no last.ckpt under {run}: train it first ({SCRIPT})")
    return found[-1]


def folder_sha256(folder: Path) -> dict:
    return {f: hub.sha256_of(folder / f) for f in (hub.WEIGHTS, hub.CONFIG)}


def sha256_list(sha256: dict) -> list[str]:
    return [f"- `{file}`: `{digest}`" for file, digest in sha256.items()]


def pinned(row: dict, sha256: dict) -> dict:
    """A registry row's Hub repo and revision, kept while its files are the same (that commit holds them)."""
    return {key: row[key] for key in ("repo_id", "revision") if row.get("sha256") == sha256 and row.get(key)}


def evaluate(name: str, recipe: str, root: str, k: int | None) -> dict:
    folder = REPO / "runs" / "zoo_eval" / name
    shutil.rmtree(folder, ignore_errors=True)
    args = ["test", "--config", f"configs/{recipe}.yaml", "--weights", f"checkpoints/{name}",
            "--trainer.logger", "false", "--trainer.enable_progress_bar", "false",
            "--trainer.default_root_dir", str(folder)]
    if "toy" not in recipe and "sprites" not in recipe:  # data that is generated, not read
        args += ["--data.root", root, "--data.download", "false"]
    if k is not None:
        args += ["--model.test_num_samples", str(k), "--model.compile_test", "true"]
    cli(args)
    report = json.loads((folder / "test_results.json").read_text())
    report["command"] = "lightning " + " ".join(a for a in args if "default_root_dir" not in a and a != str(folder))
    return report


def picture(name: str) -> None:
    """The card's picture, drawn by the package's card code through sample() (`zoo card NAME` draws the same)."""
    draw_picture(hub.load_folder(REPO / "checkpoints" / name), REPO / "checkpoints" / name / "samples.png", name)


def card(name, recipe, description, command, report, sha256) -> str:
    lines = [f"# {name}", "", described(name, description) + ".", ""]
    if recipe:
        kind = "mnist10" if name.endswith(".mnist10") else kind_of(recipe)
        trained_on = TRAINED_ON.get(kind, TRAINED_ON["mnist"])
        lines += [f"- Recipe: `configs/{recipe}.yaml`; load with `zoo.load_pretrained(\"{name}\")`.",
                  f"- Trained on {trained_on} (CPU): `{command}`",
                  f"- Evaluated from these weights: `{report['command']}`", "", "| test metric | value |", "|---|---|"]
        lines += [f"| `{k}` | {v:.4g} |" for k, v in report["metrics"].items()]
        if any(k.endswith("_live") for k in report["metrics"]):
            lines += ["", LIVE]
        lines += ["", "Protocol:", "", "```json", json.dumps(report["protocols"], indent=1), "```", "",
                  "![samples](samples.png)", "", *code_pictures(name)]
    lines += ["sha256:", "", *sha256_list(sha256)]
    metrics = [key.removeprefix("test/") for key in report["metrics"]]
    return hub_header(recipe.split("/")[0], metrics) + "\n".join(lines) + "\n"  # vae or gan


def code_pictures(name: str) -> list[str]:
    """The card lines of the pictures drawn beside samples.png: an InfoGAN's codes (zoo.cards.code_grids), a small
    VAE's latent traversal (zoo.cards.latent_traversal)."""
    folder, lines = REPO / "checkpoints" / name, []
    if (folder / "codes.png").is_file():
        lines += ["Rows: the 10 categorical codes, ten samples each (`sample(n, code=c)`):", "", "![codes](codes.png)",
                  ""]
    for path in sorted(folder.glob("continuous_*.png")):
        j = path.stem.rpartition("_")[2]
        lines += [f"Continuous code {j} swept from -1 to 1 along each row (one noise and one category per row, the "
                  f"other codes at 0):", "", f"![continuous code {j}]({path.name})", ""]
    if (folder / "traversal.png").is_file():  # zoo.cards.latent_traversal
        lines += ["Latent traversal: row j is `sample(n, z=z)` at z = 0 with latent j swept from -2.5 to 2.5 (a "
                  "disentangled model changes one factor per row):", "", "![latent traversal](traversal.png)", ""]
    return lines


def is_conditional(name: str) -> bool:
    """Whether the shipped model takes labels (its IS-NLL is then -log p(x|y), not -log p(x))."""
    config = yaml.safe_load((REPO / "checkpoints" / name / hub.CONFIG).read_text())
    return config.get("init_args", {}).get("num_classes", 0) > 0


def results_table(rows: list[dict]) -> str:
    out = ["| entry | recipe | -log p(x), nats | -log p(x\\|y), nats (class-conditional) | "
           "other measures (`lightning test` on the shipped weights) | paper | training budget | looks test "
           "(`sample(2000)`, benchmarks/looks.py) | samples |", "|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        kind = kind_of(row["recipe"])
        shown = ", ".join(f"{k.removeprefix('test/')} {row['metrics'][k]:.4g}" for k in SHOWN[kind]
                          if k in row["metrics"] and k != "test/nll")
        nll = [""] * 2
        if "test/nll" in row["metrics"] and row["k"]:  # None: an IS-NLL the entry does not stand on (WAE: no KL)
            nll[is_conditional(row["name"])] = f"{row['metrics']['test/nll']:.4g} (IS, k={row['k']})"
        paper, budget = PAPER.get(row["name"], ""), BUDGET.get(row["name"], "7 min, 1 CPU thread")
        looks = "; ".join(problems.values()) if (problems := looks_shortfall(row["name"])) else \
            "passes" if row["name"] in LOOKS else ""
        out.append(f"| `{row['name']}` | `configs/{row['recipe']}.yaml` | {nll[0]} | {nll[1]} | {shown} | {paper} | "
                   f"{budget} | {looks} | <img src=\"checkpoints/{row['name']}/samples.png\" width=\"120\"> |")
    return "\n".join(out)


def gan_table(rows: list[dict]) -> str:
    """The image GANs, best FID first: FID, precision, recall, density, coverage, the paper's figure, the budget."""
    gans = sorted((row for row in rows if kind_of(row["recipe"]) == "GANModule" and "test/fid" in row["metrics"]),
                  key=lambda row: row["metrics"]["test/fid"])
    out = ["| entry | FID | precision | recall | density | coverage | paper | training budget |",
           "|---|---|---|---|---|---|---|---|"]
    for row in gans:
        values = [f"{row['metrics'][k]:.3g}" if k in row["metrics"] else "not measured"
                  for k in ("test/fid", *MANIFOLD)]
        out.append(f"| `{row['name']}` | {' | '.join(values)} | {PAPER.get(row['name'], '')} | "
                   f"{BUDGET.get(row['name'], '7 min, 1 CPU thread')} |")
    return "\n".join(out)


def describe(entries: list[tuple]) -> None:
    """Rewrite the description paragraph and the sha256 list of the named entries' cards and registry rows from
    ENTRIES, SHORT_OF and the folders' files (after fitting an ex-post sampler, say), keeping their measurements."""
    table_path = REPO / "zoo" / "pretrained.json"
    table = json.loads(table_path.read_text())
    for name, _, description, *_ in entries:
        description = described(name, description)
        folder = REPO / "checkpoints" / name
        sha256 = folder_sha256(folder)
        head, title, rest = (folder / hub.CARD).read_text().partition(f"# {name}\n\n")
        after = rest.partition("\n\n")[2].partition("sha256:\n\n")[0]
        (folder / hub.CARD).write_text(f"{head}{title}{description}.\n\n{after}sha256:\n\n" +
                                       "".join(line + "\n" for line in sha256_list(sha256)))
        for i, row in enumerate(table):
            if row["name"] == name:
                table[i] = {**{k: v for k, v in row.items() if k not in ("repo_id", "revision", "looks_shortfall")},
                            "description": description, "sha256": sha256, **pinned(row, sha256),
                            **looks_mark(name)}
    table_path.write_text(json.dumps(table, indent=1) + "\n")
    write_readme_table(json.loads((REPO / "checkpoints" / "results.json").read_text()))


def looks_shortfall(name: str) -> dict[str, str] | None:
    """The looks test's failed criteria for the entry's sample(2000), with their figures (benchmarks/looks.py)."""
    return LOOKS.get(name, {}).get("problems") or None


def looks_mark(name: str) -> dict:
    """The registry row's known looks shortfall: tests/test_looks.py expects exactly these entries to fail."""
    return {"looks_shortfall": problems} if (problems := looks_shortfall(name)) else {}


def described(name: str, description: str) -> str:
    """The card's first paragraph: what falls short first, then what the entry is."""
    shortfalls = [SHORT_OF[name]] if name in SHORT_OF else []
    if problems := looks_shortfall(name):
        shortfalls.append(f"Its sample(2000) fails the zoo's looks test ({'; '.join(problems.values())})")
    parts = [*shortfalls, description[0].upper() + description[1:] if shortfalls else description]
    config = REPO / "checkpoints" / name / hub.CONFIG
    if name != CLASSIFIER[0] and config.is_file():
        parts.append(f"sample(n) draws from {default_sampler(yaml.safe_load(config.read_text()))}")
    return ". ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default="../shared/data")
    parser.add_argument("--only", nargs="*", default=None)
    parser.add_argument("--no-export", action="store_true", help="re-evaluate the folders as they are")
    parser.add_argument("--describe-only", action="store_true",
                        help="only rewrite the cards' and the registry's descriptions from ENTRIES (no evaluation)")
    args = parser.parse_args()
    if args.describe_only:
        return describe([e for e in ENTRIES if not args.only or e[0] in args.only])
    table_path = REPO / "zoo" / "pretrained.json"
    table = {row["name"]: row for row in json.loads(table_path.read_text())} if table_path.is_file() else {}
    rows_path = REPO / "checkpoints" / "results.json"
    rows = {row["name"]: row for row in json.loads(rows_path.read_text())} if rows_path.is_file() else {}
    for name, recipe, description, run, command, k in ENTRIES:
        if args.only and name not in args.only:
            continue
        folder = REPO / "checkpoints" / name
        if not args.no_export:
            hub.export_checkpoint(last_checkpoint(run), folder, force=True)  # a re-export
            if name in EX_POST:
                fit_into(folder, *EX_POST[name], args.root, default=True)  # sample() draws from it
        report = evaluate(name, recipe, args.root, k)
        picture(name)
        sha256 = folder_sha256(folder)
        (folder / hub.CARD).write_text(card(name, recipe, description, command, report, sha256))
        table[name] = {"name": name, "recipe": f"{recipe}.yaml", "description": described(name, description),
                       "sha256": sha256, **pinned(table.get(name, {}), sha256), **looks_mark(name)}
        rows[name] = {"name": name, "recipe": recipe, "k": k, "metrics": report["metrics"],
                      "command": report["command"]}
        print(f"{name}: {report['metrics']}", flush=True)
    name, _, description, _, command, _ = CLASSIFIER
    folder = REPO / "checkpoints" / name
    (folder / hub.CONFIG).write_text(yaml.safe_dump({"class_path": "zoo.nets.classifier.DigitClassifier",
                                                     "init_args": {"num_classes": 10}}, sort_keys=False))
    table[name] = {"name": name, "recipe": None, "description": description,
                   "sha256": folder_sha256(folder)}
    order = [e[0] for e in ENTRIES] + [name]
    table_path.write_text(json.dumps([table[n] for n in order if n in table], indent=1) + "\n")
    ordered = [rows[n] for n in order if n in rows]
    rows_path.write_text(json.dumps(ordered, indent=1) + "\n")
    write_readme_table(ordered)


def write_readme_table(ordered: list[dict]) -> None:
    readme = (REPO / "README.md").read_text()
    start, end = "<!-- pretrained:start -->", "<!-- pretrained:end -->"
    generated = (f"{start}\nGenerated by `python benchmarks/export_pretrained.py --root ../shared/data` from the "
                 f"weights in `checkpoints/` (each model card gives its exact `lightning test` command).\n\n"
                 f"{results_table(ordered)}\n{end}")
    readme = replace_between(readme, start, end, generated)
    start, end = "<!-- effects:start -->", "<!-- effects:end -->"
    readme = replace_between(readme, start, end, f"{start}\n{effects_table(ordered)}\n{end}")
    start, end = "<!-- gans:start -->", "<!-- gans:end -->"
    readme = replace_between(readme, start, end, f"{start}\n{gan_table(ordered)}\n{end}")
    (REPO / "README.md").write_text(readme)


def replace_between(text: str, start: str, end: str, generated: str) -> str:
    if start not in text or end not in text:
        raise SystemExit(f"README.md lacks the {start} ... {end} markers")
    head, _, rest = text.partition(start)
    return head + generated + rest.partition(end)[2]


if __name__ == "__main__":
    main()
