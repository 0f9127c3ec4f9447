"""The command line: `rest [overrides]` (installed with the package), `python -m rest` or, in a checkout,
`python run.py` runs the mode configured in rest/conf/ (`mode=loop`, the ReST-EM loop, by default; see
rest/conf/mode/) inside one `Run`, which owns every resource and releases them at the end."""

import logging
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from rest import stop
from rest.config import CONFIG_DIR
from rest.config_check import config_error
from rest.errors import OtherProcessesFailed, UserError, first_line, out_of_space
from rest.library_logging import route_to_root

log = logging.getLogger("rest")
RERUN = "rerun the same command to go on from what it kept (run directory: {})"


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="config")
def main(cfg: DictConfig) -> None:
    from rest.run import execute

    run_dir = Path(HydraConfig.get().runtime.output_dir)
    stop.install()
    route_to_root()  # transformers', datasets' and the hub's records: once, also in run.log
    try:
        status = execute(cfg, run_dir)
    except UserError as err:
        log.error("error: %s", err)
        sys.exit(2)
    except OtherProcessesFailed as err:
        log.error("%s; %s", err, RERUN.format(run_dir))
        sys.exit(1)
    except stop.Terminated:
        log.error("terminated (SIGTERM); %s", RERUN.format(run_dir))
        sys.exit(143)  # 128 + SIGTERM
    except KeyboardInterrupt:  # the run has closed its engine and workers on the way out
        log.error("interrupted; %s", RERUN.format(run_dir))
        sys.exit(130)  # 128 + SIGINT, as a shell reports it
    except Exception as err:
        if not out_of_space(err):
            raise
        log.error("no space left on the device (%s); free some where the run writes, then %s", first_line(err),
                  RERUN.format(run_dir))
        sys.exit(1)
    if status:
        sys.exit(status)


def start() -> None:
    """The entry point of every way to start a run. Call it only under `if __name__ == "__main__":` (vLLM's
    workers import the main module again)."""
    try:
        _check_then_run()
    except KeyboardInterrupt:  # Ctrl-C while the overrides are checked and the libraries load: no traceback
        print("interrupted before the run started: nothing was done", file=sys.stderr)
        sys.exit(130)


def _check_then_run() -> None:
    problem = config_error(CONFIG_DIR, sys.argv[1:])
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        sys.exit(2)  # as for an error found once the run is built: bad input, nothing done
    main()
