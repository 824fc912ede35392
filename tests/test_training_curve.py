"""benchmarks/training_curve.py reads back what a logger wrote: the scalars of a TensorBoard event file."""

from tensorboardX import SummaryWriter

from tests.conftest import import_benchmark


def test_the_curve_is_every_logged_value_of_the_tag_in_step_order(tmp_path, monkeypatch):
    training_curve = import_benchmark("training_curve", monkeypatch)
    writer = SummaryWriter(str(tmp_path))
    for step, value in ((10, 6.25), (20, 3.5), (30, 2.75)):
        writer.add_scalar("val/bits_per_code", value, step)
        writer.add_scalar("train/loss", -value, step)
    writer.close()
    (event_file,) = tmp_path.glob("events.out.tfevents.*")
    found = training_curve.scalars(event_file)
    assert found["val/bits_per_code"] == [(10, 6.25), (20, 3.5), (30, 2.75)]
    assert found["train/loss"] == [(10, -6.25), (20, -3.5), (30, -2.75)]
