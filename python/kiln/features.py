"""Feature-store calls of the Python client: training sets, online features,
push, materialization. The JSON shapes are Kiln's /api/features API, which
follows Feast's feature server for online reads and push (docs/api/features.md).

    from kiln import KilnClient
    from kiln.features import FeatureStoreClient
    fs = FeatureStoreClient(KilnClient())
    info = fs.training_set("delay_model", entities=rows, timestamp_column="departure",
                           labels=["delayed = delay > 15"], run_id=run.run_id)
    fs.download_training_set(info, "train.csv")
    online = fs.get_online_features("delay_model", {"origin": ["ORD"]})
"""

import os

from kiln.transport import Retry, encode_json


def _columns(entities):
    """Accepts {column: [values]} or a list of row dicts; returns columns."""
    if isinstance(entities, dict):
        return {name: list(values) for name, values in entities.items()}
    columns = {}
    rows = list(entities)
    for index, row in enumerate(rows):
        for name in row:
            columns.setdefault(name, [None] * index)
        for name, values in columns.items():
            values.append(row.get(name))
    return columns


class OnlineFeatures:
    """The answer of get_online_features: names, then per feature the values,
    statuses (PRESENT, NULL_VALUE, NOT_FOUND, OUTSIDE_MAX_AGE) and event
    timestamps, row by row."""

    def __init__(self, payload):
        self.payload = payload
        self.feature_names = payload["metadata"]["feature_names"]
        self.results = payload["results"]

    def to_dict(self):
        """{feature: [value per row]}"""
        return {name: result["values"] for name, result in zip(self.feature_names, self.results)}

    def statuses(self):
        """{feature: [status per row]}"""
        return {name: result["statuses"] for name, result in zip(self.feature_names, self.results)}

    def rows(self):
        """One dict per entity row."""
        count = len(self.results[0]["values"]) if self.results else 0
        return [{name: result["values"][i] for name, result in zip(self.feature_names, self.results)}
                for i in range(count)]


class FeatureStoreClient:
    """Feature-store access through a KilnClient (same server, token, retries)."""

    def __init__(self, client, project=None):
        self.client = client
        self.project = project

    def _post(self, path, body):
        if self.project and "project" not in body:
            body = dict(body, project=self.project)
        response = self.client._transport.request(
            "POST", "/api/features/" + path, body=encode_json(body),
            content_type="application/json", retry=Retry.UNSENT_ONLY)
        return response.json()

    def _get(self, path, query=None):
        query = dict(query or {})
        if self.project and "project" not in query:
            query["project"] = self.project
        return self.client._transport.request("GET", "/api/features/" + path, query=query).json()

    def training_set(self, service=None, entities=None, features=None, timestamp_column="event_timestamp",
                     labels=(), run_id=None, name=None, require_created_before_entity=False,
                     entities_query=None, entities_source=None):
        """Joins entity rows point-in-time with a feature service (or a list of
        "view.feature" refs). entities: {column: [values]} or a list of row
        dicts; or entities_query (a SELECT run against entities_source).
        labels: column names or "name = expression". With run_id the set is
        recorded as a dataset input of that run. Returns the training-set info
        (digest, rows, columns, null_fractions, artifact_path, …)."""
        body = {"entity_timestamp": timestamp_column}
        if service:
            body["feature_service"] = service
        if features:
            body["features"] = list(features)
        if entities is not None:
            body["entities"] = _columns(entities)
        if entities_query:
            body["entities_query"] = entities_query
            if entities_source:
                body["entities_source"] = entities_source
        if labels:
            body["labels"] = list(labels)
        if run_id:
            body["run_id"] = run_id
        if name:
            body["name"] = name
        if require_created_before_entity:
            body["require_created_before_entity"] = True
        return self._post("training-set", body)["training_set"]

    def download_training_set(self, info, local_path):
        """Streams a training set's CSV (info from training_set, or a digest)
        to local_path and returns local_path."""
        digest = info["digest"] if isinstance(info, dict) else info
        project = info.get("project") if isinstance(info, dict) else self.project
        query = {"project": project} if project else None
        partial = local_path + ".part"
        os.makedirs(os.path.dirname(os.path.abspath(local_path)), exist_ok=True)
        try:
            with open(partial, "wb") as sink:
                self.client._transport.request("GET", "/api/features/training-sets/" + digest,
                                               query=query, sink=sink)
            os.replace(partial, local_path)
        finally:
            if os.path.exists(partial):
                os.remove(partial)
        return local_path

    def get_online_features(self, service=None, entities=None, features=None, request_data=None,
                            as_of=None):
        """Online values for entity rows ({join_key: [values]} or row dicts),
        in request order, with a status per value. as_of (ISO 8601) judges
        TTLs at that time instead of now, for replays and backtests."""
        body = {"entities": _columns(entities or {})}
        if as_of:
            body["as_of"] = as_of
        if service:
            body["feature_service"] = service
        if features:
            body["features"] = list(features)
        if request_data:
            body["request_data"] = _columns(request_data)
        return OnlineFeatures(self._post("online", body))

    def push(self, source, rows, to="online"):
        """Writes rows ({column: [values]} or row dicts) of a push source to
        "online", "offline" or "online_and_offline". Returns counts, with the
        reason for every quarantined row."""
        return self._post("push", {"push_source_name": source, "df": _columns(rows), "to": to})

    def materialize(self, start=None, end=None, views=None, incremental=False):
        """Writes the latest values per entity to the online store; start/end
        are ISO 8601 strings. Returns one result per feature view."""
        body = {}
        if start:
            body["start"] = start
        if end:
            body["end"] = end
        if views:
            body["views"] = list(views)
        if incremental:
            body["incremental"] = True
        return self._post("materialize", body)["views"]

    def quarantine(self, max_results=100):
        """Rows refused by expectations, newest first."""
        return self._get("quarantine", {"max_results": max_results})["rows"]
