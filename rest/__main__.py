"""`python -m rest [overrides]`: the same as the `rest` command (rest/cli.py)."""

from rest.cli import start

if __name__ == "__main__":
    start()
