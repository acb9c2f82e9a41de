"""Soft checks for the Python browser and API tests: every failed check is printed and counted, the test
goes on, and finish() gives the exit status (0, or 1 after listing how many failed)."""
import sys

failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)
        print("FAIL: " + msg)
    return cond


def finish(ok_message):
    if failures:
        print("%d failures" % len(failures))
        return 1
    print(ok_message)
    return 0
