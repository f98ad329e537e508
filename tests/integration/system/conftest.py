"""The system tests' fixtures: defined in sysharness.py, which the test modules
import their helpers from (a module of its own name: `from conftest import`
would find whichever directory's conftest pytest loaded first)."""

from sysharness import *  # noqa: F401,F403
