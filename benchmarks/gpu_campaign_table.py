"""The GPU campaign's table (benchmarks/gpu_campaign.sh): each trained entry's test metrics beside the shipped
entry's (checkpoints/results.json), written to OUT/campaign.json and printed.

    python benchmarks/gpu_campaign_table.py OUT
"""

import json
import sys
from pathlib import Path

HEADLINE = ("test/nll", "test/fid", "test/precision", "test/recall")


def main() -> None:
    out = Path(sys.argv[1])
    shipped = {row["name"]: row.get("metrics", {}) for row in json.loads(Path("checkpoints/results.json").read_text())}
    rows = []
    for line in (out / "entries.txt").read_text().split("\n"):
        if not line.strip():
            continue
        entry, recipe, minutes = line.split()
        metrics = json.loads((out / entry / "test_results.json").read_text()).get("metrics", {})
        rows.append({"entry": entry, "recipe": recipe, "gpu_minutes": int(minutes),
                     **{name: {"gpu": metrics.get(name), "shipped": shipped.get(entry, {}).get(name)}
                        for name in HEADLINE if name in metrics}})
    (out / "campaign.json").write_text(json.dumps(rows, indent=1) + "\n")
    print("| entry | GPU minutes | " + " | ".join(f"{name} (GPU / shipped)" for name in HEADLINE) + " |")
    print("|---|---|" + "---|" * len(HEADLINE))
    for row in rows:
        cells = [f"{row[name]['gpu']:.4g} / {row[name]['shipped']}" if name in row else "-" for name in HEADLINE]
        print(f"| {row['entry']} | {row['gpu_minutes']} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
