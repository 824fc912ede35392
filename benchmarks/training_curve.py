"""A logged metric's curve, read back from a run's TensorBoard event file (what Lightning's logger wrote while it
trained), written as JSON: for example the VQ-VAE prior's validation bits per code, epoch by epoch.

    python benchmarks/training_curve.py runs/zoo/vqvae.mnist val/bits_per_code
"""

import argparse
import json
import struct
import sys
from pathlib import Path

from tensorboardX.proto import event_pb2


def scalars(event_file: Path) -> dict[str, list[tuple[int, float]]]:
    """Every scalar of a TFRecord event file: tag -> [(step, value)]. A record is an 8-byte length, a 4-byte CRC,
    the serialised Event and another 4-byte CRC."""
    data, offset, found = event_file.read_bytes(), 0, {}
    while offset < len(data):
        (length,) = struct.unpack("<Q", data[offset: offset + 8])
        event = event_pb2.Event.FromString(data[offset + 12: offset + 12 + length])
        offset += 12 + length + 4
        for value in event.summary.value:
            found.setdefault(value.tag, []).append((event.step, value.simple_value))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", help="a training's default_root_dir (its lightning_logs/version_*/events.out.*)")
    parser.add_argument("tag", help="the logged name, e.g. val/bits_per_code")
    parser.add_argument("--output", default=None, help="default: benchmarks/results/curve_<run>_<tag>.json")
    args = parser.parse_args()
    event_files = sorted(Path(args.run).glob("lightning_logs/version_*/events.out.tfevents.*"),
                         key=lambda path: path.stat().st_mtime)
    if not event_files:
        raise SystemExit(f"no TensorBoard event file under {args.run}/lightning_logs")
    curve = scalars(event_files[-1]).get(args.tag)
    if curve is None:
        raise SystemExit(f"{event_files[-1]} logged no {args.tag!r}")
    report = {"command": "python " + " ".join(sys.argv), "event_file": str(event_files[-1]), "tag": args.tag,
              "curve": [{"step": step, "value": round(value, 4)} for step, value in curve]}
    output = Path(args.output or f"benchmarks/results/curve_{Path(args.run).name}_{args.tag.replace('/', '_')}.json")
    output.write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps({**report, "curve": [(p["step"], p["value"]) for p in report["curve"]]}))


if __name__ == "__main__":
    main()
