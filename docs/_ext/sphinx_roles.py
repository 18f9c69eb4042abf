"""Griffe extension: turn Sphinx roles in docstrings into mkdocstrings links.

The docstrings of ``cave_auth`` are Google style, but their cross-references
use Sphinx roles (``:class:`Config```, ``:func:`~cave_auth.save_token```),
which Markdown would show verbatim. Before the docstrings are parsed, this
extension rewrites each role:

* to an autorefs link, ``[`Config`][cave_auth.config.Config]``, when the
  target is an object of ``cave_auth`` (looked up from the docstring's class,
  then its module, then the ``cave_auth`` package);
* to inline code otherwise (``os.replace``, ``attrs.evolve``...), since the
  build has no network to fetch other projects' inventories.

It also turns the reST literal-block marker ``text::`` into ``text:``.
Loaded by mkdocstrings (``extensions:`` in ``mkdocs.yml``); not a plugin.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(
    r":(?:py:)?(?:class|func|meth|mod|attr|exc|data|obj|const):`(?P<body>[^`]+)`"
)
_EXPLICIT = re.compile(r"^(?P<text>.*?)\s*<(?P<target>[^>]+)>$")
_LITERAL_MARKER = re.compile(r"(?<=\S)::$", re.MULTILINE)


def _lookup(pkg: griffe.Module, path: str) -> griffe.Object | griffe.Alias | None:
    if not path.startswith(pkg.path + "."):
        return None
    try:
        found: griffe.Object | griffe.Alias = pkg[path[len(pkg.path) + 1 :]]
    except (KeyError, griffe.AliasResolutionError, griffe.CyclicAliasError):
        return None
    return found


def _anchor(found: griffe.Object | griffe.Alias) -> str:
    """Return the path under which the reference pages render ``found``."""
    if isinstance(found, griffe.Alias):
        try:
            target = found.final_target
        except (griffe.AliasResolutionError, griffe.CyclicAliasError):
            return found.path
        if any(part.startswith("_") for part in target.path.split(".")):
            return found.path  # rendered where it is re-exported (testing)
        return target.path
    return found.path


def _rendered(found: griffe.Object | griffe.Alias) -> bool:
    """Tell whether the reference pages show ``found`` (public, public parents)."""
    current: Any = found
    while current is not None and current.parent is not None:
        if not current.is_public:
            return False
        current = current.parent
    return True


def _scopes(obj: griffe.Object | griffe.Alias) -> list[str]:
    scopes = []
    current: Any = obj
    while current is not None:
        if current.is_class or current.is_module:
            scopes.append(current.path)
        current = current.parent
    return scopes


class SphinxRoles(griffe.Extension):
    """Rewrite Sphinx roles once the whole package is loaded."""

    def on_package(
        self, *, pkg: griffe.Module, loader: griffe.GriffeLoader, **kwargs: Any
    ) -> None:
        """Visit every docstring of the package.

        Args:
            pkg: The loaded package.
            loader: The loader (unused).
            **kwargs: Other arguments griffe passes.
        """
        self._visit(pkg, pkg)

    def _visit(self, pkg: griffe.Module, obj: griffe.Object) -> None:
        if obj.docstring is not None:
            obj.docstring.value = self._rewrite(pkg, obj, obj.docstring.value)
        for member in obj.members.values():
            if isinstance(member, griffe.Alias):
                continue
            self._visit(pkg, member)

    def _rewrite(self, pkg: griffe.Module, obj: griffe.Object, text: str) -> str:
        scopes = [*_scopes(obj), pkg.path]

        def replace(match: re.Match[str]) -> str:
            body = match.group("body").strip()
            explicit = _EXPLICIT.match(body)
            if explicit:
                shown, target = explicit.group("text"), explicit.group("target")
            else:
                target = body.removeprefix("~")
                shown = target.rsplit(".", 1)[-1] if body.startswith("~") else target
            candidates = [target] + [f"{scope}.{target}" for scope in scopes]
            for candidate in candidates:
                found = _lookup(pkg, candidate)
                if found is not None and _rendered(found):
                    return f"[`{shown}`][{_anchor(found)}]"
            return f"`{shown}`"

        return _LITERAL_MARKER.sub(":", _ROLE.sub(replace, text))
