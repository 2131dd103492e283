"""WeasyPrint's C declarations read from a compiled copy instead of parsed at every import.

WeasyPrint declares the Pango, HarfBuzz, fontconfig and GObject functions it calls with
`cffi.FFI().cdef(...)` (cffi's ABI mode): 16 kB of C that cffi parses with pycparser at every
import, a third of importing WeasyPrint (about 0.15 s, on the path of every PDF). cffi can write
the parsed declarations out as a small Python module (its "out-of-line" ABI mode, which needs
no C compiler) that builds the same FFI in milliseconds. While WeasyPrint is imported,
`cffi.FFI()` here returns a stand-in whose cdef() loads such a module, made once per set of
declarations (keyed by their text, cffi's and Python's versions) and kept in a folder private
to the user; WeasyPrint's modules then get the compiled FFI itself (`adopt`). The libraries are
opened by WeasyPrint as before. If the module cannot be made or loaded, the declarations are
parsed as cffi always does.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import stat
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

CACHE_FOLDER = "_retail-tiers-cffi-{uid}"


def private_folder() -> Path | None:
    """A folder in the temp folder only this user can write to (made if absent), else None."""
    if not hasattr(os, "getuid"):
        return None
    folder = Path(tempfile.gettempdir()) / CACHE_FOLDER.format(uid=os.getuid())
    with suppress(FileExistsError):
        folder.mkdir(mode=stat.S_IRWXU)
    try:
        info = folder.lstat()
    except OSError:
        return None
    if (info.st_uid != os.getuid() or not stat.S_ISDIR(info.st_mode)
            or stat.S_IMODE(info.st_mode) & (stat.S_IRWXG | stat.S_IRWXO)):
        return None
    return folder


def module_name(csource: str) -> str:
    import cffi

    key = "\0".join((csource, cffi.__version__, sys.version, sys.platform))
    return "weasyprint_cdefs_" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]


def compiled_ffi(csource: str, folder: Path, parsing_ffi: type) -> Any:
    """The FFI of `csource` from its compiled module in `folder` (written first if absent,
    by `parsing_ffi`, cffi's own FFI class)."""
    name = module_name(csource)
    path = folder / f"{name}.py"
    if not path.is_file():
        from cffi.recompiler import make_py_source  # what ffi.emit_python_code() runs

        builder = parsing_ffi()
        builder.cdef(csource)
        temp = folder / f"{name}.{os.getpid()}.tmp"
        try:
            make_py_source(builder, name, str(temp))  # quietly: no "generating ..." line
            os.replace(temp, path)
        finally:
            temp.unlink(missing_ok=True)
    if path.lstat().st_uid != os.getuid():
        raise OSError(f"{path} is not the user's own")
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.ffi


class StandInFFI:
    """What `cffi.FFI()` returns while WeasyPrint is imported: cdef() takes the compiled
    FFI of the declarations (or, failing that, a cffi.FFI that parses them), and everything
    else is that FFI's."""

    def __init__(self, parsing_ffi: type) -> None:
        self._parsing_ffi = parsing_ffi
        self._ffi: Any = None

    def cdef(self, csource: str, *args: Any, **kwargs: Any) -> None:
        if self._ffi is None and not args and not kwargs:
            folder = private_folder()
            if folder is not None:
                with suppress(Exception):  # any failure: parse them as cffi always does
                    self._ffi = compiled_ffi(csource, folder, self._parsing_ffi)
                    return
        if self._ffi is None:
            self._ffi = self._parsing_ffi()
        self._ffi.cdef(csource, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        if self._ffi is None:
            self._ffi = self._parsing_ffi()
        return getattr(self._ffi, name)


@contextmanager
def compiled_declarations() -> Iterator[list[StandInFFI]]:
    """cffi.FFI() made a StandInFFI for a while (yields the ones made), then back as it was."""
    import cffi

    original = cffi.FFI
    made: list[StandInFFI] = []

    def stand_in() -> StandInFFI:
        made.append(StandInFFI(original))
        return made[-1]

    cffi.FFI = stand_in  # type: ignore[assignment,misc]
    try:
        yield made
    finally:
        cffi.FFI = original  # type: ignore[misc]


def adopt(stand_ins: list[StandInFFI], package: str) -> None:
    """Give `package`'s modules the FFI each stand-in holds in place of the stand-in (one
    attribute look-up less on every ffi.new, and the compiled FFI's own functions)."""
    for name, module in list(sys.modules.items()):
        if module is None or not (name == package or name.startswith(package + ".")):
            continue
        for attribute, value in list(vars(module).items()):
            for stand_in in stand_ins:
                if value is stand_in and stand_in._ffi is not None:
                    setattr(module, attribute, stand_in._ffi)
