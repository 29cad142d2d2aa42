"""Root test configuration, loaded before anything imports NumPy.

The suite runs one pytest-xdist worker per core (README: ``pytest -n 2`` on 2 cores), and every chapter runs in
its own kernel. A multithreaded BLAS in each of them would oversubscribe the cores: on this project's 2-core
machine the suite took 91 s with OpenBLAS's default threads and 77 s with one thread per process. One thread
per process is set here unless the caller chose otherwise. It changes no matrix product (each entry is computed
by one thread either way), but OpenBLAS splits a dot product of more than about 10,000 entries across threads,
which changes its rounding: results that go through such a product (``numpy.vdot`` of a long gradient, as in
``thermoref.transformer.clip_grad_norm``) can differ in the last bits between thread counts.
"""

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # read by the BLAS library when NumPy is first imported
