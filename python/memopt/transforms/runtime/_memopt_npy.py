"""np.load of a .npy file as a read-only memory map (written by memopt's dead-data pass).

`_memopt_load_npy(load, file)` stands where the program called `load(file)` (numpy's
np.load) and the pass found no write to the result. A .npy file (its first bytes are
numpy's magic string) is mapped read-only and returned as a plain ndarray view of the map:
the same values, dtype, shape and type as np.load gives, pages read only when touched, and
any write raises "assignment destination is read-only". Anything else (a .npz or pickle
file, an object array, which cannot be mapped, a file object, a missing file) is loaded by
`load(file)` exactly as before, with its own result or error; so is a path that is not a
regular file (a FIFO: reading its magic first would consume it).
"""


def _memopt_load_npy(load, file):
    import numpy as _memopt_np
    import os as _memopt_os
    if not isinstance(file, str) and not hasattr(file, "__fspath__") or not _memopt_os.path.isfile(file):
        return load(file)  # a file object, a FIFO (reading its magic would consume it), no file
    try:
        with open(file, "rb") as handle:
            magic = handle.read(6)
    except OSError:
        return load(file)
    if magic != b"\x93NUMPY":
        return load(file)
    try:
        mapped = load(file, mmap_mode="r")
    except (ValueError, OSError):  # Python objects in the dtype; a file system that cannot map
        return load(file)
    return mapped.view(_memopt_np.ndarray) if isinstance(mapped, _memopt_np.memmap) else mapped
