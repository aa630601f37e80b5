"""CNN Architecture Explorer: the library behind the app and the command line.

Pure Python and PyTorch; it never imports streamlit, so every analysis the app
shows can also be run, tested and benchmarked from the command line.
"""

import os

# PyTorch's OpenMP threads spin while they wait for work. On a server whose cores are busy (a class
# uploading, other programs) the spinning thread burns its whole time slice: a two-thread ResNet-18
# forward pass took 500 ms of CPU instead of 60 (measured on the 2-core server under load; 63 ms with
# the passive policy). Set before torch is first imported, which reads it once; a value the user
# set is kept.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
