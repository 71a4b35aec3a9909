"""Jinja2 in its sandbox, with undefined names as errors.

Playbook text fields are templates and ``when:`` fields are expressions over the inputs. Both
run in ``SandboxedEnvironment`` with ``StrictUndefined``: a missing name is an error, never a
blank in a report sent to a regulator. Jinja2 is imported only when a template is touched.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jinja2.sandbox import SandboxedEnvironment


class TemplateProblem(Exception):
    """A template or expression that does not compile or does not render."""


@lru_cache(maxsize=1)
def environment() -> SandboxedEnvironment:
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    env = SandboxedEnvironment(
        undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False
    )
    return env


def _describe(e: Exception) -> str:
    msg = getattr(e, "message", None) or str(e)
    return str(msg).strip().splitlines()[0] if msg else type(e).__name__


def names_in(source: str, *, expression: bool) -> set[str]:
    """The free names a template or expression reads; raises TemplateProblem if it won't parse."""
    from jinja2 import TemplateSyntaxError, meta

    env = environment()
    try:
        if expression:
            _expression(source)  # its own syntax errors read better than the wrapper's
            ast = env.parse("{{ (" + source + ") }}")
        else:
            ast = env.parse(source)
            env.compile(ast)  # unknown filters and tests fail here
    except TemplateSyntaxError as e:
        raise TemplateProblem(_describe(e)) from None
    except Exception as e:  # jinja2 raises assorted errors for unknown filters and tests
        raise TemplateProblem(_describe(e)) from None
    return set(meta.find_undeclared_variables(ast))


def render(source: str, context: dict[str, Any]) -> str:
    """Render a text template; raises TemplateProblem with a short reason."""
    if "{" not in source:
        return source
    try:
        return str(_template(source).render(context))
    except Exception as e:
        raise TemplateProblem(_describe(e)) from None


def render_shown(source: str, context: dict[str, Any]) -> str:
    """Render a text to show a person: one that fails to render is shown as written, with the
    reason beside it, rather than left out of a screen or a record."""
    try:
        return render(source, context)
    except TemplateProblem as e:
        return f"{source}  [template error: {e}]"


@lru_cache(maxsize=512)
def _expression(source: str) -> Any:
    return environment().compile_expression(source, undefined_to_none=False)


@lru_cache(maxsize=512)
def _template(source: str) -> Any:
    return environment().from_string(source)


def evaluate(source: str, context: dict[str, Any]) -> Any:
    """Evaluate an expression such as ``grade != 'general'``."""
    try:
        return _expression(source)(**context)
    except Exception as e:
        raise TemplateProblem(_describe(e)) from None
