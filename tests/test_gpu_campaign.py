"""benchmarks/gpu_campaign.sh stays correct without a GPU: run on the CPU with two training steps per entry (one
VAE and one GAN flagship) on the small fake MNIST, it trains, tests and writes its table."""

import json
import os
import subprocess

from tests.conftest import REPO


def test_the_campaign_trains_tests_and_tabulates_on_cpu(mnist_root, tmp_path):
    out = tmp_path / "campaign"
    env = {**os.environ, "SMOKE": "1", "ACCELERATOR": "cpu", "PRECISION": "32-true", "ROOT": str(mnist_root),
           "EXTRA_DATA": "--data.val_size 56", "ONLY": "vae_mlp.mnist dcgan.mnist", "OMP_NUM_THREADS": "1"}
    done = subprocess.run(["bash", "benchmarks/gpu_campaign.sh", str(out)], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=600)
    logs = "\n".join(p.read_text()[-2000:] for p in sorted(out.glob("*.log")))
    assert done.returncode == 0, done.stderr[-2000:] + logs
    rows = {row["entry"]: row for row in json.loads((out / "campaign.json").read_text())}
    assert set(rows) == {"vae_mlp.mnist", "dcgan.mnist"}
    assert rows["vae_mlp.mnist"]["test/nll"]["gpu"] > 0 and rows["vae_mlp.mnist"]["test/nll"]["shipped"] > 0
    assert rows["dcgan.mnist"]["test/fid"]["gpu"] > 0 and "test/precision" in rows["dcgan.mnist"]
    assert "| dcgan.mnist | 1 |" in done.stdout
