"""What tests/ooni's end-to-end scripts share: named checks that print ok/FAIL, and running the binary."""
import subprocess, sys

failures = []

def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)

def runner(collector):
    return lambda *args: subprocess.run([collector, *args], capture_output=True, text=True, timeout=120)

def finish():
    print(f"{len(failures)} failed")
    sys.exit(1 if failures else 0)
