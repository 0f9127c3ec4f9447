"""Where the Hugging Face libraries' log records go in a run: once each, through the root logger's handlers
(Hydra's console format and the run's run.log).

transformers, datasets and huggingface_hub each give their top logger a handler of its own on import.
transformers stops its records there: they reached neither Hydra's format nor run.log (and with CI=1 in the
environment it lets them through as well, printed twice). datasets and huggingface_hub let them through too, so each
of their warnings, such as every retry of a hub that cannot be reached, was printed twice, once bare. The run
removes those handlers and lets the records propagate, as each library's `enable_propagation` asks where the root
logger is configured. Their levels (WARNING by default, or TRANSFORMERS_VERBOSITY and the like) are kept.
"""

from __future__ import annotations

import logging

LIBRARIES = ("transformers", "datasets", "huggingface_hub")


def route_to_root() -> None:
    import datasets  # noqa: F401  (each adds its handler on import: import first, then remove it)
    import huggingface_hub.utils.logging  # noqa: F401
    import transformers  # noqa: F401

    for name in LIBRARIES:
        logger = logging.getLogger(name)
        for handler in [h for h in logger.handlers if type(h) is logging.StreamHandler]:
            logger.removeHandler(handler)
        logger.propagate = True
