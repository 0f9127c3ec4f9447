"""Train's progress reaches the run's log, in this process and while Train runs as a process group (rest/log_relay.py)."""

import logging

from conftest import short_sft

from rest.log_relay import LogRelay

BAR = " 30%|███       | 3/10 [00:01<00:02,  3.10it/s]"


def relayed(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "rest.trainer"]


def test_loss_records_and_the_trainers_progress_are_relayed_and_other_bars_are_not(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    ranks_log = tmp_path / "checkpoint.train.log"
    ranks_log.write_text("Tokenizing train dataset: 100%|██████████| 18/18 [00:00<00:00]\r"
                         "[rank1]:[W reducer.cpp] a warning\n" + BAR + "\r{'loss': '1.5', 'ep")
    relay = LogRelay(ranks_log, every=0)
    relay.read()  # the record is still being written: it waits
    assert relayed(caplog) == ["Train: step 3 of 10"]
    with open(ranks_log, "a") as out:
        out.write("och': '1'}\n[rank0]:{'train_runtime': '2.0', 'epoch': '2'}\n")
    relay.read(final=True)
    assert relayed(caplog) == ["Train: step 3 of 10", "Train: {'loss': '1.5', 'epoch': '1'}",
                               "Train: {'train_runtime': '2.0', 'epoch': '2'}"]


def test_progress_is_logged_at_most_once_per_period_and_a_missing_file_is_waited_for(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    ranks_log = tmp_path / "checkpoint.train.log"
    relay = LogRelay(ranks_log, every=3600)
    relay.read()  # no file yet
    ranks_log.write_text(BAR + "\r")
    relay.read()
    ranks_log.write_text(BAR + "\r" + BAR.replace("3/10", "4/10") + "\r")
    relay.read()
    assert relayed(caplog) == ["Train: step 3 of 10"]


def test_a_log_written_anew_is_read_from_its_start(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    ranks_log = tmp_path / "checkpoint.train.log"
    ranks_log.write_text("{'loss': '9.0', 'epoch': '1'}\n" + "x" * 100 + "\n")
    relay = LogRelay(ranks_log)
    relay.read()
    ranks_log.write_text("{'loss': '1.0', 'epoch': '1'}\n")
    relay.read()
    assert relayed(caplog) == ["Train: {'loss': '9.0', 'epoch': '1'}", "Train: {'loss': '1.0', 'epoch': '1'}"]


def test_what_the_ranks_wrote_last_is_relayed_when_the_group_ends(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    ranks_log = tmp_path / "checkpoint.train.log"
    with LogRelay(ranks_log):
        ranks_log.write_text("{'train_runtime': '2.0', 'epoch': '2'}")  # no newline: the file ends there
    assert relayed(caplog) == ["Train: {'train_runtime': '2.0', 'epoch': '2'}"]


def test_train_in_this_process_logs_its_records_and_progress_instead_of_printing_them(tiny_model, tmp_path, caplog,
                                                                                     capsys):
    caplog.set_level(logging.INFO)
    examples = [{"prompt": "Compute 1 + 2.\n", "completion": "1 + 2 = 3\n#### 3"}] * 4
    short_sft(per_device_train_batch_size=2, max_length=128).train(examples, tiny_model, tmp_path / "ckpt")
    records = relayed(caplog)
    assert records[0] == "Train: step 1 of 4"
    assert sum(r.startswith("Train: {'loss': ") for r in records) == 4  # every step's (logging_steps=1)
    assert sum(r.startswith("Train: {'train_runtime': ") for r in records) == 1
    assert "'loss'" not in capsys.readouterr().out
