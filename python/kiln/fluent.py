"""The module-level API (kiln.start_run, kiln.log_metric, ...): a process-wide
stack of active runs and a default KilnClient configured from the environment
(KILN_TRACKING_URI, KILN_TOKEN), rebuilt when those change."""

import atexit
import getpass
import os
import re
import sys
import threading

from kiln.client import DEFAULT_TRACKING_URI, KilnClient
from kiln.errors import KilnError
from kiln.run import ActiveRun

DEFAULT_PROJECT = "Default"
DEFAULT_MODEL_PATH = "model"

_lock = threading.RLock()
_run_stack = []          # ActiveRun, innermost last
_client = None
_client_settings = None  # (tracking_uri, token) _client was built with
_tracking_uri = None     # set_tracking_uri() override
_atexit_registered = False
_attached_run_id = None  # $KILN_RUN_ID, once start_run() has attached to it


def set_tracking_uri(uri):
    """Overrides $KILN_TRACKING_URI for the module-level API (None: use it again)."""
    global _tracking_uri
    with _lock:
        _tracking_uri = uri


def get_tracking_uri():
    return _current_settings()[0]


def _current_settings():
    uri = _tracking_uri or os.environ.get("KILN_TRACKING_URI") or DEFAULT_TRACKING_URI
    return uri, os.environ.get("KILN_TOKEN") or None


def get_client():
    """The KilnClient the module-level API uses."""
    global _client, _client_settings
    with _lock:
        settings = _current_settings()
        if _client is None or settings != _client_settings:
            if _client is not None:
                _client.close()
            _client = KilnClient(settings[0], token=settings[1] or "")
            _client_settings = settings
        return _client


def active_run():
    """The innermost active run, or None."""
    with _lock:
        return _run_stack[-1] if _run_stack else None


def _require_active_run():
    run = active_run()
    if run is None:
        raise KilnError("INVALID_STATE", "No active run: call kiln.start_run() first")
    return run


def _source_name():
    script = sys.argv[0] if sys.argv and sys.argv[0] else ""
    if not script or script == "-c":
        return "<interactive>"
    return os.path.abspath(script)


def _user():
    try:
        return getpass.getuser()
    except Exception:  # no login name in containers without a passwd entry
        return "unknown"


def start_run(project=None, run_name=None, tags=None, nested=False):
    """Starts a run in `project` (created if missing) and returns its
    ActiveRun; use it as a context manager to end the run.

    project: defaults to the parent's project for a nested run, then
      $KILN_PROJECT, then "Default".
    nested: required when another run is active; the new run is tagged
      mlflow.parentRunId = the active run's id.

    Inside a run started by `kiln run` ($KILN_RUN_ID is set), the first
    start_run() attaches to that run instead of creating one (as MLflow does
    with $MLFLOW_RUN_ID); `kiln run` ends it by the program's exit status.
    """
    global _atexit_registered, _attached_run_id
    with _lock:
        parent = _run_stack[-1] if _run_stack else None
        given_run_id = os.environ.get("KILN_RUN_ID")
        if parent is None and given_run_id and _attached_run_id != given_run_id:
            client = get_client()
            run = client.get_run(given_run_id)
            project_name = os.environ.get("KILN_PROJECT") or project or DEFAULT_PROJECT
            extra = {key: str(value) for key, value in (tags or {}).items()}
            if extra:
                client.log_batch(given_run_id, tags=extra)
            active = ActiveRun(client, run, project_name, None, on_end=_forget)
            _attached_run_id = given_run_id
            _run_stack.append(active)
            if not _atexit_registered:
                atexit.register(_end_runs_at_exit)
                _atexit_registered = True
            return active
        if parent is not None and not nested:
            raise KilnError("INVALID_STATE",
                            f"Run {parent.run_id} is already active; end it first or pass nested=True")
        client = get_client()
        if project is None:
            if parent is not None:
                project_name, project_id = parent.project_name, parent.project_id
            else:
                project_name = os.environ.get("KILN_PROJECT") or DEFAULT_PROJECT
                project_id = client.project_id(project_name)
        else:
            project_name, project_id = project, client.project_id(project)
        user = _user()
        run_tags = {"mlflow.source.name": _source_name(), "mlflow.source.type": "LOCAL",
                    "mlflow.user": user}
        if parent is not None:
            run_tags["mlflow.parentRunId"] = parent.run_id
        run_tags.update(tags or {})
        run = client.create_run(project_id, run_name=run_name, tags=run_tags, user_id=user)
        active = ActiveRun(client, run, project_name, parent.run_id if parent else None, on_end=_forget)
        _run_stack.append(active)
        if not _atexit_registered:
            atexit.register(_end_runs_at_exit)
            _atexit_registered = True
        return active


def _forget(run):
    with _lock:
        if run in _run_stack:
            _run_stack.remove(run)


def end_run(status="FINISHED"):
    """Ends the innermost active run (no-op when none is active)."""
    run = active_run()
    if run is not None:
        run.end(status)


def _end_runs_at_exit():
    while True:
        run = active_run()
        if run is None:
            return
        try:
            run.end("FINISHED")
        except Exception as error:
            print(f"kiln: could not end run {run.run_id}: {error}", file=sys.stderr)
            _forget(run)


def flush():
    """Sends the buffered metrics of every active run."""
    with _lock:
        runs = list(_run_stack)
    for run in runs:
        run.flush()


def log_param(key, value):
    _require_active_run().log_param(key, value)


def log_params(params):
    _require_active_run().log_params(params)


def log_metric(key, value, step=None):
    _require_active_run().log_metric(key, value, step)


def log_metrics(metrics, step=None):
    _require_active_run().log_metrics(metrics, step)


def set_tag(key, value):
    _require_active_run().set_tag(key, value)


def set_tags(tags):
    _require_active_run().set_tags(tags)


def log_artifact(local_path, artifact_path=None):
    return _require_active_run().log_artifact(local_path, artifact_path)


def log_artifacts(local_dir, artifact_path=None):
    return _require_active_run().log_artifacts(local_dir, artifact_path)


def log_dict(dictionary, artifact_file):
    return _require_active_run().log_dict(dictionary, artifact_file)


def log_text(text, artifact_file):
    return _require_active_run().log_text(text, artifact_file)


_RUNS_URI = re.compile(r"^runs:/([^/]+)(?:/(.*))?$")


def register_model(model_uri_or_run_id, name, artifact_path=DEFAULT_MODEL_PATH):
    """Registers a version of model `name` (creating the model if missing)
    from "runs:/<run_id>/<path>", or from a bare run id (its `artifact_path`,
    "model" by default), or from any other model URI. Returns the
    model_version dict ("version" is a string, e.g. "1")."""
    client = get_client()
    match = _RUNS_URI.match(model_uri_or_run_id)
    if match:
        source, run_id = model_uri_or_run_id, match.group(1)
    elif ":" not in model_uri_or_run_id:
        run_id = model_uri_or_run_id
        source = f"runs:/{run_id}/{artifact_path.strip('/')}"
    else:
        source, run_id = model_uri_or_run_id, None
    client.ensure_registered_model(name)
    return client.create_model_version(name, source, run_id=run_id)


def set_alias(name, alias, version):
    """Points alias (e.g. "champion") of model `name` at `version`."""
    get_client().set_alias(name, alias, version)


def get_model_version_by_alias(name, alias):
    return get_client().get_model_version_by_alias(name, alias)


def search_runs(project=None, filter_string="", order_by=None, max_results=1000,
                run_view_type="ACTIVE_ONLY", page_size=1000):
    """Runs of `project` (a name or a list of names; default: the active run's
    project) matching filter_string (MLflow syntax, e.g. "metrics.acc > 0.9"),
    sorted by order_by (e.g. "metrics.acc DESC" or a list), following page
    tokens up to max_results (None: all). Returns a list of Run dicts."""
    client = get_client()
    if project is None:
        run = _require_active_run()
        project_ids = [run.project_id]
    else:
        names = [project] if isinstance(project, str) else list(project)
        project_ids = [client.project_id(name, create=False) for name in names]
    return client.search_runs(project_ids, filter_string, order_by, max_results, run_view_type, page_size)


def get_run(run_id):
    return get_client().get_run(run_id)


def get_metric_history(run_id, key):
    return get_client().get_metric_history(run_id, key)
