"""What `python run.py mode=NAME` runs besides the loop (rest/loop.py): each mode is a class of its settings
(rest/conf/mode/NAME.yaml) with `run(run) -> exit status`, using the resources the run owns.

generate.py  Grow + every configured scorer over a split, into a dataset; resumable and shardable
merge.py     join mode=generate shards into one dataset
score.py     score an existing JSONL of (prompt, completion) rows
rm_eval.py   how well scorers rank samples (pairs, best-of-N)
"""
