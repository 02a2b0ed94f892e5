"""``python -m allos_core``: the ``allos`` command, for when its script is not on PATH."""

from allos_core.cli.main import main

if __name__ == "__main__":
    main()
