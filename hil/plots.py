"""The figures of the characterisation procedures and of LLGS curves (``hil.plots``; the
commands' ``--plot FILE``): each takes a procedure's summary (SI units), as a session
returns it and the command prints it, and writes one PNG."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np


def _figure(path: str | Path, draw: Callable, size: tuple[float, float] = (6.4, 4.2)) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=size)
    draw(ax)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_hysteresis(summary: dict, path: str | Path, title: str) -> Path:
    """R_AHE around the closed current loops (paper 002 Fig. 2b): the way up and the way
    down drawn apart, both switching edges with their errors and the loop width."""
    currents = np.asarray(summary["currents"]) * 1e3
    r = np.asarray(summary["r_ahe"])
    rising = np.diff(currents, prepend=currents[0] - 1) > 0  # each pulse: up or down

    def draw(ax):
        ax.plot(currents, r, "-", color="0.8", lw=0.8, zorder=1)
        ax.plot(currents[rising], r[rising], ">", ms=4, label="current rising")
        ax.plot(currents[~rising], r[~rising], "<", ms=4, label="current falling")
        if summary.get("usable") and "loop_width" in summary:
            for name, arrow in (("edge_up", "-1 -> +1"), ("edge_down", "+1 -> -1")):
                centre, err = summary[name] * 1e3, summary[f"{name}_err"] * 1e3
                ax.axvspan(centre - err, centre + err, color="0.5", alpha=0.25, lw=0)
                ax.axvline(centre, color="k", ls="--", lw=1)
                ax.annotate(f"{arrow}\n{centre:.3f} +- {err:.3f} mA", (centre, r.mean()),
                            ha="center", va="center", fontsize=8,
                            bbox={"boxstyle": "round", "fc": "white", "ec": "0.6"})
            ax.set_title(f"{title}\nloop width {summary['loop_width'] * 1e3:.3f} +- "
                         f"{summary['loop_width_err'] * 1e3:.3f} mA over "
                         f"{summary['loops']} loops", fontsize=10)
        else:
            ax.set_title(title, fontsize=10)
        ax.set(xlabel="write current (mA)", ylabel="R_AHE (ohm)")
        ax.legend(fontsize=8, loc="upper left")

    return _figure(path, draw)


def plot_endurance(summary: dict, path: str | Path, title: str) -> Path:
    """Moving averages of the switching outcome over the cycles (paper 002 SI S5)."""
    def draw(ax):
        for window, values in sorted(summary["moving_averages"].items(), key=lambda kv:
                                     int(kv[0])):
            values = np.asarray(values)
            start = int(window)
            ax.plot(np.arange(start, start + values.size), values, lw=1,
                    label=f"moving average of {int(window):,} cycles")
        ax.axhline(summary["p_switch"], color="k", ls="--", lw=1,
                   label=f"P over all cycles = {summary['p_switch']:.3f}")
        ax.set(xlabel="cycle", ylabel="P_sw", ylim=(-0.02, 1.02),
               title=f"{title} at {summary['current'] * 1e3:.4g} mA")
        ax.legend(fontsize=8)

    return _figure(path, draw)


def plot_anisotropy(summary: dict, path: str | Path, title: str) -> Path:
    """R_AHE against the in-plane field with the Eq. S2 fit (paper 002 SI S1)."""
    from protocols.procedures import anisotropy_model

    fields = np.asarray(summary["fields"])
    grid = np.linspace(fields.min(), fields.max(), 200)

    def draw(ax):
        ax.plot(fields * 1e3, summary["r_ahe"], "o", label="measured")
        ax.plot(grid * 1e3, anisotropy_model(grid, summary["r0"], summary["h_an"]), "-",
                label=f"Eq. S2: H_an = {summary['h_an']:.3f} +- {summary['h_an_err']:.3f} T")
        ax.set(xlabel="in-plane field mu0 H_x (mT)", ylabel="R_AHE (ohm)", title=title)
        ax.legend()

    return _figure(path, draw)


def plot_survey(summary: dict, path: str | Path, title: str) -> Path:
    """I_bias and programming window of every device with one-sigma bars (paper 002
    Fig. 3a-b); devices whose fit is unusable are drawn hollow and named."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fits = summary["fits"]
    devices = np.array([f["device"] for f in fits])
    usable = np.array([f.get("usable", True) for f in fits])
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(1, 2, figsize=(9, 4.4), layout="constrained")
    for ax, name, label in ((axes[0], "i_bias", "I_bias (mA)"),
                            (axes[1], "window", "window 0.01-99.9 % (mA)")):
        value = np.array([f[name] for f in fits]) * 1e3
        error = np.array([f[f"{name}_err"] for f in fits]) * 1e3
        ax.errorbar(devices[usable], value[usable], yerr=error[usable], fmt="o", capsize=3,
                    label="usable")
        if (~usable).any():
            ax.errorbar(devices[~usable], value[~usable], yerr=error[~usable], fmt="o",
                        mfc="none", capsize=3, label="unusable")
        mean = summary[f"{name}_mean"] * 1e3
        ax.axhline(mean, color="k", ls="--", lw=1, label=f"mean {mean:.4g} mA, variation "
                   f"{summary[f'{name}_variation']:.1%}")
        ax.set(xlabel="device", ylabel=label, xticks=devices)
        ax.margins(x=0.15, y=0.15)
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)
    fig.suptitle(title)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_sweep(sweep, path: str | Path) -> Path:
    """A device's recorded sweep (``Session.sweep``'s ``.sweep``): P_sw with its 95 %
    Wilson bars against write current and the fitted sigmoid (paper 002 Eq. 2), the title
    saying why when the sweep is unusable."""
    low, high = sweep.wilson()
    title = f"device {sweep.device}" + ("" if sweep.grade.usable
                                        else f" - unusable: {sweep.grade.reason}")

    def draw(ax):
        ax.errorbar(sweep.currents * 1e3, sweep.p_switch,
                    yerr=np.clip([sweep.p_switch - low, high - sweep.p_switch], 0.0, None),
                    fmt="o", capsize=2)
        grid = np.linspace(sweep.currents[0], sweep.currents[-1], 300)
        ax.plot(grid * 1e3, sweep.fit.p_switch(grid))
        ax.set(xlabel="write current (mA)", ylabel="P_sw", title=title)

    return _figure(path, draw, size=(6, 4))


def plot_psw(currents: np.ndarray, p_switch: np.ndarray, low: np.ndarray, high: np.ndarray,
             fit, path: str | Path, title: str) -> Path:
    """Simulated switching probability with Wilson 95 % bars and the sigmoid fit (if any)."""
    currents = np.asarray(currents)
    grid = np.linspace(currents.min(), currents.max(), 300)

    def draw(ax):
        bars = np.clip([p_switch - low, high - p_switch], 0.0, None)  # rounding: never < 0
        ax.errorbar(currents * 1e6, p_switch, yerr=bars, fmt="o",
                    capsize=2, label="simulated (95 % Wilson)")
        if fit is not None:  # None: the curve steps between neighbouring currents
            ax.plot(grid * 1e6, fit.p_switch(grid), label=f"sigmoid: I_bias = "
                    f"{fit.i_bias * 1e6:.2f} uA, I0 = {fit.i0 * 1e6:.2f} uA")
        ax.set(xlabel="write current (uA)", ylabel="P_sw", ylim=(-0.02, 1.02), title=title)
        ax.legend(fontsize=8)

    return _figure(path, draw)


GRADE_COLOURS = {"network": "#1b9e77", "spare": "#66c2a5", "unusable fit": "#fdae61",
                 "no switching": "#d73027", "stuck at +1": "#984ea3", "open": "#4d4d4d",
                 "refused": "#f781bf"}


def plot_chip_map(summary: dict, path: str | Path, title: str, columns: int = 12) -> Path:
    """A survey on the chip's grid (device k at row k // ``columns``, column k % ``columns``):
    I_bias, the programming window and each device's grade; a network's devices and its
    spares (``protocols.survey``) among the usable ones, the others by what failed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    fits = summary["fits"]
    rows = (max(f["device"] for f in fits) // columns) + 1
    network, spares = set(summary.get("network", [])), set(summary.get("spares", []))
    grid = {name: np.full((rows, columns), np.nan) for name in ("i_bias", "window", "grade")}
    names = list(GRADE_COLOURS)
    for f in fits:
        r, c = divmod(f["device"], columns)
        grid["i_bias"][r, c], grid["window"][r, c] = f["i_bias"] * 1e3, f["window"] * 1e3
        grade = ("network" if f["device"] in network else "spare" if f["device"] in spares
                 else f.get("grade", "usable" if f.get("usable", True) else "unusable fit"))
        grid["grade"][r, c] = names.index(grade) if grade in names else np.nan
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(1, 3, figsize=(15, 0.45 * rows + 1.8), layout="constrained")
    for ax, name, label in ((axes[0], "i_bias", "I_bias (mA)"),
                            (axes[1], "window", "window 0.01-99.9 % (mA)")):
        image = ax.imshow(grid[name], cmap="viridis")
        fig.colorbar(image, ax=ax, label=label, shrink=0.6)
        ax.set_title(label)
    axes[2].imshow(grid["grade"], cmap=ListedColormap(list(GRADE_COLOURS.values())),
                   vmin=-0.5, vmax=len(names) - 0.5)
    for f in fits:
        r, c = divmod(f["device"], columns)
        axes[2].text(c, r, str(f["device"]), ha="center", va="center", fontsize=6,
                     color="white")
    counts = {g: int(np.sum(grid["grade"] == i)) for i, g in enumerate(names)}
    axes[2].legend(handles=[Patch(color=GRADE_COLOURS[g], label=f"{g} ({counts[g]})")
                            for g in names if counts[g]],
                   fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=3)
    axes[2].set_title("grade")
    for ax in axes:
        ax.set(xticks=range(columns), yticks=range(rows), xlabel="column", ylabel="row")
        ax.tick_params(labelsize=7)
    fig.suptitle(title)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
