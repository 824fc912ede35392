"""Soak test (not in CI): GAN training with an FID/KID/IS evaluation every epoch for a long time, the process's
resident memory (RSS) sampled every minute. Metric states must not grow without bound: RSS should stay flat.

    python benchmarks/soak.py --root ../shared/data [--minutes 30] [--config configs/gan/dcgan_mnist.yaml]

Short epochs (`--batches` per epoch) make the FID callback run often.
"""

import argparse
import json
import sys
import threading
import time

from zoo.callbacks import SampleQuality
from zoo.cli.lightning_cli import main as cli

evaluations = []


def counted(method):
    def wrapper(*args, **kwargs):
        evaluations.append(time.monotonic())
        return method(*args, **kwargs)

    return wrapper


def rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default="../shared/data")
    parser.add_argument("--config", default="configs/gan/dcgan_mnist.yaml")
    parser.add_argument("--minutes", type=int, default=30)
    parser.add_argument("--batches", type=int, default=40, help="training batches per epoch")
    parser.add_argument("--fid-samples", type=int, default=2000)
    args = parser.parse_args()
    samples, start, stop = [], time.monotonic(), threading.Event()

    def sample_memory():
        while not stop.is_set():
            samples.append((round((time.monotonic() - start) / 60, 1), round(rss_mib(), 1)))
            stop.wait(60)

    SampleQuality.evaluate = counted(SampleQuality.evaluate)
    threading.Thread(target=sample_memory, daemon=True).start()
    fit = cli(["fit", "--config", args.config, "--data.root", args.root, "--data.download", "false",
               "--trainer.max_time", f"00:00:{args.minutes:02d}:00", "--trainer.max_epochs", "100000",
               "--trainer.limit_train_batches", str(args.batches), "--trainer.limit_val_batches", "2",
               "--trainer.enable_progress_bar", "false", "--trainer.default_root_dir", "runs/soak",
               "--trainer.callbacks.every_n_epochs", "1", "--trainer.callbacks.num_samples", str(args.fid_samples),
               "--wandb", "off"])
    stop.set()
    samples.append((round((time.monotonic() - start) / 60, 1), round(rss_mib(), 1)))
    settled = [rss for minute, rss in samples if minute >= 2]  # after start-up allocations
    print(json.dumps({"command": "python " + " ".join(sys.argv), "epochs": fit.trainer.current_epoch,
                      "fid_evaluations": len(evaluations), "rss_mib_by_minute": samples,
                      "rss_growth_after_minute_2_mib": round(settled[-1] - settled[0], 1) if settled else None},
                     indent=1))


if __name__ == "__main__":
    main()
