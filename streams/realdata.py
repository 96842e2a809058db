"""Fetch the CDNOW purchase log, real history to score the risk score on (``make realdata``).

CDNOW (Fader & Hardie): every purchase of 23,570 customers who first bought CDs at CDNOW in
the first quarter of 1997, up to the end of June 1998. Its master file ships inside the
PyPI wheel of ``lifetimes`` 0.11.3 (``lifetimes/datasets/CDNOW_master.txt``: a header, then
whitespace-separated customer id, date YYYYMMDD, number of CDs, dollar amount), so it is
fetched with pip from the package registry, not from a web site. The file is kept under
``out/`` and never committed.

The published split: calibration = the first 39 weeks (to 1997-09-30), holdout = the next
39 weeks; :data:`CDNOW_EVALUATION` holds the matching ``churnwatch evaluate-holdout`` options.

The same wheel ships ``example_transactions.csv`` (``date,id``: purchases without amounts of
5,000 customers over 2014), scored in docs/quality.md, "A purchase log without values".

Run as ``python -m streams.realdata [DIR] [FILE]``: extracts ``FILE`` (default
``CDNOW_master.txt``) of the wheel's ``lifetimes/datasets/`` into ``DIR`` and prints its path.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from importlib import metadata, resources
from pathlib import Path

from schemas.errors import ChurnwatchError

WHEEL_REQUIREMENT = "lifetimes==0.11.3"
DATASETS = "lifetimes/datasets/"
MEMBER = DATASETS + "CDNOW_master.txt"
#: ``churnwatch evaluate-holdout`` options for the published CDNOW split (39 + 39 weeks).
CDNOW_EVALUATION: tuple[str, ...] = ("--cutoff", "1997-10-01", "--horizon", "273", "--one-order-per-day",
                                     "--currency", "USD")


class FetchError(ChurnwatchError):
    """The dataset could not be fetched (no registry, or an unexpected wheel)."""


def fetch_cdnow(directory: str | Path, timeout: float = 300.0) -> Path:
    """Extract ``CDNOW_master.txt`` from the installed ``lifetimes`` 0.11.3, or else from its
    wheel, downloaded with pip (once).

    Returns the extracted file's path; raises :class:`FetchError` saying why when pip cannot
    reach the registry or the wheel lacks the file.
    """
    return fetch_dataset(directory, "CDNOW_master.txt", timeout)


def fetch_dataset(directory: str | Path, name: str, timeout: float = 300.0) -> Path:
    """Extract ``lifetimes/datasets/<name>`` as :func:`fetch_cdnow` extracts the CDNOW log."""
    member = DATASETS + name
    directory = Path(directory)
    target = directory / name
    if target.exists():
        return target
    directory.mkdir(parents=True, exist_ok=True)
    installed = _installed_copy(member)
    if installed is not None:
        tmp = target.with_suffix(".part")
        tmp.write_bytes(installed)
        tmp.replace(target)
        return target
    wheels = sorted(directory.glob("Lifetimes-0.11.3-*.whl")) + sorted(directory.glob("lifetimes-0.11.3-*.whl"))
    if not wheels:
        try:
            done = subprocess.run(
                [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                 "--disable-pip-version-check", "-q", "-d", str(directory), WHEEL_REQUIREMENT],
                capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise FetchError(f"pip download {WHEEL_REQUIREMENT} took over {timeout:g} s; is PyPI reachable?") from None
        wheels = sorted(directory.glob("*ifetimes-0.11.3-*.whl"))
        if done.returncode != 0 or not wheels:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise FetchError(f"pip download {WHEEL_REQUIREMENT} failed (is PyPI reachable?): {last}")
    with zipfile.ZipFile(wheels[0]) as wheel:
        try:
            data = wheel.read(member)
        except KeyError:
            raise FetchError(f"{wheels[0].name} has no {member}") from None
    tmp = target.with_suffix(".part")
    tmp.write_bytes(data)
    tmp.replace(target)
    return target


def _installed_copy(member: str = MEMBER) -> bytes | None:
    """A dataset from an installed lifetimes 0.11.3 (the `realdata` and `dev` extras), if any."""
    try:
        if metadata.version("lifetimes") != WHEEL_REQUIREMENT.split("==")[1]:
            return None
        return resources.files("lifetimes").joinpath(member.split("/", 1)[1]).read_bytes()
    except (ModuleNotFoundError, OSError, metadata.PackageNotFoundError):
        return None


if __name__ == "__main__":  # make realdata
    try:
        print(fetch_dataset(sys.argv[1] if len(sys.argv) > 1 else "out/realdata/download",
                            sys.argv[2] if len(sys.argv) > 2 else "CDNOW_master.txt"))
    except FetchError as error:
        sys.exit(f"realdata: {error}")
