"""Shapes returned by the client: runs stay the server's JSON dicts, with
conveniences layered on top."""

_NON_FINITE = {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}


def metric_value(value):
    """A metric value from the wire as a float ("NaN"/"Infinity"/"-Infinity"
    arrive as strings)."""
    if isinstance(value, str):
        if value in _NON_FINITE:
            return _NON_FINITE[value]
        return float(value)
    return float(value)


def decode_metric(metric):
    """Returns the metric dict with its value as a float (in place)."""
    if "value" in metric:
        metric["value"] = metric_value(metric["value"])
    return metric


class Run(dict):
    """A run exactly as the server returns it ({"info": {...}, "data":
    {"metrics": [...], "params": [...], "tags": [...]}}), plus read-only
    conveniences: run_id, status, metrics/params/tags as {key: value}."""

    def __init__(self, payload):
        super().__init__(payload)
        for metric in self.get("data", {}).get("metrics", []) or []:
            decode_metric(metric)

    @property
    def info(self):
        return self.get("info", {})

    @property
    def data(self):
        return self.get("data", {})

    @property
    def run_id(self):
        return self.info.get("run_id") or self.info.get("run_uuid")

    @property
    def project_id(self):
        return self.info.get("experiment_id")

    @property
    def run_name(self):
        return self.info.get("run_name")

    @property
    def status(self):
        return self.info.get("status")

    @property
    def artifact_uri(self):
        return self.info.get("artifact_uri")

    @property
    def metrics(self):
        """Latest value of each metric."""
        return {m["key"]: m["value"] for m in self.data.get("metrics", []) or []}

    @property
    def params(self):
        return {p["key"]: p["value"] for p in self.data.get("params", []) or []}

    @property
    def tags(self):
        return {t["key"]: t["value"] for t in self.data.get("tags", []) or []}

    def __repr__(self):
        return f"Run(run_id={self.run_id!r}, run_name={self.run_name!r}, status={self.status!r})"
