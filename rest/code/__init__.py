"""Code tasks: running untrusted model programs contained (sandbox.py) and judging them on tests (judge.py)."""
