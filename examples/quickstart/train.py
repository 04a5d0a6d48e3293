#!/usr/bin/env python3
"""Quickstart, step 1: train four classifiers on scikit-learn's breast-cancer
data set, epoch by epoch, logging each as a Kiln run in project "quickstart":
hyperparameters, per-epoch train/val loss and accuracy, the pickled model and a
JSON description of it. Deterministic: every seed is fixed.

    KILN_TRACKING_URI=http://127.0.0.1:5000 PYTHONPATH=python \\
        /usr/bin/python3 examples/quickstart/train.py

Prints one line per run: "<run name> <run id> val_accuracy=... val_loss=...".
"""

import argparse
import hashlib
import os
import pickle
import sys
import tempfile

import numpy as np
import sklearn
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.linear_model import SGDClassifier
from sklearn.metrics import accuracy_score, log_loss
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

import kiln

SEED = 42
CONFIGURATIONS = [
    {"run_name": "sgd-alpha-0.001", "model": "sgd", "alpha": 0.001, "epochs": 30},
    {"run_name": "sgd-alpha-0.1", "model": "sgd", "alpha": 0.1, "epochs": 30},
    {"run_name": "gbm-depth-1", "model": "gbm", "max_depth": 1, "learning_rate": 0.1,
     "trees_per_epoch": 5, "epochs": 30},
    {"run_name": "gbm-depth-2", "model": "gbm", "max_depth": 2, "learning_rate": 0.05,
     "trees_per_epoch": 5, "epochs": 30},
]


def load_data():
    data = load_breast_cancer()
    x_train, x_val, y_train, y_val = train_test_split(
        data.data, data.target, test_size=0.2, random_state=SEED, stratify=data.target)
    digest = hashlib.sha256(data.data.tobytes() + data.target.tobytes()).hexdigest()
    return data, x_train, x_val, y_train, y_val, digest


def make_epoch_trainer(config, x_train, y_train):
    """A model and a function that trains it for one more epoch."""
    if config["model"] == "sgd":
        model = SGDClassifier(loss="log_loss", alpha=config["alpha"], random_state=SEED)
        order = np.random.default_rng(SEED)
        classes = np.unique(y_train)

        def train_epoch(epoch):
            shuffled = order.permutation(len(y_train))
            model.partial_fit(x_train[shuffled], y_train[shuffled], classes=classes)
    else:
        model = GradientBoostingClassifier(max_depth=config["max_depth"], learning_rate=config["learning_rate"],
                                           n_estimators=0, warm_start=True, random_state=SEED)

        def train_epoch(epoch):
            model.n_estimators = (epoch + 1) * config["trees_per_epoch"]
            model.fit(x_train, y_train)
    return model, train_epoch


def evaluate(model, x, y):
    probabilities = model.predict_proba(x)
    return log_loss(y, probabilities, labels=model.classes_), accuracy_score(y, model.classes_[probabilities.argmax(1)])


def train(config, project, data, x_train, x_val, y_train, y_val, digest):
    scaler = StandardScaler().fit(x_train)
    x_train_scaled, x_val_scaled = scaler.transform(x_train), scaler.transform(x_val)
    params = {key: value for key, value in config.items() if key != "run_name"}
    with kiln.start_run(project=project, run_name=config["run_name"],
                        tags={"dataset": "sklearn.breast_cancer", "dataset_digest": digest[:16]}) as run:
        kiln.log_params(dict(params, seed=SEED, n_train=len(y_train), n_val=len(y_val)))
        model, train_epoch = make_epoch_trainer(config, x_train_scaled, y_train)
        for epoch in range(config["epochs"]):
            train_epoch(epoch)
            train_loss, train_accuracy = evaluate(model, x_train_scaled, y_train)
            val_loss, val_accuracy = evaluate(model, x_val_scaled, y_val)
            kiln.log_metrics({"train_loss": train_loss, "train_accuracy": train_accuracy,
                              "val_loss": val_loss, "val_accuracy": val_accuracy}, step=epoch)

        pipeline = Pipeline([("scale", scaler), ("model", model)])
        with tempfile.TemporaryDirectory(prefix="kiln-quickstart-") as scratch:
            path = os.path.join(scratch, "model.pkl")
            with open(path, "wb") as file:
                pickle.dump(pipeline, file, protocol=pickle.HIGHEST_PROTOCOL)
            kiln.log_artifact(path, "model")
        kiln.log_dict({
            "format_version": 1,
            "flavor": "sklearn-pickle",
            "file": "model.pkl",
            "sklearn_version": sklearn.__version__,
            "python_version": sys.version.split()[0],
            "features": [str(name) for name in data.feature_names],
            "classes": {str(index): str(name) for index, name in enumerate(data.target_names)},
            "dataset_digest": digest,
            "metrics": {"val_accuracy": val_accuracy, "val_loss": val_loss},
        }, "model/metadata.json")
    print(f"{config['run_name']:<18} {run.run_id}  val_accuracy={val_accuracy:.4f}  val_loss={val_loss:.4f}",
          flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", default="quickstart")
    project = parser.parse_args().project
    data, x_train, x_val, y_train, y_val, digest = load_data()
    try:
        for config in CONFIGURATIONS:
            train(config, project, data, x_train, x_val, y_train, y_val, digest)
    except kiln.KilnError as error:
        print(f"train.py: {error} (server {kiln.get_tracking_uri()})", file=sys.stderr)
        return 1
    return 0

if __name__ == "__main__":
    sys.exit(main())
