"""``python -m paretosweep``: the same command line as the ``paretosweep`` script."""

from paretosweep.cli import main

if __name__ == "__main__":
    main()
