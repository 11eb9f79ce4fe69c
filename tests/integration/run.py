"""Run every tests/integration/test_*.py against the real binary ($MG_BIN), print
"integration: N passed, N failed[, N skipped]" and append the counts to $RESULTS for tests/summary.sh.
Arguments narrow the run to those module names (e.g. `run.py test_server`)."""
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def main():
    loader = unittest.TestLoader()
    if len(sys.argv) > 1:
        suite = unittest.TestSuite(loader.loadTestsFromName(n) for n in sys.argv[1:])
    else:
        suite = loader.discover(HERE, pattern="test_*.py", top_level_dir=HERE)
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    skipped = len(result.skipped)
    # A class whose setUpClass failed adds an error but no run test: never count below zero.
    passed = max(0, result.testsRun - failed - skipped)
    print("integration: %d passed, %d failed, %d skipped" % (passed, failed, skipped))
    results = os.environ.get("RESULTS")
    if results:
        with open(results, "a") as f:
            f.write("integration %d %d %d\n" % (passed, failed, skipped))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
