#!/usr/bin/env python3
"""Turns bench/run's JSON lines into the figure / anchor / ratio table.

Writes every figure, the machine and the commands to --out (JSON) and prints
a plain table and the markdown rows for bench/RESULTS.md. Standard library only.
"""
import argparse
import datetime
import json
import os
import platform
import subprocess

# MLflow-Go's published k6 figures (mlflow/mlflow-go benchmarks/README.md):
# mean request duration in ms at 20 virtual users, PostgreSQL store.
ANCHORS = {
    "LogMetricBatch10": (18.19, 58.43),
    "CreateRun": (13.71, 25.33),
    "SearchRuns": (104.42, 1004.0),
}


def machine():
    info = {"nproc": os.cpu_count(), "kernel": platform.release()}
    try:
        with open("/proc/cpuinfo") as f:
            info["cpu"] = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        info["cpu"] = "unknown"
    try:
        info["free_g"] = subprocess.run(["free", "-g"], capture_output=True, text=True).stdout.strip()
    except OSError:
        pass
    try:
        info["git_commit"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                            text=True, cwd=os.path.dirname(__file__)).stdout.strip()
    except OSError:
        pass
    return info


def find(results, backend, bench, **match):
    for r in results:
        if r.get("backend") == backend and r.get("bench") == bench and "error" not in r and \
                all(r.get(k) == v for k, v in match.items()):
            return r
    return None


def fmt_rate(value, unit):
    return f"{value:,.0f} {unit}"


def fmt_ms(value):
    return f"{value:.2f} ms" if value < 100 else f"{value:.0f} ms"


def latency(r, key="request"):
    s = r[key]
    return f"mean {fmt_ms(s['mean_ms'])}, p50 {fmt_ms(s['p50_ms'])}, p99 {fmt_ms(s['p99_ms'])}"


def build_rows(results):
    rows = []
    backends = [b for b in ("sqlite-full", "sqlite-normal", "postgresql")
                if any(r.get("backend") == b for r in results)]
    for b in backends:
        write_base = ("baseline-full@" if b == "sqlite-full" else "baseline-normal@") + b
        read_base = "baseline-reads"

        def row(name, figure, anchor="—", vs_anchor="—", target="—", met=None, base="—", vs_base="—"):
            rows.append({"benchmark": name, "backend": b, "kiln": figure, "anchor": anchor, "vs_anchor": vs_anchor,
                         "target": target, "met": met, "baseline": base, "vs_baseline": vs_base})

        def vs_rate(kiln_rate, base_rate):
            return f"{kiln_rate / base_rate:.2f}×" if base_rate else "—"

        r = find(results, b, "log-batch", clients=4)
        base = find(results, write_base, "log-batch")
        if r:
            target_met = r["points_per_s"] >= 200000 if b.startswith("sqlite") else None
            row("log-batch ingest, 1000 points/request, 4 clients",
                fmt_rate(r["points_per_s"], "points/s") + f" ({latency(r)})",
                target="≥ 200,000 points/s (SQLite)" if b.startswith("sqlite") else "—", met=target_met,
                base=fmt_rate(base["points_per_s"], "points/s") if base else "—",
                vs_base=vs_rate(r["points_per_s"], base["points_per_s"]) if base else "—")

        r = find(results, b, "log-metric")
        base = find(results, write_base, "log-metric")
        if r:
            row("log-metric, 16 keep-alive clients", fmt_rate(r["ops_per_s"], "req/s") + f" ({latency(r)})",
                base=fmt_rate(base["ops_per_s"], "txn/s") if base else "—",
                vs_base=vs_rate(r["ops_per_s"], base["ops_per_s"]) if base else "—")

        for bench, name, key, clients in (
                ("log-batch-10-go", "LogMetricBatch10 (MLflow-Go shape), 20 clients", "LogMetricBatch10", 20),
                ("create-run", "CreateRun (MLflow-Go shape), 20 clients", "CreateRun", 20)):
            r = find(results, b, bench, clients=clients)
            base = find(results, write_base, bench)
            if r:
                go, py = ANCHORS[key]
                mean = r["request"]["mean_ms"]
                row(name, latency(r) + f"; {fmt_rate(r['ops_per_s'], 'req/s')}",
                    anchor=f"Go {go} ms / Python {py} ms", vs_anchor=f"{go / mean:.1f}× Go, {py / mean:.1f}× Python",
                    target=f"≥ 5× Go (mean ≤ {go / 5:.2f} ms)", met=go / mean >= 5,
                    base=fmt_rate(base["ops_per_s"], "txn/s") if base else "—",
                    vs_base=vs_rate(r["ops_per_s"], base["ops_per_s"]) if base else "—")

        r = find(results, b, "create-run", clients=1)
        base = find(results, write_base, "create-run")
        if r:
            row("CreateRun, 1 client", latency(r),
                base=f"{fmt_ms(base['operation']['mean_ms'])}/txn" if base else "—",
                vs_base=vs_rate(base["operation"]["mean_ms"], r["request"]["mean_ms"]) if base else "—")

        r = find(results, b, "search-runs-go")
        base = find(results, read_base, "search-runs-go", variant="plain")
        if r:
            go, py = ANCHORS["SearchRuns"]
            mean = r["request"]["mean_ms"]
            created = find(results, b, "create-run", clients=20)
            runs = created["operations"] if created else "?"
            row(f"SearchRuns (MLflow-Go shape: {runs:,} runs with 2 tags, max_results 1000, no filter), 20 clients",
                latency(r) + f"; {r['ops_per_s']:.1f} req/s",
                anchor=f"Go {go} ms / Python {py} ms", vs_anchor=f"{go / mean:.1f}× Go, {py / mean:.1f}× Python",
                target=f"≥ 5× Go (mean ≤ {go / 5:.1f} ms)", met=go / mean >= 5,
                base=f"{fmt_ms(base['operation']['mean_ms'])}/query, 1 thread ({1000 / base['operation']['mean_ms']:.1f} q/s)"
                if base else "—",
                vs_base=vs_rate(r["ops_per_s"], 1000 / base["operation"]["mean_ms"]) if base else "—")

        seed = find(results, b, "seed-runs")
        for max_results in (100, 1000):
            r = find(results, b, "search-runs", max_results=max_results)
            base = find(results, read_base, "search-runs", max_results=max_results, variant="plain")
            analyzed = find(results, read_base, "search-runs", max_results=max_results, variant="analyzed")
            if r:
                go, _ = ANCHORS["SearchRuns"]
                p50 = r["request"]["p50_ms"]
                runs = seed["operations"] if seed else "?"
                row(f"SearchRuns over {runs:,} runs × (20 params + 20 metrics), filter + order_by, "
                    f"max_results {max_results}, 1 client (≈{r['mean_runs_returned']:.0f} runs returned)",
                    latency(r), anchor=f"(Go {go} ms: other workload)", vs_anchor=f"{go / p50:.1f}× (p50 vs Go mean)",
                    target="p50 < 100 ms" if max_results == 100 else "—",
                    met=(p50 < 100) if max_results == 100 else None,
                    base=f"p50 {fmt_ms(base['operation']['p50_ms'])} (query alone {fmt_ms(base['query_only']['p50_ms'])})"
                    + (f"; after ANALYZE p50 {fmt_ms(analyzed['operation']['p50_ms'])}" if analyzed else "")
                    if base else "—",
                    vs_base=vs_rate(base["operation"]["p50_ms"], p50) if base else "—")

        base = find(results, read_base, "get-history")
        for page_size, label in ((0, "one request"), (25000, "pages of 25,000")):
            r = find(results, b, "get-history", page_size=page_size)
            if r:
                row(f"get-history, {r['points']:,} steps of one metric, {label} ({r['pages']} pages)",
                    latency(r, "operation") + f"; {fmt_rate(r['points_per_s'], 'points/s')}",
                    base=f"{fmt_ms(base['operation']['mean_ms'])}" if base else "—",
                    vs_base=vs_rate(base["operation"]["mean_ms"], r["operation"]["mean_ms"]) if base else "—")

        base = find(results, write_base, "seed-runs")
        if seed:
            row(f"seeding: runs/create + runs/log-batch (20 params, 20 metrics) per run, 8 clients",
                f"{seed['runs_per_s']:,.0f} runs/s = {seed['entities_per_s']:,.0f} params+metrics/s "
                f"({seed['operations']:,} runs in {seed['seconds']:.0f} s)",
                base=f"{base['runs_per_s']:,.0f} runs/s (same 2 transactions per run)" if base else "—",
                vs_base=vs_rate(seed["runs_per_s"], base["runs_per_s"]) if base else "—")
    return rows


def markdown(rows):
    lines = ["| benchmark | backend | Kiln | anchor (MLflow-Go k6) | vs anchor | target | met | "
             "SQLite C API baseline | Kiln vs baseline |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        met = {True: "yes", False: "**no**", None: "—"}[r["met"]]
        lines.append(f"| {r['benchmark']} | {r['backend']} | {r['kiln']} | {r['anchor']} | {r['vs_anchor']} | "
                     f"{r['target']} | {met} | {r['baseline']} | {r['vs_baseline']} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--results", required=True)
    parser.add_argument("--failures", required=True)
    parser.add_argument("--scale", default="full")
    parser.add_argument("--command", default="bench/run")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    with open(args.results) as f:
        results = [json.loads(line) for line in f if line.strip()]
    with open(args.failures) as f:
        failures = [line.rstrip("\n") for line in f if line.strip()]
    rows = build_rows(results)
    report = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "scale": args.scale, "command": args.command, "machine": machine(), "anchors_ms": ANCHORS,
              "rows": rows, "results": results, "failures": failures}
    with open(args.out, "w") as f:
        json.dump(report, f, indent=1)

    print()
    for r in rows:
        met = {True: "MET", False: "MISSED", None: ""}[r["met"]]
        print(f"[{r['backend']}] {r['benchmark']}\n    Kiln: {r['kiln']}\n    anchor: {r['anchor']}  ->  "
              f"{r['vs_anchor']}   target: {r['target']} {met}\n    baseline: {r['baseline']}  ->  {r['vs_baseline']}")
    print("\nMarkdown rows for bench/RESULTS.md:\n")
    print(markdown(rows))
    print("\nCommands:")
    seen = set()
    for r in results:
        if r["command"] not in seen:  # a baseline search prints several figures
            seen.add(r["command"])
            print(f"  [{r['backend']}] {r['command']}")
    if failures:
        print("\nFAILURES:")
        for line in failures:
            print("  " + line)


if __name__ == "__main__":
    main()
