"""Import WeasyPrint without the ~60 helper processes its library lookup starts on Linux.

WeasyPrint opens Pango, HarfBuzz, fontconfig and GObject by trying up to six names per library
(the names of every platform), and cffi answers each name that is not a file it can open with
ctypes.util.find_library, which on Linux runs `ldconfig -p` and, when that does not know the
name, gcc and ld as well. Most names fail that way (`libgobject-2.0-0`, `*.dylib`, `*.dll`, an
optional library that is not installed), so importing WeasyPrint ran `ldconfig`, `gcc`, `collect2`
and `ld` about 60 times: 0.3-0.4 s of a report's wall time on a busy 2-core host, on the path
of every PDF. While WeasyPrint is imported here, find_library answers from one reading of the
linker's cache instead, in the same way as its own first step (`ldconfig -p`, the same pattern),
so the libraries found are the same ones; a name the cache does not know is left to WeasyPrint's
next name (the Linux sonames, which the dynamic linker opens directly).

WeasyPrint's C declarations are read from a compiled copy while it is imported here
(reports.compiled_cdefs). cffi's compiled FFI opens each library by its name alone, without
find_library: the names the linker does not know fail at once, and the linker's cache is then
not read at all (it is read at the first look-up, if any).
"""

from __future__ import annotations

import ctypes.util
import os
import re
import struct
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import ModuleType

from reports.compiled_cdefs import adopt, compiled_declarations

LDCONFIG = "/sbin/ldconfig"
# ctypes.util's own table: the ABI a library in the linker's cache must have for this process
ABI_TYPES = {
    "x86_64-64": "libc6,x86-64", "ppc64-64": "libc6,64bit", "sparc64-64": "libc6,64bit",
    "s390x-64": "libc6,64bit", "ia64-64": "libc6,IA-64",
}


def linker_cache() -> bytes:
    """`ldconfig -p`: the libraries the dynamic linker knows (empty without glibc's ldconfig)."""
    try:
        return subprocess.run([LDCONFIG, "-p"], stdin=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              env={"LC_ALL": "C", "LANG": "C"}, check=False).stdout
    except OSError:
        return b""


def cached_find_library(listing: bytes) -> Callable[[str], str | None]:
    """find_library's first step on Linux (the soname of `lib<name>.` in the linker's cache,
    for this process's ABI), answered from one `ldconfig -p` listing."""
    bits = "32" if struct.calcsize("l") == 4 else "64"
    abi = ABI_TYPES.get(f"{os.uname().machine}-{bits}", "libc6")

    def find_library(name: str) -> str | None:
        pattern = os.fsencode(rf"\s+(lib{re.escape(name)}\.[^\s]+)\s+\({abi}")
        found = re.search(pattern, listing)
        return os.fsdecode(found.group(1)) if found else None

    return find_library


def lazily(make: Callable[[bytes], Callable[[str], str | None]]
           ) -> Callable[[str], str | None]:
    """find_library by `make(linker_cache())`, the cache read at the first look-up only: with
    WeasyPrint's declarations compiled (reports.compiled_cdefs) cffi opens the libraries by
    their names alone and looks nothing up, and then ldconfig is never run."""
    made: list[Callable[[str], str | None]] = []

    def find_library(name: str) -> str | None:
        if not made:
            made.append(make(linker_cache()))
        return made[0](name)

    return find_library


@contextmanager
def library_lookup(find_library: Callable[[str], str | None]) -> Iterator[None]:
    """ctypes.util.find_library replaced for a while, then back as it was."""
    original = ctypes.util.find_library
    ctypes.util.find_library = find_library
    try:
        yield
    finally:
        ctypes.util.find_library = original


def import_weasyprint() -> ModuleType:
    """`import weasyprint`, its C declarations compiled and its libraries looked up in the
    linker's cache read at most once (Linux).
    Call it from one thread only (it swaps a function of ctypes.util while it imports). If the
    import fails that way, the error is raised again by the next plain `import weasyprint`,
    which looks the libraries up as WeasyPrint itself does."""
    if "weasyprint" in sys.modules or not sys.platform.startswith("linux"):
        import weasyprint

        return weasyprint
    with compiled_declarations() as stand_ins, library_lookup(lazily(cached_find_library)):
        import weasyprint

    adopt(stand_ins, "weasyprint")
    return weasyprint
