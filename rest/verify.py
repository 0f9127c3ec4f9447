"""`python -m rest.verify IN.jsonl OUT.jsonl`: the short name of `python -m rest.verifier` (rest/verifier/__main__.py)."""

import sys

from rest.verifier.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
