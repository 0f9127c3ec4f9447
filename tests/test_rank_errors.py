"""What a failed process group tells its user in one line: the rank's own message, not the launcher's report."""

import pytest

from rest.process_group import _tail

ALONE = "rank {rank}: world size 1, expected 2 (on CPU the ranks need ACCELERATE_USE_CPU=true)"
TORCHRUN_REPORT = """E1207 23:14:01.007000 31129 torch/distributed/elastic/multiprocessing/api.py:1002] failed (exitcode: 1)
Traceback (most recent call last):
  File "/venv/lib/python3.11/site-packages/torch/distributed/launcher/api.py", line 383, in launch_agent
    raise ChildFailedError(
torch.distributed.elastic.multiprocessing.errors.ChildFailedError:
============================================================
exit_rank.py FAILED
------------------------------------------------------------
Root Cause (first observed failure):
[0]:
  rank      : 0 (local_rank: 0)
  exitcode  : 1 (pid: 31193)
============================================================
"""


@pytest.mark.parametrize("prefix", ["", "[rank{rank}]: "])
def test_a_rank_that_exits_with_a_message_is_quoted_not_the_launchers_last_line(tmp_path, prefix):
    """A rank that finds itself alone exits with `rank N: ...` (no exception's name); torchrun's report after it
    ends in a row of '=' signs."""
    log = tmp_path / "train.log"
    log.write_text("".join(f"{prefix}{ALONE}\n".format(rank=rank) for rank in (0, 1)) + TORCHRUN_REPORT)
    assert _tail(log) == ALONE.format(rank=1)

