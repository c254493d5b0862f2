"""Append audit records in a tight loop until killed (the kill -9 durability test)."""

import sys

from tui.core.actions.audit import append_record, make_record

path = sys.argv[1]
i = 0
while True:
    rec = make_record(
        "finished",
        service="checkout",
        action="rollback",
        target={"kind": "exec", "argv": ["x"]},
        who="test@host",
        status="ok",
        output_tail=["line " * 200] * 5,
        seq=i,
    )
    append_record(path, rec)
    if i == 0:
        print("ready", flush=True)
    i += 1
