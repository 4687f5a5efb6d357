"""Which ${...} of a Shell task belong to bash (scheduling/shellnames.py)."""

from __future__ import annotations

import pytest

from wedata.scheduling.shellnames import assigned_names, shell_foreign

SCRIPT = """x=1
export Y=2; local z
for f in a b; do echo ${f}; done
read -r -p "who are you" line other
read -a arr
declare -A map
counts[3]=4
(( i=0 ))
getopts ab: opt
mapfile -t rows
printf -v stamp '%s' now
total+=1
echo region=eu; a=1 b=2 env
if true; then c=3; fi
"""


def test_the_variables_a_script_sets() -> None:
    assert assigned_names(SCRIPT) == {
        "x", "Y", "z", "f", "line", "other", "arr", "map", "counts", "i", "opt", "rows", "stamp", "total", "a", "b", "c"}
    # "echo region=eu" is an argument, not an assignment


@pytest.mark.parametrize("inner", [
    "x", "Y", "f", "HOME", "PATH", "RANDOM", "BASH_SOURCE", "WEDATA_TASK_ID", "1", "10", "@", "#", "?",
    "x:-default", "nosuch:-default", "nosuch-", "#arr[@]", "!ref", "map[k]", "line%%.*", "line/a/b", "line^^",
])
def test_bash_owns(inner: str) -> None:
    assert shell_foreign(SCRIPT)(inner)


@pytest.mark.parametrize("inner", ["nosuchparam", "region", "yyyyMMd", "yyyyMMdd-1x", "JAVA_HOME", " x", "a b"])
def test_bash_does_not_own(inner: str) -> None:
    assert not shell_foreign(SCRIPT)(inner)
