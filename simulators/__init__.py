"""Device physics: the Hall-bar model and presets of paper 002, the batched stochastic LLGS
with the papers' junction presets, and the virtual lab (``simulators.lab``). Imports no
other project package but the SCPI grammar leaf."""
