"""What `sam build` packages runs on Lambda: every module a function's code imports is found,
every function fits Lambda's unzipped size quota with its layers, and AudioFunction carries
PyAV's FFmpeg built for arm64.

`sam build` (no Docker, python3.13, arm64) builds the template into a temporary folder. Each
function is then laid out as Lambda loads it, and every module that its code and its layers'
code import (found by parsing the code) must resolve on Lambda's python3.13 path:
/var/task (the function's artifact), then each layer's /opt/python/lib/python3.13/site-packages
and /opt/python, then the runtime's site-packages (boto3 and its dependencies) and the standard
library. The path is documented in "Dependency search path and runtime-included libraries",
https://docs.aws.amazon.com/lambda/latest/dg/python-package.html, and the layer folders in
https://docs.aws.amazon.com/lambda/latest/dg/packaging-layers.html.

The build is for arm64 on whatever machine runs the tests, so nothing in it is imported here:
modules are found as files, the way importlib's path finder finds them, and binaries are told
apart by their ELF header.
"""

from __future__ import annotations

import ast
import fcntl
import glob
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pytest

from mediaflow.localcloud.template import load_template

ROOT = Path(__file__).resolve().parents[2]
SAM = Path(sys.executable).parent / "sam"
BUILD_TIMEOUT = 600  # seconds; about 45 s on a 2-core machine with a warm pip cache
PYTHON_VERSION = "3.13"
# What an extension module for python3.13 on arm64 Linux may be called (PEP 3149, abi3).
EXTENSION_SUFFIXES = (".cpython-313-aarch64-linux-gnu.so", ".abi3.so", ".so")
# "The Lambda Python runtime includes the AWS SDK for Python (Boto3) and its dependencies"
# (python-package.html above): boto3, botocore and what they require.
RUNTIME_PACKAGES = frozenset(
    {"boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six"}
)
NETWORK_ERRORS = (
    "NewConnectionError",
    "ConnectTimeout",
    "ReadTimeout",
    "Max retries exceeded",
    "Temporary failure in name resolution",
    "Network is unreachable",
    "Connection reset",
    "Could not fetch URL",
    "ProxyError",
    "SSLError",
)
# "250 MB: The maximum size of the contents of a deployment package, including layers and custom
# runtimes. (unzipped)", Lambda quotas, https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html.
# In bytes it is GetAccountSettings' CodeSizeUnzipped, "the maximum size of a function's
# deployment package and layers when they're extracted" (AccountLimit, "all file and storage
# sizes are in bytes": https://docs.aws.amazon.com/lambda/latest/api/API_AccountLimit.html),
# 262144000 in https://docs.aws.amazon.com/lambda/latest/dg/example_lambda_GetAccountSettings_section.html:
# 250 MiB, not 250,000,000 bytes.
UNZIPPED_QUOTA_BYTES = 262_144_000
MIB = 1024 * 1024
# ELF header (System V gABI, https://refspecs.linuxfoundation.org/elf/gabi4+/ch4.eheader.html):
# e_ident's magic, its byte order at offset 5 (1 = little-endian), e_type at 16 (3 = ET_DYN, a
# shared object), e_machine at 18; 183 is EM_AARCH64 ("ELF for the Arm 64-bit Architecture",
# https://github.com/ARM-software/abi-aa/blob/main/aaelf64/aaelf64.rst).
ELF_MAGIC = b"\x7fELF"
ET_DYN = 3
EM_AARCH64 = 183
# What AudioFunction's decoding needs of PyAV's bundled FFmpeg (av.libs/lib<name>-<hash>.so.<v>).
FFMPEG_LIBRARIES = ("libavcodec", "libavformat", "libavutil", "libswresample")
NO_PYTHON = (
    "sam build needs a Python 3.13 to build for python3.13: put one on PATH "
    "(`pyenv install 3.13`, or your system's python3.13 package)"
)


# ---------------------------------------------------------------- finding modules as Lambda does


def find_module(name: str, path: list[Path]) -> Path | None:
    """Where Python's path finder would load the module `name` from on `path`, or None.

    Per folder, as importlib's FileFinder: a package (a folder with `__init__`) first, then a
    module file (source, bytecode or an extension built for python3.13 on arm64); a folder
    without `__init__` is a namespace portion, used only when no folder has the real thing."""
    location: Path | None = None
    search = path
    for depth, part in enumerate(name.split(".")):
        if depth and not search:
            return None  # a plain module has no submodules
        location, search = _find_on(part, search)
        if location is None:
            return None
    return location


def _find_on(part: str, folders: list[Path]) -> tuple[Path | None, list[Path]]:
    portions: list[Path] = []
    for folder in folders:
        candidate = folder / part
        if candidate.is_dir():
            for init in (
                "__init__.py",
                "__init__.pyc",
                *(f"__init__{s}" for s in EXTENSION_SUFFIXES),
            ):
                if (candidate / init).is_file():
                    return candidate, [candidate]
        for suffix in (".py", ".pyc", *EXTENSION_SUFFIXES):
            if (folder / f"{part}{suffix}").is_file():
                return folder / f"{part}{suffix}", []
        if candidate.is_dir():
            portions.append(candidate)
    return (portions[0], portions) if portions else (None, [])


@dataclass(frozen=True)
class Import:
    module: str
    names: tuple[str, ...]  # `from module import names`: each a submodule or an attribute
    source: str  # file:line, for the report


def imports_of(file: Path, root: Path) -> Iterator[Import]:
    """Every import a file makes at run time, relative ones made absolute. Imports under
    `if TYPE_CHECKING:` only exist for the type checker and are left out."""
    tree = ast.parse(file.read_text(), str(file))
    package = ".".join(file.relative_to(root).parent.parts)
    skipped = {
        id(node)
        for statement in ast.walk(tree)
        if isinstance(statement, ast.If) and _is_type_checking(statement.test)
        for body_statement in statement.body
        for node in ast.walk(body_statement)
    }
    where = file.relative_to(ROOT) if file.is_relative_to(ROOT) else file
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(alias.name, (), f"{where}:{node.lineno}")
        elif isinstance(node, ast.ImportFrom) and node.module != "__future__":
            module = node.module or ""
            if node.level:
                anchor = package.split(".") if package else []
                anchor = anchor[: len(anchor) - (node.level - 1)] if node.level > 1 else anchor
                module = ".".join([*anchor, *([module] if module else [])])
            names = tuple(alias.name for alias in node.names if alias.name != "*")
            yield Import(module, names, f"{where}:{node.lineno}")


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


@dataclass(frozen=True)
class LambdaLayout:
    """One function of the template as Lambda loads it from what `sam build` produced."""

    logical_id: str
    handler: str
    path: list[Path]  # /var/task, then each layer's two /opt/python folders
    sources: list[Path]  # the repository folders of its code and of its layers' code
    # What Lambda extracts for it, by logical ID: its built artifact, then each layer's.
    parts: dict[str, Path] = field(default_factory=dict)


def lambda_layouts(source_root: Path, artifacts: dict[str, Path]) -> list[LambdaLayout]:
    """Every function of `source_root`'s template; `artifacts` maps a logical ID to its
    built folder (a function's /var/task, a layer's /opt)."""
    template = load_template(source_root / "template.yaml")
    resources: dict[str, Any] = template["Resources"]
    globals_ = template.get("Globals", {}).get("Function", {})
    layouts = []
    for logical_id, resource in resources.items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        props = resource["Properties"]
        runtime = props.get("Runtime", globals_.get("Runtime"))
        assert runtime == f"python{PYTHON_VERSION}", f"{logical_id}: runtime {runtime}"
        path, sources = [artifacts[logical_id]], [source_root / props["CodeUri"]]
        layers = [layer["Ref"] for layer in [*globals_.get("Layers", []), *props.get("Layers", [])]]
        # Lambda extracts layers into /opt in order, a later one overwriting an earlier one's
        # files: on the search path, the last layer comes first.
        for layer_id in reversed(layers):
            opt = artifacts[layer_id]
            path += [opt / "python" / "lib" / runtime / "site-packages", opt / "python"]
            sources.append(source_root / resources[layer_id]["Properties"]["ContentUri"])
        parts = {part: artifacts[part] for part in [logical_id, *layers]}
        layouts.append(LambdaLayout(logical_id, props["Handler"], path, sources, parts))
    return layouts


def unresolved_imports(layout: LambdaLayout, stdlib: frozenset[str]) -> list[str]:
    """What would fail to import on Lambda: the handler, any module imported by the code of
    the function or of its layers, any extension module built for another platform."""
    problems = []
    module_name, _, function_name = layout.handler.rpartition(".")
    handler_file = find_module(module_name, layout.path)
    if handler_file is None:
        problems.append(f"handler module {module_name} is not on Lambda's path")
    elif handler_file.suffix == ".py" and not _defines(handler_file, function_name):
        problems.append(f"{module_name} defines no {function_name}")
    for source in layout.sources:
        for file in sorted(source.rglob("*.py")):
            for found in imports_of(file, source):
                problems += _unresolved(found, layout.path, stdlib)
    for folder in layout.path:
        problems += [
            f"{binary} is built for another platform or Python"
            for binary in glob.glob(f"{folder}/**/*.cpython-*.so", recursive=True)
            if not binary.endswith(EXTENSION_SUFFIXES[0])
        ]
    return [f"{layout.logical_id}: {problem}" for problem in problems]


def _unresolved(found: Import, path: list[Path], stdlib: frozenset[str]) -> list[str]:
    top = found.module.partition(".")[0]
    if find_module(found.module, path) is None:
        if top in stdlib or top in RUNTIME_PACKAGES:
            return []  # the runtime brings it
        return [f"{found.module} (imported by {found.source}) is not on Lambda's path"]
    return []


def _defines(file: Path, name: str) -> bool:
    tree = ast.parse(file.read_text())
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name:
            return True
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == name for target in node.targets
        ):
            return True
    return False


# ---------------------------------------------------------------- sizes and binaries


def unzipped_bytes(folder: Path) -> int:
    """The bytes of every file under `folder`, links followed: what its .zip holds once Lambda
    extracts it (`sam deploy` zips the built folder so, with os.walk(followlinks=True))."""
    return sum(
        os.stat(os.path.join(root, name)).st_size
        for root, _, names in os.walk(folder, followlinks=True)
        for name in names
    )


def size_report(layouts: list[LambdaLayout]) -> tuple[dict[str, int], str]:
    """Each function's unzipped bytes with its layers, and a table of them against the quota."""
    totals, lines = {}, []
    for layout in layouts:
        sizes = {part: unzipped_bytes(folder) for part, folder in layout.parts.items()}
        total = totals[layout.logical_id] = sum(sizes.values())
        margin = UNZIPPED_QUOTA_BYTES - total
        breakdown = " + ".join(f"{part} {size / MIB:.1f}" for part, size in sizes.items())
        lines.append(
            f"{layout.logical_id}: {total / MIB:.1f} MiB ({total:,} bytes: {breakdown}), "
            f"margin {margin / MIB:.1f} MiB ({margin / UNZIPPED_QUOTA_BYTES:.0%} of the quota)"
        )
    heading = f"Unzipped with layers, against Lambda's {UNZIPPED_QUOTA_BYTES:,} bytes (250 MiB):"
    return totals, "\n".join([heading, *lines])


def elf_machine(file: Path) -> int | None:
    """The e_machine of an ELF shared object; None for any other file."""
    with file.open("rb") as stream:
        header = stream.read(20)
    if len(header) < 20 or header[:4] != ELF_MAGIC:
        return None
    order: Literal["little", "big"] = "little" if header[5] == 1 else "big"
    if int.from_bytes(header[16:18], order) != ET_DYN:
        return None
    return int.from_bytes(header[18:20], order)


def pyav_binaries(artifact: Path) -> dict[str, int | None]:
    """PyAV's extension modules (av/**/*.abi3.so) and the FFmpeg libraries its wheel bundles
    (av.libs/*.so*) in a built artifact, each with its ELF machine, by path in the artifact."""
    files = [*(artifact / "av").rglob("*.abi3.so"), *(artifact / "av.libs").glob("*.so*")]
    return {str(file.relative_to(artifact)): elf_machine(file) for file in sorted(files)}


# ---------------------------------------------------------------- building


def python313() -> Path | None:
    """A working python3.13: the one on PATH, else pyenv's (its shim fails unless selected)."""
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates = [shutil.which(f"python{PYTHON_VERSION}")]
    candidates += sorted(glob.glob(f"{pyenv_root}/versions/{PYTHON_VERSION}*/bin/python3.13"))
    for candidate in filter(None, candidates):
        check = subprocess.run(
            [candidate, "-c", "import sys; print(sys.version_info[:2])"],
            capture_output=True,
            text=True,
            check=False,
        )
        if check.returncode == 0 and check.stdout.strip() == "(3, 13)":
            return Path(candidate)
    return None


def stdlib_modules(python: Path) -> frozenset[str]:
    names = subprocess.run(
        [str(python), "-c", "import sys; print(*sorted(sys.stdlib_module_names))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return frozenset(names)


def sam_build(template: Path, build_dir: Path, python: Path, *resources: str) -> None:
    """`sam build` of `template` into `build_dir`, run from its parent folder so that nothing
    (build.toml, caches) lands in the repository. Retried once when pip could not reach PyPI."""
    if not SAM.exists():
        pytest.fail(f"sam is not installed next to {sys.executable} (pip install -e '.[test]')")
    command = [
        str(SAM), "build", *resources, "--template-file", str(template),
        "--build-dir", str(build_dir), "--no-cached",
    ]  # fmt: skip
    environment = {
        **os.environ,
        "PATH": f"{python.parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "SAM_CLI_TELEMETRY": "0",
    }
    for attempt in (1, 2):
        result = subprocess.run(
            command,
            cwd=build_dir.parent,
            env=environment,
            capture_output=True,
            text=True,
            timeout=BUILD_TIMEOUT,
            check=False,
        )
        if result.returncode == 0:
            return
        output = result.stdout + result.stderr
        network = next((marker for marker in NETWORK_ERRORS if marker in output), None)
        if network is None or attempt == 2:
            break
    errors = [line for line in output.splitlines() if line.startswith("Error")] or [output[-500:]]
    if network:
        pytest.fail(f"sam build could not download the requirements from PyPI ({network}): "
                    f"a network failure, not a packaging one; {errors[-1]}")  # fmt: skip
    pytest.fail(f"sam build failed: {errors[-1]}\n{output[-3000:]}")


@dataclass(frozen=True)
class Build:
    directory: Path
    python: Path
    stdlib: frozenset[str]

    def artifacts(self) -> dict[str, Path]:
        """Logical ID -> built folder, as the built template names them."""
        built = load_template(self.directory / "template.yaml")["Resources"]
        return {
            logical_id: self.directory / resource["Properties"][key]
            for logical_id, resource in built.items()
            for key in ("CodeUri", "ContentUri")
            if key in resource.get("Properties", {})
        }


@pytest.fixture(scope="session")
def build(tmp_path_factory: pytest.TempPathFactory) -> Build:
    """One `sam build` of the repository's template per test session: under pytest-xdist the
    workers share it through a lock in the session's temporary root."""
    python = python313()
    if python is None:
        pytest.fail(NO_PYTHON)
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent
    directory = shared / "sam-build" / "build"
    with (shared / "sam-build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (directory / "template.yaml").exists():
            directory.parent.mkdir(exist_ok=True)
            shutil.rmtree(directory, ignore_errors=True)
            sam_build(ROOT / "template.yaml", directory, python)
    return Build(directory, python, stdlib_modules(python))


# ---------------------------------------------------------------- the tests


@pytest.mark.slow
def test_every_import_of_every_function_resolves_in_what_sam_build_packages(build: Build) -> None:
    layouts = lambda_layouts(ROOT, build.artifacts())
    assert {layout.logical_id for layout in layouts} >= {
        "InspectFunction",
        "ThumbnailFunction",
        "AudioFunction",
    }
    problems = [
        problem for layout in layouts for problem in unresolved_imports(layout, build.stdlib)
    ]
    assert problems == []


@pytest.mark.slow
def test_the_old_layer_layout_fails_the_check(build: Build, tmp_path: Path) -> None:
    """Before issue 8, layers/shared/ held python/ itself, and sam build's python3.13 method
    added another python/: the kit landed at /opt/python/python/, off Lambda's path."""
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(ROOT / "template.yaml", project / "template.yaml")
    shutil.copytree(ROOT / "functions", project / "functions")
    # Only the layer's code, as then (its requirements would only make the build slower).
    shared = project / "layers" / "shared"
    for package in [p.parent for p in (ROOT / "layers" / "shared").glob("*/__init__.py")]:
        shutil.copytree(package, shared / "python" / package.name)
    old_build = tmp_path / "build"
    old_build.mkdir()
    sam_build(project / "template.yaml", old_build, build.python, "SharedLayer")
    assert list((old_build / "SharedLayer" / "python" / "python").glob("*/__init__.py"))
    # The functions' artifacts do not depend on the layer: reuse the session's build of them.
    artifacts = {**build.artifacts(), "SharedLayer": old_build / "SharedLayer"}
    problems = [
        problem
        for layout in lambda_layouts(project, artifacts)
        for problem in unresolved_imports(layout, build.stdlib)
    ]
    assert problems, "the old layout passed the check: it cannot catch a broken layer"
    for function in ("InspectFunction", "ThumbnailFunction", "AudioFunction"):
        assert any(problem.startswith(f"{function}: mediakit") for problem in problems)


@pytest.mark.slow
def test_every_function_with_its_layers_fits_lambdas_unzipped_quota(build: Build) -> None:
    layouts = lambda_layouts(ROOT, build.artifacts())
    assert {"AudioFunction", "ThumbnailFunction"} <= {layout.logical_id for layout in layouts}

    totals, report = size_report(layouts)

    print(f"\n{report}")  # shown with -s
    assert totals["AudioFunction"] > 100 * MIB, report  # numpy and FFmpeg were counted
    assert all(total < UNZIPPED_QUOTA_BYTES for total in totals.values()), report


@pytest.mark.slow
def test_the_audio_function_carries_pyavs_ffmpeg_built_for_arm64(build: Build) -> None:
    artifact = build.artifacts()["AudioFunction"]

    binaries = pyav_binaries(artifact)

    assert (artifact / "av" / "__init__.py").is_file()
    extensions = [name for name in binaries if name.endswith(".abi3.so")]
    assert "av/_core.abi3.so" in extensions
    assert any(name.startswith("av/audio/") for name in extensions), extensions
    libraries = {
        name.rpartition("/")[2].partition("-")[0] for name in binaries if "av.libs/" in name
    }
    assert set(FFMPEG_LIBRARIES) <= libraries, sorted(libraries)
    not_arm64 = {name: machine for name, machine in binaries.items() if machine != EM_AARCH64}
    assert not_arm64 == {}, f"not AArch64 shared objects (ELF e_machine): {not_arm64}"


def test_unzipped_size_counts_every_file_once_extracted(tmp_path: Path) -> None:
    (tmp_path / "task" / "pkg").mkdir(parents=True)
    (tmp_path / "task" / "pkg" / "a.py").write_bytes(b"x" * 1000)
    (tmp_path / "task" / "b.so").write_bytes(b"y" * 24)
    (tmp_path / "shared" / "python").mkdir(parents=True)
    (tmp_path / "shared" / "python" / "kit.py").write_bytes(b"z" * 7)
    # A link is zipped as the file it points to.
    (tmp_path / "task" / "link.so").symlink_to(tmp_path / "task" / "b.so")
    parts = {"Fn": tmp_path / "task", "SharedLayer": tmp_path / "shared"}
    layout = LambdaLayout("Fn", "pkg.app.lambda_handler", [], [], parts)

    totals, report = size_report([layout])

    assert totals == {"Fn": 1055}
    assert "Fn: 0.0 MiB (1,055 bytes: Fn 0.0 + SharedLayer 0.0), margin 250.0 MiB" in report


def test_elf_machine_is_read_from_the_header_not_the_name(tmp_path: Path) -> None:
    def shared_object(name: str, machine: int, order: Literal["little", "big"] = "little") -> Path:
        header = ELF_MAGIC + bytes([2, 1 if order == "little" else 2, 1]) + bytes(9)
        header += ET_DYN.to_bytes(2, order) + machine.to_bytes(2, order) + bytes(44)
        (tmp_path / name).write_bytes(header)
        return tmp_path / name

    assert elf_machine(shared_object("arm.abi3.so", EM_AARCH64)) == EM_AARCH64
    assert elf_machine(shared_object("arm-big.so", EM_AARCH64, "big")) == EM_AARCH64
    assert elf_machine(shared_object("intel.abi3.so", 62)) == 62  # EM_X86_64
    (tmp_path / "text.so").write_text("INPUT(libc.so.6)\n")  # a linker script, not ELF
    assert elf_machine(tmp_path / "text.so") is None
    artifact = tmp_path / "artifact"
    (artifact / "av" / "audio").mkdir(parents=True)
    (artifact / "av.libs").mkdir()
    shared_object("artifact/av/audio/frame.abi3.so", EM_AARCH64)
    shared_object("artifact/av.libs/libavcodec-4b81d6e7.so.62.28.102", 62)
    assert pyav_binaries(artifact) == {
        "av.libs/libavcodec-4b81d6e7.so.62.28.102": 62,
        "av/audio/frame.abi3.so": EM_AARCH64,
    }


def _tree(root: Path, *files: str) -> Path:
    for name in files:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("")
    return root


def test_module_finder_follows_pythons_path_rules(tmp_path: Path) -> None:
    task = _tree(
        tmp_path / "task",
        "pkg/__init__.py",
        "pkg/sub.py",
        "native.cpython-313-aarch64-linux-gnu.so",
        "intel.cpython-313-x86_64-linux-gnu.so",
        "old.cpython-312-aarch64-linux-gnu.so",
        "shadow/readme.txt",  # a folder without __init__: a namespace portion only
        "nspkg/a.py",
    )
    opt = _tree(tmp_path / "opt", "shadow.py", "nspkg/b.py")
    path = [task, opt]
    assert find_module("pkg.sub", path) == task / "pkg" / "sub.py"
    assert find_module("native", path) == task / "native.cpython-313-aarch64-linux-gnu.so"
    assert find_module("intel", path) is None  # an x86_64 binary cannot load on arm64
    assert find_module("old", path) is None  # nor one built for Python 3.12
    assert find_module("shadow", path) == opt / "shadow.py"  # a module beats a namespace
    assert find_module("nspkg.b", path) == opt / "nspkg" / "b.py"  # portions merge
    assert find_module("pkg.missing", path) is None
    assert find_module("pkg.sub.deeper", path) is None


def test_imports_are_read_from_the_code_with_relative_ones_made_absolute(tmp_path: Path) -> None:
    source = tmp_path / "src"
    (source / "kit").mkdir(parents=True)
    (source / "kit" / "task.py").write_text(
        "from __future__ import annotations\n"
        "import os, numpy.typing as npt\n"
        "from typing import TYPE_CHECKING\n"
        "from . import errors\n"
        "from .settings import Environment\n"
        "if TYPE_CHECKING:\n"
        "    from mypy_boto3_s3 import S3Client\n"
        "def later():\n"
        "    import pillow_heif\n"
    )
    found = {(i.module, i.names) for i in imports_of(source / "kit" / "task.py", source)}
    assert found == {
        ("os", ()),
        ("numpy.typing", ()),
        ("typing", ("TYPE_CHECKING",)),
        ("kit", ("errors",)),
        ("kit.settings", ("Environment",)),
        ("pillow_heif", ()),
    }


def test_a_function_missing_a_module_its_handler_or_an_arm64_binary_is_reported(
    tmp_path: Path,
) -> None:
    task = _tree(tmp_path / "task", "fn/__init__.py", "lib/fast.cpython-313-x86_64-linux-gnu.so")
    (task / "fn" / "app.py").write_text("import PIL\nimport os\nimport boto3\n")
    layout = LambdaLayout("ThumbnailFunction", "fn.app.lambda_handler", [task], [task])
    assert unresolved_imports(layout, frozenset({"os"})) == [
        "ThumbnailFunction: fn.app defines no lambda_handler",
        f"ThumbnailFunction: PIL (imported by {task / 'fn' / 'app.py'}:1) is not on Lambda's path",
        f"ThumbnailFunction: {task / 'lib' / 'fast.cpython-313-x86_64-linux-gnu.so'} is built "
        "for another platform or Python",
    ]
