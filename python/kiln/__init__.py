"""Kiln's Python client: log runs to a Kiln server and use its model registry.

    import kiln
    with kiln.start_run(project="churn", run_name="baseline"):
        kiln.log_params({"alpha": 0.01})
        kiln.log_metric("val_loss", 0.42, step=1)
        kiln.log_artifact("model.pkl", "model")

Configured by KILN_TRACKING_URI (http://host:port or unix:///path/to/socket)
and KILN_TOKEN. Standard library only. See docs/python-client.md.
"""

from kiln.client import KilnClient
from kiln.entities import Run
from kiln.errors import KilnError
from kiln.features import FeatureStoreClient, OnlineFeatures
from kiln.fluent import (
    active_run,
    end_run,
    flush,
    get_client,
    get_metric_history,
    get_model_version_by_alias,
    get_run,
    get_tracking_uri,
    log_artifact,
    log_artifacts,
    log_dict,
    log_metric,
    log_metrics,
    log_param,
    log_params,
    log_text,
    register_model,
    search_runs,
    set_alias,
    set_tag,
    set_tags,
    set_tracking_uri,
    start_run,
)
from kiln.run import ActiveRun
from kiln.training import TrainingClient

__version__ = "0.1.0"

__all__ = [
    "ActiveRun", "FeatureStoreClient", "KilnClient", "KilnError", "OnlineFeatures", "Run", "TrainingClient", "active_run", "end_run", "flush", "get_client",
    "get_metric_history", "get_model_version_by_alias", "get_run", "get_tracking_uri", "log_artifact",
    "log_artifacts", "log_dict", "log_metric", "log_metrics", "log_param", "log_params", "log_text",
    "register_model", "search_runs", "set_alias", "set_tag", "set_tags", "set_tracking_uri", "start_run",
]
