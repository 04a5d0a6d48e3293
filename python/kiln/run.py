"""ActiveRun: a run being logged to. Metrics are buffered and sent with
runs/log-batch; params, tags and artifacts are sent at once so that errors
surface at the call that caused them. Thread-safe."""

import json
import os
import threading
import time
import warnings

from kiln.client import MAX_METRICS_PER_BATCH, metric_entry, now_millis
from kiln.errors import KilnError

# A buffer older than this many seconds is flushed by the next log_metric, so
# a long training loop shows progress on the server.
DEFAULT_FLUSH_INTERVAL_SECONDS = 5.0


class ActiveRun:
    """Created by kiln.start_run(). As a context manager it ends the run on
    exit: FINISHED normally, FAILED when an exception escapes (re-raised)."""

    def __init__(self, client, run, project_name, parent_run_id=None, on_end=None):
        self.client = client
        self.run = run
        self.project_name = project_name
        self.parent_run_id = parent_run_id
        self._on_end = on_end
        self._lock = threading.Lock()
        self._buffer = []
        self._last_flush = time.monotonic()
        self._ended = False
        interval = os.environ.get("KILN_FLUSH_INTERVAL_SECONDS")
        self.flush_interval_seconds = float(interval) if interval else DEFAULT_FLUSH_INTERVAL_SECONDS

    @property
    def run_id(self):
        return self.run.run_id

    @property
    def project_id(self):
        return self.run.project_id

    @property
    def info(self):
        return self.run.info

    @property
    def ended(self):
        return self._ended

    def __repr__(self):
        return f"ActiveRun(run_id={self.run_id!r}, project={self.project_name!r})"

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, traceback):
        if exc_type is None:
            self.end("FINISHED")
        else:
            self._end_after_failure()
        return False

    # ---- logging -----------------------------------------------------------

    def log_metric(self, key, value, step=None, timestamp=None):
        self._buffer_metrics([metric_entry(key, value, step, timestamp)])

    def log_metrics(self, metrics, step=None, timestamp=None):
        stamp = now_millis() if timestamp is None else timestamp
        self._buffer_metrics([metric_entry(key, value, step, stamp) for key, value in metrics.items()])

    def log_param(self, key, value):
        self._check_open()
        self.client.log_param(self.run_id, key, value)

    def log_params(self, params):
        self._check_open()
        self.client.log_batch(self.run_id, params=params)

    def set_tag(self, key, value):
        self._check_open()
        self.client.set_tag(self.run_id, key, value)

    def set_tags(self, tags):
        self._check_open()
        self.client.log_batch(self.run_id, tags=tags)

    def log_artifact(self, local_path, artifact_path=None):
        self._check_open()
        return self.client.log_artifact(self.run_id, local_path, artifact_path)

    def log_artifacts(self, local_dir, artifact_path=None):
        self._check_open()
        return self.client.log_artifacts(self.run_id, local_dir, artifact_path)

    def log_dict(self, dictionary, artifact_file):
        """Uploads `dictionary` as JSON (indented, UTF-8) at artifact_file."""
        self._check_open()
        text = json.dumps(dictionary, indent=2, ensure_ascii=False) + "\n"
        return self.client.log_bytes(self.run_id, text.encode("utf-8"), artifact_file)

    def log_text(self, text, artifact_file):
        self._check_open()
        return self.client.log_bytes(self.run_id, text.encode("utf-8"), artifact_file)

    def flush(self):
        """Sends every buffered metric now."""
        with self._lock:
            pending, self._buffer = self._buffer, []
            self._last_flush = time.monotonic()
            if pending:
                try:
                    self.client.log_batch(self.run_id, metrics=pending)
                except BaseException:
                    self._buffer = pending + self._buffer  # keep them for a later flush
                    raise

    # ---- ending ------------------------------------------------------------

    def end(self, status="FINISHED"):
        """Flushes and marks the run `status`. If the flush fails the run is
        marked FAILED and the error raised. Idempotent."""
        if self._ended:
            return
        try:
            self.flush()
        except BaseException:
            self._finish("FAILED")
            raise
        self._finish(status)

    def _end_after_failure(self):
        try:
            self.flush()
        except Exception as error:  # the caller's exception is the one to report
            warnings.warn(f"kiln: metrics of run {self.run_id} were lost: {error}")
        try:
            self._finish("FAILED")
        except Exception as error:
            warnings.warn(f"kiln: could not mark run {self.run_id} FAILED: {error}")

    def _finish(self, status):
        self._ended = True
        try:
            self.client.set_terminated(self.run_id, status)
        finally:
            if self._on_end is not None:
                self._on_end(self)

    def _check_open(self):
        if self._ended:
            raise KilnError("INVALID_STATE", f"Run {self.run_id} has ended; start a new run to log to")

    def _buffer_metrics(self, entries):
        self._check_open()
        with self._lock:
            self._buffer.extend(entries)
            due = (len(self._buffer) >= MAX_METRICS_PER_BATCH
                   or time.monotonic() - self._last_flush >= self.flush_interval_seconds)
        if due:
            self.flush()

