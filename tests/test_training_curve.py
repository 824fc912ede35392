"""benchmarks/training_curve.py reads back what a logger wrote: the scalars of a TensorBoard event file."""

import importlib.util
from pathlib import Path

from tensorboardX import SummaryWriter

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "training_curve.py"


def test_the_curve_is_every_logged_value_of_the_tag_in_step_order(tmp_path):
    spec = importlib.util.spec_from_file_location("training_curve", SCRIPT)
    training_curve = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(training_curve)
    writer = SummaryWriter(str(tmp_path))
    for step, value in ((10, 6.25), (20, 3.5), (30, 2.75)):
        writer.add_scalar("val/bits_per_code", value, step)
        writer.add_scalar("train/loss", -value, step)
    writer.close()
    (event_file,) = tmp_path.glob("events.out.tfevents.*")
    found = training_curve.scalars(event_file)
    assert found["val/bits_per_code"] == [(10, 6.25), (20, 3.5), (30, 2.75)]
    assert found["train/loss"] == [(10, -6.25), (20, -3.5), (30, -2.75)]
