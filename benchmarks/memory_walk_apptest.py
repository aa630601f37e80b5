"""Memory walk in one process: AppTest walks Feature maps through all twenty networks, N rounds,
printing the resident size and the bytes of live CPU tensors (counted through gc) after each round.

    .venv/bin/python benchmarks/memory_walk_apptest.py 5

Live tensors that stay flat while the resident size grows mean the allocator, not our code, holds the memory.
"""
import gc
import os
import sys

import torch
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
os.chdir(ROOT)
from streamlit.testing.v1 import AppTest
from explorer.core.registry import ARCH_IDS
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS"): return int(line.split()[1])/1024
def live():
    seen=set(); total=0
    for o in gc.get_objects():
        try:
            if isinstance(o, torch.Tensor) and o.device.type=="cpu":
                st=o.untyped_storage(); p=st.data_ptr()
                if p and p not in seen: seen.add(p); total+=st.nbytes()
        except Exception: pass
    return total/1e6
at = AppTest.from_file(os.path.join(ROOT, "app.py"), default_timeout=300)
at.query_params["arch"]="lenet5"
at.run()
at.switch_page("pages/feature-maps.py").run()
for rnd in range(int(sys.argv[1])):
    for a in ARCH_IDS:
        at.sidebar.selectbox(key="sb_arch").set_value(a).run()
        if at.exception: print("EXC", a, at.exception[0].value[:200])
    gc.collect()
    before = rss()
    print(f"round {rnd}: rss {before:.0f} MB, live cpu tensors {live():.0f} MB", flush=True)
