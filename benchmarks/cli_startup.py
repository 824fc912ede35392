"""Start-up time of the `zoo` command: the wall time of `zoo --help` and `zoo list` in a fresh interpreter,
median of five runs each, for this checkout and for another one given by `--before` (say, a `git worktree` of an
older commit), run in turn so that both see the same machine load. The report goes to
benchmarks/results/cli_startup.json.

    git worktree add /tmp/zoo_before <commit>
    python benchmarks/cli_startup.py --before /tmp/zoo_before [--runs 5]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
COMMANDS = {"zoo --help": ["--help"], "zoo list": ["list"]}


def wall_time(source: Path, argv: list[str]) -> float:
    """Seconds for `zoo <argv>` (the console script's zoo.cli.commands.main) with `source` first on the path."""
    env = {**os.environ, "PYTHONPATH": str(source)}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", f"from zoo.cli.commands import main; main({argv!r})"], env=env, cwd=source,
                   check=True, capture_output=True)  # cwd: `python -c` puts it first on the path
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", type=Path, help="another checkout to compare with")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    sources = {"after": REPO, **({"before": args.before.resolve()} if args.before else {})}
    times = {label: {command: [] for command in COMMANDS} for label in sources}
    for _ in range(args.runs):
        for label, source in sources.items():
            for command, argv in COMMANDS.items():
                times[label][command].append(wall_time(source, argv))
    report = {label: {command: {"median_s": round(statistics.median(ts), 3), "runs_s": [round(t, 3) for t in ts]}
                      for command, ts in by_command.items()} for label, by_command in times.items()}
    report["cpu_count"] = os.cpu_count()
    out = REPO / "benchmarks" / "results" / "cli_startup.json"
    out.write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
