#!/usr/bin/env python3
"""Table and chart of tapegrad_throughput_bench results (issue 6).

Reads the Google Benchmark JSON that scripts/run_benchmarks.sh writes, pairs the runs
named <workload>/tapegrad, <workload>/eigen and <workload>/torch, and prints for each
workload the median over repetitions of each version, the ratios tapegrad / eigen and
tapegrad / torch, and whether the issue's target is met. Times are CPU times (cpu_time):
every version runs on one thread, so on an idle machine they equal wall-clock time, and
on a shared one they leave out the time the process waited for a core. For the memory
workload the compared value is the peak_bytes counter.

    scripts/plot_benchmarks.py build/bench-release/throughput.json [--png out.png]

The PNG (default: throughput_ratios.png next to the JSON) is a bar chart of the two
ratios per workload on a log scale, with 1.0 marked. Needs python3-matplotlib only for
the chart; without it the table is still printed.
"""

import argparse
import json
import math
import os
import statistics
import sys
from collections import defaultdict

VERSIONS = ("tapegrad", "eigen", "torch")

# The targets of issue 6. Each is (description, test(values, ratios) -> bool or None).
# values[v] is the median of version v; ratios["eigen"], ratios["torch"] are tapegrad / v.
def _le(ratio_name, bound):
    return lambda values, ratios: None if ratios.get(ratio_name) is None else ratios[ratio_name] <= bound


def _both(a, b):
    def test(values, ratios):
        ra, rb = a(values, ratios), b(values, ratios)
        if ra is None or rb is None:
            return None
        return ra and rb
    return test


TARGETS = {
    "per_op": ("<= 300 ns/op", lambda values, ratios: values.get("tapegrad_ns_per_op", math.inf) <= 300),
    "mlp_step/b16": ("<= 1.3x eigen", _le("eigen", 1.3)),
    "mlp_step/b64": ("<= 1.15x eigen", _le("eigen", 1.15)),
    "mlp_step/b256": ("<= 1.15x eigen", _le("eigen", 1.15)),
    "matmul_chain": ("<= 1.1x eigen", _le("eigen", 1.1)),
    "small_mlp": (">= 5x faster than torch", _le("torch", 0.2)),
    "attention": ("<= 1.3x eigen, < 1x torch", _both(_le("eigen", 1.3), _le("torch", 0.999999))),
    "conv_step": ("<= 1.3x eigen, < 1x torch", _both(_le("eigen", 1.3), _le("torch", 0.999999))),
    "mlp_memory/b64": ("peak <= 1.5x eigen", _le("eigen", 1.5)),
}

TO_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}


def load_runs(path):
    """{workload: {version: {"time_ns": [...], counter: [...]}}} from the iteration runs."""
    with open(path) as f:
        data = json.load(f)
    runs = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    for b in data.get("benchmarks", []):
        if b.get("run_type", "iteration") != "iteration" or b.get("error_occurred"):
            continue
        name = b.get("run_name", b["name"])
        workload, _, version = name.rpartition("/")
        if version not in VERSIONS:
            continue
        entry = runs[workload][version]
        entry["time_ns"].append(b["cpu_time"] * TO_NS[b.get("time_unit", "ns")])
        for counter in ("peak_bytes", "ns_per_op"):
            if counter in b:
                entry[counter].append(float(b[counter]))
    return data.get("context", {}), runs


def format_time(ns):
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("us", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.3g} ns"


def format_bytes(b):
    for unit, scale in (("MB", 1e6), ("KB", 1e3)):
        if b >= scale:
            return f"{b / scale:.3g} {unit}"
    return f"{b:.0f} B"


def summarize(runs):
    """One row per workload: medians, ratios, target and verdict."""
    rows = []
    for workload, versions in runs.items():
        memory = any("peak_bytes" in v for v in versions.values())
        key = "peak_bytes" if memory else "time_ns"
        values, shown = {}, {}
        for v in VERSIONS:
            if v in versions and versions[v][key]:
                values[v] = statistics.median(versions[v][key])
                shown[v] = format_bytes(values[v]) if memory else format_time(values[v])
                if versions[v]["ns_per_op"]:
                    ns = statistics.median(versions[v]["ns_per_op"]) * 1e9  # the counter is in seconds
                    values[v + "_ns_per_op"] = ns
                    shown[v] += f" ({ns:.4g} ns/op)"
        ratios = {}
        for v in ("eigen", "torch"):
            if "tapegrad" in values and values.get(v):
                ratios[v] = values["tapegrad"] / values[v]
        target, test = TARGETS.get(workload, ("", lambda *_: None))
        verdict = test(values, ratios)
        rows.append({
            "workload": workload,
            "shown": shown,
            "ratios": ratios,
            "target": target,
            "met": "-" if verdict is None else ("met" if verdict else "MISSED"),
            "repetitions": max(len(versions[v][key]) for v in versions),
        })
    # The order (the JSON's order changes with random interleaving).
    order = list(TARGETS)
    rows.sort(key=lambda r: (order.index(r["workload"]) if r["workload"] in order else len(order), r["workload"]))
    return rows


def print_table(rows, context):
    print(f"machine: {context.get('num_cpus', '?')} cpus at {context.get('mhz_per_cpu', '?')} MHz, "
          f"load average {', '.join(f'{x:.2f}' for x in context.get('load_avg', []))}; "
          f"CPU-time medians over {max((r['repetitions'] for r in rows), default=0)} repetitions")
    header = ["workload", "tapegrad", "hand Eigen", "libtorch", "tg / Eigen", "tg / torch", "target", ""]
    table = [header]
    for r in rows:
        table.append([
            r["workload"],
            r["shown"].get("tapegrad", "-"),
            r["shown"].get("eigen", "-"),
            r["shown"].get("torch", "-"),
            f"{r['ratios']['eigen']:.2f}x" if "eigen" in r["ratios"] else "-",
            f"{r['ratios']['torch']:.2f}x" if "torch" in r["ratios"] else "-",
            r["target"],
            r["met"],
        ])
    # Markdown, so the table pastes straight into docs/performance.md.
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for i, row in enumerate(table):
        print("| " + " | ".join(cell.ljust(w) for cell, w in zip(row, widths)) + " |")
        if i == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")


def plot(rows, png):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("note: python3-matplotlib is not installed, no chart written", file=sys.stderr)
        return
    names = [r["workload"] for r in rows]
    fig, ax = plt.subplots(figsize=(max(8, 1.1 * len(names)), 4.8))
    width = 0.38
    for k, (version, label, color) in enumerate((("eigen", "tapegrad / hand Eigen", "#4c72b0"),
                                                 ("torch", "tapegrad / libtorch", "#dd8452"))):
        xs = [i + (k - 0.5) * width for i in range(len(rows)) if version in rows[i]["ratios"]]
        ys = [r["ratios"][version] for r in rows if version in r["ratios"]]
        bars = ax.bar(xs, ys, width, label=label, color=color)
        ax.bar_label(bars, labels=[f"{y:.2f}" for y in ys], fontsize=7, padding=2)
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_yscale("log")
    ax.set_ylabel("tapegrad / other (below 1: tapegrad ahead)")
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(names, rotation=30, ha="right")
    ax.set_title("tapegrad backward-pass throughput, single thread (medians)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(png, dpi=120)
    print(f"chart: {png}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("json", help="Google Benchmark JSON output of tapegrad_throughput_bench")
    parser.add_argument("--png", help="where to write the chart (default: next to the JSON)")
    args = parser.parse_args()
    context, runs = load_runs(args.json)
    if not runs:
        sys.exit(f"{args.json}: no <workload>/<version> runs found")
    rows = summarize(runs)
    print_table(rows, context)
    plot(rows, args.png or os.path.join(os.path.dirname(os.path.abspath(args.json)), "throughput_ratios.png"))


if __name__ == "__main__":
    main()
