"""Device neurons for torch models: :class:`DeviceNeurons` after any layer, the measured-
activation autograd Functions, and paper 002's spiking network."""

from hil.nn.layers import DeviceNeurons, device_layers, to_device_neurons
from hil.nn.network import (
    ERRORS,
    GRADIENTS,
    DeviceCurrents,
    SpikingNet,
    count_rate,
    device_classes,
    measured_rate,
    output_loss,
    predict,
)

__all__ = ["ERRORS", "GRADIENTS", "DeviceCurrents", "DeviceNeurons", "SpikingNet", "count_rate",
           "device_classes", "device_layers", "measured_rate", "output_loss", "predict",
           "to_device_neurons"]
