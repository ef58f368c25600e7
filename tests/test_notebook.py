"""notebooks/evaluation.ipynb runs top to bottom on a run's metrics.json (nbclient, as CI runs it)."""

import os
from pathlib import Path

import nbformat
from conftest import REPO, write_fake_run
from nbclient import NotebookClient

from cvguard.cli import main

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "evaluation.ipynb"


def test_evaluation_notebook_executes_on_a_run_and_shows_tables_and_plots(tmp_path, monkeypatch):
    run = write_fake_run(tmp_path / "run")
    main(["report", str(run)])
    monkeypatch.setenv("CVGUARD_RUN_DIR", str(run))  # the kernel inherits it
    # and imports this checkout's cvguard, as pytest does (pyproject's pythonpath), not an installed one
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(notebook, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    markdown = "".join(o.get("data", {}).get("text/markdown", "") for o in outputs)
    assert "| violent | cvguard |" in markdown and "| violent | tfidf_baseline |" in markdown
    assert "derog_neg_emote_h" in markdown  # the HateCheck table
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 5
