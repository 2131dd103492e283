"""scipy.special's compiled functions, loaded without scipy.special's array-API layer.

The models use five of scipy's special functions, all numpy ufuncs compiled in the module
`scipy.special._ufuncs`. Importing `scipy.special` itself also runs its array-API support
(`_support_alternative_backends`), which loads numpy.f2py, numpy.ma, numpy.polynomial,
numpy.random and numpy.fft and clones numpy's namespace: 0.15-0.3 s of a fresh process,
more than half of what the first prediction model imports, for functions that, on numpy
arrays, are the same ufuncs. So the compiled module is loaded on its own here: the very
objects `scipy.special` exports (tests check that they are identical), in a few
milliseconds. If scipy.special is already loaded, or loading the module alone fails (a
scipy whose layout differs), the functions come from `scipy.special` as usual.

`trigamma(x)` is what `scipy.special.polygamma(1, x)` computes, (-1)^2 Gamma(2) zeta(2, x)
= zeta(2, x) (Hurwitz), without polygamma's evaluation of the digamma function it then
discards: the same numbers.
"""

from __future__ import annotations

import os
import sys
import types
from typing import Any


def _compiled_functions() -> Any:
    """The module scipy.special._ufuncs, without running scipy/special/__init__.py.

    A placeholder stands for the package while the compiled module (and the compiled modules
    it imports itself) load, and is removed after, so a later `import scipy.special` runs the
    package as usual and finds these modules already loaded. Python's lock on importing this
    module keeps two threads from doing this at once, and the models import it before
    anything of theirs can load scipy.special (scipy.optimize, which `optimise` loads for
    L-BFGS-B, imports it).
    """
    if "scipy.special" in sys.modules:
        import scipy.special

        return scipy.special._ufuncs
    import scipy

    placeholder = types.ModuleType("scipy.special")
    placeholder.__path__ = [os.path.join(os.path.dirname(scipy.__file__), "special")]
    sys.modules["scipy.special"] = placeholder
    try:
        import scipy.special._ufuncs as compiled
    except ImportError:
        compiled = None
    finally:
        if sys.modules.get("scipy.special") is placeholder:
            del sys.modules["scipy.special"]
    if compiled is None:
        import scipy.special

        return scipy.special._ufuncs
    return compiled


_ufuncs = _compiled_functions()

gammaln = _ufuncs.gammaln
digamma = _ufuncs.psi  # scipy.special.digamma is psi
expit = _ufuncs.expit
hyp2f1 = _ufuncs.hyp2f1


def trigamma(x: Any) -> Any:
    """psi'(x) = zeta(2, x): scipy.special.polygamma(1, x)'s value."""
    return _ufuncs._zeta(2.0, x)


__all__ = ["digamma", "expit", "gammaln", "hyp2f1", "trigamma"]
