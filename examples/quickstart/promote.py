#!/usr/bin/env python3
"""Quickstart, step 2: find the finished run with the best validation accuracy
(ties broken by the lower validation loss), register its model as
"quickstart-classifier" and point the alias `champion` at the new version
(nothing changes when the champion already comes from that run).

    KILN_TRACKING_URI=http://127.0.0.1:5000 PYTHONPATH=python \\
        /usr/bin/python3 examples/quickstart/promote.py [--compare]

--compare also prints the runs side by side (what `kiln runs compare` shows).
"""

import argparse
import sys

import kiln

MODEL_NAME = "quickstart-classifier"
ALIAS = "champion"
COMPARED_METRICS = ["val_accuracy", "val_loss", "train_accuracy", "train_loss"]


def format_value(value):
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def print_comparison(runs, champion_id):
    """The runs as columns; params, then metrics, as rows."""
    param_keys = sorted({key for run in runs for key in run.params})
    rows = [("run", [run.run_name or run.run_id[:8] for run in runs]),
            ("run id", [run.run_id[:12] for run in runs]),
            ("", ["* champion" if run.run_id == champion_id else "" for run in runs])]
    rows += [(f"params.{key}", [run.params.get(key) for run in runs]) for key in param_keys]
    rows += [(f"metrics.{key}", [run.metrics.get(key) for run in runs]) for key in COMPARED_METRICS]
    label_width = max(len(label) for label, _ in rows)
    cells = [[format_value(value) for value in values] for _, values in rows]
    widths = [max(len(row[column]) for row in cells) for column in range(len(runs))]
    for (label, _), row in zip(rows, cells):
        print(f"{label:<{label_width}}  " + "  ".join(f"{cell:>{width}}" for cell, width in zip(row, widths)))


def current_champion():
    """The model version the alias points at, or None."""
    try:
        return kiln.get_model_version_by_alias(MODEL_NAME, ALIAS)
    except kiln.KilnError as error:
        if error.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE") and error.http_status in (400, 404):
            return None
        raise


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", default="quickstart")
    parser.add_argument("--compare", action="store_true", help="print the runs side by side")
    args = parser.parse_args()
    try:
        runs = kiln.search_runs(project=args.project, filter_string="attributes.status = 'FINISHED'",
                                order_by=["metrics.val_accuracy DESC", "metrics.val_loss ASC"])
        candidates = [run for run in runs if "val_accuracy" in run.metrics]
        if not candidates:
            print(f"promote.py: no finished run in project {args.project!r} logged val_accuracy; "
                  "run train.py first", file=sys.stderr)
            return 1
        best = candidates[0]
        current = current_champion()
        if current is not None and current.get("run_id") == best.run_id:
            version, outcome = current, "already"
        else:
            version, outcome = kiln.register_model(best.run_id, MODEL_NAME), "->"
            kiln.set_alias(MODEL_NAME, ALIAS, version["version"])
        print(f"champion: run {best.run_id} ({best.run_name}, val_accuracy="
              f"{best.metrics['val_accuracy']:.4f}) {outcome} {MODEL_NAME} version {version['version']} "
              f"@{ALIAS}")
        if args.compare:
            print()
            print_comparison(candidates, best.run_id)
    except kiln.KilnError as error:
        print(f"promote.py: {error} (server {kiln.get_tracking_uri()})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
