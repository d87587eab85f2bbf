#!/usr/bin/env python3
"""Loss and metric curves from a tapegrad training log (tg::train::TrainingLog).

Reads a CSV file (a header line, one record per line) or a JSON Lines file (one object
per line; the format is told by the first character, '{' for JSONL) and draws one
subplot per quantity against epoch or step. Columns named train_X / test_X / val_X (or
X_train / X_test / X_val) are the same quantity X: their curves share one subplot, so
train and test loss sit on the same axes. Other numeric columns get a subplot each;
text columns are skipped. nan / inf / null values leave gaps.

    scripts/plot_training.py run.csv --out run.png [--title "MLP on Fashion-MNIST"] [--x epoch|step]

--x defaults to epoch when the log has that column, else step, else the record number.
Needs matplotlib (Debian: apt-get install python3-matplotlib); drawn with the Agg
backend, so no display is needed. Debian's package installs it for /usr/bin/python3: when
another interpreter runs this script without matplotlib, the script runs itself again
with /usr/bin/python3 if that one has it.
"""

import argparse
import csv
import json
import math
import os
import sys

SPLITS = ("train", "test", "val")
X_COLUMNS = ("epoch", "step")


def load_matplotlib():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        return plt
    except ImportError:
        system = "/usr/bin/python3"
        if os.path.realpath(sys.executable) != os.path.realpath(system) and os.path.exists(system) \
                and not os.environ.get("TAPEGRAD_PLOT_REEXEC"):
            os.environ["TAPEGRAD_PLOT_REEXEC"] = "1"
            os.execv(system, [system] + sys.argv)
        sys.exit("plot_training.py: matplotlib is not installed for %s; install it with "
                 "'apt-get install python3-matplotlib' (or 'pip install matplotlib')" % sys.executable)


def to_number(value):
    """A float for numbers (nan for nan/inf/null/empty), None for text."""
    if value is None:
        return math.nan
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) else math.nan
    text = str(value).strip()
    if text == "":
        return math.nan
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else math.nan


def read_log(path):
    """(columns in order, list of records as dicts)."""
    with open(path, newline="", encoding="utf-8") as f:
        text = f.read()
    if text.lstrip().startswith("{"):
        records, columns = [], []
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as e:
                sys.exit("plot_training.py: %s: line %d is not JSON (%s)" % (path, number, e))
            if not isinstance(record, dict):
                sys.exit("plot_training.py: %s: line %d is not a JSON object" % (path, number))
            columns += [k for k in record if k not in columns]
            records.append(record)
        return columns, records
    reader = csv.DictReader(text.splitlines())
    if not reader.fieldnames:
        sys.exit("plot_training.py: %s: no header line" % path)
    return list(reader.fieldnames), list(reader)


def split_name(column):
    """('loss', 'train') for train_loss or loss_train; (column, None) otherwise."""
    for split in SPLITS:
        if column.startswith(split + "_") and len(column) > len(split) + 1:
            return column[len(split) + 1:], split
        if column.endswith("_" + split) and len(column) > len(split) + 1:
            return column[:-len(split) - 1], split
    return column, None


def numeric_columns(columns, records):
    """The columns whose every value is a number or missing, as {column: [floats]}."""
    series = {}
    for column in columns:
        values = [to_number(r.get(column)) for r in records]
        if values and all(v is not None for v in values) and not all(math.isnan(v) for v in values):
            series[column] = values
    return series


def quantities(series, x_column):
    """{quantity: [(label, column)]} in first-seen order, train before test before val."""
    groups = {}
    for column in series:
        if column == x_column or column in X_COLUMNS:
            continue
        name, split = split_name(column)
        groups.setdefault(name, []).append((split or name, column))
    order = {s: i for i, s in enumerate(SPLITS)}
    for curves in groups.values():
        curves.sort(key=lambda c: order.get(c[0], -1))
    return groups


def main():
    parser = argparse.ArgumentParser(description="Plot a tapegrad training log (CSV or JSONL) to a PNG.")
    parser.add_argument("log", help="the CSV or JSONL file TrainingLog wrote")
    parser.add_argument("--out", help="the PNG to write (default: the log's name with .png)")
    parser.add_argument("--title", help="the figure's title (default: the log's file name)")
    parser.add_argument("--x", choices=X_COLUMNS, help="the horizontal axis (default: epoch if present, else step)")
    args = parser.parse_args()

    if not os.path.exists(args.log):
        sys.exit("plot_training.py: %s: no such file" % args.log)
    columns, records = read_log(args.log)
    if not records:
        sys.exit("plot_training.py: %s: the log has no records" % args.log)
    series = numeric_columns(columns, records)
    x_column = args.x or next((c for c in X_COLUMNS if c in series), None)
    if args.x and args.x not in series:
        sys.exit("plot_training.py: %s: no numeric column '%s' for --x (columns: %s)"
                 % (args.log, args.x, ", ".join(columns)))
    xs = series[x_column] if x_column else list(range(1, len(records) + 1))
    groups = quantities(series, x_column)
    if not groups:
        sys.exit("plot_training.py: %s: no numeric column to plot besides %s" % (args.log, x_column or "the x axis"))

    plt = load_matplotlib()
    fig, axes = plt.subplots(len(groups), 1, figsize=(7, 2.6 * len(groups) + 0.6), sharex=True, squeeze=False)
    for ax, (name, curves) in zip(axes[:, 0], groups.items()):
        for label, column in curves:
            ax.plot(xs, series[column], marker="o" if len(xs) <= 30 else None, markersize=3, label=label)
        ax.set_ylabel(name)
        ax.grid(True, alpha=0.3)
        if len(curves) > 1:
            ax.legend()
    axes[-1, 0].set_xlabel(x_column or "record")
    fig.suptitle(args.title or os.path.basename(args.log))
    fig.tight_layout()
    out = args.out or os.path.splitext(args.log)[0] + ".png"
    fig.savefig(out, dpi=100)
    print("plot_training.py: wrote %s (%d records, %d subplots: %s)"
          % (out, len(records), len(groups), ", ".join(groups)))


if __name__ == "__main__":
    main()
