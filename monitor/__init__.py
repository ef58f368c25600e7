"""The layer a trust-and-safety team runs on top of the classifier: a stream of comment events in, pile-on
alerts and hash-chained evidence out (`cvguard monitor`, `alerts`, `evidence`; `serve --monitor-db`).

config.py the rules (configs/monitor.yaml), engine.py the windows and alerts, store.py the database and its
schema, evidence.py the chain and the bundle, pii.py the personal-data detectors, stream.py stdin, files and
the webhook."""
