"""The loader of the core bundle that `lift package` writes: never imported, its source is copied
into the packaged `lift/__init__.py` (lift.deploy.package.packaged_init), ahead of the imports
`import lift` makes, so that those modules come from one file.

Why: finding, reading and checking each module's .pyc is about 0.15-0.3M instructions of
importlib's own work per module before a line of it runs, for each of the 12 modules `import
lift` loads on every cold start; read from one file (`_core.<cache tag>.bundle`: the modules'
code, compiled by the target Python at package time) they cost about 1.9M fewer. An installed
lift has no bundle and pays nothing for this. The bundle is used only when its Python magic
number and Lift version match; like the package's unchecked-hash .pyc it is not compared with
the sources (the package is built whole, /var/task is read-only)."""

import sys as _sys


def _core_bundle(package_dir: str, version: str) -> object:
    """The finder of the bundle's modules, already first in `sys.meta_path`; None without a bundle
    that this interpreter and this Lift can use (the modules are then imported as usual)."""
    try:
        with open(f"{package_dir}/_core.{_sys.implementation.cache_tag}.bundle", "rb") as file:
            data = file.read()
    except OSError:
        return None
    import marshal

    magic = _sys.modules["_frozen_importlib_external"].MAGIC_NUMBER
    if data[: len(magic)] != magic:
        return None
    try:
        made, codes = marshal.loads(data[len(magic) :])
    except (ValueError, EOFError, TypeError):
        return None
    if made != version or codes.__class__ is not dict:
        return None
    spec_class = _sys.modules["_frozen_importlib"].ModuleSpec
    fix_filename = _sys.modules["_imp"]._fix_co_filename
    root = package_dir.rpartition("/")[0]
    tag = _sys.implementation.cache_tag

    class CoreBundle:
        """Finder and loader of the bundle's modules, each served once (a reload reads its file);
        it leaves `sys.meta_path` once it has served them all."""

        def find_spec(self, name: str, path: object = None, target: object = None) -> object:
            entry = codes.pop(name, None)
            if entry is None:
                return None
            if not codes:
                self.leave()
            is_package, code = entry
            origin = f"{root}/{name.replace('.', '/')}{'/__init__.py' if is_package else '.py'}"
            fix_filename(code, origin)  # (tracebacks and inspect name the file where it is now)
            spec = spec_class(name, self, origin=origin, loader_state=code, is_package=is_package)
            spec.has_location = True
            # (where compileall put the module's .pyc, as importlib would work it out in many more steps)
            folder, _, base = origin.rpartition("/")
            spec.cached = f"{folder}/__pycache__/{base[:-3]}.{tag}.pyc"
            if is_package:
                spec.submodule_search_locations = [origin.rpartition("/")[0]]
            return spec

        def create_module(self, spec: object) -> None:
            return None

        def exec_module(self, module: object) -> None:
            exec(module.__spec__.loader_state, module.__dict__)  # type: ignore[attr-defined]

        def leave(self) -> None:
            if self in _sys.meta_path:
                _sys.meta_path.remove(self)  # type: ignore[arg-type]

    finder = CoreBundle()
    _sys.meta_path.insert(0, finder)  # type: ignore[arg-type]
    return finder
