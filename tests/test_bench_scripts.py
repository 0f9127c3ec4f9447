"""The benchmark scripts the README shows run against the current code, on a few hand-made samples and tiny
models (their figures are the README's; here only that they run and report every setting)."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def samples_file(path: Path) -> Path:
    """Two problems, four judged samples each, as mode=rm_eval writes them."""
    rows = []
    for problem, (question, answer) in enumerate([("Compute 1 + 2.", "3"), ("Compute 4 - 1.", "3")]):
        for index, given in enumerate([answer, "7", answer, "5"]):
            rows.append({"problem_id": f"p{problem}", "sample_index": index, "prompt": f"{question}\n",
                         "completion": f"1 + 2 = {given}\n#### {given}", "reference": answer, "finish_reason": "stop",
                         "num_tokens": 12, "extracted": given, "correct": given == answer, "verdict": "ok"})
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def test_prm_ranking_scores_untrained_and_updated_pi_phi_and_an_untrained_judge(tmp_path, tiny_model, other_model):
    data, out = samples_file(tmp_path / "samples.jsonl"), tmp_path / "ranking.json"
    settings = [f"init={other_model},ref={tiny_model},steps=0", f"init={other_model},ref={tiny_model},steps=2,batch_size=2",
                f"kind=judge,init={tiny_model},max_examples=0"]
    result = subprocess.run([sys.executable, "bench/prm_ranking.py", "--train", str(data), "--test", str(data),
                             "--out", str(out), *[arg for s in settings for arg in ("--setting", s)]],
                            cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]  # once: update_settings={} refused by the scorer
    report = json.loads(out.read_text())
    assert len(report["settings"]) == 3 and report["test_rows"] == 8
    assert report["settings"][1]["train"]["steps"] == 2
    assert all(0 <= r["min"]["correct_over_incorrect"] <= 1 for r in report["settings"][:2])
