"""The README's two set-up commands stay true: CI runs exactly its test command, and the main job's
recipe exists and needs no download."""

import json
import re

from tests.conftest import REPO


def readme_commands() -> list[str]:
    lines = (REPO / "README.md").read_text().splitlines()
    return [line.strip() for line in lines[:8] if line.startswith("    ")]


def test_ci_runs_the_readme_test_command():
    setup, test = readme_commands()
    ci = (REPO / ".ci/run").read_text().splitlines()
    assert test in ci
    assert 'pip install -e ".[dev]"' in setup and 'pip install -e ".[dev]"' in ci


def test_main_job_uses_data_that_needs_no_download():
    setup, _ = readme_commands()
    recipe = setup.split("--config")[1].split()[0]
    assert "zoo.data.Digits" in (REPO / recipe).read_text()


# --- every number in the tables under "## Measured results" comes from a committed result file ----------------
RESULT_FILES = [REPO / "checkpoints/results.json", *sorted((REPO / "benchmarks/results").glob("*.json"))]
NUMBER = re.compile(r"(?<![\w.])-?\d[\d,]*(?:\.\d+)?(?:e[+-]?\d+)?")  # a '-' after a digit is a range, not a sign
NOT_MEASURED = re.compile(r"`[^`]*`|target[^)|]*")  # code (file and option names) and the targets set beforehand


def measured_tables() -> list[tuple[str, list[list[str]]]]:
    """(heading, body rows as lists of cells) of each markdown table in the README's "Measured results" section."""
    text = (REPO / "README.md").read_text()
    section = text.split("\n## Measured results\n", 1)[1].split("\n## ", 1)[0]
    tables, heading, rows = [], "", []
    for line in [*section.splitlines(), ""]:
        if line.startswith("#"):
            heading = line.lstrip("# ")
        if line.startswith("|"):
            rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
        elif rows:
            tables.append((heading, rows[2:]))  # below the header and the |---| line
            rows = []
    return tables


def numbers_in(value) -> list[float]:
    if isinstance(value, dict):
        return [n for v in value.values() for n in numbers_in(v)]
    if isinstance(value, list):
        return [n for v in value for n in numbers_in(v)]
    return [float(value)] if isinstance(value, int | float) and not isinstance(value, bool) else []


def shown_as(number: str, value: float) -> bool:
    """Whether `value` rounds to `number` as the README writes it (its decimals, or its mantissa's)."""
    mantissa, _, exponent = number.replace(",", "").partition("e")
    decimals = len(mantissa.partition(".")[2])
    return abs(value - float(number.replace(",", ""))) <= 0.5 * 10.0 ** (int(exponent or 0) - decimals) * (1 + 1e-9)


def test_every_number_in_the_measured_results_tables_comes_from_a_result_file():
    recorded = [n for path in RESULT_FILES for n in numbers_in(json.loads(path.read_text()))]
    tables = measured_tables()
    assert tables, "no tables found under '## Measured results'"
    missing = [f"{number} in table '{heading}', row '{row[0]}'"
               for heading, rows in tables for row in rows for cell in row[1:]  # the first cell names the row
               for number in NUMBER.findall(NOT_MEASURED.sub("", cell))
               if not any(shown_as(number, value) for value in recorded)]
    files = ", ".join(str(path.relative_to(REPO)) for path in RESULT_FILES)
    assert not missing, "README numbers found in none of the result files (" + files + "):\n" + "\n".join(missing)


def test_the_number_check_reads_tables_ranges_and_rounding():
    assert NUMBER.findall("1.113 (rounds 1.08-1.19), -93.65 nats, 6.80e13, 25,520") == [
        "1.113", "1.08", "1.19", "-93.65", "6.80e13", "25,520"]
    assert shown_as("0.160", 0.15994) and shown_as("458", 458.2) and shown_as("6.80e13", 6.8012e13)
    assert not shown_as("0.160", 0.1606) and not shown_as("86.69", 86.92)
    assert NOT_MEASURED.sub("", "**0.868** (target ≥ 0.80) `mlp_512.yaml`").strip() == "**0.868** ()"


def test_the_family_effects_table_is_what_the_shipped_results_give():
    """The README's "What each family shows" rows are regenerated from checkpoints/results.json, not typed."""
    from zoo.hub import release as export
    readme = (REPO / "README.md").read_text()
    shown = readme.split("<!-- effects:start -->\n", 1)[1].split("\n<!-- effects:end -->", 1)[0]
    assert shown == export.effects_table(json.loads((REPO / "checkpoints/results.json").read_text()))
    assert shown.count("\n| ") >= 6  # a row per family


def test_ci_installs_into_a_fresh_virtualenv_before_the_tests():
    ci = (REPO / ".ci/run").read_text().splitlines()
    order = [next(i for i, line in enumerate(ci) if line.strip().startswith(start))
             for start in ("python -m venv", "source", 'pip install -e ".[dev]"', "python -m pytest")]
    assert order == sorted(order)


def test_a_card_names_the_training_data_of_every_run_in_its_command():
    """A warm restart that holds out no validation digits trains on all 60,000: the card's line says so."""
    from zoo.hub.release import trained_on
    assert trained_on("vae/mlp_mnist_elbo", "lightning fit --config x") == \
        "55,000 MNIST training images (the other 5,000 held out for validation)"
    whole = trained_on("vae/mlp_mnist_elbo", "lightning fit --config x, then --weights y --data.init_args.val_size 0")
    assert whole.endswith("and all 60,000 in the runs with --data.init_args.val_size 0")
    assert "all 60,000" not in trained_on("vae/mlp_mnist_elbo", "--data.init_args.val_size 00 --data.val_size 10")
