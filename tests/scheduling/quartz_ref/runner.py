"""Runs the reference Quartz 2.3.2 CronExpression (QuartzRef.java) for the differential tests.

The helper is compiled once per source version into a cache directory and then serves any
number of cases in one JVM run: each request line is
``expression TAB java-zone-id TAB start-epoch-millis TAB count``; each answer line is
``OK [TAB millis]...`` or ``ERR TAB message``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

SOURCE = Path(__file__).with_name("QuartzRef.java")
DEFAULT_JAR_DIRS = ("/usr/share/java",)
JAR_NAMES = ("quartz2.jar", "quartz2-2.3.2.jar", "quartz.jar")


class QuartzUnavailable(RuntimeError):
    """Java, javac or the Quartz jar is missing (tools/ci/install-quartz.sh installs them)."""


@dataclass(frozen=True)
class Request:
    expression: str
    zone_id: str  # Java id: "GMT+08:00", "America/New_York"
    start_millis: int
    count: int


@dataclass(frozen=True)
class Answer:
    ok: bool
    millis: tuple[int, ...] = ()
    error: str = ""


def find_jar() -> Path:
    explicit = os.environ.get("QUARTZ_JAR")
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise QuartzUnavailable(f"QUARTZ_JAR={explicit} does not exist")
        return path
    for folder in DEFAULT_JAR_DIRS:
        for name in JAR_NAMES:
            path = Path(folder) / name
            if path.is_file():
                return path
    raise QuartzUnavailable(
        "Quartz 2.3.2 jar not found in /usr/share/java (run tools/ci/install-quartz.sh, or set QUARTZ_JAR)"
    )


class QuartzReference:
    """Compiled reference helper; :meth:`run` answers a batch of requests with one JVM."""

    def __init__(self, classpath: str, java: str):
        self.classpath = classpath
        self.java = java

    @classmethod
    def build(cls) -> QuartzReference:
        java, javac = shutil.which("java"), shutil.which("javac")
        if not java or not javac:
            raise QuartzUnavailable("java/javac not found on PATH (a JDK 11+ is needed)")
        jar = find_jar()
        digest = hashlib.sha256(SOURCE.read_bytes() + str(jar).encode()).hexdigest()[:16]
        out_dir = Path(tempfile.gettempdir()) / f"wedata-quartzref-{digest}"
        if not (out_dir / "QuartzRef.class").is_file():
            build_dir = Path(tempfile.mkdtemp(prefix="wedata-quartzref-build-"))
            proc = subprocess.run(
                [javac, "-nowarn", "-d", str(build_dir), "-cp", str(jar), str(SOURCE)],
                capture_output=True,
                text=True,
                check=False,
            )
            if proc.returncode != 0:
                raise QuartzUnavailable(f"javac failed:\n{proc.stderr}")
            # Rename into place so a concurrent run never sees a half-written class file.
            try:
                build_dir.rename(out_dir)
            except OSError:
                shutil.rmtree(build_dir, ignore_errors=True)
        return cls(f"{out_dir}{os.pathsep}{jar}", java)

    def run(self, requests: Sequence[Request], timeout: float = 120.0) -> list[Answer]:
        lines = []
        for r in requests:
            if "\t" in r.expression or "\n" in r.expression:
                raise ValueError(f"expression {r.expression!r} cannot be sent on one line")
            lines.append(f"{r.expression}\t{r.zone_id}\t{r.start_millis}\t{r.count}\n")
        proc = subprocess.run(
            [self.java, "-Xshare:auto", "-Dquartzref.timeoutMillis=5000", "-cp", self.classpath, "QuartzRef"],
            input="".join(lines),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"QuartzRef failed ({proc.returncode}):\n{proc.stderr}")
        out = proc.stdout.splitlines()
        if len(out) != len(requests):
            raise RuntimeError(f"QuartzRef answered {len(out)} lines for {len(requests)} requests")
        answers = []
        for line in out:
            head, _, rest = line.partition("\t")
            if head == "OK":
                answers.append(Answer(True, tuple(int(x) for x in rest.split("\t")) if rest else ()))
            else:
                answers.append(Answer(False, error=rest))
        return answers
