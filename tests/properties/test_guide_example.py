"""The README's "Property-testing your own generator" example runs as written.

The code block is read from README.md and executed as it stands (same settings, same
assertions), then every test function it defines is called, so the README cannot rot.
"""

import pathlib
import re

README = pathlib.Path(__file__).resolve().parents[2] / "README.md"
HEADING = "## Property-testing your own generator"


def _example_code() -> str:
    text = README.read_text(encoding="utf-8")
    assert HEADING in text, f"README.md lost its section {HEADING!r}"
    section = text.split(HEADING, 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    assert len(blocks) == 1, f"expected one python block in the README section, found {len(blocks)}"
    return blocks[0]


def test_readme_property_testing_example_runs_as_written():
    namespace = {"__name__": "readme_example"}
    exec(compile(_example_code(), str(README), "exec"), namespace)  # noqa: S102 - the README's own code
    tests = [f for name, f in namespace.items() if name.startswith("test_") and callable(f)]
    assert tests, "the README example defines no test function"
    for test in tests:
        test()  # a Hypothesis test: runs its examples, raises on a failure
