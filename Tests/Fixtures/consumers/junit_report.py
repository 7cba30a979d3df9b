"""Reads a JUnit XML report with junitparser, as a CI server's plugin would, and prints what it found as JSON.

Usage: junit_report.py REPORT.xml   (the Python of CI's virtualenv, SELFCARE_CI_PYTHON, which has junitparser)

Each suite: its declared counts (tests, failures, errors, skipped), the same counted from its cases' results,
its time, timestamp and hostname; each case: its name, classname, time and results (kind, type, message).
"""

import json
import sys

import junitparser
from junitparser import Error, Failure, JUnitXml, Skipped, TestSuite


def kind(result):
    for cls, name in ((Failure, "failure"), (Error, "error"), (Skipped, "skipped")):
        if isinstance(result, cls):
            return name
    return type(result).__name__


def main(path):
    xml = JUnitXml.fromfile(path)
    suites = [xml] if isinstance(xml, TestSuite) else list(xml)
    out = {"junitparser": junitparser.version, "suites": []}
    for suite in suites:
        cases = []
        counted = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        for case in suite:
            results = [{"kind": kind(r), "type": r.type, "message": r.message, "text": r.text} for r in case.result]
            counted["tests"] += 1
            for r in results:
                if r["kind"] == "failure":
                    counted["failures"] += 1
                elif r["kind"] == "error":
                    counted["errors"] += 1
                elif r["kind"] == "skipped":
                    counted["skipped"] += 1
            cases.append({"name": case.name, "classname": case.classname, "time": case.time, "results": results})
        out["suites"].append(
            {
                "name": suite.name,
                "declared": {
                    "tests": suite.tests,
                    "failures": suite.failures,
                    "errors": suite.errors,
                    "skipped": suite.skipped,
                },
                "counted": counted,
                "time": suite.time,
                "timestamp": suite.timestamp,
                "hostname": suite.hostname,
                "cases": cases,
            }
        )
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main(sys.argv[1])
