"""BullMQ's worker loop, made to wait for its next finished job in time independent of how many run.

`bullmq.Worker.run` keeps one task per running job (plus the one fetching the next job) in a
set and, every time round its loop, calls the module function `getCompleted`, which is
`asyncio.wait(tasks, FIRST_COMPLETED)`: a done callback added to and removed from every task
on every call. With 1,000 jobs running that is ~1.5 ms per call and two calls per job (the
fetch finishing, the job finishing): measured at ~8 % of a worker's CPU at 1,000 in flight
(py-spy, docs/benchmarks.md "Seed latencies").

`get_completed` keeps the same contract (some finished tasks' jobs, the still-pending set)
but gives each task its done callback once, for its whole life: the set it returns is a
`TaskSet` that remembers which tasks it watches and collects those that finished, and the
worker loop passes that same object back on the next call (`self.processing = pending`).
`install()` puts it in place of `bullmq.worker.getCompleted`, which `run()` looks up by name.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import Any

import bullmq.worker
from bullmq.utils import extract_result


class TaskSet(set[asyncio.Future[Any]]):
    """The worker's running tasks, and which of them have finished since the last look."""

    def __init__(self, tasks: Iterable[asyncio.Future[Any]] = ()) -> None:
        super().__init__(tasks)
        self.watched: set[asyncio.Future[Any]] = set()
        self.finished: list[asyncio.Future[Any]] = []
        self.wakeup: asyncio.Future[None] | None = None

    def completed(self, task: asyncio.Future[Any]) -> None:
        """A watched task's done callback: note it, wake the waiting loop."""
        self.finished.append(task)
        if self.wakeup is not None and not self.wakeup.done():
            self.wakeup.set_result(None)


async def get_completed(
    task_set: set[asyncio.Future[Any]], emit_callback: Callable[..., Any]
) -> tuple[list[Any], set[asyncio.Future[Any]]]:
    """The jobs of tasks that finished (waiting for at least one), and the tasks still running.

    As `bullmq.worker.getCompleted`, whose drop-in replacement this is.
    """
    if not task_set:
        await asyncio.sleep(0)
        return [], set()
    tasks = task_set if isinstance(task_set, TaskSet) else TaskSet(task_set)
    for task in tasks - tasks.watched:  # only the tasks added since the last call
        tasks.watched.add(task)
        task.add_done_callback(tasks.completed)
    while not tasks.finished:
        tasks.wakeup = asyncio.get_running_loop().create_future()
        await tasks.wakeup
    finished, tasks.finished = tasks.finished, []
    tasks.difference_update(finished)
    tasks.watched.difference_update(finished)
    jobs = [extract_result(task, emit_callback) for task in finished]
    # As BullMQ's: a fetch that found no job, or a job whose result could not be read, is None.
    return [job for job in jobs if job is not None], tasks


def install() -> None:
    """Make every `bullmq.Worker` of this process wait with `get_completed`."""
    bullmq.worker.getCompleted = get_completed
