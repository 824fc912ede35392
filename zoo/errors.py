"""The zoo's own errors: mistakes in what it was given, each with a message that says what to do.

The `lightning` and `zoo` commands print a ZooError as one line, `error: <message>`, and exit with status 2
(`--debug` or ZOO_DEBUG=1 shows the traceback). Each class also derives from the built-in error that code
catching it would expect (ValueError, FileNotFoundError, ...).
"""

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager


class ZooError(Exception):
    """A mistake in the input: the message is the whole story."""


class InputError(ZooError, ValueError):
    """A hyper-parameter, tensor or option the zoo cannot use."""


def refuse(owner: str, problems) -> None:
    """Raise `InputError("<owner>: <message>")` for the first (failed, message) pair of `problems` that failed."""
    for failed, message in problems:
        if failed:
            raise InputError(f"{owner}: {message}")


class WeightsError(ZooError, RuntimeError):
    """A weights file, weights folder or checkpoint that cannot be used as given."""


class WeightsNotFoundError(WeightsError, FileNotFoundError):
    """Weights or a checkpoint that are not where they were looked for."""


class UntrustedConfigError(WeightsError):
    """A weights file's config names code outside the allow-list (zoo.hub.allowlist)."""


class RecipeNotFoundError(ZooError, FileNotFoundError):
    """A recipe (`--config`) that is not where it was looked for."""


class DataNotFoundError(ZooError, FileNotFoundError):
    """A data set that is not where it was looked for."""


class UnknownEntryError(ZooError, KeyError):
    """A name the registry does not hold."""

    def __str__(self) -> str:  # KeyError would show the message in quotes
        return str(self.args[0])


class NonFiniteError(ZooError, FloatingPointError):
    """Training stopped at a NaN or infinity, in the input or in a loss."""


def debug_requested(args: list[str]) -> bool:
    return "--debug" in args or os.environ.get("ZOO_DEBUG", "") not in ("", "0")


def zoo_error_in(error: BaseException) -> ZooError | None:
    """The ZooError an exception is, or was raised from: jsonargparse re-raises a class's own error inside its
    "Does not validate against any of the Union subtypes" ValueError, chained with `from`."""
    seen = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, ZooError):
            return error
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return None


@contextmanager
def one_line_errors(debug: bool) -> Iterator[None]:
    """A ZooError, or an error raised from one, becomes `error: <message>` on stderr and exit status 2; with
    `debug`, it propagates."""
    try:
        yield
    except Exception as raised:
        error = zoo_error_in(raised)
        if debug or error is None:
            raise
        message = " ".join(line.strip() for line in str(error).splitlines() if line.strip())
        sys.stderr.write(f"error: {message} (--debug or ZOO_DEBUG=1 shows where)\n")
        raise SystemExit(2) from None
