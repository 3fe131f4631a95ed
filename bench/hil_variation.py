"""HIL against software-then-deploy, three ways (paper 002 Fig. 4d-e): ``hil compare``.

Deployed with nominal calibration, deployed with each device's characterised calibration
(the digital twin) and HIL, on the same devices and seeds; learning rate and schedule
chosen on a validation split per way; paired differences over seeds (hil/grids/compare.py).

    python bench/hil_variation.py --seeds 20 --etas 0,0.1,0.25 --nonidealities none,drift
    python bench/hil_variation.py --experiment 784-400-10 --seeds 20
"""

from __future__ import annotations

import sys

from hil.cli import main

if __name__ == "__main__":
    sys.exit(main(["compare", *sys.argv[1:]]))
