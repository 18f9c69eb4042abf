"""Run the ``cave-auth`` command as ``python -m cave_auth``.

This module only hands over to :func:`cave_auth.cli.main` and exits with the
code it returns; see :mod:`cave_auth.cli` for the commands and exit codes.
"""

from __future__ import annotations

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
