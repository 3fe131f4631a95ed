"""HIL against software-then-deploy, three ways (paper 002 Fig. 4d-e): ``hil compare``.

Deployed with nominal calibration, deployed with each device's characterised calibration
(the digital twin) and HIL, on the same devices, images and seeds; under paper 002's fixed
learning parameters and with each way's picked on a validation split; paired differences
with 95 % intervals per block of 20 seeds and over all (hil/grids/compare.py). The runs
behind bench/RESULTS.md's tables, one worker each, one after another (each resumable with
``--resume RUN_ID``; ``--report IDS`` prints the tables and the where-HIL-helps table, runs
joined by ``+`` pooled):

    python bench/papers/hil_variation.py --seeds 100 --etas 0,0.1,0.25,0.5 --nonidealities none
    python bench/papers/hil_variation.py --seeds 100 --etas 0.25 \
        --nonidealities drift,drift=0.2,width=0.2,joule
    python bench/papers/hil_variation.py --experiment 784-400-10 --seeds 100 --etas 0.25 \
        --nonidealities none,joule
    python bench/papers/hil_variation.py --experiment 784-400-10 --etas 0.25 --nonidealities none \
        --first-seed 40 --seeds 60     # the previous run's none seeds 40-99, ahead of joule
    python bench/papers/hil_variation.py --experiment 784-400-10 --etas 0.25 --nonidealities joule \
        --first-seed 37 --seeds 63     # and its joule seeds 37-99
    python bench/papers/hil_variation.py --seeds 100 --etas 0.25 --nonidealities none \
        --gradient clamp-aware
    python bench/papers/hil_variation.py --report 1,2,3+4+6,5

Not yet run: ``--gradient exact``, ``--error corrected``, ``--protocols fixed --fixed 0.5,4``
(where the write currents clamp, per rule), ``--experiment 784-400-10 --etas 0``.
"""

from __future__ import annotations

import sys

from hil.cli import main

if __name__ == "__main__":
    sys.exit(main(["compare", *sys.argv[1:]]))
