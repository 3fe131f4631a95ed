"""Trainable activation: neurons whose slope k and shift c are learned (paper 000, Xin et al.,
Electrical Tunable Spintronic Neuron with Trainable Activation Function, Appendix D).

A neuron computes a = sigmoid(k (z + c)). On the device k is set by the write-pulse width
(longer pulses, steeper curves: paper 000 Fig. 1b) and c by the barrier, here through a VCMA
gate voltage (Fig. 3a: the barrier moves the curve). ``KCMap`` holds (k, c) measured on the
LLGS over a grid of (width, voltage) with their fit errors, fits ln k and c as linear in
(ln width, voltage), and turns learned (k, c) back into a width and a voltage, clipped to the
measured ranges. Network units: k = 1 and c = 0 are the nominal device (its own bias current
cancels its shift), so k_net = k_dev / k_0 and c_net = (c_dev - c_0) k_0.

``TrainableNet`` is paper 000's 784-25-10 network with its Appendix D gradients written out;
the tests check them against torch autograd. (Appendix D writes dJ/dk = delta .* z; the
derivative of k (z + c) in k is z + c, which is what is used here; the two agree at c = 0, the
paper's trainable-k run.)
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from hil.learn.loop import run_epochs, shuffled

MODES = ("fixed", "k", "kc")  # which of k, c are trained


# -- the device map ------------------------------------------------------------------------
@dataclass(frozen=True)
class KCMap:
    """Sigmoid slope k (1/A) and shift c (A) of P_sw(I) on a (width, voltage) grid."""

    preset: str
    widths: list[float]  # s
    voltages: list[float]  # V
    k: list[list[float]]  # [width][voltage]
    k_err: list[list[float]]
    c: list[list[float]]
    c_err: list[list[float]]
    trials: int

    def arrays(self) -> tuple[np.ndarray, ...]:
        """(k, k_err, c, c_err) as float arrays indexed [width][voltage]."""
        return tuple(np.asarray(getattr(self, n), float) for n in ("k", "k_err", "c", "c_err"))

    def _design(self) -> tuple[np.ndarray, np.ndarray]:
        w, v = np.meshgrid(np.log(self.widths), self.voltages, indexing="ij")
        return np.stack([np.ones(w.size), w.ravel(), v.ravel()], axis=1), w

    def model(self) -> tuple[np.ndarray, np.ndarray]:
        """Weighted least squares: ln k = a . (1, ln w, V), c = b . (1, ln w, V)."""
        design, _ = self._design()
        k, k_err, c, c_err = self.arrays()
        wk = (k / k_err).ravel()  # 1 / sigma of ln k
        a = np.linalg.lstsq(design * wk[:, None], np.log(k).ravel() * wk, rcond=None)[0]
        wc = (1 / c_err).ravel()
        b = np.linalg.lstsq(design * wc[:, None], c.ravel() * wc, rcond=None)[0]
        return a, b

    def predict(self, width: np.ndarray, voltage: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The fitted map's (k 1/A, c A) at pulse widths ``width`` (s) and gate voltages ``voltage``
        (V)."""
        a, b = self.model()
        row = np.stack([np.ones_like(np.asarray(width, float)), np.log(width),
                        np.asarray(voltage, float)])
        return np.exp(a @ row), b @ row

    @property
    def nominal(self) -> tuple[float, float, float, float]:
        """(width, voltage, k_0, c_0): the grid's middle, the network's k = 1, c = 0."""
        w0 = float(np.exp(np.mean(np.log(self.widths))))
        v0 = float(np.mean(self.voltages))
        k0, c0 = self.predict(np.array([w0]), np.array([v0]))
        return w0, v0, float(k0[0]), float(c0[0])

    def network_ranges(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """(k_net range, c_net range) reachable inside the measured grid."""
        w, v = np.meshgrid(self.widths, self.voltages, indexing="ij")
        k, c = self.predict(w.ravel(), v.ravel())
        _, _, k0, c0 = self.nominal
        k_net, c_net = k / k0, (c - c0) * k0
        return (float(k_net.min()), float(k_net.max())), (float(c_net.min()), float(c_net.max()))

    def to_pulse(self, k_net: np.ndarray, c_net: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Learned (k, c) in network units -> (pulse width s, gate voltage V), clipped to the
        measured grid (the device cannot go further)."""
        a, b = self.model()
        _, _, k0, c0 = self.nominal
        ln_k = np.log(np.asarray(k_net, float) * k0)
        c = np.asarray(c_net, float) / k0 + c0
        # [a1 a2; b1 b2] [ln w; V] = [ln k - a0; c - b0]
        matrix = np.array([[a[1], a[2]], [b[1], b[2]]])
        rhs = np.stack([ln_k - a[0], c - b[0]])
        ln_w, volt = np.linalg.solve(matrix, rhs.reshape(2, -1)).reshape(rhs.shape)
        width = np.clip(np.exp(ln_w), min(self.widths), max(self.widths))
        return width, np.clip(volt, min(self.voltages), max(self.voltages))

    def save(self, path: Path) -> None:
        """Write the map as JSON to ``path`` (folders made): the cache ``measure_kc_map`` reads
        back instead of re-running the LLGS grid."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self)))

    @classmethod
    def load(cls, path: Path) -> KCMap:
        """A map written by ``save``."""
        return cls(**json.loads(path.read_text()))


def measure_kc_map(
    preset: str, widths: list[float], voltages: list[float], trials: int = 100,
    points: int = 15, span: tuple[float, float] = (0.2, 1.4), seed: int = 0,
    cache: Path | None = None,
) -> KCMap:
    """P_sw(I) on the LLGS at every (width, voltage), each fitted with paper 000's sigmoid;
    read from ``cache`` when it holds this very grid."""
    from protocols.fitting import fit_sigmoid
    from simulators.macrospin import macrospin_preset
    from simulators.psw import simulate_psw

    if cache is not None and cache.exists():
        stored = KCMap.load(cache)
        if (stored.preset, stored.widths, stored.voltages, stored.trials) == (
                preset, list(widths), list(voltages), trials):
            return stored
    device = macrospin_preset(preset)
    currents = device.critical_current() * np.linspace(*span, points)
    rows: dict[str, list[list[float]]] = {"k": [], "k_err": [], "c": [], "c_err": []}
    for i, width in enumerate(widths):
        for name in rows:
            rows[name].append([])
        for j, volt in enumerate(voltages):
            curve = simulate_psw(device, currents, width, trials, seed=seed + 100 * i + j,
                                 gate_voltage=volt)
            fit = fit_sigmoid(curve.currents, curve.p_switch, trials)
            for name in rows:
                rows[name][-1].append(float(getattr(fit, name)))
    result = KCMap(preset, list(widths), list(voltages), trials=trials, **rows)
    if cache is not None:
        result.save(cache)
    return result


# -- the network -----------------------------------------------------------------------------
@dataclass
class TrainableNet:
    """784-25-10 with a = sigmoid(k (z + c)) per neuron, no biases (paper 000 Fig. 1c)."""

    w1: torch.Tensor  # (25, 784)
    w2: torch.Tensor  # (10, 25)
    k2: torch.Tensor
    c2: torch.Tensor
    k3: torch.Tensor
    c3: torch.Tensor

    @classmethod
    def initial(cls, sizes: tuple[int, int, int], generator: torch.Generator) -> TrainableNet:
        """Weights uniform in +-sqrt(6 / (n_in + n_out)) (paper 000 App. E); k = 1, c = 0."""
        def xavier(n_out: int, n_in: int) -> torch.Tensor:
            eps = np.sqrt(6.0 / (n_in + n_out))
            return (torch.rand(n_out, n_in, generator=generator, dtype=torch.float64) * 2 - 1) * eps

        n_in, n_hidden, n_out = sizes
        ones = lambda n: torch.ones(n, dtype=torch.float64)  # noqa: E731
        zeros = lambda n: torch.zeros(n, dtype=torch.float64)  # noqa: E731
        return cls(xavier(n_hidden, n_in), xavier(n_out, n_hidden), ones(n_hidden),
                   zeros(n_hidden), ones(n_out), zeros(n_out))

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """The forward pass, keeping every layer's z and a for the Appendix D gradients
        (``gradients``)."""
        z2 = x @ self.w1.T
        a2 = torch.sigmoid(self.k2 * (z2 + self.c2))
        z3 = a2 @ self.w2.T
        a3 = torch.sigmoid(self.k3 * (z3 + self.c3))
        return {"x": x, "z2": z2, "a2": a2, "z3": z3, "a3": a3}

    @staticmethod
    def loss(a3: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """J = -[y log a3 + (1 - y) log(1 - a3)], summed over outputs, mean over images."""
        a3 = a3.clamp(1e-12, 1 - 1e-12)
        return -(y * torch.log(a3) + (1 - y) * torch.log(1 - a3)).sum(1).mean()

    def gradients(self, cache: dict[str, torch.Tensor], y: torch.Tensor) -> dict[str, torch.Tensor]:
        """Paper 000 Appendix D, batched: dJ/da3 * sigma' = a3 - y for this loss."""
        m = y.shape[0]
        u3 = (cache["a3"] - y) / m  # dJ/d(k3 (z3 + c3))
        grads = {"k3": (u3 * (cache["z3"] + self.c3)).sum(0), "c3": (u3 * self.k3).sum(0)}
        d_z3 = u3 * self.k3
        grads["w2"] = d_z3.T @ cache["a2"]
        a2 = cache["a2"]
        u2 = (d_z3 @ self.w2) * a2 * (1 - a2)  # dJ/d(k2 (z2 + c2))
        grads["k2"] = (u2 * (cache["z2"] + self.c2)).sum(0)
        grads["c2"] = (u2 * self.k2).sum(0)
        grads["w1"] = (u2 * self.k2).T @ cache["x"]
        return grads

    def step(self, grads: dict[str, torch.Tensor], lr: float, mode: str,
             k_range: tuple[float, float], c_range: tuple[float, float]) -> None:
        """Gradient descent (Appendix D Eq. 1) on the weights and on what ``mode`` trains,
        then k and c clipped to what the device reaches."""
        trained = ["w1", "w2"] + {"fixed": [], "k": ["k2", "k3"],
                                  "kc": ["k2", "k3", "c2", "c3"]}[mode]
        for name in trained:
            setattr(self, name, getattr(self, name) - lr * grads[name])
        for name in ("k2", "k3"):
            setattr(self, name, getattr(self, name).clamp(*k_range))
        for name in ("c2", "c3"):
            setattr(self, name, getattr(self, name).clamp(*c_range))

    def accuracy(self, x: torch.Tensor, labels: torch.Tensor) -> float:
        """Fraction of images whose largest output is their label."""
        return float((self.forward(x)["a3"].argmax(1) == labels).double().mean())


def train_trainable(
    train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray,
    mode: str, seed: int, epochs: int = 10, batch_size: int = 50, lr: float = 1.0,
    k_range: tuple[float, float] = (0.25, 4.0), c_range: tuple[float, float] = (-2.0, 2.0),
    dtype: torch.dtype = torch.float32,
) -> tuple[TrainableNet, float, list[float]]:
    """Mini-batch gradient descent with the Appendix D gradients; paper 000 trains for 1000
    iterations, which 10 epochs of 50-image batches of the 4,000 training digits match
    (800). Returns (net, held-out accuracy, loss per epoch)."""
    if mode not in MODES:
        raise ValueError(f"mode = {mode!r} is not one of {', '.join(MODES)}")
    gen = torch.Generator().manual_seed(seed)
    x = torch.from_numpy(np.asarray(train_x)).to(dtype)
    y = torch.nn.functional.one_hot(torch.from_numpy(np.asarray(train_y)), 10).to(dtype)
    net = TrainableNet.initial((x.shape[1], 25, 10), gen)
    for name in ("w1", "w2", "k2", "c2", "k3", "c3"):
        setattr(net, name, getattr(net, name).to(dtype))

    def step(batch: torch.Tensor) -> tuple[float, int]:
        cache = net.forward(x[batch])
        loss = float(net.loss(cache["a3"], y[batch])) * len(batch)
        net.step(net.gradients(cache, y[batch]), lr, mode, k_range, c_range)
        return loss, 0

    history = [s.loss for s in run_epochs(shuffled(len(x), batch_size, gen), step, epochs)]
    accuracy = net.accuracy(torch.from_numpy(np.asarray(test_x)).to(dtype),
                            torch.from_numpy(np.asarray(test_y)))
    return net, accuracy, history
