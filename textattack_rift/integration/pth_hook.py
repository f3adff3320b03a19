"""Start-up hook for the literal ``textattack`` command (installed as ``textattack_rift_hook``).

A ``.pth`` file imports this module and calls ``install()`` at every interpreter start, so it must be cheap and must never
raise. It only adds an import finder; nothing else is imported until TextAttack itself is:
- before ``textattack`` executes, ``textattack_rift`` is imported (offline NLTK data on the path);
- after ``textattack.commands.textattack_cli`` executes, its ``main`` is wrapped so that our names,
  recipes and extended ``train`` command are registered right before the parser is built.
Set ``TEXTATTACK_RIFT_HOOK=0`` to switch it off.
"""

import os
import sys

_OFF_VALUES = ("0", "false", "no", "off")
_CLI_MODULE = "textattack.commands.textattack_cli"


def _before_textattack():
    import textattack_rift  # noqa: F401  (bootstraps NLTK data)


def _after_cli(module):
    original = getattr(module, "main", None)
    if original is None or getattr(original, "_textattack_rift_wrapped", False):
        return

    def main(*args, **kwargs):
        try:
            from textattack_rift.integration.cli import run_textattack_main
        except Exception as err:  # a broken extension must not break stock TextAttack
            print(f"textattack-rift: extension disabled ({err})", file=sys.stderr)
            return original(*args, **kwargs)
        return run_textattack_main(original, *args, **kwargs)

    main._textattack_rift_wrapped = True
    main.__wrapped__ = original
    module.main = main


class _Loader:
    def __init__(self, loader, before, after):
        self._loader, self._before, self._after = loader, before, after

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        if self._before is not None:
            try:
                self._before()
            except Exception:
                pass
        self._loader.exec_module(module)
        if self._after is not None:
            try:
                self._after(module)
            except Exception:
                pass

    def __getattr__(self, name):
        return getattr(self._loader, name)


class _Finder:
    _targets = {"textattack": (_before_textattack, None), _CLI_MODULE: (None, _after_cli)}

    def find_spec(self, fullname, path=None, target=None):
        hooks = self._targets.get(fullname)
        if hooks is None:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _Loader(spec.loader, *hooks)
                return spec
        return None


def install():
    try:
        if os.environ.get("TEXTATTACK_RIFT_HOOK", "1").strip().lower() in _OFF_VALUES:
            return
        if not any(isinstance(f, _Finder) for f in sys.meta_path):
            sys.meta_path.insert(0, _Finder())
    except Exception:
        pass

