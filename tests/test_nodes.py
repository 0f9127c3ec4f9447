"""Train on several nodes (rest/nodes.py, rest/process_group.py): on a Ray cluster of two nodes simulated on this
machine (ray.cluster_utils.Cluster: two raylets, each a node of its own with one core), one launcher per node
trains the model that two ranks on one machine train, and the loop runs with it; a node whose launcher fails stops the other and names its
log; the nodes are picked by their GPUs or cores; the launchers' command lines are ones their parsers accept."""

import json
import os
import sys
from pathlib import Path

import pytest
import ray
from conftest import LOSS_TOLERANCE, config, error_lines, run_in_process, run_py, short_sft
from ray.cluster_utils import Cluster

from rest.errors import OtherProcessesFailed, UserError
from rest.nodes import node_environment, pick_nodes, run_on_nodes
from rest.process_group import SHIPPED_ACCELERATE_CONFIGS, NodeRole, _command, launch_error

pytestmark = [pytest.mark.long, pytest.mark.usefixtures("machine_cores")]


@pytest.fixture(scope="module")
def two_nodes():
    """A Ray cluster of two nodes with one CPU each (this process does not join it: Train does)."""
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    yield cluster.address
    cluster.shutdown()


def test_two_nodes_train_with_the_loss_of_two_ranks_on_one_machine(train_examples, tiny_model, tmp_path, two_nodes):
    one_machine = short_sft(processes=2, per_device_train_batch_size=8).train_in_group(train_examples, tiny_model,
                                                                                  tmp_path / "one")
    out = tmp_path / "nodes"
    two = short_sft(nodes=2, ray_address=two_nodes, per_device_train_batch_size=8).train_in_group(train_examples, tiny_model,
                                                                                             out)
    assert not ray.is_initialized()  # Train left the cluster it joined
    assert two["world_size"] == 2 and two["global_batch_size"] == 16
    assert two["global_step"] == one_machine["global_step"]
    assert two["training_loss"] == pytest.approx(one_machine["training_loss"], rel=LOSS_TOLERANCE)
    assert (out / "model.safetensors").is_file()
    logs = sorted(p.name for p in tmp_path.glob("nodes*.log"))
    assert logs == ["nodes.train.log", "nodes.train.node1.log"]


def test_a_failed_group_on_two_nodes_leaves_no_checkpoint_and_names_a_log(train_examples, tmp_path, two_nodes):
    with pytest.raises(OtherProcessesFailed, match=r"process group failed .* see .*nodes\.train(\.node1)?\.log"):
        short_sft(nodes=2, ray_address=two_nodes).train_in_group(train_examples, str(tmp_path / "no-such-model"),
                                                           tmp_path / "nodes")
    assert not (tmp_path / "nodes" / "model.safetensors").exists()


def test_a_node_that_fails_stops_the_launcher_of_the_other(tmp_path, two_nodes):
    """Node 0's launcher would wait ten minutes (a rank waiting for a dead peer); node 1's fails once node 0's rank
    has written its pid (on a busy machine a Python process can take over a second to start)."""
    pid_file = tmp_path / "waiting.pid"
    part = f"{pid_file}.part"  # renamed when written: the test never reads a half-written pid
    waiting = (f"import os, time; open({part!r}, 'w').write(str(os.getpid())); os.replace({part!r}, {str(pid_file)!r})"
               "; time.sleep(600)")
    failing = f"import os, time\nwhile not os.path.exists({str(pid_file)!r}): time.sleep(0.05)\nraise SystemExit(3)"
    commands = lambda host, port: [[sys.executable, "-c", waiting], [sys.executable, "-c", failing]]
    logs = [tmp_path / "node0.log", tmp_path / "node1.log"]
    assert run_on_nodes(commands, 2, 1, two_nodes, logs) == (3, logs[1])
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid_file.read_text()), 0)


def test_the_launchers_get_the_loop_s_variables_that_the_ranks_read(tmp_path, two_nodes, monkeypatch):
    monkeypatch.setenv("WANDB_PROJECT", "rest-nodes")
    monkeypatch.setenv("REST_UNRELATED", "kept here")
    show = "import os; print(os.environ.get('WANDB_PROJECT'), os.environ.get('REST_UNRELATED'))"
    logs = [tmp_path / "node0.log", tmp_path / "node1.log"]
    assert run_on_nodes(lambda host, port: [[sys.executable, "-c", show]] * 2, 2, 1, two_nodes, logs) == (0, logs[0])
    assert [path.read_text() for path in logs] == ["rest-nodes None\n"] * 2


def test_more_nodes_than_the_cluster_has_is_one_line(train_examples, tiny_model, tmp_path, two_nodes):
    with pytest.raises(UserError, match=r"trainer.nodes=3 needs 3 nodes with 1 CPU\(s\) each .* has 2"):
        short_sft(nodes=3, ray_address=two_nodes).train_in_group(train_examples, tiny_model, tmp_path / "nodes")
    assert not ray.is_initialized()


def node(node_id: str, gpus: int, cpus: int, alive: bool = True) -> dict:
    return {"NodeID": node_id, "Alive": alive, "NodeManagerAddress": f"10.0.0.{node_id}",
            "Resources": {"CPU": cpus, **({"GPU": gpus} if gpus else {})}}


def test_the_nodes_are_those_with_the_gpus_the_driver_s_first():
    cluster = [node("1", 0, 64), node("2", 8, 96), node("3", 4, 96), node("4", 8, 96, alive=False), node("5", 8, 96)]
    assert [n["NodeID"] for n in pick_nodes(cluster, driver="5", nodes=2, processes=8)] == ["5", "2"]
    with pytest.raises(UserError, match=r"needs 3 nodes with 8 GPU\(s\) each .* has 2"):
        pick_nodes(cluster, driver="1", nodes=3, processes=8)
    cpus = [node("1", 0, 4), node("2", 0, 2)]
    assert [n["NodeID"] for n in pick_nodes(cpus, driver="2", nodes=2, processes=2)] == ["2", "1"]


def test_a_cpu_node_s_ranks_use_gloo_and_share_its_cores():
    assert node_environment(node("1", 0, 8), processes=2) == {"ACCELERATE_USE_CPU": "true", "OMP_NUM_THREADS": "4"}
    assert node_environment(node("1", 8, 96), processes=8) == {}


def test_each_node_s_torchrun_command_is_one_torchrun_accepts():
    from torch.distributed.run import get_args_parser

    command = _command(8, "auto", None, Path("spec.json"), NodeRole(nodes=2, rank=1, host="10.0.0.2", port=29500))
    parsed = get_args_parser().parse_args(command[3:])
    assert (parsed.nnodes, parsed.node_rank, parsed.nproc_per_node) == ("2", 1, "8")
    assert (parsed.master_addr, parsed.master_port, parsed.standalone) == ("10.0.0.2", 29500, False)
    assert parsed.training_script_args == ["spec.json"] and parsed.module


def test_each_node_s_accelerate_command_is_one_accelerate_accepts():
    from accelerate.commands.launch import launch_command_parser

    role = NodeRole(nodes=4, rank=3, host="10.0.0.2", port=29500)
    command = _command(8, "accelerate", "fsdp2", Path("spec.json"), role)
    parsed = launch_command_parser().parse_args(command[3:])
    assert (parsed.num_processes, parsed.num_machines, parsed.machine_rank) == (32, 4, 3)
    assert (parsed.main_process_ip, parsed.main_process_port) == ("10.0.0.2", 29500)
    assert parsed.config_file == str(SHIPPED_ACCELERATE_CONFIGS / "fsdp2.yaml")


def test_several_nodes_need_a_ray_cluster_that_answers_and_skip_this_machine_s_gpu_count(two_nodes):
    from rest.machine import Machine

    cpu_only = Machine(gpus=0, cores=2)
    assert "set trainer.ray_address" in launch_error(8, "auto", None, {}, cpu_only, nodes=2, ray_address=None)
    assert "no Ray cluster answers" in launch_error(8, "auto", None, {}, cpu_only, nodes=2,
                                                    ray_address="127.0.0.1:1")
    assert launch_error(8, "accelerate", "fsdp2", {}, cpu_only, nodes=2, ray_address=two_nodes) is None
    assert "must be a whole number" in launch_error(1, "auto", None, {}, cpu_only, nodes=0)


def test_the_trainer_uses_grow_s_ray_cluster_unless_told_otherwise():
    assert config("sampler=ray", "sampler.address=10.0.0.2:6379").trainer.ray_address == "10.0.0.2:6379"
    assert config().trainer.ray_address is None
    assert config("trainer.ray_address=auto").trainer.ray_address == "auto"


def test_the_loop_trains_on_two_nodes_with_the_metrics_of_two_ranks_on_one_machine(tmp_path, two_nodes):
    smoke = ["experiment=smoke", "algorithm.iterations=1"]
    result = run_py(*smoke, f"hydra.run.dir={tmp_path / 'nodes'}", "trainer.nodes=2", f"trainer.ray_address={two_nodes}")
    assert result.returncode == 0, error_lines(result)[-5:]
    one_machine = run_in_process(tmp_path / "one", *smoke, "trainer.processes=2")  # the job only: no run.log
    assert "Train on 2 nodes" in (tmp_path / "nodes" / "run.log").read_text()
    for log in ((tmp_path / "nodes" / "run.log").read_text(), one_machine):  # rank 0's summary, relayed to the run's
        assert "Train: {'train_runtime'" in log
    assert measured(tmp_path / "nodes") == measured(tmp_path / "one")


def measured(run_dir: Path) -> list[dict]:
    """Each iteration's metrics, less the timings and the checkpoint's path."""
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in row.items() if not k.startswith("seconds_") and k != "policy"} for row in rows]


def test_several_nodes_without_a_ray_cluster_stop_the_run_in_one_line():
    expected = ("error: trainer.nodes=2 starts Train on the nodes of a Ray cluster: set trainer.ray_address "
                "(host:port of its head, or auto for the cluster this node belongs to), or use sampler=ray with "
                "sampler.address")
    assert error_lines(run_py("trainer.nodes=2")) == [expected]


def test_grow_and_train_on_two_ray_clusters_stop_the_run_in_one_line():
    lines = error_lines(run_py("sampler=ray", "trainer.nodes=2", "trainer.ray_address=auto"))
    assert len(lines) == 1 and "name the same one" in lines[0], lines
