"""Run many jobs: parents before children, independent jobs in parallel up to a limit."""

from __future__ import annotations

import threading
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from trialsync.catalog import Job
from trialsync.runner import JobRunner, RunResult


@dataclass
class Trace:
    """When each job started and finished (for the tests of order and of the parallel limit)."""

    events: list[tuple[str, int]] = field(default_factory=list)
    running: int = 0
    peak: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self, job_id: int) -> None:
        with self.lock:
            self.events.append(("start", job_id))
            self.running += 1
            self.peak = max(self.peak, self.running)

    def end(self, job_id: int) -> None:
        with self.lock:
            self.events.append(("end", job_id))
            self.running -= 1


def run_jobs(runner: JobRunner, jobs: list[Job], parallel: int, trace: Trace | None = None) -> list[RunResult]:
    """Every job once: a job starts when its parent (if selected) has succeeded; a job whose
    parent failed is not run (status 'skipped', with the reason)."""
    trace = trace or Trace()
    selected = {j.id: j for j in jobs}
    results: dict[int, RunResult] = {}
    pending = sorted(jobs, key=lambda j: (j.priority, j.id))
    in_flight: dict[Future, int] = {}

    def one(job: Job) -> RunResult:
        trace.start(job.id)
        try:
            return runner.run(job.id)
        finally:
            trace.end(job.id)

    with ThreadPoolExecutor(max_workers=max(parallel, 1), thread_name_prefix="trialsync-job") as pool:
        while pending or in_flight:
            still = []
            for job in pending:
                parent = job.parent if job.parent in selected else None
                if parent is None or (results.get(parent) and results[parent].status == "success"):
                    if len(in_flight) < parallel:
                        in_flight[pool.submit(one, job)] = job.id
                        continue
                elif parent in results:  # the parent ran and did not succeed
                    reason = f"parent job {parent} {results[parent].status}"
                    results[job.id] = RunResult(job.id, None, "skipped", error_message=reason)
                    continue
                still.append(job)
            pending = still
            if not in_flight:
                if pending:  # only jobs whose parents were skipped remain
                    continue
                break
            done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in done:
                job_id = in_flight.pop(future)
                results[job_id] = future.result()
    return [results[j.id] for j in sorted(jobs, key=lambda j: (j.priority, j.id))]
