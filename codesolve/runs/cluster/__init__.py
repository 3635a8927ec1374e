"""Batches on a Ray cluster (``codesolve batch … --executor ray``); needs the ``ray`` extra.

Nothing here imports Ray at import time except :mod:`.executor`'s functions,
which import it when called; the CLI imports this package only when
``--executor ray`` is asked for. See :mod:`.executor` for the design.
"""
