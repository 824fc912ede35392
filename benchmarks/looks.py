"""The registry-wide looks test's figures: for every digit entry, `sample(2000)` read by the digit classifier
(zoo.metrics.looks), written to benchmarks/results/looks.json; `zoo release` marks the entries that fail
it in the registry, their cards and the README.

    python benchmarks/looks.py [--only NAME ...]
"""

import argparse
import json
import time
from pathlib import Path

from zoo.hub import registry
from zoo.metrics.looks import looks_problems, measure_looks

OUT = Path(__file__).resolve().parent / "results" / "looks.json"


def digit_entries() -> list[str]:
    """The entries whose samples are MNIST digits (Stacked MNIST's three channels included)."""
    return [name for name in registry.list_models(pretrained=True)
            if name.split(".")[1].startswith(("mnist", "stacked_mnist")) and not name.startswith("digit_classifier")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*")
    args = parser.parse_args()
    report = json.loads(OUT.read_text()) if OUT.is_file() else {}
    for name in args.only or digit_entries():
        start = time.perf_counter()
        figures = measure_looks(registry.load_pretrained(name))
        report[name] = {**figures, "problems": looks_problems(figures)}
        print(f"{name}: {report[name]['problems'] or 'passes'} ({time.perf_counter() - start:.0f} s)", flush=True)
    OUT.write_text(json.dumps(dict(sorted(report.items())), indent=1) + "\n")


if __name__ == "__main__":
    main()
