"""Figures of a co-design sweep: paper 002 Fig. 3c, 3d, S8 and S9, error bars over seeds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from hil.grids.codesign import summarise


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _steps(rows) -> list[int]:
    return sorted(int(k[5:]) for k in rows[0] if k.startswith("acc_T"))


def write_figures(rows: list[dict[str, Any]], out: Path, software: float | None,
                  prefix: str = "codesign") -> dict[str, Path]:
    """Four PNGs under ``out``; returns their paths by figure name."""
    plt = _pyplot()
    out.mkdir(parents=True, exist_ok=True)
    widths = sorted({r["width"] for r in rows})
    etas = sorted({r["eta"] for r in rows})
    colours = plt.cm.viridis(np.linspace(0, 0.9, len(widths)))
    acc = summarise(rows, "accuracy")
    paths = {}
    seeds = max(n for _, _, n in acc.values())
    steps = _steps(rows)

    fig, ax = plt.subplots(figsize=(5.5, 4))
    for w, c in zip(widths, colours, strict=True):
        m = [acc[(w, e)] for e in etas]
        ax.errorbar(np.array(etas) * 100, [a[0] * 100 for a in m], [a[1] * 100 for a in m],
                    marker="o", capsize=3, color=c, label=f"{w * 1e6:g} um")
    if software is not None:
        ax.axhline(software * 100, ls="--", color="grey", label="software (ideal sigmoid)")
    ax.set(xlabel="bias variation eta (%)", ylabel=f"test accuracy at T = {steps[-1]} (%)",
           title=f"Fig. 3c: 784-400-10 on Hall bars, nominal calibration ({seeds} seeds)")
    ax.legend(fontsize=7)
    paths["fig3c"] = _save(fig, out / f"{prefix}-fig3c.png")

    energy = summarise(rows, "read_energy")
    e0 = min(etas)
    fig, ax = plt.subplots(figsize=(5.5, 4))
    ref = energy[(max(widths), e0)][0]
    values = [energy[(w, e0)] for w in widths]
    ax.errorbar(np.array(widths) * 1e6, [v[0] / ref for v in values],
                [v[1] / ref for v in values], marker="o", capsize=3)
    ax.set_yscale("log")
    ratio = ref / energy[(min(widths), e0)][0]
    ax.set(xlabel="bar width (um)", ylabel="synaptic read energy / energy at 5 um",
           title=f"Fig. 3d: read energy at T = {steps[-1]}, eta = {e0:g} "
                 f"({ratio:.1f}x from {min(widths) * 1e6:g} to {max(widths) * 1e6:g} um)")
    ax.title.set_fontsize(9)
    paths["fig3d"] = _save(fig, out / f"{prefix}-fig3d.png")

    fig, ax = plt.subplots(figsize=(5.5, 4))
    for w, c in zip(widths, colours, strict=True):
        mean, se = _curve(rows, w, e0, steps)
        ax.plot(steps, mean * 100, color=c, label=f"{w * 1e6:g} um")
        ax.fill_between(steps, (mean - se) * 100, (mean + se) * 100, color=c, alpha=0.3)
    if software is not None:
        ax.axhline(software * 100, ls="--", color="grey", label="software (ideal sigmoid)")
    ax.set(xlabel="time steps T", ylabel="test accuracy (%)",
           title=f"S8: accuracy vs T at eta = {e0:g} (band: 1 s.e.)")
    ax.text(0.98, 0.5, "widths coincide at eta = 0:\nsame spikes, same noise draws",
            transform=ax.transAxes, ha="right", fontsize=7)
    ax.legend(fontsize=7)
    paths["s8"] = _save(fig, out / f"{prefix}-s8.png")

    panels = [w for w in widths if np.isclose(w, 1e-6) or np.isclose(w, 5e-6)] or widths[-2:]
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4), squeeze=False)
    eta_colours = plt.cm.plasma(np.linspace(0, 0.85, len(etas)))
    for ax, w in zip(axes[0], panels, strict=True):
        for e, c in zip(etas, eta_colours, strict=True):
            mean, se = _curve(rows, w, e, steps)
            ax.plot(steps, mean * 100, color=c, label=f"eta = {e * 100:g} %")
            ax.fill_between(steps, (mean - se) * 100, (mean + se) * 100, color=c, alpha=0.3)
        ax.set(xlabel="time steps T", ylabel="test accuracy (%)",
               title=f"S9: {w * 1e6:g} um bars")
        ax.legend(fontsize=7)
    paths["s9"] = _save(fig, out / f"{prefix}-s9.png")
    return paths


def _curve(rows, width, eta, steps):
    per_seed = np.array([[r[f"acc_T{t}"] for t in steps] for r in rows
                         if r["width"] == width and r["eta"] == eta])
    se = per_seed.std(0, ddof=1) / np.sqrt(len(per_seed)) if len(per_seed) > 1 else 0 * steps
    return per_seed.mean(0), np.asarray(se)


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path
