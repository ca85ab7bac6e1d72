"""Loading a settings class: every declared source fetched at once, converted, checked, cached.

A settings class is a `msgspec.Struct` whose field defaults say where each value comes from.
Fields without a source read the environment variable of their upper-cased name, else keep
their default. Secrets (Secrets Manager, SecureString parameters) must be typed `SecretStr`.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any, Generic, TypeVar, get_args, get_origin

import msgspec

from lift.config.backends import AccessDeniedError, Fetched, FetchError, NotFoundError, default_backend
from lift.config.secret import SecretBytes, SecretStr
from lift.config.sources import MISSING, AppConfig, Env, Parameter, Secret, Source

__all__ = ["ConfigError", "Settings", "load", "declared_sources", "iam_statements", "on_change"]

T = TypeVar("T")
_log = logging.getLogger("lift.config")
_change_listeners: list[Callable[[type, list[str]], None]] = []


class ConfigError(Exception):
    """Settings could not load. `problems` lists `(field, message)`; no message holds a value."""

    def __init__(self, settings: type, problems: list[tuple[str, str]]) -> None:
        self.settings = settings
        self.problems = problems
        lines = "\n".join(f"  - {field}: {message}" for field, message in problems)
        super().__init__(f"{settings.__name__} could not load {len(problems)} setting(s):\n{lines}")


def on_change(listener: Callable[[type, list[str]], None]) -> Callable[[type, list[str]], None]:
    """Call `listener(settings_class, changed_field_names)` when a refresh changes values."""
    _change_listeners.append(listener)
    return listener


_OWN_DEFAULT: Any = type("_OwnDefault", (), {"__repr__": lambda self: "the field's default"})()


class _Field:
    __slots__ = ("name", "type", "default")

    def __init__(self, name: str, type: Any, default: Any) -> None:
        self.name, self.type, self.default = name, type, default


def _is_pydantic(cls: Any) -> bool:
    return isinstance(cls, type) and hasattr(cls, "model_fields") and hasattr(cls, "model_validate")


def _fields(cls: type) -> list[_Field]:
    """(name, type, default) of a msgspec Struct or a pydantic model (`msgspec.NODEFAULT`: none)."""
    if isinstance(cls, type) and issubclass(cls, msgspec.Struct):
        return [
            _Field(f.name, f.type, _OWN_DEFAULT if f.default_factory is not msgspec.NODEFAULT else f.default)
            for f in msgspec.structs.fields(cls)
        ]
    if _is_pydantic(cls):
        out = []
        for name, info in cls.model_fields.items():
            required = info.is_required() and not isinstance(info.default, Source)
            out.append(_Field(name, info.annotation, msgspec.NODEFAULT if required else info.default))
        return out
    raise TypeError(f"{cls!r} is not a settings class: declare it as a msgspec.Struct (or a pydantic model)")


def declared_sources(cls: type) -> dict[str, Source]:
    """`{field name: Source}` for every field of `cls` read from somewhere (env included)."""
    out: dict[str, Source] = {}
    for field in _fields(cls):
        default = field.default
        if isinstance(default, Source):
            out[field.name] = default
        else:  # a plain field: the env var of its upper-cased name, else the class's own default
            out[field.name] = Env(
                field.name.upper(), default=_OWN_DEFAULT if default is not msgspec.NODEFAULT else MISSING
            )
    return out


def iam_statements(
    cls: type, *, region: str = "*", account: str = "*", kms_key_arns: list[str] | None = None
) -> list[dict[str, Any]]:
    """The IAM policy statements reading `cls` needs: exactly the declared names, nothing wider.

    SecureString parameters and secrets encrypted with a customer managed key also need
    `kms:Decrypt` on that key: declared on the source (`Secret(..., kms_key=ARN or id)`) or
    passed as `kms_key_arns` (AWS managed keys need no grant)."""
    by_actions: dict[tuple[str, ...], list[str]] = {}
    keys: list[str] = []
    for source in declared_sources(cls).values():
        key_arn = source.kms_key_arn(region, account) if isinstance(source, Parameter | Secret) else None
        if key_arn and key_arn not in keys:
            keys.append(key_arn)
        actions = source.actions()
        if actions:
            arns = by_actions.setdefault(actions, [])
            arn = source.resource_arn(region, account)
            if arn not in arns:
                arns.append(arn)
    statements = [
        {"Effect": "Allow", "Action": list(actions), "Resource": arns} for actions, arns in by_actions.items()
    ]
    keys += [arn for arn in kms_key_arns or () if arn not in keys]
    if keys:
        statements.append({"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": keys})
    return statements


def _is_secret_type(tp: Any) -> bool:
    if tp is SecretStr or tp is SecretBytes:
        return True
    # pydantic's SecretStr / SecretBytes, for settings classes that are pydantic models
    return getattr(tp, "__module__", "").startswith("pydantic") and getattr(tp, "__name__", "") in (
        "SecretStr",
        "SecretBytes",
    )


def _wants_secret(annotation: Any) -> bool:
    if _is_secret_type(annotation):
        return True
    return get_origin(annotation) is not None and any(_is_secret_type(a) for a in get_args(annotation))


def _permission_hint(source: Source, refused: str | None = None) -> str:
    """What to grant: the action that was refused (the boto3 path reads parameters with
    ssm:GetParameters, the extension with ssm:GetParameter), else every action the source needs."""
    key = source.kms_key_arn() if isinstance(source, Parameter | Secret) else None
    if refused == "kms:Decrypt":
        return f"the function's role needs kms:Decrypt on {key or 'the customer managed key that encrypts it'}"
    actions = refused or " and ".join(source.actions() or ("?",))
    hint = f"the function's role needs {actions} on {source.resource_arn()}"
    if key:
        hint += f" and kms:Decrypt on {key}"
    elif isinstance(source, Parameter | Secret):
        hint += " (and kms:Decrypt on its key when that is a customer managed key)"
    return hint


def _dec_hook(tp: type, obj: Any) -> Any:
    if tp is SecretStr:
        if isinstance(obj, str):
            return SecretStr(obj)
        if isinstance(obj, bytes):  # a SecretBinary: its text when it is UTF-8
            try:
                return SecretStr(obj.decode("utf-8"))
            except UnicodeDecodeError:
                raise msgspec.ValidationError(
                    "the secret is binary (SecretBinary) and not UTF-8 text: type the field SecretBytes"
                ) from None
        raise msgspec.ValidationError("expected a string secret")
    if tp is SecretBytes:
        if isinstance(obj, bytes):
            return SecretBytes(obj)
        if isinstance(obj, str):  # a SecretString (or a SecureString) read as its UTF-8 bytes
            return SecretBytes(obj.encode("utf-8"))
        raise msgspec.ValidationError("expected a binary or string secret")
    raise NotImplementedError


def load(cls: type[T], *, backend: Any = None) -> T:
    """Fetch every declared value of `cls` now and return an instance (raises `ConfigError`)."""
    instance, _ = _load(cls, backend or default_backend())
    return instance


def _load(cls: type[T], backend: Any) -> tuple[T, dict[str, str | None]]:
    """`cls` loaded, with each value's version; raises `ConfigError`. The error is raised here, from
    a frame that holds no value: raised where the values are (`_loaded`), a traceback printed with
    its locals (Rich, pytest --showlocals, an error tracker) would show every secret already read."""
    outcome = _loaded(cls, backend)
    if isinstance(outcome, ConfigError):
        raise outcome
    return outcome


def _loaded(cls: type[T], backend: Any) -> tuple[T, dict[str, str | None]] | ConfigError:
    sources = declared_sources(cls)
    annotations = {f.name: f.type for f in _fields(cls)}
    problems: list[tuple[str, str]] = []
    raw: dict[str, Any] = {}
    versions: dict[str, str | None] = {}
    fetched: dict[str, Fetched | FetchError] = {}

    for decrypt in (True, False):  # Parameter(..., decrypt=False) reads a SecureString's ciphertext
        params = [s.name for s in sources.values() if isinstance(s, Parameter) and s.decrypt is decrypt]
        if params:
            kind = "param" if decrypt else "sealed-param"
            fetched.update({f"{kind}:{k}": v for k, v in backend.parameters(params, decrypt=decrypt).items()})
    for source in sources.values():
        key = None
        try:
            if isinstance(source, Secret):
                key = f"secret:{source.secret_id}:{source.version_stage}"
                if key not in fetched:
                    fetched[key] = backend.secret(source.secret_id, source.version_stage)
            elif isinstance(source, AppConfig):
                key = f"appconfig:{source.name}"
                if key not in fetched:
                    fetched[key] = backend.appconfig(source.application, source.environment, source.profile)
        except FetchError as exc:
            fetched[key] = exc

    for name, source in sources.items():
        if isinstance(source, Env):
            value = os.environ.get(source.name)
            if value is None:
                if source.default is MISSING:
                    problems.append((name, f"environment variable {source.name} is not set"))
                elif source.default is not _OWN_DEFAULT:
                    raw[name] = source.default  # Env("X", default=...)
                continue
            raw[name] = value
            continue
        if isinstance(source, Parameter):
            kind = "param" if source.decrypt else "sealed-param"
            got = fetched.get(f"{kind}:{source.name}", NotFoundError("ParameterNotFound"))
        elif isinstance(source, Secret):
            got = fetched[f"secret:{source.secret_id}:{source.version_stage}"]
        else:
            got = fetched[f"appconfig:{source.name}"]
        if isinstance(got, FetchError):
            if isinstance(got, NotFoundError) and source.default is not MISSING:
                raw[name] = source.default
                continue
            problems.append((name, _problem(source, got)))
            continue
        if (source.secure or got.secure) and not _wants_secret(annotations[name]):
            problems.append(
                (
                    name,
                    f"{source.describe()} is a secret: type the field SecretStr (SecretBytes for binary data) so"
                    " its value never reaches a log",
                )
            )
            continue
        value: Any = got.value
        if isinstance(source, Secret) and source.key:
            try:
                doc = msgspec.json.decode(value)
            except msgspec.DecodeError:
                doc = None
            if isinstance(doc, dict) and source.key in doc:
                value = doc[source.key]
                if isinstance(value, int | float):  # RDS's own secrets hold `"port": 5432`: its text, "5432"
                    value = msgspec.json.encode(value).decode()
            else:
                keys = sorted(doc) if isinstance(doc, dict) else "the secret is not a JSON object"
                problems.append(
                    (name, f"{source.describe()}: no key {source.key!r} in the secret's JSON (keys: {keys})")
                )
                continue
        elif got.string_list and get_origin(annotations[name]) in (list, tuple, set, frozenset):
            value = value.split(",")  # then converted item by item (`list[int]`: "1,2" -> [1, 2])
        elif isinstance(source, AppConfig):
            try:
                if not isinstance(value, str) and (got.content_type or "").startswith("application/json"):
                    value = msgspec.json.decode(value)
                elif isinstance(value, bytes):
                    value = value.decode("utf-8")
            except (msgspec.DecodeError, UnicodeDecodeError):  # a bad deployment: one problem, the rest still told
                problems.append((name, f"{source.describe()} is not valid {got.content_type or 'UTF-8 text'}"))
                continue
        raw[name] = value
        versions[name] = got.version

    if problems:
        return ConfigError(cls, problems)
    if _is_pydantic(cls):
        instance = _pydantic_instance(cls, raw)
        return instance if isinstance(instance, ConfigError) else (instance, versions)
    try:
        instance = msgspec.convert(raw, cls, strict=False, dec_hook=_dec_hook)
    except msgspec.ValidationError as exc:  # msgspec's message names the path, never the value
        problems = _conversion_problems(raw, annotations) or [("(conversion)", _without_value(exc))]
        return ConfigError(cls, problems)
    return instance, versions


def _without_value(exc: msgspec.ValidationError) -> str:
    """msgspec's message without the one part that quotes the input (`Invalid enum value 'x'`)."""
    return re.sub(r"Invalid enum value .*?(?= - at |$)", "not one of the allowed values", str(exc))


def _conversion_problems(raw: dict[str, Any], annotations: dict[str, Any]) -> list[tuple[str, str]]:
    """Every field whose value does not convert to its type, each named (msgspec stops at the first)."""
    problems = []
    for name, value in raw.items():
        try:
            msgspec.convert(value, annotations[name], strict=False, dec_hook=_dec_hook)
        except msgspec.ValidationError as exc:
            problems.append((name, _without_value(exc)))
        except Exception:  # a type msgspec cannot convert to alone: the whole-class message stands
            return []
    return problems


def _pydantic_instance(cls: Any, raw: dict[str, Any]) -> Any:
    """`cls.model_validate(raw)`, or the `ConfigError` to raise; pydantic's own message would quote the
    input (a secret, maybe), so the problems are rebuilt from the error's location and text only."""
    from pydantic import ValidationError

    try:
        return cls.model_validate(raw)
    except ValidationError as exc:
        problems = [
            (".".join(str(part) for part in err["loc"]) or "(conversion)", err["msg"])
            for err in exc.errors(include_input=False, include_url=False, include_context=False)
        ]
        return ConfigError(cls, problems)


def _problem(source: Source, exc: FetchError) -> str:
    if isinstance(exc, AccessDeniedError):
        return f"access denied reading {source.describe()}: {_permission_hint(source, exc.action)}"
    if isinstance(exc, NotFoundError):
        return f"{source.describe()} does not exist (check the name and the region)"
    return f"{source.describe()} could not be read: {exc}"


_REFRESH_RETRY_SECONDS = 60.0  # a failed background refresh is tried again after min(ttl, this)


class Settings(Generic[T]):
    """One settings class, loaded once per execution environment and cached for `ttl` seconds.

    `get()` loads on first use; after `ttl` it returns the cached value and refreshes in a
    background thread (a failed refresh keeps the last good values, logs a warning and is tried
    again after `min(ttl, 60)` seconds, not on the next request). With
    `max_stale`, values older than `ttl + max_stale` are never served: `get()` then refreshes in
    the caller's thread and raises `ConfigError` if that fails (e.g. the role lost access).
    `refresh()` reloads now, e.g. after a downstream AccessDenied or a rotated password;
    `retry_on(...)` wraps a call to do that once automatically.
    """

    def __init__(
        self,
        cls: type[T],
        *,
        ttl: float | None = 300.0,
        max_stale: float | None = None,
        backend: Any = None,
        app: Any = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        declared_sources(cls)  # fail at declaration on a class that is not a settings class
        self.cls = cls
        self.ttl = ttl
        self.max_stale = max_stale
        self._clock = clock  # seconds, monotonic (tests move it)
        self._backend = backend
        self._value: T | None = None
        self._versions: dict[str, str | None] = {}
        self._loaded_at = 0.0
        self._retry_at = 0.0  # after a failed background refresh: none starts again before this time
        self._loads = 0  # how many times the values were loaded: a reload skips when another thread did it
        self._lock = threading.Lock()
        self._refreshing = threading.Lock()  # held while a background refresh runs: at most one at a time
        if app is not None:
            _register(app, self)

    @property
    def backend(self) -> Any:
        if self._backend is None:
            self._backend = default_backend()
        return self._backend

    def get(self) -> T:
        value = self._value
        if value is None:
            with self._lock:
                if self._value is None:
                    self._store(*_load(self.cls, self.backend))
                return self._value  # type: ignore[return-value]
        if self.ttl is not None:
            loads = self._loads
            age = self._clock() - self._loaded_at
            if age > self.ttl:
                if self.max_stale is not None and age > self.ttl + self.max_stale:
                    return self._reload(loads)  # past the grace period: fresh values or a ConfigError
                if self._clock() >= self._retry_at and self._refreshing.acquire(blocking=False):
                    threading.Thread(target=self._background_refresh, name="lift-config-refresh", daemon=True).start()
        return value

    __call__ = get

    def refresh(self) -> T:
        """Reload every value now; raises `ConfigError` (and keeps the old values) on failure."""
        with self._lock:
            self._store(*_load(self.cls, self.backend))
            return self._value  # type: ignore[return-value]

    def _reload(self, loads: int) -> T:
        """Reload unless another thread already did since the caller read the values of load `loads`:
        many callers that find the values stale (or a credential rejected) at once cost one load."""
        with self._lock:
            if self._loads == loads:
                self._store(*_load(self.cls, self.backend))
            return self._value  # type: ignore[return-value]

    def _background_refresh(self) -> None:
        try:
            self.refresh()
        except Exception as exc:
            # Not again on the next request: a lost grant or a throttled API would otherwise cost a
            # reload (and a warning line) per request, and more throttling.
            self._retry_at = self._clock() + min(self.ttl or 0.0, _REFRESH_RETRY_SECONDS)
            _log.warning(
                "Refreshing %s failed; keeping the last values (next try in %.0f s): %s",
                self.cls.__name__,
                max(0.0, self._retry_at - self._clock()),
                exc,
            )
        finally:
            self._refreshing.release()

    def _store(self, value: T, versions: dict[str, str | None]) -> None:
        old = self._value
        self._value, self._loaded_at = value, self._clock()
        self._loads += 1
        self._versions = versions
        if old is not None:
            changed = [f.name for f in _fields(self.cls) if getattr(old, f.name) != getattr(value, f.name)]
            if changed:
                _log.info("Settings %s changed: %s", self.cls.__name__, ", ".join(changed))
                for listener in list(_change_listeners):
                    try:
                        listener(self.cls, changed)
                    except Exception:
                        _log.exception("A settings change listener failed")

    def retry_on(
        self, *errors: type[BaseException], when: Callable[[BaseException], bool] | None = None
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Decorate a call that uses the settings: on one of `errors` (by default any error whose
        code or text says AccessDenied / authentication failed), refresh and call it once more."""
        import functools
        import inspect

        def matches(exc: BaseException) -> bool:
            if errors and not isinstance(exc, errors):
                return False
            if when is not None:
                return when(exc)
            return bool(errors) or _looks_like_rotation(exc)

        def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
            if inspect.iscoroutinefunction(fn):  # the error is raised when awaited, not when called

                @functools.wraps(fn)
                async def call_async(*args: Any, **kwargs: Any) -> Any:
                    loads = self._loads
                    try:
                        return await fn(*args, **kwargs)
                    except Exception as exc:
                        if not matches(exc):
                            raise
                        # (the reload blocks this loop for one fetch, as the first get() does)
                        self._reload(loads)
                        return await fn(*args, **kwargs)

                return call_async

            @functools.wraps(fn)
            def call(*args: Any, **kwargs: Any) -> Any:
                loads = self._loads
                try:
                    return fn(*args, **kwargs)
                except Exception as exc:
                    if not matches(exc):
                        raise
                    self._reload(loads)  # one reload however many calls were refused at once
                    return fn(*args, **kwargs)

            return call

        return decorate

    def iam_statements(self, **kwargs: Any) -> list[dict[str, Any]]:
        return iam_statements(self.cls, **kwargs)

    def __repr__(self) -> str:
        return f"<Settings {self.cls.__name__} {'loaded' if self._value is not None else 'not loaded'}>"


def _looks_like_rotation(exc: BaseException) -> bool:
    code = ""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = str(response.get("Error", {}).get("Code", ""))
    text = f"{code} {type(exc).__name__} {exc}".lower()
    return any(word in text for word in _ROTATION_WORDS)


# What a rejected credential looks like: AWS (a deleted or replaced access key, an expired
# session token, a denied action), databases ("password authentication failed"), Redis
# (WRONGPASS / redis-py's AuthenticationError) and HTTP APIs (401 Unauthorized).
_ROTATION_WORDS = (
    "accessdenied",
    "access denied",
    "invalidclienttokenid",
    "unrecognizedclient",
    "signaturedoesnotmatch",
    "expiredtoken",
    "authfailure",
    "authentication failed",
    "authenticationerror",
    "invalid password",
    "wrongpass",
    "invalid username-password",
    "unauthorized",
)


# -- what deploy reads: the settings an app declared -----------------------------------
_by_app: weakref.WeakKeyDictionary[Any, list[Settings[Any]]] = weakref.WeakKeyDictionary()


def _register(app: Any, settings: Settings[Any]) -> None:
    _by_app.setdefault(app, []).append(settings)


def settings_of(app: Any) -> list[Settings[Any]]:
    """The settings classes bound to `app` with `Settings(cls, app=app)` (for deploy)."""
    return list(_by_app.get(app, ()))


def app_iam_statements(app: Any, **kwargs: Any) -> list[dict[str, Any]]:
    """Every statement the settings bound to `app` need (deploy grants exactly these)."""
    out: list[dict[str, Any]] = []
    for settings in settings_of(app):
        for statement in settings.iam_statements(**kwargs):
            if statement not in out:
                out.append(statement)
    return out
