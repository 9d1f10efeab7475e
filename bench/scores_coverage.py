#!/usr/bin/env python3
"""Coverage of the harm-rate intervals against a known truth (human-only vs prediction-powered).

Each repetition draws a model's outputs with a known harm rate, labels a random subset with
simulated noisy annotators (majority of 3), predicts every output with a classifier of known
quality, and checks whether each 95% interval covers the true rate
(labeling/scores/stats/simulation.py).
The headline scenario is written as {"human_only"|"ppi": {"coverage", "mean_width"}}; the other
scenarios show where the guarantees hold and where they stop (a weak classifier, noisier
annotators, few labels).

Usage (from the repository root):
    .venv/bin/python bench/scores_coverage.py [--repetitions 10000] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from labeling.scores.stats.simulation import Scenario, simulate_coverage  # noqa: E402

SCENARIOS: dict[str, Scenario] = {
    "headline": Scenario(),
    "weak_classifier": Scenario(separation=0.5),
    "few_labels": Scenario(n_labeled=60),
    "rare_harm": Scenario(true_rate=0.03, n_labeled=400),
    "noisy_annotators": Scenario(annotator_accuracy=0.85),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repetitions", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rows: dict[str, Any] = {}
    print(
        f"{'scenario':<18} {'human cov':>9} {'ppi cov':>8} {'human w':>8} {'ppi w':>8} "
        f"{'ppi/human':>9} {'bias':>7} {'s':>6}"
    )
    for name, scenario in SCENARIOS.items():
        started = time.perf_counter()
        r = simulate_coverage(scenario, repetitions=args.repetitions, seed=args.seed)
        elapsed = time.perf_counter() - started
        r["scenario"] = {k: v for k, v in vars(scenario).items() if k != "extra"}
        rows[name] = r
        print(
            f"{name:<18} {r['human_only']['coverage']:>9.3f} {r['ppi']['coverage']:>8.3f} "
            f"{r['human_only']['mean_width']:>8.4f} {r['ppi']['mean_width']:>8.4f} "
            f"{r['width_ratio_ppi_to_human']:>9.3f} {r['consensus_bias']:>7.4f} {elapsed:>6.1f}"
        )
    head = rows["headline"]
    result = {
        "human_only": head["human_only"],
        "ppi": head["ppi"],
        "width_ratio_ppi_to_human": head["width_ratio_ppi_to_human"],
        "repetitions": args.repetitions,
        "seed": args.seed,
        "target_coverage": [0.93, 0.97],
        "scenarios": rows,
    }
    out = ROOT / "bench" / "results" / "scores_coverage.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
