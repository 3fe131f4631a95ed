"""Reading classes off the devices (hil/learn/readout.py): every readout from one pass, and
spike trains drawn once for several networks giving the numbers drawn anew would."""

import torch

from hil.banks.model import model_bank
from hil.learn.readout import read_out, spike_trains
from hil.nn.network import DeviceCurrents, SpikingNet


def _setup(seed=0):
    bank = model_bank(4, 0.5e-6, 0.25, seed=seed)
    net = SpikingNet([784, 4], torch.Generator().manual_seed(seed))
    with torch.no_grad():
        net.layers[0].weight.mul_(20.0)
    gen = torch.Generator().manual_seed(9)
    x = torch.rand(450, 784, generator=gen) * 0.4  # three chunks of EVAL_CHUNK
    labels = torch.randint(0, 4, (450,), generator=gen)
    return net, bank, [DeviceCurrents(bank, bank.calibration)], x, labels


def test_shared_spike_trains_give_the_numbers_drawn_anew():
    net, bank, devices, x, labels = _setup()
    state = bank.get_state()
    anew = read_out(net, devices, x, labels, steps=8, seed=11)
    bank.set_state(state)
    shared = list(spike_trains(x, 8, 11))
    assert [tuple(s.shape) for s in shared] == [(8, 200, 784), (8, 200, 784), (8, 50, 784)]
    again = read_out(net, devices, x, labels, steps=8, seed=11, spikes=shared)
    for name in anew.classes:
        assert torch.equal(anew.classes[name], again.classes[name])
    assert torch.equal(anew.logits, again.logits)
    assert (anew.tied, anew.rereads, anew.unresolved) == (again.tied, again.rereads,
                                                          again.unresolved)
    bank.set_state(state)  # another seed's trains are other numbers
    other = read_out(net, devices, x, labels, steps=8, seed=11,
                     spikes=list(spike_trains(x, 8, 12)))
    assert not torch.equal(other.logits, anew.logits)


def test_every_readout_comes_from_one_pass():
    net, bank, devices, x, labels = _setup(1)
    readout = read_out(net, devices, x, labels, steps=8, seed=3)
    assert set(readout.classes) == {"devices", "software_tie_break", "inputs"}
    counts_argmax = torch.sigmoid(readout.logits).argmax(-1)
    untied = readout.classes["devices"] == counts_argmax
    assert untied.float().mean() > 0.5  # most images are not tied and read as they count
    assert 0 < readout.tied < len(x)
    torch.testing.assert_close(readout.confidence.sum(-1), torch.ones(len(x)))
    for name in readout.classes:
        assert 0.0 <= readout.accuracy(name) <= 1.0
