"""The configuration as users meet it: every override the README or a config comment shows composes, a new
scorer is one class and one YAML file, a mode that does not exist is one line naming the modes, an experiment
preset made for the loop works with the other modes."""

import json
import logging
import re
import shlex
import subprocess
import sys
import textwrap

import pytest
from conftest import ROOT, config

from rest.config import CONFIG_DIR, build, mode_settings
from rest.config_check import config_error
from rest.errors import UserError
from rest.machine import Machine

# python run.py ..., python -m rest ..., and the installed command: `rest ...` or at the start of a line
COMMAND = re.compile(r"(?:(?:\.venv/bin/)?python (?:run\.py|-m rest)|(?:^|`)\s*(?:\.venv/bin/)?rest) ([^#`\n]*)")


def documented_commands() -> list[tuple[str, list[str]]]:
    """(where, arguments) of every `python run.py ...` (or `rest ...`) in the README and the comments of rest/conf/."""
    sources = [ROOT / "README.md", *sorted(CONFIG_DIR.rglob("*.yaml"))]
    found = []
    for source in sources:
        for line in source.read_text().replace("\\\n", " ").splitlines():  # shell line continuations joined
            for match in COMMAND.finditer(line):
                text = _placeholders(match.group(1).replace("\\", ""))
                args = [a for a in shlex.split(text) if a not in ("&&", "|", "&")]
                found.append((f"{source.relative_to(ROOT)}: {match.group(0).strip()}", args))
    return found


def _placeholders(text: str) -> str:
    """Shell variables and <placeholders> as concrete values (they are the user's to fill in)."""
    return re.sub(r"\$\{?\w+\}?|<[^>]+>", "0", text)


def test_the_documentation_shows_overrides_to_check():
    assert len(documented_commands()) >= 15


@pytest.mark.parametrize(("where", "args"), documented_commands(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_documented_override_composes(where, args, monkeypatch):
    """On the largest machine the README writes for (one node of 8 GPUs), with DeepSpeed installed and the Ray
    cluster it names running."""
    monkeypatch.setattr("rest.process_group.installed", lambda module: True)
    monkeypatch.setattr("rest.sampler.placement.check_address", lambda address: None)
    monkeypatch.setattr("rest.process_group.check_address", lambda address, key: None)  # trainer.ray_address
    assert config_error(CONFIG_DIR, args, machine=Machine(gpus=8, cores=64)) is None, where


def test_an_unknown_mode_is_one_line_naming_the_modes(tmp_path):
    result = subprocess.run([sys.executable, str(ROOT / "run.py"), "mode=nope", f"hydra.run.dir={tmp_path}"],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    assert result.returncode == 2 and len(lines) == 1, lines
    assert all(mode in lines[0] for mode in ("generate", "loop", "merge", "rm_eval", "score")), lines[0]


LOOP_PRESETS = sorted(p.stem for p in (CONFIG_DIR / "experiment").glob("*.yaml") if not p.stem.startswith("rm_eval"))
MODES = {"loop": [], "generate": [], "rm_eval": [], "score": ["mode.input=a.jsonl", "mode.output=b.jsonl"],
         "merge": ["mode.shards=[a]"]}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("experiment", LOOP_PRESETS)
def test_an_experiment_made_for_the_loop_builds_every_mode_without_the_loops_settings(experiment, mode, caplog):
    caplog.set_level(logging.INFO)
    cfg = config(f"experiment={experiment}", f"mode={mode}", *MODES[mode])
    built = build(mode_settings(cfg), _recursive_=False, _convert_="all")  # experiment=smoke mode=generate failed
    assert type(built).__name__.lower() == mode.replace("_", "")
    if mode != "loop" and "eval" in cfg.mode:
        assert "takes no mode.eval (settings of mode=loop): left out" in caplog.text


def test_a_mode_setting_of_another_mode_is_one_line_naming_the_modes_settings():
    with pytest.raises(UserError, match=r"^mode.scorers is not a setting of rest.modes.score.Score \(its settings: "
                                        r"input, output, chunk_size; set by \+mode.scorers or an experiment"):
        mode_settings(config("experiment=rm_eval_prm", "mode=score"))


def test_a_new_scorer_is_one_class_and_one_yaml_file(tmp_path):
    (tmp_path / "throwaway_scorer.py").write_text(textwrap.dedent('''
        class VowelShare:
            """Scores a completion by the share of its letters that are vowels."""

            bounded = True

            def __init__(self, *, vowels: str):
                self.vowels = vowels

            def score(self, samples, context):
                letters = [[c for c in s.completion.lower() if c.isalpha()] for s in samples]
                return [sum(c in self.vowels for c in ls) / len(ls) if ls else None for ls in letters]

            def release(self):
                pass
        '''))
    (tmp_path / "conf" / "scorer").mkdir(parents=True)
    (tmp_path / "conf" / "scorer" / "vowels.yaml").write_text(
        "# @package scorers.vowels\n_target_: throwaway_scorer.VowelShare\nvowels: aeiou\n")
    rows = [{"prompt": "Say hi.", "completion": "aaa b"}, {"prompt": "Say hi.", "completion": "42"}]
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = subprocess.run(
        [sys.executable, str(ROOT / "run.py"), "mode=score", "scorer=[exact_answer,vowels]",
         f"hydra.searchpath=[file://{tmp_path / 'conf'}]", f"mode.input={tmp_path / 'in.jsonl'}",
         f"mode.output={tmp_path / 'out.jsonl'}", f"hydra.run.dir={tmp_path / 'run'}"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, env={**__import__("os").environ, "PYTHONPATH": str(tmp_path)})
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    out = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [(r["score_vowels"], r["score_exact_answer"]) for r in out] == [(0.75, None), (None, None)]
