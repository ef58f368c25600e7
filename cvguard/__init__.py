"""cvguard: detect Chinese cyber-violence information (网络暴力信息).

Stages live in their own subpackages: data -> training -> evaluation -> export.
`cvguard.export.runtime` is the deployable path and imports no torch.
"""

__version__ = "0.1.0"

# Where the public datasets are read from unless a config names another folder.
DEFAULT_DATA_ROOT = "../shared/datasets"
