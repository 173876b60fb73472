"""The user guide's "Property-testing your generator" example runs as written.

The code block is read from docs/guide/property-testing.md (the README's section before the
README became the landing page) and executed as it stands (same settings, same assertions),
then every test function it defines is called, so the page cannot rot.
"""

import pathlib
import re

PAGE = pathlib.Path(__file__).resolve().parents[2] / "docs" / "guide" / "property-testing.md"


def _example_code() -> str:
    text = PAGE.read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)
    assert len(blocks) == 1, f"expected one python block in {PAGE.name}, found {len(blocks)}"
    return blocks[0]


def test_the_guide_property_testing_example_runs_as_written():
    namespace = {"__name__": "readme_example"}
    exec(compile(_example_code(), str(PAGE), "exec"), namespace)  # noqa: S102 - the page's own code
    tests = [f for name, f in namespace.items() if name.startswith("test_") and callable(f)]
    assert tests, "the page's example defines no test function"
    for test in tests:
        test()  # a Hypothesis test: runs its examples, raises on a failure
