"""Tasks: where problems come from (the `Task` contract is in rest/contracts.py): arithmetic.py, the built-in
generated task; hf.py, any `datasets` source with a field map (GSM8K, MATH and local files are presets)."""

SPLITS = ("seed", "pool", "test")
