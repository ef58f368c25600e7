"""The reference baseline: character 1-3-gram TF-IDF + logistic regression, one per label.

Trained on exactly the rows cvguard trains on, so the report can set the two side by side.
"""

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from cvguard.config import RunConfig
from cvguard.contracts import EVAL_SPLITS, RunDir
from cvguard.normalize import normalize_text
from cvguard.taxonomy import UNKNOWN, label_matrix, load_taxonomy

BASELINE_NAME = "tfidf_baseline"


def train_baseline(config: RunConfig) -> None:
    """Sees the same text as the model: normalised when model.normalize is on."""
    run = RunDir(config.run_path)
    prepare = normalize_text if config.model.normalize else str
    labels = list(load_taxonomy().labels)
    train_rows = run.read_split("train", required=True)
    y = label_matrix(train_rows, labels)
    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), min_df=2, sublinear_tf=True)
    x = vectorizer.fit_transform([prepare(r["text"]) for r in train_rows])
    models = {}
    for j in range(len(labels)):
        known = y[:, j] != UNKNOWN
        if len(np.unique(y[known, j])) == 2:
            models[j] = LogisticRegression(max_iter=2000, C=4.0).fit(x[known], y[known, j])
    for split in EVAL_SPLITS:
        rows = run.read_split(split)
        probs = np.full((len(rows), len(labels)), 0.0, dtype=np.float32)
        if rows:
            xs = vectorizer.transform([prepare(r["text"]) for r in rows])
            for j, model in models.items():
                probs[:, j] = model.predict_proba(xs)[:, 1]
        run.save_predictions(BASELINE_NAME, split, probs)
