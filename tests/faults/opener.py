"""A process for the instance race test: waits for a start time, then opens the shared Dagster
instance the way every CLI run does and runs a one-op job on it
(``python -m tests.faults.opener START_EPOCH``)."""

from __future__ import annotations

import sys
import time

from dagster import job, op

from orchestration.recovery import open_instance


@op
def one() -> int:
    return 1


@job
def tiny() -> None:
    one()


if __name__ == "__main__":
    start = float(sys.argv[1])
    while time.time() < start:
        time.sleep(0.001)
    result = tiny.execute_in_process(instance=open_instance())
    sys.exit(0 if result.success else 1)
