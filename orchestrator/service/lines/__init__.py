"""Line changes of a cart (add, set quantity, remove), each as a platform step and a ``Record``.

Why apart from ``mutations.py``: that module owns the protocol (lease, preconditions, save);
this package the rules of each change, run under the lease on a freshly read cart:

- the platform step validates (catalog, bounds), then changes the external cart: an add to a
  held line sets its new total (an absolute update, safe to repeat) rather than adding again;
  a line our record does not know to be held is looked up on the platform first
  (``changes.py``); an add for a merchant without a live bag makes one (``new_bag.py``);
- the ``Record`` returned folds what the platform holds into whichever cart it is given (the
  one read, or a fresh one if the save found it changed), finding bags and lines by id
  (``records.py``, over ``sync.py``'s reading of the platform's answer).

Failures are order errors (``EXTERNAL_ADD_ITEM``, ``EXTERNAL_UPDATE_ITEM``,
``EXTERNAL_REMOVE_ITEM``), never the answer's status: the cart answers 200 with what holds.
"""

from orchestrator.service.lines.changes import LineChanges
from orchestrator.service.lines.records import MadeRecord, Record

__all__ = ["LineChanges", "MadeRecord", "Record"]
