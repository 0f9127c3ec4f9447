"""Entry point: `python run.py [overrides]` runs the ReST-EM loop configured in conf/, or another `mode=`
(score, rm_eval; see README)."""

import logging
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from rest.config_check import config_error
from rest.errors import UserError

CONFIG_DIR = Path(__file__).resolve().parent / "conf"
log = logging.getLogger("rest")


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="config")
def main(cfg: DictConfig) -> None:
    from rest.modes import run_mode

    try:
        status = run_mode(cfg, Path(HydraConfig.get().runtime.output_dir))
    except UserError as err:
        log.error("error: %s", err)
        sys.exit(2)
    if status:
        sys.exit(status)


if __name__ == "__main__":
    problem = config_error(CONFIG_DIR, sys.argv[1:])
    if problem:
        sys.exit(f"error: {problem}")
    main()
