"""KilnClient: one method per call of the server's MLflow-compatible REST API
(tracking, model registry, proxied artifacts). Thread-safe; requests share one
keep-alive connection."""

import os
import posixpath
import threading
import time
import urllib.parse

from kiln.entities import Run, decode_metric
from kiln.errors import KilnError
from kiln.transport import Retry, Transport, encode_json, file_body

DEFAULT_TRACKING_URI = "http://127.0.0.1:5000"
API_PREFIX = "/api/2.0/mlflow/"
ARTIFACTS_PREFIX = "/api/2.0/mlflow-artifacts/artifacts"

# MLflow's limits for one runs/log-batch request.
MAX_METRICS_PER_BATCH = 1000
MAX_PARAMS_PER_BATCH = 100
MAX_TAGS_PER_BATCH = 100
MAX_ENTITIES_PER_BATCH = 1000
# Largest page runs/search is asked for.
SEARCH_PAGE_SIZE = 1000


def now_millis():
    return int(time.time() * 1000)


def metric_entry(key, value, step=None, timestamp=None):
    """A metric as runs/log-batch expects it."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise KilnError("INVALID_PARAMETER_VALUE",
                        f"Metric '{key}' has value {value!r}, which is not a number") from None
    return {
        "key": str(key),
        "value": number,
        "timestamp": now_millis() if timestamp is None else int(timestamp),
        "step": 0 if step is None else int(step),
    }


def _key_values(items):
    if items is None:
        return []
    if isinstance(items, dict):
        items = items.items()
    return [{"key": str(key), "value": str(value)} for key, value in items]


def _quote_path(path):
    return urllib.parse.quote(path, safe="/")


def _clean_artifact_path(path):
    """A relative artifact path in POSIX form, without leading or trailing '/'."""
    if not path:
        return ""
    path = posixpath.normpath(path.replace(os.sep, "/")).strip("/")
    return "" if path == "." else path


class KilnClient:
    """Lower-level access to a Kiln server.

    tracking_uri: http://host:port, https://..., or unix:///path/to/socket;
      defaults to $KILN_TRACKING_URI, then http://127.0.0.1:5000.
    token: bearer token; defaults to $KILN_TOKEN.
    """

    def __init__(self, tracking_uri=None, token=None, timeout=60.0, max_retries=3):
        self.tracking_uri = tracking_uri or os.environ.get("KILN_TRACKING_URI") or DEFAULT_TRACKING_URI
        if token is None:
            token = os.environ.get("KILN_TOKEN") or None
        self._transport = Transport(self.tracking_uri, token=token, timeout=timeout,
                                    max_retries=max_retries)
        self._cache_lock = threading.Lock()
        self._project_ids = {}      # project name -> experiment_id
        self._artifact_roots = {}   # run_id -> "<experiment_id>/<run_id>/artifacts"

    def close(self):
        self._transport.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
        return False

    # ---- generic -----------------------------------------------------------

    def call(self, method, endpoint, body=None, query=None, retry=None):
        """Calls API_PREFIX + endpoint (e.g. "runs/get") with a JSON body (POST,
        PATCH, DELETE) or query (GET) and returns the decoded JSON response.
        retry defaults to IDEMPOTENT for GET and UNSENT_ONLY otherwise."""
        if retry is None:
            retry = Retry.IDEMPOTENT if method == "GET" else Retry.UNSENT_ONLY
        payload = None
        if body is not None:
            payload = encode_json(body)
        response = self._transport.request(
            method, API_PREFIX + endpoint, query=query, body=payload,
            content_type="application/json" if payload is not None else None, retry=retry)
        return response.json()

    def health(self):
        """True when GET /health answers 200."""
        try:
            return self._transport.request("GET", "/health", retry=Retry.UNSENT_ONLY).status == 200
        except KilnError:
            return False

    # ---- projects (MLflow experiments) -------------------------------------

    def create_project(self, name, tags=None, artifact_location=None):
        """Creates a project and returns its id."""
        body = {"name": name}
        if tags:
            body["tags"] = _key_values(tags)
        if artifact_location:
            body["artifact_location"] = artifact_location
        return str(self.call("POST", "experiments/create", body)["experiment_id"])

    def get_project(self, project_id):
        return self.call("GET", "experiments/get", query={"experiment_id": project_id})["experiment"]

    def get_project_by_name(self, name):
        """The project dict, or None when no project has that name."""
        try:
            return self.call("GET", "experiments/get-by-name", query={"experiment_name": name})["experiment"]
        except KilnError as error:
            if error.error_code == "RESOURCE_DOES_NOT_EXIST":
                return None
            raise

    def project_id(self, name, create=True):
        """The id of project `name`, created when missing (if `create`)."""
        with self._cache_lock:
            if name in self._project_ids:
                return self._project_ids[name]
        project = self.get_project_by_name(name)
        if project is None:
            if not create:
                raise KilnError("RESOURCE_DOES_NOT_EXIST", f"No project named '{name}'")
            try:
                project_id = self.create_project(name)
            except KilnError as error:
                if error.error_code != "RESOURCE_ALREADY_EXISTS":
                    raise
                project = self.get_project_by_name(name)  # created concurrently
                if project is None:
                    raise
                project_id = str(project["experiment_id"])
        else:
            if project.get("lifecycle_stage") == "deleted":
                raise KilnError("INVALID_STATE",
                                f"Project '{name}' is deleted; restore it or use another name")
            project_id = str(project["experiment_id"])
        with self._cache_lock:
            self._project_ids[name] = project_id
        return project_id

    # ---- runs --------------------------------------------------------------

    def create_run(self, project_id, run_name=None, tags=None, start_time=None, user_id=None):
        body = {"experiment_id": str(project_id),
                "start_time": now_millis() if start_time is None else int(start_time)}
        if run_name:
            body["run_name"] = run_name
        if user_id:
            body["user_id"] = user_id
        if tags:
            body["tags"] = _key_values(tags)
        run = Run(self.call("POST", "runs/create", body)["run"])
        self._remember_artifact_root(run)
        return run

    def update_run(self, run_id, status=None, end_time=None, run_name=None):
        """Updates a run's status (RUNNING, SCHEDULED, FINISHED, FAILED,
        KILLED), end time or name; returns its run_info."""
        body = {"run_id": run_id}
        if status:
            body["status"] = status
        if end_time is not None:
            body["end_time"] = int(end_time)
        if run_name:
            body["run_name"] = run_name
        return self.call("POST", "runs/update", body, retry=Retry.IDEMPOTENT).get("run_info", {})

    def set_terminated(self, run_id, status="FINISHED", end_time=None):
        return self.update_run(run_id, status=status,
                               end_time=now_millis() if end_time is None else end_time)

    def delete_run(self, run_id):
        self.call("POST", "runs/delete", {"run_id": run_id}, retry=Retry.IDEMPOTENT)

    def get_run(self, run_id):
        run = Run(self.call("GET", "runs/get", query={"run_id": run_id})["run"])
        self._remember_artifact_root(run)
        return run

    def log_metric(self, run_id, key, value, step=None, timestamp=None):
        body = dict(metric_entry(key, value, step, timestamp), run_id=run_id)
        self.call("POST", "runs/log-metric", body)

    def log_param(self, run_id, key, value):
        self.call("POST", "runs/log-parameter", {"run_id": run_id, "key": str(key), "value": str(value)},
                  retry=Retry.IDEMPOTENT)

    def set_tag(self, run_id, key, value):
        self.call("POST", "runs/set-tag", {"run_id": run_id, "key": str(key), "value": str(value)},
                  retry=Retry.IDEMPOTENT)

    def delete_tag(self, run_id, key):
        self.call("POST", "runs/delete-tag", {"run_id": run_id, "key": str(key)}, retry=Retry.IDEMPOTENT)

    def log_batch(self, run_id, metrics=(), params=None, tags=None):
        """Logs metrics (metric_entry dicts), params and tags ({key: value} or
        (key, value) pairs) in as many runs/log-batch requests as MLflow's
        per-request limits need. Returns the number of requests sent."""
        metrics = list(metrics)
        params = _key_values(params)
        tags = _key_values(tags)
        requests = 0
        while metrics or params or tags:
            batch_params, params = params[:MAX_PARAMS_PER_BATCH], params[MAX_PARAMS_PER_BATCH:]
            batch_tags, tags = tags[:MAX_TAGS_PER_BATCH], tags[MAX_TAGS_PER_BATCH:]
            room = min(MAX_METRICS_PER_BATCH, MAX_ENTITIES_PER_BATCH - len(batch_params) - len(batch_tags))
            batch_metrics, metrics = metrics[:room], metrics[room:]
            body = {"run_id": run_id}
            if batch_metrics:
                body["metrics"] = batch_metrics
            if batch_params:
                body["params"] = batch_params
            if batch_tags:
                body["tags"] = batch_tags
            self.call("POST", "runs/log-batch", body, retry=Retry.UNTIL_RESPONSE)
            requests += 1
        return requests

    def get_metric_history(self, run_id, key, page_size=None):
        """Every logged point of metric `key` ({key, value, timestamp, step}),
        following page tokens."""
        points, page_token = [], None
        while True:
            query = {"run_id": run_id, "metric_key": key}
            if page_size:
                query["max_results"] = page_size
            if page_token:
                query["page_token"] = page_token
            response = self.call("GET", "metrics/get-history", query=query)
            points.extend(decode_metric(m) for m in response.get("metrics", []) or [])
            page_token = response.get("next_page_token")
            if not page_token:
                return points

    def search_runs_page(self, project_ids, filter_string="", order_by=None, max_results=SEARCH_PAGE_SIZE,
                         page_token=None, run_view_type="ACTIVE_ONLY"):
        """One page of runs/search: (list of Run, next_page_token or None)."""
        body = {"experiment_ids": [str(i) for i in project_ids], "max_results": int(max_results),
                "run_view_type": run_view_type}
        if filter_string:
            body["filter"] = filter_string
        if order_by:
            body["order_by"] = [order_by] if isinstance(order_by, str) else list(order_by)
        if page_token:
            body["page_token"] = page_token
        response = self.call("POST", "runs/search", body, retry=Retry.IDEMPOTENT)
        return [Run(run) for run in response.get("runs", []) or []], response.get("next_page_token") or None

    def search_runs(self, project_ids, filter_string="", order_by=None, max_results=1000,
                    run_view_type="ACTIVE_ONLY", page_size=SEARCH_PAGE_SIZE):
        """Up to max_results runs (None: all), following page tokens."""
        runs, page_token = [], None
        while max_results is None or len(runs) < max_results:
            wanted = page_size if max_results is None else min(page_size, max_results - len(runs))
            page, page_token = self.search_runs_page(project_ids, filter_string, order_by, wanted,
                                                     page_token, run_view_type)
            runs.extend(page)
            if not page_token:
                break
        return runs if max_results is None else runs[:max_results]

    # ---- artifacts (proxied through the server) ----------------------------

    def _remember_artifact_root(self, run):
        root = _artifact_root_from_uri(run.artifact_uri)
        if root is None:
            root = f"{run.project_id}/{run.run_id}/artifacts"
        with self._cache_lock:
            self._artifact_roots[run.run_id] = root

    def artifact_root(self, run_id):
        """The run's artifact root relative to the artifact API,
        "<experiment_id>/<run_id>/artifacts"."""
        with self._cache_lock:
            root = self._artifact_roots.get(run_id)
        if root is None:
            run = self.get_run(run_id)
            if run.artifact_uri and _artifact_root_from_uri(run.artifact_uri) is None:
                raise KilnError("INVALID_PARAMETER_VALUE",
                                f"Run {run_id} stores artifacts at {run.artifact_uri}, which the "
                                "server does not proxy (expected mlflow-artifacts:/...)")
            with self._cache_lock:
                root = self._artifact_roots[run_id]
        return root

    def _artifact_url(self, run_id, artifact_path):
        path = self.artifact_root(run_id)
        if artifact_path:
            path += "/" + artifact_path
        return ARTIFACTS_PREFIX + "/" + _quote_path(path)

    def log_artifact(self, run_id, local_path, artifact_path=None):
        """Uploads the file at local_path as <artifact_path>/<its name>,
        streamed from disk. Returns the artifact's path in the run."""
        if os.path.isdir(local_path):
            raise KilnError("INVALID_PARAMETER_VALUE",
                            f"{local_path} is a directory; use log_artifacts for directories")
        destination = _clean_artifact_path(posixpath.join(_clean_artifact_path(artifact_path),
                                                          os.path.basename(local_path)))
        opener, size = file_body(local_path)
        self._transport.request("PUT", self._artifact_url(run_id, destination), body=opener,
                                body_length=size, content_type="application/octet-stream",
                                retry=Retry.IDEMPOTENT)
        return destination

    def log_artifacts(self, run_id, local_dir, artifact_path=None):
        """Uploads every file under local_dir, keeping its layout below
        artifact_path. Returns the uploaded artifact paths."""
        uploaded = []
        base = _clean_artifact_path(artifact_path)
        for directory, _, files in sorted(os.walk(local_dir)):
            relative = os.path.relpath(directory, local_dir)
            target = _clean_artifact_path(posixpath.join(base, "" if relative == "." else relative))
            for name in sorted(files):
                uploaded.append(self.log_artifact(run_id, os.path.join(directory, name), target))
        return uploaded

    def log_bytes(self, run_id, data, artifact_file):
        """Uploads `data` (bytes) as artifact_file (a path inside the run)."""
        destination = _clean_artifact_path(artifact_file)
        if not destination:
            raise KilnError("INVALID_PARAMETER_VALUE", "artifact_file must name a file")
        self._transport.request("PUT", self._artifact_url(run_id, destination), body=bytes(data),
                                content_type="application/octet-stream", retry=Retry.IDEMPOTENT)
        return destination

    def list_artifacts(self, run_id, path=None):
        """Direct children of `path` (default: the run's root) as dicts
        {path (relative to the run's root), is_dir, file_size}."""
        sub = _clean_artifact_path(path)
        listed = self.artifact_root(run_id) + ("/" + sub if sub else "")
        response = self._transport.request("GET", ARTIFACTS_PREFIX, query={"path": listed}).json()
        files = []
        for entry in response.get("files", []) or []:
            name = posixpath.basename(entry.get("path", "").rstrip("/"))
            item = {"path": posixpath.join(sub, name) if sub else name,
                    "is_dir": bool(entry.get("is_dir", False))}
            if "file_size" in entry:
                item["file_size"] = int(entry["file_size"])
            files.append(item)
        return files

    def download_artifact(self, run_id, artifact_path, local_path):
        """Streams one artifact file to local_path and returns local_path."""
        url = self._artifact_url(run_id, _clean_artifact_path(artifact_path))
        directory = os.path.dirname(os.path.abspath(local_path))
        os.makedirs(directory, exist_ok=True)
        partial = local_path + ".part"
        try:
            with open(partial, "wb") as sink:
                self._transport.request("GET", url, sink=sink)
            os.replace(partial, local_path)
        finally:
            if os.path.exists(partial):
                os.remove(partial)
        return local_path

    def read_artifact(self, run_id, artifact_path):
        """One artifact file's content as bytes (for small files)."""
        url = self._artifact_url(run_id, _clean_artifact_path(artifact_path))
        return self._transport.request("GET", url).body

    # ---- model registry ----------------------------------------------------

    def create_registered_model(self, name, description=None, tags=None):
        body = {"name": name}
        if description:
            body["description"] = description
        if tags:
            body["tags"] = _key_values(tags)
        return self.call("POST", "registered-models/create", body)["registered_model"]

    def get_registered_model(self, name):
        return self.call("GET", "registered-models/get", query={"name": name})["registered_model"]

    def ensure_registered_model(self, name):
        """The registered model `name`, created when missing."""
        try:
            return self.get_registered_model(name)
        except KilnError as error:
            if error.error_code != "RESOURCE_DOES_NOT_EXIST":
                raise
        try:
            return self.create_registered_model(name)
        except KilnError as error:
            if error.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
            return self.get_registered_model(name)

    def create_model_version(self, name, source, run_id=None, description=None, tags=None):
        body = {"name": name, "source": source}
        if run_id:
            body["run_id"] = run_id
        if description:
            body["description"] = description
        if tags:
            body["tags"] = _key_values(tags)
        return self.call("POST", "model-versions/create", body)["model_version"]

    def get_model_version(self, name, version):
        return self.call("GET", "model-versions/get",
                         query={"name": name, "version": str(version)})["model_version"]

    def set_alias(self, name, alias, version):
        self.call("POST", "registered-models/alias", {"name": name, "alias": alias, "version": str(version)},
                  retry=Retry.IDEMPOTENT)

    def delete_alias(self, name, alias):
        self.call("DELETE", "registered-models/alias", {"name": name, "alias": alias},
                  retry=Retry.IDEMPOTENT)

    def get_model_version_by_alias(self, name, alias):
        return self.call("GET", "registered-models/alias",
                         query={"name": name, "alias": alias})["model_version"]


def _artifact_root_from_uri(artifact_uri):
    """"<experiment_id>/<run_id>/artifacts" from "mlflow-artifacts:/..." (or
    "mlflow-artifacts://host/..."); None for any other scheme."""
    if not artifact_uri:
        return None
    parsed = urllib.parse.urlsplit(artifact_uri)
    if parsed.scheme != "mlflow-artifacts":
        return None
    return urllib.parse.unquote(parsed.path).strip("/")
