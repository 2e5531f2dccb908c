"""tree_rss.py OUT CMD...: runs CMD and writes the peak resident memory of its whole process tree
to OUT, then exits with CMD's status.

/usr/bin/time's %M is the peak of the largest single process, not of a Python driver and the JVM
it starts together. Here every 100 ms the tree under CMD (the children of every thread,
recursively) is walked in /proc and the VmRSS of its processes summed. OUT gets one line:
`peak_kb=N`, the largest sum; `bound_kb=N`, the largest sum of the same processes' own peaks so
far (VmHWM), which no spike between two samples can exceed; `processes=N`, how many the tree held
(the launcher scripts' short ones too); `largest=NAME:KB,...`, the three largest by their peak.

A child with its parent's command line has not called exec yet: a program the JVM starts shows
the JVM's own pages until its exec, so it is left out (its children are still walked).
"""
import os
import subprocess
import sys
import time


def children(pid):
    found = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                found += [int(c) for c in f.read().split()]
    except OSError:
        pass  # the process ended while we looked
    return found


def status(pid):
    """Name, VmRSS and VmHWM (KB) of pid, or None once it has ended."""
    fields = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in ("Name", "VmRSS", "VmHWM"):
                    fields[key] = value.split()[0]
    except OSError:
        return None
    return fields.get("Name", "?"), int(fields.get("VmRSS", 0)), int(fields.get("VmHWM", 0))


def command_line(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read()
    except OSError:
        return None


def main():
    out, cmd = sys.argv[1], sys.argv[2:]
    child = subprocess.Popen(cmd)
    peak = bound = 0
    seen = {}  # pid -> (name, its largest VmHWM seen)
    while child.poll() is None:
        tree, rss, hwm = [(child.pid, None)], 0, 0
        while tree:
            pid, parent_cmdline = tree.pop()
            cmdline = command_line(pid)  # first: should the exec come between, st is after it
            st = status(pid)
            if not st:
                continue
            if cmdline != parent_cmdline:  # not a fork still waiting to exec
                rss += st[1]
                hwm += st[2]
                seen[pid] = (st[0], max(seen.get(pid, ("", 0))[1], st[2]))
            tree += [(c, cmdline) for c in children(pid)]
        peak, bound = max(peak, rss), max(bound, hwm)
        time.sleep(0.1)
    largest = sorted(seen.values(), key=lambda s: -s[1])[:3]
    with open(out, "w") as f:
        f.write(f"peak_kb={peak} bound_kb={bound} processes={len(seen)} largest="
                + ",".join(f"{name}:{kb}" for name, kb in largest) + "\n")
    code = child.returncode
    sys.exit(code if code >= 0 else 128 - code)  # a signal, as a shell reports it


if __name__ == "__main__":
    main()
