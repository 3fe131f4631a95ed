"""Device neurons for torch models: :class:`DeviceNeurons` after any layer, the measured-
activation autograd Functions, and paper 002's spiking network."""

from hil.nn.layers import DeviceNeurons, device_layers, to_device_neurons
from hil.nn.network import DeviceCurrents, SpikingNet, measured_rate, predict

__all__ = ["DeviceCurrents", "DeviceNeurons", "SpikingNet", "device_layers", "measured_rate",
           "predict", "to_device_neurons"]
