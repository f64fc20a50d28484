"""``python -m livehandoff`` is the ``livehandoff`` command."""

from livehandoff.cli import main

main()
