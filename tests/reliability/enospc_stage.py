"""Run one pipeline stage with a full disk under one folder (simulated): ``python enospc_stage.py OUT STAGE [ARGS]``.

Every ``Path.write_text`` / ``Path.write_bytes`` to a file below ``OUT`` writes the first half of
its data and then raises ``OSError(ENOSPC)``, as a real full disk does part-way through a write.
Everything else runs unchanged: the stage is started through ``runpy`` as ``python -m pipeline.STAGE``
would, from the current directory (the repository copy).
"""

from __future__ import annotations

import errno
import os
import pathlib
import runpy
import sys


def main() -> None:
    out, stage, *args = sys.argv[1:]
    root = os.path.abspath(out) + os.sep
    write_text, write_bytes = pathlib.Path.write_text, pathlib.Path.write_bytes

    def full(path: pathlib.Path) -> bool:
        return os.path.abspath(path).startswith(root)

    def enospc(path: pathlib.Path) -> OSError:
        return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    def text(self, data, *a, **k):
        if full(self):
            write_text(self, data[: len(data) // 2], *a, **k)
            raise enospc(self)
        return write_text(self, data, *a, **k)

    def binary(self, data, *a, **k):
        if full(self):
            write_bytes(self, bytes(data)[: len(data) // 2], *a, **k)
            raise enospc(self)
        return write_bytes(self, data, *a, **k)

    pathlib.Path.write_text, pathlib.Path.write_bytes = text, binary
    sys.path.insert(0, os.getcwd())
    sys.argv = [f"pipeline/{stage}.py", *args]
    runpy.run_module(f"pipeline.{stage}", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
