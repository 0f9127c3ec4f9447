"""`python run.py [overrides]` in a checkout: the same as the installed `rest` command (rest/cli.py)."""

from rest.cli import start

if __name__ == "__main__":
    start()
