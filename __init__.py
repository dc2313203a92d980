"""Not part of the package: this file only makes ``import c3bench`` work when Python starts in the folder
that holds this clone (a clone named ``c3bench``, the usual notebook set-up).

There, the clone's folder would be found first, as a namespace package without any of c3bench's names
("cannot import name ..."), because an editable install is served by an import hook that comes after
the search of the working directory. Imported under the name ``c3bench`` from the folder above, this
file imports the installed package instead and puts it in its own place. Under any other name it does
nothing.
"""

import importlib as _importlib
import os as _os
import sys as _sys

if __name__ == "c3bench":
    _parent = _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__)))
    _saved = _sys.path[:]
    del _sys.modules[__name__]
    _sys.path[:] = [p for p in _sys.path if _os.path.abspath(p or _os.curdir) != _parent]
    try:
        _installed = _importlib.import_module("c3bench")
    except ImportError:
        raise ImportError("c3bench is not installed in this Python: run `pip install -e .` in the clone "
                          "(see its README)") from None
    finally:
        _sys.path[:] = _saved
    _sys.modules["c3bench"] = _installed
