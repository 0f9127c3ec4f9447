"""Code tasks: running untrusted model programs contained (sandbox.py), finding the program in a completion
(extract.py), judging it on stdin/stdout tests (judge.py) or assert tests (asserts.py), and the run's code verifier
(verifier.py; `python -m rest.verify_code` from the command line)."""
